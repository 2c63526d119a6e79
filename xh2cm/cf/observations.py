"""Find, convert and align observations for training (docs/model/training.md), on the forcing grid.

Each constraint (``tws, swe, et, q, fapar, gpp, nee`` monthly and ``cue``
static) is looked up in the observation Dataset by, in order: an explicit
``names={"gpp": "GPP_obs"}`` mapping, its CF ``standard_name``, then common
variable names (case-insensitive). Absent constraints are simply not used.

Values are converted to the catalog units (:mod:`xh2cm.cf.units`), put on
the forcing grid by the one grid rule of :mod:`xh2cm.cf.grid` (0…360 or
−180…180 longitudes, either latitude order, coordinates within 1/100 of the
grid spacing; cells missing from the observations become NaN), checked for
plausibility (:data:`PLAUSIBLE`: refused, or clipped on request) and reduced to
the forcing's calendar months:

- observations finer than monthly (daily, 8-daily, ...) are averaged per
  month over the samples that fall inside the forcing period; a month is
  kept only if its valid (non-NaN) samples cover at least ``min_valid`` of the
  month's forcing days (default one half), otherwise it is NaN;
- monthly observations are used as they are, each time stamp assigned to its
  calendar month (mid-month or first-of-month stamps alike);
- coarser observations are refused.

Observations keep their own date ranges: months outside them are NaN (masked
in the loss). Mean annual CUE is a static field on the spatial dims.

Constraints that a loss term compares at daily resolution (``daily=``, e.g.
runoff from gauges) are also kept as daily means on the forcing days: daily
values as they are, finer ones (e.g. half-hourly flux-tower data) averaged per
calendar day under the same ``min_valid`` rule; coarser ones are refused.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import xarray as xr

from xh2cm import catalog
from xh2cm.calendars import day_codes, days_since_epoch, month_codes
from xh2cm.catalog import MONTHLY_OBS, OBS_NAMES, STATIC_OBS
from xh2cm.cf.grid import Regrid, to_grid
from xh2cm.cf.options import merged
from xh2cm.cf.prepare import Prepared, VariableSource
from xh2cm.cf.units import convert, describe_conversion, read_units
from xh2cm.cf.validate import describe_point
from xh2cm.cf.variables import Match, discover

_NEE_DOWN = ("surface_net_downward_mass_flux_of_carbon_dioxide_expressed_as_carbon_due_to_"
             "all_land_processes")



def _catalog_standard_name(name: str) -> tuple[str, ...]:
    std = catalog.OUTPUTS[name].standard_name
    return (std,) if std else ()


#: Accepted CF standard names per observation.
STANDARD_NAMES: dict[str, tuple[str, ...]] = {
    "tws": ("lwe_thickness_of_water_storage",),
    "swe": ("lwe_thickness_of_surface_snow_amount", "surface_snow_amount"),
    "et": ("lwe_water_evaporation_rate", "water_evapotranspiration_flux",
           "water_evaporation_flux"),
    "q": ("runoff_flux", "lwe_runoff_rate"),
    "fapar": _catalog_standard_name("fapar"),
    "gpp": _catalog_standard_name("gpp"),
    "nee": (_NEE_DOWN,),
    "cue": (),
}
#: Sign that turns a standard name's convention into the model's (NEE positive
#: upward, i.e. a source); 1 for standard names not listed.
SIGNS: dict[str, float] = {_NEE_DOWN: -1.0}

#: Accepted variable names per observation (compared case-insensitively).
ALIASES: dict[str, tuple[str, ...]] = {
    "tws": ("tws", "tws_anomaly", "twsa", "lwe_thickness"),
    "swe": ("swe", "snw", "snow_water_equivalent"),
    "et": ("et", "evspsbl", "evapotranspiration", "evaporation"),
    "q": ("q", "mrro", "runoff"),
    "fapar": ("fapar", "fpar"),
    "gpp": ("gpp",),
    "nee": ("nee",),
    "cue": ("cue",),
}

#: Largest median time step (days) treated as daily / sub-monthly / monthly.
_DAILY_MAX, _SUBMONTHLY_MAX, _MONTHLY_MAX = 1.5, 20.0, 35.0


@dataclass(frozen=True)
class ObservationInfo(VariableSource):
    """How one observation was read (see :class:`~xh2cm.cf.prepare.VariableSource`).

    Attributes
    ----------
    resolution : str
        ``"sub-monthly (every N days)"``, ``"monthly"`` or ``"static"``.
    n_valid : int
        Valid (non-NaN) monthly or static values on the model's cells.
    matched_cells, matched_values : int
        Grid cells (and values) of the observation matched to the forcing's grid
        (:mod:`xh2cm.cf.grid`).
    """

    resolution: str = ""
    n_valid: int = 0
    matched_cells: int = 0
    matched_values: int = 0


@dataclass
class Observations:
    """Observations on the forcing grid, flattened over space (C order).

    Attributes
    ----------
    monthly : dict of str to ndarray
        ``(n_months, n_grid_cells)`` in catalog units, NaN = missing.
    cue : ndarray or None
        ``(n_grid_cells,)`` mean annual CUE.
    info : dict of str to ObservationInfo
    daily : dict of str to ndarray
        ``(n_days, n_grid_cells)`` daily means on the forcing days, for the
        constraints asked for with ``daily=``.
    """

    monthly: dict[str, np.ndarray]
    cue: np.ndarray | None
    info: dict[str, ObservationInfo]
    daily: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def available(self) -> tuple[str, ...]:
        """Names of the observations found."""
        return tuple(self.info)


def find_observations(obs: xr.Dataset, names: Mapping[str, str] | None = None,
                      variables: Sequence[str] | None = None) -> dict[str, Match]:
    """Locate the observations in ``obs`` (the discovery rules of
    :func:`xh2cm.cf.variables.discover`).

    Parameters
    ----------
    obs : xarray.Dataset
    names : mapping, optional
        Explicit ``{constraint: dataset variable}`` (``obs_names=`` of ``fit``).
    variables : sequence of str, optional
        Restrict to these constraints (default: all of :data:`OBS_NAMES`).

    Returns
    -------
    dict
        ``constraint -> Match`` for those found; :data:`SIGNS` gives the sign of
        a match by standard name.

    Raises
    ------
    ValueError
        For unknown constraint names, a missing explicit variable, an
        ambiguous match, or when nothing is found.
    """
    wanted = tuple(variables) if variables is not None else OBS_NAMES
    unknown = set(wanted) - set(OBS_NAMES)
    if unknown:
        raise ValueError(f"unknown observation constraints {sorted(unknown)}; "
                         f"known: {list(OBS_NAMES)}")
    names = merged("obs_names", names, obs.data_vars, keys=wanted)
    out = discover(obs, wanted, STANDARD_NAMES, ALIASES, names,
                   describe=lambda k: f"observation {k!r}", names_arg="obs_names")
    if not out:
        raise ValueError(
            f"no observation found among data variables {[str(v) for v in obs.data_vars]}: "
            f"expected any of { {k: list(ALIASES[k]) for k in wanted} } (or CF standard "
            "names), or pass obs_names={'gpp': '<variable>', ...}")
    return out


#: Plausible range of each observation in catalog units, and the noise accepted beyond it:
#: ``name -> (low, high, noise, why)`` (None: no bound on that side).
PLAUSIBLE: dict[str, tuple[float | None, float | None, float, str]] = {
    "gpp": (0.0, None, 0.5, "gross primary productivity cannot be negative"),
    "et": (0.0, 30.0, 0.5, "evapotranspiration is neither below 0 beyond dew nor above "
           "30 mm d-1"),
    "q": (0.0, None, 0.5, "runoff cannot be negative"),
    "fapar": (0.0, 1.0, 0.01, "fAPAR is a fraction within [0, 1]"),
    "swe": (0.0, None, 1e-3, "snow water equivalent cannot be negative"),
    "cue": (0.0, 1.0, 0.01, "carbon-use efficiency is a fraction within [0, 1]"),
}

Implausible = Literal["raise", "clip"]


def check_plausible(da: xr.DataArray, key: str, label: str,
                    implausible: Implausible = "raise") -> xr.DataArray:
    """Refuse (or, with ``implausible="clip"``, clip to its range) an observation with
    values outside :data:`PLAUSIBLE` by more than the noise, naming how many and where.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray([0.2, 1.3], dims="lat", coords={"lat": [0.0, 1.0]})
    >>> check_plausible(da, "fapar", "observation 'fapar'", "clip").values.tolist()
    [0.2, 1.0]
    """
    if implausible not in ("raise", "clip"):
        raise ValueError(f"implausible={implausible!r}; use 'raise' or 'clip'")
    if key not in PLAUSIBLE:
        return da
    lo, hi, noise, why = PLAUSIBLE[key]
    units = catalog.OUTPUTS[key].units
    for bound, bad in ((lo, None if lo is None else da < lo - noise),
                       (hi, None if hi is None else da > hi + noise)):
        if bad is None:
            continue
        n = int(bad.sum())
        if n and implausible == "raise":
            first = np.unravel_index(int(np.argmax(np.asarray(bad.values))), bad.shape)
            where = describe_point(bad, {d: int(i) for d, i in zip(bad.dims, first,
                                                                   strict=True)})
            side, stat = ("below", "min") if bound is lo else ("above", "max")
            extreme = float(da.min() if bound is lo else da.max())
            raise ValueError(
                f"{label} has {n} value(s) {side} {bound:g} {units} (beyond a noise of "
                f"{noise:g}; {stat} {extreme:.4g}), e.g. at "
                f"{where}: {why}. Check its sign convention and units, or pass "
                "implausible='clip' to clip it to its range")
    return da.clip(lo, hi) if implausible == "clip" else da


def _checked(arr: np.ndarray, key: str, label: str, prep: Prepared,
             implausible: Implausible, step: Literal["month", "day"] | None) -> np.ndarray:
    """:func:`check_plausible` of a ``(n_steps, n_grid)`` (or static ``(n_grid,)``) array
    as the loss compares it (monthly or daily means, where sub-daily noise has averaged
    out), its places named by month or day and the grid's coordinates."""
    grid = prep.valid
    coords: dict[Hashable, object] = {d: grid[d].values for d in grid.dims if d in grid.coords}
    dims: tuple[Hashable, ...] = tuple(grid.dims)
    if step is not None:
        t = np.asarray(prep.forcing[prep.time_dim].values)
        codes = np.unique(month_codes(t) if step == "month" else day_codes(t))
        coords[step] = ([f"{c // 12:04d}-{c % 12 + 1:02d}" for c in codes] if step == "month"
                        else [f"{c // 10000:04d}-{c // 100 % 100:02d}-{c % 100:02d}"
                              for c in codes])
        dims = (step, *dims)
    shape = grid.shape if step is None else (arr.shape[0], *grid.shape)
    da = xr.DataArray(arr.reshape(shape), dims=dims, coords=coords)
    return np.asarray(check_plausible(da, key, label, implausible).values).reshape(arr.shape)


