"""Site mode: honest baselines and scores for the hybrid model at flux towers (no JAX).

Readers are in :mod:`xh2cm.io`; the hybrid fit is ``ds.h2cm.fit(obs, kinds={"et": "daily",
"nee": "daily"}, validation_start=..., test_start=...)``.
"""

from xh2cm.site.baselines import (
    climatology,
    features,
    linear_regression,
    lstm,
    process_model,
    score_table,
)
from xh2cm.site.tradeoff import pareto, plot_tradeoff, select, tradeoff

__all__ = ["climatology", "features", "linear_regression", "lstm", "pareto",
           "plot_tradeoff", "process_model", "score_table", "select", "tradeoff"]
