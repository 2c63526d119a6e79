"""The synthetic input the benchmarks time the model on (one definition for all of them).

Seasonal ``(time, cell)`` forcing in catalog units at random latitudes, and standard-normal
static predictors: plausible enough for the model's physics to take every branch (snow,
dry and wet soils, rain and no rain), without reading a file.
"""

from __future__ import annotations

import numpy as np

#: Static predictors per cell.
N_STATIC = 6


def forcing(n_cell: int, n_days: int, rng: np.random.Generator
            ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Forcing ``{name: (time, cell)}`` (``co2`` a ``(time,)`` series), static predictors
    ``(cell, N_STATIC)`` and the cells' latitudes ``(cell,)``, drawn from ``rng``.

    Examples
    --------
    >>> f, s, lat = forcing(3, 10, np.random.default_rng(0))
    >>> f["tair"].shape, f["co2"].shape, s.shape, lat.shape
    ((10, 3), (10,), (3, 6), (3,))
    """
    shape = (n_days, n_cell)
    doy = np.arange(n_days)[:, None]
    lat = rng.uniform(-50, 70, n_cell)[None, :]
    season = np.cos(2 * np.pi * (doy - 200) / 365) * np.sign(lat)
    out = {
        "rn": 100 + 80 * season + 20 * rng.standard_normal(shape),
        "prec": rng.exponential(2.5, shape) * (rng.random(shape) < 0.4),
        "tair": 15 - 0.4 * np.abs(lat) + 12 * season + 3 * rng.standard_normal(shape),
        "vpd": rng.uniform(1, 25, shape),
        "co2": np.full(n_days, 400.0),
    }
    return out, rng.standard_normal((n_cell, N_STATIC)), lat[0]
