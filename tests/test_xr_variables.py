"""Discovery of forcing, static predictors and land mask (xh2cm.cf.variables)."""

import numpy as np
import pytest
import xarray as xr

from xh2cm.cf.prepare import prepare
from xh2cm.cf.variables import (
    ALIASES,
    STANDARD_NAMES,
    auto_static_names,
    find_forcing,
    find_mask,
    find_static,
)
from xh2cm.xr.testing import toy_forcing

_SOURCES = {"rn": "rnet", "prec": "pr", "tair": "tas", "vpd": "vpd", "co2": "co2"}


def _renamed(ds, name, new):
    return ds.rename({_SOURCES[name]: new})


def test_toy_found_by_name():
    m = find_forcing(toy_forcing())
    assert {k: v.source for k, v in m.items()} == _SOURCES
    assert m["tair"].rule == "name 'tas'"


@pytest.mark.parametrize(
    ("name", "alias"), [(n, a) for n, aliases in ALIASES.items() for a in aliases]
)
@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_each_alias(name, alias, case):
    ds = _renamed(toy_forcing(), name, case(alias))
    assert find_forcing(ds)[name].source == case(alias)


@pytest.mark.parametrize(
    ("name", "std"), [(n, s) for n, stds in STANDARD_NAMES.items() for s in stds]
)
def test_each_standard_name(name, std):
    ds = _renamed(toy_forcing(), name, "weird_name")
    ds["weird_name"].attrs["standard_name"] = std
    m = find_forcing(ds)[name]
    assert m.source == "weird_name"
    assert m.rule == f"standard_name {std!r}"


def test_standard_name_beats_alias():
    ds = toy_forcing()
    ds["t_surface"] = ds["tas"].assign_attrs(standard_name="air_temperature")
    assert find_forcing(ds)["tair"].source == "t_surface"


def test_explicit_names():
    ds = toy_forcing()
    ds["t_other"] = ds["tas"]
    assert find_forcing(ds, names={"tair": "t_other"})["tair"].rule == "explicit names="
    with pytest.raises(ValueError, match="'nope'"):
        find_forcing(ds, names={"tair": "nope"})


def test_ambiguous_by_name():
    ds = toy_forcing()
    ds["t2m"] = ds["tas"]
    with pytest.raises(ValueError, match="'tair'.*ambiguous.*'tas'.*'t2m'.*drop"):
        find_forcing(ds)


def test_ambiguous_by_standard_name():
    ds = toy_forcing()
    ds["tasmin"] = ds["tas"].assign_attrs(standard_name="air_temperature")
    ds["tasmax"] = ds["tas"].assign_attrs(standard_name="air_temperature")
    with pytest.raises(ValueError, match="'tair'.*'tasmin'.*'tasmax'"):
        find_forcing(ds)


@pytest.mark.parametrize("name", ["rn", "prec", "tair", "vpd"])
def test_missing_forcing(name):
    ds = toy_forcing().drop_vars(_SOURCES[name])
    with pytest.raises(ValueError, match=f"'{name}' not found"):
        find_forcing(ds)


def test_missing_co2_suggests_constant():
    with pytest.raises(ValueError, match=r"'co2' not found.*ds\['co2'\] = 400.0"):
        find_forcing(toy_forcing().drop_vars("co2"))


@pytest.mark.parametrize("kind", ["scalar", "series", "grid"])
def test_co2_shapes(kind):
    prep = prepare(toy_forcing(co2=kind))
    arr, _ = prep.arrays(prep.cells())
    assert arr["co2"].shape == arr["tair"].shape
    assert np.all(arr["co2"] >= 380)


def test_mask_detection_and_argument():
    ds = toy_forcing()
    assert find_mask(ds)[0] is None
    ds["LSM"] = (("lat", "lon"), np.linspace(0, 1, 12).reshape(3, 4))  # land fraction
    mask, desc = find_mask(ds)
    assert "LSM" in desc
    assert mask.dtype == bool and int(mask.sum()) == 6
    assert find_mask(ds, False)[0] is None
    custom = xr.zeros_like(ds["clay"], dtype=bool)
    assert not find_mask(ds, custom)[0].any()
    with pytest.raises(ValueError, match="'nope'"):
        find_mask(ds, "nope")


def test_static_explicit_missing_is_keyerror():
    ds = toy_forcing()
    assert [d.name for d in find_static(ds, ["elev", "clay"], ("lat", "lon"))] == ["elev", "clay"]
    with pytest.raises(KeyError, match="'sand'"):
        find_static(ds, ["clay", "sand"], ("lat", "lon"))


def test_static_with_time_dim_refused():
    ds = toy_forcing()
    with pytest.raises(ValueError, match="'tas'.*time"):
        find_static(ds, ["tas"], ("lat", "lon"))


def test_auto_static():
    ds = toy_forcing(static=("clay", "elev"))
    ds["land_mask"] = (("lat", "lon"), np.ones((3, 4), bool))
    ds["area"] = (("lat", "lon"), np.ones((3, 4)), {"standard_name": "cell_area"})
    ds["lat_bnds"] = (("lat", "bnds"), np.zeros((3, 2)))
    ds["landcover"] = (("lat", "lon"), np.ones((3, 4), int))
    names = auto_static_names(ds, ("lat", "lon"), exclude=["co2"])
    assert names == ["clay", "elev"]
    ds["elev"].attrs["xh2cm_role"] = "static"  # explicit marking wins
    assert auto_static_names(ds, ("lat", "lon")) == ["elev"]


def test_names_set_once_as_an_option():
    import xh2cm

    ds = toy_forcing()
    ds = ds.rename(tas="t_surface_custom")
    with pytest.raises(ValueError, match="'tair' not found"):
        find_forcing(ds)
    with xh2cm.set_options(names={"tair": "t_surface_custom", "vpd": "absent_here"}):
        found = find_forcing(ds)
        assert found["tair"].source == "t_surface_custom"
        assert found["vpd"].source == "vpd"  # the option's absent variable is ignored
        assert find_forcing(ds, names={"tair": "pr"})["tair"].source == "pr"  # a call wins
    with pytest.raises(ValueError, match="not found"):
        find_forcing(ds)  # the with-block restored the defaults
