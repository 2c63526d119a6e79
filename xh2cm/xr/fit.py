"""Train an H2CM model on xarray forcing and observations (the ``ds.h2cm.fit`` backend).

:func:`fit_dataset` prepares the forcing (:func:`xh2cm.cf.prepare.prepare`)
and the observations (:func:`xh2cm.cf.observations.prepare_observations`),
splits cells into training and validation sets, hands plain arrays to
:func:`xh2cm.training.train` and returns the model with its loss history as
an :class:`xarray.Dataset`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm.calendars import day_codes
from xh2cm.cf.grid import Regrid
from xh2cm.cf.observations import Implausible, Observations, prepare_observations
from xh2cm.cf.prepare import CO2Arg, FillArg, MaskArg, Prepared, prepare, random_subset
from xh2cm.xr.model import init_model_from_prepared, split_model_options

if TYPE_CHECKING:
    from xh2cm.core import H2CM
    from xh2cm.training import (
        Ensemble,
        History,
        LossSpec,
        LossWeights,
        TrainConfig,
        TrainingData,
    )
    from xh2cm.training.cv import FoldMethod

#: ``cell_role`` values in the history Dataset.
UNUSED, TRAIN, VALIDATION = 0, 1, 2


def _cell_coords(prep: Prepared) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Latitude and longitude of every grid cell (flat, C order), or None if unknown."""
    grid = prep.valid
    out = []
    for names in (("lat", "latitude"), ("lon", "longitude")):
        da = next((grid.coords[n] for n in names if n in grid.coords), None)
        if da is None:
            da = next((prep.coords[n] for n in names if n in prep.coords
                       and set(prep.coords[n].dims) <= set(grid.dims)), None)
        out.append(None if da is None else
                   np.asarray(da.broadcast_like(grid).transpose(*grid.dims).values,
                              float).ravel())
    return out[0], out[1]


def spatial_folds(ds: xr.Dataset, k: int = 10, *, method: FoldMethod = "block",
                  block_size: float = 10.0, seed: int = 0,
                  mask: MaskArg = None) -> xr.DataArray:
    """Spatial k-fold assignment of the model's cells, on the dataset's spatial grid.

    Parameters
    ----------
    ds : xarray.Dataset
        Forcing (its land mask / valid cells decide which cells get a fold).
    k, method, block_size, seed
        See :func:`xh2cm.training.cv.spatial_kfold`.
    mask
        Land mask argument, as for ``ds.h2cm.run``.

    Returns
    -------
    xarray.DataArray
        Integer fold ``0..k-1`` per valid cell, -1 elsewhere; e.g.
        ``ds.h2cm.fit(obs, cells=folds != 0, validation=folds == 1)`` holds
        fold 0 out for testing and validates on fold 1.
    """
    from xh2cm.training.cv import spatial_kfold

    prep = prepare(ds, static=(), mask=mask)
    cells = prep.cells()
    lat, lon = _cell_coords(prep)
    if lat is None or lon is None:
        if method == "block":
            raise ValueError("blocked folds need lat/lon coordinates; use method='random'")
        lat = lon = np.zeros(prep.n_cells)
    folds = np.full(prep.n_cells, -1, int)
    folds[cells] = spatial_kfold(lat[cells], lon[cells], k, method=method,
                                 block_size=block_size, seed=seed)
    return xr.DataArray(folds.reshape(prep.valid.shape), dims=prep.valid.dims,
                        coords=prep.valid.coords, name="fold",
                        attrs={"long_name": f"spatial cross-validation fold ({method})"})


def _flat_mask(da: xr.DataArray, prep: Prepared, what: str) -> np.ndarray:
    grid = prep.valid
    try:
        da, _ = xr.align(da.reset_coords(drop=True), grid, join="exact")
    except ValueError as err:
        raise ValueError(f"{what} is not on the forcing grid ({err})") from None
    return np.asarray(da.broadcast_like(grid).transpose(*grid.dims).fillna(False).values,
                      bool).ravel()


