"""Site mode on real flux-tower data: the hybrid model against honest baselines.

For each site of ``../shared/data/fluxtower`` (US-Bi1, irrigated alfalfa; US-Hn1, sagebrush
steppe, with the ``-nonegle`` LE files for training and test alike):

1. read the half-hourly training and test files and aggregate them to days
   (:mod:`xh2cm.io`);
2. fit the hybrid model with daily ET and NEE terms (weight ``--w-et`` on ET, the rest on
   NEE), validating on the last months of the training period (``--validation-months``),
   never on the test period;
3. predict the test period with the hybrid, the process model alone, the training
   climatology, a linear regression on the day's weather and a plain LSTM on the same
   inputs and targets (:mod:`xh2cm.site`);
4. score daily ET and NEE on all days and on measured days only (not straight-line gap
   fill), and write ``scores.csv``.

Run ``python examples/site_mode.py --help``; the defaults take a few minutes on 2 cores.
Still to come (issue 11): several seeds, the LE-NEE trade-off sweep and the figure.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import pandas as pd

import xh2cm  # noqa: F401  (registers ds.h2cm)
from xh2cm.io import measured_days, read_site, to_daily
from xh2cm.site import climatology, linear_regression, lstm, process_model, score_table

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fluxtower"
FILES = {
    "US-Bi1": ("US-Bi1-fluxes.csv", "US-Bi1-fluxes-test.csv"),
    "US-Hn1": ("US-Hn1-fluxes-nonegle.csv", "US-Hn1-fluxes-nonegle-test.csv"),
}
MEASURED = {"et": "le", "nee": "nee_umol"}


def load(site: str, data: Path) -> tuple:
    """Daily training and test Datasets of a site (the first, partial day dropped)."""
    train_fx, test_fx = FILES[site]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all-missing optional columns (US-Hn1 PAR)
        train = to_daily(read_site(data / site / f"{site}-forcings.csv", data / site / train_fx))
        test = to_daily(read_site(data / site / f"{site}-forcings-test.csv",
                                  data / site / test_fx))
    return train.isel(time=slice(1, None)), test.isel(time=slice(1, None))


def main(argv: list[str] | None = None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sites", nargs="+", default=list(FILES))
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--patience", type=int, default=40)
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--w-et", type=float, default=0.5, help="weight of ET (NEE gets 1 - w)")
    p.add_argument("--validation-months", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="site_mode_out")
    args = p.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = []
    for site in args.sites:
        train, test = load(site, Path(args.data))
        end = pd.Timestamp(train.time.values[-1])
        start = (end - pd.DateOffset(months=args.validation_months)).to_period("M").to_timestamp()
        model, history = train.h2cm.fit(
            train[["et", "nee"]], static=[], kinds={"et": "daily", "nee": "daily"},
            weights={"et": args.w_et, "nee": 1 - args.w_et}, priors=False,
            validation_start=str(start.date()), epochs=args.epochs, patience=args.patience,
            batch_size=1, learning_rate=3e-3, progress=False, segment=None,
            model_seed=args.seed, model_kwargs={"hidden_size": args.hidden,
                                                "sm_max_scale": 100})
        hybrid = test.h2cm.run(model)
        process = process_model(train, test)
        plain = lstm(train, test, validation_start=str(start.date()), seed=args.seed,
                     epochs=max(args.epochs * 2, 2))
        for var in ("et", "nee"):
            preds = {"hybrid": hybrid[var], "process model": process[var],
                     "climatology": climatology(train[var], test.time),
                     "linear regression": linear_regression(train, var, test),
                     "plain LSTM": plain[var]}
            table = score_table(preds, test[var], measured_days(test, MEASURED[var]))
            table.insert(0, "variable", var)
            table.insert(0, "site", site)
            tables.append(table)
        print(f"{site}: validation from {start.date()}, best epoch "
              f"{history.attrs['best_epoch']} of {history.sizes['epoch']}")
    scores = pd.concat(tables, ignore_index=True)
    scores.to_csv(out_dir / "scores.csv", index=False)
    print(scores.round(3).to_string(index=False))
    return scores


if __name__ == "__main__":
    main()
