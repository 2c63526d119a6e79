"""xh2cm.set_options(names=...) is honoured by every function that reads a variable: forcing
(check, forcing, prepare), observations and every analysis method (issue 20)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import xh2cm
from xh2cm.analysis.variables import ANALYSIS_VARIABLES

RENAMED = {k: f"{k.upper()}_mine" for k in ANALYSIS_VARIABLES}


def _bare(da: xr.DataArray) -> xr.DataArray:
    """``da`` with its units only (no standard_name to be found by)."""
    da = da.copy()
    da.attrs = {"units": da.attrs["units"]}
    return da


@pytest.fixture(scope="module")
def data():
    """Daily 'output' with every analysis variable and the forcing, under names discovery
    does not know (no standard names)."""
    f = xh2cm.datasets.synthetic_forcing(n_lat=2, n_lon=3, years=2, seed=1)
    rng = np.random.default_rng(0)
    base = f["tair"] * 0 + 1.0
    values = {"gpp": 3.0, "nee": -0.5, "ter": 2.5, "rh": 1.0, "et": 1.5, "tr": 0.8, "q": 0.4,
              "sm": 100.0, "tws": 150.0, "fapar": 0.5, "sw": 180.0}
    out = xr.Dataset()
    for name, v in values.items():
        units = ANALYSIS_VARIABLES[name][0]
        noise = 1 + 0.3 * rng.random(base.shape)
        out[RENAMED[name]] = (base * v * noise).assign_attrs(units=units)
    forcing = xr.Dataset({RENAMED[n]: _bare(f[n]) for n in ("prec", "vpd", "rn")})
    forcing["TAIR_mine"] = _bare(f["tair"])
    forcing["co2"] = f["co2"]
    for k in xh2cm.datasets.static_names(f):
        forcing[k] = f[k]
    return out, forcing


CALLS = {
    "pue": lambda o, f: o.h2cm.pue(forcing=f),
    "wue": lambda o, f: o.h2cm.wue(forcing=f),
    "lue": lambda o, f: o.h2cm.lue(),
    "water_carbon_coupling": lambda o, f: o.h2cm.water_carbon_coupling(forcing=f),
    "rain_pulse": lambda o, f: o.h2cm.rain_pulse(forcing=f),
    "evaluate": lambda o, f: o.h2cm.evaluate(o),
}
NAMES = {**RENAMED, "tair": "TAIR_mine"}
FORCING_NAMES = {k: NAMES[k] for k in ("prec", "vpd", "rn", "tair")}


@pytest.mark.parametrize("method", sorted(CALLS))
def test_analysis_methods_honour_set_options(data, method):
    out, forcing = data
    with pytest.raises(KeyError, match="pass "):
        CALLS[method](out, forcing)
    with xh2cm.set_options(names=NAMES), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert isinstance(CALLS[method](out, forcing), (xr.Dataset, object))


def test_forcing_readers_honour_set_options(data):
    _, forcing = data
    with pytest.raises(ValueError, match="not found"):
        forcing.h2cm.check()
    with xh2cm.set_options(names=FORCING_NAMES):
        report = forcing.h2cm.check()
        assert "PREC_mine" in repr(report)
        assert float(forcing.h2cm.forcing().prec.mean()) > 0
        assert xh2cm.xr.prepare(forcing).info["tair"].rule == "explicit names="


def test_observations_honour_set_options(data):
    from xh2cm.cf.observations import find_observations

    out, _ = data
    with pytest.raises(ValueError, match="no observation found"):
        find_observations(out)
    with xh2cm.set_options(obs_names={"gpp": "GPP_mine", "et": "ET_mine"}):
        assert set(find_observations(out)) == {"gpp", "et"}
