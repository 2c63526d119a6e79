"""Tests of model files (save/load), global-constant setters and head-bias setting."""

from __future__ import annotations

import json

import equinox as eqx
import jax
import numpy as np
import pytest

from xh2cm.core import (
    ModelConfig,
    global_constants,
    init_model,
    load_model,
    read_header,
    save_model,
    set_global_constants,
    set_head_bias,
    simulate,
)
from xh2cm.core import activations as act
from xh2cm.core.serialization import FORMAT, FORMAT_VERSION

N_TIME, N_CELL = 30, 3
CONFIG = ModelConfig(static_names=("elev", "clay"), hidden_size=8, static_hidden=16)


def make_inputs(seed=0):
    """Random forcing ``(N_TIME, N_CELL)`` and static predictors ``(N_CELL, 2)``.

    Parameters
    ----------
    seed : int
        Seed of the NumPy generator.

    Returns
    -------
    forcing : dict of ndarray
        Catalog-unit forcing with snow and rain days.
    static : ndarray
        Static predictors.
    """
    rng = np.random.default_rng(seed)
    shape = (N_TIME, N_CELL)
    forcing = {"rn": rng.uniform(-20, 300, shape),
               "prec": rng.exponential(5, shape) * (rng.random(shape) < 0.5),
               "tair": rng.uniform(-10, 30, shape), "vpd": rng.uniform(0, 30, shape),
               "co2": np.linspace(380, 400, N_TIME)}
    static = np.stack([rng.uniform(0, 3000, N_CELL), rng.uniform(0, 0.6, N_CELL)], 1)
    return forcing, static


@pytest.fixture(scope="module")
def inputs():
    return make_inputs()


@pytest.fixture(scope="module")
def model(inputs):
    """A model whose every part differs from a fresh ``H2CM(config, PRNGKey(0))``."""
    forcing, static = inputs
    m = init_model(CONFIG, seed=5, forcing=forcing, static=static)
    m = set_global_constants(m, beta_snow=0.8, beta_base=0.02, q10=2.1, beta_co2=0.002)
    return set_head_bias(m, "wue", 2.5)


def _leaves(model):
    """Array leaves of a model as NumPy arrays.

    Parameters
    ----------
    model : H2CM

    Returns
    -------
    list of ndarray
    """
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array))]


# ----------------------------------------------------------------------------- save / load
def test_save_load_round_trip(tmp_path, model, inputs):
    path = tmp_path / "model.xh2cm"
    save_model(path, model, metadata={"experiment": "twin", "epochs": 3})
    back = load_model(path)
    assert back.config == model.config
    assert back.config.static_names == ("elev", "clay")
    a, b = _leaves(model), _leaves(back)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)
    assert global_constants(back) == global_constants(model)
    forcing, static = inputs
    out_a = simulate(model, forcing, static)
    out_b = simulate(back, forcing, static)
    for name in out_a:
        np.testing.assert_array_equal(out_a[name], out_b[name], err_msg=name)


def test_header_metadata(tmp_path, model):
    path = tmp_path / "m.bin"
    save_model(path, model, metadata={"note": "héllo", "n": 1})
    header = read_header(path)
    assert header["format"] == FORMAT and header["version"] == FORMAT_VERSION
    assert header["metadata"] == {"note": "héllo", "n": 1}
    assert ModelConfig.from_dict(header["config"]) == model.config
    # the header is one plain JSON line
    with open(path, "rb") as fh:
        assert json.loads(fh.readline())["config"]["static_names"] == ["elev", "clay"]
    save_model(path, model)
    assert read_header(path)["metadata"] == {}


def test_save_load_model_without_static(tmp_path):
    m = init_model(ModelConfig(hidden_size=8, static_hidden=16), seed=3)
    path = tmp_path / "m0.xh2cm"
    save_model(path, m)
    back = load_model(path)
    assert back.config.n_static == 0
    for x, y in zip(_leaves(m), _leaves(back), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("content", [
    b"",
    b"hello world\n",
    b"\x89PNG\r\n\x1a\n\x00\x00binary",
    b'{"format": "netcdf", "version": 1}\n',
    b'{"version": 1}\n',
    b"[1, 2, 3]\n",
    b'"xh2cm-model"\n',
    b"null\n",
])
def test_wrong_file_raises_value_error(tmp_path, content):
    path = tmp_path / "wrong.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not an xh2cm model file"):
        read_header(path)
    with pytest.raises(ValueError, match="not an xh2cm model file"):
        load_model(path)


def test_newer_format_version_is_refused(tmp_path, model):
    path = tmp_path / "new.xh2cm"
    save_model(path, model)
    raw = path.read_bytes()
    line, rest = raw.split(b"\n", 1)
    header = json.loads(line)
    header["version"] = FORMAT_VERSION + 1
    path.write_bytes(json.dumps(header).encode() + b"\n" + rest)
    with pytest.raises(ValueError, match="newer"):
        load_model(path)


# ----------------------------------------------------------------------------- constants
def test_global_constants_round_trip(model):
    values = {"beta_snow": 0.6, "beta_base": 3e-4, "q10": 1.8, "beta_co2": 0.0011}
    m = set_global_constants(model, **values)
    got = global_constants(m)
    assert set(got) == set(values)
    for k, v in values.items():
        assert got[k] == pytest.approx(v, rel=2e-5), k
    assert global_constants(model)["q10"] == pytest.approx(2.1, rel=2e-5)  # input untouched
    # setting one constant leaves the others and all network weights alone
    m2 = set_global_constants(model, q10=3.0)
    assert global_constants(m2)["beta_snow"] == global_constants(model)["beta_snow"]
    for x, y in zip(_leaves(m2.net_a), _leaves(model.net_a), strict=True):
        np.testing.assert_array_equal(x, y)
    assert m2.constants.q10.dtype == model.constants.q10.dtype


