"""Several models of equal shape trained as one batch: k-fold cross-validation, seed and
loss-weight sweeps.

Design choices
--------------
- **One compiled step for all members.** The members' array leaves are stacked along a
  leading axis and :func:`~xh2cm.training.trainer.update` (the body of the single
  trainer's step) runs under ``eqx.filter_vmap``: each member has its own batch of cells
  (its own training cells, its own batch order), its own observation scales and its own
  loss weights (traced values, so a sweep of weights shares the compile). One XLA
  program serves every member and every step (:func:`compiles` counts them).
- **Each member is the fit it would be alone.** A member's steps per epoch, batch order
  (``default_rng([seed, epoch])``), learning-rate schedule (over its own number of
  steps), early stopping and best state are those of :func:`~xh2cm.training.train`
  with the same cells and seed. The optimizer runs at learning rate 1
  (:func:`~xh2cm.training.trainer.unit_optimizer`) and each member's updates are scaled
  by its own schedule at its own step count, so members whose schedules differ share
  the step. A member with fewer steps in an epoch, or one that stopped early, sits the
  remaining steps out (``active`` False: parameters and optimizer state kept bit for
  bit). Results equal separate fits to float32 round-off (tested); a member whose
  training cells are fewer than ``batch_size`` is padded with zero-weight cells to the
  others' batch size, which changes only round-off.
- **An ensemble** (:class:`Ensemble`) is the trained models with a name per member and,
  for cross-validation, the member that held out each grid cell; it is one checksummed
  file (:func:`xh2cm.core.serialization.save_ensemble`).
- **Checkpoints** hold the stacked models, optimizer states and best models with every
  member's bookkeeping in one file, so an ensemble resumes exactly like a single fit.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from xh2cm.core.compiled import release_compiled_code
from xh2cm.core.model import H2CM, Forcing, trainable_filter
from xh2cm.core.serialization import load_ensemble, save_ensemble
from xh2cm.core.types import StaticPredictors
from xh2cm.training import checkpoint as ckpt
from xh2cm.training.data import TrainingData
from xh2cm.training.losses import LossSpec, LossWeights, ObsBatch, observation_scales
from xh2cm.training.trainer import (
    History,
    TrainConfig,
    _build_optimizer,
    _fingerprint,
    _identity,
    check_resumed,
    evaluate_terms,
    resume_path,
    unit_optimizer,
    update,
)

#: Traces (= XLA compiles) of the batched step and evaluation in this process.
_TRACES = {"step": 0, "eval": 0}


def compiles() -> dict[str, int]:
    """How often the batched training step and evaluation have been traced (each trace
    is one XLA compile) in this process.

    Examples
    --------
    >>> sorted(compiles())
    ['eval', 'step']
    """
    return dict(_TRACES)


@dataclass(frozen=True)
class Member:
    """One model of a batch: its cells, batch-order seed and loss weights.

    Parameters
    ----------
    train_cells : ndarray
        Indices of its training cells.
    val_cells : ndarray, optional
        Its validation cells (early stopping, best state); None: none.
    seed : int, optional
        Seed of its batch order (default: ``TrainConfig.seed``).
    weights : LossWeights or mapping, optional
        Its weights of the active terms (default: the ``LossSpec``'s); a weight of 0
        switches a term off for this member only.
    learning_rate : float, optional
        Its peak learning rate (default: ``TrainConfig.learning_rate``; the schedule's
        shape is the config's), e.g. for a learning-rate sweep in one batch.
    """

    train_cells: np.ndarray
    val_cells: np.ndarray | None = None
    seed: int | None = None
    weights: LossWeights | Mapping[str, float] | None = None
    learning_rate: float | None = None


@dataclass
class Ensemble:
    """Models of one configuration run together (``ds.h2cm.run(ensemble)``: a ``member``
    dimension), e.g. the fold models of a spatial cross-validation.

    Attributes
    ----------
    models : list of H2CM
        One model per member (one :class:`~xh2cm.core.ModelConfig`).
    names : tuple of str
        Member labels (the ``member`` coordinate of a run), e.g. ``"fold0"``.
    held_out : ndarray, optional
        ``(cell,)`` int over the flattened spatial grid ``grid`` (C order): the member
        that never saw the cell in training or validation (-1: none); what
        ``run(ensemble, out_of_fold=True)`` uses.
    grid : dict, optional
        ``{dim: size}`` of the spatial grid ``held_out`` lies on.
    metadata : dict
        JSON-serialisable notes (how the folds were made, the training settings).

    Examples
    --------
    >>> import numpy as np
    >>> from xh2cm.core import ModelConfig, init_model
    >>> models = [init_model(ModelConfig(hidden_size=4), seed=s) for s in (0, 1)]
    >>> ens = Ensemble(models, ("fold0", "fold1"), np.array([0, 1, -1]), {"site": 3})
    >>> len(ens), ens.names
    (2, ('fold0', 'fold1'))
    """

    models: list[H2CM]
    names: tuple[str, ...]
    held_out: np.ndarray | None = None
    grid: dict[str, int] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.models, self.names = list(self.models), tuple(str(n) for n in self.names)
        if not self.models or len(self.names) != len(self.models):
            raise ValueError(f"{len(self.models)} models and {len(self.names)} names; give "
                             "one name per model (and at least one model)")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"member names must be unique, got {self.names}")
        stack(self.models)  # one configuration, equal shapes
        if self.held_out is not None:
            self.held_out = np.asarray(self.held_out, np.int32).ravel()
            size = int(np.prod(list((self.grid or {}).values()), dtype=int))
            if self.grid is None or size != self.held_out.size:
                raise ValueError(f"held_out has {self.held_out.size} cells; grid= must give "
                                 f"the spatial sizes it lies on (got {self.grid})")
            if self.held_out.max() >= len(self.models) or self.held_out.min() < -1:
                raise ValueError(f"held_out must name members 0..{len(self.models) - 1} or -1")

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterator[H2CM]:
        return iter(self.models)

    def __getitem__(self, i: int) -> H2CM:
        return self.models[i]

    @property
    def config(self) -> Any:
        """The members' :class:`~xh2cm.core.ModelConfig`."""
        return self.models[0].config

    def save(self, path: str | os.PathLike) -> None:
        """Write the ensemble to one checksummed file (:meth:`load` reads it)."""
        arrays = {} if self.held_out is None else {"held_out": self.held_out}
        save_ensemble(path, self.models, arrays, {"names": list(self.names), "grid": self.grid,
                                                  "metadata": self.metadata})

    @classmethod
    def load(cls, path: str | os.PathLike) -> Ensemble:
        """Read a file written by :meth:`save`."""
        models, arrays, meta = load_ensemble(path)
        return cls(models, tuple(meta["names"]), arrays.get("held_out"), meta["grid"],
                   meta["metadata"])


def stack(models: Sequence[H2CM]) -> H2CM:
    """One model whose array leaves are the ``models``' stacked along a first axis.

    Raises
    ------
    ValueError
        If the models differ in configuration or leaf shapes.
    """
    arrays = [eqx.filter(m, eqx.is_array) for m in models]
    statics = [eqx.partition(m, eqx.is_array)[1] for m in models]
    shapes = [[x.shape for x in jax.tree_util.tree_leaves(a)] for a in arrays]
    for i in range(1, len(models)):
        if not eqx.tree_equal(statics[0], statics[i]) or shapes[i] != shapes[0]:
            raise ValueError(f"model {i} differs from model 0 in configuration or shapes; "
                             "models trained as one batch must share one ModelConfig")
    return eqx.combine(jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *arrays), statics[0])


def unstack(stacked: H2CM, n: int) -> list[H2CM]:
    """The ``n`` models of :func:`stack`."""
    arrays, static = eqx.partition(stacked, eqx.is_array)
    return [eqx.combine(jax.tree_util.tree_map(lambda x, i=i: x[i], arrays), static)
            for i in range(n)]


def _stack_tree(trees: Sequence[Any]) -> Any:
    return jax.tree_util.tree_map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *trees)


