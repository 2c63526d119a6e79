"""Site mode on real flux-tower data: the hybrid model against honest baselines.

For each site of ``../shared/data/fluxtower`` (US-Bi1, irrigated alfalfa; US-Hn1, sagebrush
steppe, with the ``-nonegle`` LE files for training and test alike) this runs the one
documented command, ``python -m xh2cm site`` (:func:`xh2cm.site.workflow.site_workflow`):

1. read the half-hourly training and test files, join and aggregate them to days
   (:func:`xh2cm.site.workflow.load_site`); the test period is the test files' period;
2. sweep the weight on ET (NEE gets the rest) with several seeds; every fit is constrained
   by daily ET and NEE and by monthly fAPAR = 1 - exp(-0.5 LAI) from the site's MODIS LAI,
   has its soil capacity bounded by rooting depth (0.5-2 m) x the observed soil-water
   range, and selects its epoch on the last ``--validation-months`` whole months of the
   training period, never on the test period; one weight is chosen from validation
   errors alone;
3. start every process-based run (hybrid and process model) from a filled soil: spun up
   on the training forcing, run through the training period, the state carried into the
   test period;
4. where the site has its ONEFlux folder (US-Bi1), spin up on its ERA5 daily weather from
   1981 instead (``--spinup-forcing``), carried to the training start; the peak learning
   rate (3e-3 or 1e-2) is swept with the weights in the same batch and chosen on
   validation too (``--learning-rates``);
   US-Bi1 is irrigated: its hybrid adds water whenever the soil falls below half its
   capacity (``--irrigation``), counted as a water input;
5. predict the test period with the process model alone, the training climatology, a
   linear regression and a plain LSTM, each with every input the site has and with the
   hybrid's inputs only;
6. score daily ET and NEE on all days and on measured days: ``scores.csv`` (mean and
   standard deviation over seeds) per site and for both, and draw observed vs simulated
   daily ET and NEE over each test period in ``timeseries_<site>.html``; the weight
   sweep's test errors and Pareto set in ``tradeoff_<site>.csv`` and ``.html``.

Run ``python examples/site_mode.py --help``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import holoviews as hv
import numpy as np
import pandas as pd
import xarray as xr

from xh2cm.cli import main as xh2cm_main
from xh2cm.site import pareto, plot_tradeoff
from xh2cm.site.tradeoff import WEIGHTS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fluxtower"
FILES = {
    "US-Bi1": ("US-Bi1-fluxes.csv", "US-Bi1-fluxes-test.csv"),
    "US-Hn1": ("US-Hn1-fluxes-nonegle.csv", "US-Hn1-fluxes-nonegle-test.csv"),
}
#: Irrigated sites: fraction of capacity below which the hybrid irrigates.
IRRIGATED = {"US-Bi1": 0.5}
#: Models drawn in the time-series figure.
DRAWN = ("hybrid", "process model", "linear regression", "plain LSTM")


def timeseries_figure(site: str, pred: xr.Dataset) -> hv.Layout:
    """Observed vs simulated daily ET and NEE over the test period."""
    panels = []
    time = pred.time.values
    for var, label in (("et", "ET (mm d-1)"), ("nee", "NEE (gC m-2 d-1)")):
        curves = [hv.Scatter((time, pred[f"observed_{var}"].values), "time", label,
                             label="observed").opts(color="black", size=3)]
        curves += [hv.Curve((time, np.asarray(pred[var].sel(model=m).values, float)), "time",
                            label, label=m) for m in DRAWN if m in pred.model]
        panels.append(hv.Overlay(curves).opts(title=f"{site}: {var}, test period", width=900,
                                              height=300, legend_position="right"))
    return hv.Layout(panels).cols(1)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sites", nargs="+", default=list(FILES))
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--patience", type=int, default=40)
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--weights", type=float, nargs="+", default=list(WEIGHTS),
                   help="weights on ET to sweep (NEE gets 1 - w)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--learning-rates", type=float, nargs="+", default=[3e-3, 1e-2],
                   help="peak learning rates swept with the weights (one batch), one chosen "
                   "on validation")
    p.add_argument("--validation-months", type=int, default=6)
    p.add_argument("--out", default="site_mode_out")
    args = p.parse_args(argv)
    out_dir = Path(args.out)
    hv.extension("bokeh", logo=False)
    tables = []
    for site in args.sites:
        data = Path(args.data) / site
        train_fx, test_fx = FILES[site]
        site_dir = out_dir / site
        cmd = ["site", "--forcing", str(data / f"{site}-forcings.csv"),
               str(data / f"{site}-forcings-test.csv"),
               "--fluxes", str(data / train_fx), str(data / test_fx),
               "--validation-months", str(args.validation_months),
               "--epochs", str(args.epochs), "--patience", str(args.patience),
               "--hidden", str(args.hidden), "--lstm-epochs", str(max(args.epochs * 2, 2)),
               "--weights", *map(str, args.weights), "--seeds", *map(str, args.seeds),
               "--out", str(site_dir)]
        if args.learning_rates:
            cmd += ["--learning-rates", *map(str, args.learning_rates)]
        if site in IRRIGATED:
            cmd += ["--irrigation", str(IRRIGATED[site])]
        if (data / "FLUXNET").is_dir():  # ONEFlux ERA5 weather from 1981: spin up on it
            cmd += ["--spinup-forcing", str(data / "FLUXNET")]
        xh2cm_main(cmd)
        tables.append(pd.read_csv(site_dir / "scores.csv"))
        stats = pareto(pd.read_csv(site_dir / "tradeoff.csv"))
        stats.to_csv(out_dir / f"tradeoff_{site}.csv", index=False)
        hv.save(plot_tradeoff(stats).opts(title=f"{site}: LE-NEE trade-off (test RMSE)"),
                out_dir / f"tradeoff_{site}.html", backend="bokeh")
        with xr.open_dataset(site_dir / "predictions.nc") as pred:
            hv.save(timeseries_figure(site, pred.load()), out_dir / f"timeseries_{site}.html",
                    backend="bokeh")
    scores = pd.concat(tables, ignore_index=True)
    scores.to_csv(out_dir / "scores.csv", index=False)
    return scores


if __name__ == "__main__":
    main()
