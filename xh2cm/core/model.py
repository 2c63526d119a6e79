"""The H2CM hybrid model: networks + process equations in one ``jax.lax.scan`` over time.

Arrays are time-major: forcing is ``(time, cell)``; the scan runs over time
and every step is vectorised over cells with ``jax.vmap``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from xh2cm.catalog import FORCING_NAMES
from xh2cm.core import activations as act
from xh2cm.core import physics
from xh2cm.core.config import ModelConfig
from xh2cm.core.networks import BoundLSTM, BoundMLP, LSTMHead, ThreeLayerMLP
from xh2cm.core.types import CellValues, DailyCells, ForcingStack, Hidden, StaticPredictors

#: Network-head outputs, in head order.
STATIC_HEAD = ("sm_max", "alpha_ei")
HEAD_A = ("alpha_melt", "alpha_soil", "alpha_gw")
HEAD_B = ("wue", "alpha_t")
HEAD_C = ("cue", "fapar")
HEAD_D = ("rb", "alpha_es")
#: Number of dynamic (non-embedding) inputs of each network.
N_IN_A, N_IN_B, N_IN_C, N_IN_D = 6, 3, 7, 4

#: Standardisation used before any data is seen: (mean, std) per forcing, catalog units.
DEFAULT_FORCING_STATS: dict[str, tuple[float, float]] = {
    "rn": (100.0, 80.0),
    "prec": (2.5, 5.0),
    "tair": (10.0, 12.0),
    "vpd": (8.0, 7.0),
    "co2": (380.0, 20.0),
}


def check_forcing(data: Mapping[str, ArrayLike], *, xp: Any = jnp, dtype: Any = jnp.float32,
                  finite: bool = False) -> dict[str, Any]:
    """The forcing in ``data`` as ``(time, cell)`` arrays, checked: the one home of the
    forcing contract, used by :class:`Forcing`, :func:`xh2cm.core.simulate` and the trainer.

    Parameters
    ----------
    data : mapping of str to array
        ``rn, prec, tair, vpd, co2`` in catalog units, each ``(time, cell)``; ``co2``
        may also be a scalar or ``(time,)`` and is broadcast.
    xp : module
        Array namespace of the result: :mod:`jax.numpy` (traceable) or :mod:`numpy`.
    dtype : dtype
        Float type of the result.
    finite : bool
        Refuse NaN or inf (needs concrete values, i.e. not under ``jit``, and reads
        lazy arrays).

    Returns
    -------
    dict of str to array
        :data:`~xh2cm.catalog.FORCING_NAMES` order, each ``(time, cell)``. Lazy
        arrays (:func:`is_lazy`, e.g. dask) stay lazy with ``xp=numpy``: they are
        checked for shape only and read when used.

    Raises
    ------
    KeyError
        If a forcing variable is missing.
    ValueError
        If a variable is not ``(time, cell)``, shapes disagree, or (``finite``) a
        value is NaN or inf.
    """
    missing = [n for n in FORCING_NAMES if n not in data]
    if missing:
        raise KeyError(f"forcing is missing {missing}; expected {list(FORCING_NAMES)}")
    as_array = lambda x: x.astype(dtype) if is_lazy(x) else xp.asarray(x, dtype)  # noqa: E731
    rn = as_array(data["rn"])
    if rn.ndim != 2:
        raise ValueError(f"forcing 'rn' must be (time, cell), got shape {rn.shape}")
    out = {}
    for name in FORCING_NAMES:
        x = as_array(data[name])
        if name == "co2" and x.ndim < 2 and x.size in (1, rn.shape[0]):
            x = xp.broadcast_to(x.reshape((-1, 1)) if x.ndim == 1 else x, rn.shape)
        if x.shape != rn.shape:
            raise ValueError(f"forcing {name!r} has shape {x.shape}, expected {rn.shape}")
        if finite and not bool(xp.all(xp.isfinite(x))):
            raise ValueError(f"forcing {name!r} contains NaN or inf; fill or mask those cells")
        out[name] = x
    return out


def is_lazy(x: object) -> bool:
    """Whether ``x`` is a lazy array (e.g. dask): one that has ``compute`` and is not NumPy.

    Examples
    --------
    >>> import numpy as np
    >>> is_lazy(np.zeros(3))
    False
    """
    return hasattr(x, "compute") and not isinstance(x, np.ndarray)


class Forcing(NamedTuple):
    """Daily forcing, each ``(time, cell)`` in catalog units (W m-2, mm d-1, degC, hPa, ppm)."""

    rn: DailyCells
    prec: DailyCells
    tair: DailyCells
    vpd: DailyCells
    co2: DailyCells

    @classmethod
    def from_mapping(cls, data: Mapping[str, ArrayLike], dtype: Any = jnp.float32) -> Forcing:
        """Build from a mapping; ``co2`` may be a scalar or ``(time,)`` and is broadcast.

        Raises
        ------
        KeyError, ValueError
            As :func:`check_forcing`.
        """
        return cls(**check_forcing(data, xp=jnp, dtype=dtype))

    def stacked(self) -> ForcingStack:
        """All forcing as one ``(time, cell, 5)`` array in :data:`FORCING_NAMES` order."""
        return jnp.stack(self, axis=-1)


class State(NamedTuple):
    """Model state carried from day to day (per cell).

    Water storages in mm, fapar (-), npp (gC m-2 d-1), and ``(h, c)`` of
    LSTMs A, C and D, each ``(cell, hidden)``.
    """

    swe: CellValues
    sm: CellValues
    gw: CellValues
    fapar: CellValues
    npp: CellValues
    lstm_a: tuple[Hidden, Hidden]
    lstm_c: tuple[Hidden, Hidden]
    lstm_d: tuple[Hidden, Hidden]


class Normalization(eqx.Module):
    """Means and standard deviations that standardise network inputs (not trained)."""

    forcing_mean: Array
    forcing_std: Array
    static_mean: Array
    static_std: Array

    @classmethod
    def default(cls, n_static: int) -> Normalization:
        """Climatological defaults for forcing; identity for static predictors."""
        mean = [DEFAULT_FORCING_STATS[n][0] for n in FORCING_NAMES]
        std = [DEFAULT_FORCING_STATS[n][1] for n in FORCING_NAMES]
        return cls(jnp.asarray(mean, jnp.float32), jnp.asarray(std, jnp.float32),
                   jnp.zeros(n_static, jnp.float32), jnp.ones(n_static, jnp.float32))

    @classmethod
    def from_data(cls, forcing: Mapping[str, np.ndarray] | None, static: np.ndarray | None,
                  n_static: int) -> Normalization:
        """Statistics from training data (NaNs ignored; zero spreads become 1)."""
        base = cls.default(n_static)
        fmean, fstd = np.array(base.forcing_mean), np.array(base.forcing_std)
        if forcing is not None:
            for i, name in enumerate(FORCING_NAMES):
                x = np.asarray(forcing[name], np.float64)
                fmean[i], fstd[i] = np.nanmean(x), np.nanstd(x)
        smean, sstd = np.zeros(n_static), np.ones(n_static)
        if static is not None and n_static:
            s = np.asarray(static, np.float64).reshape(-1, n_static)
            smean, sstd = np.nanmean(s, axis=0), np.nanstd(s, axis=0)
        fstd = np.where(np.isfinite(fstd) & (fstd > 0), fstd, 1.0)
        sstd = np.where(np.isfinite(sstd) & (sstd > 0), sstd, 1.0)
        fmean = np.where(np.isfinite(fmean), fmean, 0.0)
        smean = np.where(np.isfinite(smean), smean, 0.0)
        as32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
        return cls(as32(fmean), as32(fstd), as32(smean), as32(sstd))


class GlobalConstants(eqx.Module):
    """Raw (pre-activation) learned global scalars; see :mod:`xh2cm.core.activations`."""

    beta_snow: Array
    beta_base: Array
    q10: Array
    beta_co2: Array

    @classmethod
    def initial(cls) -> GlobalConstants:
        """Reference initial logits (docs/model/learned.md)."""
        return cls(**{k: jnp.asarray(v, jnp.float32) for k, v in act.GLOBAL_INIT_RAW.items()})

    def values(self) -> dict[str, Array]:
        """Physical values of the constants."""
        return {k: f(getattr(self, k)) for k, f in act.GLOBAL_ACTIVATIONS.items()}


def _activate(names: tuple[str, ...], raw: Array) -> dict[str, Array]:
    return {n: act.HEAD_ACTIVATIONS[n](raw[..., i]) for i, n in enumerate(names)}


class H2CM(eqx.Module):
    """Hybrid hydrological and carbon model (H2CM), docs/model.md.

    Parameters
    ----------
    config : ModelConfig
        Architecture and static predictor names.
    key : jax.Array
        PRNG key for weight initialisation.

    Notes
    -----
    Call it as ``outputs, final_state = model(forcing, static, init)``; see
    :meth:`__call__`. ``normalization`` is never trained (see
    :func:`trainable_filter`).
    """

    config: ModelConfig = eqx.field(static=True)
    static_net: ThreeLayerMLP
    net_a: LSTMHead
    net_b: ThreeLayerMLP
    net_c: LSTMHead
    net_d: LSTMHead
    constants: GlobalConstants
    normalization: Normalization

    def __init__(self, config: ModelConfig, key: Array):
        c = config
        ks, ka, kb, kc, kd = jax.random.split(key, 5)
        emb = c.embedding_size
        self.config = c
        self.static_net = ThreeLayerMLP(max(c.n_static, 1), c.static_hidden, emb,
                                        len(STATIC_HEAD), slope=c.leaky_slope, key=ks)
        self.net_a = LSTMHead(N_IN_A + emb, c.hidden_size, len(HEAD_A), key=ka)
        self.net_b = ThreeLayerMLP(N_IN_B + emb, c.mlp_hidden, c.mlp_bottleneck, len(HEAD_B),
                                   slope=c.leaky_slope, key=kb)
        self.net_c = LSTMHead(N_IN_C + emb, c.hidden_size, len(HEAD_C), key=kc)
        self.net_d = LSTMHead(N_IN_D + emb, c.hidden_size, len(HEAD_D), key=kd)
        self.constants = GlobalConstants.initial()
        self.normalization = Normalization.default(c.n_static)

    # ----------------------------------------------------------------- pieces
    def static_parameters(self, static: StaticPredictors | None, n_cell: int
                          ) -> dict[str, Array]:
        """Static embedding ``(cell, emb)`` and per-cell ``sm_max``, ``alpha_ei`` ``(cell,)``.

        Parameters
        ----------
        static : Array or None
            Static predictors ``(cell, n_static)`` in physical units, or None
            when the model has no static predictors.
        n_cell : int
            Number of cells.
        """
        norm = jax.lax.stop_gradient(self.normalization)
        if self.config.n_static:
            if static is None or static.shape != (n_cell, self.config.n_static):
                got = None if static is None else static.shape
                raise ValueError(
                    f"static predictors must be (cell, {self.config.n_static}) for "
                    f"{self.config.static_names}; got {got}")
            x = (static - norm.static_mean) / norm.static_std
        else:
            x = jnp.ones((n_cell, 1), jnp.float32)
        raw, emb = jax.vmap(self.static_net)(x)
        bounds = self.config.sm_max_bounds
        if bounds is not None:
            lo, hi = bounds
            act = _activate(STATIC_HEAD, raw)
            act["sm_max"] = lo + (hi - lo) * jax.nn.sigmoid(raw[:, STATIC_HEAD.index("sm_max")])
            return {"embedding": emb, **act}
        if self.config.sm_max_scale != 1.0:
            raw = raw.at[:, STATIC_HEAD.index("sm_max")].multiply(self.config.sm_max_scale)
        return {"embedding": emb, **_activate(STATIC_HEAD, raw)}

    def initial_state(self, n_cell: int) -> State:
        """Zero storages, fapar 0, npp ``config.npp_init`` and zero LSTM states."""
        z = jnp.zeros(n_cell, jnp.float32)
        return State(z, z, z, z, z + self.config.npp_init, self.net_a.init_state(n_cell),
                     self.net_c.init_state(n_cell), self.net_d.init_state(n_cell))

    def _step(self, nets: tuple[BoundLSTM, BoundMLP, BoundLSTM, BoundLSTM], state: State,
              f: Array, x: Array, sm_max: Array, alpha_ei: Array, g: dict[str, Array]
              ) -> tuple[State, dict[str, Array]]:
        """One day for all cells. ``f``: physical forcing ``(cell, 5)``; ``x``: standardised
        ``(cell, 5)``; ``nets``: the four networks bound to the cells' embedding."""
        net_a, net_b, net_c, net_d = nets
        x_rn, x_prec, x_tair, x_vpd, x_co2 = (x[:, i] for i in range(5))
        rn, prec, tair, _vpd, co2 = (f[:, i] for i in range(5))
        smr = state.sm / sm_max
        cols = lambda *v: jnp.stack(v, axis=-1)  # noqa: E731

        raw_a, hc_a = net_a(cols(x_rn, x_prec, smr, state.swe / 100.0, state.gw / 200.0,
                                 state.fapar), state.lstm_a)
        raw_b = net_b(cols(x_rn, x_vpd, smr))
        raw_c, hc_c = net_c(cols(x_rn, x_tair, x_vpd, x_co2, smr, state.fapar, state.npp),
                            state.lstm_c)
        raw_d, hc_d = net_d(cols(x_rn, x_prec, state.npp, state.fapar), state.lstm_d)
        p = {**_activate(HEAD_A, raw_a), **_activate(HEAD_B, raw_b), **_activate(HEAD_C, raw_c),
             **_activate(HEAD_D, raw_d)}

        params = physics.StepParams(sm_max=sm_max, alpha_ei=alpha_ei, **p, **g)
        water, fluxes = physics.water_carbon_step(
            physics.WaterState(state.swe, state.sm, state.gw), rn, prec, tair, co2, params,
            self.config.irrigation)
        fluxes.setdefault("irrigation", jnp.zeros_like(prec))
        new = State(water.swe, water.sm, water.gw, p["fapar"], fluxes["npp"], hc_a, hc_c, hc_d)
        out = {**fluxes, "swe": water.swe, "sm": water.sm, "gw": water.gw,
               "tws": water.swe + water.sm + water.gw, **p}
        return new, out

    # ----------------------------------------------------------------- forward
    def _scan(self, forcing: Forcing, static: StaticPredictors | None, init: State | None,
              collect: bool, segment: int | None) -> tuple[State, Any, dict[str, Array]]:
        n_time, n_cell = forcing.rn.shape
        sp = self.static_parameters(static, n_cell)
        g = self.constants.values()
        norm = jax.lax.stop_gradient(self.normalization)
        phys = forcing.stacked()
        std = (phys - norm.forcing_mean) / norm.forcing_std
        state0 = self.initial_state(n_cell) if init is None else init
        emb = sp["embedding"]
        # The embedding is fixed over time: its share of each network's first layer is
        # computed once, outside the scan (the per-day work is then one matrix product
        # per network, batched over cells).
        mm = None if self.config.matmul_dtype == "float32" else jnp.dtype(self.config.matmul_dtype)
        nets = (self.net_a.bind(emb, mm), self.net_b.bind(emb), self.net_c.bind(emb, mm),
                self.net_d.bind(emb, mm))

        def body(state: State, inp: tuple[Array, Array]) -> tuple[State, Any]:
            f, x = inp
            new, out = self._step(nets, state, f, x, sp["sm_max"], sp["alpha_ei"], g)
            return new, (out if collect else None)

        final, ys = _scan_time(body, state0, (phys, std), segment)
        return final, ys, {**sp, **g}

    def __call__(self, forcing: Forcing | Mapping[str, ArrayLike],
                 static: StaticPredictors | None = None,
                 init: State | None = None, *, segment: int | None = None
                 ) -> tuple[dict[str, Array], State]:
        """Run the model forward over a whole series (no spin-up).

        Parameters
        ----------
        forcing : Forcing or mapping
            Daily forcing ``(time, cell)`` in catalog units.
        static : Array or None
            Static predictors ``(cell, n_static)`` (None if ``n_static == 0``).
        init : State, optional
            Initial state (e.g. from :func:`spinup`); zero state if None.
        segment : int, optional
            Gradient checkpointing: split time into segments of this many
            days, keep only segment-boundary states for the backward pass and
            recompute inside segments (two-level ``jax.checkpoint``). Memory
            of the backward pass falls from O(time) to O(time/segment +
            segment) step states at the cost of about one extra forward pass.
            Results are identical.

        Returns
        -------
        outputs : dict of Array
            Every :data:`xh2cm.catalog.OUTPUTS` variable: dynamic ``(time, cell)``,
            static ``(cell,)``, global ``()``.
        final_state : State
            State after the last day.
        """
        if not isinstance(forcing, Forcing):
            forcing = Forcing.from_mapping(forcing)
        final, ys, fixed = self._scan(forcing, static, init, True, segment)
        ys["tws_anomaly"] = ys["tws"] - jnp.mean(ys["tws"], axis=0, keepdims=True)
        ys.update({k: fixed[k] for k in ("sm_max", "alpha_ei", *act.GLOBAL_ACTIVATIONS)})
        return ys, final

    def final_state(self, forcing: Forcing | Mapping[str, ArrayLike],
                    static: StaticPredictors | None = None, init: State | None = None, *,
                    segment: int | None = None) -> State:
        """State after running over ``forcing`` without storing outputs (cheap in memory);
        ``segment``: gradient checkpointing as in :meth:`__call__`."""
        if not isinstance(forcing, Forcing):
            forcing = Forcing.from_mapping(forcing)
        return self._scan(forcing, static, init, False, segment)[0]


