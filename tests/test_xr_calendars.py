"""Training works on every calendar that run accepts (issue 10): noleap, 360_day, all_leap."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import xh2cm  # noqa: F401
from xh2cm.calendars import day_codes, month_codes
from xh2cm.datasets import synthetic_forcing, truth_model


def _on_calendar(ds: xr.Dataset, calendar: str) -> xr.Dataset:
    """The synthetic forcing on a complete daily axis of ``calendar`` (values reused)."""
    n = {"noleap": 730, "360_day": 720, "all_leap": 732}[calendar]
    time = xr.date_range("2001-01-01", periods=n, freq="D", calendar=calendar, use_cftime=True)
    out = ds.isel(time=np.arange(n) % ds.sizes["time"]).assign_coords(time=time)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("calendar", ["noleap", "360_day", "all_leap"])
def test_fit_on_cftime_calendars(calendar):
    ds = _on_calendar(synthetic_forcing(n_lat=3, n_lon=4, years=3, seed=1), calendar)
    truth = ds.h2cm.run(truth_model(ds, hidden_size=8))
    monthly = truth[["gpp"]].resample(time="MS").mean()
    obs = xr.merge([monthly, truth[["et"]]], join="outer")
    model, history = ds.h2cm.fit(obs, epochs=1, batch_size=8, validation=None,
                                 progress=False, kinds={"et": "daily"},
                                 model_kwargs={"hidden_size": 8})
    assert np.isfinite(history["total"].sel(split="train")).all()
    info = json.loads(history.attrs["observations"])
    assert info["gpp"]["resolution"] == "monthly" and info["gpp"]["n_valid"] > 0
    assert info["et"]["resolution"].startswith("sub-monthly")


def test_calendar_codes_for_cftime():
    t = xr.date_range("2001-02-27", periods=4, freq="D", calendar="360_day", use_cftime=True)
    assert day_codes(t.values).tolist() == [20010227, 20010228, 20010229, 20010230]
    assert month_codes(t.values).tolist() == [2001 * 12 + 1] * 4
