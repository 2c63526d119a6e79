"""Files in the conventions of real data sets (xh2cm.xr.testing: ERA5 from today's CDS, a
CMIP6 day-table file on a noleap calendar, the FLUXNET ERA5 daily product) go through check(),
run and pue(forcing=...) with nothing but co2="global" (issue 20), and give the results of the
same weather in the model's units."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import xh2cm
from xh2cm.co2 import on_days
from xh2cm.datasets import synthetic_forcing, truth_model
from xh2cm.io import read_fluxnet
from xh2cm.xr.testing import cmip6_day, era5_cds, fluxnet_era5_dd


@pytest.fixture(scope="module")
def base():
    ds = synthetic_forcing(n_lat=3, n_lon=4, years=1, seed=5, start="1995-01-01")
    ds["co2"] = xr.DataArray(on_days(ds.indexes["time"]), dims="time",
                             coords={"time": ds.time}, attrs={"units": "ppm"})
    model = truth_model(ds, hidden_size=8)
    return ds, model, ds.h2cm.run(model)


def _close(run, ref, names=("gpp", "et", "tws"), rtol=2e-3):
    for v in names:
        a, b = np.asarray(run[v].values, float), np.asarray(ref[v].values, float)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=2e-3 * float(np.nanmax(np.abs(b))),
                                   err_msg=v)


def test_era5_from_the_cds(base):
    ds, model, ref = base
    era = era5_cds(ds)
    assert float(era.tp.min()) < 0  # the noise is there
    with pytest.warns(UserWarning, match="numerical noise"):
        text = repr(era.h2cm.check(co2="global"))
    assert "d2m" in text and "'ssr' + 'str'" in text and "m d-1" in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run = era.h2cm.run(model, co2="global")
        pue = run.h2cm.pue(forcing=era)
    assert "valid_time" in run.dims
    back = run.rename(valid_time="time", latitude="lat", longitude="lon").sortby("lat")
    _close(back, ref)
    assert np.isfinite(pue.pue_climatology.values).any()


def test_cmip6_day_file(base):
    ds, model, ref = base
    cm = cmip6_day(ds)
    assert cm.hurs.attrs["units"] == "" and cm.time.dt.calendar == "noleap"
    text = repr(cm.h2cm.check(co2="global"))
    assert "tas " in text and "tasmax" not in text.split("static")[0]
    assert "relative humidity" in text or "RH 'hurs'" in text
    run = cm.h2cm.run(model, co2="global")
    _close(run.assign_coords(time=ref.time), ref)
    pue = run.h2cm.pue(forcing=cm)
    assert np.isfinite(pue.pue_climatology.values).any()


def test_fluxnet_era5_daily_product(base, tmp_path):
    ds, model, ref = base
    path = fluxnet_era5_dd(ds, tmp_path, cell={"lat": 1, "lon": 2})
    fx = read_fluxnet(path)
    text = repr(fx.h2cm.check(co2="global", static=[]))
    assert "estimate" in text
    rn = xh2cm.xr.prepare(fx, co2="global").forcing.rn.isel(site=0)
    np.testing.assert_allclose(rn.values, ds.rn.isel(lat=1, lon=2).values, rtol=1e-3, atol=0.05)
    site_model = fx.h2cm.init_model(static=[], co2="global", hidden_size=8)
    run = fx.h2cm.run(site_model, co2="global")
    assert np.isfinite(run.gpp.values).all() and float(run.gpp.mean()) > 0
    pue = run.h2cm.pue(forcing=fx)
    assert np.isfinite(pue.pue_climatology.values).all()
