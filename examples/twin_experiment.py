"""Twin experiment: can H2CM's training recover a known model from its own outputs?

1. Synthetic forcing (``xh2cm.datasets.synthetic_forcing``).
2. A *truth* model with known network weights and global constants
   (``xh2cm.datasets.truth_model``, constants ``TRUTH_CONSTANTS``) makes
   synthetic observations: TWS anomaly (monthly), SWE, ET, Q, NEE (daily, 10 %
   of values missing at random, SWE only from the second year), fAPAR and GPP
   (monthly) and mean annual CUE (static).
3. A fresh model (other weight seed and size, the reference's initial constants,
   ``sm_max_scale=100`` so that its soil capacity can move from ~100 mm to the
   truth's ~250 mm) is trained on them with ``fit_dataset`` and docs/model/training.md's
   loss terms (spatial folds: fold 0 = held-out test cells, fold 1 =
   validation/early stopping, the rest training).
4. Report, on the held-out cells: NSE of every constrained variable (monthly
   means, pooled over cells, in the representation of its loss term, and the
   median of per-cell NSEs), and the recovered global constants vs truth.

Run ``python examples/twin_experiment.py --help``. Defaults take ~15 min on
2 CPU cores. Priors are off by default (the recovery test); ``--priors`` turns
them on. Measured results and controls: docs/results.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import xarray as xr

import xh2cm  # noqa: F401  (registers ds.h2cm)
from xh2cm.core import global_constants, save_model, set_global_constants
from xh2cm.datasets import TRUTH_CONSTANTS, synthetic_forcing, truth_model
from xh2cm.xr.fit import fit_dataset, spatial_folds


def make_observations(truth: xr.Dataset, seed: int = 0, gaps: float = 0.1) -> xr.Dataset:
    """Synthetic observations from a truth run, at mixed resolutions with gaps."""
    rng = np.random.default_rng(seed)

    def gappy(da: xr.DataArray) -> xr.DataArray:
        return da.where(rng.random(da.shape) >= gaps) if gaps else da

    t = truth.time
    swe = gappy(truth.swe).where(t >= t[0] + np.timedelta64(365, "D"))
    cue = truth.npp.sum("time") / truth.gpp.sum("time")
    obs = xr.Dataset({
        "tws": (truth.tws_anomaly.resample(time="MS").mean() / 10.0).assign_attrs(units="cm"),
        "snw": swe.assign_attrs(units="kg m-2"),
        "evspsbl": (gappy(truth.et) / 86400.0).assign_attrs(units="kg m-2 s-1"),
        "mrro": (gappy(truth.q) / 86400.0).assign_attrs(units="kg m-2 s-1"),
        "fapar": truth.fapar.resample(time="MS").mean().assign_attrs(units="1"),
        "gpp": truth.gpp.resample(time="MS").mean().assign_attrs(units="g m-2 d-1"),
        "nee": gappy(truth.nee).assign_attrs(units="g m-2 d-1"),
        "cue": cue.where(truth.gpp.sum("time") > 0).assign_attrs(units="1"),
    })
    # SWE is observed from the second year on: a one-year run has none, and fit refuses an
    # observation without a value on the grid, so it is left out here
    return obs.drop_vars([n for n in obs.data_vars if not bool(obs[n].notnull().any())])


def nse(sim: np.ndarray, obs: np.ndarray) -> float:
    """Nash–Sutcliffe efficiency over the finite pairs."""
    ok = np.isfinite(sim) & np.isfinite(obs)
    s, o = sim[ok], obs[ok]
    den = np.sum((o - o.mean()) ** 2)
    return float(1.0 - np.sum((s - o) ** 2) / den) if den > 0 else float("nan")


def _monthly(da: xr.DataArray) -> xr.DataArray:
    return da.resample(time="MS").mean()


def _msc(da: xr.DataArray) -> xr.DataArray:
    return _monthly(da).groupby("time.month").mean()


def _iav_regional(da: xr.DataArray, cells: xr.DataArray) -> np.ndarray:
    m = _monthly(da).where(cells)
    anom = m.groupby("time.month") - m.groupby("time.month").mean()
    w = np.cos(np.deg2rad(da.lat)).broadcast_like(m).where(cells)
    return ((anom * w).sum(("lat", "lon")) / w.sum(("lat", "lon"))).values


def evaluate(fit: xr.Dataset, truth: xr.Dataset, cells: xr.DataArray) -> dict[str, dict]:
    """NSE of the fitted model vs truth on ``cells`` (per variable, pooled and per-cell)."""
    rep = {
        "tws_anomaly (monthly)": lambda d: _monthly(d.tws) - _monthly(d.tws).mean("time"),
        "q (daily)": lambda d: d.q,
        "swe (monthly)": lambda d: _monthly(d.swe),
        "et (monthly)": lambda d: _monthly(d.et),
        "et (msc)": lambda d: _msc(d.et),
        "q (monthly)": lambda d: _monthly(d.q),
        "q (msc)": lambda d: _msc(d.q),
        "fapar (monthly)": lambda d: _monthly(d.fapar),
        "gpp (monthly)": lambda d: _monthly(d.gpp),
        "gpp (msc)": lambda d: _msc(d.gpp),
        "nee (monthly)": lambda d: _monthly(d.nee),
    }
    out: dict[str, dict] = {}
    for name, f in rep.items():
        s, o = f(fit).where(cells), f(truth).where(cells)
        tdim = "time" if "time" in s.dims else "month"
        per_cell = [nse(s.values[..., i, j], o.values[..., i, j])
                    for i, j in zip(*np.nonzero(cells.values), strict=True)]
        per_cell = [v for v in per_cell if np.isfinite(v)]
        out[name] = {"pooled": nse(s.values, o.values),
                     "median_cell": float(np.median(per_cell)) if per_cell else float("nan"),
                     "dim": tdim}
    out["nee_iav (regional)"] = {"pooled": nse(_iav_regional(fit.nee, cells),
                                               _iav_regional(truth.nee, cells)),
                                 "median_cell": float("nan")}
    cue = lambda d: (d.npp.sum("time") / d.gpp.sum("time")).where(cells)  # noqa: E731
    # beta_CO2 and WUE enter GPP only as a product (GPP = T * WUE * CO2 * beta_CO2): this
    # product is what the data can identify, whatever beta_CO2 alone does.
    wue_eff = lambda d: _monthly((d.wue * d.beta_co2).where(d.tr > 0.05))  # noqa: E731
    s, o = wue_eff(fit).where(cells), wue_eff(truth).where(cells)
    ok = np.isfinite(s.values) & np.isfinite(o.values)
    out["wue*beta_co2 (monthly)"] = {
        "pooled": nse(s.values, o.values),
        "median_cell": float("nan"),
        "mean_rel_error": float(s.values[ok].mean() / o.values[ok].mean() - 1.0),
        "rel_rmse": float(np.sqrt(np.mean((s.values[ok] - o.values[ok]) ** 2))
                          / o.values[ok].mean())}
    out["cue (static)"] = {"pooled": nse(cue(fit).values, cue(truth).values),
                           "median_cell": float("nan")}
    return out


def init_model(ds: xr.Dataset, hidden: int, seed: int, init: str = "", base=None,
               sm_max_scale: float = 1.0):
    """A fresh model (standardisation from all land cells), or ``base``; constants from
    ``init``."""
    model = base if base is not None else ds.h2cm.init_model(
        seed=seed, hidden_size=hidden, max_cells=None, sm_max_scale=sm_max_scale)
    values = dict(kv.split("=") for kv in init.split(",") if kv)
    return set_global_constants(model, **{k: float(v) for k, v in values.items()})


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-lat", type=int, default=12)
    p.add_argument("--n-lon", type=int, default=24)
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--truth-hidden", type=int, default=16)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--patience", type=int, default=100)
    p.add_argument("--sm-max-scale", type=float, default=100.0,
                   help="ModelConfig.sm_max_scale of the fitted model (1: the reference's "
                        "parametrisation, whose sm_max barely moves from ~100 mm in the "
                        "few thousand steps of this experiment; the truth's is ~250 mm)")
    p.add_argument("--priors", action="store_true", help="use the beta_CO2 and Q10 priors")
    p.add_argument("--prior-weight", type=float, default=1.0,
                   help="weight of both prior terms with --priors (DESIGN: 1)")
    p.add_argument("--daily", default="",
                   help="loss terms compared at daily resolution instead of the reference's "
                        "monthly / seasonal-cycle ones, e.g. 'q' (daily runoff; a control "
                        "in docs/results.md)")
    p.add_argument("--equilibrium-gradient", action=argparse.BooleanOptionalAction,
                   default=True,
                   help="re-attach the spun-up groundwater to beta_base "
                        "(TrainConfig.equilibrium_gradient; --no-equilibrium-gradient: "
                        "the reference training)")
    p.add_argument("--spinup-cycles", type=int, default=1)
    p.add_argument("--spinup-gradient", action="store_true",
                   help="differentiate through the spin-up (TrainConfig.spinup_gradient)")
    p.add_argument("--constants-lr-scale", type=float, default=10.0,
                   help="learning rate of the global constants relative to the networks' "
                        "(10: the constants settle within ~50 epochs, see docs/results.md)")
    p.add_argument("--init", default="",
                   help="initial global constants of the fresh model, e.g. "
                        "'q10=3,beta_co2=0.003' (identifiability check; default: the "
                        "reference initial values)")
    p.add_argument("--start-from-truth", action="store_true",
                   help="control run: start from the truth model's networks (constants from "
                        "--init, else truth's), to check that truth is a minimum of the loss")
    p.add_argument("--folds", type=int, default=0,
                   help="k-fold cross-validation instead of one fit: k models trained as one "
                        "batch (fit(folds=k)), scored out of fold on every land cell, "
                        "constants as ensemble mean +- std")
    p.add_argument("--resume", action="store_true",
                   help="with --folds: continue from the checkpoints in --out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("twin_out"))
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    a.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    ds = synthetic_forcing(n_lat=a.n_lat, n_lon=a.n_lon, years=a.years, seed=a.seed)
    truth_m = truth_model(ds, hidden_size=a.truth_hidden)
    truth = ds.h2cm.run(truth_m)
    obs = make_observations(truth, seed=a.seed)
    folds = spatial_folds(ds, k=5, block_size=30.0, seed=a.seed)
    test = folds == 0
    print(f"grid {a.n_lat}x{a.n_lon}, {int((folds >= 0).sum())} land cells "
          f"({int(test.sum())} held out), {ds.sizes['time']} days", flush=True)

    if a.folds:
        return fold_experiment(a, ds, truth, obs, t0)
    if a.start_from_truth:
        start = init_model(ds, hidden=a.truth_hidden, seed=a.seed + 1, init=a.init,
                           base=truth_m)
    else:
        start = init_model(ds, hidden=a.hidden, seed=a.seed + 1, init=a.init,
                           sm_max_scale=a.sm_max_scale)
    trajectory: list[dict[str, float]] = []

    def track(epoch, model, _history):
        trajectory.append({"epoch": epoch, **global_constants(model)})

    model, hist = fit_dataset(
        ds, obs, start, cells=(folds >= 0) & ~test, validation=folds == 1, priors=a.priors,
        kinds={t: "daily" for t in a.daily.split(",") if t},
        weights={"prior_q10": a.prior_weight, "prior_beta_co2": a.prior_weight},
        epochs=a.epochs, equilibrium_gradient=a.equilibrium_gradient,
        spinup_cycles=a.spinup_cycles, constants_lr_scale=a.constants_lr_scale,
        spinup_gradient=a.spinup_gradient,
        batch_size=a.batch_size, learning_rate=a.lr, patience=a.patience, seed=a.seed,
        progress=not a.quiet, callback=track, checkpoint_dir=str(a.out / "checkpoints"),
        checkpoint_every=25)
    fit = ds.h2cm.run(model)
    scores = evaluate(fit, truth, test)
    consts = global_constants(model)
    result = {
        "settings": vars(a) | {"out": str(a.out)},
        "seconds": time.perf_counter() - t0,
        "epochs_run": int(hist.sizes["epoch"]),
        "best_epoch": int(hist.attrs["best_epoch"]),
        "nse_test": scores,
        "initial_constants": global_constants(start),
        "constants": {k: {"fitted": consts[k], "truth": TRUTH_CONSTANTS[k],
                          "rel_error": consts[k] / TRUTH_CONSTANTS[k] - 1.0}
                      for k in TRUTH_CONSTANTS},
        "constants_by_epoch": trajectory,
        "final_loss": {str(t): [float(v) for v in hist[t].isel(epoch=-1).values]
                       for t in json.loads(hist.attrs["terms"]) + ["total"]},
    }
    hist.to_netcdf(a.out / "history.nc")
    save_model(a.out / "model.eqx", model)
    (a.out / "result.json").write_text(json.dumps(result, indent=2))

    print(f"\ntrained {result['epochs_run']} epochs (best {result['best_epoch']}) in "
          f"{result['seconds'] / 60:.1f} min")
    print(f"\n{'variable':24s} {'NSE pooled':>11s} {'median cell':>12s}")
    for k, v in scores.items():
        extra = (f"  (mean {v['mean_rel_error']:+.1%}, RMSE {v['rel_rmse']:.1%} of mean)"
                 if "mean_rel_error" in v else "")
        print(f"{k:24s} {v['pooled']:11.3f} {v['median_cell']:12.3f}{extra}")
    print(f"\n{'constant':10s} {'initial':>10s} {'fitted':>10s} {'truth':>10s} {'rel.err':>8s}")
    for k, v in result["constants"].items():
        print(f"{k:10s} {result['initial_constants'][k]:10.4g} {v['fitted']:10.4g} "
              f"{v['truth']:10.4g} {v['rel_error']:8.1%}")
    return result


def fold_experiment(a: argparse.Namespace, ds: xr.Dataset, truth: xr.Dataset,
                    obs: xr.Dataset, t0: float) -> dict:
    """``--folds k``: the k fold models trained as one batch, scored out of fold."""
    if a.start_from_truth or a.init:
        raise SystemExit("--folds starts every member fresh: drop --start-from-truth/--init")
    ens, hist = fit_dataset(
        ds, obs, folds=a.folds, block_size=30.0, priors=a.priors,
        kinds={t: "daily" for t in a.daily.split(",") if t},
        weights={"prior_q10": a.prior_weight, "prior_beta_co2": a.prior_weight},
        epochs=a.epochs, equilibrium_gradient=a.equilibrium_gradient,
        spinup_cycles=a.spinup_cycles, constants_lr_scale=a.constants_lr_scale,
        spinup_gradient=a.spinup_gradient, batch_size=a.batch_size, learning_rate=a.lr,
        patience=a.patience, seed=a.seed, progress=not a.quiet, model_seed=a.seed + 1,
        model_kwargs={"hidden_size": a.hidden, "sm_max_scale": a.sm_max_scale},
        checkpoint_dir=str(a.out / "checkpoints"), checkpoint_every=25, resume=a.resume)
    oof = ds.h2cm.run(ens, out_of_fold=True)
    held = hist.fold >= 0
    for k in TRUTH_CONSTANTS:  # per cell: the constant of the member that held it out
        oof[k] = oof[k].isel(member=hist.fold.clip(0)).where(held)
    scores = evaluate(oof, truth, held)
    each = [global_constants(m) for m in ens]
    consts = {k: {"mean": float(np.mean([e[k] for e in each])),
                  "std": float(np.std([e[k] for e in each], ddof=1)),
                  "members": [e[k] for e in each], "truth": TRUTH_CONSTANTS[k]}
              for k in TRUTH_CONSTANTS}
    result = {"settings": vars(a) | {"out": str(a.out)},
              "seconds": time.perf_counter() - t0,
              "best_epoch": json.loads(hist.attrs["best_epoch"]),
              "epochs_run": int(hist.sizes["epoch"]), "nse_out_of_fold": scores,
              "constants": consts}
    ens.save(a.out / "ensemble.eqx")
    hist.to_netcdf(a.out / "history.nc")
    (a.out / "result.json").write_text(json.dumps(result, indent=2))
    print(f"\n{a.folds} folds as one batch, best epochs {result['best_epoch']}, "
          f"{result['seconds'] / 60:.1f} min")
    print(f"\n{'variable (out of fold)':24s} {'NSE pooled':>11s} {'median cell':>12s}")
    for k, v in scores.items():
        print(f"{k:24s} {v['pooled']:11.3f} {v['median_cell']:12.3f}")
    print(f"\n{'constant':10s} {'mean':>10s} {'std':>10s} {'truth':>10s} {'(mean-truth)/std':>17s}"
          "  members")
    for k, v in consts.items():
        z = (v["mean"] - v["truth"]) / v["std"] if v["std"] > 0 else float("nan")
        print(f"{k:10s} {v['mean']:10.4g} {v['std']:10.2g} {v['truth']:10.4g} {z:17.1f}  "
              + " ".join(f"{m:.4g}" for m in v["members"]))
    return result


if __name__ == "__main__":
    main()
