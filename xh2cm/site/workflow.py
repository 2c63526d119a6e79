"""The documented site-mode workflow, from a site's daily data to its score table.

:func:`site_workflow` does every step on the daily data of one tower
(:func:`xh2cm.io.to_daily`):

1. **split** the days into training and test at ``test_start`` and take a validation block
   at the end of the training period (:func:`split`: the last ``validation_months`` whole
   months unless ``validation_start`` is given);
2. **constraints**: daily ET and NEE, and, where the site has MODIS LAI, a monthly fAPAR
   constraint ``fAPAR = 1 − exp(−k·LAI)`` (:func:`fapar_from_lai`);
3. **hybrid**: the weight on ET (NEE gets ``1 − w``) swept with several seeds
   (:func:`xh2cm.site.tradeoff`), one weight chosen from the validation errors alone
   (:func:`xh2cm.site.select`);
4. **start from a filled soil**: every process-based run (hybrid and process model) is spun
   up on the *training* forcing cycled ``spinup`` times, runs through the training period
   and carries its state into the test period (:func:`carried_run`); the test forcing
   never takes part in a spin-up. The hybrid's soil capacity is bounded by rooting depth ×
   the observed soil-water range (:func:`capacity_bounds`), and an irrigated site is
   irrigated by a demand rule (``irrigation=``, :func:`xh2cm.core.physics.irrigation`);
5. **baselines** with the same split: the process model alone, the training climatology, a
   linear regression and a plain LSTM, each both with every input the site has (soil water
   content and LAI included) and with the hybrid's inputs only (:data:`HYBRID_INPUTS`);
6. **scores** of daily ET and NEE on the test period, on all days and on measured days
   (:func:`xh2cm.site.score_table`), per seed (:func:`summarise` averages them).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm.io import measured_days
from xh2cm.site.baselines import climatology, linear_regression, lstm, process_model, score_table
from xh2cm.site.carry import HYBRID_INPUTS, SPINUP
from xh2cm.site.tradeoff import WEIGHTS, select, tradeoff

#: Plausible effective rooting depth (m) of :func:`capacity_bounds`: 0.5 to 2 m covers the
#: root zone of crops, grasses and shrubs (Canadell et al. 1996, Oecologia 108, 583-595:
#: maximum rooting depth of crops 2.1 m; Schenk & Jackson 2002, J. Ecol. 90, 480-494: half
#: of the roots of most vegetation within 0.3-0.6 m).
ROOTING_DEPTH = (0.5, 2.0)
#: Soil-moisture fraction of capacity below which an irrigated site is irrigated
#: (:func:`xh2cm.core.physics.irrigation`): half the capacity, i.e. a management allowed
#: depletion of 50 %, FAO-56's typical value for field crops (Allen et al. 1998, table 22).
IRRIGATION_THRESHOLD = 0.5
#: Flux whose ``<name>_measured_fraction`` marks a measured day of each target.
MEASURED = {"et": "le", "nee": "nee_umol"}
#: Scores averaged over seeds by :func:`summarise`.
SCORES = ["nse", "kge", "r", "rmse", "bias"]


def find_era5(path: str | os.PathLike, site: str | None = None) -> Path | None:
    """The site's FLUXNET ERA5 daily file (``*_<SITE>_FLUXNET_ERA5_DD_*.csv``) beside a
    forcing file ``path`` or in a ``FLUXNET`` folder there; None where there is none.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "FLUXNET").mkdir()
    >>> _ = (d / "FLUXNET" / "AMF_US-Xyz_FLUXNET_ERA5_DD_1981-2021_3-5.csv").write_text("")
    >>> find_era5(d / "US-Xyz-forcings.csv").name
    'AMF_US-Xyz_FLUXNET_ERA5_DD_1981-2021_3-5.csv'
    >>> find_era5(d / "US-Abc-forcings.csv") is None
    True
    """
    path = Path(path)
    site = site or path.name.split("-forcings")[0]
    found = sorted(p for folder in (path.parent, path.parent / "FLUXNET")
                   for p in folder.glob(f"*{site}_FLUXNET_ERA5_DD_*.csv"))
    if len(found) > 1:
        raise ValueError(f"several ERA5 files for {site}: {[str(p) for p in found]}; pass "
                         "one with era5= (--era5)")
    return found[0] if found else None


def load_site(forcing: Sequence[str | os.PathLike], fluxes: Sequence[str | os.PathLike],
              site: str | None = None, *,
              era5: str | os.PathLike | xr.Dataset | None | Literal["auto"] = "auto",
              ) -> xr.Dataset:
    """Daily data of one site from its half-hourly forcing and flux files
    (:func:`xh2cm.io.read_site`, one pair per period, joined in time), aggregated and
    cleaned by :func:`xh2cm.io.to_daily`.

    Days of straight-line fill (or no value) in a forcing variable take the site's ERA5
    daily value: ``era5`` is its FLUXNET ``ERA5_DD`` file (or that file read by
    :func:`xh2cm.io.read_fluxnet`); ``"auto"`` looks for it beside the first forcing file
    (:func:`find_era5`). Without one those days are interpolated in time (flagged 3 in
    ``<name>_source``, counted in ``days_interpolated`` and warned). ``attrs["cleaned_with"]``
    says which was used. Leading and trailing days on which a forcing variable of the
    model (:data:`HYBRID_INPUTS`) is missing (a partial first or last day) are dropped; the
    first full day of each file pair is in ``attrs["period_starts"]``."""
    import warnings

    from xh2cm.io import read_fluxnet, read_site, to_daily

    if len(forcing) != len(fluxes) or not forcing:
        raise ValueError(f"give one flux file per forcing file: got {len(forcing)} forcing "
                         f"and {len(fluxes)} flux files")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # all-missing optional columns
        parts = [read_site(f, x, site) for f, x in zip(forcing, fluxes, strict=True)]
    names = sorted(set.intersection(*(set(map(str, p.data_vars)) for p in parts)))
    half_hourly = xr.concat([p[names] for p in parts], "time") if len(parts) > 1 else parts[0]
    if isinstance(era5, str) and era5 == "auto":
        name = str(np.atleast_1d(half_hourly["site"].values)[0]) if "site" in half_hourly \
            else site
        era5 = find_era5(forcing[0], name)
    source = "interpolation in time (no ERA5 file)"
    if era5 is not None and not isinstance(era5, xr.Dataset):
        source = f"ERA5 ({Path(era5).name})"
        era5 = read_fluxnet(era5)
    elif era5 is not None:
        source = f"ERA5 ({era5.attrs.get('source', 'given Dataset')})"
    daily = to_daily(half_hourly, era5=era5,
                     fallback="mask" if era5 is not None else "interpolate")
    daily.attrs["cleaned_with"] = source
    complete = np.ones(daily.sizes["time"], bool)
    for name in HYBRID_INPUTS:
        if name in daily:
            da = daily[name]
            complete &= da.notnull().all([d for d in da.dims if d != "time"]).values
    if not complete.any():
        raise ValueError(f"{forcing[0]}: no day has all of {HYBRID_INPUTS}")
    first, last = np.flatnonzero(complete)[[0, -1]]
    daily = daily.isel(time=slice(int(first), int(last) + 1))
    # first full day of each file pair (the default test start of ``python -m xh2cm site``)
    starts = [str((pd.Timestamp(p.time.values[0]) - pd.Timedelta(minutes=30)).ceil("D")
                  .date()) for p in parts]
    daily.attrs["period_starts"] = " ".join(starts)
    return daily


def split(daily: xr.Dataset, test_start: str, *, validation_start: str | None = None,
          validation_months: int = 6) -> tuple[xr.Dataset, xr.Dataset, str]:
    """``(train, test, validation_start)`` of a site's daily data.

    The validation block is the last ``validation_months`` whole calendar months of the
    training period unless ``validation_start`` is given.

    Raises
    ------
    ValueError
        Naming ``test_start`` or ``validation_start`` when it leaves no day on one side.

    Examples
    --------
    >>> import pandas as pd, xarray as xr
    >>> d = xr.Dataset(coords={"time": pd.date_range("2020-01-01", "2021-03-31")})
    >>> train, test, val = split(d, "2021-01-01", validation_months=3)
    >>> val, str(train.time.values[-1])[:10], test.sizes["time"]
    ('2020-10-01', '2020-12-31', 90)
    """
    times = pd.DatetimeIndex(daily["time"].values)
    start = pd.Timestamp(test_start)
    if not times[0] < start <= times[-1]:
        raise ValueError(f"test_start={test_start!r} is not inside the data "
                         f"({times[0].date()} .. {times[-1].date()}); pick a date that leaves "
                         "days before and after it")
    train = daily.sel(time=slice(None, start - pd.Timedelta(days=1)))
    test = daily.sel(time=slice(start, None))
    if validation_start is None:
        if validation_months < 1:
            raise ValueError(f"validation_months must be >= 1, got {validation_months}")
        after = pd.Timestamp(train.time.values[-1]) + pd.Timedelta(days=1)
        validation_start = str((after - pd.DateOffset(months=validation_months))
                               .to_period("M").to_timestamp().date())
    if not times[0] < pd.Timestamp(validation_start) < start:
        raise ValueError(f"validation_start={validation_start!r} is not inside the training "
                         f"period ({times[0].date()} .. {train.time.values[-1]!s:.10}); pick "
                         "a date before test_start that leaves training days before it")
    return train, test, validation_start


def capacity_bounds(train: xr.Dataset,
                    depth: tuple[float, float] = ROOTING_DEPTH) -> tuple[float, float] | None:
    """Site-plausible bounds (mm) of the soil capacity ``sm_max``: rooting depth (m) × the
    range of the tower's daily soil water content (m3 m-3) over the training period ×
    1000 mm m-1; None where the site has no soil water content.

    Examples
    --------
    >>> import xarray as xr
    >>> capacity_bounds(xr.Dataset({"swc": ("time", [0.1, 0.3, 0.2])}))
    (100.0, 400.0)
    """
    if "swc" not in train:
        return None
    swc = np.asarray(train["swc"].values, float)
    span = float(np.nanmax(swc) - np.nanmin(swc)) if np.isfinite(swc).any() else 0.0
    if not span > 0:
        return None
    return (round(depth[0] * span * 1000, 6), round(depth[1] * span * 1000, 6))


@dataclass
class SiteResult:
    """What :func:`site_workflow` found at one site."""

    site: str
    validation_start: str
    weight: float
    #: one row per model, seed, variable and day subset (:func:`score_table` columns).
    runs: pd.DataFrame
    #: the weight sweep (:func:`xh2cm.site.tradeoff`).
    sweep: pd.DataFrame
    #: test-period predictions (``et``, ``nee``) per model name, seeds averaged.
    predictions: dict[str, xr.Dataset] = field(default_factory=dict)
    #: learned soil capacity ``sm_max`` (mm) of each seed of the chosen weight.
    capacity: dict[int, float] = field(default_factory=dict)
    #: the chosen weight's test-period outputs per seed (``irrigation``, ``sm_start``, ...).
    hybrid_test: list[xr.Dataset] = field(default_factory=list)
    #: the chosen peak learning rate (where several were swept, else None).
    learning_rate: float | None = None
    #: training curves of every fit of the sweep: ``w_et``, ``learning_rate``, ``seed``,
    #: ``epoch``, ``train_total``, ``val_total``, ``val_et``, ``val_nee``.
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)


def _baselines(train: xr.Dataset, test: xr.Dataset, val: str, seeds: Sequence[int],
               lstm_epochs: int, spinup: int, irrigation: float | None,
               before: xr.Dataset | None
               ) -> tuple[dict[str, xr.Dataset], dict[str, dict[int, xr.Dataset]]]:
    """Predictions of the fixed baselines and, per seed, of the plain LSTMs."""
    fixed = {"process model": process_model(train, test, spinup=spinup,
                                            irrigation=irrigation, before=before)}
    for suffix, inputs in (("", None), (" (hybrid inputs)", HYBRID_INPUTS)):
        fixed[f"linear regression{suffix}"] = xr.Dataset(
            {v: linear_regression(train, v, test, inputs=inputs) for v in ("et", "nee")})
    fixed["climatology"] = xr.Dataset({v: climatology(train[v], test.time)
                                       for v in ("et", "nee")})
    seeded = {f"plain LSTM{suffix}": {s: lstm(train, test, validation_start=val, seed=s,
                                              epochs=lstm_epochs, inputs=inputs)
                                      for s in seeds}
              for suffix, inputs in (("", None), (" (hybrid inputs)", HYBRID_INPUTS))}
    return fixed, seeded


def site_workflow(train: xr.Dataset, test: xr.Dataset, *, validation_start: str,
                  site: str | None = None, weights: Sequence[float] = WEIGHTS,
                  seeds: Sequence[int] = (0, 1, 2), epochs: int = 150, patience: int = 40,
                  hidden: int = 16, lstm_epochs: int = 300, spinup: int = SPINUP,
                  fapar_weight: float = 0.5, bounded: bool = True,
                  irrigation: float | None = None, before: xr.Dataset | None = None,
                  learning_rates: Sequence[float] | None = None,
                  **fit_kwargs: Any) -> SiteResult:
    """Hybrid (weight chosen on validation) and every baseline, scored on ``test``.

    Parameters
    ----------
    train, test : xarray.Dataset
        Daily data of one site (:func:`split`), with ``et``, ``nee`` and the forcing.
    validation_start : str
        First day of the validation block inside ``train``.
    site : str, optional
        Name in the tables (default: the ``site`` coordinate).
    weights, seeds
        The sweep of the weight on ET and the seeds of every trained model.
    epochs, patience, hidden
        Hybrid training (``learning_rate`` 3e-3, ``sm_max_scale`` 100 unless
        ``fit_kwargs`` say otherwise).
    lstm_epochs : int
        Epochs of each plain LSTM.
    spinup : int
        Passes over the training forcing before the carried run (:func:`carried_run`).
    fapar_weight : float
        Weight of the fAPAR-from-LAI constraint (0: none).
    bounded : bool
        Bound the soil capacity by :func:`capacity_bounds` where the site has soil water.
    irrigation : float, optional
        Irrigate (an irrigated site): the fraction of capacity below which water is added
        (:data:`IRRIGATION_THRESHOLD` is the documented choice), to the hybrid and the
        process model alike; None: rain-fed.
    before : xarray.Dataset, optional
        Long daily forcing of the site before the training period (:func:`long_forcing`):
        the process-based runs spin up on it instead of the training forcing
        (:func:`carried_run`).
    learning_rates : sequence of float, optional
        Peak learning rates swept in the same batch, one chosen with the weight on the
        validation errors (:func:`xh2cm.site.select`); default: ``learning_rate`` 3e-3.

    Returns
    -------
    SiteResult
    """
    site = site or str(np.atleast_1d(train["site"].values)[0])
    model_kwargs: dict[str, Any] = {"hidden_size": hidden, "sm_max_scale": 100,
                                    "irrigation": irrigation}
    if bounded:
        model_kwargs["sm_max_bounds"] = capacity_bounds(train)
    kw: dict[str, Any] = {"epochs": epochs, "patience": patience, "learning_rate": 3e-3,
                          "segment": None, "spinup_cycles": spinup,
                          "model_kwargs": model_kwargs, **fit_kwargs}
    extra = {"fapar": fapar_weight} if fapar_weight > 0 and "lai" in train else {}
    kept: dict[tuple, xr.Dataset] = {}
    models: dict[tuple, Any] = {}
    hist: dict[tuple, xr.Dataset] = {}
    sweep = tradeoff(train, test, validation_start=validation_start, weights=weights,
                     seeds=seeds, predictions=kept, models=models, constraints=extra,
                     histories=hist,
                     spinup=spinup, before=before, learning_rates=learning_rates, **kw)
    choice = select(sweep, train)
    w, lr = (choice, None) if learning_rates is None else choice
    kept = {(k[0], k[-1]): v for k, v in kept.items() if learning_rates is None or k[1] == lr}
    fixed, seeded = _baselines(train, test, validation_start, seeds, lstm_epochs, spinup,
                               irrigation, before)
    seeded = {"hybrid": {s: kept[(w, s)] for s in seeds}, **seeded}
    parts = []
    for var in ("et", "nee"):
        measured = measured_days(test, MEASURED[var]) if (
            f"{MEASURED[var]}_measured_fraction" in test) else None
        tables = [score_table({n: p[var] for n, p in fixed.items()}, test[var],
                              measured).assign(seed=0)]
        tables += [score_table({n: by_seed[s][var] for n, by_seed in seeded.items()},
                               test[var], measured).assign(seed=s) for s in seeds]
        table = pd.concat(tables, ignore_index=True)
        table.insert(0, "variable", var)
        table.insert(0, "site", site)
        parts.append(table)
    preds = {n: p[["et", "nee"]] for n, p in fixed.items()}
    for n, by_seed in seeded.items():
        preds[n] = xr.concat([p[["et", "nee"]] for p in by_seed.values()], "seed").mean("seed")
    capacity = {s: float(np.asarray(kept[(w, s)]["sm_max"]).ravel()[0]) for s in seeds
                if "sm_max" in kept[(w, s)]}
    return SiteResult(site, validation_start, w, pd.concat(parts, ignore_index=True), sweep,
                      preds, capacity, [kept[(w, s)] for s in seeds], lr, _curves(hist))


def _curves(histories: dict[tuple, xr.Dataset]) -> pd.DataFrame:
    """The sweep's training curves, one row per fit and epoch (:attr:`SiteResult.curves`)."""
    rows = []
    for key, h in histories.items():
        h = h.dropna("epoch", how="all", subset=["total"])
        part = {"w_et": key[0], "learning_rate": key[1] if len(key) == 3 else None,
                "seed": key[-1], "epoch": h.epoch.values}
        for name in ("total", "et", "nee"):
            if name in h:
                part[f"train_{name}"] = h[name].sel(split="train").values
                part[f"val_{name}"] = h[name].sel(split="validation").values
        rows.append(pd.DataFrame(part))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def water_budget(result: SiteResult, train: xr.Dataset, test: xr.Dataset) -> pd.DataFrame:
    """The measured water budget beside the hybrid's (seed mean): precipitation, observed and
    simulated ET and irrigation (mm over the period, on the days ET was observed) of the
    training and test periods, and the hybrid's soil store at the start of the test (mm).
    A mass-conserving model cannot evaporate more than its water input and store hold."""
    rows = []
    for label, d in (("train", train), ("test", test)):
        et = np.asarray(d["et"].values, float).ravel()
        ok = np.isfinite(et)
        row = {"site": result.site, "period": label, "days": int(ok.sum()),
               "precipitation": float(np.nansum(np.asarray(d["prec"].values).ravel()[ok])),
               "et_observed": float(et[ok].sum())}
        if label == "test":
            sim = result.predictions.get("hybrid")
            if sim is not None:
                row["et_hybrid"] = float(np.asarray(sim["et"].values).ravel()[ok].sum())
            hyb = result.hybrid_test
            if hyb:
                row["irrigation_hybrid"] = float(np.mean([
                    np.asarray(o["irrigation"].values).ravel()[ok].sum() for o in hyb]))
                row["sm_start_hybrid"] = float(np.mean([float(o["sm_start"].values.ravel()[0])
                                                        for o in hyb]))
        rows.append(row)
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of each score (``<score>_sd``), the count of
    days ``n`` and of ``seeds``, per site, variable, model and day subset."""
    keys = ["site", "variable", "model", "days"]
    grouped = runs.groupby(keys, sort=False)
    spread = grouped[SCORES].std().fillna(0.0).add_suffix("_sd")
    return pd.concat([grouped[SCORES].mean(), spread, grouped.n.first(),
                      grouped.seed.nunique().rename("seeds")], axis=1).reset_index()


def predictions_dataset(result: SiteResult, test: xr.Dataset) -> xr.Dataset:
    """The test period's observed and predicted ``et`` and ``nee`` on ``(model, time)``."""
    names = list(result.predictions)
    data = {v: xr.concat([result.predictions[n][v].squeeze(drop=True) for n in names],
                         pd.Index(names, name="model")).assign_attrs(test[v].attrs)
            for v in ("et", "nee")}
    ds = xr.Dataset(data)
    for v in ("et", "nee"):
        ds[f"observed_{v}"] = test[v].squeeze(drop=True).assign_attrs(
            {**test[v].attrs, "long_name": f"observed {test[v].attrs.get('long_name', v)}"})
    ds.attrs = {"site": result.site, "weight_on_et": result.weight,
                "learning_rate": str(result.learning_rate),
                "validation_start": result.validation_start,
                "sm_max_per_seed": str(result.capacity)}
    return ds

