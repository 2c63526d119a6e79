"""One grid rule for pairing two datasets: observations with the forcing (``fit``),
observations with a run (``evaluate``), and the forcing with a run (every diagnostic that
reads ``forcing=``).

A variable is put on the cells of a target grid by its coordinates, dimension by dimension:

- longitudes (a dimension ``lon``/``longitude``, or with units ``degrees_east``) are first
  wrapped into the target's convention (0…360 or −180…180);
- numeric coordinates are sorted, so either latitude order (north-up or south-up) works;
- a coordinate matches a target coordinate when they differ by at most
  :data:`TOLERANCE` (1/100) of the target's grid spacing (1e-3 for a dimension of one
  cell): rounding in a product's coordinates is accepted, an offset grid is not;
- a different grid spacing (resolution) is refused with the fix, or regridded
  conservatively with ``regrid="conservative"`` (the area-weighted scheme of
  `xarray-regrid <https://github.com/xarray-contrib/xarray-regrid>`_, pure Python on
  xarray and flox; xESMF would need the ESMF library, which pip does not install);
- every coordinate inside the target's range must match a target coordinate, otherwise
  the error names those that do not; coordinates outside the target's range lie outside
  its domain (e.g. a global product for a regional run) and are left out;
- at least one finite value must land on the target's cells.

The result carries how much was matched in its attributes: ``matched_cells`` (target
cells with at least one finite value) and ``matched_values`` (finite values); with
``count=False`` (lazy data, e.g. the forcing of a diagnostic) only the cells matched by
their coordinates.

Examples
--------
>>> import numpy as np, xarray as xr
>>> target = xr.DataArray(np.ones((2, 3)), dims=("lat", "lon"),
...                       coords={"lat": [0.0, 10.0], "lon": [-10.0, 0.0, 10.0]})
>>> obs = xr.DataArray(np.arange(6.0).reshape(2, 3), dims=("lat", "lon"),
...                    coords={"lat": [10.0, 0.00001], "lon": [0.0, 10.0, 350.0]})
>>> on = to_grid(obs, target, label="observation 'x'")
>>> on.values.tolist(), on.attrs["matched_cells"]
([[5.0, 3.0, 4.0], [2.0, 0.0, 1.0]], 6)
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

import numpy as np
import xarray as xr

#: Largest coordinate difference accepted as "the same cell", as a share of the target's
#: grid spacing.
TOLERANCE = 0.01
#: Tolerance (degrees or coordinate units) along a dimension of one cell.
SINGLE_CELL_TOLERANCE = 1e-3
#: Largest relative difference of grid spacings taken as "the same resolution".
SPACING_TOLERANCE = 0.01

Regrid = Literal["conservative"] | None


def is_longitude(c: xr.DataArray) -> bool:
    """Whether coordinate ``c`` is a longitude (by name or CF units)."""
    units = str(c.attrs.get("units", "")).lower()
    return str(c.name).lower() in ("lon", "longitude") or units in (
        "degrees_east", "degree_east", "degrees_e", "degree_e")


def is_latitude(c: xr.DataArray) -> bool:
    """Whether coordinate ``c`` is a latitude (by name or CF units)."""
    units = str(c.attrs.get("units", "")).lower()
    return str(c.name).lower() in ("lat", "latitude") or units in (
        "degrees_north", "degree_north", "degrees_n", "degree_n")


def _wrap(values: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Longitudes ``values`` in the convention of ``target`` (−180…180 or 0…360)."""
    if target.size and float(np.min(target)) < 0:
        return (values + 180.0) % 360.0 - 180.0
    if target.size and float(np.max(target)) > 180:
        return values % 360.0
    return values


def _spacing(values: np.ndarray) -> float | None:
    return float(np.median(np.abs(np.diff(values)))) if values.size > 1 else None


def _numeric(c: xr.DataArray) -> bool:
    return bool(np.issubdtype(c.dtype, np.floating))


def _show(values: np.ndarray, n: int = 4) -> str:
    shown = ", ".join(f"{v:g}" for v in values[:n])
    return f"[{shown}{', …' if values.size > n else ''}] ({values.size})"


def _match_dim(da: xr.DataArray, target: xr.DataArray | xr.Dataset, d: Hashable, label: str,
               regrid: Regrid) -> tuple[xr.DataArray, bool, int]:
    """``da`` with dim ``d`` on the target's coordinates, True if it needs regridding, and
    how many target coordinates it has."""
    t = np.asarray(target[d].values, float)
    if is_longitude(target[d]) or is_longitude(da[d]):
        da = da.assign_coords({d: _wrap(np.asarray(da[d].values, float), t)})
    da = da.sortby(d)
    v = np.asarray(da[d].values, float)
    ts, vs = _spacing(t), _spacing(v)
    if ts is not None and vs is not None and abs(vs - ts) > SPACING_TOLERANCE * ts:
        if regrid == "conservative":
            return da, True, t.size
        raise ValueError(
            f"{label} is on another grid: {d!r} spacing {vs:g} against {ts:g} of the grid it "
            f"is compared with; regrid it first (e.g. with xarray-regrid: "
            f"obs.regrid.conservative(target)) or pass regrid='conservative'")
    tol = TOLERANCE * ts if ts else SINGLE_CELL_TOLERANCE
    tsort = np.sort(t)
    near = _nearest_distance(v, t)
    inside = (v >= tsort[0] - tol) & (v <= tsort[-1] + tol)
    unmatched = v[inside & (near > tol)]
    if unmatched.size and regrid == "conservative":
        return da, True, t.size
    if unmatched.size:
        raise ValueError(
            f"{label}: {unmatched.size} of its {d!r} coordinates inside the range of the grid "
            f"it is compared with match none of its cells within {tol:g} ({TOLERANCE:g} of the "
            f"grid spacing): {_show(unmatched)} against {_show(tsort)}; put it on the same "
            f"grid (e.g. obs.reindex({d}=target.{d}, method='nearest')) or pass "
            "regrid='conservative'")
    if np.unique(v).size != v.size:
        raise ValueError(f"{label} has repeated {d!r} coordinates; drop the duplicates")
    out = da.reindex({d: target[d]}, method="nearest", tolerance=tol)
    return out, False, int((_nearest_distance(t, v) <= tol).sum())


