"""Variables the analysis methods read, found by the same rules as model input.

A diagnostic works on model output (``ds.h2cm.run(model)``) and equally on an
observation dataset: each variable is looked up with
:func:`xh2cm.cf.variables.discover` (explicit ``names=``, CF ``standard_name``,
then common names), its ``units`` attribute is converted to xh2cm's units
(:mod:`xh2cm.cf.units`), and what the dataset lacks is looked up in
``forcing`` (e.g. precipitation, VPD, shortwave, which model output does not
carry). A variable found nowhere gets a ``KeyError`` naming it and the fix.

This module also holds the time bookkeeping every diagnostic shares: the time
step of a series (daily or monthly) and totals over complete periods.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm import catalog
from xh2cm.cf.grid import to_grid
from xh2cm.cf.options import OPTIONS
from xh2cm.cf.units import convert, read_units
from xh2cm.cf.validate import find_time_dim
from xh2cm.cf.variables import discover

#: ``name -> (units, long name, CF standard names, common names)`` of every variable an
#: analysis method may read, in xh2cm's units.
ANALYSIS_VARIABLES: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "gpp": ("g m-2 d-1", "gross primary productivity",
            ("gross_primary_productivity_of_biomass_expressed_as_carbon",),
            ("gpp", "gpp_nt_vut_ref", "gpp_dt_vut_ref")),
    "nee": ("g m-2 d-1", "net ecosystem exchange (positive = source)", (),
            ("nee", "nee_vut_ref")),
    "ter": ("g m-2 d-1", "terrestrial ecosystem respiration",
            ("ecosystem_respiration_carbon_flux",), ("ter", "reco", "reco_nt_vut_ref")),
    "rh": ("g m-2 d-1", "heterotrophic respiration",
           ("heterotrophic_respiration_carbon_flux",), ("rh", "rsoil")),
    "et": ("mm d-1", "evapotranspiration",
           ("lwe_water_evaporation_rate", "water_evapotranspiration_flux",
            "water_evaporation_flux"), ("et", "evspsbl", "evapotranspiration", "le_f_mds")),
    "tr": ("mm d-1", "transpiration", ("transpiration_flux",), ("tr", "tran", "transpiration")),
    "q": ("mm d-1", "total runoff", ("runoff_flux",), ("q", "mrro", "runoff")),
    "sm": ("mm", "soil moisture", ("mass_content_of_water_in_soil",), ("sm", "mrso", "swc")),
    # model output has 'tws' and 'tws_anomaly': a variable named 'tws' wins (discover)
    "tws": ("mm", "terrestrial water storage", ("lwe_thickness_of_water_storage",),
            ("tws", "tws_anomaly", "twsa", "lwe_thickness")),
    "fapar": ("1", "fraction of absorbed photosynthetically active radiation",
              (str(catalog.OUTPUTS["fapar"].standard_name),), ("fapar", "fpar")),
    "prec": ("mm d-1", "precipitation", ("lwe_precipitation_rate", "precipitation_flux"),
             ("prec", "pr", "precip", "precipitation", "tp", "p_f")),
    "vpd": ("hPa", "vapour pressure deficit", ("water_vapor_saturation_deficit_in_air",),
            ("vpd", "vpd_f")),
    "rn": ("W m-2", "net radiation", ("surface_net_downward_radiative_flux",),
           ("rn", "rnet", "netrad", "net_radiation")),
    "sw": ("W m-2", "incoming shortwave radiation",
           ("surface_downwelling_shortwave_flux_in_air",),
           ("sw", "rsds", "swdown", "sw_in", "sw_in_f", "ssrd", "rg", "shortwave")),
}

Step = Literal["daily", "monthly"]


def _describe(name: str) -> str:
    return f"{ANALYSIS_VARIABLES[name][1]} {name!r}"


def get(ds: xr.Dataset, name: str, *, forcing: xr.Dataset | None = None,
        names: Mapping[str, str] | None = None, needed_by: str = "this method"
        ) -> xr.DataArray:
    """Variable ``name`` from ``ds`` (else ``forcing``) in xh2cm's units.

    Parameters
    ----------
    ds : xarray.Dataset
        Model output or observations.
    name : str
        A key of :data:`ANALYSIS_VARIABLES`.
    forcing : xarray.Dataset, optional
        Where to look for what ``ds`` lacks (the run's forcing).
    names : mapping, optional
        Explicit ``{name: dataset variable}``; over ``xh2cm.set_options(names=...,
        obs_names=...)``, whose entries count where the dataset has the variable.
    needed_by : str
        The method, for the message.

    Raises
    ------
    KeyError
        If the variable is found in neither dataset, naming it and the fix.
    ValueError
        If its units are missing or not convertible.
    """
    units, long_name, stds, aliases = ANALYSIS_VARIABLES[name]
    for source in (ds, forcing):
        if source is None:
            continue
        mapping = {**OPTIONS["obs_names"], **OPTIONS["names"], **dict(names or {})}
        explicit = {name: mapping[name]} if mapping.get(name) in source.data_vars else None
        found = discover(source, (name,), {name: stds}, {name: aliases}, explicit,
                         describe=_describe)
        if name in found:
            da = source[found[name].source]
            given = read_units(da, name, found[name].source)
            out = convert(da.astype(np.float64), given, units, variable=name)
            tdim = find_time_dim(out) if out.dims else "time"
            if tdim != "time" and tdim in out.dims:  # ERA5's valid_time: one name for all
                out = out.rename({tdim: "time"})
            if source is forcing:  # the one grid rule (xh2cm.cf.grid), e.g. 0..360 forcing
                out = to_grid(out, ds, label=f"{_describe(name)} of forcing=", dims=[
                    d for d in out.dims if d != "time" and d in ds.dims], count=False)
            else:  # matched_cells marks a variable of forcing= (forcing_matches)
                out = out.copy(deep=False)
                out.attrs = {k: v for k, v in out.attrs.items() if not k.startswith("matched_")}
            return out.assign_attrs(units=units, long_name=long_name).rename(name)
    where = "the dataset" + ("" if forcing is None else " or forcing=")
    hint = ("; model output has no forcing: pass forcing=<the run's forcing Dataset>"
            if forcing is None else "")
    raise KeyError(
        f"{needed_by} needs {_describe(name)}, found in neither {where}: no data variable "
        f"named one of {list(aliases)} or with standard_name in {list(stds)} "
        f"(data variables: {[str(v) for v in ds.data_vars]}). Add it, rename yours, or "
        f"pass names={{{name!r}: '<variable>'}}{hint}")


def forcing_matches(ds: xr.Dataset, used: Iterable[xr.DataArray]) -> dict[str, int]:
    """What a diagnostic's result says about its pairing of ``ds`` with ``forcing=``.

    Of the variables ``used`` (read by :func:`get`), those of ``forcing=`` carry the cells
    matched by the grid rule (:mod:`xh2cm.cf.grid`, by coordinates). Returns ``{}`` where
    none came from ``forcing=``, else ``matched_cells`` (cells of ``ds``'s grid that the
    forcing's coordinates match: the fewest over its variables used), ``grid_cells`` (the
    cells of ``ds``'s grid) and, for in-memory data, ``matched_values`` (values, time
    steps × cells, where every variable used is finite, at their shared time steps); dask
    input keeps its laziness and goes without ``matched_values``.
    """
    used = list(used)
    from_forcing = [a for a in used if "matched_cells" in a.attrs]
    if not from_forcing:
        return {}
    space = [d for d in from_forcing[0].dims if d != "time" and d in ds.dims]
    out = {"matched_cells": min(int(a.attrs["matched_cells"]) for a in from_forcing),
           "grid_cells": int(np.prod([ds.sizes[d] for d in space]))}
    if all(a.chunks is None for a in used):
        both = functools.reduce(operator.and_, [a.notnull() for a in used])
        out["matched_values"] = int(both.sum())
    return out


def time_dim(da: xr.DataArray | xr.Dataset) -> str:
    """The time dimension (``time``; variables read by :func:`get` have it under that
    name), or a ``ValueError``."""
    if "time" not in da.dims:
        raise ValueError(f"no 'time' dimension (dims: {list(map(str, da.dims))}); rename the "
                         "time dimension to 'time'")
    return "time"


def time_step(da: xr.DataArray | xr.Dataset) -> Step:
    """``"daily"`` or ``"monthly"`` from the median spacing of the time coordinate.

    Raises
    ------
    ValueError
        For fewer than two time steps, or a step that is neither.
    """
    t = da[time_dim(da)]
    if t.size < 2:
        raise ValueError(f"a time series of {t.size} step(s) is too short for this method")
    index = t.to_index()
    steps = np.asarray(index[1:] - index[:-1])
    days = float(np.median(pd.to_timedelta(steps) / pd.Timedelta(days=1)))
    if 0.9 <= days <= 1.1:
        return "daily"
    if 27.0 <= days <= 32.0:
        return "monthly"
    raise ValueError(f"time step of about {days:g} days: the analysis methods take daily or "
                     "monthly data")


def require_daily(da: xr.DataArray, needed_by: str) -> None:
    """Refuse data that are not daily."""
    step = time_step(da)
    if step != "daily":
        raise ValueError(f"{needed_by} needs daily data; {da.name!r} is {step}. Use the daily "
                         "series (model output is daily)")


def days_per_step(da: xr.DataArray) -> xr.DataArray | float:
    """Days each time step stands for: 1 (daily) or the days of each month (monthly)."""
    if time_step(da) == "daily":
        return 1.0
    return da[time_dim(da)].dt.days_in_month.astype(float)


def period_totals(da: xr.DataArray, freq: str = "YS", *, per_day: bool = True) -> xr.DataArray:
    """Totals over complete periods ``freq`` (e.g. annual sums of a daily rate).

    A rate per day (``per_day``) is multiplied by the days of each step
    (monthly means become monthly totals); a period counts only when every
    step of it is present in the series (a partial first or last year is
    dropped) and its values are summed with NaN propagating (a cell with a gap
    in a period is NaN for it).

    Raises
    ------
    ValueError
        If no period of ``freq`` is complete ("needs at least one full year").
    """
    tdim = time_dim(da)
    weight = days_per_step(da) if per_day else 1.0
    step = time_step(da)
    summed = (da * weight).resample({tdim: freq}).sum(skipna=False)
    count = da[tdim].resample({tdim: freq}).count()
    expected = _steps_per_period(count[tdim].to_index(), freq, step)
    complete = np.asarray(count.values) == np.asarray(expected)
    if not complete.any():
        span = f"{da[tdim].values[0]} .. {da[tdim].values[-1]}"
        raise ValueError(f"{da.name!r} covers {span}, less than one complete {freq!r} period "
                         f"(e.g. a full calendar year for 'YS'); annual sums need at least one")
    out = summed.isel({tdim: np.flatnonzero(complete)})
    return out.assign_attrs(cell_methods=f"{tdim}: sum")


def _steps_per_period(starts: pd.Index, freq: str, step: Step) -> list[int]:
    """Days (daily) or months (monthly) of each period starting at ``starts``, in the
    calendar of the index (``standard``, ``noleap``, ``360_day``, ``all_leap``, ...)."""
    cal = getattr(starts, "calendar", None)
    edges = xr.date_range(starts[0], periods=len(starts) + 1, freq=freq,
                          calendar=cal or "standard", use_cftime=cal is not None)
    return [(end - start).days if step == "daily" else
            (end.year - start.year) * 12 + end.month - start.month
            for start, end in zip(edges[:-1], edges[1:], strict=True)]


def merge_attrs(da: xr.DataArray, units: str, long_name: str, cell_methods: str | None = None,
                **extra: str) -> xr.DataArray:
    """``da`` with CF attributes (and nothing inherited)."""
    attrs = {"units": units, "long_name": long_name, **extra}
    if cell_methods:
        attrs["cell_methods"] = cell_methods
    da = da.copy()
    da.attrs = attrs
    return da
