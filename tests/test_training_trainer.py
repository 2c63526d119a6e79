"""The training loop: NaN batches, exact resume, early stopping, checkpointing, learning."""

from __future__ import annotations

import logging

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from xh2cm.core import trainable_filter
from xh2cm.training import (
    LossSpec,
    TrainConfig,
    eval_step,
    latest_checkpoint,
    make_optimizer,
    observation_scales,
    train,
    train_step,
)

FAST = TrainConfig(epochs=4, batch_size=16, learning_rate=3e-3, progress=False, segment=None)


def _leaves_equal(a, b) -> bool:
    la, lb = jax.tree_util.tree_leaves(eqx.filter(a, eqx.is_array)), jax.tree_util.tree_leaves(
        eqx.filter(b, eqx.is_array))
    return len(la) == len(lb) and all(
        x.shape == y.shape and np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)
        for x, y in zip(la, lb, strict=True))


def _scales(data, cells, spec):
    return {k: jnp.asarray(v, jnp.float32)
            for k, v in observation_scales(data.obs(cells), spec).items()}


@pytest.fixture(scope="module")
def data(twin):
    return twin.data()


def _step_inputs(twin, data, n_cells=16):
    """Fresh model, loss spec, optimizer and its state, and scales for one batch of cells."""
    model = twin.fresh_model()
    spec = LossSpec.for_observations(data.available)
    opt = make_optimizer(FAST, 2)
    opt_state = opt.init(eqx.filter(model, trainable_filter(model)))
    cells = np.arange(n_cells)
    return model, spec, opt, opt_state, cells, _scales(data, cells, spec)


def test_poisoned_batch_leaves_model_and_optimizer_untouched(twin, data):
    model, spec, opt, opt_state, cells, scales = _step_inputs(twin, data)
    forcing, static, obs = data.batch(cells)
    # one good step first, so the optimizer state is non-trivial
    # spin-up cycles and segment passed as train() passes them: same compiled step
    model, opt_state, total, _, ok = train_step(model, opt_state, forcing, static, obs, scales,
                                                opt, spec, 1, None)
    assert bool(ok) and np.isfinite(float(total))
    poisoned = forcing._replace(tair=forcing.tair.at[100, 3].set(jnp.nan))
    m2, s2, total2, _, ok2 = train_step(model, opt_state, poisoned, static, obs, scales, opt,
                                        spec, 1, None)
    assert not bool(ok2) and not np.isfinite(float(total2))
    assert _leaves_equal(m2, model)
    assert _leaves_equal(s2, opt_state)
    # and training goes on normally afterwards
    m3, _, total3, _, ok3 = train_step(m2, s2, forcing, static, obs, scales, opt, spec, 1,
                                       None)
    assert bool(ok3) and float(total3) < float(total)
    assert all(np.all(np.isfinite(x)) for x in jax.tree_util.tree_leaves(
        eqx.filter(m3, eqx.is_array)))


def test_poisoned_cell_is_skipped_and_logged(twin, data, caplog):
    bad = twin.data()
    bad.forcing["rn"] = bad.forcing["rn"].copy()
    bad.forcing["rn"][10, 5] = np.inf
    with caplog.at_level(logging.WARNING, logger="xh2cm.training"):
        model, hist = train(twin.fresh_model(), bad, np.arange(32), config=FAST)
    df = hist.to_dataframe()
    assert (df["skipped"] == 1).all()  # one of the two batches holds cell 5, every epoch
    assert np.isfinite(df["train_total"]).all()
    assert "skipped 1 non-finite step" in caplog.text
    assert all(np.all(np.isfinite(x)) for x in jax.tree_util.tree_leaves(
        eqx.filter(model, eqx.is_array)))


def test_training_reduces_loss_and_records_history(twin, data):
    cells = np.arange(data.n_cells)
    model, hist = train(twin.fresh_model(), data, cells[:32], cells[32:], config=FAST)
    df = hist.to_dataframe()
    assert list(df.index) == [1, 2, 3, 4]
    assert df["train_total"].iloc[-1] < df["train_total"].iloc[0]
    assert np.isfinite(df["val_total"]).all() and np.isfinite(df["val_cue"]).all()
    assert set(hist.terms) >= {"tws", "gpp", "nee_iav", "cue", "prior_q10"}
    assert (df["lr"].diff().dropna() < 0).all()  # cosine decay
    assert hist.best_epoch is not None


