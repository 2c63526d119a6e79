"""Forward-run throughput of the default H2CM architecture against the machine's matmul peak.

Usage::

    python benchmarks/forward.py                       # 1 32 256 1000 1024 1040 4096 cells
    python benchmarks/forward.py --cells 500 15000 --days 730 --repeats 3 --bf16

First measures the large-matmul peak of the JAX device (``machine.matmul_peak``), then, for
each cell count in its own subprocess (so peak memory is per size), prints cell-days per
second (best of ``--repeats``, compile excluded, no spin-up) of

- ``direct``: the jitted core on exactly n cells (``xh2cm.core.api._forward``);
- ``simulate``: the user path (NumPy in and out, cells padded to ``bucket(n)``), and its
  ratio to ``direct``;
- ``bf16`` (with ``--bf16``): the direct call with ``matmul_dtype="bfloat16"``;

each with its nominal GFLOP/s (``machine.forward_flops`` per cell-day) and the fraction of
the float32 matmul peak it reaches, the compile time and the process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402
from machine import describe, forward_flops, matmul_peak  # noqa: E402

CELLS = [1, 32, 256, 1000, 1024, 1040, 4096]


def _best(fn, repeats: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), first - min(times)


def _measure(n_cell: int, n_days: int, repeats: int, bf16: bool) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from xh2cm.core import Forcing, ModelConfig, init_model, simulate, with_matmul_dtype
    from xh2cm.core.api import _forward, bucket

    forcing, static, _ = cases.forcing(n_cell, n_days, np.random.default_rng(0))
    model = init_model(ModelConfig(static_names=tuple(f"s{i}" for i in range(cases.N_STATIC))),
                       0, forcing, static)
    f = Forcing.from_mapping(forcing)
    s = jnp.asarray(static, jnp.float32)
    paths = {"direct": lambda: jax.block_until_ready(_forward(model, f, s, 0, None)),
             "simulate": lambda: simulate(model, forcing, static, spinup=False)}
    if bf16:
        fast = with_matmul_dtype(model, "bfloat16")
        paths["bf16"] = lambda: jax.block_until_ready(_forward(fast, f, s, 0, None))
    out = {"cells": n_cell, "days": n_days, "padded": bucket(n_cell)}
    for name, fn in paths.items():
        best, compile_s = _best(fn, repeats)
        out[name] = {"seconds": best, "compile_s": compile_s,
                     "cell_days_per_s": n_cell * n_days / best}
    out["flops_per_cell_day"] = forward_flops(model.config)
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print one block per cell count and a JSON summary."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cells", type=int, nargs="+", default=CELLS)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--bf16", action="store_true", help="also time bfloat16 LSTM products")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        print(json.dumps(_measure(args.cells[0], args.days, args.repeats, args.bf16)))
        return 0
    peak = matmul_peak()
    peak16 = matmul_peak("bfloat16") if args.bf16 else None
    print(f"{describe()}; large-matmul peak {peak:.0f} GFLOP/s float32"
          + (f", {peak16:.0f} GFLOP/s bfloat16" if peak16 else ""))
    print(f"{'cells':>6} {'path':>9} {'cell-days/s':>12} {'GFLOP/s':>8} {'of peak':>8} "
          f"{'vs direct':>9} {'compile s':>9} {'peak RSS MiB':>12}")
    results = []
    for n in args.cells:
        cmd = [sys.executable, __file__, "--child", "--cells", str(n), "--days", str(args.days),
               "--repeats", str(args.repeats)] + (["--bf16"] if args.bf16 else [])
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True)
                       .stdout.strip().splitlines()[-1])
        r["peak_gflops"] = peak
        results.append(r)
        for name in ("direct", "simulate", "bf16"):
            if name not in r:
                continue
            m = r[name]
            gf = m["cell_days_per_s"] * r["flops_per_cell_day"] / 1e9
            m["gflops"], m["fraction_of_peak"] = gf, gf / peak
            m["vs_direct"] = m["cell_days_per_s"] / r["direct"]["cell_days_per_s"]
            label = f"{name}" + (f"({r['padded']})" if name == "simulate" else "")
            print(f"{n:>6} {label:>9} {m['cell_days_per_s']:>12,.0f} {gf:>8.1f} "
                  f"{gf / peak:>8.0%} {m['vs_direct']:>9.2f} {m['compile_s']:>9.1f} "
                  f"{r['peak_rss_mib']:>12,.0f}", flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
