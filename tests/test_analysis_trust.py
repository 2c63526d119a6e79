"""Analysis you can trust (issue 21): one grid rule, one meaning per variable, every
calendar, scores that mean something, plausible observations. Each test is a case of the
issue with the numbers it now gives."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xh2cm  # noqa: F401  (registers ds.h2cm)
from xh2cm.analysis import evaluate, lue, pue, rain_pulse, regional, water_carbon_coupling, wue
from xh2cm.cf.grid import to_grid
from xh2cm.cf.observations import prepare_observations
from xh2cm.cf.prepare import prepare
from xh2cm.datasets import truth_model

CALENDARS = ("standard", "noleap", "360_day", "all_leap")


@pytest.fixture(scope="module")
def run(tiny_ds):
    """The tiny forcing (3 x 4 cells, 7 land, 2 years) and its run by the truth model."""
    return tiny_ds, tiny_ds.h2cm.run(truth_model(tiny_ds, hidden_size=8))


def _monthly(da: xr.DataArray) -> xr.DataArray:
    return da.resample(time="MS").mean().assign_attrs(da.attrs)


def _counts(res: xr.Dataset) -> tuple[int, int]:
    return int(res.matched_cells.item()), int(res.matched_values.item())


def _east(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` on longitudes 0…360, sorted (a product's convention)."""
    return ds.assign_coords(lon=ds.lon % 360).sortby("lon")


# ------------------------------------------------------------ 1. anomalies vs anomalies
def test_tws_anomalies_are_compared_with_anomalies(run):
    _, out = run
    obs = xr.Dataset({"twsa": _monthly(out.tws_anomaly)})  # GRACE-style anomalies
    res = evaluate(out, obs, variables=["tws"])
    full = res.sel(variable="tws", component="full")
    land = full.n > 0
    assert int(land.sum()) == 7
    np.testing.assert_allclose(full.bias.where(land, 0), 0, atol=1e-9)  # was 318.7 mm
    np.testing.assert_allclose(full.nse.where(land, 1), 1, atol=1e-12)  # was -204
    assert res.compared_as.sel(variable="tws").item() == "anomaly"
    assert res.kge.sel(variable="tws").isnull().all()  # anomalies have no KGE
    # the same observations offset by any constant (another reference period): the same
    shifted = obs.assign(twsa=obs.twsa + 50.0)
    xr.testing.assert_allclose(evaluate(out, shifted, variables=["tws"]).nse, res.nse)


# ------------------------------------------------------------ 2. one grid rule
def test_fit_observations_on_0_360_longitudes_are_all_matched(run):
    ds, out = run
    prep = prepare(ds, static=())
    obs = _east(xr.Dataset({"gpp": _monthly(out.gpp)}))
    assert float(obs.lon.max()) > 180
    info = prepare_observations(obs, prep).info["gpp"]
    assert (info.n_valid, info.matched_cells) == (168, 7)  # was 96 of 168 (3 cells lost)
    same = prepare_observations(xr.Dataset({"gpp": _monthly(out.gpp)}), prep)
    np.testing.assert_array_equal(prepare_observations(obs, prep).monthly["gpp"],
                                  same.monthly["gpp"])


def test_fit_observations_offset_by_1e_4_degrees_and_flipped_are_matched(run):
    ds, out = run
    prep = prepare(ds, static=())
    obs = xr.Dataset({"gpp": _monthly(out.gpp)})
    moved = obs.assign_coords(lat=obs.lat + 1e-4, lon=obs.lon - 1e-4).isel(lat=slice(None,
                                                                                     None, -1))
    got = prepare_observations(moved, prep)
    assert got.info["gpp"].n_valid == 168  # was 96, with a 20x higher loss
    np.testing.assert_array_equal(got.monthly["gpp"],
                                  prepare_observations(obs, prep).monthly["gpp"])


@pytest.mark.slow
def test_fit_records_the_matched_cells_in_its_history(run):
    ds, out = run
    obs = _east(xr.Dataset({"gpp": _monthly(out.gpp)}))
    _, history = ds.h2cm.fit(obs, epochs=1, batch_size=8, validation=None, progress=False,
                             model_kwargs={"hidden_size": 8})
    info = json.loads(history.attrs["observations"])["gpp"]
    assert (info["n_valid"], info["matched_cells"], info["matched_values"]) == (168, 7, 168)


