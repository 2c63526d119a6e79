"""Models trained as one batch (xh2cm.training.ensemble): each member is the fit it would be
alone, one compile serves all, per-member weights are traced, ensembles resume exactly."""

from __future__ import annotations

import equinox as eqx
import jax
import numpy as np
import pytest

from xh2cm.training import LossSpec, TrainConfig, train
from xh2cm.training.ensemble import Member, compiles, stack, train_ensemble, unstack

CFG = TrainConfig(epochs=3, batch_size=16, learning_rate=3e-3, progress=False, segment=None,
                  patience=1)


def _max_rel(a, b) -> float:
    """Largest difference of a leaf relative to that leaf's largest value."""
    la = jax.tree_util.tree_leaves(eqx.filter(a, eqx.is_array))
    lb = jax.tree_util.tree_leaves(eqx.filter(b, eqx.is_array))
    assert len(la) == len(lb)
    return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y)))
                     / (np.max(np.abs(np.asarray(y))) + 1e-12)) for x, y in zip(la, lb,
                                                                                strict=True))


@pytest.fixture(scope="module")
def data(twin):
    return twin.data(obs=("gpp", "et", "tws"))


def _members() -> list[Member]:
    # unequal sizes (43 land cells): 2 steps and 1 step of fewer cells than the batch (the
    # second member sits a step out, padded), own seeds
    return [Member(np.arange(0, 24), np.arange(24, 30), seed=3),
            Member(np.arange(30, 40), np.arange(40, 43), seed=5)]


def test_batch_equals_separate_fits_with_one_compile(twin, data):
    models = [twin.fresh_model(seed=7), twin.fresh_model(seed=8)]
    spec = LossSpec.for_observations(data.available)
    before = compiles()
    batch, histories = train_ensemble(models, data, _members(), spec=spec, config=CFG)
    after = compiles()
    assert after["step"] - before["step"] <= 1 and after["eval"] - before["eval"] <= 1
    for model, member, fitted, hist in zip(models, _members(), batch, histories, strict=True):
        alone, h = train(model, data, member.train_cells, member.val_cells, spec=spec,
                         config=CFG.replace(seed=member.seed))
        print("max rel difference batch vs alone", _max_rel(fitted, alone))
        assert _max_rel(fitted, alone) < 1e-4  # a wrong step or rate: ~1e-2
        assert len(hist.records) == len(h.records) and hist.best_epoch == h.best_epoch
        np.testing.assert_allclose([r["train_total"] for r in hist.records],
                                   [r["train_total"] for r in h.records], rtol=1e-4)
        np.testing.assert_allclose([r["val_total"] for r in hist.records],
                                   [r["val_total"] for r in h.records], rtol=1e-4)
        np.testing.assert_allclose([r["lr"] for r in hist.records],
                                   [r["lr"] for r in h.records], rtol=1e-6)
    # a second ensemble of the same shapes (other weights, other cells) compiles nothing
    weighted = [Member(np.arange(0, 24), seed=1, weights={"gpp": 0.0}),
                Member(np.arange(20, 43), seed=1, weights={"gpp": 2.0})]
    mid = compiles()
    fitted, _ = train_ensemble(models[0], data, weighted, spec=spec, config=CFG.replace(
        epochs=1))
    assert compiles()["step"] == mid["step"]
    # and a member's weight is its own: 0 on gpp = the fit without the gpp term
    no_gpp = LossSpec.for_observations(data.available, {"gpp": 0.0})
    alone, _ = train(models[0], data, np.arange(0, 24), spec=no_gpp,
                     config=CFG.replace(epochs=1, seed=1), scales=_scales(data, spec))
    assert _max_rel(fitted[0], alone) < 1e-4
    assert _max_rel(fitted[1], alone) > 1e-3


def test_a_member_learning_rate_and_validation_data_are_its_own(twin, data):
    model = twin.fresh_model(seed=7)
    spec = LossSpec.for_observations(data.available)
    cells = np.arange(0, 24)
    before, later = data.split_time(data.n_time // 2)  # validation: a block in time
    members = [Member(cells, cells, seed=1), Member(cells, cells, seed=1, learning_rate=3e-2)]
    cfg = CFG.replace(epochs=2, seed=1)
    mid = compiles()["step"]
    fitted, hists = train_ensemble(model, before, members, spec=spec, config=cfg,
                                   val_data=later)
    assert compiles()["step"] - mid <= 1
    for lr, got, hist in zip((3e-3, 3e-2), fitted, hists, strict=True):
        alone, h = train(model, before, cells, cells, spec=spec, val_data=later,
                         config=cfg.replace(learning_rate=lr))
        assert _max_rel(got, alone) < 5e-4  # float32 round-off, larger at the larger rate
        np.testing.assert_allclose([r["val_total"] for r in hist.records],
                                   [r["val_total"] for r in h.records], rtol=1e-4)
        np.testing.assert_allclose([r["lr"] for r in hist.records],
                                   [r["lr"] for r in h.records], rtol=1e-6)
    assert _max_rel(fitted[0], fitted[1]) > 1e-2  # the rate acted


def test_select_on_picks_the_best_epoch_of_those_terms_only(twin, data):
    spec = LossSpec.for_observations(data.available)
    members = [Member(np.arange(0, 24), np.arange(24, 43), seed=1)]
    cfg = CFG.replace(epochs=4, patience=None, learning_rate=3e-2)
    for terms in (("gpp",), ("tws",)):
        _, (hist,) = train_ensemble(twin.fresh_model(seed=7), data, members, spec=spec,
                                    config=cfg, select_on=terms)
        crit = [sum(r[f"val_{t}"] for t in terms) for r in hist.records]
        assert hist.best_epoch == 1 + int(np.argmin(crit))
    with pytest.raises(ValueError, match=r"select_on=\['snow'\]: the loss has no terms"):
        train_ensemble(twin.fresh_model(seed=7), data, members, spec=spec, config=cfg,
                       select_on=["snow"])


def _scales(data, spec):
    from xh2cm.training import observation_scales

    return observation_scales(data.obs(np.arange(0, 24)), spec)


@pytest.mark.slow
def test_resume_continues_exactly(twin, data, tmp_path):
    model = twin.fresh_model()
    cfg = CFG.replace(patience=None, checkpoint_dir=str(tmp_path))
    whole, _ = train_ensemble(model, data, _members(), config=cfg.replace(
        checkpoint_dir=str(tmp_path / "a")))
    class Interrupted(Exception):
        pass

    def stop_after_two(epoch, models, histories):
        if epoch == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_ensemble(model, data, _members(), config=cfg, callback=stop_after_two)
    resumed, hist = train_ensemble(model, data, _members(), config=cfg.replace(resume=True))
    assert [len(h.records) for h in hist] == [3, 3]
    for a, b in zip(whole, resumed, strict=True):
        assert _max_rel(a, b) == 0.0
    with pytest.raises(ValueError, match="different run"):
        train_ensemble(model, data, _members()[::-1], config=cfg.replace(resume=True))


def test_stack_round_trip_and_refusal(twin):
    a, b = twin.fresh_model(seed=1), twin.fresh_model(seed=2)
    back = unstack(stack([a, b]), 2)
    assert _max_rel(back[1], b) == 0.0
    with pytest.raises(ValueError, match="share one ModelConfig"):
        stack([a, twin.fresh_model(hidden=4)])
