"""The HTML report of an ensemble's run: ensemble-mean and spread maps, budgets as
mean ± standard deviation of the members' regional totals, and what the scores are of."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest
import xarray as xr

import xh2cm  # noqa: F401  (registers ds.h2cm)
from xh2cm.analysis import regions, report
from xh2cm.datasets import synthetic_forcing, truth_model
from xh2cm.training.ensemble import Ensemble

OUTPUTS = ["gpp", "et"]


@pytest.fixture(scope="module")
def runs():
    """A tiny run and a 2-member "ensemble" of it (member b = 2 x member a: a planted
    spread)."""
    ds = synthetic_forcing(n_lat=3, n_lon=4, years=1, seed=0)
    model = truth_model(ds, hidden_size=4)
    out = ds.h2cm.run(model, outputs=OUTPUTS)
    ens = xr.concat([out, 2 * out], dim=xr.DataArray(["a", "b"], dims="member"),
                    combine_attrs="override")
    for v in out.data_vars:
        ens[v].attrs = out[v].attrs
    return ds, model, out, ens


def _text(path) -> str:
    """The page's text as a browser shows it (bokeh's JSON escapes and HTML entities)."""
    page = open(path, encoding="utf-8").read()
    return html.unescape(page.replace("\\u00b1", "±").replace('\\"', '"')
                         .replace("\\n", " "))  # titles wrapped over lines


def test_budget_is_mean_pm_std_of_member_totals(runs):
    _, _, out, ens = runs
    table = report._budget_table(ens, "srex").set_index("region")
    # the planted answer: members r and 2r have mean 1.5 r and std (ddof 1) r / sqrt(2)
    one = regions.regional(out[["gpp", "et"]], "srex", how="sum").mean("time")
    have = one.gpp.notnull().values
    assert 0 < have.sum() < have.size
    for var, col in (("gpp", "gpp [PgC yr-1]"), ("et", "et [km3 yr-1]")):
        r = one[var].values[have]
        want = [f"{1.5 * x:.3f} ± {x / np.sqrt(2):.3f}" for x in r]
        assert list(table[col].values[have]) == want
        assert table[col].isna().sum() == (~have).sum()  # regions without data blank
    np.testing.assert_allclose(table["area [1e6 km2]"].values,
                               (one.area / 1e12).round(3).values)


@pytest.mark.slow
def test_ensemble_report_shows_mean_spread_and_what_is_scored(runs, tmp_path):
    _, _, out, ens = runs
    text = _text(ens.h2cm.report(tmp_path / "e.html", obs=out[["gpp", "et"]]))
    assert "Ensemble of 2 members (a, b)" in text
    for var in OUTPUTS:
        assert (f"Map: {var}, mean over the run: ensemble mean and spread (standard "
                f"deviation over 2 members)") in text
    assert "ensemble mean of 2 members [gC m-2 d-1]" in text  # the two map titles
    assert "standard deviation over 2 members [gC m-2 d-1]" in text
    assert "mean ± standard deviation over 2 members" in text
    assert re.search(r"<td>\d+\.\d{3} ± \d+\.\d{3}</td>", text)
    assert "scores of the ensemble mean of 2 members" in text


@pytest.mark.slow
def test_out_of_fold_and_single_reports(runs, tmp_path):
    ds, model, out, _ = runs
    folds = Ensemble([model, model], ("fold0", "fold1"), np.arange(12) % 2,
                     {"lat": 3, "lon": 4})
    oof = ds.h2cm.run(folds, outputs=OUTPUTS, out_of_fold=True)
    assert "member" not in oof.dims
    text = _text(oof.h2cm.report(tmp_path / "o.html", obs=out[["gpp", "et"]]))
    assert "Out-of-fold prediction of an ensemble" in text
    assert "the scores are of these predictions" in text
    assert "±" not in text and "ensemble mean and spread" not in text
    single = _text(out.h2cm.report(tmp_path / "s.html"))
    assert "Ensemble of" not in single and "Out-of-fold prediction" not in single
    assert "±" not in single and "ensemble mean" not in single
