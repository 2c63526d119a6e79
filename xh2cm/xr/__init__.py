"""The xarray face of xh2cm: find, convert and validate input; run models on Datasets.

Knows nothing of JAX: it calls the NumPy entry points of :mod:`xh2cm.core`.
Importing :mod:`xh2cm` registers the ``ds.h2cm`` accessor.
"""

from xh2cm.cf.prepare import ForcingInfo, Prepared, prepare
from xh2cm.cf.units import QUANTITIES, conversion, convert, normalize
from xh2cm.cf.variables import Match, find_forcing, find_mask, find_static
from xh2cm.xr.fit import fit_dataset, spatial_folds
from xh2cm.xr.report import InputReport
from xh2cm.xr.run import run_dataset, simulate_prepared

__all__ = [
    "QUANTITIES",
    "ForcingInfo",
    "InputReport",
    "Match",
    "Prepared",
    "conversion",
    "convert",
    "find_forcing",
    "find_mask",
    "find_static",
    "fit_dataset",
    "normalize",
    "prepare",
    "run_dataset",
    "simulate_prepared",
    "spatial_folds",
]
