"""The code blocks of docs/ run as written: recipes.md on small synthetic files with the real
conventions, index.md and user-guide.md on small synthetic data."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xh2cm
from xh2cm.core import ModelConfig, init_model, save_model
from xh2cm.datasets import synthetic_forcing
from xh2cm.humidity import saturation_vapour_pressure

DOC = Path(__file__).resolve().parents[1] / "docs" / "recipes.md"


def _attrs(da, **attrs):
    da = da.copy()
    da.attrs = attrs
    return da


def _write_files(folder: Path) -> None:
    ds = synthetic_forcing(n_lat=3, n_lon=4, years=1, seed=2)
    es = saturation_vapour_pressure(ds.tair)
    # ERA5: K, m, J m**-2 daily sums, valid_time, latitude north to south, lsm apart
    e = np.log((es - ds.vpd) / 6.112)
    dew = 243.5 * e / (17.67 - e)
    era = xr.Dataset({
        "t2m": _attrs(ds.tair + 273.15, units="K", long_name="2 metre temperature"),
        "d2m": _attrs(dew + 273.15, units="K", long_name="2 metre dewpoint temperature"),
        "tp": _attrs(ds.prec / 1000, units="m", cell_methods="time: sum"),
        "ssr": _attrs((ds.rn + 60) * 86400, units="J m**-2", cell_methods="time: sum"),
        "str": _attrs(xr.full_like(ds.rn, -60.0 * 86400), units="J m**-2",
                      cell_methods="time: sum"),
    }).rename(time="valid_time", lat="latitude", lon="longitude")
    era["valid_time"].attrs = {"standard_name": "time"}
    era.isel(latitude=slice(None, None, -1)).to_netcdf(folder / "era5_daily.nc")
    lsm = ds.land_mask.astype(float).rename(lat="latitude", lon="longitude")
    xr.Dataset({"lsm": _attrs(lsm.expand_dims(valid_time=[np.datetime64("2001-01-01")]),
                              units="(0 - 1)")}).to_netcdf(folder / "era5_lsm.nc")
    # CMIP6: noleap day table, one variable per file, sftlf in %
    time = xr.date_range("2001-01-01", periods=365, calendar="noleap", use_cftime=True)
    cm = ds.assign_coords(time=time)
    es_cm = saturation_vapour_pressure(cm.tair)
    fields = {
        "tas": _attrs(cm.tair + 273.15, units="K", standard_name="air_temperature"),
        "pr": _attrs(cm.prec / 86400, units="kg m-2 s-1", standard_name="precipitation_flux"),
        "hurs": _attrs(100 * (1 - cm.vpd / es_cm), units="%", standard_name="relative_humidity"),
        "rsds": _attrs(cm.rn + 250, units="W m-2",
                       standard_name="surface_downwelling_shortwave_flux_in_air"),
        "rsus": _attrs(xr.full_like(cm.rn, 40.0), units="W m-2",
                       standard_name="surface_upwelling_shortwave_flux_in_air"),
        "rlds": _attrs(xr.full_like(cm.rn, 300.0), units="W m-2",
                       standard_name="surface_downwelling_longwave_flux_in_air"),
        "rlus": _attrs(xr.full_like(cm.rn, 510.0), units="W m-2",
                       standard_name="surface_upwelling_longwave_flux_in_air"),
    }
    for name, da in fields.items():
        xr.Dataset({name: da}).to_netcdf(folder / f"{name}_day.nc")
    xr.Dataset({"sftlf": _attrs(100 * ds.land_mask.astype(float), units="%",
                                standard_name="land_area_fraction")}).to_netcdf(
        folder / "sftlf_fx.nc")
    years = xr.date_range("2001-01-01", periods=2, freq="YS", calendar="noleap",
                          use_cftime=True)
    xr.Dataset({"co2": ("time", [371.0, 373.0], {"units": "ppm"})},
               coords={"time": years}).to_netcdf(folder / "co2_annual.nc")
    # FLUXNET daily FULLSET: TIMESTAMP YYYYMMDD, -9999 missing, one gap
    cell = ds.isel(lat=1, lon=1)
    table = pd.DataFrame({
        "TIMESTAMP": pd.DatetimeIndex(ds.time.values).strftime("%Y%m%d").astype(int),
        "TA_F": cell.tair.values, "P_F": cell.prec.values, "VPD_F": cell.vpd.values,
        "NETRAD": cell.rn.values, "CO2_F_MDS": np.full(365, 380.0)})
    table.loc[100, "TA_F"] = -9999
    table.to_csv(folder / "FLX_US-Xyz_FLUXNET2015_FULLSET_DD.csv", index=False)
    pd.DataFrame({
        "date": pd.DatetimeIndex(ds.time.values).strftime("%Y-%m-%d"),
        "tmean_C": cell.tair.values, "precip_mm": cell.prec.values,
        "rh_pct": (100 * (1 - cell.vpd / saturation_vapour_pressure(cell.tair))).values,
        "rn_Wm2": cell.rn.values}).to_csv(folder / "station.csv", index=False)
    forcing = {k: ds[k].values.reshape(365, -1) for k in ("rn", "prec", "tair", "vpd")}
    forcing["co2"] = 380.0
    save_model(folder / "model.eqx", init_model(ModelConfig(hidden_size=8), forcing=forcing))


@pytest.mark.slow
def test_recipes_run_as_written(tmp_path, monkeypatch):
    _write_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 6
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
            out = namespace.get("out")
            if out is not None:
                assert float(out.gpp.mean()) > 0 and np.isfinite(out.gpp).any()
                namespace["out"] = None
    finally:
        xh2cm.set_options(names={}, obs_names={})


#: The names the user guide's blocks assume (the page says so), made small here.
GUIDE_ASSUMES = ("ds", "obs", "daily")


def _guide_namespace() -> dict:
    ds = synthetic_forcing(n_lat=2, n_lon=4, years=1, seed=1)  # 5 land cells: folds=5
    obs = ds.h2cm.run(xh2cm.datasets.truth_model(ds, hidden_size=8))[["gpp", "et", "nee"]]
    grid = synthetic_forcing(n_lat=2, n_lon=3, years=2, start="2019-01-01", seed=1)
    lat, lon = np.argwhere(grid.land_mask.values == 1)[0]
    cell = grid.isel(lat=[lat], lon=[lon])
    fluxes = cell.h2cm.run(xh2cm.datasets.truth_model(grid, hidden_size=8))[["et", "nee"]]
    forcing = cell[["rn", "prec", "tair", "vpd", "co2"]]
    daily = xr.merge([forcing, fluxes]).stack(site=["lat", "lon"]).reset_index("site",
                                                                               drop=True)
    daily = daily.assign_coords(site=["US-Xyz"]).transpose("time", "site")
    return {"ds": ds, "obs": obs, "daily": daily}


def _python_blocks(page: Path) -> list[str]:
    found = re.findall(r"^( *)```python\n(.*?)^\1```", page.read_text(), flags=re.S | re.M)
    return [textwrap.dedent(body) for _, body in found]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["index.md", "user-guide.md"])
def test_other_pages_run_as_written(name, tmp_path, monkeypatch):
    """Every Python block of the page, in order, in one namespace (the guide's assume
    ``ds``, ``obs`` and ``daily``, as its first paragraphs say)."""
    page = DOC.parent / name
    blocks = _python_blocks(page)
    assert blocks, name
    if name == "user-guide.md":
        assert all(f"`{k}`" in page.read_text().split("## Input", 1)[0] for k in GUIDE_ASSUMES)
    monkeypatch.chdir(tmp_path)
    namespace = _guide_namespace() if name == "user-guide.md" else {}
    try:
        for block in blocks:
            exec(compile(block, str(page), "exec"), namespace)
    finally:
        client = namespace.get("client")
        if client is not None:
            client.close()
            namespace["cluster"].close()
    assert namespace.get("out") is not None
