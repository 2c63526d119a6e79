"""Site-mode baselines recover planted answers and score on a real train/test split."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from xh2cm.site import climatology, linear_regression, process_model, score_table

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fluxtower"


def _daily(values: dict[str, np.ndarray], start: str) -> xr.Dataset:
    n = len(next(iter(values.values())))
    time = pd.date_range(start, periods=n, freq="D")
    return xr.Dataset({k: ("time", v) for k, v in values.items()}, coords={"time": time})


def test_climatology_predicts_a_pure_seasonal_cycle():
    t = pd.date_range("2001-01-01", periods=730, freq="D")
    y = xr.DataArray(3 + np.sin(2 * np.pi * t.day_of_year / 365), dims="time",
                     coords={"time": t}, name="et")
    test_t = xr.DataArray(pd.date_range("2003-01-01", periods=365, freq="D"), dims="time")
    pred = climatology(y, test_t)
    truth = 3 + np.sin(2 * np.pi * test_t.dt.dayofyear.values / 365)
    np.testing.assert_allclose(pred, truth, atol=0.01)


def test_linear_regression_recovers_a_planted_linear_target():
    rng = np.random.default_rng(0)
    n = 400
    w = {"rn": rng.uniform(0, 200, n), "vpd": rng.uniform(1, 20, n),
         "tair": rng.normal(15, 5, n)}
    w["et"] = 0.01 * w["rn"] + 0.002 * w["rn"] * w["vpd"] - 0.05 * w["tair"] + 1
    ds = _daily(w, "2001-01-01")
    pred = linear_regression(ds.isel(time=slice(0, 300)), "et", ds.isel(time=slice(300, None)))
    np.testing.assert_allclose(pred, ds.et.isel(time=slice(300, None)), rtol=1e-8)
    table = score_table({"linear": pred}, ds.et.isel(time=slice(300, None)))
    assert table.nse.iloc[0] == pytest.approx(1.0) and table.n.iloc[0] == 100


def test_score_table_kge_is_nan_for_a_near_zero_mean_as_in_evaluate():
    rng = np.random.default_rng(3)
    t = pd.date_range("2001-01-01", periods=365, freq="D")
    nee = xr.DataArray(rng.normal(0.0, 1.0, t.size), dims="time", coords={"time": t})
    assert abs(float(nee.mean())) < 0.5 * float(nee.std())  # NEE about 0 on average
    sim = 1.2 * nee + 0.2 * rng.normal(0.0, 1.0, t.size)
    table = score_table({"hybrid": sim}, nee)
    assert np.isnan(table.kge.iloc[0]) and np.isfinite(table[["nse", "r", "rmse"]].to_numpy()).all()
    assert "|mean(obs)| < 0.5 std(obs)" in table.attrs["kge"]
    pos = score_table({"hybrid": sim + 5.0}, nee + 5.0)  # a positive flux keeps its KGE
    assert 0 < pos.kge.iloc[0] < 1


@pytest.mark.skipif(not DATA.is_dir(), reason=f"no real data at {DATA}")
def test_baselines_on_the_real_us_bi1_split():
    from xh2cm.io import measured_days, read_fluxnet, read_site, to_daily

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        era5 = read_fluxnet(DATA / "US-Bi1/FLUXNET/AMF_US-Bi1_FLUXNET_ERA5_DD_1981-2021_3-5.csv")
        train = to_daily(read_site(DATA / "US-Bi1/US-Bi1-forcings.csv",
                                   DATA / "US-Bi1/US-Bi1-fluxes.csv"), era5=era5)
        test = to_daily(read_site(DATA / "US-Bi1/US-Bi1-forcings-test.csv",
                                  DATA / "US-Bi1/US-Bi1-fluxes-test.csv"), era5=era5)
    assert str(test.time.values[0])[:10] == "2020-07-01"  # the test period follows training
    process = process_model(train, test)
    assert float(process.cue.std()) == 0 and float(process.wue.std()) == 0  # no networks
    preds = {"climatology": climatology(train.et, test.time),
             "linear regression": linear_regression(train, "et", test),
             "process model": process.et}
    table = score_table(preds, test.et, measured_days(test, "le"))
    lin = table[(table.model == "linear regression") & (table.days == "all days")].iloc[0]
    clim = table[(table.model == "climatology") & (table.days == "all days")].iloc[0]
    # irrigated alfalfa: ET follows the day's radiation far better than the calendar
    assert lin.nse > 0.5 and lin.nse > clim.nse
    assert set(table.days) == {"all days", "measured days"}
    assert len(table) == 6 and np.isfinite(table.nse).all()


def test_plain_lstm_learns_a_process_with_memory():
    from xh2cm.site import lstm

    rng = np.random.default_rng(1)
    n = 500
    x = rng.normal(size=n)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = 0.6 * y[t - 1] + x[t]  # a storage: memory the regression cannot see
    ds = _daily({"rn": x, "et": y}, "2001-01-01")
    train, test = ds.isel(time=slice(0, 400)), ds.isel(time=slice(400, None))
    pred = lstm(train, test, targets=("et",), validation_start="2002-01-01", hidden=8,
                epochs=300)
    table = score_table({"lstm": pred.et, "linear": linear_regression(train, "et", test)},
                        test.et)
    nse = dict(zip(table.model, table.nse, strict=True))
    assert nse["lstm"] > 0.9 and nse["lstm"] > nse["linear"]


def test_pareto_marks_the_non_dominated_weights():
    from xh2cm.site import pareto

    table = pd.DataFrame({"w_et": [0, 0, 0.5, 0.5, 1, 1], "seed": [0, 1] * 3,
                          "rmse_et": [2.0, 2.2, 1.5, 1.5, 1.0, 1.2],
                          "rmse_nee": [1.0, 1.0, 1.6, 1.4, 2.0, 2.2]})
    stats = pareto(table)
    assert stats.pareto.tolist() == [True, True, True]
    table.loc[2:3, "rmse_nee"] = 2.5  # now w=0.5 is beaten on both by w=1
    table.loc[2:3, "rmse_et"] = 1.3
    assert pareto(table).pareto.tolist() == [True, False, True]
    assert pareto(table).rmse_et_sd.iloc[0] == pytest.approx(np.std([2.0, 2.2], ddof=1))


@pytest.mark.slow
@pytest.mark.skipif(not DATA.is_dir(), reason=f"no real data at {DATA}")
def test_tradeoff_sweep_at_a_real_site_cut_down():
    import holoviews as hv

    from xh2cm.io import read_site, to_daily
    from xh2cm.site import pareto, plot_tradeoff, select, tradeoff

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train = to_daily(read_site(DATA / "US-Hn1/US-Hn1-forcings.csv",
                                   DATA / "US-Hn1/US-Hn1-fluxes-nonegle.csv"),
                         fallback="interpolate")  # no ERA5 product at US-Hn1
        test = to_daily(read_site(DATA / "US-Hn1/US-Hn1-forcings-test.csv",
                                  DATA / "US-Hn1/US-Hn1-fluxes-nonegle-test.csv"),
                        fallback="interpolate")
    kw = dict(validation_start="2017-01-01", weights=(0.0, 1.0), seeds=(0, 1), epochs=2,
              segment=None, model_kwargs={"hidden_size": 4})
    kept: dict = {}
    table = tradeoff(train, test, predictions=kept, **kw)
    assert len(table) == 4 and np.isfinite(table[["rmse_et", "rmse_nee"]]).all().all()
    assert np.isfinite(table[["val_rmse_et", "val_rmse_nee"]]).all().all()
    assert set(kept) == {(0.0, 0), (0.0, 1), (1.0, 0), (1.0, 1)}
    err = kept[(1.0, 1)].et.values.ravel() - test.et.values.ravel()
    assert np.sqrt(np.nanmean(err ** 2)) == pytest.approx(table.rmse_et.iloc[3], rel=1e-6)
    stats = pareto(table)
    assert stats.pareto.any()
    hv.render(plot_tradeoff(stats), backend="bokeh")
    # the weight is chosen without the test period: shuffled test targets change nothing
    shuffled = test.copy(deep=True)
    rng = np.random.default_rng(0)
    for v in ("et", "nee"):
        shuffled[v].values[0] = rng.permutation(shuffled[v].values[0])
    again = tradeoff(train, shuffled, **kw)
    cols = ["best_epoch", "val_rmse_et", "val_rmse_nee"]
    pd.testing.assert_frame_equal(table[cols], again[cols])
    assert select(table, train) == select(again, train)
    assert not np.allclose(table.rmse_et, again.rmse_et)  # the test scores did move
