"""Honest baselines for a site's daily fluxes, trained and scored on the same split as the
hybrid model: (a) climatology, (b) linear regression on the day's weather, (c) the process
model alone, (d) a plain LSTM.

- **Climatology**: the training period's mean seasonal cycle (15-day smoothed, by day of
  year).
- **Linear regression** on radiation, radiation · VPD, radiation · soil water, air
  temperature, VPD, soil water and LAI (those the data have), by least squares over the
  training days.
- **Process model alone**: H2CM's equations with every learned parameter fixed at a
  documented value (:data:`xh2cm.core.api.PROCESS_DEFAULTS`) and the reference's initial global
  constants: no networks, nothing fitted.
- **Plain LSTM** (:mod:`xh2cm.training.lstm_baseline`): one LSTM from the day's forcing
  (radiation, precipitation, temperature, VPD, CO2, and soil water and LAI where present)
  to the targets, no process equations, trained on the training days and selected on the
  validation days.

:func:`score_table` scores any set of predictions with the evaluation scores of
:mod:`xh2cm.analysis.np_scores`, on all days and on measured days only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm.analysis import np_scores
from xh2cm.analysis.evaluate import KGE_NAN_WHERE, kge_scores
from xh2cm.site.np_baselines import (
    climatology_fit,
    climatology_predict,
    linear_fit,
    linear_predict,
)

#: Weather features of the regression: name -> how it is made from a daily site Dataset.
FEATURES: dict[str, tuple[str, ...]] = {
    "rad": ("rn",), "rad_vpd": ("rn", "vpd"), "rad_swc": ("rn", "swc"), "tair": ("tair",),
    "vpd": ("vpd",), "swc": ("swc",), "lai": ("lai",),
}


def features(ds: xr.Dataset, inputs: Sequence[str] | None = None) -> pd.DataFrame:
    """The regression's design matrix (one row per day) from what ``ds`` has (of
    ``inputs`` only, if given: e.g. the hybrid's forcing,
    :data:`xh2cm.site.carry.HYBRID_INPUTS`)."""
    cols = {}
    for name, parts in FEATURES.items():
        if all(p in ds and (inputs is None or p in inputs) for p in parts):
            col = np.ones(ds.sizes["time"])
            for p in parts:
                col = col * np.asarray(ds[p].squeeze(drop=True).values, float)
            cols[name] = col
    if not cols:
        raise KeyError("linear regression needs weather: none of rn, vpd, swc, tair, lai found")
    return pd.DataFrame(cols, index=ds["time"].to_index())


def climatology(train: xr.DataArray, times: xr.DataArray) -> xr.DataArray:
    """Predictions on ``times`` of the training series' mean seasonal cycle."""
    msc = climatology_fit(np.asarray(train.squeeze(drop=True).values, float),
                          train["time"].dt.dayofyear.values)
    pred = climatology_predict(msc, times.dt.dayofyear.values)
    return xr.DataArray(pred, dims="time", coords={"time": times.values},
                        attrs={**train.attrs, "long_name": f"climatology of {train.name}"})


def linear_regression(train: xr.Dataset, target: str, test: xr.Dataset,
                      inputs: Sequence[str] | None = None) -> xr.DataArray:
    """Predictions on ``test`` days of a least-squares regression of ``train[target]`` on
    the day's weather (:data:`FEATURES`, made of ``inputs`` only if given)."""
    x_train, x_test = features(train, inputs), features(test, inputs)
    common = [c for c in x_train.columns if c in x_test.columns]
    coef = linear_fit(x_train[common].to_numpy(),
                      np.asarray(train[target].squeeze(drop=True).values, float))
    pred = linear_predict(coef, x_test[common].to_numpy())
    return xr.DataArray(pred, dims="time", coords={"time": test["time"].values},
                        attrs={**train[target].attrs,
                               "long_name": f"linear regression of {target} on {common}"})


