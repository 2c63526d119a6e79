"""run_dataset on grids, sites, extra dims and dask chunks (xh2cm.xr.run)."""

import numpy as np
import pytest
import xarray as xr

import xh2cm.core
from xh2cm import catalog
from xh2cm.xr.run import run_dataset
from xh2cm.xr.testing import fake_global_constants, fake_model, fake_simulate, toy_forcing


@pytest.fixture
def fake_core(monkeypatch):
    """Replace the core entry points by the cell-wise fake."""
    monkeypatch.setattr(xh2cm.core, "simulate", fake_simulate)
    monkeypatch.setattr(xh2cm.core, "global_constants", fake_global_constants)


def _land_mask(ds, ocean):
    mask = xr.ones_like(ds["clay"], dtype=bool)
    for i, j in ocean:
        mask[i, j] = False
    return mask


def _check_outputs(out, ds, time_dim="time"):
    spatial = tuple(d for d in ds["tas"].dims if d != time_dim)
    assert list(out.data_vars) == list(catalog.OUTPUT_NAMES)
    for name, info in catalog.OUTPUTS.items():
        da = out[name]
        assert da.attrs == info.attrs(), name
        expected = {"dynamic": (time_dim, *spatial), "static": spatial, "global": ()}
        assert da.dims == expected[info.kind], name
    for k, v in ds.coords.items():
        xr.testing.assert_identical(out[k], v)
    assert out.attrs["Conventions"] == "CF-1.8" and out.attrs["source"] == "xh2cm H2CM"
    assert "run_dataset" in out.attrs["history"]


def test_grid_with_mask(fake_core):
    ds = toy_forcing()
    ds["land_mask"] = _land_mask(ds, [(0, 0), (2, 3)])
    out = run_dataset(ds, fake_model(["clay", "elev"]))
    _check_outputs(out, ds)
    land = ds["land_mask"].values
    for name in ("gpp", "sm_max"):
        assert np.isnan(out[name].values[..., ~land]).all()
        assert np.isfinite(out[name].values[..., land]).all()
    # values are the fake's: converted forcing + statics, at the right cell
    exp = (ds.tas - 273.15 + 0.1 * ds.pr * 86400 + 0.01 * ds.rnet + ds.vpd * 10
           + ds.clay + ds.elev + catalog.OUTPUT_NAMES.index("et"))
    np.testing.assert_allclose(out.et.values[:, land], exp.values[:, land], rtol=1e-5)
    assert float(out.q10) == catalog.GLOBAL_OUTPUTS.index("q10")


def test_sites(fake_core):
    ds = toy_forcing({"site": 5}, co2="series", static=())
    ds = ds.assign_coords(lat=("site", np.arange(5.0), {"units": "degrees_north"}))
    out = run_dataset(ds, fake_model())
    _check_outputs(out, ds)
    assert out.gpp.dims == ("time", "site")
    assert np.isfinite(out.gpp).all()
    assert list(out.site.values) == list(ds.site.values)


def test_single_cell_no_spatial_dims(fake_core):
    ds = toy_forcing({}, static=())
    out = run_dataset(ds, fake_model())
    assert out.gpp.dims == ("time",) and out.sm_max.dims == ()
    assert np.isfinite(out.gpp).all()


def test_extra_spatial_dim_stacked_and_unstacked(fake_core):
    ds = toy_forcing({"y": 2, "x": 3, "member": 2}, static=("clay",))
    ds["tas"][:, 1, 2, 0] = np.nan
    ds["rnet"][:, 1, 2, 0] = np.nan
    ds["pr"][:, 1, 2, 0] = np.nan
    ds["vpd"][:, 1, 2, 0] = np.nan
    out = run_dataset(ds, fake_model(["clay"]))
    _check_outputs(out, ds)
    assert out.gpp.dims == ("time", "y", "x", "member")
    assert np.isnan(out.gpp[:, 1, 2, 0]).all()
    cell = ds.isel(y=0, x=1, member=1)
    exp = (cell.tas - 273.15 + 0.1 * cell.pr * 86400 + 0.01 * cell.rnet + cell.vpd * 10
           + cell.clay + catalog.OUTPUT_NAMES.index("gpp"))
    np.testing.assert_allclose(out.gpp.isel(y=0, x=1, member=1), exp, rtol=1e-5)


def test_dims_in_other_order(fake_core):
    ds = toy_forcing(static=("clay",))
    ref = run_dataset(ds, fake_model(["clay"]))
    out = run_dataset(ds.transpose("lon", "lat", "time"), fake_model(["clay"]))
    xr.testing.assert_allclose(out.gpp.transpose(*ref.gpp.dims), ref.gpp)


def test_dask_chunked_equals_unchunked_fake(fake_core):
    ds = toy_forcing({"lat": 4, "lon": 5})
    ds["land_mask"] = _land_mask(ds, [(0, 0), (3, 1)])
    ref = run_dataset(ds, fake_model(["clay"]))
    lazy = run_dataset(ds.chunk(lat=2, lon=3), fake_model(["clay"]))
    assert lazy.gpp.chunks == ((40,), (2, 2), (3, 2))
    xr.testing.assert_allclose(lazy.compute(), ref, rtol=1e-6)


def test_missing_static_for_model(fake_core):
    with pytest.raises(KeyError, match="'sand'"):
        run_dataset(toy_forcing(), fake_model(["clay", "sand"]))


# ---- the real core (few compiled shapes, small network) --------------------------


@pytest.fixture(scope="module")
def real_setup():
    ds = toy_forcing({"lat": 4, "lon": 4}, n_time=30, static=("clay",), co2="series")
    ocean = [(0, 0), (0, 3), (3, 0), (3, 3)]  # 6 land cells in each half of the grid
    ds["land_mask"] = _land_mask(ds, ocean)
    model = ds.h2cm.init_model(hidden_size=8)
    return ds, model, run_dataset(ds, model)


def test_real_run(real_setup):
    ds, model, out = real_setup
    _check_outputs(out, ds)
    land = ds["land_mask"].values
    for name in catalog.DYNAMIC_OUTPUTS + catalog.STATIC_OUTPUTS:
        assert np.isnan(out[name].values[..., ~land]).all(), name
        assert np.isfinite(out[name].values[..., land]).all(), name
    for name, value in xh2cm.core.global_constants(model).items():
        assert float(out[name]) == pytest.approx(value, rel=1e-6)


def test_real_chunked_equals_unchunked(real_setup):
    ds, model, ref = real_setup
    lazy = run_dataset(ds.chunk(lat=2), model)
    assert lazy.gpp.chunks is not None
    lazy = lazy.compute()
    # identical coordinates and attributes, but for the run's time stamp in "history"
    coords = [d.coords.to_dataset() for d in (lazy, ref)]
    for c in coords:  # a new attrs dict: the fixture's Datasets stay untouched
        c.attrs = {**c.attrs, "history": c.attrs["history"].split(": ", 1)[1]}
    xr.testing.assert_identical(*coords)
    for name in catalog.OUTPUT_NAMES:  # float32 model: 1e-6 of each variable's scale
        scale = float(np.nanmax(np.abs(ref[name].values))) or 1.0
        np.testing.assert_allclose(lazy[name], ref[name], rtol=1e-6, atol=1e-6 * scale,
                                   err_msg=name)
