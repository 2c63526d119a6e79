"""A site's seed x weight sweep trained as one batch against one fit after another.

Usage::

    python benchmarks/site_sweep.py                      # US-Hn1, weights 0 0.5 1, seeds 0 1
    python benchmarks/site_sweep.py --site US-Bi1 --weights 0 0.25 0.5 0.75 1 --seeds 0 1 2

Reads the site's shared half-hourly files (:func:`xh2cm.site.workflow.load_site`), splits
them as ``python -m xh2cm site`` does (test = the test files' period, validation = the last
6 months of training) and runs :func:`xh2cm.site.tradeoff` twice in this process with the
example's training settings: ``batched=False`` (the sweep before issue 19: one ``fit`` per
weight and seed) and then ``batched=True`` (every member in one batch,
:mod:`xh2cm.training.ensemble`). Prints the wall time of each (fits and the carried runs
that score them), the number of XLA backend compiles in each (``jax.monitoring``), the
batched training step's traces (:func:`xh2cm.training.ensemble.compiles`), their ratio and
the largest difference of the test RMSEs between the two (each member is the fit it would be
alone, to round-off).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fluxtower"
FLUXES = {"US-Bi1": "US-Bi1-fluxes", "US-Hn1": "US-Hn1-fluxes-nonegle"}


def main() -> None:
    import jax
    import numpy as np

    from xh2cm.site import tradeoff
    from xh2cm.site.workflow import capacity_bounds, load_site, split
    from xh2cm.training.ensemble import compiles

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--site", default="US-Hn1", choices=sorted(FLUXES))
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--patience", type=int, default=40)
    args = p.parse_args()
    d, fx = DATA / args.site, FLUXES[args.site]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        daily = load_site([d / f"{args.site}-forcings.csv", d / f"{args.site}-forcings-test.csv"],
                          [d / f"{fx}.csv", d / f"{fx}-test.csv"])
    train, test, val = split(daily, daily.attrs["period_starts"].split()[1])
    n = {"compiles": 0}
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, _s, **_kw: n.__setitem__("compiles", n["compiles"] + (
            event == "/jax/core/compile/backend_compile_duration")))
    kw = {"validation_start": val, "weights": args.weights, "seeds": args.seeds,
          "epochs": args.epochs, "patience": args.patience, "learning_rate": 3e-3,
          "segment": None, "spinup_cycles": 3, "spinup": 3, "select_on": None,
          "model_kwargs": {"hidden_size": 16, "sm_max_scale": 100,
                           "sm_max_bounds": capacity_bounds(train)}}
    if "lai" in train:
        kw["constraints"] = {"fapar": 0.5}
    k = len(args.weights) * len(args.seeds)
    print(f"{args.site}: {k} members ({len(args.weights)} weights x {len(args.seeds)} seeds), "
          f"{train.sizes['time']} training days, epochs {args.epochs}, patience "
          f"{args.patience}")
    results, walls = {}, {}
    for batched in (False, True):
        n["compiles"], steps = 0, compiles()["step"]
        t0 = time.perf_counter()
        results[batched] = tradeoff(train, test, batched=batched, **kw)
        walls[batched] = time.perf_counter() - t0
        label = "one batch " if batched else "one by one"
        print(f"{label}: {walls[batched]:7.1f} s wall, {n['compiles']:4d} XLA compiles, "
              f"batched-step traces {compiles()['step'] - steps}, best epochs "
              f"{results[batched].best_epoch.tolist()}")
    diff = np.abs(results[True][["rmse_et", "rmse_nee"]].to_numpy()
                  - results[False][["rmse_et", "rmse_nee"]].to_numpy()).max()
    print(f"speed-up {walls[False] / walls[True]:.2f}x; largest test-RMSE difference "
          f"{diff:.2e}")


if __name__ == "__main__":
    main()
