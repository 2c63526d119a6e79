"""Site-mode workflow: the test period starts from the training period's state, the split is
exact, the baselines can be given the hybrid's inputs, the soil capacity is bounded, and an
irrigated model closes its water balance with the irrigation counted."""

from __future__ import annotations

import warnings
from pathlib import Path

import equinox as eqx
import jax
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xh2cm
from xh2cm.core import Forcing, ModelConfig, init_model
from xh2cm.site import carried_run, linear_regression, split
from xh2cm.site.carry import HYBRID_INPUTS
from xh2cm.site.constraints import constraints
from xh2cm.site.workflow import capacity_bounds, load_site

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fluxtower"
FORCING = ("rn", "prec", "tair", "vpd", "co2")


def _site(years: int = 2) -> xr.Dataset:
    """A one-site daily dataset on (time, site) from the package's synthetic forcing."""
    ds = xh2cm.datasets.synthetic_forcing(n_lat=1, n_lon=2, years=years, seed=3)
    one = ds[list(FORCING)].isel(lat=0, lon=1, drop=True)
    return one.expand_dims(site=["X"], axis=1).transpose("time", "site")


@pytest.fixture(scope="module")
def site_and_model():
    ds = _site()
    model = ds.h2cm.init_model(static=[], hidden_size=4, seed=1)
    return ds, model


def test_the_test_period_starts_from_the_training_period_state(site_and_model):
    ds, model = site_and_model
    train, test, _ = split(ds, "2002-07-01")
    _, out, state = carried_run(model, train, test, spinup=2, outputs=["et", "sm"])
    # the test forcing changed from its 10th day on: start state and first 9 days unchanged
    changed = test.copy(deep=True)
    changed["prec"][9:] = changed["prec"][9:] * 3 + 5
    changed["rn"][9:] = changed["rn"][9:] * 0.5
    _, out2, state2 = carried_run(model, train, changed, spinup=2, outputs=["et", "sm"])
    for name in state.data_vars:
        np.testing.assert_array_equal(state[name].values, state2[name].values, err_msg=name)
    np.testing.assert_array_equal(out.sm[:9].values, out2.sm[:9].values)
    assert not np.allclose(out.sm[9:].values, out2.sm[9:].values)  # the change did act
    # a start spun up on test forcing alone (the old way) would have seen the change
    alone = test.h2cm.run(model, outputs=["sm"]).sm[:9].values
    alone2 = changed.h2cm.run(model, outputs=["sm"]).sm[:9].values
    assert not np.array_equal(alone, alone2)
    # and the carried start is the training run's end state, not a zero or test spin-up
    fitted = train.h2cm.run(model, spinup=2, outputs=["sm"])
    np.testing.assert_allclose(state.sm.values, fitted.sm[-1].values, rtol=1e-6)


def test_split_validation_months_and_bad_dates():
    ds = _site()
    train, test, val = split(ds, "2002-07-01", validation_months=4)
    assert val == "2002-03-01"  # exactly 4 whole months: March .. June
    assert str(train.time.values[-1])[:10] == "2002-06-30"
    assert str(test.time.values[0])[:10] == "2002-07-01"
    with pytest.raises(ValueError, match="test_start='2009-01-01' is not inside the data"):
        split(ds, "2009-01-01")
    with pytest.raises(ValueError, match="validation_start='2003-01-01'"):
        split(ds, "2002-07-01", validation_start="2003-01-01")


def test_fit_names_test_start_when_it_is_outside_the_data(site_and_model):
    ds, _ = site_and_model
    obs = ds[["prec"]].rename(prec="et")
    with pytest.raises(ValueError, match="test_start='2010-01-01' is not inside"):
        ds.h2cm.fit(obs, test_start="2010-01-01", validation_start="2002-01-01", epochs=1,
                    static=[], progress=False, model_kwargs={"hidden_size": 4})


def test_regression_on_the_hybrid_inputs_ignores_soil_water_and_lai():
    rng = np.random.default_rng(0)
    n = 300
    t = pd.date_range("2001-01-01", periods=n)
    d = xr.Dataset({k: ("time", rng.uniform(1, 10, n)) for k in
                    ("rn", "vpd", "tair", "swc", "lai")}, coords={"time": t})
    d["et"] = 2 * d.swc + 0.1 * d.rn
    full = linear_regression(d.isel(time=slice(0, 200)), "et", d.isel(time=slice(200, None)))
    hyb = linear_regression(d.isel(time=slice(0, 200)), "et", d.isel(time=slice(200, None)),
                            inputs=HYBRID_INPUTS)
    assert "swc" in full.attrs["long_name"] and "swc" not in hyb.attrs["long_name"]
    assert "lai" not in hyb.attrs["long_name"]
    truth = d.et.isel(time=slice(200, None)).values
    assert np.abs(full.values - truth).max() < 1e-8 < np.abs(hyb.values - truth).max()