@eqx.filter_jit
def ensemble_step(models: H2CM, opt_states: Any, forcing: Forcing,
                  static: StaticPredictors | None, obs: ObsBatch, scales: dict[str, jax.Array],
                  weights: dict[str, jax.Array], lr: jax.Array, active: jax.Array,
                  optimizer: optax.GradientTransformation, spec: LossSpec,
                  spinup_cycles: int = 1, segment: int | None = None,
                  equilibrium_gradient: bool = True, spinup_gradient: bool = False) -> Any:
    """:func:`~xh2cm.training.trainer.update` of every member at once (every argument
    but the static ones stacked along a first, member axis); returns what it returns,
    stacked."""
    _TRACES["step"] += 1  # Python runs only while tracing

    def one(model: H2CM, opt_state: Any, forcing: Forcing, static: Any, obs: ObsBatch,
            scales: Any, weights: Any, lr: jax.Array, active: jax.Array) -> Any:
        return update(model, opt_state, forcing, static, obs, scales, optimizer, spec,
                      spinup_cycles, segment, equilibrium_gradient, spinup_gradient,
                      weights=weights, lr=lr, active=active)

    return eqx.filter_vmap(one)(models, opt_states, forcing, static, obs, scales, weights,
                                lr, active)


@eqx.filter_jit
def ensemble_eval(models: H2CM, forcing: Forcing, static: StaticPredictors | None,
                  obs: ObsBatch, scales: dict[str, jax.Array], weights: dict[str, jax.Array],
                  spec: LossSpec, spinup_cycles: int = 1) -> Any:
    """Every member's loss on its own batch, without gradient: ``(total, terms)``."""
    _TRACES["eval"] += 1

    def one(model: H2CM, forcing: Forcing, static: Any, obs: ObsBatch, scales: Any,
            weights: Any) -> Any:
        return evaluate_terms(model, forcing, static, obs, scales, spec, spinup_cycles,
                              weights)

    return eqx.filter_vmap(one)(models, forcing, static, obs, scales, weights)


