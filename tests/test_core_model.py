"""Tests of the scanned H2CM model, spin-up, gradients, batching and the NumPy API.

All tests use one small architecture (hidden 8, static MLP width 16, two
static predictors) so that the random-initialisation and scan kernels compile
once per session; the reference-size architecture is checked with
``jax.eval_shape`` (no compilation).
"""

from __future__ import annotations

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xh2cm import catalog
from xh2cm.core import (
    H2CM,
    Forcing,
    ModelConfig,
    Normalization,
    State,
    init_model,
    simulate,
    spinup,
    trainable_filter,
)

N_TIME, N_CELL = 60, 3
STATIC_NAMES = ("elev", "clay")
CONFIG = ModelConfig(static_names=STATIC_NAMES, hidden_size=8, static_hidden=16)
CONFIG0 = ModelConfig(hidden_size=8, static_hidden=16)

_forward = eqx.filter_jit(lambda m, f, s, init: m(f, s, init))
_spinup = eqx.filter_jit(lambda m, f, s, init, cycles: spinup(m, f, s, cycles=cycles, init=init))


def assert_outputs_close(actual, expected, rel=1e-6):
    """Compare two output dicts with a per-variable, scale-aware tolerance.

    Parameters
    ----------
    actual, expected : dict of array
        Model outputs with the same keys.
    rel : float
        Allowed difference relative to ``max(1, max |expected[name]|)``
        (for ``tws_anomaly`` the scale of ``tws``). float32 has ``eps =
        1.2e-7``, so 1e-6 allows ~8 ulps of the variable's largest value:
        the size of the differences that different but equivalent XLA
        kernels (e.g. a matrix-vector instead of a matrix-matrix product for
        a single cell) leave after the recurrence has run for weeks.
    """
    assert set(actual) == set(expected)
    for name in expected:
        a = np.asarray(actual[name], np.float64)
        e = np.asarray(expected[name], np.float64)
        assert a.shape == e.shape, name
        ref = expected["tws"] if name == "tws_anomaly" else e
        tol = rel * max(1.0, float(np.max(np.abs(ref))))
        err = float(np.max(np.abs(a - e))) if a.size else 0.0
        assert err <= tol, f"{name}: max |diff| {err:.3g} > {tol:.3g}"


@pytest.fixture(scope="module")
def arrays(make_forcing_arrays):
    return make_forcing_arrays()


@pytest.fixture(scope="module")
def forcing(arrays):
    return Forcing.from_mapping(arrays)


@pytest.fixture(scope="module")
def static(make_static):
    return jnp.asarray(make_static(), jnp.float32)


@pytest.fixture(scope="module")
def model(small_model):
    assert small_model.config == CONFIG
    return small_model


@pytest.fixture(scope="module")
def outputs(model, forcing, static):
    return _forward(model, forcing, static, None)


# ----------------------------------------------------------------------------- shapes
def test_output_shapes_cover_catalog(outputs):
    out, final = outputs
    assert set(out) == set(catalog.OUTPUT_NAMES)
    for name, info in catalog.OUTPUTS.items():
        expected = {"dynamic": (N_TIME, N_CELL), "static": (N_CELL,), "global": ()}[info.kind]
        assert out[name].shape == expected, name
        assert out[name].dtype == jnp.float32, name
        assert np.all(np.isfinite(np.asarray(out[name]))), name
    assert isinstance(final, State)
    for name in ("swe", "sm", "gw", "fapar", "npp"):
        assert getattr(final, name).shape == (N_CELL,)
        np.testing.assert_array_equal(getattr(final, name),
                                      out[name][-1] if name != "npp" else out["npp"][-1])
    for hc in (final.lstm_a, final.lstm_c, final.lstm_d):
        assert hc[0].shape == hc[1].shape == (N_CELL, CONFIG.hidden_size)


def test_forcing_exercises_all_regimes(outputs, arrays):
    """Guard: the test forcing really has snow, melt, rain, dry days and recharge."""
    out, _ = outputs
    assert float(out["snowfall"].sum()) > 0 and float(out["melt"].max()) > 0.1
    assert float(out["rainfall"].sum()) > 0 and np.any(arrays["prec"] == 0)
    assert float(out["gw"].max()) > 0 and float(out["q_base"].max()) > 0
    assert float(out["ei"].max()) > 0 and float(out["gpp"].max()) > 0