def _series(da: xr.DataArray, time_dim: Hashable, prep: Prepared
            ) -> tuple[np.ndarray, np.ndarray, float]:
    """Time stamps with data (datetime64 or cftime), values ``(time, n_grid)`` and the
    median step (days, in the data's calendar)."""
    # time stamps without any data (e.g. a monthly variable on a Dataset whose time axis
    # was joined with a daily one) do not define the resolution
    da = da.dropna(time_dim, how="all")
    otime = np.asarray(da[time_dim].values)
    step = float(np.median(np.diff(days_since_epoch(otime)))) if otime.size > 1 else 30.0
    vals = np.asarray(da.transpose(time_dim, *prep.spatial_dims).values, np.float64)
    return otime, vals.reshape(vals.shape[0], int(prep.valid.size)), step


def _bin_means(vals: np.ndarray, pos: np.ndarray, n_bins: int, expected: np.ndarray,
               min_valid: float) -> np.ndarray:
    """Means of the rows of ``vals`` per bin ``pos`` over the finite values; NaN where
    fewer than ``min_valid * expected`` (per bin) values are finite."""
    ok = np.isfinite(vals)
    s, n = np.zeros((n_bins, vals.shape[1])), np.zeros((n_bins, vals.shape[1]))
    np.add.at(s, pos, np.where(ok, vals, 0.0))
    np.add.at(n, pos, ok)
    mean = np.where(n > 0, s / np.maximum(n, 1), np.nan)
    mean[n < min_valid * expected[:, None] - 1e-9] = np.nan
    return mean


