"""The training loop: one jitted step (spin-up, forward, loss, gradient, update), epochs of
cell batches, validation, early stopping, checkpoints and exact resume.

Design choices
--------------
- **One compiled step.** :func:`train_step` is a single ``eqx.filter_jit``
  function: spin-up without gradient (docs/model/training.md), the forward run with
  gradient, every loss term, ``value_and_grad``, the non-finite check and the
  optax update. A last, smaller batch is padded with zero-weight cells so the
  shape (and the compiled program) never changes.
- **Non-finite steps are skipped inside the step.** If the loss or any
  gradient is not finite, ``jnp.where`` keeps the previous parameters *and*
  optimizer state (Adam moments, step count) bit for bit, and the step is
  counted and logged; a NaN batch can never reach the model.
- **Bounded memory for long series.** The forward run uses the core's
  two-level ``jax.checkpoint`` over time segments (``segment`` days;
  ``"auto"`` = ceil(sqrt(time))): the backward pass stores one state per
  segment boundary plus one segment of step residuals, O(sqrt(T)) instead of
  O(T) per cell, and recomputes the forward pass inside segments, so a step
  costs about one extra forward pass. Measured on CPU (1,000 cells x 730 days,
  hidden 100, batches of 250, ``benchmarks/train.py``): +14–21 % step time,
  peak RSS 1.1 GiB instead of 3.9 GiB. Results are identical up to round-off.
  Only the outputs the active loss terms need are kept (unused scan outputs
  are removed by JAX's dead-code elimination).
- **Gradients of the global constants.** Spin-up runs without gradient; by
  default the spun-up groundwater is re-attached to ``beta_base`` with its
  equilibrium sensitivity (``equilibrium_gradient``; same forward run), so
  that ``beta_base`` is learned from recession behaviour instead of acting
  as a spurious knob on mean baseflow. ``spinup_gradient=True`` computes the
  exact gradient through the spin-up instead (about 2x compute);
  ``constants_lr_scale`` speeds up the constants. Measured in the twin
  experiment (docs/results.md): once the soil capacity can be learned
  (``ModelConfig.sm_max_scale``), beta_base is recovered within 3 % with the
  equilibrium gradient or the reference (stopped) one alike.
- **Determinism.** Batch order is ``default_rng([seed, epoch]).permutation``;
  with bit-exact checkpoints (:mod:`xh2cm.training.checkpoint`) a resumed run
  reproduces an uninterrupted one exactly.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from xh2cm.core.compiled import release_compiled_code
from xh2cm.core.model import (
    H2CM,
    Forcing,
    State,
    reattach_groundwater,
    spinup,
    spun_up,
    trainable_filter,
)
from xh2cm.core.types import Scalar, StaticPredictors
from xh2cm.training import checkpoint as ckpt
from xh2cm.training.data import TrainingData
from xh2cm.training.losses import LossSpec, ObsBatch, loss_terms, observation_scales, total_loss

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("xh2cm.training")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of :func:`train`.

    Parameters
    ----------
    epochs : int
        Maximum number of passes over the training cells.
    batch_size : int
        Cells per step.
    learning_rate : float
        Peak learning rate.
    schedule : {"constant", "cosine", "warmup_cosine"}
        Learning-rate schedule over all steps; cosine decays to
        ``learning_rate * end_lr_fraction``.
    warmup_epochs : int
        Linear warm-up length (``"warmup_cosine"`` only).
    end_lr_fraction : float
        Final / peak learning rate of the cosine schedules.
    optimizer : {"adam", "adamw"}
        Adam-type optimizer; ``weight_decay`` is used by ``"adamw"``.
    weight_decay : float
    constants_lr_scale : float
        Learning rate of the learned global constants (``beta_snow``,
        ``beta_base``, ``q10``, ``beta_co2``) relative to the networks'. Adam
        moves each raw constant by about one learning rate per step whatever
        its gradient's size, so constants that must travel a few logit units
        (e.g. ``beta_base`` from 0.0025 to 0.01) need many steps at the
        networks' rate; a scale of ~10 lets them keep up (see the twin
        experiment in docs/results.md). 1: one rate for all.
    clip_norm : float or None
        Global gradient-norm clipping (None: off).
    spinup_cycles : int
        Spin-up passes (no gradient) before the forward run of each batch.
    equilibrium_gradient : bool
        Re-attach the spun-up groundwater to ``beta_base`` with its
        linear-reservoir equilibrium sensitivity
        (:func:`~xh2cm.core.model.reattach_groundwater`): same forward run,
        but ``beta_base`` no longer looks like a knob on mean baseflow. On
        by default; False reproduces the reference training exactly (see
        docs/model.md).
    spinup_gradient : bool
        Differentiate through the spin-up as well (the exact gradient of the
        spun-up loss; ``equilibrium_gradient`` is then not needed). Costs
        about twice the compute of a step; memory stays bounded by
        ``segment``. Off by default (docs/model/training.md: spin-up without gradient).
    segment : int, "auto" or None
        Gradient-checkpoint segment length in days (see module docstring);
        None stores every step (fastest, O(time) memory).
    seed : int
        Seed of the batch order.
    patience : int or None
        Early stopping: stop after this many epochs without a validation
        improvement larger than ``min_delta`` (None: never; needs validation
        cells).
    min_delta : float
    restore_best : bool
        Return the model of the best validation epoch (if validation is used).
    checkpoint_dir : str or None
        Where checkpoints go (None: none).
    checkpoint_every : int
        Save every this many epochs (and at the end).
    keep_checkpoints : int
        Keep only the newest this many (0: all).
    resume : bool
        Continue from the newest checkpoint in ``checkpoint_dir`` (a warning says so
        when there is none and the run starts fresh). The run's settings, loss and
        cells must be those of the checkpoint (the error lists what differs), except
        ``epochs``: resuming a finished run with a larger ``epochs`` continues it
        with its optimizer state (the learning-rate schedule then spans the new
        total).
    overwrite : bool
        Without ``resume``, a ``checkpoint_dir`` that already holds checkpoints is
        refused (so that two runs never mix there); ``overwrite=True`` deletes them
        first.
    progress : bool
        Show a tqdm progress bar with the current loss.
    devices : int, optional
        Split each batch's cells over this many JAX devices (``jax.sharding``: the
        model is replicated, forcing and observations are sharded along cells, and
        XLA sums the gradients across devices). ``batch_size`` must be a multiple of
        it. None: one device. Results equal the one-device run to float32 round-off;
        on a CPU, ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` makes N
        devices (for testing).
    """

    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    schedule: Literal["constant", "cosine", "warmup_cosine"] = "cosine"
    warmup_epochs: int = 0
    end_lr_fraction: float = 0.05
    optimizer: Literal["adam", "adamw"] = "adam"
    weight_decay: float = 1e-4
    constants_lr_scale: float = 1.0
    clip_norm: float | None = 1.0
    spinup_cycles: int = 1
    equilibrium_gradient: bool = True
    spinup_gradient: bool = False
    segment: int | Literal["auto"] | None = "auto"
    seed: int = 0
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    checkpoint_dir: str | None = None
    checkpoint_every: int = 1
    keep_checkpoints: int = 2
    resume: bool = False
    overwrite: bool = False
    progress: bool = True
    devices: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.batch_size < 1:
            raise ValueError("epochs must be >= 0 and batch_size >= 1")
        if self.schedule not in ("constant", "cosine", "warmup_cosine"):
            raise ValueError(f"unknown schedule {self.schedule!r}")
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}")
        if not self.constants_lr_scale > 0:
            raise ValueError(f"constants_lr_scale must be > 0, got {self.constants_lr_scale!r}")
        if self.devices is not None:
            if not isinstance(self.devices, int) or self.devices < 1:
                raise ValueError(f"devices must be a positive int or None, got {self.devices!r}")
            if self.batch_size % self.devices:
                raise ValueError(f"batch_size {self.batch_size} is not a multiple of devices="
                                 f"{self.devices}; each device takes an equal share of cells")
        if not (self.segment is None or self.segment == "auto"
                or (isinstance(self.segment, int) and self.segment > 0)):
            raise ValueError(f"segment must be a positive int, 'auto' or None, got "
                             f"{self.segment!r}")

    def replace(self, **changes: Any) -> TrainConfig:
        """Copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def segment_for(self, n_time: int) -> int | None:
        """Checkpoint segment length for a series of ``n_time`` days."""
        if self.segment == "auto":
            return max(1, math.ceil(math.sqrt(n_time)))
        return self.segment


#: TrainConfig fields the optimizer depends on.
_OPT_KEYS = ("epochs", "learning_rate", "schedule", "warmup_epochs", "end_lr_fraction",
             "optimizer", "weight_decay", "constants_lr_scale", "clip_norm")


def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> optax.GradientTransformation:
    """Gradient clipping + Adam(W) with the configured learning-rate schedule."""
    return _build_optimizer(config, steps_per_epoch)[0]


def _build_optimizer(config: TrainConfig, steps_per_epoch: int
                     ) -> tuple[optax.GradientTransformation, optax.Schedule]:
    return _cached_optimizer(tuple(getattr(config, k) for k in _OPT_KEYS), steps_per_epoch)


@functools.lru_cache(maxsize=32)
def _cached_optimizer(key: tuple, steps_per_epoch: int
                      ) -> tuple[optax.GradientTransformation, optax.Schedule]:
    """One optimizer object per setting, so the jitted step (which treats the optimizer
    as static) is compiled once per setting, not once per call of :func:`train`."""
    config = TrainConfig(**dict(zip(_OPT_KEYS, key, strict=True)))
    total = max(1, config.epochs * steps_per_epoch)
    lr, end = config.learning_rate, config.learning_rate * config.end_lr_fraction
    if config.schedule == "constant":
        sched = optax.constant_schedule(lr)
    elif config.schedule == "cosine":
        sched = optax.cosine_decay_schedule(lr, total, alpha=config.end_lr_fraction)
    else:
        warm = min(total - 1, config.warmup_epochs * steps_per_epoch)
        sched = optax.warmup_cosine_decay_schedule(0.0, lr, max(warm, 1), total, end)
    return _chain(config, sched), sched


def _chain(config: TrainConfig, lr: float | optax.Schedule) -> optax.GradientTransformation:
    """Clipping, Adam(W) at learning rate ``lr`` and the constants' scale."""
    if config.optimizer == "adam":
        opt = optax.adam(lr)
    else:
        opt = optax.adamw(lr, weight_decay=config.weight_decay)
    parts = [optax.clip_by_global_norm(config.clip_norm)] if config.clip_norm else []
    parts.append(opt)
    if config.constants_lr_scale != 1.0:
        parts.append(optax.masked(optax.scale(config.constants_lr_scale), _constants_mask))
    return optax.chain(*parts)


