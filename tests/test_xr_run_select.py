"""run(outputs=, freq=): only what is asked for, aggregated inside each block (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import xh2cm  # noqa: F401
from xh2cm.datasets import synthetic_forcing, truth_model


@pytest.fixture(scope="module")
def case():
    ds = synthetic_forcing(n_lat=4, n_lon=6, years=2, seed=5)
    model = truth_model(ds, hidden_size=8)
    return ds, model, ds.h2cm.run(model)


def test_monthly_selected_outputs_equal_the_daily_run_averaged(case):
    ds, model, daily = case
    wanted = ["gpp", "et", "sm", "sm_max", "q10"]
    monthly = ds.h2cm.run(model, outputs=wanted, freq="MS")
    assert list(monthly.data_vars) == wanted
    assert monthly.sizes["time"] == 24
    assert monthly.gpp.attrs["cell_methods"].startswith("time: mean")
    expect = daily[["gpp", "et", "sm"]].resample(time="MS").mean()
    for v in ("gpp", "et", "sm"):
        np.testing.assert_allclose(monthly[v], expect[v], rtol=1e-5, atol=1e-6)
    xr.testing.assert_equal(monthly.sm_max, daily.sm_max)
    lazy = ds.chunk({"lat": 2, "lon": 3}).h2cm.run(model, outputs=wanted, freq="MS")
    assert lazy.gpp.chunks is not None
    xr.testing.assert_allclose(lazy.compute(), monthly)


def test_annual_on_a_noleap_calendar(case):
    ds, model, _ = case
    nl = ds.convert_calendar("noleap")
    annual = nl.h2cm.run(model, outputs=["nee"], freq="YS")
    assert annual.sizes["time"] == 2 and annual.time.dt.year.values.tolist() == [2001, 2002]


def test_selection_is_checked(case):
    ds, model, _ = case
    with pytest.raises(KeyError, match="outputs=.*'gross'.*unknown"):
        ds.h2cm.run(model, outputs=["gross"])
    with pytest.raises(ValueError, match="freq='W'"):
        ds.h2cm.run(model, freq="W")
