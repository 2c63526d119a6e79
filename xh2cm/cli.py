"""Command-line interface: ``python -m xh2cm {demo,site,info}`` (console script ``xh2cm``).

``demo``
    Generate synthetic forcing, build the truth model, run it through
    ``ds.h2cm.run``, print a summary, write the outputs (NetCDF) and the model
    (``.eqx``).
``site``
    The site-mode workflow on one flux tower's half-hourly files
    (:func:`xh2cm.site.workflow.site_workflow`): read, aggregate to days, train the hybrid
    with its weight chosen on validation data, every baseline, test-period scores
    (``scores.csv``, ``scores_per_seed.csv``, ``tradeoff.csv``, ``predictions.nc``,
    ``water_budget.csv``).
``info``
    Print versions of xh2cm and its main dependencies, and the JAX devices.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm._version import __version__
from xh2cm.cf.registry import as_carbon

#: Where ``demo`` writes (its folder is git-ignored): the outputs (~100 MB) and the model.
DEMO_OUT = Path("h2cm_demo_out") / "h2cm_demo.nc"

#: Outputs summarised by ``demo`` as area-weighted global means.
SUMMARY_FLUXES = ("gpp", "nee", "et", "q")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xh2cm",
        description="xh2cm: hybrid (neural network + process) modelling of the coupled "
        "terrestrial water and carbon cycles (H2CM) in JAX.",
    )
    p.add_argument("--version", action="version", version=f"xh2cm {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser(
        "demo",
        help="run the truth model on synthetic forcing and write NetCDF + model",
        description="Generate synthetic daily forcing, build the truth model "
        "(xh2cm.datasets.truth_model), run it with ds.h2cm.run (with spin-up), print a "
        "summary and write the outputs to NetCDF and the model next to them (.eqx).",
    )
    d.add_argument("--out", default=DEMO_OUT, type=Path,
                   help="output NetCDF file (default: %(default)s, in a folder of its own, "
                   "which the repository's .gitignore lists); the model goes to the same "
                   "name with suffix .eqx")
    d.add_argument("--seed", type=int, default=0, help="forcing seed (default: %(default)s)")
    d.add_argument("--model-seed", type=int, default=1234,
                   help="truth model weight seed (default: %(default)s)")
    d.add_argument("--years", type=int, default=5, help="years of daily forcing (default: 5)")
    d.add_argument("--n-lat", type=int, default=20, help="grid rows (default: %(default)s)")
    d.add_argument("--n-lon", type=int, default=40, help="grid columns (default: %(default)s)")
    d.add_argument("--hidden-size", type=int, default=100,
                   help="LSTM hidden size (default: %(default)s)")
    d.set_defaults(func=_demo)

    _site_parser(sub)
    i = sub.add_parser("info", help="print versions and JAX devices",
                       description="Print versions of xh2cm and its dependencies.")
    i.set_defaults(func=_info)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xh2cm`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status (0 on success).
    """
    args = _parser().parse_args(argv)
    return int(args.func(args) or 0)


# ----------------------------------------------------------------------------- demo


def area_weighted_mean(da: xr.DataArray) -> float:
    """Mean over all dims, weighted by cos(latitude) when ``da`` has a ``lat`` coordinate.

    NaN (ocean) values are skipped.
    """
    if "lat" in da.coords:
        w = np.cos(np.deg2rad(da["lat"])).clip(min=0)
        assert isinstance(w, xr.DataArray)
        return float(da.weighted(w).mean(skipna=True))
    return float(da.mean(skipna=True))


def summarize(out: xr.Dataset, n_land: int) -> str:
    """Short text summary of a simulation (as printed by ``demo``)."""
    from xh2cm import catalog

    t = out["time"].values
    lines = [
        f"land cells        : {n_land}",
        f"time span         : {str(t[0])[:10]} .. {str(t[-1])[:10]} ({t.size} days)",
        "global means (area-weighted by cos(lat), land only):",
    ]
    for name in SUMMARY_FLUXES:
        info = catalog.OUTPUTS[name]
        units = as_carbon(info.units) if info.group == "carbon" else info.units
        lines.append(f"  {name:<4} {area_weighted_mean(out[name]):9.3f} {units:<11}"
                     f" {info.long_name.split(' (')[0]}")
    tws = out["tws_anomaly"]
    lines.append(f"TWS anomaly range : {float(tws.min()):.1f} .. {float(tws.max()):.1f} mm")
    lines.append("global constants  : " + ", ".join(
        f"{k}={float(out[k]):.4g}" for k in catalog.GLOBAL_OUTPUTS))
    return "\n".join(lines)