def test_evaluate_matches_0_360_and_1e_4_offsets_and_counts(run):
    _, out = run
    obs = xr.Dataset({"gpp": _monthly(out.gpp)})
    ref = evaluate(out, obs, variables=["gpp"])
    assert _counts(ref) == (7, 168)
    for other in (_east(obs), obs.assign_coords(lat=obs.lat + 1e-4).isel(lat=[2, 1, 0])):
        res = evaluate(out, other, variables=["gpp"])
        assert _counts(res) == (7, 168)  # was n = 0
        xr.testing.assert_allclose(res.nse, ref.nse)
    table = evaluate(out, _east(obs), variables=["gpp"], by="region", regions="giorgi")
    assert table.attrs["matched"] == {"gpp": {"cells": 7, "values": 168}}


def test_grid_mismatches_are_refused_with_the_coordinates(run):
    ds, out = run
    obs = xr.Dataset({"gpp": _monthly(out.gpp)})
    half = obs.assign_coords(lat=obs.lat + 22.5)  # half a cell off
    with pytest.raises(ValueError, match=r"'lat' coordinates .* match none .*\[-15, 30\]"):
        evaluate(out, half, variables=["gpp"])
    with pytest.raises(ValueError, match="match none"):
        prepare_observations(half, prepare(ds, static=()))
    fine = obs.interp(lon=np.arange(-157.5, 180, 45.0), method="nearest",
                      kwargs={"fill_value": "extrapolate"})  # twice the resolution
    with pytest.raises(ValueError, match=r"another grid: 'lon' spacing 45 against 90.*"
                                         r"regrid='conservative'"):
        evaluate(out, fine, variables=["gpp"])
    nowhere = obs.where(obs.gpp < -1e9)
    with pytest.raises(ValueError, match="no value on the cells"):
        evaluate(out, nowhere, variables=["gpp"])


def test_conservative_regridding_when_asked(run):
    _, out = run
    obs = xr.Dataset({"gpp": _monthly(out.gpp)})
    # the same field on a grid twice as fine in longitude (each cell split in two)
    fine = obs.reindex(lon=np.arange(-157.5, 180, 45.0), method="nearest", tolerance=23)
    res = evaluate(out, fine, variables=["gpp"], regrid="conservative")
    assert _counts(res) == (7, 168)
    np.testing.assert_allclose(res.nse.sel(component="full").where(res.n.sel(
        component="full") > 0, 1), 1, atol=1e-9)


def test_forcing_on_other_longitudes_gives_the_same_pue(run):
    ds, out = run
    xr.testing.assert_allclose(pue(out, forcing=_east(ds)), pue(out, forcing=ds))
    lazy = pue(out.chunk({"lat": 1}), forcing=_east(ds).chunk({"lat": 1}))  # nothing read
    assert lazy.pue.chunks is not None
    xr.testing.assert_allclose(lazy.compute(), pue(out, forcing=ds))
    with pytest.raises(ValueError, match="precipitation 'prec' of forcing= has no coordinate"):
        pue(out, forcing=ds.assign_coords(lat=ds.lat + 200.0))


def test_evaluate_refuses_when_nothing_overlaps(run):
    _, out = run
    obs = xr.Dataset({"gpp": _monthly(out.gpp)})
    later = obs.assign_coords(time=obs.time + pd.Timedelta(days=3 * 366))
    with pytest.raises(ValueError, match="fewer than two time steps"):
        evaluate(out, later, variables=["gpp"])
    gaps = obs.assign(gpp=obs.gpp.where(obs.time.dt.month == 1).where(obs.lat > 50)
                      .fillna(np.nan))
    sim = out.assign(gpp=out.gpp.where(out.lat < 50))
    with pytest.raises(ValueError, match="no value of 'gpp' is finite in both"):
        evaluate(sim, gaps, variables=["gpp"])