#: TrainConfig fields an optimizer at a given learning rate depends on (not the schedule).
_UNIT_KEYS = ("optimizer", "weight_decay", "constants_lr_scale", "clip_norm")


@functools.lru_cache(maxsize=32)
def _cached_unit(key: tuple) -> optax.GradientTransformation:
    return _chain(TrainConfig(**dict(zip(_UNIT_KEYS, key, strict=True))), 1.0)


def unit_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """The optimizer of ``config`` at learning rate 1: its updates, multiplied by a
    learning rate given with each step (:func:`update`'s ``lr``), are those of
    :func:`make_optimizer`'s at that rate. Lets models whose schedules differ (e.g. a
    different number of steps per epoch) share one compiled step."""
    return _cached_unit(tuple(getattr(config, k) for k in _UNIT_KEYS))


def _constants_mask(params: Any) -> Any:
    """Boolean pytree like ``params`` (a partitioned H2CM), True on the global constants."""
    mask = jax.tree_util.tree_map(lambda _: False, params)
    return eqx.tree_at(lambda m: m.constants, mask,
                       jax.tree_util.tree_map(lambda _: True, params.constants))


def _select(ok: jax.Array, new: Any, old: Any) -> Any:
    return jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, old)


def _all_finite(tree: Any) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def _forward_terms(params: H2CM, rest: H2CM, forcing: Forcing,
                   static: StaticPredictors | None, init: State | None, obs: ObsBatch,
                   scales: dict[str, jax.Array], spec: LossSpec, segment: int | None,
                   reattach: bool, grad_cycles: int, weights: dict[str, jax.Array] | None
                   ) -> tuple[Scalar, dict[str, Scalar]]:
    model = eqx.combine(params, rest)
    if grad_cycles:
        init = spinup(model, forcing, static, cycles=grad_cycles, gradient=True,
                      segment=segment)
    elif reattach and init is not None:
        init = reattach_groundwater(model, init)
    outputs, _ = model(forcing, static, init, segment=segment)
    terms = loss_terms(outputs, obs, spec, scales)
    return _total(terms, spec, weights), terms


