"""The ds.h2cm accessor: check() report, forcing(), init_model(), run()."""

import json

import numpy as np
import pytest
import xarray as xr

import xh2cm  # noqa: F401  (registers ds.h2cm)
import xh2cm.core
from xh2cm import catalog
from xh2cm.xr.report import InputReport
from xh2cm.xr.testing import fake_global_constants, fake_model, fake_simulate, toy_forcing


def _toy():
    ds = toy_forcing(static=("clay", "elev"))
    ds["pr"].attrs["standard_name"] = "precipitation_flux"
    ds["land_mask"] = (("lat", "lon"), np.ones((3, 4), bool))
    ds["land_mask"][0, 0] = False
    return ds


def test_check_report():
    rep = _toy().h2cm.check()
    assert isinstance(rep, InputReport)
    d = rep.to_dict()
    json.dumps(d)
    assert d["forcing"]["prec"]["source"] == "pr"
    assert d["forcing"]["prec"]["rule"] == "standard_name 'precipitation_flux'"
    assert d["forcing"]["tair"]["conversion"] == "K -> degC (x - 273.15)"
    assert d["static_names"] == ["clay", "elev"]
    assert d["mask"] == "variable 'land_mask'"
    assert (d["n_cells"], d["n_land"], d["n_valid"]) == (12, 11, 11)
    assert (d["time_start"], d["time_end"], d["n_time"]) == ("2001-01-01", "2001-02-09", 40)
    text = repr(rep)
    for word in ("rnet", "precipitation_flux", "kg m-2 s-1 -> mm d-1", "clay, elev",
                 "land_mask", "11 to run", "2001-01-01 .. 2001-02-09"):
        assert word in text


def test_check_uses_model_static_names_and_raises_like_run():
    ds = _toy()
    assert ds.h2cm.check(fake_model(["elev"])).static_names == ("elev",)
    with pytest.raises(KeyError, match="'sand'"):
        ds.h2cm.check(fake_model(["sand"]))
    ds["pr"][3, 1, 1] = np.nan
    with pytest.raises(ValueError, match="'prec'"):
        ds.h2cm.check()


def test_forcing_dataset():
    ds = _toy()
    f = ds.h2cm.forcing()
    assert list(f.data_vars) == list(catalog.FORCING_NAMES)
    for name in catalog.FORCING_NAMES:
        assert f[name].attrs == catalog.FORCING[name].attrs()
    np.testing.assert_allclose(f.prec.values[:, 1, 1], ds.pr.values[:, 1, 1] * 86400)
    assert np.isnan(f.tair.values[:, 0, 0]).all()  # masked cell
    assert np.isfinite(ds.h2cm.forcing(masked=False).tair).all()
    assert float(f.co2) == 400.0


def test_forcing_lazy_with_dask():
    f = _toy().chunk(lat=1).h2cm.forcing()
    assert f.tair.chunks is not None


def test_run_delegates(monkeypatch):
    monkeypatch.setattr(xh2cm.core, "simulate", fake_simulate)
    monkeypatch.setattr(xh2cm.core, "global_constants", fake_global_constants)
    out = _toy().h2cm.run(fake_model(["clay"]), mask=False)
    assert np.isfinite(out.gpp).all()  # mask=False: every cell runs


def test_init_model_real_core():
    ds = _toy()
    model = ds.h2cm.init_model(hidden_size=8, seed=1)
    assert model.config.static_names == ("clay", "elev")
    assert model.config.hidden_size == 8


def test_init_model_passes_land_cells(monkeypatch):
    seen = {}

    def spy(config, seed=0, forcing=None, static=None):
        seen.update(config=config, seed=seed, forcing=forcing, static=static)
        return "model"

    monkeypatch.setattr(xh2cm.core, "init_model", spy)
    ds = _toy()
    assert ds.h2cm.init_model(static=["elev"], seed=3, hidden_size=4) == "model"
    assert seen["seed"] == 3 and seen["config"].static_names == ("elev",)
    assert seen["forcing"]["tair"].shape == (40, 11)  # land cells only
    assert seen["forcing"]["co2"].shape == (40, 11)
    assert seen["static"].shape == (11, 1)
    np.testing.assert_allclose(seen["static"][:, 0], np.delete(ds.elev.values.ravel(), 0))
    ds.h2cm.init_model(max_cells=5)
    assert seen["static"].shape == (5, 2)
    ds.h2cm.init_model(static=[])
    assert seen["static"] is None and seen["config"].n_static == 0


def test_empty_dataset_errors_clearly():
    with pytest.raises(ValueError, match="no time dimension"):
        xr.Dataset().h2cm.check()