@dataclass(frozen=True)
class _Setup:
    """What stays fixed during one call of :func:`train_ensemble`."""

    config: TrainConfig
    spec: LossSpec
    data: TrainingData
    val_data: TrainingData
    train: list[np.ndarray]
    val: list[np.ndarray | None]
    seeds: list[int]
    batch_size: int
    steps: list[int]
    optimizer: optax.GradientTransformation
    schedules: list[optax.Schedule]
    scales: list[dict[str, float]]
    jscales: dict[str, jax.Array]
    jweights: dict[str, jax.Array]
    segment: int | None
    identity: dict[str, str]
    fingerprint: str
    select_on: tuple[str, ...] | None = None

    @property
    def k(self) -> int:
        return len(self.train)


@dataclass
class _Run:
    """What changes as training runs: exactly what a checkpoint stores."""

    models: H2CM
    opt_states: Any
    best: H2CM
    histories: list[History]
    epoch: int = 0
    best_val: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bad: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    stopped: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def _set_up(data: TrainingData, members: Sequence[Member], spec: LossSpec,
            config: TrainConfig, scales: Sequence[Mapping[str, float]] | None,
            val_data: TrainingData | None = None,
            select_on: Sequence[str] | None = None) -> _Setup:
    """Check the members; batch size, steps, schedules, scales, weights, identity."""
    if not members:
        raise ValueError("no members to train")
    if val_data is not None and (val_data.n_cells, val_data.n_time) != (data.n_cells,
                                                                        data.n_time):
        raise ValueError("val_data must hold the same cells and days as data (only its "
                         "observations differ, TrainingData.split_time)")
    if config.devices is not None:
        raise ValueError("devices= is not supported for a batch of models (each member's "
                         "cells run on one device); pass devices=None")
    missing = [o for o in spec.daily_obs if o not in data.daily]
    if missing:
        raise ValueError(f"the loss compares {missing} daily, but the training data hold no "
                         f"daily {missing}; give daily observations or drop those terms")
    train = [np.asarray(m.train_cells, np.int64) for m in members]
    val = [None if m.val_cells is None or len(m.val_cells) == 0
           else np.asarray(m.val_cells, np.int64) for m in members]
    empty = [i for i, t in enumerate(train) if t.size == 0]
    if empty:
        raise ValueError(f"members {empty} have no training cells")
    bs = min(config.batch_size, max(t.size for t in train))
    steps = [math.ceil(t.size / min(bs, t.size)) for t in train]
    schedules = [_build_optimizer(config if m.learning_rate is None else
                                  config.replace(learning_rate=float(m.learning_rate)), n)[1]
                 for m, n in zip(members, steps, strict=True)]
    if scales is None:
        scales = [observation_scales(data.obs(t), spec) for t in train]
    weights = [LossWeights.from_any(spec.weights if m.weights is None else m.weights)
               for m in members]
    seeds = [config.seed if m.seed is None else int(m.seed) for m in members]
    identity: dict[str, str] = {}
    for i, (t, v, w, seed) in enumerate(zip(train, val, weights, seeds, strict=True)):
        lr = members[i].learning_rate
        one = _identity(config.replace(seed=seed, learning_rate=config.learning_rate
                                       if lr is None else float(lr)),
                        dataclasses.replace(spec, weights=w), t, v)
        identity.update({f"member {i} {k}": x for k, x in one.items()})
    return _Setup(
        config, spec, data, val_data or data, train, val, seeds, bs, steps,
        unit_optimizer(config), schedules,
        [dict(s) for s in scales],
        {n: jnp.asarray([s[n] for s in scales], jnp.float32) for n in scales[0]},
        {n: jnp.asarray([w[n] for w in weights], jnp.float32) for n in spec.names},
        config.segment_for(data.n_time), identity, _fingerprint(identity),
        None if select_on is None else _selection_terms(select_on, spec))


