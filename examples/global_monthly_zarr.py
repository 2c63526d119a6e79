"""A global-size run: ~15,000 land cells x 20 years, written monthly to zarr by a LocalCluster.

    python examples/global_monthly_zarr.py                     # 15,000 cells, 20 years
    python examples/global_monthly_zarr.py --cells 500 --years 2 --out /tmp/small

1. Synthetic daily forcing on a 1-degree grid (180 x 360, land fraction chosen for
   ``--cells`` land cells) is written to ``OUT/forcing.zarr`` one year at a time (the same
   world, other weather each year), so it never exists in memory whole; chunks of one year
   by 30 x 60 degrees.
2. A model with ``hidden_size=100`` (the reference size; untrained: this example is about
   scale) standardised on the forcing.
3. ``ds.h2cm.run(model, outputs=[...], freq="MS", tile=...)`` on a ``LocalCluster`` of
   ``--workers`` single-threaded workers, each pinned to its own core (``XLAThreads``),
   written with ``to_zarr`` as blocks finish. Spin-up (one pass over the 20 years) carries
   the state through the time blocks first; then every year block starts from the state the
   previous one ended with.

Prints the wall time of each step, the peak resident memory and compiles of each worker and
the size of what was written; returns them as a dict.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

import numpy as np
import xarray as xr

import xh2cm  # noqa: F401  (registers ds.h2cm)
from xh2cm.datasets import synthetic_forcing
from xh2cm.xr.cluster import XLAThreads, worker_stats

OUTPUTS = ["et", "gpp", "nee", "tws", "q", "swe", "sm", "fapar"]
GRID = (180, 360)
CHUNKS = {"lat": 30, "lon": 60}


def write_forcing(path: Path, cells: int, years: int, grid: tuple[int, int]) -> None:
    """Synthetic forcing, one year at a time, appended along time to a zarr store."""
    n_lat, n_lon = grid
    for y in range(years):
        ds = synthetic_forcing(n_lat, n_lon, years=1, start=f"{2001 + y}-01-01", seed=0,
                               land_fraction=cells / (n_lat * n_lon), weather_seed=y)
        ds = ds.chunk({"time": -1, **CHUNKS})
        if y == 0:
            ds.to_zarr(path, mode="w", consolidated=False)
        else:  # static predictors and mask from the first year
            ds[[v for v in ds.data_vars if "time" in ds[v].dims]].to_zarr(path, append_dim="time",
                                                                          consolidated=False)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=15000, help="land cells (of 64,800)")
    p.add_argument("--years", type=int, default=20)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--tile", type=int, default=256, help="cells per XLA call (one compile)")
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--grid", type=int, nargs=2, default=GRID, metavar=("N_LAT", "N_LON"))
    p.add_argument("--out", default="global_run")
    a = p.parse_args(argv)
    from distributed import Client, LocalCluster

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    forcing_path, result_path = out / "forcing.zarr", out / "monthly.zarr"
    t0 = time.perf_counter()
    write_forcing(forcing_path, a.cells, a.years, tuple(a.grid))
    t_forcing = time.perf_counter() - t0

    ds = xr.open_zarr(forcing_path, consolidated=False)
    n_land = int(ds.land_mask.sum())
    with LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.register_plugin(XLAThreads(1))
        t0 = time.perf_counter()
        # input standardisation from 2,000 random land cells (read once, in the client)
        model = ds.h2cm.init_model(hidden_size=a.hidden, max_cells=2000)
        t_model = time.perf_counter() - t0
        t0 = time.perf_counter()
        monthly = ds.h2cm.run(model, outputs=OUTPUTS, freq="MS", tile=a.tile)
        t_graph = time.perf_counter() - t0
        shutil.rmtree(result_path, ignore_errors=True)
        t0 = time.perf_counter()
        monthly.to_zarr(result_path, consolidated=False)
        t_run = time.perf_counter() - t0
        stats = worker_stats(client)

    written = xr.open_zarr(result_path, consolidated=False)
    cell_days = n_land * ds.sizes["time"]
    result = {
        "land_cells": n_land, "days": int(ds.sizes["time"]), "workers": a.workers,
        "forcing_s": round(t_forcing, 1), "init_model_s": round(t_model, 1),
        "graph_s": round(t_graph, 1), "run_and_write_s": round(t_run, 1),
        "cell_days_per_s": round(2 * cell_days / t_run),  # spin-up + run: two passes
        "worker_peak_rss_mib": [round(s["peak_rss_mib"]) for s in stats.values()],
        "worker_compiles": [s["compiles"] for s in stats.values()],
        "client_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "written_mib": round(sum(f.stat().st_size for f in result_path.rglob("*")
                                 if f.is_file()) / 2**20, 1),
        "months": int(written.sizes["time"]),
        "finite_et_share": float(np.isfinite(written.et.isel(time=-1)).mean()),
    }
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