def _monthly(da: xr.DataArray, time_dim: Hashable, prep: Prepared, label: str,
             min_valid: float) -> tuple[np.ndarray, str]:
    """``(n_months, n_grid)`` monthly means on the forcing's months, and the resolution."""
    ftime = np.asarray(prep.forcing[prep.time_dim].values)
    fcodes, fdays = np.unique(month_codes(ftime), return_counts=True)
    otime, vals, step = _series(da, time_dim, prep)
    if otime.size == 0:  # nothing on the forcing's cells
        return np.full((fcodes.size, int(prep.valid.size)), np.nan), "no data"
    ocodes = month_codes(otime)
    pos = np.clip(np.searchsorted(fcodes, ocodes), 0, fcodes.size - 1)
    hit = fcodes[pos] == ocodes
    out_shape = (fcodes.size, vals.shape[1])
    if step <= _SUBMONTHLY_MAX:
        fday, oday = day_codes(ftime), day_codes(otime)
        inside = hit & (oday >= fday[0]) & (oday <= fday[-1])
        expected = np.maximum(fdays / max(step, 1.0), 1.0)
        mean = _bin_means(vals[inside], pos[inside], fcodes.size, expected, min_valid)
        return mean, f"sub-monthly (every {step:g} days)"
    if step <= _MONTHLY_MAX:
        if np.unique(ocodes[hit]).size != int(hit.sum()):
            raise ValueError(f"{label} looks monthly but has several time stamps in one month")
        out = np.full(out_shape, np.nan)
        out[pos[hit]] = vals[hit]
        return out, "monthly"
    raise ValueError(
        f"{label} has a time step of about {step:.0f} days; observations must be daily to "
        "monthly. Provide monthly values (e.g. obs.resample(time='MS').mean())")


