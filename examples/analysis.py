"""Analysis walk-through: demo data → run → every diagnostic → HTML report.

1. Synthetic forcing (``xh2cm.datasets.synthetic_forcing``) and the known
   *truth* model; its run is the "model output".
2. A second model (other weights) plays "observations" of GPP, ET and NEE, so
   that the evaluation has something to score.
3. Every diagnostic of :mod:`xh2cm.analysis`, each printed in a line or two:
   PUE, WUE (LUE needs shortwave radiation, which the demo forcing lacks: the
   refusal is printed), water–carbon coupling per cell and per region,
   rain-pulse respiration, regional budgets, evaluation scores.
4. ``report.html``: maps, budgets, diagnostics and the evaluation table in one
   self-contained file.

Run ``python examples/analysis.py --help``; the defaults take about a minute.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import xarray as xr

import xh2cm  # noqa: F401  (registers ds.h2cm)
from xh2cm.datasets import synthetic_forcing, truth_model


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-lat", type=int, default=12)
    p.add_argument("--n-lon", type=int, default=24)
    p.add_argument("--years", type=int, default=4)
    p.add_argument("--hidden", type=int, default=32, help="LSTM hidden size of the models")
    p.add_argument("--out", default="analysis_out", help="folder for report.html")
    args = p.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    ds = synthetic_forcing(n_lat=args.n_lat, n_lon=args.n_lon, years=args.years)
    out = ds.h2cm.run(truth_model(ds, hidden_size=args.hidden))
    obs = ds.h2cm.run(truth_model(ds, seed=7, hidden_size=args.hidden))[["gpp", "et", "nee"]]
    result: dict[str, Any] = {}

    pue = out.h2cm.pue(forcing=ds)
    result["pue_median"] = float(pue.pue_climatology.median())
    print(f"PUE: median {result['pue_median']:.3f} gC m-2 mm-1 over "
          f"{int(pue.pue_climatology.count())} cells")
    wue = out.h2cm.wue(forcing=ds)
    result["wue"] = {k: float(wue[f"{k}_climatology"].median()) for k in ("ewue", "twue", "iwue")}
    print("WUE medians:", {k: round(v, 3) for k, v in result["wue"].items()})
    try:
        out.h2cm.lue(forcing=ds)
    except KeyError as err:
        result["lue"] = "refused"
        print("LUE refused:", str(err.args[0])[:150], "...")

    coupling = out.h2cm.water_carbon_coupling(forcing=ds)
    r = coupling.r.sel(lag=0).median(["lat", "lon"])
    result["coupling_r"] = {f"{c}~{w}": float(r.sel(carbon=c, water=w))
                            for c in coupling.carbon.values for w in coupling.water.values}
    print("median r of monthly anomalies (lag 0):",
          {k: round(v, 2) for k, v in result["coupling_r"].items()})
    iav = out.h2cm.water_carbon_coupling(carbon=["nee"], water=["tws"], freq="MS",
                                         scale="global", lags=(0, 1, 2))
    print("global NEE vs TWS anomalies, r by lag:",
          [round(float(v), 2) for v in iav.r.sel(region="global").squeeze()])

    pulse = out.h2cm.rain_pulse(forcing=ds)
    result["pulse_events"] = int(pulse.n_events.sum())
    print(f"rain pulses: {result['pulse_events']} events; median Rh peak "
          f"{float(pulse.rh_peak.median()):.3f} gC m-2 d-1")

    budget = out.h2cm.regional("srex", how="sum").mean("time")
    result["global_gpp"] = float(budget.gpp.sel(region="global"))
    print(f"global land GPP {result['global_gpp']:.1f} PgC yr-1, ET "
          f"{float(budget.et.sel(region='global')):.0f} km3 yr-1")

    scores = out.h2cm.evaluate(obs, by="region")
    glob = scores.query("region == 'global' and component == 'full'")
    result["kge_global"] = dict(zip(glob.variable, glob.kge.round(3), strict=True))
    print("global KGE (monthly):", result["kge_global"])
    maps = out.h2cm.evaluate(obs)
    assert isinstance(maps, xr.Dataset)

    result["report"] = out.h2cm.report(out_dir / "report.html", forcing=ds, obs=obs)
    print("report:", result["report"])
    return result


if __name__ == "__main__":
    main()