def test_exact_resume_is_bit_identical(twin, data, tmp_path):
    cells = np.arange(data.n_cells)
    cfg = FAST.replace(checkpoint_every=1, keep_checkpoints=0)
    full, h_full = train(twin.fresh_model(), data, cells[:32], cells[32:],
                         config=cfg.replace(checkpoint_dir=str(tmp_path / "a")))

    class Interrupt(Exception):
        pass

    def stop_at_2(epoch, model, history):
        if epoch == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(twin.fresh_model(), data, cells[:32], cells[32:],
              config=cfg.replace(checkpoint_dir=str(tmp_path / "b")), callback=stop_at_2)
    assert latest_checkpoint(tmp_path / "b").name == "ckpt-000002.eqx"
    resumed, h_res = train(twin.fresh_model(), data, cells[:32], cells[32:],
                           config=cfg.replace(checkpoint_dir=str(tmp_path / "b"), resume=True))
    assert _leaves_equal(full, resumed)
    a, b = h_full.to_dataframe(), h_res.to_dataframe()
    cols = [c for c in a.columns if c != "seconds"]
    assert np.array_equal(a[cols].to_numpy(), b[cols].to_numpy(), equal_nan=True)
    # resuming a different run from the same directory is refused
    with pytest.raises(ValueError, match="different run"):
        train(twin.fresh_model(), data, cells[:30], cells[32:],
              config=cfg.replace(checkpoint_dir=str(tmp_path / "b"), resume=True))


def test_early_stopping_and_best_model(twin, data):
    cells = np.arange(data.n_cells)
    # an improvement threshold no epoch after the first can meet (same optimizer as FAST,
    # so the compiled step is reused)
    cfg = FAST.replace(patience=2, min_delta=1e9)
    model, hist = train(twin.fresh_model(), data, cells[:32], cells[32:], config=cfg)
    df = hist.to_dataframe()
    assert hist.stopped_early and list(df.index) == [1, 2, 3]
    assert hist.best_epoch == 1
    # the returned model is the best (epoch-1) one: re-evaluating it reproduces its val loss
    spec = LossSpec.for_observations(data.available)
    total, _ = eval_step(model, *data.batch(cells[32:], 16), _scales(data, cells[:32], spec),
                         spec, 1)
    assert float(total) == pytest.approx(df["val_total"].loc[1], rel=1e-5)
    assert df["val_total"].loc[3] != pytest.approx(df["val_total"].loc[1], rel=1e-5)


@pytest.mark.slow
def test_gradient_checkpointing_gives_the_same_step(twin, data):
    model, spec, opt, opt_state, cells, scales = _step_inputs(twin, data)
    batch = data.batch(cells)
    m1, _, t1, _, _ = train_step(model, opt_state, *batch, scales, opt, spec, 1, None)
    m2, _, t2, _, _ = train_step(model, opt_state, *batch, scales, opt, spec, 1, 20)
    assert float(t1) == pytest.approx(float(t2), rel=1e-6)
    for x, y in zip(jax.tree_util.tree_leaves(eqx.filter(m1, eqx.is_array)),
                    jax.tree_util.tree_leaves(eqx.filter(m2, eqx.is_array)), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-6)


def test_config_validation(twin):
    with pytest.raises(ValueError):
        TrainConfig(schedule="linear")
    with pytest.raises(ValueError):
        TrainConfig(segment=0)
    assert TrainConfig().segment_for(730) == 28
    with pytest.raises(ValueError, match="no training cells"):
        train(twin.fresh_model(), twin.data(), np.zeros(0, int), config=FAST)


def test_equilibrium_gradient_changes_only_beta_base(twin, data):
    """Same loss, same update of every leaf but beta_base (no clipping, so the global
    gradient norm cannot couple the leaves)."""
    model, spec, _, _, cells, scales = _step_inputs(twin, data)
    opt = optax.sgd(1e-3)
    opt_state = opt.init(eqx.filter(model, trainable_filter(model)))
    batch = data.batch(cells)
    m1, _, t1, _, ok1 = train_step(model, opt_state, *batch, scales, opt, spec, 1, None, False)
    m2, _, t2, _, ok2 = train_step(model, opt_state, *batch, scales, opt, spec, 1, None, True)
    assert bool(ok1) and bool(ok2) and float(t1) == float(t2)
    assert float(m1.constants.beta_base) != float(m2.constants.beta_base)
    take_out = lambda m: eqx.tree_at(lambda x: x.constants.beta_base, m, 0.0)  # noqa: E731
    assert _leaves_equal(take_out(m1), take_out(m2))


