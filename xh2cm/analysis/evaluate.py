"""Evaluation of a run (or any dataset) against observations: skill scores per cell and
per region, on the full series, the mean seasonal cycle and the anomalies.

For every variable found in both datasets (by the discovery rules of
:mod:`xh2cm.analysis.variables`, units converted), values are paired where both
are finite and scored with NSE, KGE (and its r, α, β), Pearson r, RMSE and bias
(:mod:`xh2cm.analysis.np_scores`):

- ``full``: the series at ``freq`` (``"D"`` daily, ``"MS"`` monthly means);
- ``msc``: the 12-month mean seasonal cycle of the monthly means, plus the phase
  error (months from the observed to the simulated peak, circular, in −6 … 6)
  and the amplitude ratio (simulated / observed max − min);
- ``iav``: monthly anomalies from each dataset's own mean seasonal cycle.

Rules that keep the numbers meaningful:

- observations are put on the run's grid by the one grid rule of
  :mod:`xh2cm.cf.grid` (0…360 or −180…180 longitudes, either latitude order,
  coordinates equal within 1/100 of the grid spacing; another resolution refused or
  ``regrid="conservative"``); the result says how many cells and values were
  matched (``matched_cells``, ``matched_values`` on ``variable``); nothing paired
  is an error;
- a variable observed as an anomaly (TWS from GRACE:
  :data:`xh2cm.catalog.OBSERVED_AS_ANOMALY`, or of kind ``anomaly`` in
  :data:`xh2cm.catalog.QUANTITY`) is compared as anomalies on both sides: each
  series minus its mean over the paired time steps (as ``fit`` does);
- KGE and β divide by the observed mean: where it is near zero
  (``|mean| < KGE_MIN_MEAN · std`` of the observations, always for anomalies)
  they are NaN, the reason in the ``kge`` attribute ``nan_where``; r, RMSE and
  NSE are given for every component.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm import catalog
from xh2cm.analysis import np_scores
from xh2cm.analysis.regions import RegionsArg, regional_means
from xh2cm.analysis.variables import ANALYSIS_VARIABLES, get, merge_attrs, time_step
from xh2cm.cf.grid import Regrid, is_latitude, is_longitude, to_grid

SCORES = ("nse", "kge", "r", "alpha", "beta", "rmse", "bias", "n")
COMPONENTS = ("full", "msc", "iav")
#: KGE and β only where ``|mean(obs)| >= KGE_MIN_MEAN * std(obs)``: below it β =
#: mean(sim) / mean(obs) is dominated by noise (an anomaly's mean is 0).
KGE_MIN_MEAN = 0.5
KGE_NAN_WHERE = (f"NaN (with beta) for anomalies (the iav component, and variables compared as "
                 f"anomalies) and wherever |mean(obs)| < {KGE_MIN_MEAN:g} std(obs): beta = "
                 "mean(sim) / mean(obs) is then undefined or dominated by noise")
_SCORE_ATTRS = {
    "nse": ("1", "Nash-Sutcliffe efficiency"),
    "kge": ("1", "Kling-Gupta efficiency"),
    "r": ("1", "Pearson correlation"),
    "alpha": ("1", "ratio of standard deviations (simulated / observed)"),
    "beta": ("1", "ratio of means (simulated / observed)"),
    "rmse": ("see units", "root-mean-square error"),
    "bias": ("see units", "mean error (simulated - observed)"),
    "n": ("1", "number of paired values"),
    "phase_error": ("month", "months from the observed to the simulated seasonal peak"),
    "amplitude_ratio": ("1", "seasonal amplitude ratio (simulated / observed)"),
}


def kge_scores(s: np.ndarray, o: np.ndarray, anomaly: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(kge, r, alpha, beta)`` of :func:`xh2cm.analysis.np_scores.kge` (time last), KGE
    and β NaN for anomalies and where the observed mean is near zero
    (:data:`KGE_NAN_WHERE`); also site mode's rule (:func:`xh2cm.site.score_table`).

    Examples
    --------
    >>> o = np.array([1.0, -1.0, 1.0, -1.2])
    >>> k, r, a, b = kge_scores(o * 1.1, o)
    >>> bool(np.isnan(k)), round(float(r), 6)
    (True, 1.0)
    """
    k, r, a, b = np_scores.kge(s, o)
    near_zero = anomaly | ~(np_scores.relative_mean(s, o) >= KGE_MIN_MEAN)
    return np.where(near_zero, np.nan, k), r, a, np.where(near_zero, np.nan, b)


def _scores(s: np.ndarray, o: np.ndarray, anomaly: bool = False) -> np.ndarray:
    k, r, a, b = kge_scores(s, o, anomaly)
    return np.stack([np_scores.nse(s, o), k, r, a, b, np_scores.rmse(s, o),
                     np_scores.bias(s, o), np_scores.count(s, o).astype(float)], -1)