def test_initial_state_and_global_constants_match_design(model):
    init = model.initial_state(4)
    for name in ("swe", "sm", "gw", "fapar"):
        np.testing.assert_array_equal(getattr(init, name), 0.0)
    np.testing.assert_allclose(init.npp, 1.17, rtol=1e-6)
    for hc in (init.lstm_a, init.lstm_c, init.lstm_d):
        np.testing.assert_array_equal(hc[0], 0.0)
        np.testing.assert_array_equal(hc[1], 0.0)
    g = {k: float(v) for k, v in model.constants.values().items()}
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    assert g["beta_snow"] == pytest.approx(sig(3.0), rel=1e-6)
    assert g["beta_base"] == pytest.approx(sig(-6.0), rel=1e-6)
    assert g["q10"] == pytest.approx(1 + 9 * sig(-3.0), rel=1e-6)
    assert g["q10"] == pytest.approx(1.4, abs=0.05)
    assert g["beta_co2"] == pytest.approx(np.log1p(np.exp(-6.5)), rel=1e-5)
    assert g["beta_co2"] == pytest.approx(0.0015, rel=0.01)


# ----------------------------------------------------------------------------- network wiring
def _np_sigmoid(x):
    """Logistic function in float64."""
    return 1.0 / (1.0 + np.exp(-x))


def _np_softplus(x):
    """``log(1 + exp(x))`` in float64, overflow-safe."""
    return np.logaddexp(0.0, x)


def _np_linear(layer, x):
    """``W x + b`` of an ``eqx.nn.Linear`` in float64 NumPy, for a batch ``(n, in)``."""
    return x @ np.asarray(layer.weight, np.float64).T + np.asarray(layer.bias, np.float64)


def _np_mlp(net, x, slope):
    """docs/model/learned.md three-layer MLP in NumPy: ``(raw outputs, bottleneck)``."""
    leaky = lambda v: np.where(v >= 0, v, slope * v)  # noqa: E731
    e = leaky(_np_linear(net.layer2, leaky(_np_linear(net.layer1, x))))
    return _np_linear(net.head, e), e


def _np_lstm_head(net, x, h, c):
    """One PyTorch-convention LSTM step (gates i, f, g, o) and the dense head, in NumPy."""
    lin = (x @ np.asarray(net.cell.weight_ih, np.float64).T
           + h @ np.asarray(net.cell.weight_hh, np.float64).T
           + np.asarray(net.cell.bias, np.float64))
    i, f, g, o = np.split(lin, 4, axis=-1)
    c = _np_sigmoid(f) * c + _np_sigmoid(i) * np.tanh(g)
    h = _np_sigmoid(o) * np.tanh(c)
    return _np_linear(net.head, h)


