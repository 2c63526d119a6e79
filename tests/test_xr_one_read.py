"""A dask run reads its input once (issue 12): forcing values are checked in each block as
the run reads it (:class:`xh2cm.cf.checks.BlockChecks`), with the same rules and the same
decisions as the scan of a whole input, and only the block with most land is read
beforehand to refuse unit slips at once."""

from __future__ import annotations

import threading
import warnings

import dask
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr

import xh2cm
from xh2cm.cf.prepare import prepare

FORCING = ("rn", "prec", "tair", "vpd")


class CountingArray:
    """A NumPy array that counts the values read from it."""

    def __init__(self, values: np.ndarray):
        self.values = values
        self.shape, self.dtype, self.ndim = values.shape, values.dtype, values.ndim
        self.read = 0
        self._lock = threading.Lock()

    def __getitem__(self, key):
        out = self.values[key]
        with self._lock:
            self.read += out.size
        return out


def _counting(ds: xr.Dataset, chunks: dict) -> tuple[xr.Dataset, dict[str, CountingArray]]:
    """``ds`` with its gridded forcing as dask arrays over counting arrays."""
    out, counters = ds.copy(), {}
    for name in FORCING:
        counters[name] = CountingArray(ds[name].values)
        sizes = dict(ds[name].sizes)
        block = tuple(chunks.get(d, sizes[d]) for d in ds[name].dims)
        out[name] = ds[name].copy(data=dsa.from_array(counters[name], chunks=block))
    return out, counters


@pytest.fixture(scope="module")
def case():
    ds = xh2cm.datasets.synthetic_forcing(n_lat=5, n_lon=6, years=3)
    model = ds.h2cm.init_model(hidden_size=8)
    return ds, model, ds.h2cm.run(model, tile=16, outputs=["et", "gpp", "tws"])


def _same(a: xr.Dataset, b: xr.Dataset, rtol: float = 0.0) -> None:
    for v in a.data_vars:
        x, y = np.asarray(a[v].values, float), np.asarray(b[v].values, float)
        np.testing.assert_array_equal(np.isnan(x), np.isnan(y), err_msg=str(v))
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * np.nanmax(np.abs(x)),
                                   err_msg=str(v))


@pytest.mark.parametrize("chunks", [
    {"lat": 1},                  # 5 spatial blocks: spin-up inside each task
    {"lat": 1, "time": 365},     # 3 time blocks: a spin-up pass, then the run, one read
])
def test_a_dask_run_reads_its_input_once(case, chunks):
    """Every value is read once, plus the one block read beforehand (the lat row with
    most land, its first time chunk); with time blocks the spin-up pass and the run share
    the reads."""
    ds, model, ref = case
    lazy, counters = _counting(ds, chunks)
    out = lazy.h2cm.run(model, tile=16, outputs=["et", "gpp", "tws"])
    preflight = chunks.get("time", ds.sizes["time"]) * ds.sizes["lon"]
    for name, c in counters.items():
        assert c.read == preflight, (name, c.read)  # nothing else read yet
    with dask.config.set(scheduler="threads"):
        out = out.compute()
    _same(ref, out, rtol=1e-6 if "time" in chunks else 0.0)
    for name, c in counters.items():
        assert c.read == c.values.size + preflight, (name, c.read, c.values.size)


def _plant(ds: xr.Dataset, name: str, value: float, lat: int, lon: int,
           days: slice = slice(100, 101)) -> xr.Dataset:
    ds = ds.copy(deep=True)
    ds[name][days, lat, lon] = value
    return ds


def _land_cell_outside_the_preflight_block(ds: xr.Dataset) -> tuple[int, int]:
    land = np.asarray(ds.land_mask.values, bool)
    first = int(np.argmax(land.sum(1)))
    lat = next(i for i in range(land.shape[0]) if i != first and land[i].any())
    return lat, int(np.flatnonzero(land[lat])[0])