def _nearest_distance(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Distance of each ``x`` to the nearest value of ``ref``."""
    r = np.sort(ref)
    pos = np.searchsorted(r, x)
    below, above = (r[np.clip(pos - k, 0, r.size - 1)] for k in (1, 0))
    return np.minimum(np.abs(x - below), np.abs(x - above))


def _conservative(da: xr.DataArray, target: xr.DataArray | xr.Dataset, dims: list[Hashable]
                  ) -> xr.DataArray:
    import xarray_regrid  # noqa: F401  (registers .regrid)

    grid = xr.Dataset(coords={d: target[d] for d in dims})
    lat = next((str(d) for d in dims if is_latitude(target[d])), None)
    out = da.regrid.conservative(grid, latitude_coord=lat, skipna=True)
    return out.reindex({d: target[d] for d in dims})


def to_grid(da: xr.DataArray, target: xr.DataArray | xr.Dataset, *, label: str,
            regrid: Regrid = None, dims: list[Hashable] | None = None,
            count: bool = True) -> xr.DataArray:
    """``da`` on the spatial cells of ``target`` by the rule of this module.

    Parameters
    ----------
    da : xarray.DataArray
        The variable to move (observations, or a forcing variable).
    target : DataArray or Dataset
        The grid to put it on (its coordinates on ``dims``).
    label : str
        The variable, for messages (e.g. ``"observation 'gpp' (dataset variable 'GPP')"``).
    regrid : {None, "conservative"}
        What to do with another resolution: refuse (default) or regrid conservatively.
    dims : list, optional
        Spatial dims to match (default: the target's dims other than ``time``).
    count : bool
        Count the matched values (reads the data, also of dask arrays); False: only the
        cells matched by coordinates (``matched_cells``), the data stay lazy.

    Returns
    -------
    xarray.DataArray
        ``da`` on the target's coordinates (NaN where it has no value), with attributes
        ``matched_cells`` and ``matched_values``.

    Raises
    ------
    ValueError
        For a dim that ``da`` lacks, another resolution (without ``regrid``), coordinates
        inside the target's range that match none of its cells, or no value on its cells.
    """
    if regrid not in (None, "conservative"):
        raise ValueError(f"regrid={regrid!r}; use None (refuse another grid) or "
                         "'conservative'")
    dims = [d for d in target.dims if d != "time"] if dims is None else dims
    missing = [d for d in dims if d not in da.dims]
    if missing:
        raise ValueError(f"{label} lacks the spatial dims {list(map(str, missing))} of the "
                         f"grid it is compared with (it has {list(map(str, da.dims))})")
    attrs = dict(da.attrs)
    to_regrid, hits = [], []
    for d in dims:
        if d in target.coords and d in da.coords and _numeric(target[d]) and _numeric(da[d]):
            da, again, n_hit = _match_dim(da, target, d, label, regrid)
            hits.append(n_hit)
            if again:
                to_regrid.append(d)
        elif d in target.coords and d in da.coords:
            if not da.indexes[d].equals(target.indexes[d]):
                da = da.reindex({d: target[d]})
        elif da.sizes[d] != target.sizes[d]:
            raise ValueError(f"{label}: dim {d!r} has size {da.sizes[d]}, the grid it is "
                             f"compared with has {target.sizes[d]}")
    if to_regrid:
        da = _conservative(da, target, dims)
    ranges = "; ".join(f"{d}: {_show(np.asarray(target[d].values, float))}" for d in dims
                       if d in target.coords and _numeric(target[d]))
    if not count:
        if 0 in hits:
            raise ValueError(f"{label} has no coordinate on the grid it is compared with "
                             f"({ranges}); check its coordinates")
        return da.assign_attrs({**attrs, "matched_cells": int(np.prod(hits))})
    has = da.notnull()
    n_values = int(has.sum())
    n_cells = int(has.any([d for d in da.dims if d not in dims]).sum())
    if n_values == 0:
        raise ValueError(f"{label} has no value on the cells of the grid it is compared with "
                         f"({ranges}); check its coordinates and date range")
    return da.assign_attrs({**attrs, "matched_cells": n_cells, "matched_values": n_values})