def process_model(train: xr.Dataset, test: xr.Dataset,
                  values: Mapping[str, float] | None = None, *, spinup: int = 3,
                  irrigation: float | None = None,
                  before: xr.Dataset | None = None) -> xr.Dataset:
    """Outputs on ``test`` of the process model alone (input standardisation from ``train``,
    which the fixed parameters do not use), spun up on ``train``'s forcing and carried
    through the training period into the test period, as the hybrid is
    (:func:`xh2cm.site.carry.carried_run`), irrigated as the hybrid is where
    ``irrigation`` is given (:attr:`xh2cm.core.ModelConfig.irrigation`), spun up on the
    long forcing ``before`` where given."""
    from xh2cm.core import process_only
    from xh2cm.site.carry import carried_run
    from xh2cm.xr.model import init_model_from_dataset

    model = process_only(init_model_from_dataset(train, static=[], hidden_size=4,
                                                 irrigation=irrigation), values)
    return carried_run(model, train, test, spinup=spinup, before=before)[1]


#: Inputs of the plain LSTM, where the site data have them.
LSTM_INPUTS = ("rn", "prec", "tair", "vpd", "co2", "swc", "lai")


def lstm(train: xr.Dataset, test: xr.Dataset, targets: tuple[str, ...] = ("et", "nee"), *,
         validation_start: str | None = None, hidden: int = 32, epochs: int = 300,
         seed: int = 0, inputs: Sequence[str] | None = None) -> xr.Dataset:
    """Predictions on ``test`` of a plain LSTM trained on ``train`` (days before
    ``validation_start``; the days from it on select the best epoch), on the
    :data:`LSTM_INPUTS` the data have (of ``inputs`` only, if given)."""
    from xh2cm.training.lstm_baseline import fit_lstm

    names = [v for v in LSTM_INPUTS if v in train and v in test
             and (inputs is None or v in inputs)]

    def matrix(ds: xr.Dataset, names: list[str] | tuple[str, ...]) -> np.ndarray:
        return np.stack([np.asarray(ds[n].squeeze(drop=True).values, float) for n in names],
                        -1)

    x, y = matrix(train, names), matrix(train, targets)
    y_val = None
    if validation_start is not None:
        late = train["time"].values >= np.datetime64(validation_start)
        y_val = np.where(late[:, None], y, np.nan)
        y = np.where(late[:, None], np.nan, y)
    model = fit_lstm(x, y, y_val, hidden=hidden, epochs=epochs, seed=seed)
    # run through the training period into the test period, so the state is warm
    both = model.predict(np.concatenate([x, matrix(test, names)]))[x.shape[0]:]
    return xr.Dataset({t: ("time", both[:, i], dict(train[t].attrs))
                       for i, t in enumerate(targets)}, coords={"time": test["time"].values})


def score_table(predictions: Mapping[str, xr.DataArray], obs: xr.DataArray,
                measured: xr.DataArray | None = None) -> pd.DataFrame:
    """NSE, KGE, r, RMSE, bias and count of each prediction against ``obs`` (daily), on all
    days and (with ``measured``) on measured days only.

    KGE follows :func:`xh2cm.analysis.evaluate` (:func:`~xh2cm.analysis.evaluate.kge_scores`):
    NaN where ``|mean(obs)| < 0.5 std(obs)``, as for NEE near zero mean, whose β =
    mean(sim) / mean(obs) would explode; the reason is in the table's ``attrs["kge"]``.
    """
    o = np.asarray(obs.squeeze(drop=True).values, float)
    subsets = {"all days": np.ones(o.size, bool)}
    if measured is not None:
        subsets["measured days"] = np.asarray(measured.squeeze(drop=True).values, bool)
    rows = []
    for name, pred in predictions.items():
        p = np.asarray(pred.squeeze(drop=True).values, float)
        for label, keep in subsets.items():
            s, t = np.where(keep, p, np.nan), np.where(keep, o, np.nan)
            k, r, _, _ = kge_scores(s, t)
            rows.append({"model": name, "days": label, "nse": float(np_scores.nse(s, t)),
                         "kge": float(k), "r": float(r), "rmse": float(np_scores.rmse(s, t)),
                         "bias": float(np_scores.bias(s, t)),
                         "n": int(np_scores.count(s, t))})
    table = pd.DataFrame(rows)
    table.attrs["kge"] = KGE_NAN_WHERE
    return table
