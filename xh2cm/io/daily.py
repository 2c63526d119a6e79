"""Daily values from half-hourly flux-tower data, with documented rules.

- A half-hour belongs to the day in which it starts (its ``TIMESTAMP_END`` minus 30 min).
- A partial first or last day (a file that starts or ends inside a day, e.g. the half-hour
  ending 00:00 of the first day alone: 1 of 48) with fewer than ``min_coverage`` of its
  half-hours in the file is dropped and named in the ``partial_days_dropped`` attribute
  (``partial="keep"`` keeps it, NaN), so the output runs as it is.
- Precipitation is summed (mm d-1); every other variable is the mean of its valid
  half-hours. A day with fewer than ``min_coverage`` of its 48 half-hours valid is
  missing (NaN) for that variable.
- ``<name>_measured`` masks become ``<name>_measured_fraction``: the share of the day's
  half-hours that were measured (not gap fill); :func:`measured_days` turns it into a
  mask for scoring on measured data.
- Input cleaning (``clean=True``, :func:`xh2cm.io.clean.clean_daily`): a day of a forcing,
  soil-water or LAI variable with more than ``max_fill`` (0.1) straight-line fill, or no
  value, takes the site's ERA5 value (``era5=``) where ERA5 has the variable, else is NaN;
  the counts are in the ``days_filled_from_era5`` / ``days_masked`` attributes.
- Where quality flags exist (``<name>_qc`` with ``flag_values``, as
  :func:`xh2cm.io.fluxnet.read_fluxnet` keeps them at HH/HR), half-hours flagged above
  ``max_qc`` (default 2: poor gap fill is dropped) are missing before the day's value is
  computed, and ``<name>_qc`` becomes the day's share of measured or good-quality
  gap-filled half-hours (QC 0 or 1), as ONEFlux defines its daily QC.
- The model's variables are added: ``vpd`` (hPa) from air temperature and vapour
  pressure (:mod:`xh2cm.humidity`), ``et`` (mm d-1) from LE with a temperature-dependent
  latent heat ``λ = 2.501 − 0.002361 T`` MJ kg-1, ``nee`` (gC m-2 d-1) from µmol CO2
  m-2 s-1 (× 12.011e-6 · 86400 = 1.03775), and ``rn`` stays the daily mean (W m-2).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from xh2cm.constants import MOLAR_MASS_C, SECONDS_PER_DAY
from xh2cm.humidity import vpd_from_vapour_pressure
from xh2cm.io.clean import MAX_FILL, clean_daily

#: Half-hours per day.
PER_DAY = 48
#: Variables summed per day; all others are averaged.
SUMMED = ("prec",)


def latent_heat(tc: xr.DataArray) -> xr.DataArray:
    """Latent heat of vaporisation (MJ kg-1) at ``tc`` degC: 2.501 − 0.002361 T."""
    return 2.501 - 0.002361 * tc


def to_daily(ds: xr.Dataset, *, min_coverage: float = 0.75, max_qc: int | None = 2,
             partial: Literal["drop", "keep"] = "drop", clean: bool = True,
             era5: xr.Dataset | None = None, max_fill: float = MAX_FILL,
             fallback: str = "mask") -> xr.Dataset:
    """Daily dataset from the half-hourly one of :func:`xh2cm.io.fluxtower.read_site`.

    Parameters
    ----------
    ds : xarray.Dataset
        Half-hourly data on ``(site, time)`` (time = end of each half-hour).
    min_coverage : float
        Share of a day's 48 half-hours that must be valid for the day's value.
    max_qc : int or None
        Half-hours whose quality flag (``<name>_qc``) exceeds this are missing; None
        keeps every gap-filled value.
    partial : {"drop", "keep"}
        A first or last day with fewer than ``min_coverage`` of its 48 half-hours in the
        file is dropped (and named in ``partial_days_dropped``), or kept (as NaN).
    clean : bool
        Replace or mask days of straight-line fill (:func:`xh2cm.io.clean.clean_daily`).
    era5 : xarray.Dataset, optional
        The site's ONEFlux ERA5 daily weather (``read_fluxnet(".../..._ERA5_DD_...csv")``)
        that replaces days of fill; without it those days are NaN (and a warning counts
        them).
    max_fill : float
        Largest share of a day's half-hours that may be fill.
    fallback : {"mask", "interpolate"}
        Days of fill without an ERA5 value: NaN, or interpolated in time (flagged).

    Returns
    -------
    xarray.Dataset
        Daily values (time = the day, 00:00), with ``units`` per day where summed, the
        model's ``vpd``, ``et``, ``nee`` and ``<flux>_measured_fraction``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> t = pd.date_range("2020-01-01 00:30", periods=96, freq="30min")
    >>> hh = xr.Dataset({"prec": ("time", np.full(96, 0.1), {"units": "mm"})},
    ...                 coords={"time": t})
    >>> to_daily(hh).prec.values.round(6).tolist()
    [4.8, 4.8]
    """
    if not 0 < min_coverage <= 1:
        raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage}")
    if partial not in ("drop", "keep"):
        raise ValueError(f"partial must be 'drop' or 'keep', got {partial!r}")
    flagged = {str(n)[:-3] for n, v in ds.data_vars.items()
               if str(n).endswith("_qc") and "flag_values" in v.attrs}
    if max_qc is not None and flagged:
        ds = ds.assign({n: ds[n].where(~(ds[f"{n}_qc"] > max_qc)) for n in flagged
                        if n in ds})
    start = ds["time"] - np.timedelta64(30, "m")
    day = start.dt.floor("D")
    shifted = ds.assign_coords(time=day.values)
    out = {}
    for name, da in shifted.data_vars.items():
        if "time" not in da.dims:
            out[name] = da
            continue
        if str(name).endswith("_measured"):
            frac = da.astype(float).groupby("time").sum() / PER_DAY
            rule = {"fill_rule": da.attrs["fill_rule"]} if "fill_rule" in da.attrs else {}
            out[f"{name}_fraction"] = frac.assign_attrs(
                units="1", long_name=f"share of the day's half-hours measured ({name})",
                **rule)
            continue
        if str(name)[:-3] in flagged and str(name).endswith("_qc"):
            good = (da <= 1).astype(float).groupby("time").sum() / PER_DAY
            out[str(name)] = good.assign_attrs(
                units="1", long_name=f"share of the day's half-hours measured or good-quality "
                f"gap-filled ({str(name)[:-3]})", source=da.attrs.get("source", ""))
            continue
        ok = da.notnull().groupby("time").sum() >= min_coverage * PER_DAY
        if name in SUMMED:
            val = da.groupby("time").mean() * PER_DAY  # mean of valid half-hours x 48
            attrs = {**da.attrs, "units": f"{da.attrs.get('units', 'mm')} d-1",
                     "cell_methods": "time: sum"}
        else:
            val = da.groupby("time").mean()
            attrs = {**da.attrs, "cell_methods": "time: mean"}
        out[name] = val.where(ok).assign_attrs(attrs)
    daily = _model_variables(xr.Dataset(
        out, attrs={**ds.attrs, "title": ds.attrs.get("title", "") + " (daily)"}))
    if partial == "drop":
        daily = _drop_partial_edges(daily, day, min_coverage)
    return clean_daily(daily, era5, max_fill=max_fill, fallback=fallback) if clean else daily


def _model_variables(daily: xr.Dataset) -> xr.Dataset:
    """``daily`` with the model's ``vpd``, ``et`` and ``nee`` added where it has their
    sources."""
    if "tair" in daily and "eair" in daily:
        daily["vpd"] = vpd_from_vapour_pressure(daily.tair, 10.0 * daily.eair).assign_attrs(
            units="hPa", long_name="vapour pressure deficit",
            standard_name="water_vapor_saturation_deficit_in_air",
            comment="es(T) - e, Bolton (1980), from daily means")
    if "le" in daily and "tair" in daily:
        daily["et"] = (daily.le * SECONDS_PER_DAY / (latent_heat(daily.tair) * 1e6)
                       ).assign_attrs(units="mm d-1", long_name="evapotranspiration from LE",
                                      comment="LE / lambda(T), lambda = 2.501 - 0.002361 T")
    if "nee_umol" in daily:
        daily["nee"] = (daily.nee_umol * MOLAR_MASS_C * 1e-6 * SECONDS_PER_DAY).assign_attrs(
            units="g m-2 d-1", long_name="net ecosystem exchange as carbon (positive = "
            "source)")
    daily["time"].attrs = {"long_name": "day (half-hours starting that day)"}
    return daily


def _drop_partial_edges(daily: xr.Dataset, day: xr.DataArray,
                        min_coverage: float) -> xr.Dataset:
    """``daily`` without a first or last day that has fewer than ``min_coverage`` of its
    48 half-hours in the file."""
    stamps = day.groupby(day).count()
    counts = dict(zip(stamps[stamps.dims[0]].values, stamps.values.tolist(), strict=True))
    edges = {daily.time.values[0], daily.time.values[-1]}
    short = sorted(t for t in edges if counts.get(t, PER_DAY) < min_coverage * PER_DAY)
    if not short:
        return daily
    out = daily.drop_sel(time=short)
    out.attrs["partial_days_dropped"] = ", ".join(
        f"{str(t)[:10]} ({counts[t]} of {PER_DAY} half-hours)" for t in short)
    return out


def measured_days(daily: xr.Dataset, name: str, min_fraction: float = 0.5) -> xr.DataArray:
    """Days whose ``name`` flux was measured (not gap-filled) for at least ``min_fraction``
    of the half-hours: the mask to score on measured data only.

    Uses ``<name>_measured_fraction`` (from :func:`to_daily`) or, in a daily FLUXNET file
    (:func:`xh2cm.io.fluxnet.read_fluxnet`), ``<name>_qc``: the share of measured or
    good-quality gap-filled records.
    """
    for key in (f"{name}_measured_fraction", f"{name}_qc"):
        if key in daily and "flag_values" not in daily[key].attrs:
            return daily[key] >= min_fraction
    raise KeyError(f"no measured share of {name!r}: expected {name}_measured_fraction "
                   f"(xh2cm.io.to_daily) or a daily {name}_qc (xh2cm.io.read_fluxnet)")


#: Site static predictors: ``name -> (daily variable, statistic, units, long name)``.
SITE_STATIC = {
    "lai_mean": ("lai", "mean", "1", "mean leaf area index (climatology)"),
    "lai_amplitude": ("lai", "amplitude", "1", "seasonal amplitude of leaf area index "
                      "(max - min of the mean seasonal cycle)"),
    "veg_height": ("veg_height", "mean", "m", "mean vegetation height"),
    "swc_mean": ("swc", "mean", "m3 m-3", "mean soil water content"),
    "swc_std": ("swc", "std", "m3 m-3", "standard deviation of daily soil water content"),
}


def site_static(daily: xr.Dataset) -> xr.Dataset:
    """Static predictors of each site from its daily data (:data:`SITE_STATIC`): LAI
    climatology (mean and seasonal amplitude of the mean cycle by month), vegetation
    height, soil water statistics; those the data have (an empty Dataset: none).

    Compute them on the training period only, and pass them to the model by adding them
    to the forcing Dataset and naming them in ``static=``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> t = pd.date_range("2020-01-01", periods=366)
    >>> lai = 1 + np.sin(2 * np.pi * np.arange(366) / 366)
    >>> d = xr.Dataset({"lai": (("site", "time"), lai[None])},
    ...                coords={"time": t, "site": ["X"]})
    >>> s = site_static(d)
    >>> list(s.data_vars), round(float(s.lai_mean[0]), 2)
    (['lai_mean', 'lai_amplitude'], 1.0)
    """
    out = {}
    for name, (var, stat, units, long_name) in SITE_STATIC.items():
        if var not in daily:
            continue
        da = daily[var]
        if stat == "mean":
            val = da.mean("time")
        elif stat == "std":
            val = da.std("time")
        else:
            cycle = da.groupby("time.month").mean()
            val = cycle.max("month") - cycle.min("month")
        out[name] = val.assign_attrs(units=units, long_name=long_name,
                                     source=f"{var}: time {stat}")
    return xr.Dataset(out)