def test_constants_learning_rate_scale(twin, data):
    """Adam's first step moves every raw parameter by ~lr (m / sqrt(v) = sign(g)); with
    ``constants_lr_scale=10`` the global constants move ten times as far."""
    model, spec, _, _, cells, scales = _step_inputs(twin, data)
    lr = FAST.learning_rate
    opt = make_optimizer(FAST.replace(constants_lr_scale=10.0, clip_norm=None), 2)
    opt_state = opt.init(eqx.filter(model, trainable_filter(model)))
    new, _, _, _, ok = train_step(model, opt_state, *data.batch(cells), scales, opt, spec, 1,
                                  None)
    assert bool(ok)
    for name in ("beta_snow", "beta_base", "q10", "beta_co2"):
        step = abs(float(getattr(new.constants, name)) - float(getattr(model.constants, name)))
        assert step == pytest.approx(10 * lr, rel=1e-2), name
    net_step = np.abs(np.asarray(new.net_a.head.bias) - np.asarray(model.net_a.head.bias))
    assert np.all(net_step <= lr * 1.01) and np.max(net_step) > 0.5 * lr
    with pytest.raises(ValueError, match="constants_lr_scale"):
        TrainConfig(constants_lr_scale=0.0)


def test_spinup_gradient_same_loss_other_gradient(twin, data):
    """Differentiating through the spin-up leaves the loss as it is and changes the update."""
    model, spec, _, _, cells, scales = _step_inputs(twin, data)
    opt = optax.sgd(1e-3)
    opt_state = opt.init(eqx.filter(model, trainable_filter(model)))
    batch = data.batch(cells)
    m1, _, t1, _, _ = train_step(model, opt_state, *batch, scales, opt, spec, 1, None, False)
    m2, _, t2, _, ok = train_step(model, opt_state, *batch, scales, opt, spec, 1, None, False,
                                  True)
    assert bool(ok) and float(t2) == pytest.approx(float(t1), rel=1e-5)
    d1 = float(m1.constants.beta_base - model.constants.beta_base)
    d2 = float(m2.constants.beta_base - model.constants.beta_base)
    assert np.isfinite(d2) and d2 != pytest.approx(d1, rel=1e-3)
    assert not _leaves_equal(m1.net_a, m2.net_a)  # the spin-up path reaches the networks too


def test_checkpoint_dir_of_another_run_is_refused_or_overwritten(twin, data, tmp_path):
    cells = np.arange(data.n_cells)
    cfg = FAST.replace(epochs=1, checkpoint_dir=str(tmp_path))
    train(twin.fresh_model(), data, cells[:32], config=cfg)
    first = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ValueError, match="already holds 1 checkpoint.*resume=True.*overwrite"):
        train(twin.fresh_model(), data, cells[:30], config=cfg)
    assert sorted(p.name for p in tmp_path.iterdir()) == first  # nothing pruned or mixed
    train(twin.fresh_model(), data, cells[:30], config=cfg.replace(overwrite=True))
    with pytest.raises(ValueError, match=r"different run; what differs: .*training cells"):
        train(twin.fresh_model(), data, cells[:32], config=cfg.replace(resume=True))
    with pytest.raises(ValueError, match=r"learning_rate: 0\.003 -> 0\.02"):
        train(twin.fresh_model(), data, cells[:30],
              config=cfg.replace(resume=True, learning_rate=0.02))


def test_resume_on_empty_folder_says_it_starts_fresh(twin, data, tmp_path):
    cfg = FAST.replace(epochs=1, checkpoint_dir=str(tmp_path / "new"), resume=True)
    with pytest.warns(UserWarning, match="holds no checkpoint: starting a fresh run"):
        train(twin.fresh_model(), data, np.arange(32), config=cfg)


def test_finished_run_continues_for_more_epochs(twin, data, tmp_path):
    cells = np.arange(32)
    cfg = FAST.replace(epochs=1, checkpoint_dir=str(tmp_path))
    one, h1 = train(twin.fresh_model(), data, cells, config=cfg)
    two, h2 = train(twin.fresh_model(), data, cells, config=cfg.replace(epochs=2, resume=True))
    assert [r["epoch"] for r in h2.records] == [1, 2]
    assert h2.records[0] == h1.records[0]
    assert not _leaves_equal(one, two)
