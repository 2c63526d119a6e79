"""Property tests (hypothesis) of the full H2CM model: mass balance and physical bounds.

Random forcing (with many dry days, frost, exact 0 degC and negative
radiation), random network weights (random PRNG seeds), random global
constants (:func:`set_global_constants`) and random head biases (small
``sm_max`` and large ``alpha_soil`` to force soil saturation) drive a small
model over 45 days and a few cells; every day of every cell must satisfy
docs/model.md's invariants.

Tolerance of the water balance
------------------------------
The residual ``Δ(swe + sm + gw) − (snowfall + rainfall − et − q)`` is
evaluated in float64 from float32 outputs. Each storage update is a few
float32 additions/multiplications whose operands are at most the storages
and the day's precipitation, each rounding by at most ``eps/2·|operand|``
(``eps = 1.2e-7``). About ten such roundings plus the rounding of the stored
outputs give an error of order ``10·eps·scale ≈ 1.2e-6·scale`` with ``scale
= max(1, storages, prec)``; the test allows ``1e-5·scale`` (≈ 80 eps). A
physical leak (a missing or double-counted flux) is at least the size of a
flux and shows up far above that unless the flux is itself at round-off
level.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xh2cm.core import (
    H2CM,
    Forcing,
    ModelConfig,
    physics,
    set_global_constants,
    set_head_bias,
    spinup,
)

N_TIME, N_CELL = 45, 3
CONFIG = ModelConfig(static_names=("elev", "clay"), hidden_size=8, static_hidden=16)
F32_EPS = float(np.finfo(np.float32).eps)
REL = 1e-5

#: Outputs that are physically non-negative fluxes or storages.
NON_NEGATIVE = ("snowfall", "rainfall", "melt", "ei", "es", "tr", "et", "win", "r_soil", "r_gw",
                "q_surf", "q_base", "q", "gpp", "npp", "ra", "rh", "ter", "swe", "gw")
#: Outputs that pass through a sigmoid (or are fractions) and must lie in [0, 1].
UNIT_INTERVAL = ("f_soil", "f_gw", "f_surf", "alpha_soil", "alpha_gw", "alpha_t", "cue",
                 "fapar", "alpha_es", "beta_snow", "beta_base")

# One compile each for the whole module: fixed shapes, model arrays traced. Models are
# built eagerly (H2CM(CONFIG, key)): after the first build every random-init kernel is
# cached, whereas jitting the constructor costs a ~10 s compile on 2 CPU cores.
_forward = eqx.filter_jit(lambda m, f, s, init: m(f, s, init))
_spinup = eqx.filter_jit(lambda m, f, s: spinup(m, f, s))


def make_forcing(seed, p_dry, t_mean, t_amp, wet_scale):
    """Random daily forcing ``(N_TIME, N_CELL)`` in catalog units.

    Parameters
    ----------
    seed : int
        Seed of the NumPy generator.
    p_dry : float
        Probability of a day without precipitation.
    t_mean, t_amp : float
        Mean and amplitude (degC) of a sinusoid plus noise for ``tair``,
        clipped to [-30, 40]; ~5 % of days are set to exactly 0 degC.
    wet_scale : float
        Mean precipitation of wet days (mm d-1), clipped to [0, 200].

    Returns
    -------
    Forcing
        ``rn`` in [-50, 400] W m-2, ``prec`` in [0, 200] mm d-1, ``tair`` in
        [-30, 40] degC, ``vpd`` in [0, 60] hPa, ``co2`` in [280, 600] ppm
        (one series for all cells).
    """
    rng = np.random.default_rng(seed)
    shape = (N_TIME, N_CELL)
    rn = rng.uniform(-50, 400, shape)
    prec = np.where(rng.random(shape) < p_dry, 0.0, rng.exponential(wet_scale, shape))
    prec = np.where(rng.random(shape) < 0.03, 200.0, np.clip(prec, 0, 200))
    days = np.arange(N_TIME)[:, None]
    tair = t_mean + t_amp * np.sin(2 * np.pi * days / N_TIME + rng.uniform(0, 6.3, N_CELL))
    tair = np.clip(tair + rng.normal(0, 3, shape), -30, 40)
    tair = np.where(rng.random(shape) < 0.05, 0.0, tair)
    vpd = np.where(rng.random(shape) < 0.05, 0.0, rng.uniform(0, 60, shape))
    co2 = rng.uniform(280, 600, N_TIME)
    return Forcing.from_mapping({"rn": rn, "prec": prec, "tair": tair, "vpd": vpd, "co2": co2})


@st.composite
def scenarios(draw):
    """Hypothesis strategy: forcing knobs, a weight seed, global constants and head biases.

    Returns
    -------
    dict
        Keyword arguments of :func:`_check_scenario`.
    """
    return {
        "forcing": dict(seed=draw(st.integers(0, 2**31 - 1)),
                        p_dry=draw(st.sampled_from([0.0, 0.5, 0.8, 0.95, 1.0])),
                        t_mean=draw(st.floats(-25, 30)), t_amp=draw(st.floats(0, 20)),
                        wet_scale=draw(st.floats(0.1, 80))),
        "weight_seed": draw(st.integers(0, 2**31 - 1)),
        "constants": dict(beta_snow=draw(st.floats(0.01, 0.99)),
                          beta_base=draw(st.floats(1e-4, 0.5)),
                          q10=draw(st.floats(1.01, 9.9)),
                          beta_co2=draw(st.floats(1e-4, 0.01))),
        "biases": dict(sm_max=draw(st.floats(3.0, 400.0)),
                       alpha_soil=draw(st.floats(0.05, 0.99)),
                       alpha_melt=draw(st.floats(0.1, 10.0)),
                       fapar=draw(st.floats(0.05, 0.95))),
        "spun_up": draw(st.booleans()),
        "static_seed": draw(st.integers(0, 1000)),
    }


def run_scenario(sc):
    """Build the model and forcing of a scenario and run it.

    Parameters
    ----------
    sc : dict
        A draw of :func:`scenarios`.

    Returns
    -------
    out : dict of ndarray
        Model outputs as float64 NumPy.
    init : dict of ndarray
        ``swe``, ``sm``, ``gw`` before the first day, each ``(N_CELL,)``.
    forcing : Forcing
    """
    model = H2CM(CONFIG, jax.random.PRNGKey(sc["weight_seed"]))
    model = set_global_constants(model, **sc["constants"])
    for name, value in sc["biases"].items():
        model = set_head_bias(model, name, value)
    forcing = make_forcing(**sc["forcing"])
    static = jnp.asarray(np.random.default_rng(sc["static_seed"]).normal(0, 2, (N_CELL, 2)),
                         jnp.float32)
    init = _spinup(model, forcing, static) if sc["spun_up"] else None
    out, _ = _forward(model, forcing, static, init)
    out = {k: np.asarray(v, np.float64) for k, v in out.items()}
    names = ("swe", "sm", "gw")
    if init is None:
        init0 = {k: np.zeros(N_CELL) for k in names}
    else:
        init0 = {k: np.asarray(getattr(init, k), np.float64) for k in names}
    return out, init0, forcing


def _previous(series, first):
    """The previous day's values of a ``(time, cell)`` series.

    Parameters
    ----------
    series : ndarray
        ``(time, cell)`` values at the end of each day.
    first : ndarray
        ``(cell,)`` values before day 0.

    Returns
    -------
    ndarray
        ``(time, cell)``: ``first`` then ``series[:-1]``.
    """
    return np.concatenate([np.asarray(first)[None], series[:-1]])


def check_invariants(out, init, forcing):
    """Assert docs/model.md invariants for every day and cell of one run.

    Parameters
    ----------
    out : dict of ndarray
        Model outputs (float64 copies of float32 values).
    init : dict of ndarray
        Storages ``swe``, ``sm``, ``gw`` before day 0, per cell.
    forcing : Forcing
        The forcing of the run.
    """
    tws = out["swe"] + out["sm"] + out["gw"]
    prev = _previous(tws, init["swe"] + init["sm"] + init["gw"])
    prec = np.asarray(forcing.prec, np.float64)
    scale = np.maximum.reduce([np.ones_like(tws), np.abs(tws), np.abs(prev), prec])
    tol = REL * scale

    residual = (tws - prev) - (out["snowfall"] + out["rainfall"] - out["et"] - out["q"])
    worst = np.unravel_index(np.argmax(np.abs(residual) / tol), residual.shape)
    assert np.all(np.abs(residual) <= tol), (
        f"water balance violated at (day, cell)={worst}: residual {residual[worst]:.3g}, "
        f"tol {tol[worst]:.3g}")

    np.testing.assert_allclose(out["f_soil"] + out["f_gw"] + out["f_surf"], 1.0,
                               atol=4 * F32_EPS, rtol=0)
    for name in UNIT_INTERVAL:
        assert np.all((out[name] >= 0) & (out[name] <= 1)), name
    tiny = REL * scale
    for name in NON_NEGATIVE:
        assert np.all(out[name] >= 0), (name, out[name].min())
    assert np.all(out["sm"] >= -tiny)
    sm_max = out["sm_max"][None, :]
    assert np.all(out["sm"] <= sm_max + tiny), float(np.max(out["sm"] - sm_max))
    assert np.all(out["sm_max"] > 1) and np.all(out["alpha_ei"] >= 0)
    for name in ("alpha_melt", "wue", "rb", "q10", "beta_co2"):
        assert np.all(out[name] >= 0), name
    assert np.all(out["q10"] >= 1)

    # identities between outputs
    cscale = np.maximum.reduce([np.ones_like(tws), out["ter"], out["gpp"]])
    np.testing.assert_array_less(np.abs(out["nee"] - (out["ter"] - out["gpp"])),
                                 4 * F32_EPS * cscale + 1e-30)
    np.testing.assert_array_less(np.abs(out["et"] - (out["ei"] + out["es"] + out["tr"])),
                                 4 * F32_EPS * np.maximum(1, out["et"]) + 1e-30)
    np.testing.assert_array_less(np.abs(out["q"] - (out["q_surf"] + out["q_base"])),
                                 4 * F32_EPS * np.maximum(1, out["q"]) + 1e-30)
    np.testing.assert_array_less(np.abs(out["tws"] - tws), 4 * F32_EPS * scale)
    anomaly_mean = out["tws_anomaly"].mean(axis=0)
    assert np.all(np.abs(anomaly_mean) <= REL * np.maximum(1, np.abs(tws).max(axis=0)))
    # melt never exceeds the previous day's snow; snow only falls at or below 0 degC
    swe_prev = _previous(out["swe"], init["swe"])
    assert np.all(out["melt"] <= swe_prev + REL * np.maximum(1, swe_prev))
    tair = np.asarray(forcing.tair, np.float64)
    assert np.all(out["snowfall"][tair > 0] == 0)
    assert np.all(out["rainfall"][tair <= 0] == 0)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_model_mass_balance_and_bounds(sc):
    out, init, forcing = run_scenario(sc)
    check_invariants(out, init, forcing)


def test_saturating_scenario_reaches_capacity():
    """A wet scenario with a tiny sm_max must fill the soil (so sm <= sm_max is exercised)."""
    sc = {"forcing": dict(seed=3, p_dry=0.0, t_mean=20.0, t_amp=2.0, wet_scale=60.0),
          "weight_seed": 7,
          "constants": dict(beta_snow=0.9, beta_base=0.05, q10=1.5, beta_co2=0.0015),
          "biases": dict(sm_max=5.0, alpha_soil=0.99, alpha_melt=3.0, fapar=0.5),
          "spun_up": False, "static_seed": 0}
    out, init, forcing = run_scenario(sc)
    check_invariants(out, init, forcing)
    full = out["sm"] >= out["sm_max"][None, :] * (1 - 1e-4)
    assert full.any(), "soil never reached capacity; the scenario no longer tests the bound"
    assert np.any(out["q_surf"] > 0) and np.any(out["r_gw"] > 0)


def test_cold_scenario_accumulates_and_melts_snow():
    """Snow accumulates in a frost period and melts afterwards, all within the balance."""
    sc = {"forcing": dict(seed=5, p_dry=0.5, t_mean=0.0, t_amp=20.0, wet_scale=10.0),
          "weight_seed": 11,
          "constants": dict(beta_snow=0.8, beta_base=0.01, q10=2.0, beta_co2=0.002),
          "biases": dict(sm_max=150.0, alpha_soil=0.5, alpha_melt=4.0, fapar=0.4),
          "spun_up": False, "static_seed": 1}
    out, init, forcing = run_scenario(sc)
    check_invariants(out, init, forcing)
    assert out["swe"].max() > 1.0
    assert out["melt"].max() > 0.1
    assert out["snowfall"].sum() > 0


# ----------------------------------------------------------------------------- one step
_step = jax.jit(physics.water_carbon_step)
_SIGMOID_PARAMS = ("alpha_es", "alpha_t", "alpha_soil", "alpha_gw", "cue", "fapar",
                   "beta_snow", "beta_base")


@st.composite
def step_case(draw):
    """Hypothesis strategy: one day's state, forcing and activated parameters (scalars).

    Returns
    -------
    tuple
        ``(state, (rn, prec, tc, co2), params)`` as float32 scalars.
    """
    f32 = lambda v: np.float32(v)  # noqa: E731
    unit = st.floats(0, 1)
    p = {name: f32(draw(unit)) for name in _SIGMOID_PARAMS}
    p.update(alpha_melt=f32(draw(st.floats(0, 15))), alpha_ei=f32(draw(st.floats(0, 8))),
             sm_max=f32(draw(st.floats(1.0, 1500))), wue=f32(draw(st.floats(0, 15))),
             rb=f32(draw(st.floats(0, 8))), beta_co2=f32(draw(st.floats(0, 0.02))),
             q10=f32(draw(st.floats(1, 10))))
    sm = f32(draw(st.one_of(st.just(1.0), unit)) * p["sm_max"])
    state = physics.WaterState(f32(draw(st.one_of(st.just(0.0), st.floats(0, 800)))), sm,
                               f32(draw(st.one_of(st.just(0.0), st.floats(0, 4000)))))
    forcing = (f32(draw(st.floats(-50, 400))),
               f32(draw(st.one_of(st.just(0.0), st.floats(0, 200)))),
               f32(draw(st.one_of(st.just(0.0), st.floats(-30, 40)))),
               f32(draw(st.floats(280, 600))))
    return state, forcing, physics.StepParams(**p)


@settings(max_examples=200, deadline=None)
@given(step_case())
def test_step_mass_balance_hypothesis(case):
    """Step-level balance and bounds for hypothesis-drawn scalar parameters."""
    state, forcing, params = case
    new, fl = _step(state, *forcing, params)
    fl = {k: float(v) for k, v in fl.items()}
    before = sum(float(x) for x in state)
    after = sum(float(x) for x in new)
    scale = max(1.0, abs(before), abs(after), float(forcing[1]))
    residual = (after - before) - (fl["snowfall"] + fl["rainfall"] - fl["et"] - fl["q"])
    assert abs(residual) <= REL * scale
    assert abs(fl["f_soil"] + fl["f_gw"] + fl["f_surf"] - 1.0) <= 4 * F32_EPS
    for name in ("f_soil", "f_gw", "f_surf"):
        assert 0.0 <= fl[name] <= 1.0, name
    for name in NON_NEGATIVE:
        if name in fl:
            assert fl[name] >= 0.0, name
    assert float(new.swe) >= 0 and float(new.gw) >= 0 and float(new.sm) >= -REL * scale
    assert float(new.sm) <= float(params.sm_max) + REL * scale
    assert abs(fl["nee"] - (fl["ter"] - fl["gpp"])) <= 4 * F32_EPS * max(1, fl["ter"], fl["gpp"])
