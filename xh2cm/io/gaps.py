"""Straight-line gap fill, found in series whose quality flags were dropped (NumPy only).

Some flux files fill gaps by linear interpolation and drop the QC flags. A run of
values on one straight line (constant first difference) over at least ``min_run``
consecutive steps is almost never a measurement of a turbulent flux; its interior
points are interpolated fill. Runs of a constant, e.g. zero at night, are lines too:
``constants=False`` leaves them alone, for variables that are constant for hours when
measured (shortwave radiation and rain at night, quantized soil water).

Examples
--------
>>> import numpy as np
>>> x = np.array([3.0, 1.0, 2.0, 3.0, 4.0, 5.0, 2.5, 7.0])
>>> linear_fill(x, min_run=4).astype(int).tolist()
[0, 0, 1, 1, 1, 0, 0, 0]
>>> night = np.array([5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0])
>>> linear_fill(night, min_run=4, constants=False).astype(int).tolist()
[0, 0, 0, 0, 0, 0, 0]
"""

from __future__ import annotations

import numpy as np


def linear_fill(x: np.ndarray, *, min_run: int = 4, rtol: float = 1e-6,
                constants: bool = True) -> np.ndarray:
    """Boolean: points inside a straight-line run of at least ``min_run`` values (the
    run's two ends are the measured anchors, so they are not flagged).

    Parameters
    ----------
    x : ndarray
        Series (1-D); NaN breaks runs.
    min_run : int
        Shortest run of collinear points (including the two anchors) to call fill.
    rtol : float
        Tolerance on equal steps, relative to the series' typical step.
    constants : bool
        Whether runs of one constant value count as fill.
    """
    x = np.asarray(x, float)
    n = x.size
    out = np.zeros(n, bool)
    if n < 3:
        return out
    d = np.diff(x)
    scale = np.nanmedian(np.abs(d)) or 1.0
    tol = rtol * max(scale, 1e-12) * 10
    same = np.abs(np.diff(d)) <= tol
    same &= np.isfinite(np.diff(d))
    # same[i]: x[i], x[i+1], x[i+2] collinear; a run of k True -> k+2 collinear points
    i = 0
    while i < same.size:
        if not same[i]:
            i += 1
            continue
        j = i
        while j < same.size and same[j]:
            j += 1
        if (j - i) + 2 >= min_run and (constants or abs(d[i]) > tol):
            out[i + 1: j + 1] = True  # interior points x[i+1] .. x[j]
        i = j
    return out