def _selection_terms(select_on: Sequence[str], spec: LossSpec) -> tuple[str, ...]:
    """The terms of ``select_on`` the loss has (a ValueError names any it has not)."""
    unknown = [t for t in select_on if t not in spec.names]
    if unknown or not select_on:
        raise ValueError(f"select_on={list(select_on)}: the loss has no terms {unknown}; "
                         f"its terms are {list(spec.names)}")
    return tuple(select_on)


def _start(models: Sequence[H2CM], s: _Setup) -> _Run:
    """A fresh run, or the one in the newest checkpoint when ``config.resume``."""
    stacked = stack(models)
    opt_states = eqx.filter_vmap(
        lambda m: s.optimizer.init(eqx.filter(m, trainable_filter(m))))(stacked)
    run = _Run(stacked, opt_states, stacked,
               [History(s.spec.names, scales=dict(sc)) for sc in s.scales], 0,
               np.full(s.k, math.inf), np.zeros(s.k, int), np.zeros(s.k, bool))
    path = resume_path(s.config, stacklevel=5)
    if path is None:
        return run
    (stacked, opt_states, best), state = ckpt.load_checkpoint(
        path, (stacked, opt_states, stacked))
    check_resumed(path, state, s.config, s.fingerprint, s.identity)
    return _Run(stacked, opt_states, best, [History.from_json(h) for h in state["histories"]],
                state["epoch"], np.asarray(state["best_val"], float),
                np.asarray(state["bad"], int), np.asarray(state["stopped"], bool))


def _counts(opt_states: Any) -> np.ndarray:
    """Applied steps of each member, from the stacked optimizer state (Adam's count)."""
    has = lambda x: isinstance(getattr(x, "count", None), jax.Array)  # noqa: E731
    for st in jax.tree_util.tree_leaves(opt_states, is_leaf=has):
        if has(st):
            return np.asarray(st.count)
    raise ValueError("the optimizer state records no step count")


def _learning_rates(run: _Run, s: _Setup) -> np.ndarray:
    """Each member's learning rate at its own step count, on its own schedule."""
    return np.array([float(sched(int(c))) for sched, c in
                     zip(s.schedules, _counts(run.opt_states), strict=True)], np.float32)


def _batch(s: _Setup, data: TrainingData, cells: list[np.ndarray]
           ) -> tuple[Forcing, StaticPredictors | None, ObsBatch]:
    """The members' batches (padded to the batch size), stacked."""
    forcing, static, obs = _stack_tree([data.batch(c, s.batch_size) for c in cells])
    return forcing, static, obs


def _train_epoch(run: _Run, s: _Setup, bar: Any) -> list[dict[str, float]]:
    """One pass of every member over its training cells; mean loss terms per member."""
    perms = [t[np.random.default_rng([seed, run.epoch]).permutation(t.size)]
             for t, seed in zip(s.train, s.seeds, strict=True)]
    bs = s.batch_size
    sums: list[dict[str, float]] = [{} for _ in range(s.k)]
    n_ok, skipped = np.zeros(s.k, int), np.zeros(s.k, int)
    for b in range(max(s.steps)):
        active = np.array([b < n for n in s.steps]) & ~run.stopped
        cells = [p[b * bs:(b + 1) * bs] if a else p[:1] for p, a in zip(perms, active,
                                                                        strict=True)]
        lr = _learning_rates(run, s)
        run.models, run.opt_states, total, terms, ok = ensemble_step(
            run.models, run.opt_states, *_batch(s, s.data, cells), s.jscales, s.jweights,
            jnp.asarray(lr), jnp.asarray(active), s.optimizer, s.spec,
            s.config.spinup_cycles, s.segment, s.config.equilibrium_gradient,
            s.config.spinup_gradient)
        ok, values = np.asarray(ok), {**{k: np.asarray(v) for k, v in terms.items()},
                                      "total": np.asarray(total)}
        for i in np.flatnonzero(active):
            if ok[i]:
                n_ok[i] += 1
                for k, v in values.items():
                    sums[i][k] = sums[i].get(k, 0.0) + float(v[i])
            else:
                skipped[i] += 1
        if bar is not None:
            bar.update(1)
    return [{**{f"train_{k}": (v / n_ok[i] if n_ok[i] else math.nan)
                for k, v in sums[i].items()}, "skipped": float(skipped[i])}
            for i in range(s.k)]


