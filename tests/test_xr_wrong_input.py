"""Wrong input fails loudly (issue 10): mislabelled units, inf, implausible values."""

from __future__ import annotations

import numpy as np
import pytest

from xh2cm.cf.prepare import prepare
from xh2cm.xr.testing import toy_forcing


def _relabel(ds, var, units, factor=1.0, offset=0.0):
    ds = ds.copy()
    ds[var] = ds[var] * factor + offset
    ds[var].attrs["units"] = units
    return ds


@pytest.mark.parametrize(
    ("var", "units", "factor", "offset", "match"),
    [
        ("tas", "degC", 1.0, 0.0, "kelvin labelled degC"),                  # K labelled degC
        ("pr", "mm d-1", 86.4, 0.0, "1000 times too small.*m d-1"),         # m d-1 as mm d-1
        ("vpd", "hPa", 1000.0, 0.0, "Pa labelled hPa"),                     # Pa as hPa
        ("rnet", "W m-2", 86400.0, 0.0, "accumulated energy.*J m-2"),       # J m-2 d-1 as W m-2
        ("co2", "ppm", 1e-6, 0.0, "mol mol-1 labelled ppm"),               # mol mol-1 as ppm
    ],
)
def test_mislabelled_units_are_refused(var, units, factor, offset, match):
    ds = toy_forcing(n_time=60)
    if var == "pr":  # kg m-2 s-1 -> m d-1 values, labelled mm d-1
        ds = _relabel(ds, "pr", units, 86400.0 / 1000.0)
    else:
        ds = _relabel(ds, var, units, factor, offset)
    with pytest.raises(ValueError, match=match) as err:
        prepare(ds)
    assert "check_ranges=False" in str(err.value)
    prepare(ds, check_ranges=False)  # the explicit opt-out


def test_inf_is_refused_with_its_place():
    ds = toy_forcing()
    ds["tas"][3, 1, 2] = np.inf
    with pytest.raises(ValueError, match=r"'tair'.*infinite.*1 value\(s\) in 1 cell.*lat="):
        prepare(ds)


def test_inf_on_dask_names_the_variable():
    ds = toy_forcing().chunk({"lat": 1})
    ds["vpd"] = ds["vpd"].where(ds["vpd"].time != ds.time[4], np.inf)
    with pytest.raises(ValueError, match="'vpd'.*infinite"):
        prepare(ds)


def test_no_cell_to_run_gives_its_cause():
    ds = toy_forcing()
    ds["tas"] = ds["tas"] * np.nan
    with pytest.raises(ValueError, match="no cell to run.*lacks air temperature"):
        prepare(ds)


def _grid_var(ds, values, **attrs):
    import xarray as xr

    return xr.DataArray(values, dims=("lat", "lon"), coords={"lat": ds.lat, "lon": ds.lon},
                        attrs=attrs)


def test_cmip_sftlf_in_percent_is_a_mask_not_a_predictor():
    ds = toy_forcing(static=("clay",))
    pct = np.array([[100.0, 80.0, 40.0, 0.0], [100, 100, 51, 49], [0, 0, 0, 100]])
    ds["sftlf"] = _grid_var(ds, pct, units="%", standard_name="land_area_fraction")
    prep = prepare(ds, static=None)
    assert prep.static_names == ("clay",)           # never a static predictor
    assert prep.n_land == 6 and "%" in prep.mask     # 0.5 applied to the fraction
    prep = prepare(ds, mask="sftlf", static=None)
    assert prep.n_land == 6
    ds["sftlf"].attrs["units"] = "1"
    with pytest.raises(ValueError, match="percent.*'%'"):
        prepare(ds)


def test_era5_lsm_with_a_time_dim_and_flipped_latitude():
    ds = toy_forcing(static=("clay",))
    lsm = _grid_var(ds, np.array([[1.0, 0.7, 0.2, 0.0]] * 3), units="(0 - 1)")
    lsm.attrs["units"] = "1"
    lsm = lsm.isel(lat=slice(None, None, -1)).expand_dims(time=[ds.time.values[0]])
    ds = ds.drop_vars([]).assign(lsm=lsm.isel(time=0, drop=True).expand_dims(valid_time=1))
    prep = prepare(ds, static=None)
    assert prep.n_land == 6 and prep.static_names == ("clay",)


