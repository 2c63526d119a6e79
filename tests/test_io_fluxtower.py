"""Flux-tower readers on the real files of ../shared/data/fluxtower (issue 11): row counts,
dates, unit conversions against hand-computed values, the files' known defects, bad files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import xh2cm  # noqa: F401
from xh2cm.io import measured_days, read_fluxnet, read_site, site_static, to_daily

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fluxtower"
ERA5_BI1 = "AMF_US-Bi1_FLUXNET_ERA5_DD_1981-2021_3-5.csv"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"no real data at {DATA}")


def _site(site, fluxes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # US-Hn1: PAR and Rsoil are all missing
        return read_site(DATA / site / f"{site}-forcings.csv", DATA / site / fluxes)


@pytest.fixture(scope="module")
def bi1():
    return _site("US-Bi1", "US-Bi1-fluxes.csv")


@pytest.fixture(scope="module")
def hn1():
    return _site("US-Hn1", "US-Hn1-fluxes-nonegle.csv")


def test_rows_and_periods(bi1, hn1):
    assert bi1.sizes == {"site": 1, "time": 35088}
    assert str(bi1.time.values[0])[:19] == "2018-07-01T00:00:00"
    assert str(bi1.time.values[-1])[:19] == "2020-06-30T23:30:00"
    assert hn1.sizes["time"] == 18960 and str(hn1.time.values[-1])[:10] == "2017-06-30"
    assert list(bi1.site.values) == ["US-Bi1"]
    assert bi1.tair.attrs["standard_name"] == "air_temperature"


def test_conversions_against_hand_computed_rows(bi1):
    raw_f = pd.read_csv(DATA / "US-Bi1" / "US-Bi1-forcings.csv", nrows=200)
    raw_x = pd.read_csv(DATA / "US-Bi1" / "US-Bi1-fluxes.csv", nrows=200)
    # LE_MODIS: 10^4 J m-2 d-1 -> W m-2
    assert float(bi1.le_modis[0, 0]) == pytest.approx(565.375 * 1e4 / 86400, rel=1e-9)
    daily = to_daily(bi1)
    # the first full day: half-hours ending 2018-07-01 00:30 .. 2018-07-02 00:00 (rows 1..48)
    f, x = raw_f.iloc[1:49], raw_x.iloc[1:49]
    day = daily.sel(time="2018-07-01").isel(site=0)
    assert float(day.prec) == pytest.approx(x.P_F.sum(), rel=1e-9)
    assert float(day.nee) == pytest.approx(x.NEE_VUT_REF.mean() * 12.011e-6 * 86400, rel=1e-9)
    ta = f.TA_F.mean()
    assert float(day.et) == pytest.approx(
        x.LE_F_MDS.mean() * 86400 / ((2.501 - 0.002361 * ta) * 1e6), rel=1e-9)
    es = 6.112 * np.exp(17.67 * ta / (ta + 243.5))
    assert float(day.vpd) == pytest.approx(es - 10 * f.eair.mean(), rel=1e-9)
    assert daily.prec.attrs["units"] == "mm d-1"
    # the partial first day (1 of 48 half-hours) is dropped and named; the last day (47 of
    # 48, the file ends at 23:30) is kept
    assert str(daily.time.values[0])[:10] == "2018-07-01"
    assert daily.attrs["partial_days_dropped"] == "2018-06-30 (1 of 48 half-hours)"
    assert str(daily.time.values[-1])[:10] == "2020-06-30"
    kept = to_daily(bi1, partial="keep")
    assert kept.sizes["time"] == daily.sizes["time"] + 1
    assert np.isnan(kept.tair.sel(time="2018-06-30")).all()


def test_known_defects_are_corrected_or_detected(bi1, hn1):
    raw = pd.read_csv(DATA / "US-Hn1" / "US-Hn1-forcings.csv", usecols=["LAI"])
    np.testing.assert_allclose(hn1.lai.values[0], raw.LAI.to_numpy() / 10)
    assert 0.1 <= float(hn1.lai.median()) <= 0.5  # sagebrush
    assert "defect" in hn1.lai.attrs["comment"]
    # straight-line fill: the README gives 33-54 % of LE and 27-36 % of FC at US-Hn1
    assert 0.3 < hn1.le_measured.attrs["fill_fraction"] < 0.6
    assert 0.15 < hn1.nee_umol_measured.attrs["fill_fraction"] < 0.4
    assert bi1.le_measured.attrs["fill_fraction"] < 0.05  # US-Bi1: flags were kept
    daily = to_daily(hn1)
    mask = measured_days(daily, "le")
    assert 0 < int(mask.sum()) < daily.sizes["time"]
    # the two LE versions of US-Hn1: -nonegle has no negative LE
    both = _site("US-Hn1", "US-Hn1-fluxes.csv")
    assert float(both.le.min()) < 0 <= float(hn1.le.min())


def test_daily_site_runs_as_it_is_and_closes_the_water_balance(bi1):
    """to_daily's output passes check and runs with no hand edit (issue 19); run accepts
    static= when it names the model's predictors, and refuses a different list."""
    era5 = read_fluxnet(DATA / "US-Bi1" / "FLUXNET" / ERA5_BI1)
    daily = to_daily(bi1, era5=era5)  # its 2 days of NETRAD ramp are replaced from ERA5
    report = daily.h2cm.check(static=[]).to_dict()
    assert set(report["forcing"]) == {"rn", "prec", "tair", "vpd", "co2"}
    model = daily.h2cm.init_model(static=[], hidden_size=8)
    out = daily.h2cm.run(model, spinup=False, static=[]).isel(site=0)
    with pytest.raises(ValueError, match=r"static=\['swc'\] differs from the model's static "
                                         r"predictors \[\]"):
        daily.h2cm.run(model, static=["swc"])
    storage = (out.swe + out.sm + out.gw).values.astype(float)
    flux = (out.snowfall + out.rainfall - out.et - out.q).values.astype(float)
    np.testing.assert_allclose(np.diff(storage), flux[1:], atol=2e-3)
    assert np.isfinite(out.gpp).all() and float(out.et.mean()) > 0