# ------------------------------------------------------------ 3. regional sums
def test_regional_sums_fluxes_and_storages_only(run):
    _, out = run
    budget = regional(out, "srex", how="sum")
    for parameter in ("alpha_ei", "rb", "sm_max", "wue", "alpha_melt", "cue"):
        assert parameter not in budget.data_vars  # were 'km3 yr-1', 'Pg yr-1' ...
        assert parameter in budget.attrs["left_out"]
    for state in ("fapar", "f_soil"):
        assert state not in budget.data_vars
    assert {"gpp", "nee", "et", "q", "tws", "sm", "tws_anomaly"} <= set(budget.data_vars)
    assert budget.gpp.attrs["units"] == "Pg yr-1" and \
        budget.gpp.attrs["units_label"] == "PgC yr-1"
    assert "as carbon" in budget.gpp.attrs["long_name"]
    assert budget.et.attrs["units_label"] == "km3 yr-1"
    with pytest.raises(ValueError, match="cannot total 'rb': a parameter"):
        regional(out, "srex", how="sum", variables=["gpp", "rb"])
    empty = budget.gpp.isnull().all("time")  # SREX regions with no land cell of the run
    assert 0 < int(empty.sum()) < budget.sizes["region"] - 1
    assert budget.area.where(empty).isnull().all()  # no area: not 0.000
    means = regional(out, "srex")
    assert "rb" in means.data_vars and means.gpp.isnull().all("time").equals(empty)


# ------------------------------------------------------------ 4. every calendar
def _on_calendar(calendar: str, seed: int = 0) -> xr.Dataset:
    """Two years of daily fields on ``calendar`` (3 x 4 cells) with planted ratios."""
    end = "2002-12-30" if calendar == "360_day" else "2002-12-31"
    time = xr.date_range("2001-01-01", end, freq="D", calendar=calendar,
                         use_cftime=calendar != "standard")
    rng = np.random.default_rng(seed)
    prec = rng.gamma(0.8, 3.0, (time.size, 3, 4))
    k = np.linspace(0.3, 1.4, 12).reshape(3, 4)
    fields = {"prec": (prec, "mm d-1"), "gpp": (k * prec, "g m-2 d-1"),
              "et": (0.5 * prec, "mm d-1"), "tr": (0.25 * prec, "mm d-1"),
              "vpd": (np.full(prec.shape, 8.0), "hPa"), "rsds": (np.full(prec.shape, 200.0),
                                                                 "W m-2"),
              "fapar": (np.full(prec.shape, 0.5), "1"), "rh": (0.1 * prec + 1, "g m-2 d-1"),
              "ter": (0.2 * prec + 1, "g m-2 d-1"), "sm": (np.cumsum(prec, 0) % 97, "mm")}
    return xr.Dataset({n: (("time", "lat", "lon"), v, {"units": u})
                       for n, (v, u) in fields.items()},
                      coords={"time": time, "lat": [-30.0, 10.0, 50.0],
                              "lon": [-120.0, -40.0, 40.0, 120.0]})


K = np.linspace(0.3, 1.4, 12).reshape(3, 4)


@pytest.mark.parametrize("calendar", CALENDARS)
@pytest.mark.parametrize("case", ["pue", "wue", "lue", "coupling", "rain_pulse", "regional",
                                  "evaluate"])
def test_every_analysis_function_on_every_calendar(case, calendar):
    ds = _on_calendar(calendar)
    if case == "pue":  # crashed on noleap (cftime + YearBegin)
        res = pue(ds)
        assert res.sizes["time"] == 2
        np.testing.assert_allclose(res.pue_climatology, K, rtol=1e-10)
    elif case == "wue":
        res = wue(ds)
        np.testing.assert_allclose(res.ewue_climatology, 2 * K, rtol=1e-10)
        np.testing.assert_allclose(res.twue_climatology, 4 * K, rtol=1e-10)
    elif case == "lue":
        res = lue(ds)
        apar = 0.5 * 0.48 * 200 * 0.0864  # MJ m-2 d-1
        np.testing.assert_allclose(res.lue_climatology,
                                   K * ds.prec.mean("time") / apar, rtol=1e-10)
    elif case == "coupling":
        res = water_carbon_coupling(ds, carbon=["gpp"], water=["prec"], lags=(0,))
        np.testing.assert_allclose(res.r.squeeze(), 1.0, atol=1e-12)
    elif case == "rain_pulse":
        assert "n_events" in rain_pulse(ds)
    elif case == "regional":
        glob = regional(ds, "giorgi", how="sum").gpp.sel(region="global")
        assert glob.sizes["time"] == ds.sizes["time"] and bool(np.isfinite(glob).all())
    else:
        res = evaluate(ds, ds)
        np.testing.assert_allclose(res.nse.sel(component="full", variable="gpp"), 1.0)
        n_days = {"standard": 730, "noleap": 730, "360_day": 720, "all_leap": 732}[calendar]
        assert int(res.matched_values.sel(variable="gpp")) == n_days * 12  # daily pairs


