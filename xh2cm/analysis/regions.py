"""Cell areas on the sphere, region masks (regionmask, offline) and regional budgets.

Areas: a ``cell_area`` / ``areacella`` variable (m2) when the dataset has one
(CF ``cell_measures`` or standard name ``cell_area``), else from latitude and
longitude bounds (``lat_bnds`` / ``lon_bnds`` or the CF ``bounds`` attribute),
else from the spacing of a regular grid:
``A = R² · Δλ · (sin φ_north − sin φ_south)`` with R = 6,371,008.8 m (the IUGG
mean Earth radius), so a full 1° grid sums to 4πR² = 510.07e6 km².

Regions: regionmask's built-in sets that ship with the package and need no
download (``"giorgi"``, ``"srex"``); ``"ar6.land"`` when regionmask has it in its
cache (it is downloaded on first use, which this package never does: offline it
is refused with a message); a :class:`regionmask.Regions`; or an integer
DataArray of region numbers on the spatial grid (NaN or -1 outside regions).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from typing import Any, Literal

import numpy as np
import xarray as xr

from xh2cm import catalog
from xh2cm.analysis.variables import merge_attrs
from xh2cm.cf.registry import factors

#: Mean Earth radius (IUGG), m.
EARTH_RADIUS = 6_371_008.8
#: Days per year used to express daily rates as yearly totals.
DAYS_PER_YEAR = 365.25
#: Built-in region sets (no download).
OFFLINE_REGIONS = ("giorgi", "srex")

RegionsArg = str | Any | xr.DataArray


def _coord(ds: xr.Dataset | xr.DataArray, names: tuple[str, ...]) -> xr.DataArray | None:
    for n in names:
        if n in ds.coords:
            return ds.coords[n]
    return None


def lat_lon(ds: xr.Dataset | xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """The latitude and longitude coordinates (``lat``/``latitude``, ``lon``/``longitude``)."""
    lat = _coord(ds, ("lat", "latitude"))
    lon = _coord(ds, ("lon", "longitude"))
    if lat is None or lon is None:
        raise ValueError("areas and regions need latitude and longitude coordinates named "
                         "'lat'/'latitude' and 'lon'/'longitude' (dims: "
                         f"{list(map(str, ds.dims))})")
    return lat, lon


def _edges(c: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Cell edges of a regular 1-D coordinate (midpoints, ends extrapolated)."""
    if c.size < 2:
        raise ValueError("a grid needs at least two cells along latitude and longitude to "
                         "infer cell sizes; give a 'cell_area' variable or coordinate bounds")
    mid = (c[1:] + c[:-1]) / 2
    e = np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
    return np.clip(e, lo, hi) if lo is not None else e


def cell_area(ds: xr.Dataset | xr.DataArray) -> xr.DataArray:
    """Area of every grid cell (m2) on the sphere; see the module docstring for the rules.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> grid = xr.Dataset(coords={"lat": np.arange(-89.5, 90), "lon": np.arange(0.5, 360)})
    >>> total = float(cell_area(grid).sum())
    >>> round(total / (4 * np.pi * EARTH_RADIUS**2), 9)
    1.0
    """
    if isinstance(ds, xr.Dataset):
        for name, v in ds.data_vars.items():
            if str(name).lower() in ("cell_area", "areacella") or \
                    v.attrs.get("standard_name") == "cell_area":
                units = str(v.attrs.get("units", "m2"))
                try:
                    scale = factors(units, "m2")[0]
                except Exception:  # noqa: BLE001 - unreadable or not an area
                    raise ValueError(f"cell area variable {name!r} has units {units!r}; "
                                     "expected an area such as 'm2' or 'km2'") from None
                return (v * scale).assign_attrs(units="m2", long_name="cell area",
                                                standard_name="cell_area")
    lat, lon = lat_lon(ds)
    if lat.ndim != 1 or lon.ndim != 1:
        raise ValueError("cell areas of a curvilinear grid cannot be inferred; give a "
                         "'cell_area' variable (m2)")
    lat_b = _bounds(ds, lat)
    lon_b = _bounds(ds, lon)
    if lat_b is None:
        lat_b = _edges(np.asarray(lat.values, float), -90.0, 90.0)
    if lon_b is None:
        lon_b = _edges(np.asarray(lon.values, float))
    if isinstance(lat_b, np.ndarray) and lat_b.ndim == 1:
        south, north = lat_b[:-1], lat_b[1:]
        west, east = lon_b[:-1], lon_b[1:]
    else:
        south, north = lat_b[:, 0], lat_b[:, 1]
        west, east = lon_b[:, 0], lon_b[:, 1]
    band = np.abs(np.sin(np.deg2rad(north)) - np.sin(np.deg2rad(south)))
    width = np.deg2rad(np.abs(np.asarray(east) - np.asarray(west)))
    area = EARTH_RADIUS**2 * band[:, None] * width[None, :]
    return xr.DataArray(area, dims=(lat.dims[0], lon.dims[0]),
                        coords={lat.dims[0]: lat.values, lon.dims[0]: lon.values},
                        attrs={"units": "m2", "long_name": "cell area",
                               "standard_name": "cell_area"})


