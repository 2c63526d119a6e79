"""Configuration of an H2CM model: architecture sizes and static predictor names."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

#: Operand types the LSTMs' matrix products may use (:attr:`ModelConfig.matmul_dtype`).
MATMUL_DTYPES = ("float32", "bfloat16")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of an :class:`~xh2cm.core.model.H2CM` model.

    Defaults reproduce the reference layout of docs/model/learned.md.

    Parameters
    ----------
    static_names : tuple of str
        Names of the static predictors, in the column order the static MLP
        expects. Empty: the model uses no static predictors (the static MLP
        then sees a constant input, so its outputs are learned constants).
    hidden_size : int
        Hidden size of each LSTM (reference: 100).
    static_hidden : int
        Width of the first layer of the static MLP (reference: 150).
    embedding_size : int
        Size of the static embedding fed to every network (reference: 12).
    mlp_hidden : int
        Width of the first layer of MLP B (reference: 150).
    mlp_bottleneck : int
        Width of the second layer of MLP B (reference: 12).
    leaky_slope : float
        Negative slope of the leaky ReLUs (PyTorch's default 0.01).
    npp_init : float
        NPP of the initial state before spin-up (gC m-2 d-1).
    sm_max_scale : float
        Millimetres of soil moisture capacity per unit of the static head's
        ``sm_max`` output: ``sm_max = softplus(sm_max_scale·out + 100) + 1``.
        1 is docs/model/learned.md. There ``sm_max`` moves about 1 mm per unit of raw
        output, while Adam moves each weight by about one learning rate per
        step, so shifting ``sm_max`` by 100 mm takes tens of thousands of
        steps: a model trained on a region of a few hundred cells keeps its
        initial ~100 mm buckets and compensates elsewhere (the twin
        experiment, docs/results.md). 100 lets it move in hundreds of steps.
    matmul_dtype : {"float32", "bfloat16"}
        Operand type of the LSTMs' per-day matrix products (they accumulate in the
        model's float type). ``"bfloat16"`` runs them about 1.4x faster on CPUs with
        AVX-512 BF16 (and on GPUs) at a measured cost in accuracy (docs/results.md,
        "Speed"); everything else stays float32. Default float32: the reference's numbers.
    sm_max_bounds : (float, float), optional
        Bounds ``(low, high)`` of the soil moisture capacity (mm): ``sm_max = low + (high -
        low)·sigmoid(out)`` (``sm_max_scale`` then plays no part), e.g. a site-plausible
        range from rooting depth × the observed soil-water range
        (:func:`xh2cm.site.workflow.capacity_bounds`). None (default): docs/model/learned.md.
    irrigation : float, optional
        Demand-driven irrigation (:func:`xh2cm.core.physics.irrigation`): water is added
        to the soil whenever its moisture falls below this fraction of ``sm_max``, and
        counted as the water input ``irrigation``. None (default): no irrigation, the
        reference model.
    """

    static_names: tuple[str, ...] = ()
    hidden_size: int = 100
    static_hidden: int = 150
    embedding_size: int = 12
    mlp_hidden: int = 150
    mlp_bottleneck: int = 12
    leaky_slope: float = 0.01
    npp_init: float = 1.17
    sm_max_scale: float = 1.0
    matmul_dtype: str = "float32"
    sm_max_bounds: tuple[float, float] | None = None
    irrigation: float | None = None
    _version: int = field(default=1, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "static_names", tuple(self.static_names))
        for name in ("hidden_size", "static_hidden", "embedding_size", "mlp_hidden",
                     "mlp_bottleneck"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"ModelConfig.{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.sm_max_scale, int | float) and self.sm_max_scale > 0):
            raise ValueError(f"ModelConfig.sm_max_scale must be > 0, got {self.sm_max_scale!r}")
        if self.sm_max_bounds is not None:
            lo, hi = (float(v) for v in self.sm_max_bounds)
            if not 0 < lo < hi:
                raise ValueError("ModelConfig.sm_max_bounds must be (low, high) with "
                                 f"0 < low < high (mm), got {self.sm_max_bounds!r}")
            object.__setattr__(self, "sm_max_bounds", (lo, hi))
        if self.irrigation is not None and not 0 < self.irrigation <= 1:
            raise ValueError("ModelConfig.irrigation must be a fraction of sm_max in (0, 1] "
                             f"or None, got {self.irrigation!r}")
        if self.matmul_dtype not in MATMUL_DTYPES:
            raise ValueError(f"ModelConfig.matmul_dtype must be one of {MATMUL_DTYPES}, "
                             f"got {self.matmul_dtype!r}")
        if len(set(self.static_names)) != len(self.static_names):
            raise ValueError(f"ModelConfig.static_names has duplicates: {self.static_names}")

    @property
    def n_static(self) -> int:
        """Number of static predictors."""
        return len(self.static_names)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict of this configuration."""
        out = dataclasses.asdict(self)
        out["static_names"] = list(self.static_names)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``KeyError``."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise KeyError(f"unknown ModelConfig keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)