@pytest.mark.parametrize("name, value, match", [
    ("tair", np.nan, r"'tair'.*missing values \(NaN\) inside land cells: 1 value\(s\) in 1 "
                     r"cell.*e\.g\. at time=.*lat=.*fill='interpolate'"),
    ("vpd", np.inf, r"'vpd'.*infinite.*lat="),
    ("tair", 75.0, r"'tair'.*implausible.*75.*in 1 cell"),
    ("prec", -3.0, r"negative"),
])
def test_a_bad_value_in_a_later_block_is_refused_when_that_block_runs(case, name, value,
                                                                        match):
    """The error names the variable, the place (coordinates of the block) and the fix, as
    the whole-input scan does; it comes when the block is computed."""
    ds, model, _ = case
    lat, lon = _land_cell_outside_the_preflight_block(ds)
    bad = _plant(ds, name, value, lat, lon)
    with pytest.raises(ValueError, match=match):
        prepare(bad)  # the scan of a whole input: the same rule
    lazy = bad.chunk(lat=1).h2cm.run(model, tile=16, outputs=["et"])  # not read yet
    with pytest.raises(ValueError, match=match), dask.config.set(scheduler="threads"):
        lazy.compute()


@pytest.mark.parametrize("name, scale, match", [
    ("prec", 1e-3, r"'prec'.*(1000 times too small|m d-1)"),
    ("tair", 1.0, r"'tair'.*implausible.*kelvin"),
])
def test_a_unit_slip_is_refused_before_anything_runs(case, name, scale, match):
    """Unit slips affect every cell: the block read beforehand refuses them at once."""
    ds, model, _ = case
    bad = ds.copy()
    bad[name] = ds[name] * scale + (273.15 if name == "tair" else 0.0)
    bad[name].attrs = ds[name].attrs
    with pytest.raises(ValueError, match=match):
        bad.chunk(lat=1).h2cm.run(model, tile=16)


@pytest.mark.parametrize("chunks", [{"lat": 1}, {"lat": 2, "time": (365, 730)}])
def test_a_cell_without_a_variable_is_skipped_as_the_scan_skips_it(case, chunks):
    """A land cell where one variable is all NaN: NaN output and a warning, as with
    numpy input; with time blocks the decision is carried across them."""
    ds, model, _ = case
    lat, lon = _land_cell_outside_the_preflight_block(ds)
    gap = _plant(ds, "vpd", np.nan, lat, lon, days=slice(None))
    with pytest.warns(UserWarning, match=r"1 land cell\(s\) have no data at all for .*'vpd'"):
        ref = gap.h2cm.run(model, tile=16, outputs=["et", "tws"])
    assert np.isnan(ref.et[:, lat, lon]).all() and np.isfinite(ref.et[:, lat, lon - 1]).all() \
        or not np.asarray(ds.land_mask)[lat, lon - 1]
    lazy = gap.chunk(chunks).h2cm.run(model, tile=16, outputs=["et", "tws"])
    with warnings.catch_warnings(record=True) as seen, \
            dask.config.set(scheduler="threads"):
        warnings.simplefilter("always")
        out = lazy.compute()
    found = [w for w in seen if "no data at all" in str(w.message)]
    assert len(found) == 1, [str(w.message) for w in seen]  # once, not once per time block
    _same(ref, out, rtol=1e-6 if "time" in chunks else 0.0)


def test_a_gap_over_a_whole_time_block_is_a_gap_not_a_missing_variable(case):
    """NaN over all of year 1 but values later: the whole-series scan refuses it as a gap;
    so does the run that meets year 1 before it knows about years 2 and 3."""
    ds, model, _ = case
    lat, lon = _land_cell_outside_the_preflight_block(ds)
    gap = _plant(ds, "vpd", np.nan, lat, lon, days=slice(0, 365))
    with pytest.raises(ValueError, match="'vpd'.*missing values"):
        prepare(gap)
    lazy = gap.chunk(lat=1, time=365).h2cm.run(model, tile=16, outputs=["et"], spinup=0)
    match = (r"'vpd'.*NaN over whole time blocks of 1 land cell"
             r".*has values in the time block starting at time=2002-01-01")
    with pytest.raises(ValueError, match=match), dask.config.set(scheduler="threads"):
        lazy.compute()


def test_fill_keeps_the_scan_of_the_whole_input(case):
    """Filling needs whole series and a static predictor's mean over the cells that run:
    with ``fill=`` the input is scanned first (read twice), as documented."""
    ds, _, _ = case
    lazy = ds.chunk(lat=1)
    assert prepare(lazy, defer_checks=True).checks is not None
    assert prepare(lazy, defer_checks=True, fill="interpolate").checks is None
    assert prepare(ds, defer_checks=True).checks is None  # numpy input: scanned as ever
