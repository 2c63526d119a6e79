"""Tests of the command-line interface (xh2cm.cli)."""

from __future__ import annotations

import io
import runpy
import sys

import numpy as np
import pytest
import xarray as xr

from xh2cm.cli import area_weighted_mean, main


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Run the demo once on a tiny grid; return (exit code, stdout, output path)."""
    out = tmp_path_factory.mktemp("demo") / "sub" / "demo.nc"
    capture = pytest.MonkeyPatch()
    buf = io.StringIO()
    capture.setattr(sys, "stdout", buf)
    try:
        rc = main(["demo", "--out", str(out), "--years", "1", "--n-lat", "4", "--n-lon", "6",
                   "--hidden-size", "8"])
    finally:
        capture.undo()
    return rc, buf.getvalue(), out


def test_demo_returns_zero_and_prints_summary(demo):
    rc, text, _ = demo
    assert rc == 0
    for word in ("land cells", "time span", "gpp", "nee", "et", "q", "gC m-2 d-1", "mm d-1",
                 "TWS anomaly range", "beta_snow=0.9", "q10=2", "wall time"):
        assert word in text, word
    assert "2001-01-01 .. 2001-12-31 (365 days)" in text


def test_demo_writes_readable_netcdf(demo):
    _, _, path = demo
    assert path.exists()
    with xr.open_dataset(path, engine="netcdf4") as out:
        for name in ("gpp", "nee", "et", "q", "tws_anomaly"):
            assert out[name].dims == ("time", "lat", "lon")
            assert out[name].attrs["units"]
        assert out.sizes == {"time": 365, "lat": 4, "lon": 6}
        land = np.isfinite(out["gpp"].isel(time=0))
        assert 0 < int(land.sum()) < 24
        assert bool(np.isfinite(out["et"].where(land)).sum() == 365 * int(land.sum()))
        assert float(out["q"].min()) >= 0
        np.testing.assert_allclose(float(out["q10"]), 2.0, rtol=1e-5)
        assert out.attrs["Conventions"] == "CF-1.8"


def test_demo_outputs_plausible(demo):
    _, _, path = demo
    with xr.open_dataset(path, engine="netcdf4") as out:
        assert 0.5 < area_weighted_mean(out["gpp"]) < 5.0
        assert -1.0 < area_weighted_mean(out["nee"]) < 1.0
        assert 0.3 < area_weighted_mean(out["et"]) < 3.0
        assert 0.0 < area_weighted_mean(out["q"]) < 3.0


def test_demo_saves_loadable_model(demo):
    from xh2cm.core import global_constants, load_model

    _, _, path = demo
    model = load_model(path.with_suffix(".eqx"))
    assert model.config.hidden_size == 8
    assert "elevation" in model.config.static_names
    np.testing.assert_allclose(global_constants(model)["beta_co2"], 0.0018, rtol=1e-5)


def test_info(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    for word in ("xh2cm", "jax", "equinox", "xarray", "dask", "devices"):
        assert word in text


def test_no_command_is_an_error(capsys):
    with pytest.raises(SystemExit) as err:
        main([])
    assert err.value.code == 2


def test_area_weighted_mean():
    lat = np.array([0.0, 60.0])
    da = xr.DataArray([[1.0, 3.0], [np.nan, 5.0]], dims=("lat", "lon"), coords={"lat": lat})
    # weights: cos(0)=1 for 1 and 3, cos(60)=0.5 for 5 (NaN skipped)
    assert area_weighted_mean(da) == pytest.approx((1 + 3 + 0.5 * 5) / 2.5)


def test_module_entry_point(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["xh2cm", "--version"])
    with pytest.raises(SystemExit) as err:
        runpy.run_module("xh2cm", run_name="__main__")
    assert err.value.code == 0
    assert "xh2cm" in capsys.readouterr().out