@pytest.mark.parametrize("name, value", [("beta_snow", 1.0), ("beta_snow", 0.0),
                                         ("beta_snow", 1.5), ("beta_base", -0.1),
                                         ("q10", 1.0), ("q10", 0.5), ("q10", 10.0),
                                         ("beta_co2", 0.0), ("beta_co2", -1e-3)])
def test_global_constants_out_of_range(model, name, value):
    with pytest.raises(ValueError, match=name):
        set_global_constants(model, **{name: value})


def test_global_constants_unknown_name(model):
    with pytest.raises(KeyError, match="q11"):
        set_global_constants(model, q11=1.5)


# ----------------------------------------------------------------------------- head bias
#: (parameter, network, head index, target values)
HEAD_CASES = [
    ("sm_max", "static_net", 0, (5.0, 250.0)),
    ("alpha_ei", "static_net", 1, (0.3,)),
    ("alpha_melt", "net_a", 0, (4.0,)),
    ("alpha_soil", "net_a", 1, (0.9,)),
    ("alpha_gw", "net_a", 2, (0.1,)),
    ("wue", "net_b", 0, (3.0,)),
    ("alpha_t", "net_b", 1, (0.7,)),
    ("cue", "net_c", 0, (0.45,)),
    ("fapar", "net_c", 1, (0.2,)),
    ("rb", "net_d", 0, (1.3,)),
    ("alpha_es", "net_d", 1, (0.05,)),
]


@pytest.mark.parametrize("name, net, index, values", HEAD_CASES)
def test_set_head_bias_sets_activated_bias(model, name, net, index, values):
    for value in values:
        m = set_head_bias(model, name, value)
        bias = np.asarray(getattr(m, net).head.bias)
        assert float(act.HEAD_ACTIVATIONS[name](bias[index])) == pytest.approx(value, rel=1e-5)
        old = np.asarray(getattr(model, net).head.bias)
        np.testing.assert_array_equal(np.delete(bias, index), np.delete(old, index))
        np.testing.assert_array_equal(getattr(m, net).head.weight, getattr(model, net).head.weight)


def test_set_head_bias_effect_on_outputs(model, inputs):
    """With a head's weights zeroed, its parameter equals the target value everywhere."""
    forcing, static = inputs
    m = model
    targets = {"sm_max": 42.0, "alpha_ei": 0.7, "alpha_melt": 2.0, "alpha_soil": 0.3,
               "alpha_gw": 0.6, "wue": 1.5, "alpha_t": 0.8, "cue": 0.55, "fapar": 0.35,
               "rb": 0.9, "alpha_es": 0.25}
    for net in ("static_net", "net_a", "net_b", "net_c", "net_d"):
        m = eqx.tree_at(lambda x, n=net: getattr(x, n).head.weight, m,
                        getattr(m, net).head.weight * 0)
    for name, value in targets.items():
        m = set_head_bias(m, name, value)
    out = simulate(m, forcing, static, spinup=False)
    for name, value in targets.items():
        np.testing.assert_allclose(out[name], value, rtol=2e-5, err_msg=name)
    # and the bias really moves the level of an otherwise unchanged model
    lo = simulate(set_head_bias(model, "fapar", 0.1), forcing, static, spinup=False)
    hi = simulate(set_head_bias(model, "fapar", 0.9), forcing, static, spinup=False)
    assert lo["fapar"].mean() < 0.3 < 0.7 < hi["fapar"].mean()


@pytest.mark.parametrize("name, value", [("fapar", 1.0), ("fapar", 1.5), ("cue", -0.1),
                                         ("sm_max", 1.0), ("sm_max", 0.5), ("wue", 0.0),
                                         ("rb", -2.0)])
def test_set_head_bias_out_of_range(model, name, value):
    with pytest.raises(ValueError, match=name):
        set_head_bias(model, name, value)


def test_set_head_bias_unknown_name(model):
    with pytest.raises(KeyError, match="beta_snow"):
        set_head_bias(model, "beta_snow", 0.5)


# ----------------------------------------------------------------------------- damaged files
def _damaged(path, how):
    raw = bytearray(path.read_bytes())
    line_end = raw.index(b"\n")
    if how == "truncated":
        return bytes(raw[: line_end + 1 + (len(raw) - line_end) // 2])
    if how == "bit-flipped":
        raw[line_end + 1 + 200] ^= 0x10
        return bytes(raw)
    header = json.loads(raw[:line_end])
    if how == "edited-config":
        header["config"]["sm_max_scale"] = 7.0
    elif how == "edited-shape":
        header["config"]["hidden_size"] += 1
        header.pop("sha256")  # as if from a file without a checksum
    return json.dumps(header).encode() + b"\n" + bytes(raw[line_end + 1:])


@pytest.mark.parametrize("how", ["truncated", "bit-flipped", "edited-config", "edited-shape"])
def test_damaged_model_file_is_refused_cleanly(tmp_path, model, how):
    path = tmp_path / "m.eqx"
    save_model(path, model)
    path.write_bytes(_damaged(path, how))
    with pytest.raises(ValueError, match="not a valid xh2cm model file"):
        load_model(path)
