"""Every unit spelling of docs/units.md, converted by xh2cm.cf.units to its quantity's reference
and back, agrees with the registry's own pint conversion (issue 20)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from xh2cm.cf.registry import clean, ureg
from xh2cm.cf.units import QUANTITIES, convert, read_units

DOC = Path(__file__).resolve().parents[1] / "docs" / "units.md"
CASES = [(q.name, s) for q in QUANTITIES.values() for s in q.spellings]


def _pint(value: float, units: str, to: str, contexts: tuple[str, ...]) -> float:
    text = clean(units)
    try:
        src = ureg.Quantity(value * float(text), "1")
    except ValueError:
        src = ureg.Quantity(value, text)
    with ureg.context(*contexts):
        return float(src.to(clean(to)).magnitude)


@pytest.mark.parametrize(("quantity", "spelling"), CASES)
def test_round_trip_against_the_registry(quantity, spelling):
    q = QUANTITIES[quantity]
    x = 3.7
    ref = convert(x, spelling, q.reference, variable="x", quantity=quantity)
    assert ref == pytest.approx(_pint(x, spelling or "1", q.reference, q.contexts), rel=1e-12)
    back = convert(ref, q.reference, spelling, variable="x", quantity=quantity)
    assert back == pytest.approx(x, rel=1e-12)


def test_the_table_in_docs_lists_every_tested_spelling():
    text = DOC.read_text()
    for quantity, spelling in CASES:
        row = next(line for line in text.splitlines()
                   if line.startswith(f"| {quantity.replace('_', ' ')} |"))
        assert f"`{spelling or chr(39) * 2}`" in row, (quantity, spelling)


@pytest.mark.parametrize(("units", "variable", "factor"), [
    ("gC m-2 d-1", "gpp", 1.0), ("g m-2 d-1", "gpp", 1.0), ("kg m-2 s-1", "gpp", 86400e3),
    ("umol m-2 s-1", "gpp", 1.0377504), ("mol m-2 s-1", "gpp", 1.0377504e6),
    ("cm", "tws", 10.0), ("m", "tws", 1000.0), ("%", "fapar", 0.01), ("1", "fapar", 1.0),
    ("W m-2", "et", 1 / 28.3565), ("ppb", "co2", 1e-3)])
def test_spellings_of_the_issue_by_hand(units, variable, factor):
    assert convert(1.0, units, variable=variable) == pytest.approx(factor, rel=1e-4)


@pytest.mark.parametrize(("calendar", "feb"), [("standard", 28), ("noleap", 28),
                                               ("360_day", 30), ("all_leap", 29)])
def test_per_month_uses_the_calendars_month_lengths(calendar, feb):
    t = xr.date_range("2001-01-01", periods=3, freq="MS", calendar=calendar, use_cftime=True)
    days = np.array([30.0 if calendar == "360_day" else 31.0, feb, 30.0 if calendar == "360_day"
                     else 31.0])
    for units in ("mm/month", "mm month-1"):
        et = xr.DataArray(days * 2.0, coords={"time": t})
        np.testing.assert_allclose(convert(et, units, variable="et").values, 2.0)


def test_era5_accumulations_are_per_day():
    tp = xr.DataArray([0.002], attrs={"units": "m", "cell_methods": "time: sum"})
    assert read_units(tp, "prec") == "m d-1"
    assert convert(tp, read_units(tp, "prec"), variable="prec").item() == pytest.approx(2.0)
    ssr = xr.DataArray([8.64e6], attrs={"units": "J m**-2", "cell_methods": "time: sum"})
    assert convert(ssr, read_units(ssr, "rn"), variable="rn").item() == pytest.approx(100.0)


def test_empty_units_only_where_the_quantity_leaves_no_doubt():
    assert read_units(xr.DataArray([0.3], attrs={"units": ""}), "fapar") == "1"
    hurs = xr.DataArray([40.0, 90.0], attrs={"units": ""})
    assert read_units(hurs, "hurs", quantity="relative_humidity") == "%"
    assert read_units(hurs / 100, "hurs", quantity="relative_humidity") == "1"
    with pytest.raises(ValueError, match=r"empty 'units'.*ds\['tas'\].attrs\['units'\] = 'degC'"):
        read_units(xr.DataArray([280.0], attrs={"units": ""}), "tair", "tas")
    with pytest.raises(ValueError, match="empty 'units'"):
        read_units(xr.DataArray([1.2], attrs={"units": ""}), "hurs",
                   quantity="relative_humidity")


def test_odd_unit_names_are_refused_not_guessed():
    with pytest.raises(ValueError, match="furlong"):
        convert(1.0, "furlongs per fortnight", variable="prec")


def test_pandas_time_is_read_with_month_lengths_too():
    t = pd.date_range("2004-01-01", periods=2, freq="MS")  # leap year: February 29 days
    et = xr.DataArray([31.0, 29.0], coords={"time": t})
    assert re.match(r"\[1\.0, 1\.0\]", str(convert(et, "mm/month", variable="et").values.tolist()))
