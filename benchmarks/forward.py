"""Forward-run throughput and peak memory of the default H2CM architecture.

Usage::

    python benchmarks/forward.py                 # 1,000 and 10,000 cells x 365 days
    python benchmarks/forward.py --cells 500 --days 730 --repeats 3

Each size runs in its own subprocess so that peak memory is per size. Prints
cell-days per second of the jitted forward run (no spin-up, compile excluded),
the compile time, and peak memory: the process's peak resident set size
(``ru_maxrss``) on CPU, plus XLA's ``peak_bytes_in_use`` on an accelerator.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _measure(n_cell: int, n_days: int, repeats: int, spinup: bool) -> dict:
    import jax
    import numpy as np

    from xh2cm.core import ModelConfig, init_model, simulate

    rng = np.random.default_rng(0)
    doy = np.arange(n_days)[:, None]
    lat = rng.uniform(-50, 70, n_cell)[None, :]
    season = np.cos(2 * np.pi * (doy - 200) / 365) * np.sign(lat)
    forcing = {
        "rn": 100 + 80 * season + 20 * rng.standard_normal((n_days, n_cell)),
        "prec": rng.exponential(2.5, (n_days, n_cell)) * (rng.random((n_days, n_cell)) < 0.4),
        "tair": 15 - 0.4 * np.abs(lat) + 12 * season + 3 * rng.standard_normal((n_days, n_cell)),
        "vpd": rng.uniform(1, 25, (n_days, n_cell)),
        "co2": np.full(n_days, 400.0),
    }
    static = rng.standard_normal((n_cell, 6))
    model = init_model(ModelConfig(static_names=tuple(f"s{i}" for i in range(6))), 0, forcing,
                       static)

    t0 = time.perf_counter()
    simulate(model, forcing, static, spinup=spinup)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        simulate(model, forcing, static, spinup=spinup)
        times.append(time.perf_counter() - t0)
    best = min(times)
    dev = jax.devices()[0]
    stats = dev.memory_stats() or {}
    return {
        "cells": n_cell,
        "days": n_days,
        "spinup": spinup,
        "backend": dev.platform,
        "device": str(dev.device_kind),
        "seconds": best,
        "compile_seconds": first - best,
        "cell_days_per_s": n_cell * n_days / best,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_device_mib": stats.get("peak_bytes_in_use", 0) / 2**20 or None,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print one line per size and a JSON summary."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cells", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--spinup", action="store_true", help="include one spin-up pass (2 passes)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        print(json.dumps(_measure(args.cells[0], args.days, args.repeats, args.spinup)))
        return 0
    results = []
    for n in args.cells:
        cmd = [sys.executable, __file__, "--child", "--cells", str(n), "--days", str(args.days),
               "--repeats", str(args.repeats)] + (["--spinup"] if args.spinup else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        results.append(r)
        dev = f", device peak {r['peak_device_mib']:.0f} MiB" if r["peak_device_mib"] else ""
        print(f"{r['cells']:>6} cells x {r['days']} days on {r['backend']} ({r['device']}): "
              f"{r['cell_days_per_s']:,.0f} cell-days/s ({r['seconds']:.2f} s/run, "
              f"compile {r['compile_seconds']:.1f} s), peak RSS {r['peak_rss_mib']:.0f} MiB{dev}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
