"""NumPy-in / NumPy-out entry points to the core, for the xarray layer and scripts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from operator import attrgetter
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from xh2cm.catalog import GLOBAL_OUTPUTS, OUTPUTS
from xh2cm.core import activations as act
from xh2cm.core.config import ModelConfig
from xh2cm.core.model import (
    H2CM,
    HEAD_A,
    HEAD_B,
    HEAD_C,
    HEAD_D,
    STATIC_HEAD,
    Forcing,
    Normalization,
    State,
    check_forcing,
    spinup,
)
from xh2cm.core.types import StaticPredictors

#: Which network head predicts each learned per-cell parameter.
_HEADS = {
    **{n: ("static_net", i) for i, n in enumerate(STATIC_HEAD)},
    **{n: ("net_a", i) for i, n in enumerate(HEAD_A)},
    **{n: ("net_b", i) for i, n in enumerate(HEAD_B)},
    **{n: ("net_c", i) for i, n in enumerate(HEAD_C)},
    **{n: ("net_d", i) for i, n in enumerate(HEAD_D)},
}


def init_model(config: ModelConfig, seed: int = 0,
               forcing: Mapping[str, np.ndarray] | None = None,
               static: np.ndarray | None = None) -> H2CM:
    """Create a model with fresh weights and input standardisation from data.

    Parameters
    ----------
    config : ModelConfig
        Architecture and static predictor names.
    seed : int
        Seed of the weight initialisation.
    forcing : mapping of str to ndarray, optional
        Training forcing ``(time, cell)`` in catalog units; its means and
        standard deviations standardise the network inputs. Defaults if None.
    static : ndarray, optional
        Static predictors ``(cell, n_static)`` for their statistics.

    Returns
    -------
    H2CM

    Examples
    --------
    >>> import numpy as np
    >>> from xh2cm.core import ModelConfig, init_model
    >>> rng = np.random.default_rng(0)
    >>> forcing = {"rn": rng.uniform(0, 200, (365, 3)), "prec": rng.exponential(2, (365, 3)),
    ...            "tair": rng.normal(10, 8, (365, 3)), "vpd": rng.uniform(1, 20, (365, 3)),
    ...            "co2": 410.0}
    >>> model = init_model(ModelConfig(hidden_size=8), seed=0, forcing=forcing)
    >>> model.config.hidden_size, model.config.n_static
    (8, 0)
    """
    model = H2CM(config, jax.random.PRNGKey(seed))
    norm = Normalization.from_data(forcing, static, config.n_static)
    return eqx.tree_at(lambda m: m.normalization, model, norm)


def with_matmul_dtype(model: H2CM, dtype: str) -> H2CM:
    """The same model (same weights) with its LSTMs' matrix products in ``dtype``.

    Parameters
    ----------
    model : H2CM
        The model.
    dtype : {"float32", "bfloat16"}
        See :attr:`ModelConfig.matmul_dtype`: ``"bfloat16"`` is faster where the
        hardware has bfloat16 matrix units, at a measured accuracy cost.

    Returns
    -------
    H2CM

    Examples
    --------
    >>> from xh2cm.core import ModelConfig, init_model
    >>> fast = with_matmul_dtype(init_model(ModelConfig(hidden_size=8)), "bfloat16")
    >>> fast.config.matmul_dtype
    'bfloat16'
    """
    config = dataclasses.replace(model.config, matmul_dtype=dtype)
    skeleton = jax.eval_shape(lambda: H2CM(config, jax.random.PRNGKey(0)))
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(skeleton),
                                        jax.tree_util.tree_leaves(model))


def global_constants(model: H2CM) -> dict[str, float]:
    """Physical values of the learned global constants (beta_snow, beta_base, q10, beta_co2)."""
    return {k: float(v) for k, v in model.constants.values().items()}


def set_global_constants(model: H2CM, **values: float) -> H2CM:
    """Return a copy of ``model`` with global constants set to physical ``values``.

    Raises
    ------
    KeyError
        For an unknown constant name.
    ValueError
        For a value outside the activation's range.
    """
    for name, value in values.items():
        if name not in act.GLOBAL_INVERSES:
            raise KeyError(f"unknown global constant {name!r}; known: {list(GLOBAL_OUTPUTS)}")
        raw = act.GLOBAL_INVERSES[name](float(value))
        if not np.isfinite(raw):
            raise ValueError(f"{name}={value} is outside the range its activation can reach")
        model = eqx.tree_at(attrgetter(f"constants.{name}"), model,
                            jnp.asarray(raw, jnp.float32))
    return model


#: Fixed parameter values of the process model alone (:func:`process_only`): typical
#: levels, the same as the synthetic truth model's head levels where it sets one
#: (:data:`xh2cm.datasets.TRUTH_HEAD_BIASES`), otherwise mid-range choices.
PROCESS_DEFAULTS: dict[str, float] = {
    "sm_max": 250.0,     # mm, soil storage capacity
    "alpha_ei": 1.0,     # mm d-1 interception capacity per unit fAPAR
    "alpha_melt": 3.0,   # mm d-1 K-1 degree-day factor
    "alpha_soil": 0.7,   # share of water input recharging soil (scaled by wetness)
    "alpha_gw": 0.5,     # groundwater share of the rest
    "wue": 5.0,          # g kg-1 before CO2 scaling
    "alpha_t": 0.7,      # transpiration scaling
    "cue": 0.5,          # carbon-use efficiency
    "fapar": 0.5,        # absorbed fraction of PAR
    "rb": 0.8,           # gC m-2 d-1 basal heterotrophic respiration at 15 degC
    "alpha_es": 0.3,     # soil evaporation scaling
}


def process_only(model: H2CM, values: Mapping[str, float] | None = None) -> H2CM:
    """The process model alone: every network head gives a fixed value, whatever its input.

    The output layer of each head gets zero weights and the bias that yields
    ``values[name]`` (default :data:`PROCESS_DEFAULTS`), so the networks no longer
    matter; the global constants are the model's (the reference's initial values for a fresh
    model). The honest "no machine learning" baseline of a hybrid model.

    Examples
    --------
    >>> import numpy as np
    >>> from xh2cm.core import ModelConfig, init_model, simulate
    >>> rng = np.random.default_rng(0)
    >>> f = {"rn": rng.uniform(0, 200, (60, 2)), "prec": rng.exponential(2, (60, 2)),
    ...      "tair": rng.normal(10, 8, (60, 2)), "vpd": rng.uniform(1, 20, (60, 2)),
    ...      "co2": 400.0}
    >>> out = simulate(process_only(init_model(ModelConfig(hidden_size=8))), f)
    >>> float(out["cue"].min()) == float(out["cue"].max()) == 0.5
    True
    """
    chosen = {**PROCESS_DEFAULTS, **dict(values or {})}
    for name, value in chosen.items():
        net, _ = _HEADS[name]
        model = eqx.tree_at(attrgetter(f"{net}.head.weight"), model,
                            jnp.zeros_like(getattr(model, net).head.weight))
        model = set_head_bias(model, name, value)
    return model


def set_head_bias(model: H2CM, name: str, value: float) -> H2CM:
    """Set the output bias of the head predicting ``name`` so that it yields ``value``
    when the rest of the pre-activation is zero (shifts the parameter's typical level).

    Parameters
    ----------
    model : H2CM
    name : str
        A learned per-cell parameter, e.g. ``"wue"``, ``"fapar"``, ``"sm_max"``.
    value : float
        Target value in physical units.
    """
    if name not in _HEADS:
        raise KeyError(f"no network head predicts {name!r}; known: {sorted(_HEADS)}")
    net, i = _HEADS[name]
    f = act.HEAD_ACTIVATIONS[name]
    if f is act.sm_max:
        raw = (act.inv_softplus(value - 1.0) - act.SM_MAX_OFFSET) / model.config.sm_max_scale
    elif f is jax.nn.sigmoid:
        raw = act.logit(value)
    else:
        raw = act.inv_softplus(value)
    if not np.isfinite(raw):
        raise ValueError(f"{name}={value} is outside the range its activation can reach")
    where = lambda m: getattr(m, net).head.bias  # noqa: E731
    return eqx.tree_at(where, model, where(model).at[i].set(raw))


def bucket(n: int) -> int:
    """Cell count that :func:`simulate` pads ``n`` cells to.

    Two measured needs (CPU, 2 cores, default architecture, 365 days):

    - cell counts that are multiples of large powers of two run up to 2.3x slower
      than their neighbours (1,024 cells: 257k cell-days/s; 1,000: 549k; 1,040:
      533k; 768 vs 776 and 1,536 vs 1,544 alike; multiples of 128 lose 10-25 %),
      the signature of cache-set aliasing of the per-day state: so a padded count of
      128 or more is an *odd* multiple of 8, never a multiple of 16;
    - spatial blocks of similar size should share one compile: so counts are rounded
      up on a ladder of 16 sizes per doubling (at most ~6 % padding).

    Up to 8 cells are not padded.

    Examples
    --------
    >>> [bucket(n) for n in (1, 8, 9, 100, 1000, 1024, 1040, 15000)]
    [1, 8, 16, 104, 1032, 1032, 1096, 15368]
    """
    if n <= 8:
        return max(n, 1)
    q = max(8, 1 << max(0, n.bit_length() - 5))
    m = -(-n // q) * q
    return m + 8 if m >= 128 and m % 16 == 0 else m


#: Traces (= XLA compiles) of the jitted entry points in this process: see :func:`compiles`.
_TRACES = {"forward": 0, "advance": 0}


def compiles() -> dict[str, int]:
    """How often :func:`simulate` and :func:`advance` have been traced (each trace is one
    XLA compile) in this process: one per distinct padded cell count, time length,
    spin-up count and dtype. A dask worker's count is ``client.run(compiles)``.

    Examples
    --------
    >>> sorted(compiles())
    ['advance', 'forward']
    """
    return dict(_TRACES)


@eqx.filter_jit
def _forward(model: H2CM, forcing: Forcing, static: StaticPredictors | None,
             spinup_cycles: int, init: State | None
             ) -> tuple[dict[str, jax.Array], State]:
    _TRACES["forward"] += 1  # Python runs only while tracing
    if spinup_cycles:
        init = spinup(model, forcing, static, cycles=spinup_cycles, init=init)
    return model(forcing, static, init)


@eqx.filter_jit
def _advance(model: H2CM, forcing: Forcing, static: StaticPredictors | None,
             init: State | None) -> State:
    _TRACES["advance"] += 1
    return model.final_state(forcing, static, init)


#: Names of the arrays of a :class:`~xh2cm.core.State` in :func:`state_arrays`.
STATE_NAMES = ("swe", "sm", "gw", "fapar", "npp", "lstm_a_h", "lstm_a_c", "lstm_c_h",
               "lstm_c_c", "lstm_d_h", "lstm_d_c")


def state_arrays(state: State) -> dict[str, np.ndarray]:
    """A model state as NumPy: storages ``(cell,)``, LSTM states ``(cell, hidden)``."""
    flat = [*state[:5], *state.lstm_a, *state.lstm_c, *state.lstm_d]
    return {n: np.asarray(a) for n, a in zip(STATE_NAMES, flat, strict=True)}


def state_from_arrays(arrays: Mapping[str, np.ndarray]) -> State:
    """The inverse of :func:`state_arrays` (float32)."""
    missing = [n for n in STATE_NAMES if n not in arrays]
    if missing:
        raise KeyError(f"state lacks {missing}; a state has {list(STATE_NAMES)}")
    a = {n: jnp.asarray(arrays[n], jnp.float32) for n in STATE_NAMES}
    return State(a["swe"], a["sm"], a["gw"], a["fapar"], a["npp"],
                 (a["lstm_a_h"], a["lstm_a_c"]), (a["lstm_c_h"], a["lstm_c_c"]),
                 (a["lstm_d_h"], a["lstm_d_c"]))


def _padded(forcing: Mapping[str, np.ndarray], static: np.ndarray | None,
            state: Mapping[str, np.ndarray] | None
            ) -> tuple[Forcing, jax.Array | None, State | None, int]:
    """Checked inputs padded (copies of cell 0) to :func:`bucket` cells: fast counts and
    shared compiles. Returns the true cell count last."""
    f = Forcing(**{k: jnp.asarray(v) for k, v in
                   check_forcing(forcing, xp=np, dtype=np.float32, finite=True).items()})
    n_cell = f.rn.shape[1]
    if static is not None:
        static = np.asarray(static, np.float32)
        if not np.all(np.isfinite(static)):
            raise ValueError("static predictors contain NaN or inf; fill or mask those cells")
    n_pad = bucket(n_cell) - n_cell
    init = None
    if state is not None:
        bad = [n for n in STATE_NAMES if n in state and np.shape(state[n])[:1] != (n_cell,)]
        if bad:
            raise ValueError(f"initial state {bad} has not {n_cell} cells (the forcing's)")
        init = state_from_arrays({n: np.concatenate(
            [state[n], np.repeat(np.asarray(state[n])[:1], n_pad, 0)], 0) if n_pad
            else state[n] for n in state})
    if n_pad:
        f = Forcing(*(jnp.concatenate([x, jnp.repeat(x[:, :1], n_pad, 1)], 1) for x in f))
        if static is not None:
            static = np.concatenate([static, np.repeat(static[:1], n_pad, 0)], 0)
    return f, None if static is None else jnp.asarray(static), init, n_cell


def _tiles(forcing: Mapping[str, np.ndarray], static: np.ndarray | None,
           state: Mapping[str, np.ndarray] | None, tile: int | None
           ) -> Iterator[tuple[Forcing, jax.Array | None, State | None, int]]:
    """The inputs in tiles of exactly ``tile`` cells (the last one filled with copies of
    its first cell), or all cells at once if None, each checked and padded by
    :func:`_padded`. Yields ``(forcing, static, state, cells to keep)``."""
    if tile is None:
        yield _padded(forcing, static, state)
        return
    if tile < 1:
        raise ValueError(f"tile={tile}; give a positive number of cells")
    n = np.shape(forcing["rn"])[1]
    for a in range(0, n, tile):
        idx = np.arange(a, a + tile)
        idx[idx >= n] = a
        f, s, init, _ = _padded(
            {k: (np.asarray(v)[:, idx] if np.ndim(v) == 2 else v) for k, v in forcing.items()},
            None if static is None else np.asarray(static)[idx],
            None if state is None else {k: np.asarray(v)[idx] for k, v in state.items()})
        yield f, s, init, min(tile, n - a)


def _joined(parts: list[dict[str, np.ndarray]], axis: Mapping[str, int | None]
            ) -> dict[str, np.ndarray]:
    """Tiles' arrays joined along each name's cell ``axis`` (None: the same in all)."""
    if len(parts) == 1:
        return parts[0]
    return {k: parts[0][k] if ax is None else np.concatenate([p[k] for p in parts], ax)
            for k, ax in axis.items()}


#: Cell axis of each output (global constants have none) and of each state array.
_OUTPUT_AXIS = {k: None if info.kind == "global" else -1 for k, info in OUTPUTS.items()}
_STATE_AXIS = dict.fromkeys(STATE_NAMES, 0)


def advance(model: H2CM, forcing: Mapping[str, np.ndarray], static: np.ndarray | None = None,
            initial_state: Mapping[str, np.ndarray] | None = None, tile: int | None = None
            ) -> dict[str, np.ndarray]:
    """The state (:func:`state_arrays`) after running over ``forcing`` from
    ``initial_state`` (zero state if None), without outputs: a spin-up pass over one time
    block of a run split in time. ``tile`` as in :func:`simulate`."""
    return _joined([{k: v[:keep] for k, v in
                     state_arrays(_advance(model, f, s, _start(model, f, init))).items()}
                    for f, s, init, keep in _tiles(forcing, static, initial_state, tile)],
                   _STATE_AXIS)


def _start(model: H2CM, forcing: Forcing, init: State | None) -> State:
    """``init``, or the zero state: always a State, so that a run's first time block and
    the later ones (which start from a carried state) share one compile."""
    return model.initial_state(forcing.rn.shape[1]) if init is None else init


def simulate(model: H2CM, forcing: Mapping[str, np.ndarray], static: np.ndarray | None = None,
             *, spinup: bool | int = True,
             initial_state: Mapping[str, np.ndarray] | None = None,
             return_state: bool = False, tile: int | None = None) -> Any:
    """Run the model on plain arrays and return every output as NumPy.

    Parameters
    ----------
    model : H2CM
        The model.
    forcing : mapping of str to ndarray
        ``rn`` (W m-2), ``prec`` (mm d-1), ``tair`` (degC), ``vpd`` (hPa),
        ``co2`` (ppm); each ``(time, cell)``; ``co2`` may be ``(time,)``. No NaN.
    static : ndarray, optional
        ``(cell, n_static)`` in ``model.config.static_names`` order.
    spinup : bool or int
        Spin-up passes over the forcing before the run (True = 1, False = 0), starting
        from ``initial_state``.
    initial_state : mapping, optional
        A state from an earlier run (``return_state=True``): storages ``(cell,)`` and
        LSTM states ``(cell, hidden)`` (:data:`STATE_NAMES`); the zero state if None.
    return_state : bool
        Also return the state after the last day, to continue the run later.
    tile : int, optional
        Run the cells in tiles of exactly this many (the last one padded), one compile
        for all. XLA's float32 results for a cell depend slightly (≈ 1e-6 relative after
        a few years) on how many cells run with it; with a fixed tile they do not, so a
        run is bit-identical however its cells are split into blocks. Default: all
        cells at once, padded to :func:`bucket`.

    Returns
    -------
    dict of str to ndarray
        Every :data:`xh2cm.catalog.OUTPUTS` name: dynamic ``(time, cell)``,
        static ``(cell,)``, global ``()``; with ``return_state``, a tuple
        ``(outputs, state)``.

    Raises
    ------
    KeyError
        If a forcing variable is missing.
    ValueError
        If inputs contain NaN/inf or have inconsistent shapes.

    Examples
    --------
    >>> import numpy as np
    >>> from xh2cm.core import ModelConfig, init_model, simulate
    >>> rng = np.random.default_rng(0)
    >>> forcing = {"rn": rng.uniform(0, 200, (365, 3)), "prec": rng.exponential(2, (365, 3)),
    ...            "tair": rng.normal(10, 8, (365, 3)), "vpd": rng.uniform(1, 20, (365, 3)),
    ...            "co2": 410.0}
    >>> model = init_model(ModelConfig(hidden_size=8), seed=0, forcing=forcing)
    >>> out = simulate(model, forcing)
    >>> out["gpp"].shape, out["sm_max"].shape, out["q10"].shape
    ((365, 3), (3,), ())
    >>> bool(np.all(out["gpp"] >= 0))
    True
    """
    parts, states = [], []
    for f, s, init, keep in _tiles(forcing, static, initial_state, tile):
        out, final = _forward(model, f, s, int(spinup), _start(model, f, init))
        parts.append({k: np.asarray(out[k]) if ax is None else np.asarray(out[k])[..., :keep]
                      for k, ax in _OUTPUT_AXIS.items()})
        if return_state:
            states.append({k: v[:keep] for k, v in state_arrays(final).items()})
    result = _joined(parts, _OUTPUT_AXIS)
    return (result, _joined(states, _STATE_AXIS)) if return_state else result
