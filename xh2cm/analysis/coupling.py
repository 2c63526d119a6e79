"""Water–carbon coupling: how strongly carbon-flux anomalies follow water anomalies.

Per cell (maps) or for area-weighted regional / global means (the
inversion-scale signal, e.g. NEE IAV against TWS IAV), the correlation,
regression slope and its p-value between the anomalies of each carbon and
each water variable, at several lags (water leading). Anomalies: values
aggregated to ``freq`` means, minus the mean seasonal cycle (monthly data) or
the time mean (coarser), optionally linearly detrended. See Humphrey et al.
(2018, Nature 560, 628–631) for TWS–CO2 growth-rate coupling and Jung et al.
(2017, Nature 541, 516–520) for the scale dependence of water–carbon links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import xarray as xr

from xh2cm.analysis import np_scores
from xh2cm.analysis.regions import RegionsArg, regional_means
from xh2cm.analysis.variables import (
    ANALYSIS_VARIABLES,
    forcing_matches,
    get,
    merge_attrs,
    time_step,
)

CARBON = ("gpp", "nee", "ter")
WATER = ("sm", "tws", "et", "prec")


def anomalies(da: xr.DataArray, freq: str = "MS", detrend: bool = False) -> xr.DataArray:
    """``freq`` means of ``da`` minus their mean seasonal cycle (monthly) or time mean.

    Daily data are averaged to ``freq``; monthly data with ``freq="MS"`` are used as
    they are. ``detrend`` also removes a linear trend per cell (least squares).
    """
    if not (freq == "MS" and time_step(da) == "monthly"):
        da = da.resample(time=freq).mean()
    if freq == "MS":
        anom = da.groupby("time.month") - da.groupby("time.month").mean("time")
        anom = anom.drop_vars("month", errors="ignore")
    else:
        anom = da - da.mean("time")
    if detrend:
        fit = anom.polyfit("time", 1, skipna=True)
        trend = xr.polyval(anom["time"], fit.polyfit_coefficients)
        anom = anom - trend
    return anom.rename(da.name)


def _stats(c: np.ndarray, w: np.ndarray, method: str) -> np.ndarray:
    """``(..., 4)``: r, slope, p-value, n of carbon ``c`` on water ``w`` (time last)."""
    r = (np_scores.pearson if method == "pearson" else np_scores.spearman)(c, w)
    n = np_scores.count(c, w).astype(float)
    return np.stack([r, np_scores.slope(c, w), np_scores.correlation_pvalue(r, n), n], -1)


def water_carbon_coupling(
    ds: xr.Dataset,
    carbon: Sequence[str] | None = None,
    water: Sequence[str] | None = None,
    *,
    forcing: xr.Dataset | None = None,
    freq: str = "MS",
    lags: Sequence[int] = (0, 1, 2),
    method: Literal["pearson", "spearman"] = "pearson",
    detrend: bool = False,
    scale: Literal["cell", "global"] | RegionsArg = "cell",
    names: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """Correlation, slope and p-value of carbon anomalies on water anomalies.

    The per-cell and inversion-scale couplings of Humphrey et al. (2018, Nature 560,
    628–631) and Jung et al. (2017, Nature 541, 516–520); p-values from the t
    distribution of r with n − 2 degrees of freedom (serial correlation of monthly
    anomalies makes them optimistic; detrend or use ``freq="YS"`` for IAV).

    Parameters
    ----------
    ds : xarray.Dataset
        Model output or observations (daily or monthly).
    carbon : sequence of str, optional
        Carbon variables; default: those of ``("gpp", "nee", "ter")`` found.
    water : sequence of str, optional
        Water variables; default: those of ``("sm", "tws", "et", "prec")`` found (in
        ``ds`` or ``forcing``).
    forcing : xarray.Dataset, optional
        Where to find precipitation (model output lacks it).
    freq : str
        Aggregation of the anomalies (``"MS"`` monthly, ``"YS"`` annual: the IAV).
    lags : sequence of int
        Lags in ``freq`` steps; at lag L the carbon anomaly at t is paired with the
        water anomaly at t − L (water leads).
    method : {"pearson", "spearman"}
    detrend : bool
        Remove a linear trend from every anomaly series first.
    scale : {"cell", "global"}, region-set name, regionmask.Regions or DataArray
        ``"cell"``: maps; otherwise area-weighted mean anomalies per region plus
        ``global`` (on a ``region`` dim).
    names : mapping, optional
        Explicit variable names.

    Returns
    -------
    xarray.Dataset
        ``r``, ``slope``, ``pvalue``, ``n`` on ``(carbon, water, lag, ...)``; the
        slope's units per pair are in the ``slope_units`` coordinate
        ``(carbon, water)`` (carbon units per water unit); with a variable from
        ``forcing=``, the attributes say what was matched
        (:func:`~xh2cm.analysis.variables.forcing_matches`).

    Raises
    ------
    KeyError
        If a requested variable is missing, or no default one is found.
    """
    def find(wanted: Sequence[str] | None, default: Sequence[str], what: str
             ) -> dict[str, xr.DataArray]:
        out = {}
        for n in (default if wanted is None else wanted):
            try:
                out[n] = get(ds, n, forcing=forcing, names=names,
                             needed_by="water_carbon_coupling()")
            except KeyError:
                if wanted is not None:
                    raise
        if not out:
            raise KeyError(f"water_carbon_coupling() found no {what} variable among "
                           f"{list(default)} in the dataset (or forcing=); pass {what}=[...]")
        return out

    cvars = find(carbon, CARBON, "carbon")
    wvars = find(water, WATER, "water")
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method={method!r}; use 'pearson' or 'spearman'")
    canom = {k: anomalies(v, freq, detrend) for k, v in cvars.items()}
    wanom = {k: anomalies(v, freq, detrend) for k, v in wvars.items()}
    if not (isinstance(scale, str) and scale == "cell"):
        regions = None if isinstance(scale, str) and scale == "global" else scale
        canom = {k: regional_means(v, regions) for k, v in canom.items()}
        wanom = {k: regional_means(v, regions) for k, v in wanom.items()}
    rows = []
    for c in canom.values():
        cols = []
        for w in wanom.values():
            per_lag = []
            for lag in lags:
                ws = w.shift(time=int(lag))
                per_lag.append(xr.apply_ufunc(
                    _stats, c, ws, kwargs={"method": method},
                    input_core_dims=[["time"], ["time"]], output_core_dims=[["stat"]],
                    dask="parallelized", output_dtypes=[float],
                    dask_gufunc_kwargs={"output_sizes": {"stat": 4}, "allow_rechunk": True}))
            cols.append(xr.concat(per_lag, dim="lag"))
        rows.append(xr.concat(cols, dim="water"))
    res = xr.concat(rows, dim="carbon").assign_coords(
        carbon=list(canom), water=list(wanom), lag=list(lags))
    units = [[f"({ANALYSIS_VARIABLES[c][0]}) ({ANALYSIS_VARIABLES[w][0]})-1" for w in wanom]
             for c in canom]
    label = f"{freq} anomalies" + (", detrended" if detrend else "")
    out = xr.Dataset({
        "r": merge_attrs(res.isel(stat=0), "1", f"{method} correlation of {label}"),
        "slope": merge_attrs(res.isel(stat=1), "see slope_units",
                             f"least-squares slope of carbon on water {label}"),
        "pvalue": merge_attrs(res.isel(stat=2), "1", "two-sided p-value of the correlation"),
        "n": merge_attrs(res.isel(stat=3), "1", "number of paired anomalies"),
    }).assign_coords(slope_units=(("carbon", "water"), np.array(units)))
    out["lag"].attrs = {"long_name": f"lag of carbon behind water ({freq} steps)"}
    out.attrs = {"title": "xh2cm water-carbon coupling", "method": method, "freq": freq,
                 **forcing_matches(ds, [*cvars.values(), *wvars.values()])}
    return out