def test_constraints_add_fapar_from_lai_and_bounds_come_from_soil_water():
    t = pd.date_range("2001-01-01", periods=3)
    d = xr.Dataset({"et": ("time", [1.0, 2, 3]), "nee": ("time", [0.0, 1, 2]),
                    "lai": ("time", [0.0, 1, 4]), "swc": ("time", [0.1, 0.25, 0.4])},
                   coords={"time": t})
    obs = constraints(d)
    np.testing.assert_allclose(obs.fapar, 1 - np.exp(-0.5 * np.array([0.0, 1, 4])))
    assert obs.fapar.attrs["units"] == "1" and set(obs) == {"et", "nee", "fapar"}
    assert capacity_bounds(d) == pytest.approx((150.0, 600.0))
    assert capacity_bounds(d.drop_vars("swc")) is None


def _dry_forcing(n_time: int = 120, n_cell: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    prec = np.where(rng.uniform(size=(n_time, n_cell)) < 0.1, 5.0, 0.0)
    return {"rn": rng.uniform(80, 220, (n_time, n_cell)), "prec": prec,
            "tair": rng.uniform(5, 30, (n_time, n_cell)),
            "vpd": rng.uniform(2, 25, (n_time, n_cell)),
            "co2": np.full((n_time, n_cell), 410.0)}


_forward = eqx.filter_jit(lambda m, f, init: m(f, None, init))


def test_irrigation_closes_the_water_balance_and_off_changes_nothing():
    f = _dry_forcing()
    forcing = Forcing.from_mapping({k: np.asarray(v, np.float32) for k, v in f.items()})
    def model(**kw):  # the same weights (seed) under each configuration
        return init_model(ModelConfig(hidden_size=4, static_hidden=8, **kw), seed=0, forcing=f)

    base, irrigated = model(), model(irrigation=0.6)
    init = base.initial_state(3)
    out, _ = _forward(irrigated, forcing, init)
    ref, _ = _forward(base, forcing, init)
    # irrigation off (the default) is the reference model (tests/test_core_physics_reference.py)
    assert not np.asarray(ref["irrigation"]).any()
    assert not np.allclose(np.asarray(ref["et"]), np.asarray(out["et"]))
    o = {k: np.asarray(v, np.float64) for k, v in out.items()}
    irr = o["irrigation"]
    assert irr.sum() > 10 * 3 and (irr >= 0).all()  # it irrigated, never took water
    storage = o["swe"] + o["sm"] + o["gw"]
    delta = np.diff(np.concatenate([np.zeros((1, 3)), storage]), axis=0)
    residual = delta - (o["snowfall"] + o["rainfall"] + irr - o["et"] - o["q"])
    scale = max(1.0, float(np.abs(storage).max()))
    assert np.abs(residual).max() < 1e-5 * scale
    leak = delta - (o["snowfall"] + o["rainfall"] - o["et"] - o["q"])  # not counting it
    assert np.abs(leak).max() > 1.0
    # the demand rule: after irrigation the soil is at least at the threshold before ET
    sm_prev = np.concatenate([np.zeros((1, 3)), o["sm"][:-1]])
    np.testing.assert_allclose(irr, np.maximum(0.6 * o["sm_max"] - sm_prev, 0), atol=1e-4)


def test_soil_capacity_bounds_hold_for_any_weights():
    f = _dry_forcing(20)
    for seed in range(3):
        m = init_model(ModelConfig(hidden_size=4, static_hidden=8,
                                   sm_max_bounds=(150.0, 600.0)), seed=seed, forcing=f)
        leaves = jax.tree_util.tree_leaves(eqx.filter(m, eqx.is_inexact_array))
        assert leaves  # scale every weight up: the bound must hold at saturation too
        big = jax.tree_util.tree_map(lambda x: x * 50 if eqx.is_inexact_array(x) else x, m)
        for model in (m, big):
            sm_max = float(np.asarray(model.static_parameters(None, 1)["sm_max"])[0])
            assert 150.0 <= sm_max <= 600.0
    with pytest.raises(ValueError, match="sm_max_bounds"):
        ModelConfig(sm_max_bounds=(10.0, 5.0))
    with pytest.raises(ValueError, match="irrigation"):
        ModelConfig(irrigation=1.5)
    cfg = ModelConfig(sm_max_bounds=(1, 2), irrigation=0.5)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.skipif(not DATA.is_dir(), reason=f"no real data at {DATA}")
def test_load_site_joins_periods_and_drops_partial_days():
    site = DATA / "US-Hn1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        daily = load_site([site / "US-Hn1-forcings.csv", site / "US-Hn1-forcings-test.csv"],
                          [site / "US-Hn1-fluxes-nonegle.csv",
                           site / "US-Hn1-fluxes-nonegle-test.csv"])
    assert daily.attrs["period_starts"] == "2016-06-01 2017-07-01"
    assert str(daily.time.values[0])[:10] == "2016-06-01"  # the partial first day dropped
    for name in HYBRID_INPUTS:
        assert np.isfinite(daily[name].values).all(), name
    # no ERA5 product at US-Hn1: the days of fill are interpolated, flagged and counted
    assert daily.attrs["cleaned_with"].startswith("interpolation")
    assert int((daily.rn_source == 3).sum()) == daily.rn.attrs["days_interpolated"] > 0
    with pytest.raises(ValueError, match="one flux file per forcing file"):
        load_site([site / "US-Hn1-forcings.csv"], [])


