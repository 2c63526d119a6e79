"""Site mode: honest baselines and scores for the hybrid model at flux towers (no JAX).

Readers are in :mod:`xh2cm.io`; the whole documented workflow (split, constraints, hybrid
with its weight chosen on validation, every baseline, scores) is
:func:`~xh2cm.site.workflow.site_workflow`, and ``python -m xh2cm site`` on the command line.
"""

from xh2cm.site.baselines import (
    climatology,
    features,
    linear_regression,
    lstm,
    process_model,
    score_table,
)
from xh2cm.site.carry import carried_run, long_forcing
from xh2cm.site.constraints import constraints, fapar_from_lai
from xh2cm.site.tradeoff import pareto, plot_tradeoff, select, tradeoff
from xh2cm.site.workflow import (
    site_workflow,
    split,
    summarise,
)

__all__ = ["carried_run", "climatology", "constraints", "fapar_from_lai", "features",
           "linear_regression", "long_forcing", "lstm", "pareto", "plot_tradeoff",
           "process_model", "score_table", "select", "site_workflow", "split", "summarise",
           "tradeoff"]
