"""Loss terms: zero at the truth, NaN masking, standardisation, priors, term selection."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xh2cm.core import trainable_filter
from xh2cm.training import LossSpec, LossWeights, Prior, loss_terms, observation_scales
from xh2cm.training.losses import TERMS


def _outputs(twin, **kw):
    out = twin.arrays(**kw)[4]
    return {k: jnp.asarray(v) for k, v in out.items()}


def test_all_terms_zero_at_truth_and_positive_elsewhere(twin):
    # two years: with one, anomalies from the seasonal cycle (NEE IAV) are identically 0
    data = twin.data(years=2)
    cells = np.arange(data.n_cells)
    spec = LossSpec.for_observations(data.available, priors=False)
    assert set(spec.terms) == set(TERMS)
    obs = data.obs(cells)
    scales = observation_scales(obs, spec)
    terms = loss_terms(_outputs(twin, years=2), obs, spec, scales)
    for k, v in terms.items():
        assert float(v) == pytest.approx(0.0, abs=1e-6), k
    wrong = {k: v * 1.3 + 0.1 for k, v in _outputs(twin, years=2).items()}
    wrong["npp"] = wrong["npp"] * 0.7  # CUE is a ratio: change it explicitly
    terms = loss_terms(wrong, obs, spec, scales)
    small = {k: float(v) for k, v in terms.items() if not float(v) > 1e-4}
    assert not small


def test_only_gpp_and_et(twin):
    data = twin.data(obs=("gpp", "et"), cue=False)
    spec = LossSpec.for_observations(data.available)
    assert spec.terms == ("et", "gpp")
    assert spec.priors == ("prior_beta_co2", "prior_q10")
    assert set(spec.outputs) == {"et", "gpp"}
    with pytest.raises(ValueError, match="no loss term"):
        LossSpec.for_observations(["gpp"], weights={"gpp": 0})
    with pytest.raises(ValueError, match="unknown observations"):
        LossSpec.for_observations(["lai"])
    with pytest.raises(KeyError):
        LossWeights.from_any({"gpq": 1.0})


def test_nan_observations_are_masked_with_finite_gradients(twin):
    data = twin.data()
    cells = np.arange(data.n_cells)
    spec = LossSpec.for_observations(data.available)
    rng = np.random.default_rng(0)
    for v in data.monthly.values():
        v[rng.random(v.shape) < 0.3] = np.nan
    data.monthly["swe"][:] = np.nan  # a term without any observation in the batch
    obs = data.obs(cells)
    scales = observation_scales(obs, spec)
    assert scales["swe"] == 1.0
    model = twin.fresh_model()
    forcing, static, _ = data.batch(cells)

    def loss(params, rest):
        out, _ = eqx.combine(params, rest)(forcing, static)
        return sum(loss_terms(out, obs, spec, scales).values())

    params, rest = eqx.partition(model, trainable_filter(model))
    val, grads = jax.value_and_grad(loss)(params, rest)
    assert np.isfinite(float(val))
    assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))
    terms = loss_terms(model(forcing, static)[0], obs, spec, scales)
    assert float(terms["swe"]) == 0.0


def test_standardisation_makes_terms_unit_free(twin):
    data = twin.data(obs=("et", "nee"), cue=False)
    cells = np.arange(data.n_cells)
    spec = LossSpec.for_observations(data.available, priors=False)
    out = _outputs(twin, )
    wrong = {k: v * 0.8 for k, v in out.items()}
    obs = data.obs(cells)
    t1 = loss_terms(wrong, obs, spec, observation_scales(obs, spec))
    data.monthly = {k: v * 1000.0 for k, v in data.monthly.items()}
    obs2 = data.obs(cells)
    wrong2 = {k: v * 1000.0 for k, v in wrong.items()}
    t2 = loss_terms(wrong2, obs2, spec, observation_scales(obs2, spec))
    for k in t1:
        assert float(t2[k]) == pytest.approx(float(t1[k]), rel=1e-4)


def test_priors(twin):
    spec = LossSpec.for_observations(["gpp"], q10_prior=Prior(2.0, 0.5))
    out = {"gpp": jnp.ones((40, 3)), "beta_co2": jnp.asarray(0.0025), "q10": jnp.asarray(3.0)}
    data = twin.data(obs=("gpp",), cue=False, n_lat=6, n_lon=12)
    obs = data.obs(np.arange(3))
    terms = loss_terms({**out, "gpp": jnp.ones((data.n_time, 3))}, obs, spec, {"gpp": 1.0})
    assert float(terms["prior_beta_co2"]) == pytest.approx(((0.0025 - 0.0015) / 0.0005) ** 2)
    assert float(terms["prior_q10"]) == pytest.approx(4.0)
    off = LossSpec.for_observations(["gpp"], priors=False)
    assert off.priors == ()
    assert LossSpec.for_observations(["gpp"], weights={"prior_q10": 0}).priors == (
        "prior_beta_co2",)
    with pytest.raises(ValueError):
        Prior(1.0, 0.0)


def test_padding_cells_do_not_change_terms(twin):
    data = twin.data()
    spec = LossSpec.for_observations(data.available)
    cells = np.arange(10)
    scales = observation_scales(data.obs(cells), spec)
    model = twin.fresh_model()
    f1, s1, o1 = data.batch(cells)
    f2, s2, o2 = data.batch(cells, size=16)
    t1 = loss_terms(model(f1, s1)[0], o1, spec, scales)
    t2 = loss_terms(model(f2, s2)[0], o2, spec, scales)
    for k in t1:
        assert float(t2[k]) == pytest.approx(float(t1[k]), rel=1e-5, abs=1e-7), k


def test_monthly_obs_names_cover_terms(twin):
    assert {t.obs for t in TERMS.values()} <= set(twin.MONTHLY) | {"cue"}


def test_daily_term_compares_days_and_masks_gaps(twin):
    data = twin.data(obs=("q", "et"), cue=False)
    _, _, _, _, truth, _ = twin.arrays()
    daily_q = truth["q"].astype(np.float32).copy()
    daily_q[::7] = np.nan  # weekly gaps
    data.daily = {"q": daily_q}
    cells = np.arange(data.n_cells)
    spec = LossSpec.for_observations(data.available, priors=False, kinds={"q": "daily"})
    assert spec.term("q").kind == "daily" and spec.term("et").kind == "msc"
    assert spec.daily_obs == ("q",)
    obs = data.obs(cells)
    scales = observation_scales(obs, spec)
    ok = np.isfinite(daily_q)
    assert scales["q"] == pytest.approx(float(np.std(daily_q[ok])), rel=1e-5)
    out = _outputs(twin, )
    assert float(loss_terms(out, obs, spec, scales)["q"]) == pytest.approx(0.0, abs=1e-10)
    # an error on one day counts as that day's squared standardised error, over valid days
    day, cell = 3, 5
    wrong = {**out, "q": out["q"].at[day, cell].add(2.0)}
    got = float(loss_terms(wrong, obs, spec, scales)["q"])
    assert got == pytest.approx((2.0 / scales["q"]) ** 2 / ok.sum(), rel=1e-4)
    # an error on a gap day is masked
    masked_day = {**out, "q": out["q"].at[7, cell].add(2.0)}
    assert float(loss_terms(masked_day, obs, spec, scales)["q"]) == pytest.approx(0, abs=1e-10)


def test_term_kinds_validation():
    spec = LossSpec.for_observations(["gpp", "nee"], kinds={"gpp": "monthly"})
    assert spec.term("gpp").kind == "monthly" and spec.term("nee").kind == "monthly"
    assert spec.daily_obs == ()
    # overrides of inactive terms are dropped
    assert LossSpec.for_observations(["gpp"], kinds={"q": "daily"}).kinds == ()
    with pytest.raises(ValueError, match="unknown loss term 'runoff'"):
        LossSpec.for_observations(["q"], kinds={"runoff": "daily"})
    with pytest.raises(ValueError, match="term 'tws' is fixed"):
        LossSpec.for_observations(["tws"], kinds={"tws": "daily"})
    with pytest.raises(ValueError, match="cannot be compared as 'weekly'"):
        LossSpec.for_observations(["q"], kinds={"q": "weekly"})


def test_train_refuses_daily_term_without_daily_data(twin):
    from xh2cm.training import TrainConfig, train

    data = twin.data(obs=("q",), cue=False)
    spec = LossSpec.for_observations(data.available, kinds={"q": "daily"})
    with pytest.raises(ValueError, match=r"compares \['q'\] daily"):
        train(twin.fresh_model(), data, np.arange(4), spec=spec,
              config=TrainConfig(epochs=1, progress=False))
