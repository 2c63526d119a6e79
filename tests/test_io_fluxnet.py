"""FLUXNET (ONEFlux) reader on the real US-Bi1 files of ../shared/data/fluxtower: row
counts, dates, units against hand-computed rows, QC masks, a cross-check against the
half-hourly files, the HH path through to_daily with QC filtering, and bad files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xh2cm.io import measured_days, read_fluxnet, read_site, to_daily

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fluxtower" / "US-Bi1"
FN = DATA / "FLUXNET"
ERA5 = FN / "AMF_US-Bi1_FLUXNET_ERA5_DD_1981-2021_3-5.csv"
real = pytest.mark.skipif(not FN.is_dir(), reason=f"no real FLUXNET data at {FN}")


def _path(res):
    return FN / f"AMF_US-Bi1_FLUXNET_FULLSET_{res}_2016-2021_3-5.csv"


@real
def test_rows_dates_and_bounds_at_each_resolution():
    era = read_fluxnet(ERA5)
    assert era.sizes["time"] == 14975 and era.sizes["site"] == 1
    assert str(era.time.values[0])[:10] == "1981-01-01"
    assert str(era.time.values[-1])[:10] == "2021-12-31"
    assert list(era.site.values) == ["US-Bi1"]
    expected = {"WW": (312, "2016-01-01", "2021-12-24"), "MM": (72, "2016-01-01", "2021-12-01"),
                "YY": (6, "2016-01-01", "2021-01-01")}
    for res, (n, first, last) in expected.items():
        ds = read_fluxnet(_path(res))
        assert ds.sizes["time"] == n, res
        assert str(ds.time.values[0])[:10] == first and str(ds.time.values[-1])[:10] == last
        assert ds.attrs["resolution"] == res and ds.time.attrs["bounds"] == "time_bounds"
    mm = read_fluxnet(_path("MM"))
    assert str(mm.time_bounds.values[0, 1])[:10] == "2016-02-01"
    ww = read_fluxnet(_path("WW"))  # weeks: end is the last day, inclusive
    days = ((ww.time_bounds[:, 1] - ww.time_bounds[:, 0]) / np.timedelta64(1, "D")).values
    assert set(days[:-1].tolist()) <= {7.0, 8.0, 9.0}  # ONEFlux: the last week of a year
    assert (days[ww.time.dt.dayofyear.values < 350] == 7).all()  # absorbs the rest
    assert str(ww.time_bounds.values[-1, 1])[:10] == "2022-01-01"


@real
def test_units_and_values_against_hand_computed_rows():
    raw = pd.read_csv(ERA5, nrows=3)
    era = read_fluxnet(ERA5).isel(site=0)
    assert float(era.tair[0]) == raw.TA_ERA[0] == 4.465
    assert float(era.vpd[2]) == raw.VPD_ERA[2] and era.vpd.attrs["units"] == "hPa"
    assert float(era.prec[2]) == 0.366 and era.prec.attrs["units"] == "mm d-1"
    assert era.tair.attrs["standard_name"] == "air_temperature"
    raw = pd.read_csv(_path("MM"), na_values=[-9999])
    mm = read_fluxnet(_path("MM")).isel(site=0)
    row = raw.iloc[30]
    assert float(mm.nee[30]) == row.NEE_VUT_REF and mm.nee.attrs["units"] == "g m-2 d-1"
    lam = 2.501 - 0.002361 * row.TA_F
    assert float(mm.et[30]) == pytest.approx(row.LE_F_MDS * 86400 / (lam * 1e6), rel=1e-12)
    assert float(mm.swc[30]) == pytest.approx(row.SWC_F_MDS_1 / 100, rel=1e-12)
    yy = read_fluxnet(_path("YY")).isel(site=0)
    assert yy.nee.attrs["units"] == "g m-2 y-1" and yy.prec.attrs["units"] == "mm y-1"
    assert "TA_F_MDS" in mm.attrs["columns_not_read"].split()  # listed, not dropped silently


@real
def test_qc_columns_kept_as_quality_masks():
    raw = pd.read_csv(_path("MM"), na_values=[-9999])
    mm = read_fluxnet(_path("MM"), min_quality=0.8).isel(site=0)
    np.testing.assert_array_equal(mm.le_qc.values, raw.LE_F_MDS_QC.values)
    expected = (raw.LE_F_MDS_QC >= 0.8) & raw.LE_F_MDS.notna()
    np.testing.assert_array_equal(mm.le_measured.values, expected.values)
    assert 0 < int(mm.le_measured.sum()) < mm.sizes["time"]  # 2016 is ERA-filled: QC 0
    np.testing.assert_array_equal(measured_days(mm, "le", 0.8).values, mm.le_measured.values)


@real
def test_monthly_fluxnet_agrees_with_the_half_hourly_files():
    """The JAX-CanVeg half-hourly files were cut from this product: their monthly means of
    LE, air temperature, ET and rain equal FULLSET MM to rounding. NEE differs by up to
    ~5 %: those files fill NEE gaps with straight lines, ONEFlux with MDS."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hh = read_site(DATA / "US-Bi1-forcings.csv", DATA / "US-Bi1-fluxes.csv")
    monthly = to_daily(hh).isel(site=0).resample(time="MS").mean()
    mm = read_fluxnet(_path("MM")).isel(site=0).sel(time=monthly.time)
    for name, tol in (("le", 0.2), ("tair", 0.01), ("et", 0.01), ("prec", 0.001)):
        np.testing.assert_allclose(monthly[name], mm[name], atol=tol, err_msg=name)
    diff = np.abs(monthly.nee - mm.nee).values
    assert 0.01 < diff.max() < 0.2


