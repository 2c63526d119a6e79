"""NumPy kernels of the scores and statistics (no xarray): each reduces the last axis
of its inputs, using only the positions where every input is finite.

The xarray wrappers (:mod:`xh2cm.analysis.evaluate`, :mod:`xh2cm.analysis.coupling`)
call these through :func:`xarray.apply_ufunc`, so the same code serves NumPy and
dask arrays.

Examples
--------
>>> import numpy as np
>>> obs = np.array([1.0, 2.0, 3.0, np.nan])
>>> float(nse(obs, obs)), float(pearson(2 * obs, obs)), int(count(obs, obs))
(1.0, 1.0, 3)
"""

from __future__ import annotations

import numpy as np

Arr = np.ndarray


def _pairs(*xs: Arr) -> tuple[list[Arr], Arr, Arr]:
    """Inputs with non-shared positions set to NaN, the joint mask and its count."""
    ok = np.ones(np.broadcast_shapes(*(x.shape for x in xs)), bool)
    for x in xs:
        ok &= np.isfinite(x)
    out = [np.where(ok, x, np.nan) for x in xs]
    return out, ok, ok.sum(-1)


def count(sim: Arr, obs: Arr) -> Arr:
    """Number of positions where both are finite."""
    return _pairs(sim, obs)[2]


def _mean(x: Arr, n: Arr) -> Arr:
    return np.where(n > 0, np.nansum(x, -1) / np.maximum(n, 1), np.nan)


def pearson(x: Arr, y: Arr) -> Arr:
    """Pearson correlation; NaN with fewer than 3 pairs or zero variance."""
    (x, y), _, n = _pairs(x, y)
    xa = x - _mean(x, n)[..., None]
    ya = y - _mean(y, n)[..., None]
    sxy, sxx, syy = (np.nansum(a * b, -1) for a, b in ((xa, ya), (xa, xa), (ya, ya)))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = sxy / np.sqrt(sxx * syy)
    return np.where((n >= 3) & (sxx > 0) & (syy > 0), np.clip(r, -1, 1), np.nan)


def spearman(x: Arr, y: Arr) -> Arr:
    """Spearman rank correlation (Pearson correlation of the ranks of the shared pairs)."""
    from scipy import stats

    (x, y), ok, _ = _pairs(x, y)
    rx = np.where(ok, stats.rankdata(np.where(ok, x, np.inf), axis=-1), np.nan)
    ry = np.where(ok, stats.rankdata(np.where(ok, y, np.inf), axis=-1), np.nan)
    return pearson(rx, ry)


def slope(y: Arr, x: Arr) -> Arr:
    """Least-squares slope of ``y`` on ``x`` (units of y per unit of x)."""
    (x, y), _, n = _pairs(x, y)
    xa = x - _mean(x, n)[..., None]
    ya = y - _mean(y, n)[..., None]
    sxx = np.nansum(xa * xa, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.nansum(xa * ya, -1) / sxx
    return np.where((n >= 3) & (sxx > 0), b, np.nan)


def correlation_pvalue(r: Arr, n: Arr) -> Arr:
    """Two-sided p-value of a correlation ``r`` from ``n`` pairs (t test, n - 2 dof)."""
    from scipy import stats

    r = np.asarray(r, float)
    dof = np.asarray(n, float) - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        t = r * np.sqrt(dof / np.maximum(1 - r * r, 1e-300))
    p = 2 * stats.t.sf(np.abs(t), np.maximum(dof, 1))
    return np.where((dof > 0) & np.isfinite(r), p, np.nan)


def rmse(sim: Arr, obs: Arr) -> Arr:
    """Root-mean-square error."""
    (s, o), _, n = _pairs(sim, obs)
    return np.sqrt(_mean((s - o) ** 2, n))


def bias(sim: Arr, obs: Arr) -> Arr:
    """Mean error ``mean(sim - obs)``."""
    (s, o), _, n = _pairs(sim, obs)
    return _mean(s - o, n)


def nse(sim: Arr, obs: Arr) -> Arr:
    """Nash–Sutcliffe efficiency ``1 - sum((s - o)^2) / sum((o - mean o)^2)`` (Nash and
    Sutcliffe 1970); NaN where the observations do not vary."""
    (s, o), _, n = _pairs(sim, obs)
    den = np.nansum((o - _mean(o, n)[..., None]) ** 2, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 1 - np.nansum((s - o) ** 2, -1) / den
    return np.where((n >= 2) & (den > 0), out, np.nan)


def relative_mean(sim: Arr, obs: Arr) -> Arr:
    """``|mean(obs)| / std(obs)`` over the shared pairs: how far the observed mean is from
    zero in units of its variability (NaN without pairs, inf for a constant non-zero
    series)."""
    (_, o), _, n = _pairs(sim, obs)
    mean = _mean(o, n)
    std = np.sqrt(_mean((o - mean[..., None]) ** 2, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(mean) / std


def kge(sim: Arr, obs: Arr) -> tuple[Arr, Arr, Arr, Arr]:
    """Kling–Gupta efficiency and its parts (Gupta et al. 2009).

    Returns ``(kge, r, alpha, beta)`` with ``alpha = std(sim) / std(obs)``,
    ``beta = mean(sim) / mean(obs)`` and ``kge = 1 - sqrt((r-1)^2 + (alpha-1)^2 +
    (beta-1)^2)``.
    """
    (s, o), _, n = _pairs(sim, obs)
    r = pearson(s, o)
    ms, mo = _mean(s, n), _mean(o, n)
    ss = np.sqrt(_mean((s - ms[..., None]) ** 2, n))
    so = np.sqrt(_mean((o - mo[..., None]) ** 2, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(so > 0, ss / so, np.nan)
        beta = np.where(mo != 0, ms / mo, np.nan)
    k = 1 - np.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2)
    return k, r, alpha, beta
