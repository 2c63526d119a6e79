"""The built documentation site: internal links resolve, and headless Chromium draws it.

The site is built by ``.ci/run`` (``python -m sphinx -W --keep-going -b html docs
docs/_build/html``), which then runs this file with ``XH2CM_DOCS_HTML=docs/_build/html``. Locally,
``XH2CM_DOCS_BUILD=1`` builds it into a temporary folder first (several minutes: the notebooks
are executed); without either, the tests are skipped and say why.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

from xh2cm.xr.accessor import H2CMAccessor

ROOT = Path(__file__).resolve().parents[1]
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    given = os.environ.get("XH2CM_DOCS_HTML")
    if given:
        html = Path(given).resolve()
        if not (html / "index.html").is_file():
            pytest.fail(f"XH2CM_DOCS_HTML={given} holds no built site (no index.html)")
        return html
    if os.environ.get("XH2CM_DOCS_BUILD") != "1":
        pytest.skip("the documentation site is not built: set XH2CM_DOCS_HTML to a built site "
                    "(.ci/run does) or XH2CM_DOCS_BUILD=1 to build it here (minutes)")
    html = tmp_path_factory.mktemp("docs") / "html"
    subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                    str(ROOT / "docs"), str(html)], check=True, timeout=1800)
    return html


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium found (Debian package 'chromium'; .ci/run installs it)")


def _chromium(url: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_browser(), *BROWSER_FLAGS, f"--user-data-dir={tmp / 'profile'}",
         "--virtual-time-budget=20000", *args, url.as_uri()],
        check=True, timeout=180, capture_output=True, text=True)


def _text(dom: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


def broken_links(html: Path) -> list[str]:
    """Every relative href/src of the built pages whose file, or #anchor, does not exist."""
    ids: dict[Path, set[str]] = {}

    def anchors(page: Path) -> set[str]:
        if page not in ids:
            ids[page] = set(re.findall(r'\bid="([^"]+)"', page.read_text(errors="replace")))
        return ids[page]

    broken = []
    for page in sorted(p for p in html.rglob("*.html") if "_static" not in p.parts):
        for ref in re.findall(r'\b(?:href|src)="([^"]+)"', page.read_text(errors="replace")):
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or ref.startswith(("mailto:", "javascript:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(html)}: {ref}")
            elif parts.fragment and target.suffix == ".html" and \
                    unquote(parts.fragment) not in anchors(target):
                broken.append(f"{page.relative_to(html)}: {ref} (no such anchor)")
    return broken


def test_internal_links_resolve(site):
    assert (site / "api" / "accessor.html").is_file()
    broken = broken_links(site)
    assert not broken, "\n".join(broken[:30])


def test_index_and_accessor_page_in_chromium(site, tmp_path):
    png = tmp_path / "index.png"
    _chromium(site / "index.html", tmp_path, "--window-size=1300,1000", f"--screenshot={png}")
    from PIL import Image

    assert np.asarray(Image.open(png).convert("L"), float).std() > 10  # not a blank page
    index = _text(_chromium(site / "index.html", tmp_path, "--dump-dom").stdout)
    assert "xh2cm" in index and "API reference" in index and "Notebook gallery" in index
    page = _text(_chromium(site / "api" / "accessor.html", tmp_path, "--dump-dom").stdout)
    methods = [n for n, _ in inspect.getmembers(H2CMAccessor, inspect.isfunction)
               if not n.startswith("_")]
    assert {"check", "run", "fit", "init_model", "pue", "report"} <= set(methods)
    missing = [m for m in methods if f"Dataset.h2cm.{m}" not in page]
    assert not missing, f"accessor methods not named on the API page: {missing}"
    run_page = _text(_chromium(site / "api" / "generated" / "xarray.Dataset.h2cm.run.html",
                               tmp_path, "--dump-dom").stdout)
    assert "run_dataset" in run_page  # the method's docstring, rendered


def test_diagnostics_notebook_draws_its_map(site, tmp_path):
    page = (site / "notebooks" / "diagnostics.html").read_text()
    assert page.count('class="xh2cm-figure"') >= 2  # the executed cells' figures
    assert "PgC yr-1" in _text(page)
    # a copy of the page beside it that shows only its first figure, at the top left
    isolate = ("<style>body * {visibility: hidden !important}"
               " .xh2cm-figure {position: fixed; top: 0; left: 0; z-index: 9999}"
               " .xh2cm-other {display: none}"
               " .xh2cm-figure, .xh2cm-figure * {visibility: visible !important}</style>")
    first, rest = page.split('class="xh2cm-figure"', 1)
    page = first + 'class="xh2cm-figure"' + rest.replace('class="xh2cm-figure"',
                                                         'class="xh2cm-other"')
    copy = site / "notebooks" / f"_map_check_{os.getpid()}.html"
    copy.write_text(page.replace("</head>", isolate + "</head>", 1))
    png = tmp_path / "diagnostics_map.png"
    try:
        _chromium(copy, tmp_path, "--window-size=1000,700", f"--screenshot={png}")
    finally:
        copy.unlink()
    from PIL import Image

    image = np.asarray(Image.open(png).convert("RGB"), float)
    area = image[20:330, 40:560]  # the map's plot area (a 600 x 300 figure)
    assert area.std() > 20, "the map area is blank"
    colours = np.unique(area.reshape(-1, 3).astype(int), axis=0)
    assert len(colours) > 50, f"{len(colours)} colours: text or an empty frame, not a map"