def _bounds(ds: xr.Dataset | xr.DataArray, c: xr.DataArray) -> np.ndarray | None:
    """``(n, 2)`` bounds of coordinate ``c`` from its CF ``bounds`` attribute or
    ``<name>_bnds``, if the dataset has them."""
    if not isinstance(ds, xr.Dataset):
        return None
    name = c.attrs.get("bounds") or f"{c.name}_bnds"
    if name in ds.variables:
        return np.asarray(ds[name].values, float).reshape(-1, 2)
    return None


def region_mask(ds: xr.Dataset | xr.DataArray, regions: RegionsArg = "srex"
                ) -> tuple[xr.DataArray, dict[int, tuple[str, str]]]:
    """Region number of every cell (NaN outside any region) and ``number -> (abbreviation,
    name)`` of the regions.

    Raises
    ------
    ValueError
        For an unknown region set, or ``"ar6.land"`` when regionmask would have to
        download it.
    """
    if isinstance(regions, xr.DataArray):
        mask = regions.where(regions >= 0)
        ids = [int(v) for v in np.unique(mask.values[np.isfinite(mask.values)])]
        labels = regions.attrs.get("region_names")
        return mask, {n: (str(n), str(labels[i]) if labels is not None and i < len(labels)
                          else f"region {n}") for i, n in enumerate(ids)}
    import regionmask

    rset = _builtin_regions(regions) if isinstance(regions, str) else regions
    if not isinstance(rset, regionmask.Regions):
        raise TypeError("regions must be a region-set name, a regionmask.Regions or a "
                        f"DataArray, not {type(regions).__name__}")
    lat, lon = lat_lon(ds)
    return rset.mask(lon, lat), {int(n): (rset[n].abbrev, rset[n].name) for n in rset.numbers}


def _builtin_regions(name: str) -> Any:
    import regionmask

    defined = regionmask.defined_regions
    if name in OFFLINE_REGIONS:
        return getattr(defined, name)
    if name in ("ar6.land", "ar6.all"):
        try:
            return getattr(defined.ar6, name.split(".")[1])
        except Exception as err:  # regionmask downloads AR6 on first use
            raise ValueError(
                f"regions={name!r}: regionmask could not load the AR6 regions without a "
                f"download ({type(err).__name__}); xh2cm works offline. Use one of "
                f"{list(OFFLINE_REGIONS)}, a regionmask.Regions, or a mask DataArray") from None
    raise ValueError(f"unknown region set {name!r}; use one of "
                     f"{[*OFFLINE_REGIONS, 'ar6.land']}, a regionmask.Regions or a DataArray")


def _total_units(units: str) -> tuple[float, str, str] | None:
    """Factor, units and display label that turn an area integral of ``units`` (per m2)
    into a budget: any spelling of a carbon flux (``gC m-2 d-1``, ``umol m-2 s-1``...),
    water flux or water storage that the registry (:mod:`xh2cm.cf.registry`) converts.
    Carbon totals keep the parsable units ``Pg yr-1`` and the label ``PgC yr-1``."""
    for per_m2, contexts, (scale, out, label) in (
            ("mm d-1", (), (1e-3 * DAYS_PER_YEAR / 1e9, "km3 yr-1", "km3 yr-1")),  # water flux
            ("mm", (), (1e-3 / 1e9, "km3", "km3")),                               # storage
            ("g m-2 d-1", ("carbon",), (DAYS_PER_YEAR / 1e15, "Pg yr-1", "PgC yr-1"))):
        try:
            return factors(units, per_m2, contexts)[0] * scale, out, label
        except Exception:  # noqa: BLE001, S112 - not this quantity
            continue
    return None


