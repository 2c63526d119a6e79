"""NumPy kernels of the honest baselines for site mode (no xarray).

Examples
--------
>>> import numpy as np
>>> x = np.arange(10.0)[:, None]
>>> coef = linear_fit(x, 2 * x[:, 0] + 3)
>>> np.round(coef, 6).tolist(), linear_predict(coef, np.array([[20.0]])).round(6).tolist()
([3.0, 2.0], [43.0])
"""

from __future__ import annotations

import numpy as np


def climatology_fit(y: np.ndarray, doy: np.ndarray, window: int = 15) -> np.ndarray:
    """Mean seasonal cycle (366 values, by day of year) of ``y``, smoothed with a
    ``window``-day circular moving mean over the finite values; days of year never seen
    take the overall mean."""
    s, n = np.zeros(366), np.zeros(366)
    ok = np.isfinite(y)
    np.add.at(s, doy[ok] - 1, y[ok])
    np.add.at(n, doy[ok] - 1, 1.0)
    k = np.ones(window)
    pad = window // 2
    ss = np.convolve(np.r_[s[-pad:], s, s[:pad]], k, "valid")
    nn = np.convolve(np.r_[n[-pad:], n, n[:pad]], k, "valid")
    overall = float(np.nanmean(y)) if ok.any() else np.nan
    return np.where(nn > 0, ss / np.maximum(nn, 1), overall)


def climatology_predict(msc: np.ndarray, doy: np.ndarray) -> np.ndarray:
    """The seasonal cycle's value on each day of year."""
    return msc[np.asarray(doy) - 1]


def linear_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares ``[intercept, *slopes]`` of ``y`` on the columns of ``x`` over the rows
    where all are finite."""
    ok = np.isfinite(y) & np.isfinite(x).all(1)
    if ok.sum() <= x.shape[1]:
        raise ValueError(f"linear regression needs more than {x.shape[1]} complete days, "
                         f"got {int(ok.sum())}")
    a = np.c_[np.ones(ok.sum()), x[ok]]
    coef, *_ = np.linalg.lstsq(a, y[ok], rcond=None)
    return coef


def linear_predict(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Predictions of :func:`linear_fit`'s coefficients (NaN where a feature is)."""
    return coef[0] + x @ coef[1:]
