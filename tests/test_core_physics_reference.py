"""Physics of H2CM against an independent NumPy re-statement of docs/model.md.

The reference below is written from the DESIGN text only (float64 NumPy); it
does not import anything from :mod:`xh2cm.core.physics` except the functions
under test. Inputs are drawn as float32-representable numbers so that both
sides start from identical values; the JAX side computes in float32.

Tolerances
----------
Every quantity is compared as ``|jax - ref| <= 1e-5 * scale``, where
``scale`` is the magnitude of the numbers the quantity is computed from (at
least 1). Float32 has ``eps = 1.2e-7``; a handful of roundings of operands of
size ``scale`` gives an error of a few ``eps * scale``, so ``1e-5`` (~80 eps)
is tight enough to catch a wrong term, sign or branch, yet never trips on
round-off. Fractions derived from ``(sm_max - sm) / win`` amplify the
round-off of ``sm`` by ``1 / win``; their scale is therefore
``max(1e-5, 8·eps·scale / max(win, ε))`` (see :func:`_frac_scale`).

Deviation from the literal DESIGN text
--------------------------------------
DESIGN writes ``f_soil = α_soil · min(1, (sm_max − sm) / max(win, ε))``.
If ``sm > sm_max`` (impossible from a zero or spun-up state, possible from a
user-set state) that is negative. ``physics.recharge`` clips it at 0
(documented in its docstring). The reference therefore applies the same
``max(·, 0)``, and :func:`test_recharge_above_capacity_is_clipped_not_negative`
documents the difference from the literal formula; mass balance and
``f_soil + f_gw + f_surf = 1`` hold either way.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xh2cm.core import physics

# ----------------------------------------------------------------------------- reference
#: docs/model.md unit helper constants (W m-2 -> MJ m-2 d-1; MJ kg-1 latent heat).
REF_W_TO_MJ = 0.0864
REF_LAMBDA = 2.45
#: The ε guarding the division by the water input: DESIGN gives no value, the reference
#: H2CM uses 1e-8 mm d-1 (its soil recharge fraction), and so does xh2cm.
REF_EPS = 1e-8
F32_EPS = float(np.finfo(np.float32).eps)

STEP_PARAM_NAMES = ("alpha_melt", "alpha_ei", "alpha_es", "alpha_t", "alpha_soil", "alpha_gw",
                    "sm_max", "wue", "cue", "rb", "fapar", "beta_snow", "beta_base",
                    "beta_co2", "q10")


def ref_rn_mm(rn):
    """Net radiation as evaporation equivalent, docs/model.md unit helper.

    Parameters
    ----------
    rn : ndarray
        Net radiation (W m-2).

    Returns
    -------
    ndarray
        ``max(rn * 0.0864 / 2.45, 0)`` in mm d-1.
    """
    return np.maximum(rn * REF_W_TO_MJ / REF_LAMBDA, 0.0)


def ref_snow(prec, tc, swe_prev, alpha_melt, beta_snow):
    """docs/model.md step 1 (snow).

    Returns
    -------
    tuple of ndarray
        ``(snowfall, rainfall, melt, swe)``.
    """
    snowfall = np.where(tc <= 0, prec * beta_snow, 0.0)
    melt = np.minimum(swe_prev, np.maximum(tc, 0.0) * alpha_melt)
    swe = np.maximum(swe_prev + snowfall - melt, 0.0)
    rainfall = np.where(tc > 0, prec, 0.0)
    return snowfall, rainfall, melt, swe


def ref_interception(rainfall, fapar, alpha_ei, rn_mm):
    """docs/model.md step 2: ``Ei = min(rainfall, fapar·α_Ei, rn_mm)``."""
    return np.minimum(np.minimum(rainfall, fapar * alpha_ei), rn_mm)


def ref_soil_evaporation(rn_mm, sm_prev, fapar, alpha_es):
    """docs/model.md step 3: ``Es = (1 − fapar)·min(rn_mm, sm_prev)·α_Es``."""
    return (1.0 - fapar) * np.minimum(rn_mm, sm_prev) * alpha_es


def ref_transpiration(rn_mm, sm, fapar, alpha_t):
    """docs/model.md step 4: ``T = fapar·min(rn_mm, sm)·α_T``."""
    return fapar * np.minimum(rn_mm, sm) * alpha_t


def ref_recharge(win, sm, sm_max, alpha_soil, alpha_gw, clip_low=True):
    """docs/model.md steps 6–8 (fractions and recharge/runoff fluxes).

    Parameters
    ----------
    win, sm, sm_max, alpha_soil, alpha_gw : ndarray
        Water input (mm d-1), soil moisture after ET (mm), capacity (mm),
        recharge scalings (-).
    clip_low : bool
        Apply ``max(·, 0)`` to the capacity ratio (what xh2cm does); False
        gives the reference's literal ``min(1, ·)`` only.

    Returns
    -------
    tuple of ndarray
        ``(f_soil, f_gw, f_surf, r_soil, r_gw, q_surf)``.
    """
    ratio = np.minimum(1.0, (sm_max - sm) / np.maximum(win, REF_EPS))
    if clip_low:
        ratio = np.maximum(ratio, 0.0)
    f_soil = alpha_soil * ratio
    f_gw = (1.0 - f_soil) * alpha_gw
    f_surf = (1.0 - f_soil) * (1.0 - alpha_gw)
    return f_soil, f_gw, f_surf, f_soil * win, f_gw * win, f_surf * win


def ref_baseflow(gw_prev, beta_base):
    """docs/model.md step 8: ``q_base = β_base·gw_prev``."""
    return beta_base * gw_prev


def ref_carbon(tr, wue, co2, beta_co2, cue, rb, q10, tc):
    """docs/model.md step 9.

    Returns
    -------
    dict of ndarray
        ``gpp, npp, ra, rh, ter, nee`` (gC m-2 d-1).
    """
    gpp = tr * wue * co2 * beta_co2
    npp = cue * gpp
    ra = gpp - npp
    rh = rb * q10 ** ((tc - 15.0) / 10.0)
    ter = ra + rh
    return {"gpp": gpp, "npp": npp, "ra": ra, "rh": rh, "ter": ter, "nee": ter - gpp}


def ref_step(swe_prev, sm_prev, gw_prev, rn, prec, tc, co2, p):
    """One full day of docs/model.md in its update order.

    Parameters
    ----------
    swe_prev, sm_prev, gw_prev : ndarray
        Storages of the previous day (mm).
    rn, prec, tc, co2 : ndarray
        Forcing (W m-2, mm d-1, degC, ppm).
    p : dict of ndarray
        Activated parameters keyed by :data:`STEP_PARAM_NAMES`.

    Returns
    -------
    state : tuple of ndarray
        ``(swe, sm, gw)`` at the end of the day.
    fluxes : dict of ndarray
        Every flux, keyed like ``physics.water_carbon_step``'s output.
    """
    rn_mm = ref_rn_mm(rn)
    snowfall, rainfall, melt, swe = ref_snow(prec, tc, swe_prev, p["alpha_melt"], p["beta_snow"])
    ei = ref_interception(rainfall, p["fapar"], p["alpha_ei"], rn_mm)
    rn_mm = rn_mm - ei
    es = ref_soil_evaporation(rn_mm, sm_prev, p["fapar"], p["alpha_es"])
    rn_mm = rn_mm - es
    sm = sm_prev - es
    tr = ref_transpiration(rn_mm, sm, p["fapar"], p["alpha_t"])
    sm = sm - tr
    et = ei + es + tr
    win = rainfall + melt - ei
    f_soil, f_gw, f_surf, r_soil, r_gw, q_surf = ref_recharge(win, sm, p["sm_max"],
                                                              p["alpha_soil"], p["alpha_gw"])
    sm = sm + r_soil
    q_base = ref_baseflow(gw_prev, p["beta_base"])
    gw = gw_prev + r_gw - q_base
    fluxes = {"snowfall": snowfall, "rainfall": rainfall, "melt": melt, "ei": ei, "es": es,
              "tr": tr, "et": et, "win": win, "f_soil": f_soil, "f_gw": f_gw, "f_surf": f_surf,
              "r_soil": r_soil, "r_gw": r_gw, "q_surf": q_surf, "q_base": q_base,
              "q": q_surf + q_base,
              **ref_carbon(tr, p["wue"], co2, p["beta_co2"], p["cue"], p["rb"], p["q10"], tc)}
    return (swe, sm, gw), fluxes


# ----------------------------------------------------------------------------- helpers
def _f32(x):
    """Round to float32 and return as float64, so JAX and NumPy see identical inputs.

    Float32 subnormals (``|x| < 1.2e-38``) are flushed to zero: XLA on CPU
    runs with flush-to-zero, so e.g. ``tc = 1e-45`` counts as ``tc <= 0``
    (snow) in JAX but as rain in float64 NumPy. Physically irrelevant, so the
    inputs are made unambiguous instead.

    Parameters
    ----------
    x : array_like
        Values.

    Returns
    -------
    ndarray
        float64 array of float32-representable, non-subnormal values.
    """
    x32 = np.asarray(x, np.float32)
    x32 = np.where(np.abs(x32) < np.finfo(np.float32).tiny, np.float32(0), x32)
    return np.asarray(x32, np.float64)


def _assert_close(name, actual, expected, scale, rel=1e-5):
    """Assert ``|actual - expected| <= rel * max(1, scale)`` element-wise.

    Parameters
    ----------
    name : str
        Quantity name for the error message.
    actual : array_like
        float32 JAX result.
    expected : array_like
        float64 reference.
    scale : array_like
        Magnitude of the operands the quantity is computed from.
    rel : float
        Relative tolerance with respect to ``scale``.
    """
    a = np.asarray(actual, np.float64)
    e = np.asarray(expected, np.float64)
    tol = rel * np.maximum(1.0, np.abs(scale))
    err = np.abs(a - e)
    bad = ~(err <= tol)
    if bad.any():
        i = np.flatnonzero(bad.ravel())[0]
        raise AssertionError(
            f"{name}: {bad.sum()} of {bad.size} values differ; first at flat index {i}: "
            f"jax={a.ravel()[i]!r} ref={e.ravel()[i]!r} err={err.ravel()[i]:.3g} "
            f"tol={np.broadcast_to(tol, a.shape).ravel()[i]:.3g}")


def _ulp_scale(magnitude, n_ulp=8):
    """Scale for :func:`_assert_close` that allows ``n_ulp`` float32 ulps of ``magnitude``.

    Parameters
    ----------
    magnitude : array_like
        Size of an intermediate whose float32 round-off propagates into the
        compared quantity.
    n_ulp : int
        Number of float32 epsilons allowed.

    Returns
    -------
    ndarray
        ``n_ulp * eps32 * magnitude / 1e-5`` (so the tolerance becomes
        ``max(1e-5, n_ulp * eps32 * magnitude)``).
    """
    return n_ulp * F32_EPS * np.abs(magnitude) / 1e-5


def _frac_scale(sm_max, sm, win, alpha_soil, storage_scale, win_scale):
    """Scale for the fractions, from the conditioning of ``(sm_max − sm)/max(win, ε)``.

    ``f_soil = α_soil·clip(r, 0, 1)`` with ``r = (sm_max − sm)/max(win, ε)``.
    float32 round-off of a few ulps in ``sm`` (of size ``storage_scale``) and
    in ``win`` (a sum/difference of terms of size ``win_scale``) moves ``r``
    by at most ``δ = 8·eps·(storage_scale + |r|·win_scale)/max(win, ε)``.
    The clipped fraction can then differ by ``α_soil·(clip(r+δ) − clip(r−δ))``
    — zero far from the clip bounds, up to ``α_soil`` where the split is
    ill-conditioned (e.g. ``win == 0`` and ``sm`` within an ulp of
    ``sm_max``: the fraction of nothing is then round-off, and all fluxes are
    0 anyway). ``f_gw`` and ``f_surf`` are ``(1 − f_soil)`` times a factor
    in [0, 1], so the same bound holds for them.

    Parameters
    ----------
    sm_max, sm, win, alpha_soil : ndarray
        Reference (float64) capacity, soil moisture after ET, water input
        and ``α_soil``.
    storage_scale, win_scale : ndarray
        Magnitudes of the terms ``sm`` and ``win`` are computed from.

    Returns
    -------
    ndarray
        Scale for :func:`_assert_close` (tolerance ``1e-5·max(1, scale)``).
    """
    den = np.maximum(win, REF_EPS)
    r = (sm_max - sm) / den
    delta = 8 * F32_EPS * (np.abs(storage_scale) + np.abs(r) * np.abs(win_scale)) / den
    spread = np.clip(r + delta, 0, 1) - np.clip(r - delta, 0, 1)
    return alpha_soil * spread / 1e-5 + _ulp_scale(1.0)


def random_inputs(rng, n):
    """Random states, forcing and parameters with edge cases injected.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    n : int
        Number of elements.

    Returns
    -------
    state : dict of ndarray
        ``swe, sm, gw`` (mm).
    forcing : dict of ndarray
        ``rn, prec, tc, co2``.
    params : dict of ndarray
        Keyed by :data:`STEP_PARAM_NAMES`.

    Notes
    -----
    Edge cases, each on a random ~10 % of the elements: ``tc == 0`` exactly,
    ``rn < 0``, ``prec == 0``, ``swe == 0``, ``sm == sm_max``, ``sm > sm_max``,
    ``sm == 0``, ``gw == 0``, and sigmoid parameters at exactly 0 or 1.
    """
    u = rng.uniform
    p = {
        "alpha_melt": u(0, 10, n), "alpha_ei": u(0, 5, n), "alpha_es": u(0, 1, n),
        "alpha_t": u(0, 1, n), "alpha_soil": u(0, 1, n), "alpha_gw": u(0, 1, n),
        "sm_max": u(1, 1000, n), "wue": u(0, 10, n), "cue": u(0, 1, n), "rb": u(0, 5, n),
        "fapar": u(0, 1, n), "beta_snow": u(0, 1, n), "beta_base": u(0, 1, n),
        "beta_co2": u(0, 0.01, n), "q10": u(1, 10, n),
    }
    for name in ("alpha_es", "alpha_t", "alpha_soil", "alpha_gw", "cue", "fapar", "beta_snow",
                 "beta_base"):
        pick = rng.random(n)
        p[name] = np.where(pick < 0.05, 0.0, np.where(pick > 0.95, 1.0, p[name]))
    f = {"rn": u(-100, 500, n), "prec": u(0, 200, n) * (rng.random(n) < 0.6),
         "tc": u(-30, 40, n), "co2": u(280, 600, n)}
    f["tc"] = np.where(rng.random(n) < 0.1, 0.0, f["tc"])
    f["prec"] = np.where(rng.random(n) < 0.05, rng.uniform(0, 0.01, n), f["prec"])
    s = {"swe": u(0, 500, n) * (rng.random(n) < 0.7), "gw": u(0, 2000, n) * (rng.random(n) < 0.9)}
    sm = u(0, 1, n) * p["sm_max"]
    pick = rng.random(n)
    sm = np.where(pick < 0.1, p["sm_max"], sm)
    sm = np.where((pick >= 0.1) & (pick < 0.2), p["sm_max"] * u(1.0, 1.3, n), sm)
    sm = np.where((pick >= 0.2) & (pick < 0.25), 0.0, sm)
    s["sm"] = sm
    cast = lambda d: {k: _f32(v) for k, v in d.items()}  # noqa: E731
    return cast(s), cast(f), cast(p)


_step_jit = jax.jit(physics.water_carbon_step)


def _run_step(s, f, p):
    """Run ``physics.water_carbon_step`` (jitted) on float64 inputs cast to float32.

    Returns
    -------
    state : tuple of ndarray
        ``(swe, sm, gw)``.
    fluxes : dict of ndarray
    """
    a32 = lambda x: np.asarray(x, np.float32)  # noqa: E731
    state = physics.WaterState(a32(s["swe"]), a32(s["sm"]), a32(s["gw"]))
    params = physics.StepParams(**{k: a32(p[k]) for k in STEP_PARAM_NAMES})
    new, fl = _step_jit(state, a32(f["rn"]), a32(f["prec"]), a32(f["tc"]), a32(f["co2"]), params)
    return tuple(np.asarray(x) for x in new), {k: np.asarray(v) for k, v in fl.items()}


# ----------------------------------------------------------------------------- per function
SEEDS = [0, 1, 2]
N = 4000


def test_unit_helper_values():
    """Spot values of the radiation conversion (docs/model.md unit helper)."""
    got = np.asarray(physics.radiation_to_mm(np.asarray([100.0, 0.0, -50.0, 245.0 / 0.864],
                                                         np.float32)))
    np.testing.assert_allclose(got, [100 * 0.0864 / 2.45, 0.0, 0.0, 10.0], rtol=1e-6, atol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_radiation_to_mm(seed):
    rng = np.random.default_rng(seed)
    rn = _f32(rng.uniform(-200, 600, N))
    _assert_close("rn_mm", physics.radiation_to_mm(rn.astype(np.float32)), ref_rn_mm(rn),
                  ref_rn_mm(np.abs(rn)))


@pytest.mark.parametrize("seed", SEEDS)
def test_snow(seed):
    s, f, p = random_inputs(np.random.default_rng(seed), N)
    got = physics.snow(*(np.float32(x) for x in (f["prec"], f["tc"], s["swe"], p["alpha_melt"],
                                                  p["beta_snow"])))
    ref = ref_snow(f["prec"], f["tc"], s["swe"], p["alpha_melt"], p["beta_snow"])
    scale = f["prec"] + s["swe"] + np.abs(f["tc"]) * p["alpha_melt"]
    for name, a, e in zip(("snowfall", "rainfall", "melt", "swe"), got, ref, strict=True):
        _assert_close(name, a, e, scale)
    # tc exactly 0 counts as snow: no rain, no melt
    zero = f["tc"] == 0
    assert zero.any()
    assert np.all(np.asarray(got.rainfall)[zero] == 0)
    assert np.all(np.asarray(got.melt)[zero] == 0)
    np.testing.assert_allclose(np.asarray(got.snowfall)[zero],
                               (f["prec"] * p["beta_snow"])[zero], rtol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_interception(seed):
    s, f, p = random_inputs(np.random.default_rng(seed), N)
    _, rain, _, _ = ref_snow(f["prec"], f["tc"], s["swe"], p["alpha_melt"], p["beta_snow"])
    rn_mm = _f32(ref_rn_mm(f["rn"]))
    got = physics.interception(*(np.float32(x) for x in (rain, p["fapar"], p["alpha_ei"],
                                                         rn_mm)))
    ref = ref_interception(rain, p["fapar"], p["alpha_ei"], rn_mm)
    _assert_close("ei", got, ref, rain + p["alpha_ei"] + rn_mm)
    assert np.all(np.asarray(got)[rn_mm == 0] == 0)  # negative rn: no energy, no interception


@pytest.mark.parametrize("seed", SEEDS)
def test_soil_evaporation_and_transpiration(seed):
    s, f, p = random_inputs(np.random.default_rng(seed), N)
    rn_mm = _f32(ref_rn_mm(f["rn"]))
    args = (rn_mm, s["sm"], p["fapar"], p["alpha_es"])
    got = physics.soil_evaporation(*(np.float32(x) for x in args))
    _assert_close("es", got, ref_soil_evaporation(*args), rn_mm + s["sm"])
    args = (rn_mm, s["sm"], p["fapar"], p["alpha_t"])
    got = physics.transpiration(*(np.float32(x) for x in args))
    _assert_close("tr", got, ref_transpiration(*args), rn_mm + s["sm"])


@pytest.mark.parametrize("seed", SEEDS)
def test_recharge(seed):
    rng = np.random.default_rng(seed)
    s, _, p = random_inputs(rng, N)
    win = _f32(rng.uniform(0, 200, N) * (rng.random(N) < 0.7))  # ~30 % exactly zero input
    args = (win, s["sm"], p["sm_max"], p["alpha_soil"], p["alpha_gw"])
    got = physics.recharge(*(np.float32(x) for x in args))
    ref = ref_recharge(*args)
    fscale = _frac_scale(p["sm_max"], s["sm"], win, p["alpha_soil"], s["sm"] + p["sm_max"], win)
    for name, a, e in zip(("f_soil", "f_gw", "f_surf"), got[:3], ref[:3], strict=True):
        _assert_close(name, a, e, fscale)
    for name, a, e in zip(("r_soil", "r_gw", "q_surf"), got[3:], ref[3:], strict=True):
        _assert_close(name, a, e, win + s["sm"] + p["sm_max"])
    total = np.asarray(got.f_soil) + np.asarray(got.f_gw) + np.asarray(got.f_surf)
    np.testing.assert_allclose(total, 1.0, atol=4 * F32_EPS)
    # win == 0 with room in the soil: f_soil == alpha_soil, nothing moves
    dry = (win == 0) & (p["sm_max"] - s["sm"] > 1e-3)
    assert dry.any()
    np.testing.assert_allclose(np.asarray(got.f_soil)[dry], p["alpha_soil"][dry], rtol=1e-6)
    for flux in got[3:]:
        assert np.all(np.asarray(flux)[win == 0] == 0)
    # soil at capacity: no soil recharge at all
    full = s["sm"] >= p["sm_max"]
    assert full.any()
    assert np.all(np.asarray(got.f_soil)[full] == 0)


def test_recharge_above_capacity_is_clipped_not_negative():
    """sm > sm_max: xh2cm clips f_soil at 0; the reference's literal min(1, ·) would go negative.

    Both variants keep ``f_soil + f_gw + f_surf == 1`` (so mass balance), but a
    negative fraction would turn soil recharge into an unphysical soil drain
    routed to groundwater/runoff. xh2cm's ``max(·, 0)`` is the documented
    choice; from a zero or spun-up state sm never exceeds sm_max anyway.
    """
    win, sm, sm_max, a_soil, a_gw = (np.float32(v) for v in (10.0, 120.0, 100.0, 0.5, 0.3))
    got = physics.recharge(win, sm, sm_max, a_soil, a_gw)
    literal = ref_recharge(*(np.float64(v) for v in (win, sm, sm_max, a_soil, a_gw)),
                           clip_low=False)
    assert literal[0] == pytest.approx(-1.0)  # DESIGN literal: f_soil = 0.5 * min(1, -2)
    assert float(got.f_soil) == 0.0
    assert float(got.r_soil) == 0.0
    assert float(got.f_gw) == pytest.approx(0.3)
    assert float(got.f_surf) == pytest.approx(0.7)
    assert sum(literal[:3]) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_baseflow(seed):
    s, _, p = random_inputs(np.random.default_rng(seed), N)
    got = physics.baseflow(np.float32(s["gw"]), np.float32(p["beta_base"]))
    _assert_close("q_base", got, ref_baseflow(s["gw"], p["beta_base"]), s["gw"])


@pytest.mark.parametrize("seed", SEEDS)
def test_carbon(seed):
    rng = np.random.default_rng(seed)
    _, f, p = random_inputs(rng, N)
    tr = _f32(rng.uniform(0, 10, N) * (rng.random(N) < 0.8))
    args = (tr, p["wue"], f["co2"], p["beta_co2"], p["cue"], p["rb"], p["q10"], f["tc"])
    got = physics.carbon(*(np.float32(x) for x in args))
    ref = ref_carbon(*args)
    scale = ref["gpp"] + ref["rh"]
    for name in ref:
        _assert_close(name, getattr(got, name), ref[name], scale)


# ----------------------------------------------------------------------------- full step
def _step_scales(s, f, p, ref_state, ref_fl):
    """Per-element comparison scales for every output of one step.

    Returns
    -------
    dict of ndarray
        Water quantities scale with the largest storage/flux involved, the
        fractions additionally with ``1 / win`` (see :func:`_frac_scale`),
        carbon fluxes with ``gpp + rh`` and ``co2·beta_co2·wue`` (GPP's
        sensitivity to the float32 round-off of T).
    """
    water = (s["swe"] + s["sm"] + s["gw"] + f["prec"] + p["sm_max"] + ref_rn_mm(np.abs(f["rn"]))
             + np.abs(f["tc"]) * p["alpha_melt"])
    sm_et = s["sm"] - ref_fl["es"] - ref_fl["tr"]
    frac = _frac_scale(p["sm_max"], sm_et, ref_fl["win"], p["alpha_soil"], water,
                       ref_fl["rainfall"] + ref_fl["melt"] + ref_fl["ei"])
    carbon = ref_fl["gpp"] + ref_fl["rh"] + _ulp_scale(water * p["wue"] * f["co2"] * p["beta_co2"])
    out = {k: water for k in ref_fl}
    out.update({k: frac for k in ("f_soil", "f_gw", "f_surf")})
    out.update({k: carbon for k in ("gpp", "npp", "ra", "rh", "ter", "nee")})
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_water_carbon_step_matches_reference(seed):
    s, f, p = random_inputs(np.random.default_rng(seed), N)
    (swe, sm, gw), fl = _run_step(s, f, p)
    ref_state, ref_fl = ref_step(s["swe"], s["sm"], s["gw"], f["rn"], f["prec"], f["tc"],
                                 f["co2"], p)
    assert set(fl) == set(ref_fl)
    scales = _step_scales(s, f, p, ref_state, ref_fl)
    for name in ref_fl:
        _assert_close(name, fl[name], ref_fl[name], scales[name])
    for name, a, e in zip(("swe", "sm", "gw"), (swe, sm, gw), ref_state, strict=True):
        _assert_close(name, a, e, scales["et"])


def test_water_carbon_step_edge_cases():
    """Hand-picked single days: frozen, exactly 0 degC, night (rn < 0), dry, saturated."""
    base = {k: 0.5 for k in STEP_PARAM_NAMES}
    base.update(alpha_melt=3.0, alpha_ei=2.0, sm_max=100.0, wue=3.0, rb=1.0, beta_base=0.01,
                beta_co2=0.0015, q10=1.5, beta_snow=0.9)
    cases = [
        # (swe, sm, gw, rn, prec, tc, co2)
        (0.0, 50.0, 10.0, 150.0, 20.0, 0.0, 400.0),     # tc exactly 0: snow, no melt
        (30.0, 50.0, 10.0, 150.0, 0.0, 5.0, 400.0),     # melt day, no precipitation
        (5.0, 50.0, 10.0, 150.0, 0.0, 20.0, 400.0),     # melt limited by swe
        (0.0, 50.0, 10.0, -40.0, 15.0, 12.0, 400.0),    # negative rn: no ET at all
        (0.0, 0.0, 0.0, 200.0, 0.0, 25.0, 400.0),       # everything empty: only Rh
        (0.0, 100.0, 10.0, 0.0, 30.0, 10.0, 400.0),     # soil at capacity, no energy
        (0.0, 130.0, 10.0, 100.0, 30.0, 10.0, 400.0),   # soil above capacity (clip)
        (0.0, 99.9999, 10.0, 0.0, 1e-4, 10.0, 400.0),   # tiny win near capacity
        (0.0, 40.0, 0.0, 300.0, 0.0, 35.0, 600.0),      # win == 0, hot and dry
    ]
    arr = np.asarray(cases, np.float64).T
    s = dict(zip(("swe", "sm", "gw"), _f32(arr[:3]), strict=True))
    f = dict(zip(("rn", "prec", "tc", "co2"), _f32(arr[3:]), strict=True))
    p = {k: _f32(np.full(len(cases), v)) for k, v in base.items()}
    (swe, sm, gw), fl = _run_step(s, f, p)
    ref_state, ref_fl = ref_step(s["swe"], s["sm"], s["gw"], f["rn"], f["prec"], f["tc"],
                                 f["co2"], p)
    scales = _step_scales(s, f, p, ref_state, ref_fl)
    for name in ref_fl:
        _assert_close(name, fl[name], ref_fl[name], scales[name])
    for name, a, e in zip(("swe", "sm", "gw"), (swe, sm, gw), ref_state, strict=True):
        _assert_close(name, a, e, scales["et"])
    assert fl["rainfall"][0] == 0 and fl["melt"][0] == 0
    assert fl["snowfall"][0] == pytest.approx(18.0)
    assert fl["melt"][2] == pytest.approx(5.0) and swe[2] == 0
    assert fl["et"][3] == 0
    assert fl["f_soil"][5] == 0 and fl["f_soil"][6] == 0
    assert fl["win"][8] == 0 and fl["q_surf"][8] == 0
    assert fl["f_soil"][8] == pytest.approx(0.5)


# ----------------------------------------------------------------------------- hypothesis
unit = st.floats(0.0, 1.0)


@st.composite
def step_inputs(draw):
    """Scalar states, forcing and parameters for one step (rounded to float32).

    Returns
    -------
    tuple of dict
        ``(state, forcing, params)`` of float64 scalars.
    """
    fl = lambda lo, hi: st.floats(lo, hi)  # noqa: E731  (cast to float32 below)
    p = {"alpha_melt": draw(fl(0, 20)), "alpha_ei": draw(fl(0, 10)), "alpha_es": draw(unit),
         "alpha_t": draw(unit), "alpha_soil": draw(unit), "alpha_gw": draw(unit),
         "sm_max": draw(fl(1, 2000)), "wue": draw(fl(0, 20)), "cue": draw(unit),
         "rb": draw(fl(0, 10)), "fapar": draw(unit), "beta_snow": draw(unit),
         "beta_base": draw(unit), "beta_co2": draw(fl(0, 0.02)), "q10": draw(fl(1, 10))}
    f = {"rn": draw(fl(-50, 400)), "prec": draw(st.one_of(st.just(0.0), fl(0, 200))),
         "tc": draw(st.one_of(st.just(0.0), fl(-30, 40))), "co2": draw(fl(280, 600))}
    s = {"swe": draw(st.one_of(st.just(0.0), fl(0, 1000))),
         "sm": draw(st.one_of(st.just(p["sm_max"]), fl(0, 1).map(lambda u: u * p["sm_max"]))),
         "gw": draw(st.one_of(st.just(0.0), fl(0, 5000)))}
    cast = lambda d: {k: _f32(v) for k, v in d.items()}  # noqa: E731
    return cast(s), cast(f), cast(p)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(step_inputs())
def test_step_invariants_hypothesis(inputs):
    """One step with hypothesis-drawn scalars: invariants and agreement with the reference."""
    s, f, p = inputs
    (swe, sm, gw), fl = _run_step(s, f, p)
    scale = float(s["swe"] + s["sm"] + s["gw"] + f["prec"] + p["sm_max"]
                  + ref_rn_mm(abs(f["rn"])) + abs(f["tc"]) * p["alpha_melt"])
    tol = 1e-5 * max(1.0, scale)
    # mass balance (computed in float64 from the float32 results)
    d_store = (float(swe) + float(sm) + float(gw)) - float(s["swe"] + s["sm"] + s["gw"])
    inflow = float(fl["snowfall"]) + float(fl["rainfall"]) - float(fl["et"]) - float(fl["q"])
    assert abs(d_store - inflow) <= tol
    assert abs(float(fl["f_soil"] + fl["f_gw"] + fl["f_surf"]) - 1.0) <= 4 * F32_EPS
    for name in ("f_soil", "f_gw", "f_surf"):
        assert 0.0 <= float(fl[name]) <= 1.0
    for name in ("snowfall", "rainfall", "melt", "ei", "es", "tr", "et", "win", "r_soil",
                 "r_gw", "q_surf", "q_base", "q", "gpp", "npp", "ra", "rh", "ter"):
        assert float(fl[name]) >= 0.0, name
    assert float(swe) >= 0 and float(sm) >= -tol and float(gw) >= 0
    assert float(sm) <= max(float(p["sm_max"]), float(s["sm"])) + tol
    assert float(fl["et"]) <= float(ref_rn_mm(f["rn"])) + tol  # ET is energy limited
    ref_state, ref_fl = ref_step(s["swe"], s["sm"], s["gw"], f["rn"], f["prec"], f["tc"],
                                 f["co2"], p)
    scales = _step_scales(s, f, p, ref_state, ref_fl)
    for name in ref_fl:
        _assert_close(name, fl[name], ref_fl[name], scales[name])
    for name, a, e in zip(("swe", "sm", "gw"), (swe, sm, gw), ref_state, strict=True):
        _assert_close(name, a, e, scales["et"])


def test_recharge_guard_is_the_references_at_tiny_water_input():
    """Issue 20: at 5e-7 mm d-1 of water input the recharge fraction is the reference's
    (eps 1e-8: deficit / win = 0.18), not the 0.09 an eps of 1e-6 gave; finite gradients."""
    import jax
    import jax.numpy as jnp

    from xh2cm.core import physics

    assert physics.EPS == 1e-8
    win, deficit = jnp.float32(5e-7), jnp.float32(0.9e-7)
    r = physics.recharge(win, jnp.float32(0.0), deficit, jnp.float32(1.0), jnp.float32(0.5))
    assert float(r.f_soil) == pytest.approx(0.18, rel=0.1)
    assert float(r.f_soil + r.f_gw + r.f_surf) == pytest.approx(1.0, abs=1e-6)

    def total(w: jax.Array) -> jax.Array:
        out = physics.recharge(w, jnp.float32(99.0), jnp.float32(100.0), jnp.float32(0.7),
                               jnp.float32(0.5))
        return out.r_soil + out.r_gw
    for w in (0.0, 1e-9, 5e-7, 2.0):
        assert np.isfinite(float(jax.grad(total)(jnp.float32(w))))