def _total(terms: dict[str, Scalar], spec: LossSpec, weights: dict[str, jax.Array] | None
           ) -> Scalar:
    """The weighted total: ``spec``'s weights, or traced ``weights`` of the same terms."""
    if weights is None:
        return total_loss(terms, spec)
    return sum((weights[n] * terms[n] for n in spec.names), jnp.zeros(()))


@eqx.filter_jit
def train_step(model: H2CM, opt_state: Any, forcing: Forcing,
               static: StaticPredictors | None, obs: ObsBatch,
               scales: dict[str, jax.Array], optimizer: optax.GradientTransformation,
               spec: LossSpec, spinup_cycles: int = 1, segment: int | None = None,
               equilibrium_gradient: bool = True, spinup_gradient: bool = False
               ) -> tuple[H2CM, Any, Scalar, dict[str, Scalar], jax.Array]:
    """One optimisation step on one batch of cells.

    ``equilibrium_gradient``, ``spinup_gradient``: see :class:`TrainConfig`.

    Returns
    -------
    model, opt_state
        Updated, or unchanged (bit for bit) if the step was not finite.
    total : Array
        Loss before the update.
    terms : dict of Array
        Unweighted loss terms.
    finite : Array
        Whether the step was applied.
    """
    return update(model, opt_state, forcing, static, obs, scales, optimizer, spec,
                  spinup_cycles, segment, equilibrium_gradient, spinup_gradient)


