"""Tests of the synthetic demo data (xh2cm.datasets)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from xh2cm import catalog
from xh2cm.datasets import (
    TRUTH_CONSTANTS,
    static_names,
    synthetic_forcing,
    synthetic_sites,
    truth_model,
    truth_run,
)

DYN = ("rn", "prec", "tair", "vpd")


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return synthetic_forcing(n_lat=20, n_lon=40, years=3, seed=0)


@pytest.fixture(scope="module")
def land(ds: xr.Dataset) -> xr.DataArray:
    return ds["land_mask"].astype(bool)


def _max_dry_run(prec: np.ndarray) -> np.ndarray:
    """Longest run of dry days (prec == 0) per column of a (time, cell) array."""
    best = np.zeros(prec.shape[1], dtype=int)
    run = np.zeros(prec.shape[1], dtype=int)
    for row in prec == 0:
        run = np.where(row, run + 1, 0)
        best = np.maximum(best, run)
    return best


def test_determinism():
    a = synthetic_forcing(n_lat=6, n_lon=8, years=1, seed=3)
    b = synthetic_forcing(n_lat=6, n_lon=8, years=1, seed=3)
    c = synthetic_forcing(n_lat=6, n_lon=8, years=1, seed=4)
    xr.testing.assert_identical(a, b)
    assert not a["prec"].equals(c["prec"])
    assert not a["tair"].equals(c["tair"])


def test_structure_and_cf_attrs(ds: xr.Dataset):
    assert ds.sizes == {"time": 3 * 365, "lat": 20, "lon": 40}
    assert ds.attrs["Conventions"] == "CF-1.8"
    assert ds.attrs["seed"] == 0
    assert {"title", "source"} <= set(ds.attrs)
    lat, lon = ds["lat"], ds["lon"]
    assert lat.attrs["units"] == "degrees_north" and lat.attrs["standard_name"] == "latitude"
    assert lon.attrs["units"] == "degrees_east" and lon.attrs["standard_name"] == "longitude"
    assert lat.attrs["axis"] == "Y" and lon.attrs["axis"] == "X"
    assert -60 < float(lat.min()) < -55 and 70 < float(lat.max()) < 75
    assert np.all(np.diff(lat) > 0) and np.all(np.diff(lon) > 0)
    for name in DYN:
        assert ds[name].dims == ("time", "lat", "lon")
        assert ds[name].attrs["units"] == catalog.FORCING[name].units
        assert ds[name].attrs["standard_name"] == catalog.FORCING[name].standard_name
        assert "long_name" in ds[name].attrs
    assert ds["co2"].dims == ("time",)
    assert ds["co2"].attrs["units"] == "ppm"


def test_static_predictors(ds: xr.Dataset, land: xr.DataArray):
    names = static_names(ds)
    assert 4 <= len(names) <= 6
    assert {"clay_fraction", "sand_fraction", "elevation", "tree_cover"} <= set(names)
    for name in names:
        v = ds[name]
        assert v.dims == ("lat", "lon")
        assert v.attrs["xh2cm_role"] == "static"
        assert {"units", "long_name"} <= set(v.attrs)
        assert bool(v.where(land).notnull().sum() == land.sum())
        assert bool(v.where(~land).isnull().all())
    for name in ("clay_fraction", "sand_fraction", "tree_cover"):
        vals = ds[name].where(land)
        assert float(vals.min()) >= 0 and float(vals.max()) <= 1
    assert float((ds["clay_fraction"] + ds["sand_fraction"]).max()) <= 1
    # mean_annual_precip is derived from the generated precipitation
    map_ = ds["prec"].mean("time") * 365.25
    np.testing.assert_allclose(ds["mean_annual_precip"], map_, rtol=1e-4)


def test_land_mask(ds: xr.Dataset, land: xr.DataArray):
    frac = float(land.mean())
    assert 0.5 < frac < 0.7
    # smooth continents, not salt-and-pepper: most land cells have a land neighbour
    m = land.values
    nb = np.zeros_like(m, dtype=int)
    nb[1:] += m[:-1]
    nb[:-1] += m[1:]
    nb += np.roll(m, 1, axis=1) + np.roll(m, -1, axis=1)
    assert (nb[m] >= 2).mean() > 0.9
    for name in DYN:
        assert int(ds[name].notnull().sum()) == ds.sizes["time"] * int(land.sum())
        assert bool(ds[name].where(~land).isnull().all())


def test_physical_ranges(ds: xr.Dataset, land: xr.DataArray):
    prec = ds["prec"].where(land)
    assert float(prec.min()) >= 0
    assert 1.0 < float(prec.mean()) < 5.0
    rn = ds["rn"].where(land)
    assert -80 < float(rn.min()) < 0 < float(rn.mean()) < 150 and float(rn.max()) < 350
    tair = ds["tair"].where(land)
    assert -60 < float(tair.min()) and float(tair.max()) < 50
    vpd = ds["vpd"].where(land)
    assert float(vpd.min()) >= 0 and float(vpd.max()) < 80
    co2 = ds["co2"].values
    assert 365 < co2[0] < 375
    # rising ~2 ppm/yr with a small seasonal cycle
    annual = ds["co2"].groupby("time.year").mean().values
    np.testing.assert_allclose(np.diff(annual), 2.0, atol=0.2)
    assert 1.0 < np.ptp(co2[:365]) < 10.0


def test_snow_seasons(ds: xr.Dataset, land: xr.DataArray):
    frost_days = (ds["tair"] < 0).sum("time").where(land) / 3
    assert int((frost_days > 30).sum()) >= 5


def test_dry_spells_in_arid_cells(ds: xr.Dataset, land: xr.DataArray):
    arid = (ds["mean_annual_precip"] < 300) & land
    assert int(arid.sum()) >= 3
    prec = ds["prec"].values[:, arid.values]  # (time, arid cell)
    assert (_max_dry_run(prec) >= 10).all()
    # wet regions rain on more days than arid ones
    wet = (ds["mean_annual_precip"] > 1500) & land
    assert int(wet.sum()) >= 3
    wet_days = (ds["prec"] > 0).mean("time")
    assert float(wet_days.where(wet).mean()) > 2 * float(wet_days.where(arid).mean())


def test_precip_seasonality_and_storms(ds: xr.Dataset, land: xr.DataArray):
    monthly = ds["prec"].where(land).groupby("time.month").mean()
    # monsoon-like cells: strong contrast between wettest and driest month
    ratio = monthly.max("month") / (monthly.min("month") + 0.1)
    assert int((ratio > 5).sum()) >= 3
    # heavy events exist
    assert float(ds["prec"].max()) > 50


def test_latitudinal_gradient(ds: xr.Dataset, land: xr.DataArray):
    zonal = ds["tair"].where(land).mean(("time", "lon"))
    trop = float(zonal.sel(lat=slice(-15, 15)).mean())
    high = float(zonal.sel(lat=slice(55, 75)).mean())
    assert trop - high > 15
    # seasonal cycle: NH high latitudes warmer in July than in January
    north = ds["tair"].where(land).sel(lat=slice(45, 75)).mean(("lat", "lon"))
    jul = float(north.sel(time=north["time.month"] == 7).mean())
    jan = float(north.sel(time=north["time.month"] == 1).mean())
    assert jul - jan > 15


def test_vpd_consistent_with_tair(ds: xr.Dataset, land: xr.DataArray):
    es = 6.112 * np.exp(17.67 * ds["tair"] / (ds["tair"] + 243.5))
    rh = 1 - ds["vpd"] / es
    rh = rh.where(land)
    assert float(rh.min()) >= 0.07 and float(rh.max()) <= 0.98


def test_sites():
    s = synthetic_sites(n_sites=4, years=2, seed=1)
    assert s.sizes == {"time": 730, "site": 4}
    for name in DYN:
        assert s[name].dims == ("time", "site")
        assert bool(s[name].notnull().all())
    assert s["co2"].dims == ("time",)
    assert s["lat"].dims == ("site",) and s["lon"].dims == ("site",)
    assert s["lat"].attrs["units"] == "degrees_north"
    assert float(s["prec"].min()) >= 0
    assert static_names(s) == static_names(synthetic_forcing(n_lat=2, n_lon=2, years=1))
    xr.testing.assert_identical(s, synthetic_sites(n_sites=4, years=2, seed=1))


def test_bad_arguments():
    with pytest.raises(ValueError):
        synthetic_forcing(n_lat=0)
    with pytest.raises(ValueError):
        synthetic_sites(n_sites=0)


def test_truth_model_and_run():
    import equinox as eqx
    import jax

    from xh2cm.core import global_constants

    small = synthetic_forcing(n_lat=4, n_lon=6, years=1)
    out, model = truth_run(small, hidden_size=8)
    assert model.config.static_names == static_names(small)
    for k, v in global_constants(model).items():
        assert v == pytest.approx(TRUTH_CONSTANTS[k], rel=1e-5)
    land = small["land_mask"].astype(bool)
    assert out["gpp"].dims == ("time", "lat", "lon")
    assert int(out["gpp"].notnull().sum()) == 365 * int(land.sum())
    assert float(out["q"].min()) >= 0 and float(out["gpp"].min()) >= 0
    assert 0.5 < float(out["gpp"].mean()) < 5 and 0.3 < float(out["et"].mean()) < 3
    # deterministic: same seed -> same weights
    again = truth_model(small, hidden_size=8)
    leaves = lambda m: jax.tree_util.tree_leaves(eqx.filter(m, eqx.is_array))  # noqa: E731
    assert all(np.array_equal(a, b) for a, b in zip(leaves(model), leaves(again), strict=True))
