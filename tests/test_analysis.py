"""Analysis methods recover planted answers; NumPy and dask agree; bad input is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xh2cm  # noqa: F401  (registers ds.h2cm)
from xh2cm.analysis import (
    cell_area,
    evaluate,
    lue,
    pue,
    rain_pulse,
    regional,
    water_carbon_coupling,
    wue,
)
from xh2cm.analysis.regions import EARTH_RADIUS

UNITS = {"gpp": "g m-2 d-1", "rh": "g m-2 d-1", "ter": "g m-2 d-1", "nee": "g m-2 d-1",
         "prec": "mm d-1", "et": "mm d-1", "tr": "mm d-1", "vpd": "hPa", "sw": "W m-2",
         "rsds": "W m-2", "fapar": "1", "sm": "mm", "tws": "mm", "rn": "W m-2"}


def grid_ds(fields: dict[str, np.ndarray], start: str = "2001-01-01", freq: str = "D",
            lat: np.ndarray | None = None, lon: np.ndarray | None = None) -> xr.Dataset:
    """A Dataset of ``(time, lat, lon)`` fields with xh2cm units."""
    nt, ny, nx = next(iter(fields.values())).shape
    lat = np.linspace(-40, 40, ny) if lat is None else lat
    lon = np.linspace(-100, 100, nx) if lon is None else lon
    time = pd.date_range(start, periods=nt, freq=freq)
    return xr.Dataset({k: (("time", "lat", "lon"), v, {"units": UNITS[k]})
                       for k, v in fields.items()},
                      coords={"time": time, "lat": lat, "lon": lon})


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(42)


def _daily(rng, years=2, ny=3, nx=4):
    nt = pd.date_range("2001-01-01", f"{2000 + years}-12-31", freq="D").size
    return nt, rng.gamma(0.8, 3.0, (nt, ny, nx))


# ------------------------------------------------------------------------ efficiencies
def test_pue_of_gpp_proportional_to_precipitation_is_k(rng):
    nt, prec = _daily(rng)
    k = np.linspace(0.3, 1.4, 12).reshape(3, 4)
    ds = grid_ds({"prec": prec, "gpp": k * prec})
    out = pue(ds)
    np.testing.assert_allclose(out.pue_climatology, k, rtol=1e-10)
    np.testing.assert_allclose(out.pue, np.broadcast_to(k, (2, 3, 4)), rtol=1e-10)
    assert out.pue.attrs["units"] == "g m-2 mm-1" and "sum" in out.pue.attrs["cell_methods"]
    # monthly means give the same annual totals
    monthly = ds.resample(time="MS").mean()
    for v in monthly.data_vars:
        monthly[v].attrs = ds[v].attrs
    np.testing.assert_allclose(pue(monthly).pue_climatology, k, rtol=1e-10)


def test_pue_masks_dry_cells_and_reads_forcing_and_units(rng):
    nt, prec = _daily(rng)
    prec[:, 0, 0] = 0.01  # ~7 mm a year: a desert
    forcing = grid_ds({"prec": prec / 86400.0})
    forcing["prec"].attrs["units"] = "kg m-2 s-1"
    out_ds = grid_ds({"gpp": 0.5 * prec})
    res = pue(out_ds, forcing=forcing)
    assert np.isnan(res.pue_climatology[0, 0])
    np.testing.assert_allclose(res.pue_climatology.values.ravel()[1:], 0.5, rtol=1e-6)
    with pytest.raises(KeyError, match="precipitation 'prec'.*forcing="):
        pue(out_ds)


def test_lue_from_shortwave_and_refusal_without_it(rng):
    nt, _ = _daily(rng)
    sw = rng.uniform(50, 300, (nt, 3, 4))
    fapar = rng.uniform(0.2, 0.9, (nt, 3, 4))
    eps = 1.7  # gC MJ-1
    gpp = eps * fapar * 0.48 * sw * 0.0864
    ds = grid_ds({"gpp": gpp, "fapar": fapar, "rsds": sw})
    np.testing.assert_allclose(lue(ds).lue_climatology, eps, rtol=1e-10)
    par = 0.48 * ds.rsds
    np.testing.assert_allclose(lue(ds.drop_vars("rsds"), par=par).lue_climatology, eps,
                               rtol=1e-10)
    with pytest.raises(KeyError, match="shortwave.*par=.*never derived from net radiation"):
        lue(ds.drop_vars("rsds").assign(rn=ds.rsds))


def test_wue_kinds(rng):
    nt, _ = _daily(rng)
    et = rng.uniform(0.5, 3, (nt, 3, 4))
    tr = 0.6 * et
    vpd = rng.uniform(2, 20, (nt, 3, 4))
    gpp = 2.5 * et
    ds = grid_ds({"gpp": gpp, "et": et, "tr": tr, "vpd": vpd})
    out = wue(ds)
    np.testing.assert_allclose(out.ewue_climatology, 2.5, rtol=1e-10)
    np.testing.assert_allclose(out.twue_climatology, 2.5 / 0.6, rtol=1e-10)
    expect = (gpp * vpd).sum(0) / et.sum(0)
    np.testing.assert_allclose(out.iwue_climatology, expect, rtol=1e-10)
    only = wue(ds.drop_vars(["tr", "vpd"]))
    assert set(only.data_vars) == {"ewue", "ewue_climatology"}
    with pytest.raises(KeyError, match="transpiration"):
        wue(ds.drop_vars("tr"), kinds=["twue"])


def test_annual_sums_need_a_full_year(rng):
    prec = rng.gamma(0.8, 3.0, (200, 2, 2))
    ds = grid_ds({"prec": prec, "gpp": prec})
    with pytest.raises(ValueError, match="less than one complete 'YS' period"):
        pue(ds)


# ------------------------------------------------------------------------ coupling
def test_coupling_recovers_planted_lagged_slope(rng):
    months = 240
    w = rng.normal(0, 10, (months, 3, 4))
    slope = 0.05
    c = np.full_like(w, np.nan)
    c[1:] = slope * w[:-1] + rng.normal(0, 0.1, (months - 1, 3, 4))
    seasonal = np.sin(np.arange(months) / 12 * 2 * np.pi)[:, None, None]
    ds = grid_ds({"gpp": c + 3 * seasonal + 5, "sm": w + 50 * seasonal + 200}, freq="MS")
    res = water_carbon_coupling(ds, carbon=["gpp"], water=["sm"], lags=(0, 1))
    r1 = res.r.sel(carbon="gpp", water="sm", lag=1)
    r0 = res.r.sel(carbon="gpp", water="sm", lag=0)
    expected_r = slope * 10 / np.sqrt((slope * 10) ** 2 + 0.1**2)
    assert np.all(np.abs(r1 - expected_r) < 0.03)
    assert np.all(np.abs(r0) < 4 / np.sqrt(months))  # ~ zero within sampling error
    np.testing.assert_allclose(res.slope.sel(carbon="gpp", water="sm", lag=1), slope, rtol=0.05)
    assert (res.pvalue.sel(lag=1) < 1e-10).all()
    assert str(res.slope_units.sel(carbon="gpp", water="sm").values) == "(g m-2 d-1) (mm)-1"
    glob = water_carbon_coupling(ds, carbon=["gpp"], water=["sm"], lags=(1,), scale="global")
    assert glob.r.dims == ("carbon", "water", "lag", "region")
    assert abs(float(glob.r.sel(region="global").squeeze()) - expected_r) < 0.03


def test_coupling_defaults_skip_missing_and_need_something(rng):
    ds = grid_ds({"gpp": rng.normal(size=(36, 2, 2)), "et": rng.normal(size=(36, 2, 2))},
                 freq="MS")
    res = water_carbon_coupling(ds)
    assert list(res.carbon.values) == ["gpp"] and list(res.water.values) == ["et"]
    with pytest.raises(KeyError, match="no water variable"):
        water_carbon_coupling(ds.drop_vars("et"))


# ------------------------------------------------------------------------ rain pulse
def _pulse_case(rng, pulse_size=3.0):
    """Cells 0-1: dry spells + storms + a planted Rh pulse; cell 2: storms, no pulse;
    cell 3: rain every day (no dry spell)."""
    nt = 730
    prec = np.zeros((nt, 1, 4))
    prec[:, 0, 3] = 3.0
    starts = np.arange(40, nt - 30, 60)
    rh = np.full((nt, 1, 4), 1.0) + rng.normal(0, 0.02, (nt, 1, 4))
    shape = pulse_size * np.exp(-np.arange(10) / 2.0)
    for t in starts:
        prec[t, 0, :3] = 12.0
        rh[t:t + 10, 0, :2] += shape[:, None]
    return grid_ds({"prec": prec, "rh": rh}), starts.size, shape


def test_rain_pulse_recovers_planted_pulse_and_finds_none_elsewhere(rng):
    ds, n_events, shape = _pulse_case(rng)
    res = rain_pulse(ds)
    n = res.n_events.isel(lat=0).values
    assert list(n[:3]) == [n_events] * 3 and n[3] == 0
    peak = res.rh_peak.isel(lat=0).values
    extra = res.rh_extra.isel(lat=0).values
    np.testing.assert_allclose(peak[:2], shape[0], rtol=0.1)
    np.testing.assert_allclose(extra[:2], shape.sum(), rtol=0.1)
    assert abs(peak[2]) < 0.1 * shape[0] and abs(extra[2]) < 0.1 * shape.sum()
    assert np.isnan(peak[3])
    np.testing.assert_allclose(res.rh_ratio.isel(lat=0).values[:2], 1 + shape[0], rtol=0.1)
    assert res.rh_composite.dims == ("lat", "lon", "lag") and res.lag.size == 22


def test_rain_pulse_restricts_to_dry_cells_and_needs_daily(rng):
    ds, _, _ = _pulse_case(rng)
    res = rain_pulse(ds, max_annual_prec=500)
    assert np.isnan(res.rh_peak.isel(lat=0, lon=3))  # ~1100 mm a year: excluded
    assert np.isfinite(res.rh_peak.isel(lat=0, lon=0))
    monthly = ds.resample(time="MS").mean()
    for v in monthly.data_vars:
        monthly[v].attrs = ds[v].attrs
    with pytest.raises(ValueError, match="needs daily data"):
        rain_pulse(monthly)
    with pytest.raises(KeyError, match="heterotrophic respiration"):
        rain_pulse(ds.drop_vars("rh"))


# ------------------------------------------------------------------------ regions
def test_cell_areas_sum_to_the_earth_and_regional_totals():
    lat, lon = np.arange(-89.5, 90, 1.0), np.arange(-179.5, 180, 1.0)
    grid = xr.Dataset(coords={"lat": lat, "lon": lon})
    total = float(cell_area(grid).sum())
    assert abs(total / (4 * np.pi * EARTH_RADIUS**2) - 1) < 0.005
    assert abs(total / 510.07e12 - 1) < 0.005  # the Earth's surface area
    land = (np.abs(lat)[:, None] < 60) & (np.abs(lon)[None, :] < 120)
    flux = np.where(land, 2.0, np.nan)[None].repeat(3, 0)
    ds = grid_ds({"gpp": flux, "et": flux}, lat=lat, lon=lon)
    budget = regional(ds, "giorgi", how="sum")
    areas = cell_area(grid).where(land)
    glob = budget.sel(region="global")
    np.testing.assert_allclose(glob.gpp, 2.0 * float(areas.sum()) * 365.25 / 1e15, rtol=1e-10)
    np.testing.assert_allclose(glob.et, 2.0 * float(areas.sum()) * 1e-3 * 365.25 / 1e9,
                               rtol=1e-10)
    assert budget.gpp.attrs["units"] == "Pg yr-1" and budget.et.attrs["units"] == "km3 yr-1"
    reg = budget.isel(region=0)
    np.testing.assert_allclose(reg.gpp, 2.0 * float(reg.area) * 365.25 / 1e15, rtol=1e-10)
    means = regional(ds, "srex", how="mean")
    np.testing.assert_allclose(means.gpp.dropna("region"), 2.0)
    mask = xr.DataArray(np.where(land, 1, -1), dims=("lat", "lon"),
                        coords={"lat": lat, "lon": lon})
    by_mask = regional(ds, mask, how="sum")
    np.testing.assert_allclose(by_mask.gpp.sel(region="1"), glob.gpp)


def test_regions_offline_only():
    grid = xr.Dataset(coords={"lat": np.arange(-89.5, 90, 10.0),
                              "lon": np.arange(-175, 180, 10.0)})
    ds = grid.assign(gpp=(("lat", "lon"), np.ones((18, 36)), {"units": "g m-2 d-1"}))
    with pytest.raises(ValueError, match="unknown region set"):
        regional(ds, "nowhere")


# ------------------------------------------------------------------------ evaluation
def test_evaluate_perfect_and_biased(rng):
    nt, prec = _daily(rng, years=3)
    t = np.arange(nt)[:, None, None]
    obs = grid_ds({"gpp": 3 + 2 * np.sin(2 * np.pi * t / 365.25) + rng.normal(0, 0.5,
                                                                                (nt, 3, 4))})
    res = evaluate(obs, obs, freq="D")
    np.testing.assert_allclose(res.nse.sel(variable="gpp"), 1.0)
    np.testing.assert_allclose(res.kge.sel(variable="gpp", component=["full", "msc"]), 1.0)
    assert res.kge.sel(variable="gpp", component="iav").isnull().all()  # anomalies: no KGE
    np.testing.assert_allclose(res.phase_error.sel(variable="gpp", component="msc"), 0)
    sim = obs.copy()
    sim["gpp"] = obs.gpp + 0.7
    res = evaluate(sim, obs, freq="D")
    np.testing.assert_allclose(res.bias.sel(variable="gpp", component="full"), 0.7, rtol=1e-9)
    np.testing.assert_allclose(res.r.sel(variable="gpp", component="iav"), 1.0)
    assert res.units.sel(variable="gpp").item() == "g m-2 d-1"
    assert int(res.n.sel(variable="gpp", component="full").isel(lat=0, lon=0)) == nt
    # a gap in the observations is not scored
    gappy = obs.copy()
    gappy["gpp"] = obs.gpp.where(obs.time.dt.year != 2002)
    n = evaluate(sim, gappy, freq="D").n.sel(variable="gpp", component="full")
    assert int(n.isel(lat=0, lon=0)) == nt - 365


def test_evaluate_by_region_is_a_table_and_refusals(rng):
    lat, lon = np.arange(-87.5, 90, 5.0), np.arange(-177.5, 180, 5.0)
    nt = 365 * 2
    x = rng.normal(3, 1, (nt, lat.size, lon.size))
    obs = grid_ds({"gpp": x}, lat=lat, lon=lon)
    table = evaluate(obs, obs, by="region", regions="giorgi")
    assert isinstance(table, pd.DataFrame)
    assert {"variable", "region", "component", "nse", "kge", "r", "rmse", "bias", "n"} <= \
        set(table.columns)
    assert "global" in set(table.region)
    np.testing.assert_allclose(table.query("component == 'full'").nse, 1.0)
    monthly = obs.resample(time="MS").mean()
    monthly["gpp"].attrs = obs.gpp.attrs
    with pytest.raises(ValueError, match="use freq='MS'"):
        evaluate(obs, monthly, freq="D")
    with pytest.raises(KeyError, match="no variable in both"):
        evaluate(obs, grid_ds({"et": x}, lat=lat, lon=lon))


# ------------------------------------------------------------------------ numpy vs dask
def test_dask_input_stays_lazy_and_equals_numpy(rng):
    ds, _, _ = _pulse_case(rng)
    ds = ds.assign(gpp=0.4 * ds.prec + 0.1, et=0.2 * ds.prec + 0.5, sm=ds.rh * 100)
    for v in ("gpp", "et"):
        ds[v].attrs["units"] = UNITS[v]
    ds["sm"].attrs["units"] = "mm"
    lazy = ds.chunk({"lon": 2})
    calls = [
        lambda d: pue(d),
        lambda d: wue(d),
        lambda d: rain_pulse(d),
        lambda d: water_carbon_coupling(d, carbon=["gpp"], water=["sm", "et"]),
        lambda d: evaluate(d, d, freq="D"),
    ]
    for f in calls:
        eager, deferred = f(ds), f(lazy)
        assert any(v.chunks is not None for v in deferred.data_vars.values()), f
        xr.testing.assert_allclose(eager, deferred.compute())


def test_accessor_forwards(rng):
    nt, prec = _daily(rng)
    ds = grid_ds({"prec": prec, "gpp": 0.5 * prec})
    xr.testing.assert_identical(ds.h2cm.pue(), pue(ds))
    xr.testing.assert_identical(ds.h2cm.regional("giorgi"), regional(ds, "giorgi"))


def test_observation_product_gets_the_same_pue_as_model_output(rng):
    nt, prec = _daily(rng)
    k = np.linspace(0.3, 1.4, 12).reshape(3, 4)
    model_like = grid_ds({"prec": prec, "gpp": k * prec})
    product = xr.Dataset(
        {"GPP_product": (("time", "lat", "lon"), k * prec / 86400 / 1000,
                         {"units": "kg m-2 s-1", "standard_name":
                          "gross_primary_productivity_of_biomass_expressed_as_carbon"}),
         "pr": (("time", "lat", "lon"), prec / 86400, {"units": "kg m-2 s-1"})},
        coords=model_like.coords)
    xr.testing.assert_allclose(pue(product), pue(model_like))


def test_regional_and_lue_stay_lazy_on_dask(rng):
    nt, prec = _daily(rng)
    sw = rng.uniform(50, 300, prec.shape)
    ds = grid_ds({"gpp": 0.5 * prec, "fapar": np.full(prec.shape, 0.5), "rsds": sw})
    lazy = ds.chunk({"lat": 1})
    for f in (lambda d: regional(d, "giorgi", how="sum"), lambda d: lue(d)):
        deferred = f(lazy)
        assert any(v.chunks is not None for v in deferred.data_vars.values())
        xr.testing.assert_allclose(f(ds), deferred.compute())
