"""Unit parsing and conversion of the xarray layer (xh2cm.cf.units)."""

import numpy as np
import pytest
import xarray as xr

from xh2cm.cf.units import (
    LATENT_HEAT,
    MOLAR_MASS_C,
    convert,
    describe_conversion,
    normalize,
    units_of,
)


@pytest.mark.parametrize(
    ("units", "variable", "factor"),
    [
        ("kg m-2 s-1", "prec", 86400.0),
        ("kg/m2/s", "prec", 86400.0),
        ("kg m^-2 s^-1", "prec", 86400.0),
        ("mm s-1", "prec", 86400.0),
        ("m s-1", "prec", 86400e3),
        ("m d-1", "prec", 1e3),
        ("mm d-1", "prec", 1.0),
        ("mm day-1", "prec", 1.0),
        ("mm/day", "prec", 1.0),
        ("kg m-2 d-1", "prec", 1.0),
        ("Pa", "vpd", 0.01),
        ("hPa", "vpd", 1.0),
        ("kPa", "vpd", 10.0),
        ("mbar", "vpd", 1.0),
        ("W m-2", "rn", 1.0),
        ("W/m2", "rn", 1.0),
        ("J m-2 s-1", "rn", 1.0),
        ("J m-2 d-1", "rn", 1 / 86400),
        ("MJ m-2 d-1", "rn", 1e6 / 86400),
        ("ppm", "co2", 1.0),
        ("ppmv", "co2", 1.0),
        ("umol mol-1", "co2", 1.0),
        ("µmol mol-1", "co2", 1.0),
        ("mol mol-1", "co2", 1e6),
        ("1", "co2", 1e6),
        ("1e-6", "co2", 1.0),
        ("mm", "tws", 1.0),
        ("m", "tws", 1e3),
        ("cm", "swe", 10.0),
        ("kg m-2", "sm", 1.0),
        ("gC m-2 d-1", "gpp", 1.0),
        ("g m-2 d-1", "nee", 1.0),
        ("kg m-2 s-1", "gpp", 86400e3),
        ("umol m-2 s-1", "gpp", MOLAR_MASS_C * 1e-6 * 86400),
        ("W m-2", "et", 86400 / LATENT_HEAT),
        ("1", "fapar", 1.0),
        ("-", "fapar", 1.0),
        ("", "fapar", 1.0),
    ],
)
def test_linear_conversions(units, variable, factor):
    assert convert(2.0, units, variable=variable) == pytest.approx(2.0 * factor, rel=1e-12)


@pytest.mark.parametrize("units", ["K", "degK", "kelvin", "Kelvin"])
def test_kelvin_to_celsius(units):
    assert convert(273.15, units, variable="tair") == pytest.approx(0.0, abs=1e-12)
    assert convert(300.0, units, variable="tair") == pytest.approx(26.85)


@pytest.mark.parametrize("units", ["degC", "°C", "C", "celsius", "degrees_Celsius", "deg C"])
def test_celsius_identity(units):
    assert convert(12.5, units, variable="tair") == 12.5


def test_known_constants():
    # umol CO2 m-2 s-1 -> gC m-2 d-1 and latent heat W m-2 -> mm d-1
    assert convert(1.0, "umol m-2 s-1", variable="gpp") == pytest.approx(1.0377504)
    assert convert(28.3565, "W m-2", variable="et") == pytest.approx(1.0, rel=1e-4)


def test_to_units_and_inverse():
    assert convert(5.0, "degC", "K", variable="tair") == pytest.approx(278.15)
    assert convert(10.0, "hPa", "kPa", variable="vpd") == pytest.approx(1.0)


def test_convert_keeps_xarray_lazy_and_attrs_free():
    da = xr.DataArray(np.ones((3, 2)), dims=("time", "x")).chunk(x=1)
    out = convert(da, "kg m-2 s-1", variable="prec")
    assert out.chunks is not None
    np.testing.assert_allclose(out.values, 86400.0)


def test_normalize_order_and_spelling():
    assert normalize("W m-2") == normalize("m-2 W") == normalize("W/m**2") == normalize("W·m^-2")
    assert normalize("mm/day") == normalize("mm d-1")
    assert normalize("-") == normalize("") == ()


def test_bad_units_message_names_variable_and_accepted():
    with pytest.raises(ValueError, match="'prec'") as err:
        convert(1.0, "furlongs per fortnight", variable="prec")
    assert "kg m-2 s-1" in str(err.value)  # lists accepted units
    with pytest.raises(ValueError, match="'tair'.*'hPa'"):
        convert(1.0, "hPa", variable="tair")


def test_missing_units_message():
    with pytest.raises(ValueError, match=r"'tair'.*'tas'.*attrs\['units'\]"):
        units_of({}, "tair", "tas")


def test_describe_conversion():
    assert describe_conversion("K", variable="tair") == "K -> degC (x - 273.15)"
    assert describe_conversion("mm d-1", variable="prec") == "none"
