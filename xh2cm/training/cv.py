"""Spatial k-fold cross-validation splits of grid cells (NumPy only).

Blocked folds keep neighbouring cells together (cells are grouped into
lat/lon blocks, whole blocks go to one fold), so a validation fold measures
spatial extrapolation rather than interpolation between neighbours, as in the
reference's 10-fold spatial cross-validation. A random option exists for
comparison.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

#: How cells are grouped into folds: spatial blocks of ``block_size`` degrees, or at random.
FoldMethod = Literal["block", "random"]


def spatial_kfold(lat: np.ndarray, lon: np.ndarray, k: int = 10, *,
                  method: FoldMethod = "block",
                  block_size: float = 10.0, seed: int = 0) -> np.ndarray:
    """Assign every cell to one of ``k`` folds.

    Parameters
    ----------
    lat, lon : ndarray
        ``(cell,)`` cell-centre coordinates (degrees).
    k : int
        Number of folds (>= 2).
    method : {"block", "random"}
        ``"block"``: cells are grouped into ``block_size`` x ``block_size``
        degree blocks; blocks are shuffled and each goes to the fold with the
        fewest cells so far (balanced, spatially contiguous folds).
        ``"random"``: a random balanced assignment of single cells.
    block_size : float
        Block edge in degrees (``"block"`` only).
    seed : int
        Seed of the shuffle.

    Returns
    -------
    ndarray
        ``(cell,)`` int fold index in ``[0, k)``.

    Raises
    ------
    ValueError
        If ``k`` is too large for the cells (or blocks) available.
    """
    lat, lon = np.asarray(lat, float).ravel(), np.asarray(lon, float).ravel()
    n = lat.size
    if lon.size != n:
        raise ValueError("lat and lon must have the same number of cells")
    if k < 2 or k > n:
        raise ValueError(f"k must be in [2, {n}] for {n} cells, got {k}")
    rng = np.random.default_rng(seed)
    if method == "random":
        folds = np.empty(n, int)
        folds[rng.permutation(n)] = np.arange(n) % k
        return folds
    if method != "block":
        raise ValueError(f"method must be 'block' or 'random', got {method!r}")
    if not block_size > 0:
        raise ValueError(f"block_size must be > 0, got {block_size}")
    bi = np.floor((lat + 90.0) / block_size).astype(np.int64)
    bj = np.floor((np.mod(lon + 180.0, 360.0)) / block_size).astype(np.int64)
    blocks, block_of = np.unique(bi * 100_000 + bj, return_inverse=True)
    if blocks.size < k:
        raise ValueError(f"only {blocks.size} blocks of {block_size} degrees for k={k} folds; "
                         "use a smaller block_size or method='random'")
    sizes = np.bincount(block_of)
    fold_of_block = np.empty(blocks.size, int)
    load = np.zeros(k, int)
    for b in rng.permutation(blocks.size):
        f = int(np.argmin(load))
        fold_of_block[b] = f
        load[f] += sizes[b]
    return fold_of_block[block_of]


def fold_split(folds: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(in other folds, in fold)`` for holding out ``fold``."""
    folds = np.asarray(folds)
    if fold not in set(folds.tolist()):
        raise ValueError(f"fold {fold} is empty or out of range")
    return np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
