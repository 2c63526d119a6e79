"""Cleaning flux-tower input of straight-line gap fill: which runs are fill, per variable,
and what replaces the days that were mostly fill.

Half-hourly (:func:`fill_masks`, used by :func:`xh2cm.io.read_site`): every variable the
models read gets a ``<name>_measured`` mask from :func:`xh2cm.io.gaps.linear_fill` with the
rule of :data:`FILL_RULES`. The rules were measured on the US-Bi1 and US-Hn1 files: a
measured turbulent flux is never on a straight line for 4 half-hours; net radiation, air
temperature and vapour pressure never for 6 (3 h), not even as a constant; shortwave
radiation, rain and CO2 are constant for hours when measured (night, dry spells,
quantization), so only sloped runs of 6 count; soil water is slow and quantized (sloped
runs of 12, 6 h); LAI is a MODIS 4-day product interpolated to 30 min (every half-hour is
on a line of 193), so only a line over 16 days (769 half-hours: three or more composites
missing in a row) is fill.

Daily (:func:`clean_daily`, used by :func:`xh2cm.io.to_daily`): a day whose share of
fill half-hours exceeds ``max_fill`` (default 0.1), or that has no value, takes the value
of the site's ERA5 product (ONEFlux ``ERA5_DD``, read by :func:`xh2cm.io.read_fluxnet`;
net radiation derived by :func:`xh2cm.io.radiation.net_radiation`) where it has the
variable, else is NaN (masked; ``fallback="interpolate"`` interpolates it in time
instead). ``<name>_source`` flags each day (0 tower, 1 ERA5, 2 masked, 3 interpolated);
counts are in each variable's ``days_filled_from_era5``, ``days_masked`` and
``days_interpolated`` attributes and the dataset's ``cleaning``; masked or interpolated
days also warn. Flux
targets (LE, H, NEE) are not replaced: score them on measured days
(:func:`xh2cm.io.measured_days`).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from xh2cm.io.gaps import linear_fill
from xh2cm.io.radiation import DEFAULT_ALBEDO, net_radiation

#: ``name -> (shortest run of collinear half-hours that is fill, constants count)``.
FILL_RULES: dict[str, tuple[int, bool]] = {
    "le": (4, True), "h": (4, True), "nee_umol": (4, True),
    "rn": (6, True), "tair": (6, True), "eair": (6, True),
    "sw": (6, False), "prec": (6, False), "co2": (6, False),
    "swc": (12, False),
    "lai": (769, False),
}
#: Daily variables cleaned: ``name -> the half-hourly variables whose fill counts`` (vapour
#: pressure enters through ``vpd``).
CLEANED: dict[str, tuple[str, ...]] = {
    "rn": ("rn",), "sw": ("sw",), "tair": ("tair",), "vpd": ("tair", "eair"),
    "prec": ("prec",), "co2": ("co2",), "swc": ("swc",),
    "lai": ("lai",),
}
#: Share of a day's half-hours that may be fill before the day is replaced or masked.
MAX_FILL = 0.1


def fill_masks(data: dict[str, xr.DataArray]) -> dict[str, xr.DataArray]:
    """``<name>_measured`` masks (finite and not straight-line fill by :data:`FILL_RULES`)
    of the half-hourly variables in ``data`` that have a rule; ``fill_fraction`` and
    ``fill_rule`` attributes say how much was found and by which rule."""
    out = {}
    for name, (min_run, constants) in FILL_RULES.items():
        if name not in data:
            continue
        values = data[name].values
        fill = linear_fill(values, min_run=min_run, constants=constants)
        rule = (f"straight line of >= {min_run} half-hours"
                + ("" if constants else ", constants excluded"))
        out[f"{name}_measured"] = xr.DataArray(
            np.isfinite(values) & ~fill, dims=data[name].dims,
            attrs={"long_name": f"{name} is a measurement (not NaN, not straight-line gap "
                                "fill)", "fill_fraction": float(fill.mean()),
                   "fill_rule": rule})
    return out


def _fill_share(daily: xr.Dataset, name: str) -> xr.DataArray | None:
    """The day's share of straight-line fill half-hours of ``name`` (the largest of its
    sources'), or None where the data carry no straight-line mask."""
    shares = [1.0 - daily[f"{src}_measured_fraction"] for src in CLEANED[name]
              if "fill_rule" in daily.get(f"{src}_measured_fraction", xr.DataArray()).attrs]
    if not shares:
        return None
    return shares[0] if len(shares) == 1 else xr.concat(shares, "source").max("source")


def era5_forcing(era5: xr.Dataset) -> xr.Dataset:
    """The ERA5 daily dataset with ``rn`` derived where it has none (the default albedo,
    :data:`~xh2cm.io.radiation.DEFAULT_ALBEDO`; add your own ``rn`` to use the tower's)."""
    if "rn" not in era5 and {"sw", "lw", "tair"} <= set(map(str, era5.data_vars)):
        era5 = era5.assign(rn=net_radiation(era5, DEFAULT_ALBEDO))
    return era5


#: What a day of fill without an ERA5 value becomes: NaN, or interpolated in time.
FALLBACKS = ("mask", "interpolate")
_MEANINGS = "tower era5 masked interpolated"