def _scan_time(body: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any,
               segment: int | None) -> tuple[Any, Any]:
    """``lax.scan`` over the leading axis, optionally two-level checkpointed by segments."""
    if segment is None:
        return jax.lax.scan(body, init, xs)
    n_time = jax.tree_util.tree_leaves(xs)[0].shape[0]
    n_seg = -(-n_time // segment)
    pad = n_seg * segment - n_time
    valid = jnp.arange(n_seg * segment) < n_time
    xs = jax.tree_util.tree_map(
        lambda a: jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)]) if pad else a, xs)

    def masked_body(state: Any, inp: tuple[Any, Array]) -> tuple[Any, Any]:
        x, ok = inp
        new, y = body(state, x)
        new = jax.tree_util.tree_map(lambda n, o: jnp.where(ok, n, o), new, state)
        return new, y

    inner = jax.checkpoint(masked_body)

    @jax.checkpoint
    def segment_body(state: Any, inp: Any) -> tuple[Any, Any]:
        return jax.lax.scan(inner, state, inp)

    seg_xs = jax.tree_util.tree_map(
        lambda a: a.reshape((n_seg, segment) + a.shape[1:]), (xs, valid))
    final, ys = jax.lax.scan(segment_body, init, seg_xs)
    ys = jax.tree_util.tree_map(lambda a: a.reshape((n_seg * segment,) + a.shape[2:])[:n_time],
                                ys)
    return final, ys


