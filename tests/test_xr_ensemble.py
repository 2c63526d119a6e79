"""k-fold ensembles on xarray: fit(folds=k), ensemble files, run with a member dimension,
out-of-fold predictions, regional spread."""

from __future__ import annotations

import equinox as eqx
import jax
import numpy as np
import pytest

import xh2cm
from xh2cm.training import Ensemble

FIT = dict(epochs=2, batch_size=8, progress=False, segment=None,
           model_kwargs={"hidden_size": 8})


@pytest.fixture(scope="module")
def case():
    ds = xh2cm.datasets.synthetic_forcing(n_lat=4, n_lon=8, years=1)  # 19 land cells
    obs = ds.h2cm.run(xh2cm.datasets.truth_model(ds, hidden_size=8))[["gpp", "et"]]
    ens, history = ds.h2cm.fit(obs, folds=3, **FIT)
    return ds, obs, ens, history


def _leaves(model):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_array))]


def test_fit_folds_roles_and_history(case):
    ds, _, ens, history = case
    assert isinstance(ens, Ensemble) and ens.names == ("fold0", "fold1", "fold2")
    assert history.member.values.tolist() == list(ens.names)
    fold = history.fold.values.ravel()
    land = ds.land_mask.values.astype(bool).ravel()
    assert (fold[~land] == -1).all() and set(fold[land]) == {0, 1, 2}
    np.testing.assert_array_equal(ens.held_out, fold)
    role = history.cell_role.values.reshape(3, -1)
    for f in range(3):  # member f: tests on fold f, validates on the next, trains on the rest
        assert (role[f][fold == f] == 0).all()
        assert (role[f][fold == (f + 1) % 3] == 2).all()
        assert (role[f][fold == (f + 2) % 3] == 1).all()
    assert history.total.sizes == {"member": 3, "split": 2, "epoch": 2}


def test_ensemble_file_round_trip_and_corruption(case, tmp_path):
    _, _, ens, _ = case
    path = tmp_path / "ens.eqx"
    ens.save(path)
    back = Ensemble.load(path)
    assert back.names == ens.names and back.grid == ens.grid
    np.testing.assert_array_equal(back.held_out, ens.held_out)
    for a, b in zip(ens, back, strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(_leaves(a), _leaves(b), strict=True))
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum"):
        Ensemble.load(path)
    with pytest.raises(ValueError, match="not an xh2cm ensemble"):
        from xh2cm.core.serialization import save_model

        save_model(tmp_path / "one.eqx", ens[0])
        Ensemble.load(tmp_path / "one.eqx")


@pytest.mark.slow
def test_fold_fit_resumes_from_its_checkpoint(case, tmp_path):
    ds, obs, ens, _ = case
    kw = {**FIT, "epochs": 1, "checkpoint_dir": str(tmp_path)}
    first, _ = ds.h2cm.fit(obs, folds=3, **kw)
    again, hist = ds.h2cm.fit(obs, folds=3, **kw, resume=True)  # finished: nothing to do
    for a, b in zip(first, again, strict=True):
        assert all(np.array_equal(x, y) for x, y in zip(_leaves(a), _leaves(b), strict=True))
    with pytest.raises(ValueError, match="already holds"):
        ds.h2cm.fit(obs, folds=3, **kw)


RUN = dict(outputs=["gpp", "et", "sm_max", "q10"], freq="MS", tile=8)


@pytest.fixture(scope="module")
def runs(case):
    ds, _, ens, _ = case
    return ds.h2cm.run(ens, **RUN), ds.h2cm.run(ens, out_of_fold=True, **RUN)


def test_run_has_a_member_dimension_equal_to_each_model(case, runs):
    ds, _, ens, _ = case
    out, _ = runs
    assert out.gpp.dims == ("member", "time", "lat", "lon")
    assert out.sm_max.dims == ("member", "lat", "lon") and out.q10.dims == ("member",)
    assert out.member.values.tolist() == list(ens.names)
    for i, m in enumerate(ens):
        one = ds.h2cm.run(m, **RUN)
        for v in RUN["outputs"]:
            np.testing.assert_array_equal(out[v].isel(member=i).values, one[v].values)


def test_ensemble_run_is_chunk_invariant(case, runs):
    ds, _, ens, _ = case
    out, oof = runs
    chunked = ds.chunk({"lat": 2, "lon": 4, "time": 100})  # 4 spatial x 4 time blocks
    lazy, state = chunked.h2cm.run(ens, return_state=True, **RUN)
    assert lazy.gpp.chunks is not None and state.sm.dims == ("member", "lat", "lon")
    for v in RUN["outputs"]:
        np.testing.assert_array_equal(lazy[v].values, out[v].values)
    _, whole_state = ds.h2cm.run(ens, return_state=True, **RUN)
    np.testing.assert_array_equal(state.lstm_a_h.values, whole_state.lstm_a_h.values)
    lazy_oof = chunked.h2cm.run(ens, out_of_fold=True, **RUN)
    for v in RUN["outputs"]:
        np.testing.assert_array_equal(lazy_oof[v].values, oof[v].values)


