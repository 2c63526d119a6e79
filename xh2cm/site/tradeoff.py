"""The trade-off between fitting latent heat (ET) and NEE at a site.

:func:`tradeoff` trains the hybrid model once per weight ``w`` on ET (``1 - w`` on NEE) and
seed, each time selecting the epoch on a validation block at the end of the training period
(never the test period), and scores the selected model on the test period.
:func:`pareto` keeps the weights whose mean test errors no other weight beats on both;
:func:`select` picks one weight from the validation errors alone (for a score table);
:func:`plot_tradeoff` draws the test errors with their spread over seeds (hvplot).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm.analysis import np_scores

#: Validation terms that pick each fit's epoch (early stopping, best state): ET and NEE,
#: weighted as in training. A constraint such as fAPAR from LAI is trained on but not
#: selected on: at US-Hn1 its validation term was 75-85 % of the validation total and
#: stopped the fits at epochs 5-18 while the validation ET and NEE errors still fell
#: (docs/results.md).
SELECT_ON = ("et", "nee")
#: The default sweep of the weight on ET.
WEIGHTS = tuple(np.round(np.linspace(0, 1, 11), 2))


def tradeoff(train: xr.Dataset, test: xr.Dataset, *, validation_start: str,
             weights: Sequence[float] = WEIGHTS, seeds: Sequence[int] = (0, 1, 2),
             predictions: MutableMapping[tuple[float, int], xr.Dataset] | None = None,
             models: MutableMapping[tuple[float, int], Any] | None = None,
             constraints: Mapping[str, float] | None = None, spinup: int = 3,
             batched: bool = True, before: xr.Dataset | None = None,
             learning_rates: Sequence[float] | None = None,
             select_on: Sequence[str] | None = SELECT_ON,
             histories: MutableMapping[tuple[float, int], xr.Dataset] | None = None,
             **fit_kwargs: Any) -> pd.DataFrame:
    """Test errors of the hybrid model over a sweep of the ET / NEE weight.

    Parameters
    ----------
    train, test : xarray.Dataset
        Daily site data (:func:`xh2cm.io.to_daily`) of the training and test periods, with
        ``et`` and ``nee``.
    validation_start : str
        First day of the validation block (inside the training period).
    weights : sequence of float
        Weights on ET (NEE gets ``1 - w``); default 0, 0.1, …, 1.
    seeds : sequence of int
        Weight-initialisation seeds per weight (at least 3 for a spread).
    predictions : dict, optional
        Filled with the test-period ``et``, ``nee``, ``irrigation``, ``sm_max`` and the
        soil moisture at the start of the test period ``sm_start`` of each fit, keyed
        ``(w, seed)``.
    models : dict, optional
        Filled with each trained model, keyed ``(w, seed)``.
    constraints : mapping, optional
        Further observations of ``train`` with their fixed weights, e.g. ``{"fapar": 0.5}``
        (:func:`xh2cm.site.constraints.constraints`).
    spinup : int
        Spin-up passes over the training forcing; the test period continues from the state
        at the end of the training period (:func:`xh2cm.site.carry.carried_run`), never
        from a spin-up on test forcing.
    before : xarray.Dataset, optional
        Long forcing before the training period to spin up on
        (:func:`xh2cm.site.carry.carried_run`).
    learning_rates : sequence of float, optional
        Peak learning rates swept too (each weight and seed with each; chosen like the
        weight, on validation): then the keys of ``predictions``, ``models`` and
        ``histories`` are ``(w, learning_rate, seed)`` and the table has a
        ``learning_rate`` column. Needs ``batched``.
    select_on : sequence of str, optional
        The validation terms that choose each fit's epoch (:data:`SELECT_ON`; None: the
        whole validation total, constraints included). Needs ``batched``.
    batched : bool
        Train every weight and seed as one batch of models (``fit(sweep=...)``,
        :mod:`xh2cm.training.ensemble`: one compile, loss weights traced); False: one
        fit after another (each member is the same fit either way, to round-off).
    histories : dict, optional
        Filled with each fit's training history (``fit``'s second value), keyed
        ``(w, seed)``.
    **fit_kwargs
        Passed to ``fit`` (``epochs=``, ``model_kwargs=``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per weight and seed: ``w_et``, ``seed``, ``best_epoch``, the RMSE of ET
        and NEE on the validation block (``val_rmse_*``) and the test RMSE and NSE.
    """
    from xh2cm.site.constraints import constraints as site_constraints

    extra = dict(constraints or {})
    targets = site_constraints(train)[["et", "nee", *extra]]
    kw = {"static": [], "kinds": {"et": "daily", "nee": "daily"}, "priors": False,
          "batch_size": 1, "progress": False, **fit_kwargs}
    rates = [None] if learning_rates is None else [float(r) for r in learning_rates]
    if learning_rates is not None and not batched:
        raise ValueError("learning_rates= needs batched=True")
    if not batched and extra and select_on is not None:
        raise ValueError(f"batched=False selects on the whole validation total, constraints "
                         f"{sorted(extra)} included; pass select_on=None (or batched=True)")
    keys: list[tuple] = [(float(w), int(seed)) if r is None else (float(w), r, int(seed))
                         for w in weights for r in rates for seed in seeds]
    terms = {key: {"et": key[0], "nee": float(1 - key[0]), **extra} for key in keys}
    fitted: dict[tuple, tuple[Any, int]] = {}
    if batched:
        ensemble, history = train.h2cm.fit(
            targets, sweep=[(key[-1], terms[key], *key[1:-1]) for key in keys],
            validation_start=validation_start, select_on=select_on, **kw)
        best = json.loads(history.attrs["best_epoch"])
        fitted = {key: (m, b) for key, m, b in zip(keys, ensemble.models, best, strict=True)}
        if histories is not None:
            histories.update({key: history.isel(member=i) for i, key in enumerate(keys)})
    else:
        for w, seed in keys:
            model, history = train.h2cm.fit(targets, weights=terms[(w, seed)],
                                            validation_start=validation_start,
                                            model_seed=seed, **kw)
            fitted[(w, seed)] = (model, int(history.attrs["best_epoch"]))
            if histories is not None:
                histories[(w, seed)] = history
    rows = []
    for key, (model, best_epoch) in fitted.items():
        rows.append(_scores(key, model, best_epoch, train, test, validation_start, spinup,
                            predictions, models, before))
    return pd.DataFrame(rows)


def _scores(key: tuple, model: Any, best_epoch: int, train: xr.Dataset,
            test: xr.Dataset, validation_start: str, spinup: int,
            predictions: MutableMapping[Any, xr.Dataset] | None,
            models: MutableMapping[Any, Any] | None,
            before: xr.Dataset | None) -> dict[str, Any]:
    """One fit's carried run, validation and test errors (a row of :func:`tradeoff`)."""
    from xh2cm.site.carry import carried_run

    late = train["time"].values >= np.datetime64(validation_start)
    fitted, out, state = carried_run(model, train, test, spinup=spinup, before=before,
                                     outputs=["et", "nee", "irrigation", "sm_max"])
    out["sm_start"] = state["sm"].assign_attrs(
        units="mm", long_name="soil moisture at the start of the test period")
    if predictions is not None:
        predictions[key] = out
    if models is not None:
        models[key] = model
    row: dict[str, Any] = {"w_et": key[0], "seed": key[-1], "best_epoch": int(best_epoch)}
    if len(key) == 3:
        row["learning_rate"] = key[1]
    for var in ("et", "nee"):
        sim = np.asarray(fitted[var].values, float).ravel()[late]
        obs = np.asarray(train[var].values, float).ravel()[late]
        row[f"val_rmse_{var}"] = float(np_scores.rmse(sim, obs))
    for var in ("et", "nee"):
        sim = np.asarray(out[var].values, float).ravel()
        obs = np.asarray(test[var].values, float).ravel()
        row[f"rmse_{var}"] = float(np_scores.rmse(sim, obs))
        row[f"nse_{var}"] = float(np_scores.nse(sim, obs))
    return row


def pareto(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread over seeds per weight (and learning rate, where swept), with
    ``pareto`` marking the settings that no other beats on both mean test RMSEs."""
    by = [c for c in ("w_et", "learning_rate") if c in table]
    stats = table.groupby(by).agg(rmse_et=("rmse_et", "mean"),
                                      rmse_et_sd=("rmse_et", "std"),
                                      rmse_nee=("rmse_nee", "mean"),
                                      rmse_nee_sd=("rmse_nee", "std")).reset_index()
    e, n = stats.rmse_et.to_numpy(), stats.rmse_nee.to_numpy()
    dominated = [bool(np.any((e <= e[i]) & (n <= n[i]) & ((e < e[i]) | (n < n[i]))))
                 for i in range(len(stats))]
    stats["pareto"] = ~np.asarray(dominated, bool)
    return stats


def select(table: pd.DataFrame, train: xr.Dataset) -> Any:
    """The weight on ET whose validation RMSEs, each divided by the training standard
    deviation of its variable and summed, are smallest on average over seeds (with a
    ``learning_rate`` column: the ``(weight, learning_rate)`` pair). Uses the
    ``val_rmse_*`` columns only: the test period plays no part.

    Examples
    --------
    >>> import pandas as pd, xarray as xr
    >>> t = pd.DataFrame({"w_et": [0.0, 0.0, 1.0, 1.0], "seed": [0, 1, 0, 1],
    ...                   "val_rmse_et": [2.0, 2.0, 1.0, 1.0],
    ...                   "val_rmse_nee": [1.0, 1.0, 1.2, 1.4]})
    >>> train = xr.Dataset({"et": ("time", [0.0, 2.0]), "nee": ("time", [0.0, 2.0])})
    >>> select(t, train)
    1.0
    """
    sd = {v: float(np.nanstd(np.asarray(train[v].values, float))) for v in ("et", "nee")}
    by = [c for c in ("w_et", "learning_rate") if c in table]
    score = (table.val_rmse_et / sd["et"] + table.val_rmse_nee / sd["nee"]).groupby(
        [table[c] for c in by]).mean()
    best = score.idxmin()
    return float(best) if len(by) == 1 else tuple(float(b) for b in best)


def plot_tradeoff(stats: pd.DataFrame) -> Any:
    """Test RMSE of NEE against ET per weight, seed spread as error bars, the Pareto set
    highlighted (hvplot)."""
    import holoviews as hv
    import hvplot.pandas  # noqa: F401

    points = stats.hvplot.scatter(x="rmse_et", y="rmse_nee", c="w_et", cmap="viridis",
                                  hover_cols=["w_et", "pareto"], size=60,
                                  xlabel="test RMSE of ET (mm d-1)",
                                  ylabel="test RMSE of NEE (gC m-2 d-1)",
                                  title="LE-NEE trade-off (colour: weight on ET)")
    bars_x = hv.ErrorBars(stats, kdims="rmse_et", vdims=["rmse_nee", "rmse_et_sd"],
                          horizontal=True)
    bars_y = hv.ErrorBars(stats, kdims="rmse_et", vdims=["rmse_nee", "rmse_nee_sd"])
    front = stats[stats.pareto].sort_values("rmse_et").hvplot.line(
        x="rmse_et", y="rmse_nee", color="red")
    return bars_x * bars_y * front * points