def quantity(name: str, units: str) -> str | None:
    """The kind of a variable (:data:`xh2cm.catalog.QUANTITY`); for a name the catalog
    lacks, ``flux`` for a rate and ``storage`` for an amount that :func:`_total_units`
    turns into a budget."""
    known = catalog.QUANTITY.get(name)
    if known is not None:
        return known
    conv = _total_units(units)
    if conv is None:
        return None
    return "flux" if conv[1].endswith("yr-1") else "storage"


def _summable(ds: xr.Dataset, selected: list[str], explicit: bool) -> tuple[list[str], str]:
    """The variables of ``selected`` that may be summed, and a note on those left out
    (also warned: nothing is dropped without a word)."""
    keep, out = [], []
    for name in selected:
        units = str(ds[name].attrs.get("units", ""))
        kind = quantity(name, units)
        if kind in catalog.SUMMABLE and _total_units(units) is not None:
            keep.append(name)
            continue
        why = (f"a {kind}, never summed" if kind is not None and kind not in catalog.SUMMABLE
               else f"units {units!r} are not a carbon flux, water flux or water storage")
        if explicit:
            raise ValueError(f"regional(how='sum') cannot total {name!r}: {why}; use "
                             "how='mean' for it")
        if kind is None or kind in catalog.SUMMABLE:  # not left out by its kind: say so
            warnings.warn(f"regional(how='sum'): {name!r} left out: {why}", stacklevel=3)
        out.append(f"{name} ({why})")
    note = "left out of the totals: " + "; ".join(out) if out else ""
    return keep, note


def regional(ds: xr.Dataset, regions: RegionsArg = "srex",
             how: Literal["mean", "sum"] = "mean",
             variables: list[str] | None = None) -> xr.Dataset:
    """Area-weighted regional means or totals, plus a ``global`` land entry.

    Cell areas are those of the sphere (:func:`cell_area`; the spherical-zone formula,
    e.g. Snyder 1987, USGS Prof. Paper 1395); regions are regionmask's (Hauser et al.
    2024, doi:10.5281/zenodo.3981244): Giorgi and Francisco (2000) or SREX (Seneviratne
    et al. 2012, IPCC SREX ch. 3).

    Parameters
    ----------
    ds : xarray.Dataset
        Model output or observations on a latitude–longitude grid (cells outside
        land are NaN and count as no area).
    regions : str, regionmask.Regions or DataArray
        Region set (see the module docstring); default ``"srex"`` (offline).
    how : {"mean", "sum"}
        ``"mean"``: area-weighted mean over the region's cells with data, in the
        variable's units. ``"sum"``: the area integral as a budget, for fluxes and
        storages only (the kind in :data:`xh2cm.catalog.QUANTITY`): carbon fluxes
        (g m-2 d-1) in Pg yr-1 of carbon (``units_label`` "PgC yr-1"), water fluxes
        (mm d-1) in km3 yr-1, water storages and their anomalies (mm) in km3.
        Parameters, states and fractions are left out, named in the ``left_out``
        attribute (or refused when asked for by ``variables=``).
    variables : list of str, optional
        Which data variables (default: all with the spatial dims).

    Returns
    -------
    xarray.Dataset
        Each variable on ``(region, *other dims)``; coordinates ``region`` (the
        abbreviation, ``"global"`` last), ``region_name`` and ``area`` (m2 of the
        region's cells with data in the first variable). A region of the set with
        no cell with data is NaN (no value, no area), not 0.

    Raises
    ------
    ValueError
        For ``how="sum"`` on a variable named in ``variables=`` that is not a flux or
        storage, or when nothing can be aggregated.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> grid = xr.Dataset(coords={"lat": np.arange(-89.5, 90), "lon": np.arange(-179.5, 180)})
    >>> ds = grid.assign(gpp=(("lat", "lon"), np.ones((180, 360)), {"units": "g m-2 d-1"}))
    >>> budget = regional(ds, how="sum")
    >>> round(float(budget.gpp.sel(region="global")), 1), budget.gpp.attrs["units_label"]
    (186.3, 'PgC yr-1')
    """
    if how not in ("mean", "sum"):
        raise ValueError(f"how={how!r}; use 'mean' or 'sum'")
    area = cell_area(ds)
    space = tuple(area.dims)
    mask, table = region_mask(ds, regions)
    on_grid = {int(n) for n in np.unique(mask.values[np.isfinite(mask.values)])}
    numbers = [n for n in table if n in on_grid]
    selected = variables or [str(v) for v, da in ds.data_vars.items()
                             if set(space) <= set(da.dims) and np.issubdtype(da.dtype, np.number)
                             and str(v).lower() not in ("cell_area", "areacella")]
    note = ""
    if how == "sum":
        selected, note = _summable(ds, selected, variables is not None)
    out: dict[Hashable, xr.DataArray] = {}
    first_area = None
    for name in selected:
        da = ds[name]
        units = str(da.attrs.get("units", ""))
        factor, total_units, label = (_total_units(units) or (1.0, units, units)
                                      if how == "sum" else (1.0, units, units))
        w = area.where(da.notnull().any([d for d in da.dims if d not in space]))
        sums, weights = _per_region(da, w, space, mask, numbers)
        parts = [(t / a if how == "mean" else t * factor).where(a > 0)
                 for t, a in zip(sums, weights, strict=True)]
        carbon = " (as carbon)" if label.startswith("PgC") and "carbon" not in \
            str(da.attrs.get("long_name", "")) else ""
        out[name] = merge_attrs(xr.concat(parts, dim="region"), total_units,
                                f"{da.attrs.get('long_name', name)}{carbon} "
                                f"({'area-weighted mean' if how == 'mean' else 'total'})",
                                "area: mean" if how == "mean" else "area: sum",
                                **({"units_label": label} if how == "sum" else {}))
        if first_area is None:
            first_area = xr.concat(weights, dim="region")
    if not out:
        raise ValueError(
            f"regional(how={how!r}) found no variable to aggregate ({note or selected}): "
            "totals need fluxes or storages in g m-2 d-1 (carbon), mm d-1 (water flux) or "
            "mm (water storage)")
    res = xr.Dataset(out)
    res = res.assign_coords(region=[*(table[n][0] for n in numbers), "global"],
                            region_name=("region", [*(table[n][1] for n in numbers),
                                                    "global land"]))
    if first_area is not None:
        areas = np.asarray(first_area.values, float)
        res = res.assign_coords(area=("region", np.where(areas > 0, areas, np.nan),
                                      {"units": "m2", "long_name": "area of cells with data"}))
    res.attrs = {"title": f"xh2cm regional {how}",
                 "regions": regions if isinstance(regions, str) else "user-defined"}
    if note:
        res.attrs["left_out"] = note
    return res


