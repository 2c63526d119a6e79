"""Scaling of a run: direct jitted call, in-memory ``ds.h2cm.run``, dask (threads) and a
``LocalCluster`` with 1 and 2 workers, on a grid 10 blocks large.

Prints cell-days/s for each path, the dask paths' overhead relative to one direct call,
the compiles per worker and the peak resident memory per worker. Everything in one run, so
the figures compare as ratios on a shared machine.

The dask paths read the forcing from a zarr store in a temporary folder (as a real run
would: workers read their own chunks) and run with ``tile=`` (one compile per worker);
the direct call and the in-memory run have the data in memory.

    python benchmarks/dask_scaling.py [--lat 20 --lon 50 --years 3 --blocks 10 --tile 256]
"""

from __future__ import annotations

import argparse
import resource
import time

import dask
import numpy as np

import xh2cm
from xh2cm.cf.prepare import prepare
from xh2cm.core import simulate


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(fn, repeat: int = 2) -> float:
    fn()  # warm-up: compile
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return float(best)


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lat", type=int, default=20)
    p.add_argument("--lon", type=int, default=50)
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--blocks", type=int, default=10, help="spatial blocks (along lon)")
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--tile", type=int, default=256, help="cells per XLA call in dask paths")
    args = p.parse_args(argv)
    ds = xh2cm.datasets.synthetic_forcing(n_lat=args.lat, n_lon=args.lon, years=args.years)
    model = ds.h2cm.init_model(hidden_size=args.hidden)
    prep = prepare(ds, static=tuple(model.config.static_names))
    cells = prep.cells()
    forcing, static = prep.arrays(cells)
    cell_days = cells.size * ds.sizes["time"]
    block = -(-args.lon // args.blocks)
    print(f"grid {args.lat} x {args.lon} ({cells.size} land cells) x {ds.sizes['time']} days, "
          f"{args.blocks} blocks of <= {args.lat * block} cells, hidden {args.hidden}")
    fig: dict[str, float] = {}
    fig["direct"] = _timed(lambda: simulate(model, forcing, static, spinup=False))
    fig["in-memory run"] = _timed(lambda: ds.h2cm.run(model, spinup=False))
    import tempfile

    import xarray as xr

    tmp = tempfile.TemporaryDirectory()
    ds.chunk(lon=block, time=-1).to_zarr(f"{tmp.name}/f.zarr", consolidated=False)
    chunked = xr.open_zarr(f"{tmp.name}/f.zarr", consolidated=False)
    tile = args.tile
    with dask.config.set(scheduler="threads"):
        fig["dask threads"] = _timed(lambda: chunked.h2cm.run(
            model, spinup=False, tile=tile).compute())
        fig["dask threads, monthly"] = _timed(lambda: chunked.h2cm.run(
            model, spinup=False, freq="MS", outputs=["et", "gpp", "nee", "tws"],
            tile=tile).compute())
    from distributed import Client, LocalCluster

    memory: dict[str, list[float]] = {}
    counts: dict[str, list[int]] = {}
    from xh2cm.xr.cluster import XLAThreads, worker_stats

    for workers in (1, 2):
        # one task at a time per worker; XLA threads: all cores for 1 worker, 1 core each
        # for 2 (XLAThreads pins each worker to its own core before JAX starts there)
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            if workers > 1:
                client.register_plugin(XLAThreads(1))
            key = f"LocalCluster {workers} worker(s)"
            fig[key] = _timed(lambda: chunked.h2cm.run(
                model, spinup=False, freq="MS", outputs=["et", "gpp", "nee", "tws"],
                tile=tile).compute())
            stats = worker_stats(client)
            counts[key] = [s["compiles"]["forward"] for s in stats.values()]
            memory[key] = [s["peak_rss_mib"] for s in stats.values()]
    print(f"{'path':32s} {'s':>8s} {'cell-days/s':>12s} {'vs direct':>10s}")
    for name, sec in fig.items():
        print(f"{name:32s} {sec:8.2f} {cell_days / sec:12.0f} {sec / fig['direct']:9.2f}x")
    for key in counts:
        print(f"{key}: compiles per worker {counts[key]}, peak memory per worker "
              f"{', '.join(f'{m:.0f}' for m in memory[key])} MiB")
    print(f"this process: peak {_peak_mb():.0f} MB")
    return fig


if __name__ == "__main__":
    main()
