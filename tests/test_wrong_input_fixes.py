"""Every case of docs/wrong-input.md's input table: the wrong input fails with its message, the
fix the message suggests, applied as written, makes the call pass or stop at a later, different
problem, whose own fix then passes (issue 20). Cases that are accepted show that they are."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import xh2cm
from xh2cm.cf.prepare import prepare
from xh2cm.xr.testing import toy_forcing

DOC = Path(__file__).resolve().parents[1] / "docs" / "wrong-input.md"


@dataclass
class Case:
    """``make()`` gives the wrong input; ``call(ds, **kw)`` fails with ``error`` (None: the
    input is accepted); each fix in ``fixes`` maps ``(ds, kw)`` to the input as the message
    says, the last one passing."""

    make: Callable[[], xr.Dataset]
    error: str | None
    fixes: list[Callable[[xr.Dataset, dict], tuple[xr.Dataset, dict]]] = field(
        default_factory=list)
    call: Callable[..., Any] = prepare
    kw: dict = field(default_factory=dict)


def _units(var: str, units: str) -> Callable[[xr.Dataset, dict], tuple[xr.Dataset, dict]]:
    def fix(ds: xr.Dataset, kw: dict) -> tuple[xr.Dataset, dict]:
        ds = ds.copy()
        ds[var] = ds[var].copy()
        ds[var].attrs["units"] = units  # ds[var].attrs['units'] = units, as the message says
        return ds, kw
    return fix


def _kw(**extra: Any) -> Callable[[xr.Dataset, dict], tuple[xr.Dataset, dict]]:
    return lambda ds, kw: (ds, {**kw, **extra})


def _relabel(var: str, units: str, factor: float = 1.0, n_time: int = 60,
             offset: float = 0.0) -> Callable[[], xr.Dataset]:
    def make() -> xr.Dataset:
        ds = toy_forcing(n_time=n_time)
        ds[var] = (ds[var] * factor + offset).assign_attrs(units=units)
        return ds
    return make


def _set(var: str, where: dict, value: float, **kw: Any) -> Callable[[], xr.Dataset]:
    def make() -> xr.Dataset:
        ds = toy_forcing(**kw)
        ds[var] = ds[var].copy()
        ds[var][where] = value
        return ds
    return make


def _mm_per_hour() -> xr.Dataset:
    ds = toy_forcing(n_time=365)
    pr = ds["pr"] * 3600.0
    pr[100] = 3.0
    ds["pr"] = pr.assign_attrs(units="mm d-1")
    return ds


def _warm_kpa() -> xr.Dataset:
    ds = toy_forcing(n_time=365)
    ds["tas"] = (ds["tas"] + 8.0).assign_attrs(units="K")
    ds["vpd"] = ds["vpd"].assign_attrs(units="hPa")
    return ds


def _cmip_temperatures() -> xr.Dataset:
    ds = toy_forcing()
    for name, method, shift in (("tas", "mean", 0.0), ("tasmax", "maximum", 5.0),
                                ("tasmin", "minimum", -5.0)):
        ds[name] = (ds["tas"] + shift).assign_attrs(units="K", standard_name="air_temperature",
                                                   cell_methods=f"time: {method}")
    return ds


def _only_tasmax() -> xr.Dataset:
    ds = _cmip_temperatures()
    return ds.drop_vars(["tas", "tasmin"])


def _longwave_pair() -> xr.Dataset:
    ds = toy_forcing().drop_vars("rnet")
    net = "surface_net_downward_longwave_flux"
    ds["rss"] = (ds["tas"] * 0 + 150.0).assign_attrs(
        units="W m-2", standard_name="surface_net_downward_shortwave_flux")
    ds["rls"] = (ds["tas"] * 0 - 60.0).assign_attrs(units="W m-2", standard_name=net)
    ds["rlds"] = (ds["tas"] * 0 + 300.0).assign_attrs(units="W m-2", standard_name=net)
    return ds


def _two_precips() -> xr.Dataset:
    ds = toy_forcing()
    ds["precip"] = ds["pr"].copy()
    return ds


def _era5_time() -> xr.Dataset:
    ds = toy_forcing().rename(time="valid_time")
    ds["valid_time"].attrs = {"standard_name": "time", "long_name": "time"}
    return ds


def _no_time_name() -> xr.Dataset:
    ds = toy_forcing().rename(time="date")
    ds["date"].attrs = {}
    return ds


def _subdaily() -> xr.Dataset:
    ds = toy_forcing(n_time=120)
    return ds.assign_coords(time=ds.time.values[0] + np.arange(120) * np.timedelta64(6, "h"))


def _repeated_day() -> xr.Dataset:
    ds = toy_forcing()
    return xr.concat([ds.isel(time=slice(0, 10)), ds.isel(time=slice(9, 40))], "time",
                     data_vars="minimal")


def _gap() -> xr.Dataset:
    ds = toy_forcing()
    return ds.drop_isel(time=[5, 6])


def _percent_labelled_one() -> xr.Dataset:
    ds = toy_forcing(static=("clay",))
    pct = np.array([[100.0, 80.0, 40.0, 0.0], [100, 100, 51, 49], [0, 0, 0, 100]])
    ds["sftlf"] = xr.DataArray(pct, dims=("lat", "lon"), coords={"lat": ds.lat, "lon": ds.lon},
                               attrs={"units": "1", "standard_name": "land_area_fraction"})
    return ds


def _int_static() -> xr.Dataset:
    ds = toy_forcing(static=("clay",))
    ds["soil_class"] = xr.DataArray(np.arange(12).reshape(3, 4), dims=("lat", "lon"),
                                    coords={"lat": ds.lat, "lon": ds.lon})
    return ds


def _no_units() -> xr.Dataset:
    ds = toy_forcing()
    del ds["tas"].attrs["units"]
    return ds


def _drop(ds: xr.Dataset, kw: dict) -> tuple[xr.Dataset, dict]:
    return ds.drop_vars("precip"), kw  # ds = ds.drop_vars('precip')


def _pue(ds: xr.Dataset, **kw: Any) -> Any:
    return ds.h2cm.pue(**kw)


def _pue_input() -> xr.Dataset:
    ds = xh2cm.datasets.synthetic_forcing(n_lat=2, n_lon=2, years=1)
    out = ds[["prec"]].rename(prec="rain").copy()
    out["gpp"] = (ds["tair"] * 0 + 3.0).assign_attrs(units="gC m-2 d-1")
    out["rain"].attrs = {"units": "mm d-1"}
    return out


def _obs(ds: xr.Dataset, **kw: Any) -> Any:
    from xh2cm.cf.observations import find_observations

    return find_observations(ds, **kw)


CASES: dict[str, Case] = {
    "kelvin-as-degC": Case(_relabel("tas", "degC"), "kelvin labelled degC.*set units 'K'",
                           [_units("tas", "K")]),
    "m-as-mm": Case(_relabel("pr", "mm d-1", 86.4), "1000 times too small",
                    [_units("pr", "m d-1")]),
    "pa-as-hpa": Case(_relabel("vpd", "hPa", 1000.0), "Pa labelled hPa: set units 'Pa'",
                      [_units("vpd", "Pa")]),
    "j-as-w": Case(_relabel("rnet", "W m-2", 86400.0), "set units 'J m-2 d-1'",
                   [_units("rnet", "J m-2 d-1")]),
    "molmol-as-ppm": Case(_relabel("co2", "ppm", 1e-6), "set units 'mol mol-1'",
                          [_units("co2", "mol mol-1")]),
    "ppm-as-molmol": Case(_relabel("co2", "mol mol-1"), "ppm labelled as a mole fraction.*"
                          "set units 'ppm'", [_units("co2", "ppm")]),
    "mmh-as-mmd": Case(_mm_per_hour, "mm h-1 labelled mm d-1.*set units 'mm h-1'",
                       [_units("pr", "mm h-1")]),
    "kpa-as-hpa": Case(_warm_kpa, "kPa labelled hPa.*set units 'kPa'", [_units("vpd", "kPa")]),
    "inf": Case(_set("tas", {"time": 3, "lat": 1, "lon": 2}, np.inf), "infinite values",
                [lambda ds, kw: (ds.assign(tas=ds["tas"].where(np.isfinite(ds["tas"]))), kw),
                 _kw(fill="interpolate")]),
    "static-nan": Case(_set("clay", {"lat": 0, "lon": 0}, np.nan, static=("clay", "elev")),
                       r"static predictor 'clay' is NaN",
                       [lambda ds, kw: (ds.assign(clay=ds["clay"].fillna(ds["clay"].mean())),
                                        kw)], kw={"static": None}),
    "percent-as-one": Case(_percent_labelled_one, "Set its units attribute to '%'",
                           [_units("sftlf", "%")]),
    "co2-series-nan": Case(_set("co2", {"time": 5}, np.nan, co2="series"),
                           "among its 40 time steps",
                           [lambda ds, kw: (ds.assign(co2=ds["co2"].interpolate_na("time")),
                                            kw)]),
    "no-co2": Case(lambda: toy_forcing().drop_vars("co2"), "'co2' not found",
                   [_kw(co2=410.0)]),
    "no-co2-global": Case(lambda: toy_forcing().drop_vars("co2"), "co2='global'",
                          [_kw(co2="global")]),
    "missing-units": Case(_no_units, r"no 'units' attribute; set it, e.g. ds\['tas'\]",
        [_units("tas", "degC"), _units("tas", "K")]),  # degC: then "kelvin labelled degC"
    "empty-units": Case(_relabel("tas", ""), r"empty 'units'.*ds\['tas'\].attrs",
                        [_units("tas", "degC"), _units("tas", "K")]),
    "unknown-units": Case(_relabel("vpd", "furlongs"), "vpd.*furlong", [_units("vpd", "kPa")]),
    "missing-forcing": Case(lambda: toy_forcing().rename(tas="t_air"),
                            r"names=\{'tair': '<variable>'\}", [_kw(names={"tair": "t_air"})]),
    "ambiguous": Case(_two_precips, r"ds.drop_vars\('precip'\).*names=\{'prec': 'pr'\}",
                      [_kw(names={"prec": "pr"})]),
    "ambiguous-drop": Case(_two_precips, r"ds.drop_vars\('precip'\)", [_drop]),
    "tasmax-only": Case(_only_tasmax, r"names=\{'tair': 'tasmax'\}",
                        [_kw(names={"tair": "tasmax"})]),
    "cmip-temperatures": Case(_cmip_temperatures, None),
    "rls-rlds": Case(_longwave_pair, None),
    "rls-rlds-named": Case(_longwave_pair, None, [_kw(names={"lw_net": "rls"})]),
    "precip-noise": Case(_set("pr", {"time": 2, "lat": 1, "lon": 1}, -4.5e-5 / 86400), None),
    "negative-precip": Case(_set("pr", {"time": 2, "lat": 1, "lon": 1}, -1e-6),
                            r"clip\(min=0\)",
                            [lambda ds, kw: (ds.assign(pr=ds["pr"].clip(min=0)), kw)]),
    "valid-time": Case(_era5_time, None),
    "no-time": Case(_no_time_name, r"ds = ds.rename\(\{'date': 'time'\}\)",
                    [lambda ds, kw: (ds.rename({"date": "time"}), kw)]),
    "subdaily": Case(_subdaily, r"ds.resample\(time='1D'\).mean\(\)",
                     [lambda ds, kw: (ds.resample(time="1D").mean(), kw)]),
    "unsorted": Case(_repeated_day, r"sortby\('time'\).drop_duplicates\('time'\)",
                     [lambda ds, kw: (ds.sortby("time").drop_duplicates("time"), kw)]),
    "gap": Case(_gap, r"resample\(time='1D'\).mean\(\).*fill='interpolate'",
                [lambda ds, kw: (ds.resample(time="1D").mean(), kw), _kw(fill="interpolate")]),
    "nan-in-land": Case(_set("tas", {"time": 4, "lat": 0, "lon": 1}, np.nan),
                        "fill='interpolate'", [_kw(fill="interpolate")]),
    "integer-static": Case(_int_static, None, [_kw(static=["clay", "soil_class"])]),
    "analysis-missing": Case(_pue_input, r"names=\{'prec': '<variable>'\}",
                             [_kw(names={"prec": "rain"})], call=_pue),
    "obs-not-found": Case(lambda: xr.Dataset({"GPP_obs": ("x", [1.0], {"units": "g m-2 d-1"})}),
                          r"obs_names=\{'gpp': '<variable>'",
                          [_kw(names={"gpp": "GPP_obs"})], call=_obs),
}


def _doc_cases() -> list[str]:
    text = DOC.read_text()
    return re.findall(r"test_wrong_input_fixes\.py::test_fix\[([\w-]+)\]", text)


def test_every_case_of_the_doc_is_tested_and_the_reverse():
    listed = _doc_cases()
    assert listed and set(listed) <= set(CASES), sorted(set(listed) - set(CASES))
    assert set(CASES) <= set(listed), sorted(set(CASES) - set(listed))


@pytest.mark.parametrize("key", sorted(CASES))
def test_fix(key):
    case = CASES[key]
    ds, kw = case.make(), dict(case.kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if case.error is None and not case.fixes:
            case.call(ds, **kw)
            return
        if case.error is not None:
            with pytest.raises((ValueError, KeyError), match=case.error):
                case.call(ds, **kw)
        errors = []
        for fix in case.fixes:
            ds, kw = fix(ds, kw)
            try:
                case.call(ds, **kw)
            except (ValueError, KeyError) as err:  # a later problem: a different message
                errors.append(str(err))
                assert case.error is None or not re.search(case.error, str(err)), str(err)
            else:
                return
        pytest.fail(f"the last fix did not pass: {errors[-1] if errors else ''}")