def _hh(tmp_path, rows=96, name="AMF_US-Xyz_FLUXNET_FULLSET_HH_2020-2020_1-1.csv"):
    t = pd.date_range("2020-01-01", periods=rows + 1, freq="30min")
    rng = np.random.default_rng(0)
    qc = np.zeros(rows)
    qc[10:20] = 3  # poor gap fill: dropped by to_daily's default max_qc=2
    qc[20:30] = 1
    frame = pd.DataFrame({
        "TIMESTAMP_START": t[:-1].strftime("%Y%m%d%H%M"),
        "TIMESTAMP_END": t[1:].strftime("%Y%m%d%H%M"),
        "TA_F": 10.0 + rng.normal(size=rows), "TA_F_QC": 0,
        "P_F": 0.1, "LE_F_MDS": np.where(qc == 3, 1000.0, 50.0), "LE_F_MDS_QC": qc,
        "NEE_VUT_REF": 2.0, "NEE_VUT_REF_QC": 0})
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path, frame


def test_half_hourly_file_through_to_daily_with_qc_filtering(tmp_path):
    path, frame = _hh(tmp_path)
    hh = read_fluxnet(path)
    assert hh.sizes["time"] == 96 and str(hh.time.values[0])[:16] == "2020-01-01T00:30"
    assert hh.nee_umol.attrs["units"] == "umol m-2 s-1" and hh.prec.attrs["units"] == "mm"
    assert hh.le_qc.attrs["flag_values"] == [0, 1, 2, 3]
    day = to_daily(hh).isel(site=0).sel(time="2020-01-01")
    assert float(day.le) == 50.0  # the ten QC-3 half-hours (1000 W m-2) are dropped
    assert float(day.le_qc) == pytest.approx(38 / 48)  # QC 0 or 1, as ONEFlux's DD QC
    assert float(day.le_measured_fraction) == pytest.approx(28 / 48)
    assert float(day.prec) == pytest.approx(4.8)
    assert float(day.nee) == pytest.approx(2.0 * 12.011e-6 * 86400)
    kept = to_daily(hh, max_qc=None).isel(site=0).sel(time="2020-01-01")
    assert float(kept.le) == pytest.approx((38 * 50 + 10 * 1000) / 48)


def test_bad_files_name_file_and_column(tmp_path):
    path, frame = _hh(tmp_path)
    bad = tmp_path / "AMF_US-Xyz_FLUXNET_FULLSET_HH_2020-2020_1-2.csv"
    frame.to_csv(bad, index=False, sep=";")
    with pytest.raises(ValueError, match=r"1-2.csv: no 'TIMESTAMP'.*separator"):
        read_fluxnet(bad)
    frame.iloc[::-1].to_csv(bad, index=False)
    with pytest.raises(ValueError, match=r"1-2.csv: column 'TIMESTAMP_END' is not sorted"):
        read_fluxnet(bad)
    pd.concat([frame, frame.iloc[[3]]]).sort_values("TIMESTAMP_END").to_csv(bad, index=False)
    with pytest.raises(ValueError, match=r"'TIMESTAMP_END' has 1 duplicated"):
        read_fluxnet(bad)
    frame.assign(TA_F=-9999).to_csv(bad, index=False)
    with pytest.raises(ValueError, match=r"1-2.csv: required column 'TA_F'.*no value"):
        read_fluxnet(bad)
    frame.drop(columns=["TA_F", "TA_F_QC"]).to_csv(bad, index=False)
    with pytest.raises(ValueError, match=r"1-2.csv: missing required.*\['TA_F', 'TA_ERA'\]"):
        read_fluxnet(bad)
    frame.assign(TIMESTAMP_END="2020-01-01").to_csv(bad, index=False)
    with pytest.raises(ValueError, match=r"column 'TIMESTAMP_END' is not a HH time stamp"):
        read_fluxnet(bad)
    other = tmp_path / "tower.csv"
    frame.to_csv(other, index=False)
    with pytest.raises(ValueError, match=r"tower.csv: not a standard FLUXNET file name.*"
                                         "site= and resolution="):
        read_fluxnet(other)
    assert read_fluxnet(other, site="US-Xyz", resolution="HH").sizes["time"] == 96