def _validate(run: _Run, s: _Setup) -> list[dict[str, float]]:
    """Every member's validation loss on its own cells; keeps each member's best state
    and counts its epochs without progress."""
    bs = s.batch_size
    sizes = [0 if v is None else v.size for v in s.val]
    sums: list[dict[str, float]] = [{} for _ in range(s.k)]
    for b in range(max(math.ceil(n / bs) for n in sizes)):
        cells = [v[b * bs:(b + 1) * bs] if v is not None and b * bs < v.size else t[:1]
                 for v, t in zip(s.val, s.train, strict=True)]
        total, terms = ensemble_eval(run.models, *_batch(s, s.val_data, cells), s.jscales,
                                     s.jweights, s.spec, s.config.spinup_cycles)
        values = {**{k: np.asarray(v) for k, v in terms.items()}, "total": np.asarray(total)}
        for i in range(s.k):
            n = max(0, min(bs, sizes[i] - b * bs))
            for k, v in values.items():
                if n:
                    sums[i][k] = sums[i].get(k, 0.0) + float(v[i]) * n
    recs: list[dict[str, float]] = []
    better = np.zeros(s.k, bool)
    for i in range(s.k):
        if not sizes[i]:
            recs.append({})
            continue
        val = {k: v / sizes[i] for k, v in sums[i].items()}
        crit = val["total"] if s.select_on is None else sum(
            float(s.jweights[n][i]) * val[n] for n in s.select_on)
        if (not run.stopped[i] and math.isfinite(crit)
                and crit < run.best_val[i] - s.config.min_delta):
            better[i], run.best_val[i], run.bad[i] = True, crit, 0
            run.histories[i].best_epoch = run.epoch + 1
        elif not run.stopped[i]:
            run.bad[i] += 1
        recs.append({f"val_{k}": v for k, v in val.items()})
    run.best = _where_member(better, run.models, run.best)
    return recs


def _where_member(mask: np.ndarray, new: Any, old: Any) -> Any:
    """Per member (first axis), ``new`` where ``mask`` else ``old``."""
    if not mask.any():
        return old
    m = jnp.asarray(mask)
    arrays = jax.tree_util.tree_map(
        lambda a, b: jnp.where(m.reshape((-1,) + (1,) * (a.ndim - 1)), a, b),
        eqx.filter(new, eqx.is_array), eqx.filter(old, eqx.is_array))
    return eqx.combine(arrays, eqx.partition(old, eqx.is_array)[1])


def _epoch(run: _Run, s: _Setup, bar: Any) -> None:
    """Train, validate, record, checkpoint one epoch of every member still training."""
    t0 = time.perf_counter()
    trained = _train_epoch(run, s, bar)
    checked = _validate(run, s) if any(v is not None for v in s.val) else [{}] * s.k
    lr = _learning_rates(run, s)
    seconds = time.perf_counter() - t0
    for i in range(s.k):
        if run.stopped[i]:
            continue
        rec = {"epoch": run.epoch + 1, **trained[i], **checked[i], "lr": float(lr[i]),
               "seconds": seconds}
        rec["skipped"] = rec.pop("skipped")
        run.histories[i].records.append(rec)
        if (s.val[i] is not None and s.config.patience is not None
                and run.bad[i] >= s.config.patience):
            run.stopped[i] = run.histories[i].stopped_early = True
    run.epoch += 1
    _save(run, s, last=bool(run.stopped.all()) or run.epoch == s.config.epochs)


def _save(run: _Run, s: _Setup, last: bool) -> None:
    """Checkpoint every ``checkpoint_every`` epochs and at the end; prune old ones."""
    c = s.config
    if not c.checkpoint_dir or not ((run.epoch % max(c.checkpoint_every, 1) == 0) or last):
        return
    state = {"epoch": run.epoch, "best_val": run.best_val.tolist(), "bad": run.bad.tolist(),
             "stopped": run.stopped.tolist(),
             "histories": [h.to_json() for h in run.histories], "fingerprint": s.fingerprint,
             "identity": s.identity, "epochs": c.epochs}
    ckpt.save_checkpoint(ckpt.checkpoint_path(c.checkpoint_dir, run.epoch),
                         (run.models, run.opt_states, run.best), state)
    ckpt.prune_checkpoints(c.checkpoint_dir, c.keep_checkpoints)