def _write(tmp_path, frame, name="X-forcings.csv", sep=","):
    path = tmp_path / name
    frame.to_csv(path, index=False, sep=sep)
    return path


@pytest.fixture
def small(tmp_path):
    f = pd.read_csv(DATA / "US-Bi1" / "US-Bi1-forcings.csv", nrows=96)
    x = pd.read_csv(DATA / "US-Bi1" / "US-Bi1-fluxes.csv", nrows=96)
    return tmp_path, f, x


def test_bad_files_name_file_and_column(small):
    tmp, f, x = small
    good_x = _write(tmp, x, "X-fluxes.csv")
    with pytest.raises(ValueError, match=r"X-forcings.csv: no 'TIMESTAMP_END'.*separator"):
        read_site(_write(tmp, f, sep=";"), good_x)
    with pytest.raises(ValueError, match=r"X-fluxes.csv.*missing required.*le \(one of "
                                         r"\['LE_F_MDS', 'LE'\]\)"):
        read_site(_write(tmp, f), _write(tmp, x.drop(columns="LE_F_MDS"), "X-fluxes.csv"))
    with pytest.raises(ValueError, match=r"X-forcings.csv: required column 'TA_F'.*no value"):
        read_site(_write(tmp, f.assign(TA_F=-9999)), good_x)
    with pytest.raises(ValueError, match=r"X-forcings.csv: column 'TIMESTAMP_END' is not "
                                         "sorted"):
        read_site(_write(tmp, f.iloc[::-1]), good_x)
    with pytest.raises(ValueError, match=r"'TIMESTAMP_END' has 1 duplicated"):
        read_site(_write(tmp, pd.concat([f, f.iloc[[5]]]).sort_values("TIMESTAMP_END")),
                  good_x)


@pytest.mark.slow
def test_site_fit_with_a_time_validation_block_never_sees_the_test_period(bi1):
    """Daily ET and NEE terms with a weight between them at one real site; the validation
    block is the end of the training period; shuffling the test targets changes nothing."""
    import jax

    from xh2cm.xr.fit import fit_dataset

    daily = to_daily(bi1, era5=read_fluxnet(
        DATA / "US-Bi1" / "FLUXNET" / ERA5_BI1))
    obs = daily[["et", "nee"]]
    kw = dict(static=[], epochs=3, batch_size=1, learning_rate=3e-3, progress=False,
              kinds={"et": "daily", "nee": "daily"}, weights={"et": 0.7, "nee": 0.3},
              priors=False, validation_start="2020-01-01", test_start="2020-04-01",
              model_kwargs={"hidden_size": 8}, segment=None)
    model, history = fit_dataset(daily, obs, **kw)
    val = history["total"].sel(split="validation").values
    assert np.isfinite(val).all() and history.attrs["validation_start"] == "2020-01-01"
    rng = np.random.default_rng(0)
    shuffled = obs.copy(deep=True)
    late = shuffled.time >= np.datetime64("2020-04-01")
    for v in ("et", "nee"):
        values = shuffled[v].values
        idx = np.flatnonzero(late.values)
        values[0, idx] = values[0, rng.permutation(idx)]
    again, history2 = fit_dataset(daily, shuffled, **kw)
    same = jax.tree_util.tree_all(jax.tree_util.tree_map(
        lambda a, b: bool(np.array_equal(a, b)), model, again))
    assert same and int(history.attrs["best_epoch"]) == int(history2.attrs["best_epoch"])
    # validation losses (which would move if test targets leaked into selection) are equal
    np.testing.assert_array_equal(history["total"].values, history2["total"].values)


def test_site_static_predictors_from_the_real_files(bi1, hn1):
    """LAI climatology, vegetation height and soil water statistics per site; US-Hn1's LAI
    after the x 0.1 correction."""
    s_bi1, s_hn1 = site_static(to_daily(bi1)), site_static(to_daily(hn1))
    assert set(s_bi1.data_vars) >= {"lai_mean", "lai_amplitude", "veg_height", "swc_mean"}
    assert _one(s_bi1.lai_mean) == pytest.approx(float(to_daily(bi1).lai.mean()))
    assert 0.1 <= _one(s_hn1.lai_mean) <= 0.6  # sagebrush, corrected
    assert 0 < _one(s_bi1.swc_mean) < 0.6 and s_bi1.swc_mean.attrs["units"] == "m3 m-3"
    assert _one(s_bi1.lai_amplitude) > 0 and s_bi1.veg_height.attrs["units"] == "m"


def _one(da):
    return float(da.values.ravel()[0])
