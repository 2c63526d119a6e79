"""Finding, converting and aligning observations to the forcing's months (xarray layer)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from xh2cm.cf.observations import find_observations, prepare_observations
from xh2cm.cf.prepare import prepare


@pytest.fixture(scope="module")
def prep(tiny_ds):
    return prepare(tiny_ds, static=())


def _field(prep, time, values, name="gpp", units="g m-2 d-1", **attrs):
    """A (time, lat, lon) DataArray whose value at each time is ``values`` (every cell)."""
    grid = prep.valid
    data = np.broadcast_to(np.asarray(values, float)[:, None, None],
                           (len(time), *grid.shape)).copy()
    return xr.DataArray(data, dims=("time", *grid.dims),
                        coords={"time": time, **{d: grid[d] for d in grid.dims}},
                        name=name, attrs={"units": units, **attrs})


def test_daily_to_monthly_with_min_valid(prep):
    time = pd.date_range("2001-01-01", "2002-12-31", freq="D")
    da = _field(prep, time, time.month + 100 * (time.year - 2001))
    da[(time.month == 3) & (time.year == 2001) & (time.day <= 19)] = np.nan  # 19/31 missing
    da[(time.month == 4) & (time.year == 2001) & (time.day <= 10)] = np.nan  # 10/30 missing
    o = prepare_observations(xr.Dataset({"gpp": da}), prep)
    gpp = o.monthly["gpp"]
    assert gpp.shape == (24, prep.n_cells)
    col = gpp[:, 0]
    assert np.isnan(col[2])  # March 2001: only 12 of 31 days valid < 50 %
    assert col[3] == 4.0  # April 2001: 20 of 30 valid, mean of the valid days
    np.testing.assert_array_equal(col[12:], np.arange(1, 13) + 100)
    assert o.info["gpp"].resolution.startswith("sub-monthly")
    strict = prepare_observations(xr.Dataset({"gpp": da}), prep, min_valid=0.9)
    assert np.isnan(strict.monthly["gpp"][3, 0])


def test_monthly_obs_own_date_range(prep):
    # mid-month stamps, from July 2001 to June 2003 (beyond the forcing's end)
    time = pd.date_range("2001-07-01", periods=24, freq="MS") + pd.Timedelta(days=14)
    da = _field(prep, time, np.arange(24.0), name="fapar", units="%")
    o = prepare_observations(xr.Dataset({"fapar": da}), prep)
    col = o.monthly["fapar"][:, 0]
    assert np.all(np.isnan(col[:6]))
    np.testing.assert_allclose(col[6:], np.arange(18.0) / 100.0)  # % -> 1
    assert o.info["fapar"].resolution == "monthly"


def test_units_standard_names_and_nee_sign(prep):
    time = pd.date_range("2001-01-01", "2002-12-31", freq="D")
    down = ("surface_net_downward_mass_flux_of_carbon_dioxide_expressed_as_carbon_due_to_all_"
            "land_processes")
    obs = xr.Dataset({
        "E": _field(prep, time, np.full(time.size, 1.0 / 86400), units="kg m-2 s-1",
                    standard_name="water_evapotranspiration_flux"),
        "mrro": _field(prep, time, np.full(time.size, 2.0 / 86400), units="kg m-2 s-1"),
        "TWSA": _field(prep, time, np.full(time.size, 3.0), units="cm"),
        "flux": _field(prep, time, np.full(time.size, 1.0), units="umol m-2 s-1",
                       standard_name=down),
    })
    o = prepare_observations(obs, prep, names={"tws": "TWSA"})
    assert set(o.available) == {"et", "q", "tws", "nee"}
    np.testing.assert_allclose(o.monthly["et"], 1.0, rtol=1e-6)
    np.testing.assert_allclose(o.monthly["q"], 2.0, rtol=1e-6)
    np.testing.assert_allclose(o.monthly["tws"], 30.0)
    np.testing.assert_allclose(o.monthly["nee"], -1.03775, rtol=1e-4)  # downward -> NEE
    assert "sign flipped" in o.info["nee"].conversion
    sub = prepare_observations(obs, prep, variables=["et"])
    assert sub.available == ("et",)


def test_eight_daily_and_static_cue(prep):
    time = pd.date_range("2001-01-01", "2002-12-31", freq="8D")
    da = _field(prep, time, np.ones(time.size), name="fpar", units="1")
    cue = xr.full_like(prep.valid, 0.45, dtype=float).rename("cue")
    o = prepare_observations(xr.Dataset({"fpar": da, "cue": cue}), prep)
    assert np.isfinite(o.monthly["fapar"]).all()
    np.testing.assert_allclose(o.cue, 0.45)
    assert o.info["cue"].resolution == "static"


def test_errors(prep):
    grid = prep.valid
    time = pd.date_range("2001-01-01", periods=2, freq="YS")
    with pytest.raises(ValueError, match="daily to monthly"):
        prepare_observations(xr.Dataset({"gpp": _field(prep, time, [1.0, 2.0])}), prep)
    daily = pd.date_range("2001-01-01", periods=60, freq="D")
    nounits = _field(prep, daily, np.ones(60))
    del nounits.attrs["units"]
    with pytest.raises(ValueError, match="no 'units'"):
        prepare_observations(xr.Dataset({"gpp": nounits}), prep)
    with pytest.raises(ValueError, match="not supported"):
        prepare_observations(xr.Dataset({"gpp": _field(prep, daily, np.ones(60), units="K")}),
                             prep)
    moved = _field(prep, daily, np.ones(60)).assign_coords(lon=grid.lon + 7.0)
    with pytest.raises(ValueError, match="coordinates inside the range .* match none"):
        prepare_observations(xr.Dataset({"gpp": moved}), prep)
    with pytest.raises(ValueError, match="spatial dims"):
        prepare_observations(xr.Dataset({"gpp": _field(prep, daily, np.ones(60)).isel(lat=0)}),
                             prep)
    two = xr.Dataset({"gpp": _field(prep, daily, np.ones(60)),
                      "GPP": _field(prep, daily, np.ones(60))})
    with pytest.raises(ValueError, match="ambiguous"):
        find_observations(two)
    with pytest.raises(ValueError, match="no observation found"):
        find_observations(xr.Dataset({"lai": _field(prep, daily, np.ones(60))}))
    with pytest.raises(ValueError, match="unknown"):
        find_observations(two, variables=["lai"])
    cue_t = _field(prep, daily, np.ones(60), name="cue", units="1")
    with pytest.raises(ValueError, match="static"):
        prepare_observations(xr.Dataset({"cue": cue_t}), prep)


def test_daily_series_for_daily_terms(prep):
    time = pd.date_range("2001-01-01", "2002-12-31", freq="D")
    vals = np.arange(time.size, dtype=float)
    da = _field(prep, time, vals, name="mrro", units="mm d-1")
    da[5] = np.nan
    o = prepare_observations(xr.Dataset({"mrro": da}), prep, daily=["q"])
    assert o.daily["q"].shape == (time.size, prep.n_cells)
    col = o.daily["q"][:, 0]
    assert np.isnan(col[5])
    np.testing.assert_array_equal(np.delete(col, 5), np.delete(vals, 5))
    assert "q" in o.monthly  # still available as monthly means
    # half-hourly data are averaged per day; days under min_valid coverage are NaN
    hh = pd.date_range("2001-03-01", "2001-03-03 23:30", freq="30min")
    v = np.where(hh.day == 2, 1.0, 3.0)
    da2 = _field(prep, hh, v, name="q", units="mm d-1")
    da2[(hh.day == 3) & (hh.hour < 14)] = np.nan  # 28 of 48 half-hours missing
    d = prepare_observations(xr.Dataset({"q": da2}), prep, daily=["q"]).daily["q"][:, 0]
    start = int(np.flatnonzero(time == "2001-03-01")[0])
    np.testing.assert_allclose(d[start:start + 2], [3.0, 1.0])
    assert np.isnan(d[start + 2]) and np.all(np.isnan(d[:start]))


def test_daily_terms_refuse_monthly_observations(prep):
    time = pd.date_range("2001-01-01", periods=24, freq="MS")
    da = _field(prep, time, np.ones(24), name="q", units="mm d-1")
    with pytest.raises(ValueError, match="compares it daily"):
        prepare_observations(xr.Dataset({"q": da}), prep, daily=["q"])
    with pytest.raises(ValueError, match="only .* can be daily"):
        prepare_observations(xr.Dataset({"q": da}), prep, daily=["cue"])