def _demo(args: argparse.Namespace) -> int:
    from xh2cm.core import save_model
    from xh2cm.datasets import synthetic_forcing, truth_model

    t0 = time.perf_counter()
    out_path = Path(args.out)
    model_path = out_path.with_suffix(".eqx")
    print(f"xh2cm {__version__} demo: {args.years} yr on a {args.n_lat}x{args.n_lon} grid, "
          f"seed {args.seed}, hidden size {args.hidden_size}")

    ds = synthetic_forcing(n_lat=args.n_lat, n_lon=args.n_lon, years=args.years,
                           seed=args.seed)
    t1 = time.perf_counter()
    model = truth_model(ds, seed=args.model_seed, hidden_size=args.hidden_size)
    out = ds.h2cm.run(model)
    t2 = time.perf_counter()

    n_land = int(ds["land_mask"].sum())
    print(summarize(out, n_land))

    out.attrs["comment"] = (
        f"xh2cm demo: truth model (seed {args.model_seed}) on synthetic forcing "
        f"(seed {args.seed}); see xh2cm.datasets"
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    encoding = {k: {"zlib": True, "complevel": 1} for k, v in out.data_vars.items() if v.ndim}
    out.to_netcdf(out_path, engine="netcdf4", encoding=encoding)
    save_model(model_path, model, metadata={
        "description": "xh2cm demo truth model", "forcing_seed": args.seed,
        "model_seed": args.model_seed, "years": args.years,
    })
    t3 = time.perf_counter()
    print(f"wrote {out_path} and {model_path} (folder {out_path.parent.resolve()})")
    print(f"wall time         : {t3 - t0:.1f} s (forcing {t1 - t0:.1f} s, model run "
          f"{t2 - t1:.1f} s incl. compilation, writing {t3 - t2:.1f} s)")
    return 0


# ----------------------------------------------------------------------------- site


def _site_parser(sub: Any) -> None:
    from xh2cm.site.carry import SPINUP
    from xh2cm.site.tradeoff import WEIGHTS
    from xh2cm.site.workflow import IRRIGATION_THRESHOLD

    s = sub.add_parser(
        "site", help="hybrid vs baselines at one flux tower: scores.csv",
        description="Read a flux tower's half-hourly forcing and flux files (one pair per "
        "period, e.g. the training and test files), aggregate to days, train the hybrid "
        "(weight on ET chosen on the validation block), run every baseline, and score "
        "daily ET and NEE on the test period (all days and measured days).")
    s.add_argument("--forcing", nargs="+", required=True, help="SITE-forcings*.csv file(s)")
    s.add_argument("--fluxes", nargs="+", required=True,
                   help="SITE-fluxes*.csv file(s), one per forcing file")
    s.add_argument("--site", help="site name (default: the forcing file's prefix)")
    s.add_argument("--era5", default="auto", help="the site's FLUXNET ERA5_DD file, whose "
                   "values replace days of straight-line fill (default: found beside the "
                   "forcing file or in a FLUXNET folder there; 'none': interpolate those "
                   "days in time, flagged)")
    s.add_argument("--test-start", help="first test day (default: the first full day of "
                   "the second file pair, else the start of the last third of the data)")
    s.add_argument("--validation-start", help="first validation day (default: the last "
                   "--validation-months whole months before --test-start)")
    s.add_argument("--validation-months", type=int, default=6)
    s.add_argument("--weights", type=float, nargs="+", default=list(WEIGHTS),
                   help="weights on ET to sweep (NEE gets 1 - w; default 0, 0.1, ..., 1)")
    s.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    s.add_argument("--epochs", type=int, default=150)
    s.add_argument("--patience", type=int, default=40)
    s.add_argument("--hidden", type=int, default=16)
    s.add_argument("--lstm-epochs", type=int, default=300)
    s.add_argument("--spinup", type=int, default=SPINUP,
                   help="spin-up passes over the training forcing (default: %(default)s)")
    s.add_argument("--fapar-weight", type=float, default=0.5,
                   help="weight of the fAPAR = 1 - exp(-0.5 LAI) constraint (0: off)")
    s.add_argument("--irrigation", type=float, nargs="?", const=IRRIGATION_THRESHOLD,
                   default=None, metavar="FRACTION", help="an irrigated site: add water "
                   "whenever the soil moisture falls below FRACTION of capacity (alone: "
                   "%(const)s)")
    s.add_argument("--learning-rates", type=float, nargs="+", default=None,
                   help="peak learning rates swept with the weights in the same batch, one "
                   "chosen on validation (default: 3e-3 alone)")
    s.add_argument("--spinup-forcing", type=Path, metavar="FOLDER",
                   help="the site's FLUXNET (ONEFlux) folder: spin up on its ERA5 daily "
                   "weather before the training period instead of cycling "
                   "the training forcing")
    s.add_argument("--co2", default="global", help="CO2 of --spinup-forcing: 'global' (the "
                   "shipped NOAA global mean, default) or a NOAA GML co2-mm-gl.csv")
    s.add_argument("--unbounded", action="store_true",
                   help="do not bound the soil capacity by rooting depth x observed soil "
                   "water range")
    s.add_argument("--out", type=Path, default=Path("site_out"))
    s.set_defaults(func=_site)


def _site(args: argparse.Namespace) -> int:
    from xh2cm.site.carry import long_forcing
    from xh2cm.site.workflow import (
        SCORES,
        load_site,
        predictions_dataset,
        site_workflow,
        split,
        summarise,
        water_budget,
    )

    era5 = None if args.era5.lower() == "none" else args.era5
    daily = load_site(args.forcing, args.fluxes, args.site, era5=era5)
    print(f"cleaning: days of straight-line fill replaced by {daily.attrs['cleaned_with']}; "
          f"{daily.attrs.get('cleaning', '')}")
    test_start = args.test_start or _default_test_start(daily)
    train, test, val = split(daily, test_start, validation_start=args.validation_start,
                             validation_months=args.validation_months)
    before = None
    if args.spinup_forcing is not None:
        before = long_forcing(args.spinup_forcing, train, co2=args.co2)
        print(f"spin-up on {before.title}: {str(before.time.values[0])[:10]} .. "
              f"{str(train.time.values[0])[:10]}")
    result = site_workflow(train, test, validation_start=val, weights=args.weights,
                           seeds=args.seeds, epochs=args.epochs, patience=args.patience,
                           hidden=args.hidden, lstm_epochs=args.lstm_epochs,
                           spinup=args.spinup, fapar_weight=args.fapar_weight,
                           bounded=not args.unbounded, irrigation=args.irrigation,
                           before=before, learning_rates=args.learning_rates)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scores = summarise(result.runs)
    scores.to_csv(out / "scores.csv", index=False)
    result.runs.to_csv(out / "scores_per_seed.csv", index=False)
    result.sweep.to_csv(out / "tradeoff.csv", index=False)
    result.curves.to_csv(out / "training_curves.csv", index=False)
    predictions_dataset(result, test).to_netcdf(out / "predictions.nc")
    print(f"{result.site}: train {str(train.time.values[0])[:10]} .. "
          f"{str(train.time.values[-1])[:10]}, validation from {val}, test "
          f"{str(test.time.values[0])[:10]} .. {str(test.time.values[-1])[:10]}; weight on "
          f"ET {result.weight:g}, learning rate {result.learning_rate or 3e-3:g}; learned "
          "soil capacity sm_max (mm) per seed "
          + ", ".join(f"{v:.0f}" for v in result.capacity.values()))
    budget = water_budget(result, train, test)
    budget.to_csv(out / "water_budget.csv", index=False)
    print("water budget (mm over the days with observed ET):")
    print(budget.round(1).to_string(index=False))
    keys = ["site", "variable", "model", "days"]
    with pd.option_context("display.width", 200):
        print(scores[keys + SCORES + ["rmse_sd", "n", "seeds"]].round(3).to_string(index=False))
    print(f"wrote {out / 'scores.csv'}")
    return 0


def _default_test_start(daily: xr.Dataset) -> str:
    """The first day of the second file pair, else of the last third of the data."""
    starts = str(daily.attrs.get("period_starts", "")).split()
    if len(starts) > 1:
        return starts[1]
    times = pd.DatetimeIndex(daily.time.values)
    return str(times[len(times) * 2 // 3].to_period("M").to_timestamp().date())


# ----------------------------------------------------------------------------- info


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _info(args: argparse.Namespace) -> int:
    rows = [("xh2cm", __version__), ("python", platform.python_version())]
    rows += [(d, _version(d)) for d in
             ("jax", "jaxlib", "equinox", "optax", "numpy", "xarray", "dask", "netCDF4")]
    try:
        import jax

        devices = ", ".join(f"{d.platform}:{d.id} ({d.device_kind})" for d in jax.devices())
        backend = jax.default_backend()
    except Exception as err:  # report, do not fail: info is a diagnostic
        devices, backend = f"unavailable ({err})", "-"
    rows += [("jax backend", backend), ("jax devices", devices)]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}} : {v}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