@pytest.mark.skipif(not DATA.is_dir(), reason=f"no real data at {DATA}")
def test_load_site_finds_the_era5_file_and_fills_from_it():
    site = DATA / "US-Bi1"
    files = ([site / "US-Bi1-forcings-test.csv"], [site / "US-Bi1-fluxes-test.csv"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        daily = load_site(*files)  # finds FLUXNET/AMF_US-Bi1_FLUXNET_ERA5_DD_*.csv
        alone = load_site(*files, era5=None)
    assert "ERA5_DD" in daily.attrs["cleaned_with"]
    era5_days = daily.rn_source == 1
    assert int(era5_days.sum()) == daily.rn.attrs["days_filled_from_era5"] > 0
    assert not (daily.rn_source == 3).any() and not (daily.rn_source == 2).any()
    # without it the same days are interpolated instead, and take other values
    assert alone.attrs["cleaned_with"].startswith("interpolation")
    np.testing.assert_array_equal(alone.rn_source.values[era5_days.values], 3)
    assert not np.allclose(alone.rn.values[era5_days.values], daily.rn.values[era5_days.values])


@pytest.mark.skipif(not DATA.is_dir(), reason=f"no real data at {DATA}")
def test_site_command_names_a_test_start_outside_the_data():
    from xh2cm.cli import main

    site = DATA / "US-Hn1"
    with pytest.raises(ValueError, match="test_start='2030-01-01' is not inside the data"):
        main(["site", "--forcing", str(site / "US-Hn1-forcings.csv"), "--fluxes",
              str(site / "US-Hn1-fluxes-nonegle.csv"), "--test-start", "2030-01-01"])


@pytest.mark.slow  # ~90 s on a shared core: four separate fits compile four times
def test_the_sweep_trains_as_one_batch_equal_to_separate_fits():
    from xh2cm.site import tradeoff
    from xh2cm.training.ensemble import compiles

    ds = _site()
    for name, value, units in (("et", 0.01 * ds.rn + 0.05 * ds.vpd, "mm d-1"),
                               ("nee", 0.5 - 0.01 * ds.rn, "g m-2 d-1")):
        ds[name] = (value.dims, value.values, {"units": units})
    train, test, val = split(ds, "2002-09-01", validation_months=3)
    kw = {"validation_start": val, "weights": (0.0, 0.7), "seeds": (0, 1), "epochs": 3,
          "patience": None, "segment": None, "spinup_cycles": 1, "spinup": 1,
          "model_kwargs": {"hidden_size": 4}}
    before = compiles()["step"]
    hist: dict = {}
    batched = tradeoff(train, test, histories=hist, **kw)
    assert compiles()["step"] - before == 1  # four members (2 weights x 2 seeds): one compile
    alone = tradeoff(train, test, batched=False, **kw)
    assert len(batched) == 4 and set(hist) == {(0.0, 0), (0.0, 1), (0.7, 0), (0.7, 1)}
    cols = ["val_rmse_et", "val_rmse_nee", "rmse_et", "rmse_nee"]
    np.testing.assert_allclose(batched[cols].to_numpy(), alone[cols].to_numpy(), rtol=2e-3)
    # the weights act: w = 0 (NEE only) fits ET worse than w = 0.7
    assert not np.allclose(batched.rmse_et[batched.w_et == 0], batched.rmse_et[batched.w_et > 0])