def train_ensemble(models: H2CM | Sequence[H2CM], data: TrainingData,
                   members: Sequence[Member], *, spec: LossSpec | None = None,
                   config: TrainConfig | None = None,
                   scales: Sequence[Mapping[str, float]] | None = None,
                   callback: Callable[[int, list[H2CM], list[History]], None] | None = None,
                   val_data: TrainingData | None = None,
                   select_on: Sequence[str] | None = None,
                   ) -> tuple[list[H2CM], list[History]]:
    """Train several models of one configuration as one batch (see the module docstring).

    Parameters
    ----------
    models : H2CM or sequence of H2CM
        Starting models, one per member (or one, copied to every member).
    data : TrainingData
        Forcing and observations of all cells (every member's cells index into it).
    members : sequence of Member
        Each member's training and validation cells, seed and loss weights.
    spec : LossSpec, optional
        Active terms and priors (default: every term the data has); the union of
        what the members use, their own weights applied on top.
    config : TrainConfig, optional
        Shared settings (``seed`` is the default of the members' seeds).
    scales : sequence of dict, optional
        Each member's observation scales; default: from its training cells.
    callback : callable, optional
        ``callback(epoch, models, histories)`` after each epoch.
    val_data : TrainingData, optional
        Observations the members validate on (same cells and days as ``data``, e.g. a
        block in time: :meth:`~xh2cm.training.TrainingData.split_time`); default ``data``.
    select_on : sequence of str, optional
        Terms whose weighted validation sum chooses each member's best epoch and stops it
        early (default: the whole validation total), e.g. the targets without a
        constraint term whose validation error would dominate.

    Returns
    -------
    models : list of H2CM
        Each member's trained model (its best validation epoch if ``restore_best``).
    histories : list of History

    Examples
    --------
    >>> import numpy as np
    >>> import xh2cm
    >>> from xh2cm.core import ModelConfig, init_model
    >>> from xh2cm.training import TrainConfig, TrainingData, month_calendar
    >>> from xh2cm.training.ensemble import Member, train_ensemble
    >>> rng = np.random.default_rng(0)
    >>> f = {"rn": rng.uniform(0, 200, (62, 6)), "prec": rng.exponential(2, (62, 6)),
    ...      "tair": rng.normal(10, 8, (62, 6)), "vpd": rng.uniform(1, 20, (62, 6)),
    ...      "co2": 410.0}
    >>> dates = np.arange("2001-01-01", "2001-03-04", dtype="datetime64[D]")  # 62 days
    >>> mi, cal, _ = month_calendar(dates)
    >>> data = TrainingData(f, None, mi, cal, {"gpp": rng.uniform(0, 5, (3, 6))})
    >>> model = init_model(ModelConfig(hidden_size=4), seed=0, forcing=f)
    >>> members = [Member(np.array([0, 1, 2])), Member(np.array([3, 4, 5]), seed=1)]
    >>> fitted, histories = train_ensemble(model, data, members, config=TrainConfig(
    ...     epochs=2, batch_size=3, progress=False, segment=None))
    >>> len(fitted), [len(h.records) for h in histories]
    (2, [2, 2])
    """
    release_compiled_code()  # a long session must not run out of memory mappings
    config = config or TrainConfig()
    setup = _set_up(data, members, spec or LossSpec.for_observations(data.available),
                    config, scales, val_data, select_on)
    models = [models] * setup.k if isinstance(models, H2CM) else list(models)
    if len(models) != setup.k:
        raise ValueError(f"{len(models)} models for {setup.k} members")
    run = _start(models, setup)
    bar = None
    if config.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.epochs * max(setup.steps), initial=run.epoch * max(setup.steps),
                   desc=f"h2cm fit x{setup.k}", unit="step", dynamic_ncols=True)
    try:
        while not run.stopped.all() and run.epoch < config.epochs:
            _epoch(run, setup, bar)
            if callback is not None:
                callback(run.epoch, unstack(run.models, setup.k), run.histories)
    finally:
        if bar is not None:
            bar.close()
    last, best = unstack(run.models, setup.k), unstack(run.best, setup.k)
    return ([b if v is not None and config.restore_best and h.best_epoch else m
             for m, b, v, h in zip(last, best, setup.val, run.histories, strict=True)],
            run.histories)