FORCING_CASES = {
    "pue": lambda ds, f: pue(ds, forcing=f),
    "wue": lambda ds, f: wue(ds, forcing=f, kinds=["iwue"]),
    "lue": lambda ds, f: lue(ds, forcing=f),
    "coupling": lambda ds, f: water_carbon_coupling(ds, ["gpp"], ["prec"], forcing=f, lags=(0,)),
    "rain_pulse": lambda ds, f: rain_pulse(ds, forcing=f),
}


@pytest.mark.parametrize("case", list(FORCING_CASES))
def test_results_paired_with_forcing_say_what_was_matched(case):
    both = _on_calendar("standard")
    ds, forcing = both.drop_vars(["prec", "vpd", "rsds"]), _east(both[["prec", "vpd", "rsds"]])
    f = FORCING_CASES[case]
    res, same = f(ds, forcing), f(both, None)
    assert {k: res.attrs[k] for k in ("matched_cells", "grid_cells", "matched_values")} == {
        "matched_cells": 12, "grid_cells": 12, "matched_values": 730 * 12}
    assert "matched_cells" not in same.attrs  # nothing paired with forcing=
    xr.testing.assert_allclose(res, same)
    # a forcing without the cells at lon -120 (240 east): counted less, NaN there
    part = f(ds, forcing.drop_sel(lon=240.0))
    assert (part.attrs["matched_cells"], part.attrs["matched_values"]) == (9, 730 * 9)
    xr.testing.assert_allclose(part.sel(lon=slice(-50, None)), same.sel(lon=slice(-50, None)))
    first = next(v for v in part.data_vars if v != "n_events")
    assert part[first].sel(lon=-120.0).isnull().all()
    # lazy input stays lazy: cells counted by coordinates, values not counted
    lazy = f(ds.chunk({"lat": 1}), forcing.chunk({"lat": 1}))
    assert lazy.attrs["matched_cells"] == 12 and "matched_values" not in lazy.attrs
    assert any(lazy[v].chunks is not None for v in lazy.data_vars)


@pytest.mark.slow
@pytest.mark.parametrize("calendar", CALENDARS)
def test_report_on_every_calendar(calendar, tmp_path):
    ds = _on_calendar(calendar)
    ds = ds.assign(nee=(ds.ter - ds.gpp).assign_attrs(units="g m-2 d-1"))
    obs = ds[["gpp", "et"]].assign(gpp=ds.gpp * 1.1)
    page = open(ds.h2cm.report(tmp_path / "r.html", obs=obs), encoding="utf-8").read()
    for heading in ("Map: gpp", "NEE, global land mean", "Regional budgets",
                    "Precipitation-use efficiency", "Light-use efficiency",
                    "Water-use efficiency", "Water-carbon coupling", "Rain-pulse respiration",
                    "Evaluation against observations"):
        assert f"&lt;h2&gt;{heading}" in page, heading  # (the page's HTML is escaped JSON)
    assert "Not shown" not in page


# ------------------------------------------------------------ 5. scores that mean something
def test_kge_is_nan_where_the_observed_mean_is_near_zero():
    rng = np.random.default_rng(1)
    time = pd.date_range("2001-01-01", periods=10 * 12, freq="MS")
    anomaly = rng.normal(0, 1, time.size)  # IAV-like series, mean ~ 0
    obs = xr.Dataset({"nee": ("time", anomaly, {"units": "g m-2 d-1"})},
                     coords={"time": time})
    sim = obs.assign(nee=obs.nee * 1.2 + 0.3 * rng.normal(0, 1, time.size))
    res = evaluate(sim, obs, variables=["nee"]).sel(variable="nee")
    o, s = obs.nee.values, sim.nee.values
    assert abs(o.mean()) < 0.5 * o.std()  # the case of the issue: beta reached 128
    assert np.isnan(res.kge).all() and np.isnan(res.beta).all()
    assert "|mean(obs)| < 0.5 std(obs)" in res.kge.attrs["nan_where"]
    full = res.sel(component="full")
    np.testing.assert_allclose(full.r, np.corrcoef(s, o)[0, 1], rtol=1e-10)
    np.testing.assert_allclose(full.rmse, np.sqrt(np.mean((s - o) ** 2)), rtol=1e-10)
    np.testing.assert_allclose(full.nse, 1 - np.sum((s - o) ** 2) / np.sum((o - o.mean()) ** 2),
                               rtol=1e-10)
    assert np.isfinite(res.sel(component="iav")[["r", "rmse", "nse"]].to_array()).all()
    # a positive flux keeps its KGE
    pos = evaluate(sim.assign(nee=sim.nee + 10), obs.assign(nee=obs.nee + 10),
                   variables=["nee"]).sel(variable="nee", component="full")
    assert np.isfinite(pos.kge) and 0 < float(pos.kge) < 1


