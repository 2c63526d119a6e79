"""The analysis methods read their variables through the input layer (issue 20): every unit
spelling of the quantity, ERA5's valid_time, tws_anomaly as tws, and regional sums of GPP in
gC m-2 d-1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from xh2cm.analysis.regions import regional
from xh2cm.analysis.variables import get

GRID = xr.Dataset(coords={"lat": np.arange(-89.5, 90), "lon": np.arange(-179.5, 180)})


@pytest.mark.parametrize(("units", "factor"), [("g m-2 d-1", 1.0), ("gC m-2 d-1", 1.0),
                                               ("umol m-2 s-1", 1 / 1.0377504)])
def test_regional_sum_reads_every_carbon_spelling(units, factor):
    ds = GRID.assign(gpp=(("lat", "lon"), np.full((180, 360), factor), {"units": units}))
    total = float(regional(ds, how="sum").gpp.sel(region="global"))
    assert total == pytest.approx(186.3, abs=0.1)  # 1 gC m-2 d-1 over the globe, PgC yr-1


def test_regional_sum_says_what_it_leaves_out():
    ds = GRID.assign(gpp=(("lat", "lon"), np.ones((180, 360)), {"units": "gC m-2 d-1"}),
                     tas=(("lat", "lon"), np.ones((180, 360)), {"units": "K"}))
    with pytest.warns(UserWarning, match="'tas' left out"):
        out = regional(ds, how="sum")
    assert list(out.data_vars) == ["gpp"]


def test_et_per_month_is_read_with_month_lengths():
    t = pd.date_range("2001-01-01", periods=3, freq="MS")
    ds = xr.Dataset({"et": ("time", [31.0, 56.0, 62.0], {"units": "mm/month"})},
                    coords={"time": t})
    np.testing.assert_allclose(get(ds, "et").values, [1.0, 2.0, 2.0])


def test_valid_time_is_the_time_and_m_sums_are_per_day():
    t = pd.date_range("2001-01-01", periods=3, freq="D")
    era = xr.Dataset({"tp": ("valid_time", [0.001, 0.002, 0.0],
                             {"units": "m", "cell_methods": "valid_time: sum"})},
                     coords={"valid_time": ("valid_time", t, {"standard_name": "time"})})
    prec = get(era, "prec")
    assert prec.dims == ("time",)
    np.testing.assert_allclose(prec.values, [1.0, 2.0, 0.0])


def test_tws_anomaly_is_tws_and_a_variable_named_tws_wins():
    t = pd.date_range("2001-01-01", periods=2, freq="MS")
    anomaly = xr.Dataset({"tws_anomaly": ("time", [1.0, -1.0], {"units": "cm"})},
                         coords={"time": t})
    np.testing.assert_allclose(get(anomaly, "tws").values, [10.0, -10.0])
    both = anomaly.assign(tws=("time", [100.0, 80.0], {"units": "mm"}))
    np.testing.assert_allclose(get(both, "tws").values, [100.0, 80.0])