def update(model: H2CM, opt_state: Any, forcing: Forcing, static: StaticPredictors | None,
           obs: ObsBatch, scales: dict[str, jax.Array], optimizer: optax.GradientTransformation,
           spec: LossSpec, spinup_cycles: int = 1, segment: int | None = None,
           equilibrium_gradient: bool = True, spinup_gradient: bool = False, *,
           weights: dict[str, jax.Array] | None = None, lr: jax.Array | None = None,
           active: jax.Array | None = None
           ) -> tuple[H2CM, Any, Scalar, dict[str, Scalar], jax.Array]:
    """The body of :func:`train_step`, unjitted (so that it can be vmapped over models).

    ``weights``: traced term weights (default: ``spec``'s); ``lr``: a factor on the
    updates (with :func:`unit_optimizer`, the learning rate); ``active``: False keeps the
    model and optimizer state as they are (a step this model sits out).
    """
    params, rest = eqx.partition(model, trainable_filter(model))
    init = spun_up(model, forcing, static, cycles=0 if spinup_gradient else spinup_cycles)
    grad_fn = eqx.filter_value_and_grad(_forward_terms, has_aux=True)
    (total, terms), grads = grad_fn(params, rest, forcing, static, init, obs, scales, spec,
                                    segment, equilibrium_gradient,
                                    spinup_cycles if spinup_gradient else 0, weights)
    finite = jnp.isfinite(total) & _all_finite(grads)
    grads = jax.tree_util.tree_map(lambda g: jnp.where(finite, g, 0.0), grads)
    updates, new_state = optimizer.update(grads, opt_state, params)
    if lr is not None:
        updates = jax.tree_util.tree_map(lambda u: u * lr, updates)
    new_params = eqx.apply_updates(params, updates)
    apply = finite if active is None else finite & active
    params = _select(apply, new_params, params)
    opt_state = _select(apply, new_state, opt_state)
    return eqx.combine(params, rest), opt_state, total, terms, finite


@eqx.filter_jit
def eval_step(model: H2CM, forcing: Forcing, static: StaticPredictors | None, obs: ObsBatch,
              scales: dict[str, jax.Array], spec: LossSpec, spinup_cycles: int = 1
              ) -> tuple[Scalar, dict[str, Scalar]]:
    """Loss terms and total of one batch without gradient: ``(total, terms)``."""
    return evaluate_terms(model, forcing, static, obs, scales, spec, spinup_cycles)


def evaluate_terms(model: H2CM, forcing: Forcing, static: StaticPredictors | None,
                   obs: ObsBatch, scales: dict[str, jax.Array], spec: LossSpec,
                   spinup_cycles: int = 1, weights: dict[str, jax.Array] | None = None
                   ) -> tuple[Scalar, dict[str, Scalar]]:
    """The body of :func:`eval_step`, unjitted; ``weights`` as in :func:`update`."""
    outputs, _ = model(forcing, static, spun_up(model, forcing, static, cycles=spinup_cycles))
    terms = loss_terms(outputs, obs, spec, scales)
    return _total(terms, spec, weights), terms


