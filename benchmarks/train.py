"""Training throughput and peak memory: one jitted step = spin-up + forward + backward + update.

Usage::

    python benchmarks/train.py                            # 1,000 cells x 2 years (CPU size)
    python benchmarks/train.py --cells 15000 --years 10   # the GPU size
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
  ``peak_bytes_in_use`` on the device.

Each ``--segment`` value can be compared (``none`` = no gradient
checkpointing: more memory, less compute).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import time


def _data(n_cell: int, years: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    from xh2cm.training import TrainingData, month_calendar

    rng = np.random.default_rng(seed)
    dates = pd.date_range("2001-01-01", periods=int(round(365.25 * years)), freq="D").values
    n_days = dates.size
    doy = np.arange(n_days)[:, None]
    lat = rng.uniform(-50, 70, n_cell)[None, :]
    season = np.cos(2 * np.pi * (doy - 200) / 365) * np.sign(lat)
    f32 = np.float32
    forcing = {
        "rn": (100 + 80 * season + 20 * rng.standard_normal((n_days, n_cell))).astype(f32),
        "prec": (rng.exponential(2.5, (n_days, n_cell))
                 * (rng.random((n_days, n_cell)) < 0.4)).astype(f32),
        "tair": (15 - 0.4 * np.abs(lat) + 12 * season
                 + 3 * rng.standard_normal((n_days, n_cell))).astype(f32),
        "vpd": rng.uniform(1, 25, (n_days, n_cell)).astype(f32),
        "co2": np.full(n_days, 400.0, f32),
    }
    static = rng.normal(size=(n_cell, 6)).astype(f32)
    mi, cal, _ = month_calendar(dates)
    nm = cal.size
    monthly = {k: rng.normal(size=(nm, n_cell)).astype(f32)
               for k in ("tws", "swe", "et", "q", "fapar", "gpp", "nee")}
    return TrainingData(forcing, static, mi, cal, monthly, rng.uniform(0.3, 0.6, n_cell),
                        np.cos(np.deg2rad(lat[0])))


def measure(n_cell: int, years: int, hidden: int, batch_size: int, segment, steps: int | None
            ) -> dict:
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
    names = tuple(f"s{i}" for i in range(6))
    model = init_model(ModelConfig(static_names=names, hidden_size=hidden), 0,
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
        return train_step(model, opt_state, *data.batch(idx, bs), scales, opt, spec, 1, seg)

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
    }
    stats = dev.memory_stats() if hasattr(dev, "memory_stats") else None
    if stats and "peak_bytes_in_use" in stats:
        out["device_peak_mb"] = round(stats["peak_bytes_in_use"] / 2**20, 1)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=1000)
    p.add_argument("--years", type=int, default=2)
    p.add_argument("--hidden", type=int, default=100, help="LSTM hidden size (reference 100)")
    p.add_argument("--batch-size", type=int, default=250)
    p.add_argument("--segment", default="auto",
                   help="gradient-checkpoint segment in days, 'auto' (sqrt(days)) or 'none'")
    p.add_argument("--steps", type=int, default=None,
                   help="timed steps (default: one epoch over --cells)")
    p.add_argument("--json", action="store_true", help="print one JSON line only")
    a = p.parse_args(argv)
    seg = None if a.segment == "none" else ("auto" if a.segment == "auto" else int(a.segment))
    r = measure(a.cells, a.years, a.hidden, a.batch_size, seg, a.steps)
    if a.json:
        print(json.dumps(r))
        return
    print(f"backend {r['backend']} ({r['device']})")
    print(f"{r['cells']} cells x {r['days']} days, hidden {r['hidden']}, batch {r['batch_size']}, "
          f"checkpoint segment {r['segment']}")
    print(f"compile + first step: {r['compile_s']:.1f} s")
    print(f"train step (spin-up + forward + backward + update): {r['step_s']:.3f} s "
          f"-> {r['cell_days_per_s']:,.0f} cell-days/s over {r['steps']} steps")
    print(f"peak RSS (ru_maxrss): {r['peak_rss_mb']:,.0f} MiB")
    if "device_peak_mb" in r:
        print(f"device peak (XLA peak_bytes_in_use): {r['device_peak_mb']:,.0f} MiB")


if __name__ == "__main__":
    main()
