"""co2="global": the shipped NOAA global-mean series (issue 20)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from xh2cm.cf.prepare import prepare
from xh2cm.co2 import MLO_OFFSET, global_co2, make, on_days
from xh2cm.xr.testing import toy_forcing

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "co2"
DATA = Path(__file__).resolve().parents[1] / "xh2cm" / "data"


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared data not available")
def test_shipped_files_are_made_from_noaa_csvs_as_documented():
    monthly, annual, offset = make(SHARED)
    assert offset == MLO_OFFSET
    pd.testing.assert_frame_equal(monthly, pd.read_csv(DATA / "co2_global_monthly.csv"))
    pd.testing.assert_frame_equal(annual, pd.read_csv(DATA / "co2_global_annual.csv"))
    # the header defect: 4 names for 6 columns; the average, not the uncertainty, is read
    raw = pd.read_csv(SHARED / "co2-mm-gl.csv", header=None, skiprows=1)
    assert monthly.set_index("date").loc["1979-01", "co2_ppm"] == raw.iloc[0, 2]


def test_series_values_and_the_mauna_loa_offset():
    m = global_co2()
    assert m.index[0] == pd.Timestamp("1958-03-16 12:00")  # mid-month
    assert 314 < m.iloc[0] < 317 and 425 < m.iloc[-1] < 432
    table = pd.read_csv(DATA / "co2_global_monthly.csv").set_index("date")
    assert (table.loc[:"1978-12", "source"] == "mauna_loa_minus_offset").all()
    assert (table.loc["1979-01":, "source"] == "noaa_global").all()


def test_interpolated_to_days_in_any_calendar():
    days = pd.date_range("2000-01-01", "2000-12-31", freq="D")
    v = on_days(days)
    m = global_co2().loc["2000"]
    assert v.shape == (366,) and np.all(np.diff(v[:100]) != 0)
    mid = int(np.flatnonzero(days == pd.Timestamp("2000-03-16"))[0])
    assert v[mid] == pytest.approx(m.iloc[2], abs=0.05)
    noleap = xr.date_range("2000-01-01", periods=365, freq="D", calendar="noleap",
                           use_cftime=True)
    np.testing.assert_allclose(on_days(noleap)[:59], v[:59], atol=0.05)


def test_prepare_with_co2_global_and_outside_the_span():
    ds = toy_forcing(n_time=40, start="1990-01-01").drop_vars("co2")
    prep = prepare(ds, co2="global")
    co2 = prep.forcing.co2.values
    assert co2.shape == (40,) and 350 < co2.min() < co2.max() < 356
    assert prep.info["co2"].source == "co2 argument"
    old = toy_forcing(n_time=40, start="1950-01-01").drop_vars("co2")
    with pytest.raises(ValueError, match=r"co2='global'.*1958-03.*co2=<ppm>"):
        prepare(old, co2="global")
    with pytest.raises(ValueError, match="'global'"):
        prepare(ds, co2="mauna_loa")
