"""Rain-pulse respiration (the Birch effect, Birch 1958; Jarvis et al. 2007) per cell.

After a dry spell, the first rain releases a burst of CO2 from soils. Events
are the first wet day of rain that follows a dry spell (defaults: at least
``dry_days=14`` days below ``dry_threshold=1`` mm d-1, then at least
``event_total=5`` mm within ``event_days=2`` days); respiration (Rh, and TER
when present) is composited over ``window=(-7, 14)`` days around each event,
relative to the event's own mean over the ``baseline=(-7, -1)`` days before it.
The kernel (:mod:`xh2cm.analysis.np_pulse`) is vectorised over cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from xh2cm.analysis.np_pulse import rain_pulse_composite
from xh2cm.analysis.variables import forcing_matches, get, merge_attrs, require_daily
from xh2cm.constants import LATENT_HEAT_MJ_KG, SECONDS_PER_DAY


def aridity_index(prec: xr.DataArray, rn: xr.DataArray) -> xr.DataArray:
    """``P / PET_rad``: mean precipitation over the radiative potential evaporation
    ``max(Rn, 0) · 0.0864 / 2.45`` (mm d-1; Budyko's energy limit). Below 0.65: dry
    (semi-arid to hyper-arid, UNEP 1997 classes on this scale)."""
    pet = (rn.clip(min=0) * SECONDS_PER_DAY / 1e6 / LATENT_HEAT_MJ_KG).mean("time")
    return merge_attrs(prec.mean("time") / pet, "1",
                       "aridity index (precipitation / radiative potential evaporation)")


def rain_pulse(
    ds: xr.Dataset,
    fluxes: Sequence[str] | None = None,
    *,
    forcing: xr.Dataset | None = None,
    dry_days: int = 14,
    dry_threshold: float = 1.0,
    event_total: float = 5.0,
    event_days: int = 2,
    window: tuple[int, int] = (-7, 14),
    baseline: tuple[int, int] = (-7, -1),
    max_aridity: float | None = None,
    max_annual_prec: float | None = None,
    names: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """Composite respiration response to rain after dry spells, per cell.

    The Birch effect (Birch 1958, Plant Soil 10, 9–31; Jarvis et al. 2007, Tree
    Physiol. 27, 929–940): see the module docstring for the event definition.

    Parameters
    ----------
    ds : xarray.Dataset
        Daily ``rh`` (and ``ter``) and precipitation (or in ``forcing``).
    fluxes : sequence of str, optional
        Respiration fluxes to composite; default: ``rh`` and ``ter`` where present.
    forcing : xarray.Dataset, optional
        Where to find precipitation (and net radiation for ``max_aridity``).
    dry_days, dry_threshold, event_total, event_days, window, baseline
        Event definition and composite window (see the module docstring).
    max_aridity : float, optional
        Restrict to dry cells: aridity index (:func:`aridity_index`) at most this
        (e.g. 0.65); needs net radiation.
    max_annual_prec : float, optional
        Restrict to cells with mean annual precipitation at most this (mm yr-1).
    names : mapping, optional
        Explicit variable names.

    Returns
    -------
    xarray.Dataset
        Per cell: ``n_events``; and for each flux ``f``: ``f_composite`` and
        ``f_spread`` (mean and standard deviation over events of the flux minus the
        event's baseline, on ``lag`` in days), ``f_baseline`` (mean pre-event flux),
        ``f_peak`` (largest composite value from day 0), ``f_extra`` (composite
        integrated from day 0 to the window's end, gC m-2: the extra efflux) and
        ``f_ratio`` (``(baseline + peak) / baseline``). NaN where a cell has no
        event or is excluded. With a variable from ``forcing=``, the attributes say what
        was matched (:func:`~xh2cm.analysis.variables.forcing_matches`).

    Raises
    ------
    KeyError, ValueError
        For a missing variable or data that are not daily.
    """
    prec = get(ds, "prec", forcing=forcing, names=names, needed_by="rain_pulse()")
    require_daily(prec, "rain_pulse()")
    if fluxes is None:
        found = {}
        for n in ("rh", "ter"):
            try:
                found[n] = get(ds, n, forcing=forcing, names=names, needed_by="rain_pulse()")
            except KeyError:
                continue
        if not found:
            get(ds, "rh", forcing=forcing, names=names, needed_by="rain_pulse()")  # raises
    else:
        found = {n: get(ds, n, forcing=forcing, names=names, needed_by="rain_pulse()")
                 for n in fluxes}
    keep = xr.ones_like(prec.isel(time=0, drop=True), dtype=bool)
    used = [prec, *found.values()]
    if max_aridity is not None:
        rn = get(ds, "rn", forcing=forcing, names=names, needed_by="rain_pulse(max_aridity=)")
        keep = keep & (aridity_index(prec, rn) <= max_aridity)
        used.append(rn)
    if max_annual_prec is not None:
        keep = keep & (prec.mean("time") * 365.25 <= max_annual_prec)
    lags = np.arange(window[0], window[1] + 1)
    kw = {"dry_days": dry_days, "dry_threshold": dry_threshold, "event_total": event_total,
          "event_days": event_days, "window": tuple(window), "baseline": tuple(baseline)}

    def kernel(p: np.ndarray, f: np.ndarray) -> np.ndarray:
        p, f = np.broadcast_arrays(p, f)  # e.g. one precipitation for every ensemble member
        r = rain_pulse_composite(p, f, dry_days=dry_days, dry_threshold=dry_threshold,
                                 event_total=event_total, event_days=event_days,
                                 window=window, baseline=baseline)
        scalars = np.stack([r["n_events"].astype(float), r["baseline"]], -1)
        return np.concatenate([r["composite"], r["spread"], scalars], -1)

    out = xr.Dataset()
    nl = lags.size
    for name, flux in found.items():
        require_daily(flux, "rain_pulse()")
        res = xr.apply_ufunc(
            kernel, prec, flux, input_core_dims=[["time"], ["time"]],
            output_core_dims=[["k"]], dask="parallelized", output_dtypes=[float],
            dask_gufunc_kwargs={"output_sizes": {"k": 2 * nl + 2}, "allow_rechunk": True})
        res = res.where(keep)
        comp = res.isel(k=slice(0, nl)).rename(k="lag").assign_coords(lag=lags)
        spread = res.isel(k=slice(nl, 2 * nl)).rename(k="lag").assign_coords(lag=lags)
        after = comp.sel(lag=comp.lag >= 0)
        base = res.isel(k=2 * nl + 1)
        peak = after.max("lag")
        units = flux.attrs.get("units", "g m-2 d-1")
        long = flux.attrs.get("long_name", name)
        out["n_events"] = merge_attrs(res.isel(k=2 * nl).fillna(0).where(keep), "1",
                                      "number of rain events after a dry spell")
        out[f"{name}_composite"] = merge_attrs(comp, units,
                                               f"{long} after rain, minus pre-event baseline",
                                               "time: mean over events")
        out[f"{name}_spread"] = merge_attrs(spread, units, f"spread over events of {long}",
                                            "time: standard_deviation over events")
        out[f"{name}_baseline"] = merge_attrs(base, units, f"pre-event {long}")
        out[f"{name}_peak"] = merge_attrs(peak, units, f"peak extra {long} after rain")
        out[f"{name}_extra"] = merge_attrs(after.sum("lag", min_count=1), "g m-2",
                                           f"extra {long} integrated over the window "
                                           "after rain", "time: sum")
        out[f"{name}_ratio"] = merge_attrs((base + peak) / base, "1",
                                           f"peak {long} after rain / pre-event baseline")
    out["lag"].attrs = {"units": "d", "long_name": "days since the first wet day"}
    out.attrs = {"title": "xh2cm rain-pulse composite (Birch effect)",
                 **{k: str(v) for k, v in kw.items()}, **forcing_matches(ds, used)}
    return out