def test_out_of_fold_is_the_holding_out_member(case, runs):
    ds, _, ens, history = case
    out, oof = runs
    assert "member" not in oof.gpp.dims and oof.q10.dims == ("member",)
    fold = history.fold
    for f in range(len(ens)):
        np.testing.assert_array_equal(oof.gpp.where(fold == f).values,
                                      out.gpp.isel(member=f).where(fold == f).values)
    assert np.isnan(oof.gpp.where(fold < 0)).all()
    with pytest.raises(ValueError, match="needs an ensemble"):
        ds.h2cm.run(ens[0], out_of_fold=True)


@pytest.mark.slow
def test_out_of_fold_prediction_ignores_the_cells_own_observations(case, runs):
    ds, obs, ens, history = case
    _, oof = runs
    land = np.argwhere(history.fold.values == 0)[0]
    at = {"lat": int(land[0]), "lon": int(land[1])}
    bent = obs.copy(deep=True)
    for v in ("gpp", "et"):
        bent[v][{**at}] = bent[v][{**at}] * 3.0 + 1.0
    ens2, _ = ds.h2cm.fit(bent, folds=3, **FIT)
    oof2 = ds.h2cm.run(ens2, out_of_fold=True, **RUN)
    np.testing.assert_array_equal(oof2.gpp.isel(at).values, oof.gpp.isel(at).values)
    # the members that trained or validated on the cell did see the change
    seen = ds.h2cm.run(ens2, **RUN).gpp.isel(at).isel(member=[1, 2])
    assert not np.array_equal(seen.values, runs[0].gpp.isel(at).isel(member=[1, 2]).values)


def test_regional_spread_equals_spread_of_member_totals(case, runs):
    _, obs, ens, _ = case
    out, oof = runs
    budget = out.h2cm.regional(how="sum", variables=["gpp", "et"])
    assert budget.gpp.dims[:2] == ("region", "member")
    summary = budget.h2cm.spread(quantiles=(0.1, 0.9))
    per = np.stack([out.isel(member=i).h2cm.regional(how="sum", variables=["gpp"]).gpp.values
                    for i in range(len(ens))])
    np.testing.assert_allclose(summary.gpp.sel(statistic="std").values,
                               np.std(per, axis=0, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(summary.gpp.sel(statistic="mean").values, per.mean(0),
                               rtol=1e-6)
    assert summary.gpp.attrs["units"] == budget.gpp.attrs["units"]
    assert summary.statistic.values.tolist() == ["mean", "std", "q0.1", "q0.9"]
    scores = out.h2cm.evaluate(obs)  # diagnostics keep the member dimension
    assert "member" in scores.nse.dims
    honest = oof.h2cm.evaluate(obs)  # out of fold: one score per cell, no member
    assert "member" not in honest.nse.dims
    with pytest.raises(ValueError, match="no variable has a 'member'"):
        oof[["gpp"]].h2cm.spread()


def test_ensemble_run_continues_from_its_state(case):
    ds, _, ens, _ = case
    kw = dict(outputs=["gpp", "sm"], tile=8, spinup=False)
    whole = ds.h2cm.run(ens, **kw)
    first, state = ds.isel(time=slice(0, 181)).h2cm.run(ens, return_state=True, **kw)
    assert state.lstm_a_h.dims == ("member", "lat", "lon", "hidden")
    rest = ds.isel(time=slice(181, None)).chunk({"lat": 2, "lon": 4})
    second = rest.h2cm.run(ens, initial_state=state.chunk({"lat": 1}), **kw)
    np.testing.assert_array_equal(second.gpp.values,
                                  whole.gpp.isel(time=slice(181, None)).values)
    np.testing.assert_array_equal(first.sm.values, whole.sm.isel(time=slice(0, 181)).values)
    with pytest.raises(ValueError, match="members"):
        rest.h2cm.run(ens[0], initial_state=state, **kw)


@pytest.fixture(scope="module")
def every_output(case):
    ds, _, ens, _ = case
    return ds.h2cm.run(ens, tile=8)


@pytest.mark.parametrize("method", ["pue", "wue", "water_carbon_coupling", "rain_pulse"])
def test_diagnostics_keep_the_member_dimension(case, every_output, method):
    ds, _, ens, _ = case
    out = every_output
    res = getattr(out.h2cm, method)(forcing=ds)
    name = next(n for n in res.data_vars if "member" in res[n].dims)
    one = getattr(out.isel(member=1).h2cm, method)(forcing=ds)
    np.testing.assert_allclose(res[name].isel(member=1).values, one[name].values, rtol=1e-6,
                               equal_nan=True)
