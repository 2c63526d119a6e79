"""hvplot figures of every diagnostic, and the HTML report as a person sees it in a browser."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import chromium
import holoviews as hv
import numpy as np
import pandas as pd
import pytest

import xh2cm  # noqa: F401  (registers ds.h2cm)
from xh2cm.analysis import plots, report
from xh2cm.datasets import synthetic_forcing, truth_model


@pytest.fixture(scope="module")
def run():
    ds = synthetic_forcing(n_lat=6, n_lon=12, years=2, seed=0)
    out = ds.h2cm.run(truth_model(ds, hidden_size=8))
    obs = ds.h2cm.run(truth_model(ds, hidden_size=8, seed=3))[["gpp", "et"]]
    return ds, out, obs


def _renders(obj):
    assert isinstance(obj, hv.core.Dimensioned)
    hv.render(obj, backend="bokeh")


def test_every_figure_renders(run):
    ds, out, obs = run
    _renders(out.h2cm.map("gpp"))
    _renders(out.h2cm.map("gpp", selector="time", coastline=False))
    _renders(out.h2cm.timeseries("nee"))
    _renders(out.h2cm.timeseries("nee", cell={"lat": 10.0, "lon": 20.0}))
    _renders(plots.plot_efficiency(out.h2cm.pue(forcing=ds)))
    _renders(plots.plot_coupling(out.h2cm.water_carbon_coupling(forcing=ds)))
    _renders(plots.plot_coupling(out.h2cm.water_carbon_coupling(forcing=ds, scale="srex")))
    _renders(plots.plot_rain_pulse(out.h2cm.rain_pulse(forcing=ds)))
    _renders(plots.plot_evaluation(out.h2cm.evaluate(obs, by="region")))
    _renders(plots.plot_evaluation(out.h2cm.evaluate(obs)))


@pytest.fixture(scope="module")
def report_page(run, tmp_path_factory):
    """The report of the run (canvas drawing): its path and its text."""
    ds, out, obs = run
    path = out.h2cm.report(tmp_path_factory.mktemp("report") / "report.html", forcing=ds,
                           obs=obs)
    return Path(path), open(path, encoding="utf-8").read()


@pytest.mark.slow
def test_report_opens_offline_in_chromium_with_maps(report_page, tmp_path):
    path, page = report_page
    assert '<script src="http' not in page and "<link" not in page  # nothing to fetch
    for heading in ("Map: gpp", "Regional budgets", "Precipitation-use efficiency",
                    "Rain-pulse respiration", "Evaluation against observations", "Not shown"):
        assert heading in page, heading
    browser = chromium.browser()
    if browser is None:
        pytest.skip("no Chromium found (Debian package 'chromium'; .ci/run installs it)")
    png = tmp_path / "report.png"
    chromium.screenshot(browser, path, png, tmp_path / "profile")
    from PIL import Image

    image = np.asarray(Image.open(png).convert("RGB"), float)
    first_map = image[150:650, 0:700]  # below the title: the GPP map
    assert first_map.std() > 20, "the map area is blank"
    colours = np.unique(first_map.reshape(-1, 3).astype(int), axis=0)
    assert len(colours) > 50  # a colour map, not text on white


@pytest.mark.slow
def test_report_text_is_never_clipped_in_chromium(run, tmp_path):
    """Every text element of every figure lies inside its figure (measured in the browser
    on the SVG drawing, where text stays text; the layout is the canvas drawing's)."""
    ds, out, obs = run
    path = Path(out.h2cm.report(tmp_path / "report.html", forcing=ds, obs=obs,
                                backend="svg"))
    browser = chromium.browser()
    if browser is None:
        pytest.skip("no Chromium found (Debian package 'chromium'; .ci/run installs it)")
    boxes = chromium.text_boxes(browser, path, tmp_path / "profile")
    assert len(boxes) > 300  # titles, axis and colour-bar labels, ticks of 14 figures
    texts = {b["text"] for b in boxes}
    assert any(t.startswith("gross primary productivity (as carbon) [gC m-2 d-1]")
               for t in texts)  # was cut: "... [g m…"
    assert "gC m-2 d-1" in texts  # the colour bar: carbon labelled as carbon
    assert chromium.clipped(boxes) == []


@pytest.mark.slow
def test_report_content_coastline_csv_and_blank_regions(run, report_page):
    ds, out, obs = run
    page = report_page[1]
    uri = re.search(r"data:text/csv;base64,([A-Za-z0-9+/=]+)", page)
    assert uri is not None
    table = pd.read_csv(io.BytesIO(base64.b64decode(uri.group(1))))
    full = out.h2cm.evaluate(obs, by="region")
    assert len(table) == len(full) and {"nse", "kge", "r", "rmse", "n"} <= set(table.columns)
    assert page.count('class=\\"dataframe\\"') == 1  # the budget table; no raw score table
    assert "th&gt;gpp [PgC yr-1]&lt;" in page and "[Pg yr-1]" not in page
    # SREX regions without a land cell of this grid are blank, not 0.000
    budget = report._budget_table(out, "srex")
    empty = budget[budget["gpp [PgC yr-1]"].isna()]
    assert 0 < len(empty) < len(budget) - 1 and empty.drop(columns=[
        "region", "region_name"]).isna().all().all()
    html = report._table(budget).text
    row = re.search(rf"<td>{empty.region.iloc[0]}</td>(.*?)</tr>", html, re.S)
    assert row is not None and "0.000" not in row.group(1)
    # the coastline is the shipped Natural Earth outline, clipped to the map
    path = plots.coastline_path(out.lon.values, out.lat.values)
    assert len(path.data) > 20
    assert hv.render(out.h2cm.map("gpp")) is not None


def test_coastline_follows_0_360_longitudes(run):
    _, out, _ = run
    east = plots.coastline_path(np.array([190.0, 350.0]), np.array([-10.0, 60.0]))
    xs = np.concatenate([np.asarray(p["x"] if isinstance(p, dict) else p[:, 0])
                         for p in east.data])
    xs = xs[np.isfinite(xs)]
    assert xs.min() >= 185 - 1e-9 and xs.max() <= 355 + 1e-9