@dataclass
class History:
    """Per-epoch record of a training run.

    Attributes
    ----------
    terms : tuple of str
        Loss term names.
    records : list of dict
        One dict per epoch: ``epoch``, ``train_<term>``, ``train_total``,
        ``val_<term>``, ``val_total`` (NaN without validation), ``lr``,
        ``skipped`` (non-finite steps), ``seconds``.
    scales : dict
        Standardisation (observation std) of each data term.
    """

    terms: tuple[str, ...]
    records: list[dict[str, float]] = field(default_factory=list)
    scales: dict[str, float] = field(default_factory=dict)
    stopped_early: bool = False
    best_epoch: int | None = None

    def columns(self) -> dict[str, np.ndarray]:
        """Column arrays (``epoch`` and one per recorded quantity)."""
        keys = (["epoch"] + [f"{s}_{t}" for s in ("train", "val") for t in (*self.terms, "total")]
                + ["lr", "skipped", "seconds"])
        return {k: np.array([r.get(k, np.nan) for r in self.records]) for k in keys}

    def to_dataframe(self) -> pd.DataFrame:
        """The history as a :class:`pandas.DataFrame` indexed by epoch."""
        import pandas as pd

        return pd.DataFrame(self.columns()).set_index("epoch")

    def to_json(self) -> dict[str, Any]:
        return {"terms": list(self.terms), "records": self.records, "scales": self.scales,
                "stopped_early": self.stopped_early, "best_epoch": self.best_epoch}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> History:
        return cls(tuple(d["terms"]), list(d["records"]), dict(d["scales"]),
                   bool(d["stopped_early"]), d["best_epoch"])


#: One batch as :meth:`TrainingData.batch` returns it: forcing, static predictors, obs.
Batch = tuple[Forcing, StaticPredictors | None, ObsBatch]

#: TrainConfig fields that do not define a run: where and how often it is saved, and its
#: length (a finished run may be continued for more epochs, see :class:`TrainConfig`).
_NOT_IDENTITY = ("checkpoint_dir", "checkpoint_every", "keep_checkpoints", "resume",
                 "progress", "overwrite", "epochs", "devices")


def _cells_digest(cells: np.ndarray | None) -> str:
    if cells is None:
        return "none"
    arr = np.ascontiguousarray(cells, np.int64)
    return f"{arr.size} cells, sha256 {hashlib.sha256(arr.tobytes()).hexdigest()[:12]}"


def _identity(config: TrainConfig, spec: LossSpec, train_cells: np.ndarray,
              val_cells: np.ndarray | None) -> dict[str, str]:
    """What makes a run this run: settings, loss, cells (compared on resume)."""
    out = {k: repr(v) for k, v in dataclasses.asdict(config).items() if k not in _NOT_IDENTITY}
    out.update({"loss": repr(spec), "training cells": _cells_digest(train_cells),
                "validation cells": _cells_digest(val_cells)})
    return out


