"""Input validation: time axis, NaN, signs, dask chunks (xh2cm.cf.validate / prepare)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from xh2cm.cf.prepare import prepare
from xh2cm.cf.validate import fill_time
from xh2cm.xr.testing import toy_forcing


def test_valid_input_prepares():
    prep = prepare(toy_forcing())
    assert prep.time_dim == "time" and prep.spatial_dims == ("lat", "lon")
    assert prep.n_valid == 12
    np.testing.assert_allclose(prep.forcing["vpd"], toy_forcing()["vpd"] * 10)
    assert prep.forcing["tair"].attrs["units"] == "degC"


def test_missing_units():
    ds = toy_forcing()
    del ds["pr"].attrs["units"]
    with pytest.raises(ValueError, match=r"'prec'.*'pr'.*no 'units'.*attrs\['units'\]"):
        prepare(ds)


def test_bad_units():
    ds = toy_forcing()
    ds["vpd"].attrs["units"] = "percent"
    with pytest.raises(ValueError, match="'vpd'.*'percent'.*'kPa'"):
        prepare(ds)


def test_irregular_time_gap():
    ds = toy_forcing().drop_isel(time=[5, 6])
    with pytest.raises(ValueError, match=r"not regular daily.*2001-01-05.*resample"):
        prepare(ds)


def test_monthly_time():
    ds = toy_forcing(n_time=12).assign_coords(
        time=pd.date_range("2001-01-01", periods=12, freq="MS")
    )
    with pytest.raises(ValueError, match="'time' is monthly.*daily"):
        prepare(ds)


def test_subdaily_time():
    ds = toy_forcing(n_time=48).assign_coords(
        time=pd.date_range("2001-01-01", periods=48, freq="6h")
    )
    with pytest.raises(ValueError, match=r"sub-daily.*resample\(time='1D'\)"):
        prepare(ds)


def test_unsorted_time():
    ds = toy_forcing().isel(time=[0, 2, 1, 3])
    with pytest.raises(ValueError, match="not strictly increasing.*sortby"):
        prepare(ds)


def test_numeric_time():
    ds = toy_forcing().assign_coords(time=np.arange(40))
    with pytest.raises(ValueError, match="not datetime.*decode_cf"):
        prepare(ds)


def test_no_time_dim_and_cf_axis():
    ds = toy_forcing().rename(time="date")
    with pytest.raises(ValueError, match="no time dimension"):
        prepare(ds)
    ds["date"].attrs["axis"] = "T"
    assert prepare(ds).time_dim == "date"


def test_nan_in_land_cell_refused():
    ds = toy_forcing()
    ds["tas"][[3, 4], 1, 2] = np.nan
    with pytest.raises(ValueError) as err:
        prepare(ds)
    msg = str(err.value)
    assert "'tair'" in msg and "'tas'" in msg
    assert "2 value(s) in 1 cell(s)" in msg
    assert "time=2001-01-04" in msg and "lat=" in msg and "lon=" in msg
    assert "fill='interpolate'" in msg


def test_nan_in_ocean_cell_is_fine():
    ds = toy_forcing()
    ds["tas"][[3, 4], 1, 2] = np.nan
    ds["land_mask"] = (("lat", "lon"), np.ones((3, 4), bool))
    ds["land_mask"][1, 2] = False
    prep = prepare(ds)
    assert prep.n_valid == 11 and not prep.valid.values[1, 2]


def test_all_nan_cell_is_ocean():
    ds = toy_forcing()
    for v in ("rnet", "pr", "tas", "vpd"):
        ds[v][:, 0, 0] = np.nan
    prep = prepare(ds)
    assert prep.n_valid == 11 and not prep.valid.values[0, 0]


def test_one_forcing_all_nan_skips_cell_with_warning():
    ds = toy_forcing()
    ds["pr"][:, 0, 0] = np.nan
    with pytest.warns(UserWarning, match="1 land cell.*'prec'"):
        prep = prepare(ds)
    assert not prep.valid.values[0, 0]


def test_fill_interpolate_warns_and_fills():
    ds = toy_forcing()
    ds["tas"][[0, 3, 4], 1, 2] = np.nan
    with pytest.warns(UserWarning, match=r"filled 3 NaN value\(s\) of .*'tair'"):
        prep = prepare(ds, fill="interpolate")
    series = prep.forcing["tair"].values[:, 1, 2]
    assert np.isfinite(series).all()
    orig = toy_forcing()["tas"].values[:, 1, 2] - 273.15
    assert series[0] == pytest.approx(orig[1])  # nearest at the start
    assert series[3] == pytest.approx(orig[2] + (orig[5] - orig[2]) / 3)  # linear
    assert prep.info["tair"].filled == 3
    with pytest.raises(ValueError, match="fill='zero'"):
        prepare(ds, fill="zero")


def test_fill_time_lazy():
    da = xr.DataArray([[1.0, np.nan, 3.0], [np.nan] * 3], dims=("x", "time")).chunk(x=1)
    out = fill_time(da, "time")
    assert out.chunks is not None
    np.testing.assert_array_equal(out.values[0], [1, 2, 3])
    assert np.isnan(out.values[1]).all()


def test_negative_precipitation():
    ds = toy_forcing()
    ds["pr"][2, 1, 1] = -1e-6  # -0.0864 mm d-1: beyond the noise tolerance
    with pytest.raises(ValueError, match=r"'prec'.*'pr'.*negative.*clip\(min=0\)"):
        prepare(ds)


@pytest.mark.parametrize("chunked", [False, True])
def test_precipitation_noise_is_set_to_zero_and_said(chunked):
    """ERA5-like noise (-4.5e-5 mm d-1, within PRECIP_NOISE) is set to 0 with a note."""
    from xh2cm.cf.validate import PRECIP_NOISE
    from xh2cm.xr.report import check_dataset

    ds = toy_forcing()
    ds["pr"][2, 1, 1] = -4.5e-5 / 86400.0
    ds["pr"][3, 0, 1] = -0.5 * PRECIP_NOISE / 86400.0
    ds = ds.chunk({"lat": 1}) if chunked else ds
    with pytest.warns(UserWarning, match=r"2 negative value\(s\) above -0.01 mm d-1.*set to 0"):
        prep = prepare(ds)
    assert float(prep.forcing.prec.min()) == 0.0
    with pytest.warns(UserWarning):
        report = check_dataset(ds)
    assert any("set to 0" in n for n in report.to_dict()["notes"])


def test_time_split_in_dask_chunks_is_accepted_and_fill_works_across_chunks():
    """Time chunks are run one after the other (tests/test_xr_scale.py); filling gaps in
    time (fill=) works across them."""
    ds = toy_forcing()
    ds["tas"][12, 0, 0] = np.nan
    ds["tas"] = ds["tas"].chunk(time=10)
    prep = prepare(ds, fill="interpolate")
    assert np.isfinite(prep.forcing.tair.values).all()
    assert prep.forcing.tair.chunks[0] == ds["tas"].chunks[0]


def test_forcing_dims_mismatch():
    ds = toy_forcing()
    ds["vpd"] = ds["vpd"].isel(lon=0)
    with pytest.raises(ValueError, match="'vpd'"):
        prepare(ds)


def test_mask_on_other_grid_refused():
    ds = toy_forcing()
    mask = xr.ones_like(ds["clay"], dtype=bool).assign_coords(lat=[0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="land mask.*not on the forcing grid"):
        prepare(ds, mask=mask)


def test_static_nan_or_inf_refused_or_filled_when_asked():
    # issue 10: a gap in a static predictor is refused, never skipped silently
    ds = toy_forcing()
    ds["clay"][0, 1] = np.nan
    with pytest.raises(ValueError, match=r"static predictor 'clay'.*1 land cell\(s\).*lat="):
        prepare(ds, static=["clay"])
    ds["clay"][0, 2] = np.inf
    with pytest.warns(UserWarning, match=r"'clay'.*2 land cell\(s\).*mean"):
        prep = prepare(ds, static=["clay"], fill="interpolate")
    assert prep.n_valid == 12 and np.isfinite(prep.static[0].values).all()


def test_no_cell_to_run():
    ds = toy_forcing()
    ds["mask"] = xr.zeros_like(ds["clay"])
    with pytest.raises(ValueError, match="no cell to run"):
        prepare(ds)


def test_nan_in_co2_series():
    ds = toy_forcing(co2="series")
    ds["co2"][5] = np.nan
    with pytest.raises(ValueError, match=r"'co2'.*1 value\(s\).*time=2001-01-06"):
        prepare(ds)
    with pytest.warns(UserWarning, match=r"filled 1 NaN value\(s\) of .*'co2'"):
        prep = prepare(ds, fill="interpolate")
    assert float(prep.forcing["co2"][5]) == pytest.approx(380.05)