def test_integer_static_variables_are_reported_not_dropped_silently():
    ds = toy_forcing(static=("clay",))
    ds["soil_class"] = _grid_var(ds, np.arange(12).reshape(3, 4))
    with pytest.warns(UserWarning, match=r"\['soil_class'\].*not used as static predictors"):
        prep = prepare(ds, static=None)
    assert "soil_class" not in prep.static_names
    assert prepare(ds, static=["clay", "soil_class"]).static_names == ("clay", "soil_class")


@pytest.mark.parametrize(("sizes", "n_time", "match"), [
    (None, 0, "0 day"), (None, 1, "1 day"), ({"lat": 0, "lon": 4}, 40, "no cells.*'lat'")])
def test_degenerate_data(sizes, n_time, match):
    with pytest.raises(ValueError, match=match):
        prepare(toy_forcing(sizes, n_time=n_time))


def test_nan_in_a_global_co2_series_does_not_talk_about_cells():
    ds = toy_forcing(co2="series")
    ds["co2"][5] = np.nan
    with pytest.raises(ValueError, match=r"1 value\(s\) among its 40 time steps") as err:
        prepare(ds)
    assert "cell" not in str(err.value)


def test_few_sites_get_a_valid_validation_split():
    import xarray as xr

    from xh2cm.xr.fit import fit_dataset

    ds = toy_forcing({"site": 5}, n_time=60, static=())
    obs = xr.Dataset({"gpp": (ds.tas * 0 + 1.0).assign_attrs(units="g m-2 d-1")})
    _, history = fit_dataset(ds, obs, epochs=0, progress=False, static=[])
    roles = history.cell_role.values
    assert (roles == 2).sum() >= 1 and (roles == 1).sum() >= 1
    one = toy_forcing({"site": 1}, n_time=60, static=())
    with pytest.raises(ValueError, match="validation=None"):
        fit_dataset(one, obs.isel(site=[0]), epochs=0, progress=False, static=[])


def test_missing_observation_points_to_obs_names():
    import xarray as xr

    from xh2cm.cf.observations import find_observations

    with pytest.raises(ValueError, match=r"obs_names=\{'gpp'"):
        find_observations(xr.Dataset({"lai": ("x", [1.0])}))


def test_land_cell_skipped_for_missing_forcing_is_counted_in_the_report():
    from xh2cm.xr.report import check_dataset

    ds = toy_forcing()
    ds["tas"][:, 0, 0] = np.nan
    with pytest.warns(UserWarning, match=r"1 land cell\(s\) have no data at all for air temp"):
        report = check_dataset(ds)
    d = report.to_dict()
    assert d["n_land"] == 12 and d["n_valid"] == 11
    assert any("no data at all" in n for n in d["notes"])


def test_precipitation_in_mm_per_hour_labelled_per_day_is_refused():
    """A slip inside the ranges (issue 20): mm h-1 labelled mm d-1 reads 24 times too small;
    a heavy-rain day keeps the peak plausible, the mean annual precipitation is not."""
    ds = toy_forcing(n_time=365)
    hourly = ds["pr"] * 3600.0  # kg m-2 s-1 -> mm h-1
    hourly[100] = 3.0  # 3 mm h-1 for a day
    ds["pr"] = hourly.assign_attrs(units="mm d-1")
    with pytest.raises(ValueError, match=r"mean annual precipitation.*mm h-1 labelled mm d-1"
                       r".*check_ranges=False"):
        prepare(ds)
    prepare(ds, check_ranges=False)
    ds["pr"].attrs["units"] = "mm h-1"  # the suggested fix, as written
    prepare(ds)


def test_vpd_in_kpa_labelled_hpa_in_a_warm_year_is_refused():
    ds = toy_forcing(n_time=365)
    ds["tas"] = (ds["tas"] + 8.0).assign_attrs(units="K")  # mean ~ 18 degC
    ds["vpd"] = ds["vpd"].assign_attrs(units="hPa")  # values in kPa
    with pytest.raises(ValueError, match=r"never exceeds 2.* hPa.*above 10 degC.*kPa labelled "
                       "hPa.*set units 'kPa'"):
        prepare(ds)
    prepare(ds, check_ranges=False)
    ds["vpd"].attrs["units"] = "kPa"
    prepare(ds)
    cold = toy_forcing(n_time=365)
    cold["tas"] = cold["tas"] - 15.0  # a cold place: low VPD is plausible there
    prepare(cold.assign(vpd=cold["vpd"].assign_attrs(units="hPa")))