def spinup(model: H2CM, forcing: Forcing | Mapping[str, ArrayLike],
           static: StaticPredictors | None = None, *, cycles: int = 1,
           init: State | None = None, gradient: bool = False, segment: int | None = None
           ) -> State:
    """Spin the model up (docs/model/training.md).

    Runs the model ``cycles`` times over ``forcing`` from zero states (or
    ``init``), carrying the final state of each pass into the next, and
    returns the last final state with gradients stopped.

    Parameters
    ----------
    model : H2CM
        The model.
    forcing : Forcing or mapping
        Daily forcing ``(time, cell)``.
    static : Array or None
        Static predictors ``(cell, n_static)``.
    cycles : int
        Number of passes over the forcing (reference: 1).
    init : State, optional
        Start state; zero state if None.
    gradient : bool
        Keep the gradient through the spin-up (docs/model/training.md stops it).
    segment : int, optional
        Gradient checkpointing of each pass, as in :meth:`H2CM.__call__`.

    Returns
    -------
    State
        Spun-up state (storages, fapar, npp and LSTM states), no gradient
        unless ``gradient``.
    """
    if not isinstance(forcing, Forcing):
        forcing = Forcing.from_mapping(forcing)
    state = model.initial_state(forcing.rn.shape[1]) if init is None else init
    state = jax.lax.fori_loop(
        0, cycles, lambda _, s: model.final_state(forcing, static, s, segment=segment), state)
    return state if gradient else jax.lax.stop_gradient(state)


