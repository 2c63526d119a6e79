"""Headless Chromium for the report tests: find the browser, take a screenshot, and
measure every text element of the page's figures against its figure (clipped text)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

#: Measures, once the page has rendered, every non-empty SVG ``<text>`` of every figure
#: (bokeh draws into shadow roots: they are walked too) against its ``<svg>``'s box.
MEASURE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const out = [];
  const walk = (root) => {
    root.querySelectorAll("*").forEach((el) => { if (el.shadowRoot) walk(el.shadowRoot); });
    root.querySelectorAll("svg").forEach((svg) => {
      const f = svg.getBoundingClientRect();
      if (f.width < 50 || f.height < 50) return;
      svg.querySelectorAll("text").forEach((t) => {
        if (!t.textContent.trim()) return;
        const r = t.getBoundingClientRect();
        out.push({text: t.textContent, box: [r.left, r.top, r.right, r.bottom],
                  figure: [f.left, f.top, f.right, f.bottom]});
      });
    });
  };
  walk(document);
  const pre = document.createElement("pre");
  pre.id = "xh2cm-measure";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 3000));
</script>"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def browser() -> str | None:
    """Path of a Chromium (Debian package ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(exe: str, page: Path, png: Path, profile: Path, width: int = 1300,
               height: int = 1400) -> None:
    """A PNG of the top ``height`` px of ``page`` at ``width`` px."""
    subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}",
                    f"--window-size={width},{height}", "--virtual-time-budget=15000",
                    f"--screenshot={png}", f"file://{page}"],
                   check=True, timeout=180, capture_output=True)


def text_boxes(exe: str, page: Path, profile: Path, width: int = 1300) -> list[dict]:
    """Every text element of the page's SVG figures with its box and its figure's box
    (px), measured in the browser (the page must be drawn with the SVG backend)."""
    measured = page.with_name(page.stem + "_measured.html")
    head, tail = page.read_text(encoding="utf-8").rsplit("</body>", 1)  # the page's own
    measured.write_text(head + MEASURE + "</body>" + tail, encoding="utf-8")
    dom = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}",
                          f"--window-size={width},1400", "--virtual-time-budget=30000",
                          "--dump-dom", f"file://{measured}"],
                         check=True, timeout=240, capture_output=True, text=True).stdout
    found = re.search(r'<pre id="xh2cm-measure">(.*?)</pre>', dom, re.S)
    if found is None:
        raise AssertionError("the measuring script did not run (no result in the DOM)")
    import html

    return json.loads(html.unescape(found.group(1)))


def clipped(boxes: list[dict], slack: float = 1.0) -> list[dict]:
    """The text elements whose box reaches beyond their figure's box."""
    return [b for b in boxes if b["box"][0] < b["figure"][0] - slack
            or b["box"][1] < b["figure"][1] - slack or b["box"][2] > b["figure"][2] + slack
            or b["box"][3] > b["figure"][3] + slack]