def _daily(da: xr.DataArray, time_dim: Hashable, prep: Prepared, label: str,
           min_valid: float) -> np.ndarray:
    """``(n_days, n_grid)`` daily means on the forcing's days (daily or finer input)."""
    fdays = day_codes(prep.forcing[prep.time_dim].values)
    otime, vals, step = _series(da, time_dim, prep)
    if otime.size == 0:
        return np.full((fdays.size, int(prep.valid.size)), np.nan)
    if step > _DAILY_MAX:
        raise ValueError(
            f"{label} has a time step of about {step:g} days, but a loss term compares it "
            "daily; give daily (or finer) values, or compare it monthly (drop it from kinds=)")
    odays = day_codes(otime)
    pos = np.clip(np.searchsorted(fdays, odays), 0, fdays.size - 1)
    hit = fdays[pos] == odays
    expected = np.full(fdays.size, max(1.0 / step, 1.0))
    return _bin_means(vals[hit], pos[hit], fdays.size, expected, min_valid)


def prepare_observations(obs: xr.Dataset, prep: Prepared, *,
                         names: Mapping[str, str] | None = None,
                         variables: Sequence[str] | None = None,
                         min_valid: float = 0.5, daily: Sequence[str] = (),
                         regrid: Regrid = None, implausible: Implausible = "raise"
                         ) -> Observations:
    """Observations as monthly arrays on the forcing's grid and months.

    Parameters
    ----------
    obs : xarray.Dataset
        Observations (any of :data:`OBS_NAMES`), on the forcing's spatial grid.
    prep : Prepared
        The prepared forcing (:func:`xh2cm.cf.prepare.prepare`).
    names : mapping, optional
        Explicit ``{constraint: dataset variable}``.
    variables : sequence of str, optional
        Use only these constraints.
    min_valid : float
        Minimum fraction of a month's days with valid sub-monthly data for a
        monthly mean to count (0–1); the same fraction of a day's samples for
        a daily mean of sub-daily data.
    daily : sequence of str
        Constraints also wanted as daily series (``Observations.daily``), for
        loss terms compared at daily resolution.
    regrid : {None, "conservative"}
        Observations on another resolution than the forcing: refused (default) or
        regridded conservatively (:func:`xh2cm.cf.grid.to_grid`).
    implausible : {"raise", "clip"}
        Values outside :data:`PLAUSIBLE` (negative GPP, fAPAR above 1, ...) in the
        monthly (and daily) means the loss compares: refused, or clipped to the range.

    Returns
    -------
    Observations

    Raises
    ------
    ValueError
        For unknown or unconvertible units, implausible values, a grid mismatch
        (:mod:`xh2cm.cf.grid`: coordinates that match no forcing cell), an unsupported
        time step (coarser than daily for a ``daily`` constraint), or no
        observation overlapping the forcing.
    """
    if not 0.0 <= min_valid <= 1.0:
        raise ValueError(f"min_valid must be within [0, 1], got {min_valid}")
    bad = set(daily) - set(MONTHLY_OBS)
    if bad:
        raise ValueError(f"daily={sorted(bad)}: only {list(MONTHLY_OBS)} can be daily")
    found = find_observations(obs, names, variables)
    monthly: dict[str, np.ndarray] = {}
    daily_series: dict[str, np.ndarray] = {}
    cue = None
    info: dict[str, ObservationInfo] = {}
    valid = np.asarray(prep.valid.values, bool).ravel()
    for key, match in found.items():
        src, rule = match.source, match.rule
        sign = SIGNS.get(match.standard_name or "", 1.0)
        da = obs[src]
        label = f"observation {key!r} (dataset variable {src!r})"
        units = read_units(da, key, src)
        da = convert(da.astype(np.float64), units, variable=key) * sign
        da = to_grid(da, prep.valid, label=label, regrid=regrid)
        tdims = [d for d in da.dims if d not in prep.spatial_dims]
        if key in STATIC_OBS:
            if tdims:
                raise ValueError(f"{label} must be static on {prep.spatial_dims}; it has "
                                 f"extra dims {tdims} (e.g. average them first)")
            arr = np.asarray(da.transpose(*prep.spatial_dims).values, np.float64).ravel()
            arr = np.where(np.isfinite(arr), arr, np.nan)
            arr = _checked(arr, key, label, prep, implausible, None)
            cue, res, n_ok = arr, "static", int(np.isfinite(arr[valid]).sum())
        else:
            if len(tdims) != 1:
                raise ValueError(f"{label} needs exactly one time dim besides "
                                 f"{prep.spatial_dims}; it has {da.dims}")
            arr, res = _monthly(da, tdims[0], prep, label, min_valid)
            arr = monthly[key] = _checked(arr, key, label, prep, implausible, "month")
            if key in daily:
                daily_series[key] = _checked(_daily(da, tdims[0], prep, label, min_valid),
                                             key, label, prep, implausible, "day")
            n_ok = int(np.isfinite(arr[:, valid]).sum())
        info[key] = ObservationInfo(key, src, rule, str(units),
                                    describe_conversion(str(units), variable=key)
                                    + (" (sign flipped)" if sign < 0 else ""), res, n_ok,
                                    da.attrs["matched_cells"], da.attrs["matched_values"])
    if not any(i.n_valid for i in info.values()):
        raise ValueError("no observation overlaps the forcing's cells and months "
                         f"({ {k: i.source for k, i in info.items()} }); check the date "
                         "ranges and the grid")
    return Observations(monthly, cue, info, daily_series)