def test_network_inputs_and_activations_follow_design(model, forcing, static):
    """Day-0 parameters from a non-trivial initial state, recomputed in NumPy from
    docs/model/learned.md.

    Inputs: A (rn, prec, sm/sm_max, swe/100, gw/200, fapar_prev), B (rn, vpd,
    sm/sm_max), C (rn, tair, vpd, co2, sm/sm_max, fapar_prev, npp_prev), D (rn,
    prec, npp_prev, fapar_prev), each followed by the 12-value (here
    ``embedding_size``) static embedding; forcing standardised, states as is.
    """
    rng = np.random.default_rng(4)
    hid = CONFIG.hidden_size
    hc = lambda: tuple(jnp.asarray(rng.normal(0, 0.5, (N_CELL, hid)), jnp.float32)  # noqa: E731
                       for _ in range(2))
    vec = lambda lo, hi: jnp.asarray(rng.uniform(lo, hi, N_CELL), jnp.float32)  # noqa: E731
    init = State(swe=vec(20, 300), sm=vec(10, 90), gw=vec(50, 600), fapar=vec(0.1, 0.9),
                 npp=vec(0.2, 3), lstm_a=hc(), lstm_c=hc(), lstm_d=hc())
    out, _ = _forward(model, forcing, static, init)

    norm = model.normalization
    f = np.asarray(forcing.stacked()[0], np.float64)  # (cell, 5): rn, prec, tair, vpd, co2
    x = (f - np.asarray(norm.forcing_mean)) / np.asarray(norm.forcing_std)
    xs = (np.asarray(static, np.float64) - np.asarray(norm.static_mean)) / np.asarray(
        norm.static_std)
    raw_s, emb = _np_mlp(model.static_net, xs, CONFIG.leaky_slope)
    sm_max = _np_softplus(raw_s[:, 0] + 100.0) + 1.0
    st = {k: np.asarray(v, np.float64) for k, v in init._asdict().items() if k[:4] != "lstm"}
    smr = st["sm"] / sm_max
    x_rn, x_prec, x_tair, x_vpd, x_co2 = x.T
    cat = lambda *cols: np.concatenate([np.stack(cols, 1), emb], 1)  # noqa: E731
    h64 = lambda pair: [np.asarray(a, np.float64) for a in pair]  # noqa: E731
    raw_a = _np_lstm_head(model.net_a, cat(x_rn, x_prec, smr, st["swe"] / 100, st["gw"] / 200,
                                           st["fapar"]), *h64(init.lstm_a))
    raw_b, _ = _np_mlp(model.net_b, cat(x_rn, x_vpd, smr), CONFIG.leaky_slope)
    raw_c = _np_lstm_head(model.net_c, cat(x_rn, x_tair, x_vpd, x_co2, smr, st["fapar"],
                                           st["npp"]), *h64(init.lstm_c))
    raw_d = _np_lstm_head(model.net_d, cat(x_rn, x_prec, st["npp"], st["fapar"]),
                          *h64(init.lstm_d))
    expected = {
        "sm_max": sm_max, "alpha_ei": _np_softplus(raw_s[:, 1]),
        "alpha_melt": _np_softplus(raw_a[:, 0]), "alpha_soil": _np_sigmoid(raw_a[:, 1]),
        "alpha_gw": _np_sigmoid(raw_a[:, 2]), "wue": _np_softplus(raw_b[:, 0]),
        "alpha_t": _np_sigmoid(raw_b[:, 1]), "cue": _np_sigmoid(raw_c[:, 0]),
        "fapar": _np_sigmoid(raw_c[:, 1]), "rb": _np_softplus(raw_d[:, 0]),
        "alpha_es": _np_sigmoid(raw_d[:, 1]),
    }
    for name, value in expected.items():
        got = out[name] if out[name].ndim == 1 else out[name][0]
        np.testing.assert_allclose(got, value, rtol=1e-5, atol=1e-6, err_msg=name)


