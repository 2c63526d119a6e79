"""Site mode on real flux-tower data: the hybrid model against honest baselines.

For each site of ``../shared/data/fluxtower`` (US-Bi1, irrigated alfalfa; US-Hn1, sagebrush
steppe, with the ``-nonegle`` LE files for training and test alike):

1. read the half-hourly training and test files and aggregate them to days
   (:mod:`xh2cm.io`);
2. sweep the weight on ET (NEE gets the rest) over 0, 0.1, ..., 1 with 3 seeds each
   (:func:`xh2cm.site.tradeoff`): every fit selects its epoch on the last months of the
   training period (``--validation-months``), never on the test period; the Pareto set of
   test errors is written to ``tradeoff_<site>.csv`` and drawn in ``tradeoff_<site>.html``;
3. pick one weight from the validation errors alone (:func:`xh2cm.site.select`); its 3
   seeds are "hybrid" in the score table;
4. predict the test period with the process model alone, the training climatology, a
   linear regression on the day's weather and a plain LSTM (3 seeds) on the same inputs
   and targets (:mod:`xh2cm.site`);
5. score daily ET and NEE on all days and on measured days only (not straight-line gap
   fill): ``scores.csv`` (mean and standard deviation over seeds), and draw observed vs
   simulated daily ET and NEE over each test period in ``timeseries_<site>.html``.

Run ``python examples/site_mode.py --help``; the defaults take a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import holoviews as hv
import numpy as np
import pandas as pd
import xarray as xr

import xh2cm  # noqa: F401  (registers ds.h2cm)
from xh2cm.io import measured_days, read_fluxnet, read_site, to_daily
from xh2cm.site import (
    climatology,
    linear_regression,
    lstm,
    pareto,
    plot_tradeoff,
    process_model,
    score_table,
    select,
    tradeoff,
)
from xh2cm.site.tradeoff import WEIGHTS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fluxtower"
FILES = {
    "US-Bi1": ("US-Bi1-fluxes.csv", "US-Bi1-fluxes-test.csv"),
    "US-Hn1": ("US-Hn1-fluxes-nonegle.csv", "US-Hn1-fluxes-nonegle-test.csv"),
}
MEASURED = {"et": "le", "nee": "nee_umol"}
SCORES = ["nse", "kge", "r", "rmse", "bias"]


def load(site: str, data: Path) -> tuple[xr.Dataset, xr.Dataset]:
    """Daily training and test Datasets of a site (to_daily drops partial first days)."""
    train_fx, test_fx = FILES[site]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all-missing optional columns (US-Hn1 PAR)
        # days of straight-line fill: from the site's ERA5 product, else interpolated
        era5 = next((data / site / "FLUXNET").glob("*_FLUXNET_ERA5_DD_*.csv"), None)
        kw = {"era5": read_fluxnet(era5)} if era5 else {"fallback": "interpolate"}
        train = to_daily(read_site(data / site / f"{site}-forcings.csv", data / site / train_fx),
                         **kw)
        test = to_daily(read_site(data / site / f"{site}-forcings-test.csv",
                                  data / site / test_fx), **kw)
    return train, test


def timeseries_figure(site: str, test: xr.Dataset, preds: dict[str, xr.Dataset]) -> hv.Layout:
    """Observed vs simulated daily ET and NEE over the test period."""
    panels = []
    for var, label in (("et", "ET (mm d-1)"), ("nee", "NEE (gC m-2 d-1)")):
        curves = [hv.Scatter((test.time.values, test[var].values.ravel()), "time", label,
                             label="observed").opts(color="black", size=3)]
        curves += [hv.Curve((test.time.values, np.asarray(p[var].values, float).ravel()),
                            "time", label, label=name) for name, p in preds.items()]
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
    p.add_argument("--validation-months", type=int, default=6)
    p.add_argument("--out", default="site_mode_out")
    args = p.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    hv.extension("bokeh", logo=False)
    tables = []
    for site in args.sites:
        train, test = load(site, Path(args.data))
        end = pd.Timestamp(train.time.values[-1])
        start = (end - pd.DateOffset(months=args.validation_months)).to_period("M").to_timestamp()
        val = str(start.date())
        kept: dict[tuple[float, int], xr.Dataset] = {}
        sweep = tradeoff(train, test, validation_start=val, weights=args.weights,
                         seeds=args.seeds, predictions=kept, epochs=args.epochs,
                         patience=args.patience, learning_rate=3e-3, segment=None,
                         model_kwargs={"hidden_size": args.hidden, "sm_max_scale": 100})
        sweep.to_csv(out_dir / f"tradeoff_{site}.csv", index=False)
        stats = pareto(sweep)
        hv.save(plot_tradeoff(stats).opts(title=f"{site}: LE-NEE trade-off (test RMSE)"),
                out_dir / f"tradeoff_{site}.html", backend="bokeh")
        w = select(sweep, train)
        process = process_model(train, test)
        plain = {s: lstm(train, test, validation_start=val, seed=s,
                         epochs=max(args.epochs * 2, 2)) for s in args.seeds}
        for var in ("et", "nee"):
            measured = measured_days(test, MEASURED[var])
            fixed = {"process model": process[var],
                     "climatology": climatology(train[var], test.time),
                     "linear regression": linear_regression(train, var, test)}
            parts = [score_table(fixed, test[var], measured).assign(seed=0)]
            for s in args.seeds:
                seeded = {"hybrid": kept[(w, s)][var], "plain LSTM": plain[s][var]}
                parts.append(score_table(seeded, test[var], measured).assign(seed=s))
            table = pd.concat(parts, ignore_index=True)
            table.insert(0, "variable", var)
            table.insert(0, "site", site)
            tables.append(table)
        mean = {"hybrid": sum(kept[(w, s)] for s in args.seeds) / len(args.seeds),
                "plain LSTM": sum(plain[s] for s in args.seeds) / len(args.seeds)}
        figure = timeseries_figure(site, test, {
            f"hybrid (w_ET={w:g}, mean of {len(args.seeds)} seeds)": mean["hybrid"],
            "process model": process,
            "linear regression": xr.Dataset({v: linear_regression(train, v, test)
                                             for v in ("et", "nee")}),
            "plain LSTM (seed mean)": mean["plain LSTM"]})
        hv.save(figure, out_dir / f"timeseries_{site}.html", backend="bokeh")
        print(f"{site}: validation from {val}; chosen weight on ET {w:g}; Pareto weights "
              f"{stats.w_et[stats.pareto].tolist()}")
        print(stats.round(3).to_string(index=False))
    runs = pd.concat(tables, ignore_index=True)
    keys = ["site", "variable", "model", "days"]
    grouped = runs.groupby(keys, sort=False)
    scores = grouped[SCORES].mean()
    spread = grouped[SCORES].std().fillna(0.0).add_suffix("_sd")
    scores = pd.concat([scores, spread, grouped.n.first(), grouped.seed.nunique().rename(
        "seeds")], axis=1).reset_index()
    scores.to_csv(out_dir / "scores.csv", index=False)
    runs.to_csv(out_dir / "scores_per_seed.csv", index=False)
    with pd.option_context("display.width", 200):
        print(scores[keys + SCORES + ["rmse_sd", "n", "seeds"]].round(3).to_string(index=False))
    return scores


if __name__ == "__main__":
    main()