# ------------------------------------------------------------ 6. plausible observations
@pytest.mark.parametrize(("name", "units", "change", "beyond", "message"), [
    ("gpp", "g m-2 d-1", -1.0, lambda x: x < -0.5, r"'gpp'.* below 0 g m-2 d-1"),
    ("et", "mm d-1", -2.0, lambda x: x < -0.5, r"'et'.* below 0 mm d-1"),
    ("et", "mm d-1", 40.0, lambda x: x > 30.5, r"'et'.* above 30 mm d-1"),
    ("fapar", "1", 1.0, lambda x: x > 1.01, r"'fapar'.* above 1 1 .*within \[0, 1\]"),
    ("swe", "mm", -1.0, lambda x: x < -1e-3, r"'swe'.* below 0 mm"),
])
def test_implausible_observations_are_refused_with_count_and_place(run, name, units, change,
                                                                   beyond, message):
    ds, out = run
    prep = prepare(ds, static=())
    obs = xr.Dataset({name: (_monthly(out[name]) + change).assign_attrs(units=units)})
    n = int(beyond(obs[name]).sum())
    assert n > 0
    with pytest.raises(ValueError, match=message) as err:
        prepare_observations(obs, prep)
    assert f"has {n} value(s)" in str(err.value)
    assert "e.g. at month=20" in str(err.value) and "implausible='clip'" in str(err.value)
    clipped = prepare_observations(obs, prep, implausible="clip").monthly[name]
    valid = np.isfinite(clipped)
    assert valid.sum() == 168 and (clipped[valid] >= 0).all()
    assert name != "fapar" or (clipped[valid] <= 1).all()
    assert name != "et" or (clipped[valid] <= 30).all()


def test_negative_gpp_count_and_fit_refuses_before_training(run):
    ds, out = run
    obs = xr.Dataset({"gpp": _monthly(out.gpp) - 1.0})  # the case: GPP - 1
    n = int((obs.gpp < -0.5).sum())
    with pytest.raises(ValueError, match=rf"has {n} value\(s\) below 0 g m-2 d-1"):
        ds.h2cm.fit(obs, epochs=1, progress=False)


def test_grid_rule_doc_tolerance():
    target = xr.DataArray(np.zeros((1, 3)), dims=("lat", "lon"),
                          coords={"lat": [5.0], "lon": [0.0, 1.0, 2.0]})
    near = target.assign_coords(lon=target.lon + 0.009)  # < 1/100 of the 1-degree spacing
    assert to_grid(near + 1, target, label="x").attrs["matched_values"] == 3
    with pytest.raises(ValueError, match="within 0.01"):
        to_grid(target.assign_coords(lon=target.lon + 0.02), target, label="x")


def test_fit_and_evaluate_share_the_anomaly_rule():
    from xh2cm import catalog
    from xh2cm.analysis.evaluate import compared_as_anomaly
    from xh2cm.training.losses import TERMS

    for name in catalog.OBSERVED_AS_ANOMALY:
        assert TERMS[name].kind == "anomaly" and compared_as_anomaly(name)
    assert compared_as_anomaly("tws_anomaly") and not compared_as_anomaly("gpp")


def test_evaluate_broadcasts_over_an_ensemble_member_dim(run):
    _, out = run
    obs = xr.Dataset({"gpp": _monthly(out.gpp)})
    members = xr.concat([out[["gpp"]], out[["gpp"]] * 1.1], "member")
    res = evaluate(members, obs, variables=["gpp"])
    assert res.sizes["member"] == 2 and _counts(res) == (7, 2 * 168)
    np.testing.assert_allclose(res.nse.sel(component="full", member=0).where(
        res.n.sel(component="full", member=0) > 0, 1), 1, atol=1e-12)