# ----------------------------------------------------------------------------- segment
@pytest.mark.parametrize("segment", [7, 64])
def test_segment_checkpointing_equals_plain(model, forcing, static, outputs, segment):
    """60 days in segments of 7 (not a divisor) or 64 (longer than the series)."""
    out, final = outputs
    run = eqx.filter_jit(lambda m, f, s: m(f, s, segment=segment))
    out_s, final_s = run(model, forcing, static)
    assert_outputs_close(out_s, out, rel=1e-6)
    for a, b in zip(jax.tree_util.tree_leaves(final_s), jax.tree_util.tree_leaves(final),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- spin-up
def test_spinup_changes_state_and_stops_gradient(model, forcing, static, outputs):
    state = _spinup(model, forcing, static, None, 1)
    init = model.initial_state(N_CELL)
    assert isinstance(state, State)
    assert not np.allclose(state.sm, init.sm)
    assert not np.allclose(state.lstm_a[0], init.lstm_a[0])
    # one cycle == the final state of a plain run from zero states
    for a, b in zip(jax.tree_util.tree_leaves(state), jax.tree_util.tree_leaves(outputs[1]),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    # two cycles == one cycle started from the one-cycle state
    two = _spinup(model, forcing, static, None, 2)
    again = _spinup(model, forcing, static, state, 1)
    for a, b in zip(jax.tree_util.tree_leaves(two), jax.tree_util.tree_leaves(again),
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # a spun-up start changes the outputs
    out_spun, _ = _forward(model, forcing, static, state)
    assert not np.allclose(out_spun["sm"], outputs[0]["sm"])

    def through_spinup(m):
        s = spinup(m, forcing, static)
        return sum(jnp.sum(x) for x in jax.tree_util.tree_leaves(s))

    grads = eqx.filter_jit(eqx.filter_grad(through_spinup))(model)
    leaves = jax.tree_util.tree_leaves(grads)
    assert leaves
    for leaf in leaves:
        np.testing.assert_array_equal(leaf, 0.0)


# ----------------------------------------------------------------------------- gradients
def _standardised_loss(forcing, static, outputs, segment=None):
    """A loss on standardised outputs, like the training constraints of docs/model/training.md.

    Parameters
    ----------
    forcing : Forcing
    static : Array
    outputs : dict
        Reference outputs whose mean/std standardise each term.
    segment : int, optional
        Passed to the model (gradient checkpointing).

    Returns
    -------
    callable
        ``loss(model) -> scalar``: mean squared standardised deviation of
        ``swe, q, gpp, nee, et, tws_anomaly, fapar`` from their reference
        mean shifted by 0.5 std (so the loss is not at a stationary point).
    """
    names = ("swe", "q", "gpp", "nee", "et", "tws_anomaly", "fapar")
    stats = {k: (float(jnp.mean(outputs[k])), float(jnp.std(outputs[k])) + 1e-3) for k in names}

    def loss(m):
        out, _ = m(forcing, static, segment=segment)
        terms = [jnp.mean(((out[k] - mu - 0.5 * sd) / sd) ** 2) for k, (mu, sd) in stats.items()]
        return sum(terms) / len(terms)

    return loss


@pytest.fixture(scope="module")
def grads(model, forcing, static, outputs):
    """Gradient of :func:`_standardised_loss` w.r.t. every inexact leaf (incl. normalization)."""
    return eqx.filter_jit(eqx.filter_grad(_standardised_loss(forcing, static, outputs[0])))(model)


def test_gradient_finite_and_nonzero_for_every_trainable_leaf(model, grads):
    spec = trainable_filter(model)
    trainable = eqx.filter(grads, spec)
    flat = jax.tree_util.tree_leaves_with_path(trainable)
    assert len(flat) == sum(jax.tree_util.tree_leaves(spec))
    zero = []
    for path, leaf in flat:
        name = jax.tree_util.keystr(path)
        assert np.all(np.isfinite(np.asarray(leaf))), name
        if not np.any(np.asarray(leaf) != 0):
            zero.append(name)
    assert not zero, f"trainable leaves with an all-zero gradient: {zero}"
    names = {jax.tree_util.keystr(p) for p, _ in flat}
    for expected in (".constants.beta_snow", ".constants.beta_base", ".constants.q10",
                     ".constants.beta_co2", ".static_net.layer1.weight", ".net_a.cell.weight_hh",
                     ".net_b.head.bias", ".net_c.head.weight", ".net_d.cell.bias"):
        assert expected in names


def test_normalization_gets_no_gradient(model, grads):
    leaves = jax.tree_util.tree_leaves(grads.normalization)
    assert len(leaves) == 4
    for leaf in leaves:
        np.testing.assert_array_equal(leaf, 0.0)
    spec = trainable_filter(model)
    flags = jax.tree_util.tree_leaves_with_path(spec)
    assert flags
    for path, flag in flags:
        name = jax.tree_util.keystr(path)
        assert flag is (not name.startswith(".normalization")), name
    assert isinstance(model.normalization, Normalization)


def test_segment_checkpointing_gradient_equals_plain(model, forcing, static, outputs, grads):
    loss7 = _standardised_loss(forcing, static, outputs[0], segment=7)
    g7 = eqx.filter_jit(eqx.filter_grad(loss7))(model)
    for a, b in zip(jax.tree_util.tree_leaves(g7), jax.tree_util.tree_leaves(grads), strict=True):
        scale = max(1e-6, float(jnp.max(jnp.abs(b))))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-4 * scale)


# ----------------------------------------------------------------------------- no static
def test_model_without_static_predictors(arrays):
    model0 = init_model(CONFIG0, seed=2, forcing=arrays)
    assert model0.config.n_static == 0
    out = simulate(model0, arrays, spinup=False)
    for name in catalog.OUTPUT_NAMES:
        assert np.all(np.isfinite(out[name])), name
    # every cell gets the same (learned-constant) static parameters
    np.testing.assert_allclose(out["sm_max"], out["sm_max"][0])
    np.testing.assert_allclose(out["alpha_ei"], out["alpha_ei"][0])
    assert not np.allclose(out["gpp"][:, 0], out["gpp"][:, 1])  # forcing still differs


def test_static_shape_is_checked(model, forcing):
    with pytest.raises(ValueError, match="static predictors"):
        model(forcing, None)
    with pytest.raises(ValueError, match="static predictors"):
        model(forcing, jnp.zeros((N_CELL, 3)))


# ----------------------------------------------------------------------------- batching
def test_cells_one_at_a_time_equal_cells_together(model, forcing, static, outputs):
    out_all, _ = outputs
    for c in range(N_CELL):
        f_c = Forcing(*(x[:, c:c + 1] for x in forcing))
        out_c, _ = _forward(model, f_c, static[c:c + 1], None)
        sliced = {k: (v[:, c:c + 1] if catalog.OUTPUTS[k].kind == "dynamic" else
                      v[c:c + 1] if catalog.OUTPUTS[k].kind == "static" else v)
                  for k, v in out_all.items()}
        assert_outputs_close(out_c, sliced, rel=1e-6)


# ----------------------------------------------------------------------------- simulate
def test_simulate_pads_odd_cell_counts_and_matches_model(model, arrays, static):
    res = simulate(model, arrays, np.asarray(static))
    assert set(res) == set(catalog.OUTPUT_NAMES)
    for name, info in catalog.OUTPUTS.items():
        expected = {"dynamic": (N_TIME, N_CELL), "static": (N_CELL,), "global": ()}[info.kind]
        assert res[name].shape == expected, name
        assert isinstance(res[name], np.ndarray)
    f = Forcing.from_mapping(arrays)
    init = _spinup(model, f, static, None, 1)
    direct, _ = _forward(model, f, static, init)
    assert_outputs_close(res, {k: np.asarray(v) for k, v in direct.items()})


def test_simulate_single_cell_and_scalar_co2(model, arrays, static):
    one = {k: (v[:, :1] if v.ndim == 2 else v) for k, v in arrays.items()}
    one["co2"] = 390.0
    res = simulate(model, one, np.asarray(static[:1]), spinup=False)
    assert res["gpp"].shape == (N_TIME, 1) and res["sm_max"].shape == (1,)
    full = {**one, "co2": np.full((N_TIME, 1), 390.0)}
    res2 = simulate(model, full, np.asarray(static[:1]), spinup=False)
    for k in res:
        np.testing.assert_array_equal(res[k], res2[k])


@pytest.mark.parametrize("name", catalog.FORCING_NAMES)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_simulate_refuses_non_finite_forcing(model, arrays, static, name, bad):
    broken = {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}
    broken[name][5] = bad
    with pytest.raises(ValueError, match=repr(name)):
        simulate(model, broken, np.asarray(static))


def test_simulate_refuses_bad_static_and_missing_forcing(model, arrays, static):
    bad = np.asarray(static).copy()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="static"):
        simulate(model, arrays, bad)
    with pytest.raises(KeyError, match="vpd"):
        simulate(model, {k: v for k, v in arrays.items() if k != "vpd"}, np.asarray(static))


# ----------------------------------------------------------------------------- Forcing
def test_forcing_from_mapping_errors_and_broadcast(arrays):
    with pytest.raises(KeyError, match="tair"):
        Forcing.from_mapping({k: v for k, v in arrays.items() if k != "tair"})
    with pytest.raises(ValueError, match="rn"):
        Forcing.from_mapping({**arrays, "rn": arrays["rn"][:, 0]})
    with pytest.raises(ValueError, match="prec"):
        Forcing.from_mapping({**arrays, "prec": arrays["prec"][:-1]})
    with pytest.raises(ValueError):
        Forcing.from_mapping({**arrays, "co2": np.full(N_TIME + 1, 400.0)})
    f = Forcing.from_mapping({**arrays, "co2": 400.0})
    assert f.co2.shape == (N_TIME, N_CELL)
    np.testing.assert_array_equal(f.co2, 400.0)
    f = Forcing.from_mapping(arrays)
    np.testing.assert_allclose(f.co2[:, 2], arrays["co2"].astype(np.float32))
    assert f.stacked().shape == (N_TIME, N_CELL, len(catalog.FORCING_NAMES))
    assert all(x.dtype == jnp.float32 for x in f)


# ----------------------------------------------------------------------------- config
def test_model_config_validation():
    for field in ("hidden_size", "static_hidden", "embedding_size", "mlp_hidden",
                  "mlp_bottleneck"):
        with pytest.raises(ValueError, match=field):
            ModelConfig(**{field: 0})
        with pytest.raises(ValueError, match=field):
            ModelConfig(**{field: 2.5})
    with pytest.raises(ValueError, match="duplicates"):
        ModelConfig(static_names=("a", "b", "a"))
    for bad in (0.0, -1.0, "100"):
        with pytest.raises(ValueError, match="sm_max_scale"):
            ModelConfig(sm_max_scale=bad)
    assert ModelConfig(static_names=["a", "b"]).static_names == ("a", "b")
    assert ModelConfig(static_names=["a", "b"]).n_static == 2


def test_model_config_round_trip():
    cfg = ModelConfig(static_names=("x", "y", "z"), hidden_size=7, static_hidden=9,
                      embedding_size=5, mlp_hidden=11, mlp_bottleneck=3, leaky_slope=0.2,
                      npp_init=0.5, sm_max_scale=100.0)
    data = json.loads(json.dumps(cfg.to_dict()))
    back = ModelConfig.from_dict(data)
    assert back == cfg and back.static_names == ("x", "y", "z")
    assert ModelConfig.from_dict(ModelConfig().to_dict()) == ModelConfig()
    with pytest.raises(KeyError, match="bogus"):
        ModelConfig.from_dict({**data, "bogus": 1})
    # files written before sm_max_scale existed load with the reference's parametrisation
    old = {k: v for k, v in data.items() if k != "sm_max_scale"}
    assert ModelConfig.from_dict(old).sm_max_scale == 1.0
    # ... and before matmul_dtype existed, with float32 products
    old = {k: v for k, v in data.items() if k != "matmul_dtype"}
    assert ModelConfig.from_dict(old).matmul_dtype == "float32"
    fast = ModelConfig(matmul_dtype="bfloat16")
    assert ModelConfig.from_dict(json.loads(json.dumps(fast.to_dict()))) == fast
    with pytest.raises(ValueError, match="matmul_dtype"):
        ModelConfig(matmul_dtype="float16")


def test_default_architecture_matches_design():
    """Reference layout of docs/model/learned.md (shapes only, via eval_shape: nothing is
    compiled)."""
    names = tuple(f"s{i}" for i in range(30))
    cfg = ModelConfig(static_names=names)
    m = jax.eval_shape(lambda: H2CM(cfg, jax.random.PRNGKey(0)))
    shape = lambda x: tuple(x.shape)  # noqa: E731
    # static MLP: n_static -> 150 -> 12 -> 2
    assert shape(m.static_net.layer1.weight) == (150, 30)
    assert shape(m.static_net.layer2.weight) == (12, 150)
    assert shape(m.static_net.head.weight) == (2, 12)
    # MLP B: 3 + 12 = 15 -> 150 -> 12 -> 2
    assert shape(m.net_b.layer1.weight) == (150, 15)
    assert shape(m.net_b.layer2.weight) == (12, 150)
    assert shape(m.net_b.head.weight) == (2, 12)
    # LSTMs: hidden 100, inputs 18 (A), 19 (C), 16 (D); heads 3, 2, 2
    for net, n_in, n_out in ((m.net_a, 18, 3), (m.net_c, 19, 2), (m.net_d, 16, 2)):
        assert net.cell.hidden_size == 100 and net.cell.input_size == n_in
        assert shape(net.cell.weight_ih) == (400, n_in)
        assert shape(net.cell.weight_hh) == (400, 100)
        assert shape(net.head.weight) == (n_out, 100)
    assert m.static_net.slope == 0.01
    assert shape(m.normalization.static_mean) == (30,)
    # n_static = 0: the static MLP sees one constant input
    m0 = jax.eval_shape(lambda: H2CM(ModelConfig(), jax.random.PRNGKey(0)))
    assert shape(m0.static_net.layer1.weight) == (150, 1)
    assert shape(m0.normalization.static_mean) == (0,)


def test_init_model_normalization_from_data(arrays, make_static):
    st = make_static()
    st[0, 1] = np.nan
    m = init_model(CONFIG, seed=0, forcing=arrays, static=st)
    for i, name in enumerate(catalog.FORCING_NAMES):
        np.testing.assert_allclose(m.normalization.forcing_mean[i], np.mean(arrays[name]),
                                   rtol=1e-5)
        np.testing.assert_allclose(m.normalization.forcing_std[i], np.std(arrays[name]),
                                   rtol=1e-5)
    np.testing.assert_allclose(m.normalization.static_mean, np.nanmean(st, 0), rtol=1e-5)
    np.testing.assert_allclose(m.normalization.static_std, np.nanstd(st, 0), rtol=1e-5)
    # constant forcing: std falls back to 1 instead of dividing by zero
    const = {**arrays, "vpd": np.full_like(arrays["vpd"], 3.0)}
    m = init_model(CONFIG, seed=0, forcing=const)
    assert float(m.normalization.forcing_std[catalog.FORCING_NAMES.index("vpd")]) == 1.0
    default = init_model(CONFIG, seed=0)
    np.testing.assert_array_equal(default.normalization.static_mean, 0.0)
    np.testing.assert_array_equal(default.normalization.static_std, 1.0)


class _ScaledWUE(eqx.Module):
    """MLP B whose WUE output is ``factor`` times the wrapped network's (exact in softplus)."""

    net: eqx.Module
    factor: float

    def bind(self, embedding):
        bound = self.net.bind(embedding)

        def call(x):
            raw = bound(x)
            wue = self.factor * jax.nn.softplus(raw[:, 0])
            return raw.at[:, 0].set(wue + jnp.log(-jnp.expm1(-wue)))  # inverse softplus
        return call


def test_beta_co2_and_wue_are_one_degree_of_freedom(model, forcing, static, outputs):
    """The reference's GPP = T·WUE·CO2·beta_CO2, with a WUE network that does not see CO2: scaling
    WUE by c and beta_CO2 by 1/c leaves every flux and state unchanged. No data can
    identify beta_CO2 on its own (the twin experiment's finding); its prior sets it."""
    from xh2cm.core import global_constants, set_global_constants

    c = 3.0
    beta = global_constants(model)["beta_co2"]
    other = eqx.tree_at(lambda m: m.net_b, model, _ScaledWUE(model.net_b, c))
    other = set_global_constants(other, beta_co2=beta / c)
    out = _forward(other, forcing, static, None)[0]
    np.testing.assert_allclose(out["wue"], c * np.asarray(outputs[0]["wue"]), rtol=2e-5)
    assert float(out["beta_co2"]) == pytest.approx(beta / c, rel=1e-5)
    same = {k: out[k] for k in outputs[0] if k not in ("wue", "beta_co2")}
    assert_outputs_close(same, {k: outputs[0][k] for k in same}, rel=2e-5)


def test_sm_max_scale_sets_how_fast_adam_moves_the_soil_capacity(arrays, make_static):
    """The reference's sm_max = softplus(out + 100) + 1 moves ~1 mm per unit of raw output, i.e.
    about one learning rate per Adam step; sm_max_scale=100 moves it 100 times faster.
    set_head_bias and the activation agree for any scale."""
    import optax

    from xh2cm.core import set_head_bias

    st = jnp.asarray(make_static(), jnp.float32)
    moved = {}
    for scale in (1.0, 100.0):
        m = init_model(CONFIG.__class__(**{**CONFIG.to_dict(), "sm_max_scale": scale}),
                       seed=1, forcing=arrays, static=make_static())
        level = set_head_bias(m, "sm_max", 80.0)
        no_emb = eqx.tree_at(lambda x: x.static_net.head.weight, level,
                             jnp.zeros_like(level.static_net.head.weight))
        sm0 = no_emb.static_parameters(st, N_CELL)["sm_max"]
        np.testing.assert_allclose(sm0, 80.0, rtol=1e-5)
        params, rest = eqx.partition(level, trainable_filter(level))

        def loss(p, rest=rest):
            sm = eqx.combine(p, rest).static_parameters(st, N_CELL)["sm_max"]
            return jnp.mean((sm - 250.0) ** 2)

        opt = optax.adam(1e-2)
        state = opt.init(params)
        start = float(jnp.mean(level.static_parameters(st, N_CELL)["sm_max"]))
        for _ in range(50):
            g = jax.grad(loss)(params)
            upd, state = opt.update(g, state, params)
            params = eqx.apply_updates(params, upd)
        end = float(jnp.mean(eqx.combine(params, rest).static_parameters(st, N_CELL)["sm_max"]))
        moved[scale] = end - start
    # 50 steps: the reference's parametrisation gets ~20 mm of the 170 mm, the scaled one nearly all
    assert 0 < moved[1.0] < 40.0, moved
    assert moved[100.0] > 150.0, moved


def test_bucket_avoids_power_of_two_multiples_and_bounds_padding():
    from xh2cm.core.api import bucket

    sizes = range(1, 20_000)
    assert all(bucket(n) >= n for n in sizes)
    assert all(bucket(n) % 16 for n in sizes if bucket(n) >= 128)  # odd multiples of 8
    assert max((bucket(n) - n) / n for n in range(128, 20_000)) < 0.12
    assert len({bucket(n) for n in range(1_000, 2_000)}) <= 17  # compiles shared by blocks


# ----------------------------------------------------------------------------- speed paths
def test_bound_networks_equal_the_per_cell_networks(model):
    """The scan's networks, bound once to the cells' embedding (one matrix product per LSTM
    and day, batched over cells), give what the per-cell Equinox modules give."""
    rng = np.random.default_rng(7)
    n, emb = 5, CONFIG.embedding_size
    e = jnp.asarray(rng.normal(size=(n, emb)), jnp.float32)
    hc = tuple(jnp.asarray(rng.normal(0, 0.5, (n, CONFIG.hidden_size)), jnp.float32)
               for _ in range(2))
    for net, n_dyn in ((model.net_a, 6), (model.net_c, 7), (model.net_d, 4)):
        x = jnp.asarray(rng.normal(size=(n, n_dyn)), jnp.float32)
        raw, (h, c) = net.bind(e)(x, hc)
        raw0, (h0, c0) = jax.vmap(net)(jnp.concatenate([x, e], 1), hc)
        for a, b in ((raw, raw0), (h, h0), (c, c0)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    x = jnp.asarray(rng.normal(size=(n, 3)), jnp.float32)
    raw0, _ = jax.vmap(model.net_b)(jnp.concatenate([x, e], 1))
    np.testing.assert_allclose(model.net_b.bind(e)(x), raw0, rtol=1e-5, atol=1e-6)


def test_bfloat16_products_same_weights_bounded_cost(model, forcing, static, outputs, tmp_path):
    """``with_matmul_dtype(model, "bfloat16")`` keeps the weights, changes the numbers (the
    flag is not a no-op) by far less than the outputs vary, and survives save/load."""
    from xh2cm.core import load_model, save_model, with_matmul_dtype

    fast = with_matmul_dtype(model, "bfloat16")
    assert fast.config.matmul_dtype == "bfloat16"
    assert all(bool(jnp.array_equal(a, b)) for a, b in
               zip(jax.tree_util.tree_leaves(model), jax.tree_util.tree_leaves(fast), strict=True))
    out, _ = _forward(fast, forcing, static, None)
    ref = outputs[0]
    changed = 0
    for name in ("et", "gpp", "nee", "tws", "fapar", "q"):
        a, b = np.asarray(out[name], np.float64), np.asarray(ref[name], np.float64)
        rel = np.sqrt(np.mean((a - b) ** 2)) / np.std(b)
        assert rel < 0.02, (name, rel)
        changed += bool(np.any(a != b))
    assert changed
    path = tmp_path / "m.eqx"
    save_model(path, fast)
    assert load_model(path).config.matmul_dtype == "bfloat16"
    with pytest.raises(ValueError, match="matmul_dtype"):
        with_matmul_dtype(model, "int8")
