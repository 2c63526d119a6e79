"""A readable summary of how a Dataset was read as model input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Unpack

import xarray as xr

from xh2cm import catalog
from xh2cm.cf.prepare import ForcingInfo, InputOptions, Prepared, prepare

if TYPE_CHECKING:
    from xh2cm.core import H2CM


@dataclass(frozen=True)
class InputReport:
    """What ``ds.h2cm.check()`` found: forcing, static predictors, mask, cells, time.

    ``repr()`` prints a table; :meth:`to_dict` gives plain data.
    """

    forcing: tuple[ForcingInfo, ...]
    static_names: tuple[str, ...]
    mask: str
    spatial: dict[str, int]
    n_cells: int
    n_land: int
    n_valid: int
    time_dim: str
    time_start: str
    time_end: str
    n_time: int
    dask: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_prepared(cls, prep: Prepared) -> InputReport:
        """Build the report of a :class:`~xh2cm.cf.prepare.Prepared` input."""
        time = prep.forcing[prep.time_dim].values
        return cls(
            forcing=tuple(prep.info[n] for n in catalog.FORCING_NAMES),
            static_names=prep.static_names,
            mask=prep.mask,
            spatial={str(d): int(prep.valid.sizes[d]) for d in prep.spatial_dims},
            n_cells=prep.n_cells,
            n_land=prep.n_land,
            n_valid=prep.n_valid,
            time_dim=prep.time_dim,
            time_start=str(time[0])[:10],
            time_end=str(time[-1])[:10],
            n_time=int(time.size),
            dask=prep.is_dask,
            notes=tuple(prep.notes),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable)."""
        out = asdict(self)
        out["forcing"] = {f.name: asdict(f) for f in self.forcing}
        out["static_names"] = list(self.static_names)
        out["notes"] = list(self.notes)
        return out

    def __repr__(self) -> str:
        head = ("forcing", "variable", "found by", "units", "conversion")
        rows = [head] + [(f.name, f.source, f.rule, f.units, f.conversion) for f in self.forcing]
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        lines = ["<xh2cm input report>", fmt.format(*head),
                 fmt.format(*("-" * w for w in widths))]
        lines += [fmt.format(*r) for r in rows[1:]]
        filled = [f"{f.name}: {f.filled}" for f in self.forcing if f.filled]
        grid = " x ".join(f"{k}={v}" for k, v in self.spatial.items()) or "single cell"
        static = ", ".join(self.static_names) if self.static_names else "none"
        lines += [
            f"static predictors : {static} ({len(self.static_names)})",
            f"land mask         : {self.mask}",
            f"grid              : {grid}; {self.n_cells} cells, {self.n_land} land, "
            f"{self.n_valid} to run",
            f"time ({self.time_dim})".ljust(18)
            + f": {self.time_start} .. {self.time_end} ({self.n_time} days)",
            f"backend           : {'dask' if self.dask else 'numpy'}",
        ]
        if filled:
            lines.append(f"filled NaN        : {', '.join(filled)}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def check_dataset(
    ds: xr.Dataset,
    model: H2CM | None = None,
    *,
    static: Sequence[str] | None = None,
    **options: Unpack[InputOptions],
) -> InputReport:
    """Validate ``ds`` as model input and report how it was read (``ds.h2cm.check``).

    Parameters
    ----------
    ds : xarray.Dataset
        Forcing, as for ``ds.h2cm.run``.
    model : H2CM, optional
        If given, its ``config.static_names`` are the static predictors.
    static : sequence of str, optional
        Static predictors; default: the model's, else auto-detected.
    **options
        ``mask``, ``fill``, ``names``, ``check_ranges``, ``co2``: as for
        :func:`xh2cm.cf.prepare.prepare`.

    Raises
    ------
    ValueError, KeyError
        Exactly as a run would.
    """
    if static is None and model is not None:
        static = tuple(model.config.static_names)
    return InputReport.from_prepared(prepare(ds, static=static, **options))
