"""Training data on plain arrays: forcing, observations, calendar, and cell batches."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from xh2cm.calendars import month_codes
from xh2cm.catalog import FORCING_NAMES, MONTHLY_OBS
from xh2cm.core.model import Forcing, check_forcing, is_lazy
from xh2cm.core.types import StaticPredictors
from xh2cm.training.losses import ObsBatch


def month_calendar(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Month bookkeeping of a daily time axis.

    Parameters
    ----------
    dates : ndarray
        ``(time,)`` datetime64 (any resolution) or cftime dates (any calendar), in
        increasing order.

    Returns
    -------
    month_index : ndarray
        ``(time,)`` int32 month number of each day, from 0.
    calendar_month : ndarray
        ``(n_months,)`` int32 calendar month (0 = January) of each month.
    month_code : ndarray
        ``(n_months,)`` int64 ``year * 12 + month - 1`` of each month.
    """
    codes, month_index = np.unique(month_codes(dates), return_inverse=True)
    code = codes
    return month_index.astype(np.int32), (code % 12).astype(np.int32), code


@dataclass
class TrainingData:
    """Everything the trainer needs, on ``cell`` columns (NumPy, model units).

    Attributes
    ----------
    forcing : dict of str to ndarray
        ``rn, prec, tair, vpd, co2`` each ``(time, cell)`` (co2 may be ``(time,)``).
    static : ndarray or None
        ``(cell, n_static)`` static predictors.
    month_index : ndarray
        ``(time,)`` month of each day (see :func:`month_calendar`).
    calendar_month : ndarray
        ``(n_months,)`` calendar month 0–11 of each month.
    monthly : dict of str to ndarray
        Observations ``(n_months, cell)`` keyed by :data:`~xh2cm.training.losses.MONTHLY_OBS`
        names; NaN = missing.
    cue : ndarray or None
        Static mean annual CUE observation ``(cell,)``.
    area : ndarray or None
        ``(cell,)`` area weights (NEE IAV); ones if None.
    daily : dict of str to ndarray
        Daily observations ``(time, cell)`` on the forcing days, for terms
        compared at daily resolution (``LossSpec`` ``kinds``); NaN = missing.

    Notes
    -----
    Training beyond memory: ``forcing`` and ``daily`` may hold lazy ``(time, cell)``
    arrays (dask arrays, e.g. from a zarr store). They are checked for shape only and
    stay lazy; :meth:`batch` reads the columns of a batch's cells when the batch is used
    (sorted, so that each chunk is read once per batch). A batch reads the whole time
    extent of the chunks its cells lie in: store such data in small spatial chunks.
    """

    forcing: dict[str, np.ndarray]
    static: np.ndarray | None
    month_index: np.ndarray
    calendar_month: np.ndarray
    monthly: dict[str, np.ndarray] = field(default_factory=dict)
    cue: np.ndarray | None = None
    area: np.ndarray | None = None
    daily: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.forcing = check_forcing(self.forcing, xp=np, dtype=np.float32)
        nt, nc = self.forcing["rn"].shape
        self.month_index = np.asarray(self.month_index, np.int32)
        self.calendar_month = np.asarray(self.calendar_month, np.int32)
        if self.month_index.shape != (nt,):
            raise ValueError(f"month_index must be ({nt},), got {self.month_index.shape}")
        nm = self.calendar_month.shape[0]
        if self.month_index.min() < 0 or self.month_index.max() >= nm:
            raise ValueError("month_index must lie in [0, len(calendar_month))")
        for what, series, shape in (("monthly", self.monthly, (nm, nc)),
                                    ("daily", self.daily, (nt, nc))):
            unknown = set(series) - set(MONTHLY_OBS)
            if unknown:
                raise ValueError(f"unknown {what} observations {sorted(unknown)}; "
                                 f"known: {list(MONTHLY_OBS)}")
            for k, v in series.items():
                v = v.astype(np.float32) if is_lazy(v) else np.asarray(v, np.float32)
                if v.shape != shape:
                    raise ValueError(f"{what} observation {k!r} has shape {v.shape}, "
                                     f"expected {shape}")
                series[k] = v
        if self.cue is not None:
            self.cue = np.asarray(self.cue, np.float32).reshape(nc)
        self.area = (np.ones(nc, np.float32) if self.area is None
                     else np.asarray(self.area, np.float32).reshape(nc))
        if self.static is not None:
            self.static = np.asarray(self.static, np.float32).reshape(nc, -1)

    def split_time(self, first_day: int) -> tuple[TrainingData, TrainingData]:
        """``(before, from)``: copies whose observations are kept only before day
        ``first_day`` (months: those starting before it) or only from it on, NaN elsewhere.

        For a validation block in time (a single site): train on the first, validate on
        the second; forcing, cells and calendar are shared.
        """
        if not 0 < first_day < self.n_time:
            raise ValueError(f"first_day must be inside the series (1 .. {self.n_time - 1}), "
                             f"got {first_day}")
        month_first = self.month_index[first_day]
        late_month = np.arange(self.calendar_month.size) >= month_first
        late_day = np.arange(self.n_time) >= first_day

        def keep(late: bool) -> TrainingData:
            def mask(v: np.ndarray, rows: np.ndarray) -> np.ndarray:
                return np.where((rows if late else ~rows)[:, None], v, np.nan)

            return dataclasses.replace(
                self,
                monthly={k: mask(v, late_month) for k, v in self.monthly.items()},
                daily={k: mask(v, late_day) for k, v in self.daily.items()},
                cue=(np.full_like(self.cue, np.nan) if late and self.cue is not None
                     else self.cue))

        return keep(False), keep(True)

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return self.forcing["rn"].shape[1]

    @property
    def n_time(self) -> int:
        """Number of days."""
        return self.forcing["rn"].shape[0]

    @property
    def available(self) -> tuple[str, ...]:
        """Observations present (monthly keys, plus ``"cue"`` if given)."""
        return tuple(self.monthly) + (("cue",) if self.cue is not None else ())

    def obs(self, cells: np.ndarray, size: int | None = None) -> ObsBatch:
        """Observations of ``cells`` as an :class:`ObsBatch`, padded to ``size`` cells."""
        idx, weight = _pad(np.asarray(cells), size)
        area = np.ones(self.n_cells, np.float32) if self.area is None else self.area
        return ObsBatch(
            month_index=jnp.asarray(self.month_index),
            calendar_month=jnp.asarray(self.calendar_month),
            monthly={k: jnp.asarray(v[:, idx]) for k, v in self.monthly.items()},
            cue=None if self.cue is None else jnp.asarray(self.cue[idx]),
            area=jnp.asarray(area[idx]),
            cell_weight=jnp.asarray(weight),
            daily={k: jnp.asarray(_columns(v, idx)) for k, v in self.daily.items()},
        )

    def batch(self, cells: np.ndarray, size: int | None = None
              ) -> tuple[Forcing, StaticPredictors | None, ObsBatch]:
        """Forcing, static predictors and observations of ``cells``.

        Parameters
        ----------
        cells : ndarray
            Cell indices.
        size : int, optional
            Pad to this many cells (copies of the first cell with
            ``cell_weight`` 0, so they add nothing to any loss term); keeps
            one compiled shape for a last, smaller batch.
        """
        idx, _ = _pad(np.asarray(cells), size)
        forcing = Forcing(**{n: jnp.asarray(_columns(self.forcing[n], idx))
                             for n in FORCING_NAMES})
        static = None if self.static is None else jnp.asarray(self.static[idx])
        return forcing, static, self.obs(cells, size)


def _columns(x: object, idx: np.ndarray) -> np.ndarray:
    """``x[:, idx]`` as NumPy; a lazy array is read in sorted column order (each chunk
    once) and reordered."""
    if not is_lazy(x):
        return x[:, idx]  # type: ignore[index]
    uniq, inverse = np.unique(idx, return_inverse=True)
    return np.asarray(x[:, uniq].compute(), np.float32)[:, inverse]  # type: ignore[index]


def _pad(cells: np.ndarray, size: int | None) -> tuple[np.ndarray, np.ndarray]:
    n = cells.size
    if n == 0:
        raise ValueError("empty batch of cells")
    size = n if size is None else size
    if n > size:
        raise ValueError(f"{n} cells do not fit a batch of {size}")
    idx = np.concatenate([cells, np.repeat(cells[:1], size - n)])
    weight = np.concatenate([np.ones(n, np.float32), np.zeros(size - n, np.float32)])
    return idx, weight