def _seasonal(s: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Phase error (months) and amplitude ratio of two 12-month cycles (last axis)."""
    ok = np.isfinite(s).all(-1) & np.isfinite(o).all(-1)
    s0, o0 = np.nan_to_num(s), np.nan_to_num(o)
    d = (np.argmax(s0, -1) - np.argmax(o0, -1) + 6) % 12 - 6
    with np.errstate(invalid="ignore", divide="ignore"):
        amp = np.ptp(s0, -1) / np.ptp(o0, -1)
    return np.stack([np.where(ok, d, np.nan), np.where(ok, amp, np.nan)], -1)


def _apply(f: Callable[..., np.ndarray], s: xr.DataArray, o: xr.DataArray, dim: str,
           n: int) -> xr.DataArray:
    return xr.apply_ufunc(f, s, o, input_core_dims=[[dim], [dim]], output_core_dims=[["k"]],
                          dask="parallelized", output_dtypes=[float],
                          dask_gufunc_kwargs={"output_sizes": {"k": n}, "allow_rechunk": True})


def _monthly(da: xr.DataArray) -> xr.DataArray:
    """Monthly means stamped at the month's start (mid-month stamps of a monthly product
    and a run's daily values meet on the same time steps)."""
    return da.resample(time="MS").mean()


def _components(s: xr.DataArray, o: xr.DataArray, freq: str, anomaly: bool) -> xr.DataArray:
    """``(component, ..., k)``: scores of the three components, then phase/amplitude."""
    both = s.notnull() & o.notnull()
    s, o = s.where(both), o.where(both)
    if anomaly:  # both as anomalies from their mean over the paired steps (as fit does)
        s, o = s - s.mean("time"), o - o.mean("time")
    full_s, full_o = (s, o) if freq == "D" else (_monthly(s), _monthly(o))
    ms, mo = _monthly(s), _monthly(o)
    cs, co = ms.groupby("time.month").mean("time"), mo.groupby("time.month").mean("time")
    cs, co = cs.reindex(month=np.arange(1, 13)), co.reindex(month=np.arange(1, 13))
    a_s = (ms.groupby("time.month") - cs).drop_vars("month", errors="ignore")
    a_o = (mo.groupby("time.month") - co).drop_vars("month", errors="ignore")
    seasonal = _apply(_seasonal, cs, co, "month", 2)
    nanpair = xr.full_like(seasonal, np.nan)
    scores, scores_anomaly = partial(_scores, anomaly=anomaly), partial(_scores, anomaly=True)
    parts = [
        xr.concat([_apply(scores, full_s, full_o, "time", 8), nanpair], "k"),
        xr.concat([_apply(scores, cs, co, "month", 8), seasonal], "k"),
        xr.concat([_apply(scores_anomaly, a_s, a_o, "time", 8), nanpair], "k"),
    ]
    return xr.concat(parts, dim="component").assign_coords(component=list(COMPONENTS))


def _paired_dims(s: xr.DataArray, o: xr.DataArray) -> list[Hashable]:
    """The run's dims the grid rule matches: its latitude and longitude, and every other
    dim (but time) that the observations have too (e.g. not an ensemble ``member``)."""
    return [d for d in s.dims if d != "time" and (
        d in o.dims or (d in s.coords and (is_latitude(s[d]) or is_longitude(s[d]))))]


def compared_as_anomaly(name: str) -> bool:
    """Whether variable ``name`` is compared as anomalies: observed as one
    (:data:`xh2cm.catalog.OBSERVED_AS_ANOMALY`) or of kind ``anomaly``
    (:data:`xh2cm.catalog.QUANTITY`)."""
    return name in catalog.OBSERVED_AS_ANOMALY or catalog.QUANTITY.get(name) == "anomaly"


def evaluate(
    sim: xr.Dataset,
    obs: xr.Dataset,
    *,
    by: Literal["region"] | None = None,
    freq: Literal["D", "MS"] = "MS",
    variables: Sequence[str] | None = None,
    regions: RegionsArg = "srex",
    names: Mapping[str, str] | None = None,
    obs_names: Mapping[str, str] | None = None,
    regrid: Regrid = None,
) -> xr.Dataset | pd.DataFrame:
    """Score ``sim`` against ``obs`` for every variable both have.

    NSE after Nash and Sutcliffe (1970, J. Hydrol. 10, 282–290), KGE and its
    decomposition after Gupta et al. (2009, J. Hydrol. 377, 80–91); the split into
    seasonal cycle and anomalies follows the evaluation of Jung et al. (2020,
    Biogeosciences 17, 1343–1365).

    Parameters
    ----------
    sim : xarray.Dataset
        Model output (or any dataset to be scored).
    obs : xarray.Dataset
        Observations on the same grid (their own date range; only shared times
        count).
    by : {None, "region"}
        None: maps per cell (a Dataset); ``"region"``: scores of area-weighted
        regional means (and ``global``) as a tidy :class:`pandas.DataFrame`.
    freq : {"D", "MS"}
        Resolution of the ``full`` component; ``"D"`` needs daily data on both
        sides.
    variables : sequence of str, optional
        Variables to score (default: every analysis variable found in both).
    regions : str, regionmask.Regions or DataArray
        Region set for ``by="region"`` (offline default ``"srex"``).
    names, obs_names : mapping, optional
        Explicit variable names in ``sim`` and ``obs``.
    regrid : {None, "conservative"}
        Observations on another resolution: refused (default) or regridded
        conservatively onto the run's grid (:mod:`xh2cm.cf.grid`).

    Returns
    -------
    xarray.Dataset or pandas.DataFrame
        Dataset: scores (:data:`SCORES`, ``phase_error``, ``amplitude_ratio``) on
        ``(variable, component, *spatial)``; RMSE and bias are in the units given
        by the ``units`` coordinate of ``variable``; ``matched_cells`` and
        ``matched_values`` (coordinates on ``variable``) count the cells with
        observations on the run's grid and the values paired in time (daily or
        monthly); ``compared_as`` says ``"anomaly"`` or ``"value"``. DataFrame: one
        row per variable, region and component, the counts in ``df.attrs["matched"]``.

    Raises
    ------
    KeyError
        If no variable is found in both, or a requested one is missing.
    ValueError
        For ``freq="D"`` with monthly data, observations on another grid (see
        :mod:`xh2cm.cf.grid`), or no value paired in time and space.
    """
    wanted = list(variables) if variables is not None else list(ANALYSIS_VARIABLES)
    pairs: dict[str, tuple[xr.DataArray, xr.DataArray]] = {}
    for name in wanted:
        try:
            s = get(sim, name, names=names, needed_by="evaluate()")
            o = get(obs, name, names=obs_names, needed_by="evaluate() (observations)")
        except KeyError:
            if variables is not None:
                raise
            continue
        pairs[name] = (s, o)
    if not pairs:
        raise KeyError("evaluate() found no variable in both the run and the observations "
                       f"(run: {[str(v) for v in sim.data_vars]}, observations: "
                       f"{[str(v) for v in obs.data_vars]}); pass variables= and obs_names=")
    results, matched = [], {}
    for name, (s, o) in pairs.items():
        space = _paired_dims(s, o)
        o = to_grid(o, s, label=f"observed {name!r}", regrid=regrid, dims=space)
        if freq == "D":
            for what, da in (("run", s), ("observations", o)):
                if time_step(da) != "daily":
                    raise ValueError(f"evaluate(freq='D'): the {what}' {name!r} is "
                                     f"{time_step(da)}; use freq='MS'")
        elif time_step(o) == "monthly" or time_step(s) == "monthly":
            s, o = _monthly(s), _monthly(o)
        s, o = xr.align(s, o, join="inner")
        if s.sizes.get("time", 0) < 2:
            raise ValueError(f"evaluate(): the run and the observations of {name!r} share "
                             "fewer than two time steps; check their date ranges")
        paired = s.notnull() & o.notnull()
        n_values = int(paired.sum())
        if n_values == 0:
            raise ValueError(f"evaluate(): no value of {name!r} is finite in both the run and "
                             f"the observations on {o.attrs['matched_cells']} matched cell(s) "
                             f"and {s.sizes['time']} shared time step(s); check where each "
                             "has data")
        matched[name] = (int(paired.any([d for d in paired.dims if d not in space]).sum()),
                         n_values)
        if by == "region":
            s, o = regional_means(s, regions), regional_means(o, regions)
        results.append(_components(s, o, freq, compared_as_anomaly(name))
                       .expand_dims(variable=[name]))
    res = xr.concat(results, dim="variable")
    keys = [*SCORES, "phase_error", "amplitude_ratio"]
    units = [ANALYSIS_VARIABLES[v][0] for v in pairs]
    out = xr.Dataset({k: merge_attrs(res.isel(k=i), *_SCORE_ATTRS[k])
                      for i, k in enumerate(keys)})
    out = out.assign_coords(
        units=("variable", units),
        matched_cells=("variable", [matched[v][0] for v in pairs],
                       {"long_name": "cells with values paired in both"}),
        matched_values=("variable", [matched[v][1] for v in pairs],
                        {"long_name": "values paired in both (at the shared time step)"}),
        compared_as=("variable", ["anomaly" if compared_as_anomaly(v) else "value"
                                  for v in pairs]))
    out["kge"].attrs["nan_where"] = out["beta"].attrs["nan_where"] = KGE_NAN_WHERE
    out.attrs = {"title": "xh2cm evaluation", "freq": freq}
    if by is None:
        return out
    if by != "region":
        raise ValueError(f"by={by!r}; use None (per cell) or 'region'")
    df = out.drop_vars(["matched_cells", "matched_values", "compared_as"]).to_dataframe()
    df = df.reset_index()
    cols = ["variable", "region", "component", *keys, "units"]
    df = df[[c for c in cols if c in df.columns]]
    df.attrs = {"matched": {v: {"cells": c, "values": n} for v, (c, n) in matched.items()},
                "kge": KGE_NAN_WHERE}
    return df