def clean_daily(daily: xr.Dataset, era5: xr.Dataset | None = None, *,
                max_fill: float = MAX_FILL, fallback: str = "mask") -> xr.Dataset:
    """Replace (from ``era5``) or mask the days of :data:`CLEANED` variables with more than
    ``max_fill`` straight-line fill or no value; see the module docstring.

    Parameters
    ----------
    daily : xarray.Dataset
        Daily data with ``<name>_measured_fraction`` (:func:`xh2cm.io.to_daily`).
    era5 : xarray.Dataset, optional
        The site's daily ERA5 (:func:`xh2cm.io.read_fluxnet` of ``ERA5_DD``), same
        ``site`` labels; days it does not cover stay masked.
    max_fill : float
        Largest share of fill half-hours a kept day may have.
    fallback : {"mask", "interpolate"}
        Days of fill that ERA5 does not replace: NaN (``days_masked``), or linearly
        interpolated in time between kept days, the nearest kept day at the ends
        (``days_interpolated``, flag 3 in ``<name>_source``; a choice to make knowingly:
        a week of interpolated radiation is not weather).

    Raises
    ------
    ValueError
        If ``max_fill`` is outside [0, 1), ``fallback`` unknown, or ``era5`` lacks a site
        of ``daily``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.date_range("2020-01-01", periods=4)
    >>> frac = xr.DataArray([1.0, 0.5, 1.0, 0.95], dims="time", attrs={"fill_rule": "line"})
    >>> daily = xr.Dataset({"rn": ("time", [80.0, 400.0, 90.0, 85.0]),
    ...                     "rn_measured_fraction": frac}, coords={"time": t})
    >>> era5 = xr.Dataset({"rn": ("time", [70.0, 75.0, 80.0, 82.0])}, coords={"time": t})
    >>> out = clean_daily(daily, era5)
    >>> out.rn.values.tolist(), out.rn_source.values.tolist()
    ([80.0, 75.0, 90.0, 85.0], [0, 1, 0, 0])
    >>> clean_daily(daily, max_fill=0.5).rn.values.tolist()  # 0.5 of day 2 fill: kept
    [80.0, 400.0, 90.0, 85.0]
    """
    if not 0 <= max_fill < 1:
        raise ValueError(f"max_fill must be in [0, 1), got {max_fill}")
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    if era5 is not None:
        era5 = era5_forcing(era5)
        if "site" in daily.dims:
            missing = set(daily.site.values.tolist()) - set(era5.site.values.tolist())
            if missing:
                raise ValueError(f"era5 has no site {sorted(missing)} (it has "
                                 f"{era5.site.values.tolist()}); pass that site's ERA5 file")
    out, summary, left = daily.copy(), [], []
    rule = f"days with > {max_fill:g} straight-line fill or no value"
    for name in CLEANED:
        share = _fill_share(daily, name) if name in daily else None
        if share is None:
            continue
        bad = (share > max_fill) | daily[name].isnull()
        new, source, counts = _clean_one(daily[name], bad, era5, fallback)
        text = ", ".join(f"{n} {k}" for k, n in counts.items())
        out[f"{name}_source"] = source.assign_attrs(
            long_name=f"source of the day's {name}", flag_values=[0, 1, 2, 3],
            flag_meanings=_MEANINGS)
        out[name] = new.assign_attrs(**{f"days_{k.replace(' ', '_')}": n
                                        for k, n in counts.items()}, cleaning=f"{rule}: {text}")
        summary.append(f"{name}: {text}")
        if counts["masked"] or counts["interpolated"]:
            left.append(f"{name} {counts['masked'] + counts['interpolated']}")
    out.attrs["cleaning"] = f"{rule}: " + "; ".join(summary)
    if left:
        sites = daily["site"].values.tolist() if "site" in daily.coords else ["(no site)"]
        what = "masked (NaN)" if fallback == "mask" else "interpolated in time"
        warnings.warn(f"{', '.join(map(str, np.atleast_1d(sites)))}: days {what} as "
                      f"straight-line fill or missing, no ERA5 to fill them: {', '.join(left)}"
                      "; pass era5= (the site's FLUXNET ERA5_DD file read by "
                      "xh2cm.io.read_fluxnet) or fill them yourself", UserWarning, stacklevel=3)
    return out


def _clean_one(da: xr.DataArray, bad: xr.DataArray, era5: xr.Dataset | None,
               fallback: str) -> tuple[xr.DataArray, xr.DataArray, dict[str, int]]:
    """One variable: the cleaned values, the day flags (0 tower, 1 ERA5, 2 masked,
    3 interpolated) and the counts of days per source."""
    new = da.where(~bad)
    if era5 is not None and da.name in era5:
        sub = era5[da.name].reset_coords(drop=True).reindex(time=da.time)
        new = da.where(~bad, sub.transpose(*da.dims))
    source = xr.where(bad, xr.where(new.notnull(), 1, 2), 0)
    if fallback == "interpolate" and bool((source == 2).any()):
        new = xr.apply_ufunc(_interpolate, new, input_core_dims=[["time"]],
                             output_core_dims=[["time"]], vectorize=True,
                             keep_attrs=True).transpose(*da.dims)
        source = xr.where((source == 2) & new.notnull(), 3, source)
    counts = {name: int((source == flag).sum())
              for flag, name in ((1, "filled from era5"), (2, "masked"), (3, "interpolated"))}
    return new, source.astype("int8"), counts


def _interpolate(v: np.ndarray) -> np.ndarray:
    """NaNs of a daily series filled linearly between its values, the nearest at the ends."""
    ok = np.isfinite(v)
    if ok.all() or not ok.any():
        return v
    idx = np.arange(v.size)
    out = v.copy()
    out[~ok] = np.interp(idx[~ok], idx[ok], v[ok])
    return out