def _per_region(da: xr.DataArray, w: xr.DataArray, space: tuple[Hashable, ...],
                mask: xr.DataArray | None, numbers: list[int]
                ) -> tuple[list[xr.DataArray], list[xr.DataArray]]:
    """Area-weighted sums of ``da`` and the summed weights, for each region number of
    ``mask`` and then over every cell (``global``): the one spatial aggregation of
    :func:`regional` and :func:`regional_means`."""
    sels = [w.where(mask == n) for n in numbers] + [w]
    return [(da * sel).sum(space) for sel in sels], [sel.sum(space) for sel in sels]


def regional_means(da: xr.DataArray, regions: RegionsArg | None = "srex") -> xr.DataArray:
    """Area-weighted means over each region's cells with data, and over all (``global``),
    on a ``region`` dim (by abbreviation); ``regions=None``: ``global`` only."""
    area = cell_area(da)
    space = tuple(area.dims)
    mask, table = region_mask(da, regions) if regions is not None else (None, {})
    sums, weights = _per_region(da, area.where(da.notnull()), space, mask, list(table))
    labels = [abbrev for abbrev, _ in table.values()] + ["global"]
    return xr.concat([t / a for t, a in zip(sums, weights, strict=True)],
                     dim="region").assign_coords(region=labels)


def weighted_mean_series(da: xr.DataArray, region: str | None = None,
                         regions: RegionsArg = "srex") -> xr.DataArray:
    """Area-weighted mean over space of ``da``: over all its cells with data (``region``
    None or ``"global"``) or over one region's (by abbreviation)."""
    if region is None or region == "global":
        return regional_means(da, None).sel(region="global", drop=True)
    means = regional_means(da, regions)
    if str(region) not in means["region"].values:
        raise ValueError(f"region {region!r} is not in the region set; known: "
                         f"{list(means['region'].values)}")
    return means.sel(region=str(region), drop=True)
