"""Diagnostics of runs and observations (docs/analysis.md), on xarray objects, no JAX.

- :mod:`~xh2cm.analysis.efficiency`: precipitation-, light- and water-use efficiency;
- :mod:`~xh2cm.analysis.coupling`: water–carbon coupling of anomalies;
- :mod:`~xh2cm.analysis.pulse`: rain-pulse respiration (Birch effect);
- :mod:`~xh2cm.analysis.regions`: cell areas, regions, budgets;
- :mod:`~xh2cm.analysis.evaluate`: skill scores against observations;
- :mod:`~xh2cm.analysis.members`: ensemble mean, spread and quantiles over ``member``;
- :mod:`~xh2cm.analysis.plots`, :mod:`~xh2cm.analysis.report`: hvplot figures and an
  HTML report.

Array kernels (:mod:`~xh2cm.analysis.np_scores`, :mod:`~xh2cm.analysis.np_pulse`)
are plain NumPy; the modules above wrap them for xarray (lazy on dask input);
the ``ds.h2cm`` accessor forwards to them.
"""

from xh2cm.analysis.coupling import water_carbon_coupling
from xh2cm.analysis.efficiency import lue, pue, wue
from xh2cm.analysis.evaluate import evaluate
from xh2cm.analysis.members import spread
from xh2cm.analysis.pulse import rain_pulse
from xh2cm.analysis.regions import cell_area, regional

__all__ = [
    "cell_area",
    "evaluate",
    "lue",
    "pue",
    "rain_pulse",
    "regional",
    "spread",
    "water_carbon_coupling",
    "wue",
]
