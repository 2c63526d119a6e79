"""Real-world conventions run without hand work (issue 10): ERA5-, CMIP6- and FLUXNET-shaped
datasets (real names, units, attributes, calendars) go through check() and run with nothing
but the CO2 source named, and give the results of the same data in the model's units."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import xh2cm  # noqa: F401
from xh2cm.datasets import synthetic_forcing, truth_model
from xh2cm.humidity import saturation_vapour_pressure

CO2 = 410.0


@pytest.fixture(scope="module")
def base():
    ds = synthetic_forcing(n_lat=4, n_lon=6, years=1, seed=3)
    ds["co2"] = xr.full_like(ds.co2, CO2)
    model = truth_model(ds, hidden_size=8)
    return ds, model, ds.h2cm.run(model)


def _as(da, **attrs):
    """``da`` with exactly these attributes (nothing inherited from the model-unit data)."""
    da = da.copy()
    da.attrs = attrs
    return da


def _dewpoint_c(tair, vpd):
    e = saturation_vapour_pressure(tair) - vpd
    x = np.log(e / 6.112)
    return 243.5 * x / (17.67 - x)


def era5_like(ds):
    """ERA5 daily statistics as the CDS writes them: K, m, J m**-2, valid_time, lat N->S."""
    t = ds.tair + 273.15
    out = xr.Dataset(
        {
            "t2m": t.pipe(_as, units="K", long_name="2 metre temperature"),
            "d2m": (_dewpoint_c(ds.tair, ds.vpd) + 273.15).pipe(_as,
                units="K", long_name="2 metre dewpoint temperature"),
            "tp": (ds.prec / 1000.0).pipe(_as, units="m", long_name="Total precipitation",
                                                  cell_methods="time: sum"),
            "ssr": ((ds.rn + 60.0) * 86400.0).pipe(_as,
                units="J m**-2", long_name="Surface net short-wave (solar) radiation",
                cell_methods="time: sum"),
            "str": (xr.full_like(ds.rn, -60.0 * 86400.0)).pipe(_as,
                units="J m**-2", long_name="Surface net long-wave (thermal) radiation",
                cell_methods="time: sum"),
        })
    for name in xh2cm.datasets.static_names(ds):
        out[name] = ds[name]
    out = out.rename(time="valid_time", lat="latitude", lon="longitude")
    out["valid_time"].attrs = {"standard_name": "time", "long_name": "time"}
    # the land-sea mask comes from its own file: one time step of its own
    lsm = ds.land_mask.astype(float).rename(lat="latitude", lon="longitude")
    out["lsm"] = lsm.expand_dims(lsm_time=1).pipe(_as, units="(0 - 1)",
                                                          long_name="Land-sea mask")
    return out.isel(latitude=slice(None, None, -1))


def cmip6_like(ds):
    """CMIP6 day-table variables: tas K, pr kg m-2 s-1, hurs %, rsds/rsus/rlds/rlus, sftlf %."""
    es = saturation_vapour_pressure(ds.tair)
    out = xr.Dataset(
        {
            "tas": (ds.tair + 273.15).pipe(_as, units="K", standard_name="air_temperature"),
            "pr": (ds.prec / 86400.0).pipe(_as, units="kg m-2 s-1",
                                                   standard_name="precipitation_flux"),
            "hurs": (100.0 * (1 - ds.vpd / es)).pipe(_as, units="%",
                                                             standard_name="relative_humidity"),
            "rsds": (ds.rn + 250.0).pipe(_as,
                units="W m-2", standard_name="surface_downwelling_shortwave_flux_in_air"),
            "rsus": xr.full_like(ds.rn, 40.0).pipe(_as,
                units="W m-2", standard_name="surface_upwelling_shortwave_flux_in_air"),
            "rlds": xr.full_like(ds.rn, 300.0).pipe(_as,
                units="W m-2", standard_name="surface_downwelling_longwave_flux_in_air"),
            "rlus": xr.full_like(ds.rn, 510.0).pipe(_as,
                units="W m-2", standard_name="surface_upwelling_longwave_flux_in_air"),
            "sftlf": (100.0 * ds.land_mask).pipe(_as, units="%",
                                                         standard_name="land_area_fraction"),
        })
    for name in xh2cm.datasets.static_names(ds):
        out[name] = ds[name]
    return out


def fluxnet_like(ds):
    """FLUXNET-style names and units at sites: TA_F degC, P_F mm, VPD_F hPa, NETRAD W m-2,
    CO2_F_MDS umolCO2 mol-1."""
    land = ds.land_mask.stack(site=("lat", "lon"))
    sub = ds.stack(site=("lat", "lon")).isel(site=np.flatnonzero(land.values))
    sub = sub.drop_vars(["site", "lat", "lon"]).assign_coords(site=np.arange(sub.sizes["site"]))
    out = xr.Dataset({
        "TA_F": sub.tair.pipe(_as, units="degC"),
        "P_F": sub.prec.pipe(_as, units="mm", cell_methods="time: sum"),
        "VPD_F": sub.vpd.pipe(_as, units="hPa"),
        "NETRAD": sub.rn.pipe(_as, units="W m-2"),
        "CO2_F_MDS": xr.full_like(sub.tair, CO2).pipe(_as, units="umolCO2 mol-1"),
    })
    for name in xh2cm.datasets.static_names(ds):
        out[name] = sub[name]
    return out, sub


def _compare(run, ref, rtol=2e-4):
    for v in ("gpp", "et", "q", "tws", "nee"):
        a, b = run[v].values, ref[v].values
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-4 * float(np.nanmax(np.abs(b))),
                                   err_msg=v)


def test_era5_like_runs_with_only_co2_named(base):
    ds, model, ref = base
    era = era5_like(ds)
    report = era.h2cm.check(co2=CO2)
    text = repr(report)
    assert "derived" in text and "d2m" in text and "ssr" in text
    run = era.h2cm.run(model, co2=CO2)
    run = run.rename(valid_time="time", latitude="lat", longitude="lon").sortby("lat")
    _compare(run, ref)


def test_cmip6_like_runs_with_only_co2_named(base):
    ds, model, ref = base
    cm = cmip6_like(ds)
    prep = xh2cm.xr.prepare(cm, static=None, co2=CO2)
    assert "sftlf" not in prep.static_names and prep.n_land == int(ds.land_mask.sum())
    _compare(cm.h2cm.run(model, co2=CO2), ref)


def test_fluxnet_like_sites(base):
    ds, model, ref = base
    fx, sub = fluxnet_like(ds)
    run = fx.h2cm.run(model)
    ref_sites = ref.stack(site=("lat", "lon")).isel(
        site=np.flatnonzero(ds.land_mask.stack(site=("lat", "lon")).values))
    for v in ("gpp", "et"):
        np.testing.assert_allclose(run[v].values, ref_sites[v].values, rtol=2e-4, atol=1e-5)


def test_si_and_model_units_identical(base):
    ds, model, ref = base
    si = ds.copy()
    si["tair"] = (ds.tair + 273.15).pipe(_as, units="K")
    si["prec"] = (ds.prec / 86400.0).pipe(_as, units="kg m-2 s-1")
    si["vpd"] = (ds.vpd * 100.0).pipe(_as, units="Pa")
    si["co2"] = (ds.co2 * 1e-6).pipe(_as, units="mol mol-1")
    _compare(si.h2cm.run(model), ref, rtol=1e-5)


def test_co2_argument_number_and_annual_series(base):
    ds, model, ref = base
    nodata = ds.drop_vars("co2")
    with pytest.raises(ValueError, match="co2"):
        nodata.h2cm.check()
    _compare(nodata.h2cm.run(model, co2=CO2), ref, rtol=1e-6)
    annual = xr.DataArray([CO2, CO2], dims="time",
                          coords={"time": np.array(["2001-01-01", "2002-01-01"],
                                                   dtype="datetime64[ns]")},
                          attrs={"units": "ppm"})
    _compare(nodata.h2cm.run(model, co2=annual), ref, rtol=1e-6)