def spun_up(model: H2CM, forcing: Forcing | Mapping[str, ArrayLike],
            static: StaticPredictors | None = None, *, cycles: int, **kwargs: Any
            ) -> State | None:
    """:func:`spinup` if ``cycles`` > 0, else None (the run then starts from the zero state).

    The one place that decides whether a run is spun up; ``**kwargs`` go to
    :func:`spinup` (``gradient=``, ``segment=``, ``init=``).
    """
    return spinup(model, forcing, static, cycles=cycles, **kwargs) if cycles else None


def reattach_groundwater(model: H2CM, state: State) -> State:
    """Give a spun-up state the groundwater gradient of a linear-reservoir equilibrium.

    Spin-up runs without gradient (docs/model/training.md), so the loss sees the initial
    groundwater ``gw0`` as a constant. But ``gw0`` is (close to) the
    equilibrium of the reservoir ``dgw/dt = r_gw - beta_base * gw``, i.e.
    ``gw* = mean(r_gw) / beta_base``. Treating it as fixed makes ``beta_base``
    look like a knob on the *level* of baseflow (``q_base = beta_base * gw0``),
    which it is not once the model is spun up again: in equilibrium mean
    baseflow equals mean recharge for any ``beta_base``. This function returns
    ``gw0 * stop_gradient(beta) / beta``: the same value, bit for bit
    (``x / x == 1`` in IEEE arithmetic), with derivative
    ``d gw0 / d beta_base = -gw0 / beta_base``, the equilibrium sensitivity.
    The forward model is unchanged; only the gradient of ``beta_base`` is.

    Parameters
    ----------
    model : H2CM
        The model whose ``beta_base`` the gradient should flow to.
    state : State
        A spun-up state (e.g. from :func:`spinup`); groundwater in mm.

    Returns
    -------
    State
        ``state`` with groundwater re-attached to ``beta_base``.
    """
    beta = act.beta_base(model.constants.beta_base)
    return state._replace(gw=state.gw * (jax.lax.stop_gradient(beta) / beta))


def trainable_filter(model: H2CM) -> H2CM:
    """Boolean pytree marking the trained leaves (everything but ``normalization``)."""
    spec = jax.tree_util.tree_map(eqx.is_inexact_array, model)
    return eqx.tree_at(lambda m: m.normalization, spec,
                       jax.tree_util.tree_map(lambda _: False, model.normalization))
