"""Training throughput and peak memory: one jitted step = spin-up + forward + backward + update.

Usage::

    python benchmarks/train.py                    # 1 32 256 1000 1024 1040 4096 cells, 1 year
    python benchmarks/train.py --cells 15000 --years 10 --batch-size 1000   # the GPU size
    python benchmarks/train.py --cells 200 --years 1 --hidden 32 --segment none

Runs on whatever JAX backend is installed (CPU, GPU, TPU). Builds random but
physically shaped forcing and dense monthly observations of every constraint
(all loss terms active), runs one epoch of ``--batch-size`` cell batches
after a compile / warm-up step, and prints:

- compile time of the train step;
- throughput in cell-days per second of the train step (spin-up pass, forward
  and backward pass with gradient checkpointing as configured, update);
- peak memory: the process's peak resident set size (``ru_maxrss``, includes
  the data and XLA's CPU buffers) and, on an accelerator, XLA's
  ``peak_bytes_in_use`` on the device;
- beside it, the machine's large-matmul peak (``machine.matmul_peak``) and the fraction
  reached, counting a train step as (spin-up cycles + 3) forward passes of nominal FLOPs
  (``machine.forward_flops``; forward + backward = 3 forward passes; the recomputation
  that gradient checkpointing adds is not counted as useful work).

Each cell count runs in its own subprocess (peak memory per size); the batch is
``min(--batch-size, cells)`` cells.

Each ``--segment`` value can be compared (``none`` = no gradient
checkpointing: more memory, less compute).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402
from machine import describe, forward_flops, matmul_peak  # noqa: E402

CELLS = [1, 32, 256, 1000, 1024, 1040, 4096]
SPINUP_CYCLES = 1


def _data(n_cell: int, years: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    from xh2cm.training import TrainingData, month_calendar

    rng = np.random.default_rng(seed)
    dates = pd.date_range("2001-01-01", periods=int(round(365.25 * years)), freq="D").values
    n_days = dates.size
    f32 = np.float32
    forcing, static, lat = cases.forcing(n_cell, n_days, rng)
    forcing = {k: v.astype(f32) for k, v in forcing.items()}
    static = static.astype(f32)
    mi, cal, _ = month_calendar(dates)
    nm = cal.size
    monthly = {k: rng.normal(size=(nm, n_cell)).astype(f32)
               for k in ("tws", "swe", "et", "q", "fapar", "gpp", "nee")}
    return TrainingData(forcing, static, mi, cal, monthly, rng.uniform(0.3, 0.6, n_cell),
                        np.cos(np.deg2rad(lat)))


def measure(n_cell: int, years: int, hidden: int, batch_size: int, segment, steps: int | None,
            matmul_dtype: str = "float32") -> dict:
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    from xh2cm.core import ModelConfig, init_model, trainable_filter
    from xh2cm.training import LossSpec, TrainConfig, make_optimizer, observation_scales
    from xh2cm.training.trainer import train_step

    t0 = time.perf_counter()
    data = _data(n_cell, years)
    t_data = time.perf_counter() - t0
    cfg = TrainConfig(batch_size=batch_size, segment=segment, progress=False)
    seg = cfg.segment_for(data.n_time)
    names = tuple(f"s{i}" for i in range(cases.N_STATIC))
    model = init_model(ModelConfig(static_names=names, hidden_size=hidden,
                                   matmul_dtype=matmul_dtype), 0,
                       forcing=data.forcing, static=data.static)
    spec = LossSpec.for_observations(data.available)
    bs = min(batch_size, n_cell)
    n_steps = steps or math.ceil(n_cell / bs)
    opt = make_optimizer(cfg, n_steps)
    opt_state = opt.init(eqx.filter(model, trainable_filter(model)))
    cells = np.arange(n_cell)
    scales = {k: jnp.asarray(v, jnp.float32)
              for k, v in observation_scales(data.obs(cells[:bs]), spec).items()}

    def step(model, opt_state, i):
        idx = cells[(i * bs) % n_cell:][:bs]
        return train_step(model, opt_state, *data.batch(idx, bs), scales, opt, spec, SPINUP_CYCLES,
                          seg)

    t0 = time.perf_counter()
    model, opt_state, total, _, _ = step(model, opt_state, 0)
    jax.block_until_ready(total)
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(n_steps):
        model, opt_state, total, _, ok = step(model, opt_state, i + 1)
    jax.block_until_ready(total)
    dt = time.perf_counter() - t0
    dev = jax.devices()[0]
    out = {
        "backend": jax.default_backend(), "device": str(dev), "cells": n_cell,
        "years": years, "days": data.n_time, "hidden": hidden, "batch_size": bs,
        "segment": seg, "steps": n_steps, "data_s": round(t_data, 2),
        "compile_s": round(t_compile, 2), "step_s": round(dt / n_steps, 4),
        "cell_days_per_s": round(bs * data.n_time * n_steps / dt, 1),
        "last_loss": float(total), "last_step_finite": bool(ok),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "flops_per_cell_day": (SPINUP_CYCLES + 3) * forward_flops(model.config),
    }
    stats = dev.memory_stats() if hasattr(dev, "memory_stats") else None
    if stats and "peak_bytes_in_use" in stats:
        out["device_peak_mb"] = round(stats["peak_bytes_in_use"] / 2**20, 1)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, nargs="+", default=CELLS)
    p.add_argument("--years", type=int, default=1)
    p.add_argument("--hidden", type=int, default=100, help="LSTM hidden size (reference 100)")
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--segment", default="auto",
                   help="gradient-checkpoint segment in days, 'auto' (sqrt(days)) or 'none'")
    p.add_argument("--steps", type=int, default=None,
                   help="timed steps (default: one epoch over --cells, at least 2)")
    p.add_argument("--bf16", action="store_true", help="bfloat16 LSTM products (matmul_dtype)")
    p.add_argument("--json", action="store_true", help="print one JSON line per size only")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    seg = None if a.segment == "none" else ("auto" if a.segment == "auto" else int(a.segment))
    if a.child:
        bs = min(a.batch_size, a.cells[0])
        steps = a.steps or max(2, math.ceil(a.cells[0] / bs))
        dtype = "bfloat16" if a.bf16 else "float32"
        print(json.dumps(measure(a.cells[0], a.years, a.hidden, a.batch_size, seg, steps, dtype)))
        return
    peak = matmul_peak()
    if not a.json:
        print(f"{describe()}; large-matmul peak {peak:.0f} GFLOP/s float32")
        print(f"train step = spin-up ({SPINUP_CYCLES} pass) + forward + backward + Adam update, "
              f"{a.years} year(s), hidden {a.hidden}, checkpoint segment {a.segment}, LSTM "
              f"products {'bfloat16' if a.bf16 else 'float32'}")
        print(f"{'cells':>6} {'batch':>6} {'step s':>8} {'cell-days/s':>12} {'GFLOP/s':>8} "
              f"{'of peak':>8} {'compile s':>9} {'peak RSS MiB':>12}")
    for n in a.cells:
        cmd = [sys.executable, __file__, "--child", "--cells", str(n), "--years", str(a.years),
               "--hidden", str(a.hidden), "--batch-size", str(a.batch_size),
               "--segment", a.segment] + (["--steps", str(a.steps)] if a.steps else []) + (
                   ["--bf16"] if a.bf16 else [])
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True)
                       .stdout.strip().splitlines()[-1])
        gf = r["cell_days_per_s"] * r["flops_per_cell_day"] / 1e9
        r.update(peak_gflops=peak, gflops=gf, fraction_of_peak=gf / peak)
        if a.json:
            print(json.dumps(r), flush=True)
            continue
        dev = f" (device peak {r['device_peak_mb']:,.0f} MiB)" if "device_peak_mb" in r else ""
        print(f"{n:>6} {r['batch_size']:>6} {r['step_s']:>8.3f} {r['cell_days_per_s']:>12,.0f} "
              f"{gf:>8.1f} {gf / peak:>8.0%} {r['compile_s']:>9.1f} {r['peak_rss_mb']:>12,.0f}"
              f"{dev}", flush=True)


if __name__ == "__main__":
    main()