def _split(prep: Prepared, used: np.ndarray, validation: Any, seed: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into ``used``) of training and validation cells."""
    n = used.size
    if validation is None or (isinstance(validation, float) and validation == 0):
        return np.arange(n), np.zeros(0, int)
    if isinstance(validation, xr.DataArray):
        is_val = _flat_mask(validation, prep, "validation=")[used]
    elif isinstance(validation, float | int) and 0 < validation < 1:
        from xh2cm.training.cv import spatial_kfold

        if n < 2:
            raise ValueError(f"validation={validation}: only {n} cell to train on, none can be "
                             "held out; pass validation=None")
        k = min(max(2, round(1.0 / float(validation))), n)  # few sites: fewer, larger folds
        lat, lon = _cell_coords(prep)
        if lat is None or lon is None or n < 4 * k:
            folds = spatial_kfold(np.zeros(n), np.zeros(n), k, method="random", seed=seed)
        else:
            try:
                folds = spatial_kfold(lat[used], lon[used], k, seed=seed)
            except ValueError:  # too few blocks: fall back to random cells
                folds = spatial_kfold(lat[used], lon[used], k, method="random", seed=seed)
        is_val = folds == 0
    else:
        raise TypeError("validation must be None, a fraction in (0, 1) or a boolean "
                        f"DataArray on the spatial dims, not {validation!r}")
    if is_val.all():
        raise ValueError("every training cell is a validation cell; leave some for training")
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def history_dataset(history: History, prep: Prepared, role: np.ndarray,
                    observations: Observations, kinds: Mapping[str, str]) -> xr.Dataset:
    """The training history as a Dataset (``(split, epoch)`` per loss term; ``kinds``: the
    representation of each data term)."""
    cols = history.columns()
    epoch = cols["epoch"].astype(int)
    data: dict[str, Any] = {}
    for term in (*history.terms, "total"):
        data[term] = (("split", "epoch"), np.stack([cols[f"train_{term}"], cols[f"val_{term}"]]),
                      {"long_name": f"loss term {term}" if term != "total" else "total loss",
                       "units": "1"})
    data["lr"] = ("epoch", cols["lr"], {"long_name": "learning rate at the end of the epoch"})
    data["skipped"] = ("epoch", cols["skipped"].astype(int),
                       {"long_name": "steps skipped for a non-finite loss or gradient"})
    data["seconds"] = ("epoch", cols["seconds"], {"units": "s", "long_name": "epoch time"})
    grid = prep.valid
    data["cell_role"] = (grid.dims, role.reshape(grid.shape),
                         {"long_name": "cell role in training",
                          "flag_values": np.array([UNUSED, TRAIN, VALIDATION]),
                          "flag_meanings": "unused train validation"})
    attrs = {
        "title": "xh2cm training history",
        "terms": json.dumps(list(history.terms)),
        "term_kinds": json.dumps(kinds),
        "scales": json.dumps(history.scales),
        "observations": json.dumps({k: {"source": i.source, "units": i.units,
                                        "conversion": i.conversion, "resolution": i.resolution,
                                        "n_valid": i.n_valid,
                                        "matched_cells": i.matched_cells,
                                        "matched_values": i.matched_values}
                                    for k, i in observations.info.items()}),
        "stopped_early": int(history.stopped_early),
        "best_epoch": -1 if history.best_epoch is None else int(history.best_epoch),
    }
    coords = {"epoch": epoch, "split": ["train", "validation"],
              **{k: v for k, v in grid.coords.items()}}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def fit_dataset(
    ds: xr.Dataset,
    obs: xr.Dataset | None = None,
    model: H2CM | None = None,
    *,
    variables: Sequence[str] | None = None,
    obs_names: Mapping[str, str] | None = None,
    weights: LossWeights | Mapping[str, float] | None = None,
    kinds: Mapping[str, str] | None = None,
    priors: bool = True,
    config: TrainConfig | None = None,
    validation: float | xr.DataArray | None = 0.1,
    validation_start: str | None = None,
    test_start: str | None = None,
    cells: xr.DataArray | None = None,
    static: Sequence[str] | None = None,
    mask: MaskArg = None,
    fill: FillArg = None,
    names: Mapping[str, str] | None = None,
    check_ranges: bool = True,
    co2: CO2Arg = None,
    min_valid: float = 0.5,
    regrid: Regrid = None,
    implausible: Implausible = "raise",
    model_seed: int = 0,
    model_kwargs: Mapping[str, Any] | None = None,
    callback: Callable[..., None] | None = None,
    in_memory: bool | None = None,
    folds: int | None = None,
    fold_method: FoldMethod = "block",
    block_size: float = 10.0,
    sweep: Sequence[tuple[Any, ...]] | None = None,
    select_on: Sequence[str] | None = None,
    **train_kwargs: Any,
) -> tuple[H2CM | Ensemble, xr.Dataset]:
    """Train an H2CM model on a forcing Dataset against observations (docs/model/training.md).

    Parameters
    ----------
    ds : xarray.Dataset
        Daily forcing with static predictors (as for ``ds.h2cm.run``).
    obs : xarray.Dataset, optional
        Observations on the same spatial grid (default: look in ``ds``): any of
        ``tws, swe/snw, et/evspsbl, q/mrro, fapar, gpp, nee`` (daily to
        monthly, own date ranges) and static ``cue``, found by CF standard name
        or name, units converted; see :mod:`xh2cm.cf.observations`.
    model : H2CM, optional
        Model to start from; default: a fresh one (:class:`~xh2cm.core.ModelConfig`
        from ``model_kwargs``, input standardisation from the training cells).
    variables : sequence of str, optional
        Use only these constraints (e.g. ``["gpp", "et"]``).
    obs_names : mapping, optional
        Explicit ``{constraint: observation variable}``.
    weights : LossWeights or mapping, optional
        Per-term weights (``{"nee_iav": 0.5, "prior_q10": 0}``), default 1.
    kinds : mapping, optional
        Compare some terms in another representation than docs/model/training.md's,
        e.g. ``{"q": "daily"}`` for daily runoff (the observation must then be
        daily or finer); see :func:`xh2cm.training.losses.term_kinds`.
    priors : bool
        Use the Gaussian priors on beta_CO2 and Q10.
    config : TrainConfig, optional
        Training settings; ``**train_kwargs`` override its fields
        (``epochs=``, ``batch_size=``, ``learning_rate=``, ``checkpoint_dir=``, ...).
        Keywords that are :class:`~xh2cm.core.ModelConfig` fields (``hidden_size=``,
        ``sm_max_scale=``, ...) set a fresh model's options, as for ``ds.h2cm.init_model``.
    validation : float, DataArray or None
        Fraction of cells held out for validation / early stopping (spatially
        blocked folds when lat/lon are known), a boolean DataArray of
        validation cells, or None.
    validation_start : str, optional
        A date (``"2020-01-01"``): the observations from that day on form a validation
        block in time (early stopping and model selection) and are withheld from
        training; all cells train. For one or a few sites, where cells cannot be held
        out. Overrides ``validation``. Pick a month start: monthly terms split by month.
    test_start : str, optional
        A date from which observations are never used, neither to train nor to
        select the model: the test period, for data that run through it.
    cells : DataArray, optional
        Boolean: the cells available to training and validation (e.g. all but
        a test fold, see :func:`spatial_folds`); default: all valid cells.
    static, mask, fill, names
        As for ``ds.h2cm.run``; ``static`` is ignored when ``model`` is given.
    min_valid : float
        Minimum valid fraction of a month for sub-monthly observations.
    regrid, implausible
        Observations on another resolution (refused, or ``"conservative"``) and
        implausible observation values (refused, or ``"clip"``); see
        :func:`xh2cm.cf.observations.prepare_observations`.
    model_seed : int
        Weight seed of a fresh model.
    model_kwargs : mapping, optional
        Deprecated: pass the ``ModelConfig`` fields as keywords instead (below).
    callback : callable, optional
        ``callback(epoch, model, history)`` after each epoch.
    in_memory : bool, optional
        False: training beyond memory. The daily forcing stays lazy (``ds`` dask-backed,
        e.g. ``xr.open_zarr``) and each batch reads its cells' columns when the batch is
        used; a fresh model's input standardisation comes from at most
        :data:`LAZY_STATS_CELLS` random training cells. Observations are read whole
        (monthly ones are small; daily ones, ``kinds=``, are as large as one forcing
        variable). True: read everything first. None (default): False for dask-backed
        forcing, else True. Results are the same either way (tested).
    folds : int, optional
        Spatial k-fold cross-validation: train ``folds`` models as one batch
        (:func:`xh2cm.training.ensemble.train_ensemble`, one compile) and return an
        :class:`~xh2cm.training.Ensemble`. Member ``f`` never sees fold ``f`` (its test
        fold: ``run(ensemble, out_of_fold=True)`` predicts those cells with it), is
        validated (early stopping, best epoch) on fold ``f + 1`` (mod ``folds``) unless
        ``validation=None``, trains on the others, and starts from ``model`` or a fresh
        model of seed ``model_seed + f`` standardised on its training cells. Folds come
        from :func:`xh2cm.training.cv.spatial_kfold` (seed ``TrainConfig.seed``).
        ``checkpoint_dir``/``resume`` work as for one model. Not with
        ``validation_start``.
    fold_method, block_size
        How cells are grouped into folds (:func:`xh2cm.training.cv.spatial_kfold`).
    sweep : sequence of (int, mapping) or (int, mapping, float), optional
        A seed, loss-weight (and learning-rate) sweep trained as one batch (one compile;
        loss weights and learning rates are traced values): one member per
        ``(model_seed, weights[, learning_rate])``, each a fresh model of that seed whose
        term weights are ``weights`` on top of ``weights=``, all on the same cells and
        validation; returns an :class:`~xh2cm.training.Ensemble` (members named
        ``"seed<s> <term>=<w> ... [lr=<r>]"``). Each member is the fit it would be
        alone (:mod:`xh2cm.training.ensemble`). Not with ``folds``.
    select_on : sequence of str, optional
        With ``sweep``: the terms whose weighted validation sum picks each member's best
        epoch and early stopping (default: the validation total).

    Returns
    -------
    model : H2CM or Ensemble
        The trained model (with ``folds``: the ensemble of fold models).
    history : xarray.Dataset
        Loss terms on ``(split, epoch)`` (with ``folds``: also ``member``, and ``fold``
        on the grid), ``lr``, ``skipped``, ``seconds``
        per epoch, and ``cell_role`` (0 unused, 1 train, 2 validation) on the
        spatial grid; attrs hold the standardisation and observation report.

    Examples
    --------
    A twin experiment in miniature: observations from a known model, one
    epoch of training from a fresh one.

    >>> import json
    >>> import xh2cm
    >>> from xh2cm.xr import fit_dataset
    >>> ds = xh2cm.datasets.synthetic_forcing(n_lat=3, n_lon=6, years=1)
    >>> truth = xh2cm.datasets.truth_model(ds, hidden_size=8)
    >>> obs = ds.h2cm.run(truth)[["gpp", "et"]]
    >>> model, history = fit_dataset(ds, obs, epochs=1, batch_size=8, validation=None,
    ...                              progress=False, hidden_size=8)
    >>> history.split.values.tolist(), history.sizes["epoch"]
    (['train', 'validation'], 1)
    >>> sorted(json.loads(history.attrs["terms"]))
    ['et', 'gpp', 'prior_beta_co2', 'prior_q10']
    """
    from xh2cm.training import LossSpec, train
    from xh2cm.training.losses import daily_observations, term_kinds

    model_options = split_model_options(train_kwargs, model_kwargs)
    if model is not None and model_options:
        raise ValueError(f"model options {sorted(model_options)} apply to a fresh model, "
                         "but model= is given: drop them, or drop model=")
    cfg = _train_config(config, train_kwargs)
    kinds = term_kinds(kinds)
    static_arg = tuple(model.config.static_names) if model is not None else static
    prep = prepare(ds, static=static_arg, mask=mask, fill=fill, names=names,
                   check_ranges=check_ranges, co2=co2)
    observations = prepare_observations(ds if obs is None else obs, prep, names=obs_names,
                                        variables=variables, min_valid=min_valid,
                                        daily=daily_observations(kinds), regrid=regrid,
                                        implausible=implausible)
    used = _used_cells(prep, cells)
    lazy = prep.is_dask if in_memory is None else not in_memory
    if lazy and not prep.is_dask:
        raise ValueError("in_memory=False needs dask-backed forcing: open the data with "
                         "xr.open_zarr / open_mfdataset or call ds.chunk(...) first")
    data = _training_data(prep, observations, used, lazy)
    val_data = None
    if test_start is not None:
        data, _ = data.split_time(_first_day(prep, test_start, "test_start"))
    if validation_start is not None:
        data, val_data = data.split_time(_first_day(prep, validation_start,
                                                    "validation_start"))
        train_pos = val_pos = np.arange(used.size)
    else:
        train_pos, val_pos = _split(prep, used, validation, cfg.seed)
    if sweep is not None:
        if folds is not None:
            raise ValueError("sweep= and folds= are two ensembles: use one")
        return _fit_sweep(prep, data, val_data, used, train_pos, val_pos, observations,
                          cfg, callback, sweep=sweep, select_on=select_on,
                          weights=weights, priors=priors, kinds=kinds, model_kwargs=model_kwargs,
                          attrs={"validation_start": validation_start,
                                 "test_start": test_start})
    spec = LossSpec.for_observations(data.available, weights, priors=priors, kinds=kinds)
    if folds is not None:
        return _fit_folds(prep, data, used, observations, spec, cfg, model, callback,
                          folds=folds, fold_method=fold_method, block_size=block_size,
                          validate=validation is not None and validation_start is None,
                          lazy=lazy, model_seed=model_seed, model_kwargs=model_kwargs,
                          validation_start=validation_start)
    if model is None:
        stats_cells = random_subset(used[train_pos], LAZY_STATS_CELLS if lazy else None,
                                    model_seed)
        model = init_model_from_prepared(prep, stats_cells, model_seed, **model_options)
    model, history = train(model, data, train_pos, val_pos if val_pos.size else None,
                           spec=spec, config=cfg, callback=callback, val_data=val_data)
    role = np.zeros(prep.n_cells, np.int8)
    role[used[val_pos]] = VALIDATION
    role[used[train_pos]] = TRAIN  # a time block: every cell trains (and validates later)
    out = history_dataset(history, prep, role, observations,
                          {t: spec.term(t).kind for t in spec.terms})
    for key, value in (("validation_start", validation_start), ("test_start", test_start)):
        if value is not None:
            out.attrs[key] = str(value)
    return model, out


def _train_config(config: TrainConfig | None, overrides: Mapping[str, Any]) -> TrainConfig:
    """``config`` (default :class:`~xh2cm.training.TrainConfig`) with fields overridden."""
    from xh2cm.training import TrainConfig

    known = {f.name for f in fields(TrainConfig)}
    bad = set(overrides) - known
    if bad:
        raise TypeError(f"unknown training options {sorted(bad)}; TrainConfig fields: "
                        f"{sorted(known)}")
    return (config or TrainConfig()).replace(**overrides)


def _first_day(prep: Prepared, start: str, what: str) -> int:
    """Index of the first forcing day on or after ``start`` (any calendar), ``what`` naming
    the argument in the error."""
    stamp = pd.Timestamp(start)
    code = stamp.year * 10000 + stamp.month * 100 + stamp.day
    days = day_codes(prep.forcing[prep.time_dim].values)
    first = int(np.searchsorted(days, code))
    if not 0 < first < days.size:
        raise ValueError(f"{what}={start!r} is not inside the forcing period "
                         f"({days[0]} .. {days[-1]}); pick a date that leaves days before "
                         "and after it")
    return first


def _used_cells(prep: Prepared, cells: xr.DataArray | None) -> np.ndarray:
    """Flat indices of the valid cells available to training (``cells=``)."""
    used = prep.cells()
    if cells is not None:
        used = used[_flat_mask(cells, prep, "cells=")[used]]
        if used.size == 0:
            raise ValueError("cells= selects no valid cell")
    return used


#: Training cells a fresh model's input standardisation is computed from when training
#: reads its forcing batch by batch (``in_memory=False``).
LAZY_STATS_CELLS = 2_000


def _training_data(prep: Prepared, observations: Observations, used: np.ndarray,
                   lazy: bool = False) -> TrainingData:
    """Forcing, observations, calendar and area weights of the ``used`` cells (forcing
    lazy with ``lazy``)."""
    from xh2cm.training import TrainingData, month_calendar

    forcing, static_arr = prep.arrays(used, lazy=lazy)
    month_index, calendar_month, _ = month_calendar(prep.forcing[prep.time_dim].values)
    lat, _ = _cell_coords(prep)
    return TrainingData(
        forcing=forcing, static=static_arr, month_index=month_index,
        calendar_month=calendar_month,
        monthly={k: v[:, used] for k, v in observations.monthly.items()},
        cue=None if observations.cue is None else observations.cue[used],
        area=None if lat is None else np.cos(np.deg2rad(lat[used])),
        daily={k: v[:, used] for k, v in observations.daily.items()})


def _fit_sweep(prep: Prepared, data: TrainingData, val_data: TrainingData | None,
               used: np.ndarray, train_pos: np.ndarray, val_pos: np.ndarray,
               observations: Observations, cfg: TrainConfig,
               callback: Callable[..., None] | None, *,
               sweep: Sequence[tuple[Any, ...]], select_on: Sequence[str] | None,
               weights: LossWeights | Mapping[str, float] | None, priors: bool,
               kinds: Mapping[str, str], model_kwargs: Mapping[str, Any] | None,
               attrs: Mapping[str, str | None]) -> tuple[Ensemble, xr.Dataset]:
    """``fit_dataset(..., sweep=[(seed, weights), ...])``: one batch of models."""
    from xh2cm.training import LossSpec, LossWeights
    from xh2cm.training.ensemble import Ensemble, Member, train_ensemble

    if not sweep:
        raise ValueError("sweep= is empty: give (model_seed, weights) pairs")
    base = LossWeights.from_any(weights)
    own = [base.replace(**dict(m[1])) for m in sweep]
    # the union of the members' terms: a term any member weights > 0 is in the loss
    union = base.replace(**{f.name: max(w[f.name] for w in own) for f in fields(base)})
    spec = LossSpec.for_observations(data.available, union, priors=priors, kinds=kinds)
    val = val_pos if val_pos.size else None
    rates = [float(m[2]) if len(m) > 2 else None for m in sweep]
    members = [Member(train_pos, val, weights=w, learning_rate=r)
               for w, r in zip(own, rates, strict=True)]
    stats = random_subset(used[train_pos], None, 0)
    models = [init_model_from_prepared(prep, stats, int(m[0]), **dict(model_kwargs or {}))
              for m in sweep]
    fitted, histories = train_ensemble(models, data, members, spec=spec, config=cfg,
                                       callback=callback, val_data=val_data,
                                       select_on=select_on)
    names = tuple(" ".join([f"seed{m[0]}", *(f"{k}={v:g}" for k, v in dict(m[1]).items()),
                            *([f"lr={r:g}"] if r is not None else [])])
                  for m, r in zip(sweep, rates, strict=True))
    role = np.zeros(prep.n_cells, np.int8)
    role[used[val_pos]] = VALIDATION
    role[used[train_pos]] = TRAIN
    term_kinds = {t: spec.term(t).kind for t in spec.terms}
    out = xr.concat([history_dataset(h, prep, role, observations, term_kinds)
                     for h in histories], dim=pd.Index(list(names), name="member"),
                    join="outer", combine_attrs="override")
    out.attrs.update(best_epoch=json.dumps([h.best_epoch or -1 for h in histories]),
                     stopped_early=json.dumps([int(h.stopped_early) for h in histories]),
                     **{k: str(v) for k, v in attrs.items() if v is not None})
    info = {"sweep": [[int(m[0]), dict(m[1]), r] for m, r in zip(sweep, rates, strict=True)]}
    return Ensemble(fitted, names, None, None, info), out


def _fit_folds(prep: Prepared, data: TrainingData, used: np.ndarray,
               observations: Observations, spec: LossSpec, cfg: TrainConfig,
               model: H2CM | None, callback: Callable[..., None] | None, *, folds: int,
               fold_method: FoldMethod, block_size: float, validate: bool, lazy: bool,
               model_seed: int, model_kwargs: Mapping[str, Any] | None,
               validation_start: str | None) -> tuple[Ensemble, xr.Dataset]:
    """``fit_dataset(..., folds=k)``: the k fold models trained as one batch."""
    from xh2cm.training.cv import spatial_kfold
    from xh2cm.training.ensemble import Ensemble, Member, train_ensemble

    if validation_start is not None:
        raise ValueError("folds= holds cells out; validation_start= holds time out: use one")
    if validate and folds < 3:
        raise ValueError(f"folds={folds} with validation: each model needs a test fold, a "
                         "validation fold and training folds; use folds >= 3 or "
                         "validation=None")
    lat, lon = _cell_coords(prep)
    if lat is None or lon is None:
        if fold_method == "block":
            raise ValueError("folds= with fold_method='block' needs lat/lon coordinates; "
                             "use fold_method='random'")
        lat = lon = np.zeros(prep.n_cells)
    fold = spatial_kfold(lat[used], lon[used], folds, method=fold_method,
                         block_size=block_size, seed=cfg.seed)
    members = [Member(np.flatnonzero((fold != f) & (fold != (f + 1) % folds)),
                      np.flatnonzero(fold == (f + 1) % folds))
               if validate else Member(np.flatnonzero(fold != f)) for f in range(folds)]
    models = [model if model is not None else init_model_from_prepared(
        prep, random_subset(used[m.train_cells], LAZY_STATS_CELLS if lazy else None,
                            model_seed + f), model_seed + f, **dict(model_kwargs or {}))
        for f, m in enumerate(members)]
    fitted, histories = train_ensemble(models, data, members, spec=spec, config=cfg,
                                       callback=callback)
    names = tuple(f"fold{f}" for f in range(folds))
    held_out = np.full(prep.n_cells, -1, np.int32)
    held_out[used] = fold
    grid = {str(d): int(n) for d, n in prep.valid.sizes.items()}
    info = {"folds": folds, "fold_method": fold_method, "block_size": block_size,
            "validation": "next fold" if validate else "none", "seed": cfg.seed}
    kinds = {t: spec.term(t).kind for t in spec.terms}
    parts = []
    for m, h in zip(members, histories, strict=True):
        role = np.zeros(prep.n_cells, np.int8)
        role[used[m.train_cells]] = TRAIN
        if m.val_cells is not None:
            role[used[m.val_cells]] = VALIDATION
        parts.append(history_dataset(h, prep, role, observations, kinds))
    out = xr.concat(parts, dim=pd.Index(list(names), name="member"), join="outer",
                    combine_attrs="override")
    out.attrs.update(best_epoch=json.dumps([h.best_epoch or -1 for h in histories]),
                     stopped_early=json.dumps([int(h.stopped_early) for h in histories]),
                     folds=json.dumps(info))
    out["fold"] = (prep.valid.dims, held_out.reshape(prep.valid.shape),
                   {"long_name": "cross-validation fold (= the member that held the cell "
                                 "out); -1: not used"})
    return Ensemble(fitted, names, held_out, grid, info), out
