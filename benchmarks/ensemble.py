"""k cross-validation folds trained as one batch against one single fit on the same data.

Usage::

    python benchmarks/ensemble.py                       # 10 folds, 100 cells, 1 year
    python benchmarks/ensemble.py --folds 5 --cells 400 --hidden 32 --epochs 3

Builds the benchmarks' synthetic forcing (``cases.forcing``) with monthly GPP, ET and
TWS observations from a model, assigns the cells to ``--folds`` random folds
(:func:`xh2cm.training.cv.spatial_kfold`) and trains:

- **one fit**: fold 0's model alone (:func:`xh2cm.training.train`: trains on the
  folds other than 0 and 1, validates on fold 1);
- **k folds as one batch**: every fold's model at once
  (:func:`xh2cm.training.ensemble.train_ensemble`, the ``fit(folds=k)`` backend).

Both start cold in this process (the single fit first), with the same settings, and are
timed whole (compile included) and per epoch after the first (steady state). Prints the
wall times, their ratio (the goal: k = 10 folds in at most 3x one fit on CPU), and the
number of compiles of the batched step and evaluation (one each), the training throughput
of each (cell-days per second in a steady epoch), and a loop of the k single fits in the
same process for comparison (``--no-loop``: skip it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402


def _data(n_cell: int, years: int, hidden: int):
    import numpy as np
    import pandas as pd

    from xh2cm.core import ModelConfig, init_model, simulate
    from xh2cm.training import TrainingData, month_calendar

    rng = np.random.default_rng(0)
    dates = pd.date_range("2001-01-01", periods=int(round(365.25 * years)), freq="D").values
    forcing, static, _ = cases.forcing(n_cell, dates.size, rng)
    config = ModelConfig(static_names=tuple(f"s{i}" for i in range(cases.N_STATIC)),
                         hidden_size=hidden)
    truth = init_model(config, seed=1, forcing=forcing, static=static)
    out = simulate(truth, forcing, static)
    mi, cal, _ = month_calendar(dates)
    monthly = {}
    for k in ("gpp", "et", "tws"):
        s = np.zeros((cal.size, n_cell))
        np.add.at(s, mi, out[k])
        monthly[k] = s / np.bincount(mi)[:, None]
    data = TrainingData(forcing, static, mi, cal, monthly)
    return data, init_model(config, seed=7, forcing=forcing, static=static)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--folds", type=int, default=10)
    p.add_argument("--cells", type=int, default=100)
    p.add_argument("--years", type=int, default=1)
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--loop", action=argparse.BooleanOptionalAction, default=True,
                   help="also time a loop of k single fits in this process")
    a = p.parse_args()

    import jax
    import numpy as np

    from xh2cm.training import TrainConfig, train
    from xh2cm.training.cv import spatial_kfold
    from xh2cm.training.ensemble import Member, compiles, train_ensemble

    data, model = _data(a.cells, a.years, a.hidden)
    k = a.folds
    fold = spatial_kfold(np.zeros(a.cells), np.zeros(a.cells), k, method="random")
    members = [Member(np.flatnonzero((fold != f) & (fold != (f + 1) % k)),
                      np.flatnonzero(fold == (f + 1) % k)) for f in range(k)]
    cfg = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, progress=False)
    print(f"{jax.default_backend()} ({os.cpu_count()} CPUs seen): {a.cells} cells x "
          f"{data.n_time} days, hidden {a.hidden}, batch {a.batch_size}, {a.epochs} epochs, "
          f"{k} folds ({members[0].train_cells.size} training cells each)")

    t0 = time.perf_counter()
    _, h1 = train(model, data, members[0].train_cells, members[0].val_cells, config=cfg)
    one = time.perf_counter() - t0
    before = compiles()
    t0 = time.perf_counter()
    _, hk = train_ensemble(model, data, members, config=cfg)
    batch = time.perf_counter() - t0
    after = compiles()
    steady1 = np.mean([r["seconds"] for r in h1.records[1:]]) if a.epochs > 1 else np.nan
    steadyk = np.mean([r["seconds"] for r in hk[0].records[1:]]) if a.epochs > 1 else np.nan
    print(f"one fit:                {one:8.2f} s wall ({steady1:.2f} s per epoch after the "
          "first)")
    print(f"{k} folds as one batch: {batch:8.2f} s wall ({steadyk:.2f} s per epoch after the "
          "first)")
    print(f"ratio {k} folds / one fit: {batch / one:.2f}x wall, {steadyk / steady1:.2f}x per "
          f"steady epoch (goal: <= 3x for 10 folds)")
    print(f"compiles of the batched step: {after['step'] - before['step']}, evaluation: "
          f"{after['eval'] - before['eval']}")
    rate = lambda n, s: n * data.n_time / s  # noqa: E731
    n1 = members[0].train_cells.size
    nk = sum(m.train_cells.size for m in members)
    print(f"training cell-days/s in a steady epoch: one fit {rate(n1, steady1):,.0f}, "
          f"{k} folds {rate(nk, steadyk):,.0f}")
    if a.loop:
        t0 = time.perf_counter()
        for m in members:
            train(model, data, m.train_cells, m.val_cells, config=cfg)
        loop = time.perf_counter() - t0
        print(f"loop of {k} fits after the first (same process, compiled step reused where "
              f"the folds' steps per epoch agree): {loop:8.2f} s wall")


if __name__ == "__main__":
    main()