def _fingerprint(identity: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def _evaluate(model: H2CM, data: TrainingData, cells: np.ndarray, size: int,
              scales: dict[str, jax.Array], spec: LossSpec, cycles: int,
              place: Callable[[Batch], Batch] = lambda b: b) -> dict[str, float]:
    """Cell-weighted mean of the loss terms over ``cells`` (batches of ``size``, each put
    on its devices by ``place``)."""
    sums: dict[str, float] = {}
    n_total = 0
    for i in range(0, cells.size, size):
        idx = cells[i:i + size]
        total, terms = eval_step(model, *place(data.batch(idx, size)), scales, spec, cycles)
        for k, v in {**terms, "total": total}.items():
            sums[k] = sums.get(k, 0.0) + float(v) * idx.size
        n_total += idx.size
    return {k: v / n_total for k, v in sums.items()}


@dataclass(frozen=True)
class _Setup:
    """What stays fixed during one call of :func:`train`."""

    config: TrainConfig
    spec: LossSpec
    data: TrainingData
    val_data: TrainingData
    train_cells: np.ndarray
    val_cells: np.ndarray | None
    batch_size: int
    steps: int
    optimizer: optax.GradientTransformation
    schedule: optax.Schedule | None
    scales: dict[str, float]
    jscales: dict[str, jax.Array]
    segment: int | None
    identity: dict[str, str]
    fingerprint: str
    place: Callable[[Batch], Batch]


@dataclass
class _Run:
    """What changes as training runs: exactly what a checkpoint stores."""

    model: H2CM
    opt_state: Any
    best: H2CM
    history: History
    epoch: int = 0
    best_val: float = math.inf
    bad: int = 0


def _set_up(data: TrainingData, train_cells: np.ndarray, val_cells: np.ndarray | None,
            spec: LossSpec, config: TrainConfig,
            optimizer: optax.GradientTransformation | None,
            scales: dict[str, float] | None, val_data: TrainingData | None) -> _Setup:
    """Check the inputs; batch size, steps, optimizer, loss scales and checkpoint segment."""
    missing = [o for o in spec.daily_obs if o not in data.daily]
    if missing:
        raise ValueError(f"the loss compares {missing} daily, but the training data hold no "
                         f"daily {missing} (TrainingData.daily); give daily observations or "
                         "drop those terms from LossSpec kinds")
    train_cells = np.asarray(train_cells, np.int64)
    val = (None if val_cells is None or len(val_cells) == 0
           else np.asarray(val_cells, np.int64))
    if train_cells.size == 0:
        raise ValueError("no training cells")
    bs = min(config.batch_size, train_cells.size)
    steps = math.ceil(train_cells.size / bs)
    sched = None
    if optimizer is None:
        optimizer, sched = _build_optimizer(config, steps)
    if scales is None:
        scales = observation_scales(data.obs(train_cells), spec)
    if val_data is not None and (val_data.n_cells, val_data.n_time) != (data.n_cells,
                                                                           data.n_time):
        raise ValueError("val_data must hold the same cells and days as data (only its "
                         "observations differ)")
    identity = _identity(config, spec, train_cells, val)
    if val_data is not None:
        identity["validation data"] = "separate (e.g. a time block)"
    return _Setup(config, spec, data, val_data or data, train_cells, val, bs, steps,
                  optimizer, sched,
                  dict(scales), {k: jnp.asarray(v, jnp.float32) for k, v in scales.items()},
                  config.segment_for(data.n_time), identity, _fingerprint(identity),
                  (lambda b: b) if config.devices is None else cell_sharding(config.devices))


def _start(model: H2CM, s: _Setup) -> _Run:
    """A fresh run, or the one in the newest checkpoint when ``config.resume``."""
    opt_state = s.optimizer.init(eqx.filter(model, trainable_filter(model)))
    run = _Run(model, opt_state, model, History(s.spec.names, scales=dict(s.scales)))
    path = resume_path(s.config, stacklevel=5)
    if path is None:
        return run
    (model, opt_state, best), state = ckpt.load_checkpoint(path, (model, opt_state, model))
    check_resumed(path, state, s.config, s.fingerprint, s.identity)
    return _Run(model, opt_state, best, History.from_json(state["history"]), state["epoch"],
                state["best_val"], state["bad"])


def resume_path(config: TrainConfig, stacklevel: int = 2) -> Path | None:
    """The checkpoint a run continues from (None: a fresh run), by the rules of
    :class:`TrainConfig`'s ``resume`` and ``overwrite`` (old checkpoints deleted with
    ``overwrite``, refused without it)."""
    folder = config.checkpoint_dir
    existing = ckpt.list_checkpoints(folder) if folder else []
    if not config.resume:
        if existing and config.overwrite:
            for p in existing:
                p.unlink()
            log.info("overwrite=True: removed %d checkpoint(s) from %s", len(existing), folder)
        elif existing:
            raise ValueError(
                f"checkpoint_dir {folder} already holds {len(existing)} checkpoint(s) of a run "
                f"(the newest: {existing[-1].name}); pass resume=True to continue that run, "
                "overwrite=True to delete them and start afresh, or use another folder")
        return None
    if not existing:
        warnings.warn(f"resume=True, but {folder} holds no checkpoint: starting a fresh run",
                      UserWarning, stacklevel=stacklevel)
        return None
    return existing[-1]


def check_resumed(path: Path, state: dict[str, Any], config: TrainConfig, fingerprint: str,
                  identity: dict[str, str]) -> None:
    """Refuse a checkpoint of another run (the error lists what differs); log the resume."""
    if state["fingerprint"] != fingerprint:
        old = state.get("identity", {})
        diff = [f"{k}: {old.get(k, '?')} -> {v}" for k, v in identity.items()
                if old.get(k) != v] if old else ["(saved before run settings were recorded)"]
        raise ValueError(f"checkpoint {path} belongs to a different run; what differs: "
                         f"{'; '.join(diff)}. Use another checkpoint_dir, the same settings, "
                         "or overwrite=True (with resume=False) to start afresh")
    if state.get("epochs", config.epochs) < config.epochs:
        log.info("continuing a run of %d epochs to %d; the learning-rate schedule now spans "
                 "%d epochs", state["epochs"], config.epochs, config.epochs)
    log.info("resumed from %s at epoch %d", path, state["epoch"])


def cell_sharding(n_devices: int) -> Callable[[Batch], Batch]:
    """A function placing a batch ``(forcing, static, obs)`` on ``n_devices`` devices,
    split along cells (replicated where an array has no cell axis).

    Raises
    ------
    ValueError
        If fewer devices are available.
    """
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    devices = jax.devices()
    if len(devices) < n_devices:
        raise ValueError(f"devices={n_devices}, but JAX sees {len(devices)} "
                         f"({jax.default_backend()}); on a CPU set XLA_FLAGS="
                         f"--xla_force_host_platform_device_count={n_devices} before JAX starts")
    mesh = Mesh(np.array(devices[:n_devices]), ("cells",))
    by_axis = {0: NamedSharding(mesh, P("cells")), 1: NamedSharding(mesh, P(None, "cells"))}
    whole = NamedSharding(mesh, P())

    def put(batch: Batch) -> Batch:
        forcing, static, obs = batch
        time_cell = lambda x: jax.device_put(x, by_axis[1])  # noqa: E731
        cell = lambda x: jax.device_put(x, by_axis[0])  # noqa: E731
        obs = obs._replace(
            month_index=jax.device_put(obs.month_index, whole),
            calendar_month=jax.device_put(obs.calendar_month, whole),
            monthly={k: time_cell(v) for k, v in obs.monthly.items()},
            daily={k: time_cell(v) for k, v in obs.daily.items()},
            cue=None if obs.cue is None else cell(obs.cue), area=cell(obs.area),
            cell_weight=cell(obs.cell_weight))
        return (Forcing(*(time_cell(x) for x in forcing)),
                None if static is None else cell(static), obs)

    return put


def _train_epoch(run: _Run, s: _Setup, bar: Any) -> dict[str, float]:
    """One pass over the training cells in a seeded random order; mean loss terms."""
    c = s.config
    cells = s.train_cells
    perm = cells[np.random.default_rng([c.seed, run.epoch]).permutation(cells.size)]
    sums: dict[str, float] = {}
    n_ok, skipped = 0, []
    for b in range(s.steps):
        idx = perm[b * s.batch_size:(b + 1) * s.batch_size]
        run.model, run.opt_state, total, terms, ok = train_step(
            run.model, run.opt_state, *s.place(s.data.batch(idx, s.batch_size)), s.jscales,
            s.optimizer, s.spec, c.spinup_cycles, s.segment, c.equilibrium_gradient,
            c.spinup_gradient)
        if bool(ok):
            n_ok += 1
            for k, v in {**terms, "total": total}.items():
                sums[k] = sums.get(k, 0.0) + float(v)
        else:
            skipped.append(b)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(epoch=run.epoch + 1, loss=f"{float(total):.4g}")
    if skipped:
        log.warning("epoch %d: skipped %d non-finite step(s) (batches %s); parameters "
                    "and optimizer state left unchanged", run.epoch + 1, len(skipped), skipped)
    rec = {f"train_{k}": (v / n_ok if n_ok else math.nan) for k, v in sums.items()}
    return {**rec, "skipped": float(len(skipped))}


def _validate(run: _Run, s: _Setup) -> dict[str, float]:
    """Validation loss terms; keeps the best model and counts epochs without progress."""
    assert s.val_cells is not None
    val = _evaluate(run.model, s.val_data, s.val_cells, s.batch_size, s.jscales, s.spec,
                    s.config.spinup_cycles, s.place)
    if math.isfinite(val["total"]) and val["total"] < run.best_val - s.config.min_delta:
        run.best, run.best_val, run.bad = run.model, val["total"], 0
        run.history.best_epoch = run.epoch + 1
    else:
        run.bad += 1
    return {f"val_{k}": v for k, v in val.items()}


def _save(run: _Run, s: _Setup, last: bool) -> None:
    """Checkpoint every ``checkpoint_every`` epochs and at the end; prune old ones."""
    c = s.config
    if not c.checkpoint_dir or not ((run.epoch % max(c.checkpoint_every, 1) == 0) or last):
        return
    state = {"epoch": run.epoch, "best_val": run.best_val, "bad": run.bad,
             "history": run.history.to_json(), "fingerprint": s.fingerprint,
             "identity": s.identity, "epochs": c.epochs}
    ckpt.save_checkpoint(ckpt.checkpoint_path(c.checkpoint_dir, run.epoch),
                         (run.model, run.opt_state, run.best), state)
    ckpt.prune_checkpoints(c.checkpoint_dir, c.keep_checkpoints)


def _epoch(run: _Run, s: _Setup, bar: Any) -> bool:
    """Train, validate, record, checkpoint one epoch; whether to stop early."""
    t0 = time.perf_counter()
    trained = _train_epoch(run, s, bar)
    skipped = trained.pop("skipped")
    rec: dict[str, float] = {"epoch": run.epoch + 1, **trained}
    if s.val_cells is not None:
        rec.update(_validate(run, s))
    rec.update(lr=math.nan if s.schedule is None else float(s.schedule(_count(run.opt_state))),
               skipped=skipped, seconds=time.perf_counter() - t0)
    run.history.records.append(rec)
    run.epoch += 1
    stop = (s.val_cells is not None and s.config.patience is not None
            and run.bad >= s.config.patience)
    run.history.stopped_early = bool(stop)
    if stop:
        log.info("early stopping after epoch %d (best epoch %s)", run.epoch,
                 run.history.best_epoch)
    _save(run, s, last=stop or run.epoch == s.config.epochs)
    return stop


def train(model: H2CM, data: TrainingData, train_cells: np.ndarray,
          val_cells: np.ndarray | None = None, *, spec: LossSpec | None = None,
          config: TrainConfig | None = None,
          optimizer: optax.GradientTransformation | None = None,
          scales: dict[str, float] | None = None,
          callback: Callable[[int, H2CM, History], None] | None = None,
          val_data: TrainingData | None = None,
          ) -> tuple[H2CM, History]:
    """Train ``model`` on ``data`` (docs/model/training.md).

    Parameters
    ----------
    model : H2CM
        Starting model (its ``normalization`` is kept as is).
    data : TrainingData
        Forcing and observations of all cells.
    train_cells : ndarray
        Indices of the training cells.
    val_cells : ndarray, optional
        Indices of validation cells (early stopping, best-model selection).
    spec : LossSpec, optional
        Active terms; default: every term the data has, priors on, weights 1.
    config : TrainConfig, optional
    optimizer : optax.GradientTransformation, optional
        Overrides the optimizer built from ``config``.
    scales : dict, optional
        Observation standard deviations per term; default: from the training
        cells (:func:`~xh2cm.training.losses.observation_scales`).
    callback : callable, optional
        ``callback(epoch, model, history)`` after each epoch (and checkpoint).
    val_data : TrainingData, optional
        Validation observations when they differ from ``data``'s on the same cells and
        days: e.g. a block of time at the end of a site's training period, withheld
        from ``data`` (set NaN there) and kept only here (NaN elsewhere).

    Returns
    -------
    model : H2CM
        Trained model (the best validation epoch if ``restore_best``).
    history : History
    """
    release_compiled_code()  # a long session must not run out of memory mappings
    config = config or TrainConfig()
    setup = _set_up(data, train_cells, val_cells, spec or LossSpec.for_observations(
        data.available), config, optimizer, scales, val_data)
    run = _start(model, setup)
    bar = _progress(config, setup.steps, run.epoch)
    try:
        stop = run.history.stopped_early  # a resumed run that had stopped early stays stopped
        while not stop and run.epoch < config.epochs:
            stop = _epoch(run, setup, bar)
            if callback is not None:
                callback(run.epoch, run.model, run.history)
    finally:
        if bar is not None:
            bar.close()
    if setup.val_cells is not None and config.restore_best and run.history.best_epoch:
        return run.best, run.history
    return run.model, run.history


def _progress(config: TrainConfig, steps: int, start: int) -> Any:
    if not config.progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.epochs * steps, initial=start * steps, desc="h2cm fit",
                unit="step", dynamic_ncols=True)


def _count(opt_state: Any) -> int:
    """Number of applied steps recorded in an optax state (0 if none is found)."""
    has = lambda x: isinstance(getattr(x, "count", None), jax.Array)  # noqa: E731
    for s in jax.tree_util.tree_leaves(opt_state, is_leaf=has):
        if has(s):
            return int(s.count)
    return 0
