"""Write xh2cm/analysis/data/coastline_110m.json: the land outline of Natural Earth's
1:110m countries (public domain, naturalearthdata.com), for offline map coastlines.

The countries are read from the copy that pyogrio ships as a test fixture
(``pyogrio/tests/fixtures/naturalearth_lowres``), merged into land polygons, and their
outer rings written as paths ``{"source": ..., "paths": [[[lon, lat], ...], ...]}`` rounded
to 0.01 degrees; edges along the antimeridian and the South Pole's latitude (map edges, not
coasts) are cut out. Run once by a developer (needs geopandas); xh2cm only reads the result.

    python scripts/make_coastline.py
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio

SOURCE = Path(pyogrio.__file__).parent / "tests/fixtures/naturalearth_lowres"
TARGET = Path(__file__).resolve().parents[1] / "xh2cm/analysis/data/coastline_110m.json"


def main() -> None:
    land = gpd.read_file(SOURCE / "naturalearth_lowres.shp").geometry.union_all()
    paths: list[list[list[float]]] = []
    for poly in getattr(land, "geoms", [land]):
        path: list[list[float]] = []
        pts = [(round(x, 2), round(y, 2)) for x, y in poly.exterior.coords]
        for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:], strict=True):
            edge = (abs(x0) > 179.9 and abs(x1) > 179.9) or (y0 < -89.9 and y1 < -89.9)
            if edge:
                if len(path) > 1:
                    paths.append(path)
                path = []
                continue
            if not path:
                path.append([x0, y0])
            path.append([x1, y1])
        if len(path) > 1:
            paths.append(path)
    doc = {"source": "Natural Earth 1:110m admin-0 countries (public domain), merged land "
                     "outline; via pyogrio's naturalearth_lowres fixture",
           "paths": paths}
    TARGET.write_text(json.dumps(doc, separators=(",", ":")))
    print(f"{TARGET}: {len(paths)} paths, {sum(map(len, paths))} points")


if __name__ == "__main__":
    main()
