"""hvplot figures of every diagnostic, and the HTML report as a person sees it in a browser."""

from __future__ import annotations

import shutil
import subprocess

import holoviews as hv
import numpy as np
import pytest

import xh2cm  # noqa: F401  (registers ds.h2cm)
from xh2cm.analysis import plots
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


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.slow
def test_report_opens_offline_in_chromium_with_maps(run, tmp_path):
    ds, out, obs = run
    path = out.h2cm.report(tmp_path / "report.html", forcing=ds, obs=obs)
    page = open(path, encoding="utf-8").read()
    assert '<script src="http' not in page and "<link" not in page  # nothing to fetch
    for heading in ("Map: gpp", "Regional budgets", "Precipitation-use efficiency",
                    "Rain-pulse respiration", "Evaluation against observations", "Not shown"):
        assert heading in page, heading
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium found (Debian package 'chromium'; .ci/run installs it)")
    png = tmp_path / "report.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1300,1400", "--virtual-time-budget=15000",
         f"--screenshot={png}", f"file://{path}"],
        check=True, timeout=180, capture_output=True)
    from PIL import Image

    image = np.asarray(Image.open(png).convert("RGB"), float)
    first_map = image[150:650, 0:700]  # below the title: the GPP map
    assert first_map.std() > 20, "the map area is blank"
    colours = np.unique(first_map.reshape(-1, 3).astype(int), axis=0)
    assert len(colours) > 50  # a colour map, not text on white
