"""Spatial k-fold splits."""

from __future__ import annotations

import numpy as np
import pytest

from xh2cm.training import fold_split, spatial_kfold


def _grid(n_lat=20, n_lon=40):
    lat, lon = np.meshgrid(np.linspace(-55, 70, n_lat), np.linspace(-175, 175, n_lon),
                           indexing="ij")
    return lat.ravel(), lon.ravel()


def test_blocked_folds_are_balanced_and_blocks_stay_whole():
    lat, lon = _grid()
    folds = spatial_kfold(lat, lon, k=5, block_size=20.0, seed=3)
    assert set(folds) == set(range(5))
    counts = np.bincount(folds)
    assert counts.max() - counts.min() <= 0.25 * counts.mean()
    block = np.floor((lat + 90) / 20).astype(int) * 1000 + np.floor((lon + 180) / 20).astype(int)
    for b in np.unique(block):
        assert np.unique(folds[block == b]).size == 1
    # deterministic per seed, different across seeds
    assert np.array_equal(folds, spatial_kfold(lat, lon, k=5, block_size=20.0, seed=3))
    assert not np.array_equal(folds, spatial_kfold(lat, lon, k=5, block_size=20.0, seed=4))


def test_blocked_folds_are_more_clustered_than_random():
    lat, lon = _grid()

    def same_fold_neighbours(f):
        g = f.reshape(20, 40)
        return np.mean(g[:, 1:] == g[:, :-1])

    blocked = spatial_kfold(lat, lon, k=5, block_size=20.0)
    random = spatial_kfold(lat, lon, k=5, method="random")
    assert same_fold_neighbours(blocked) > 0.5 > 0.3 > same_fold_neighbours(random)
    assert np.ptp(np.bincount(random)) <= 1


def test_fold_split_and_errors():
    lat, lon = _grid(4, 5)
    folds = spatial_kfold(lat, lon, k=3, method="random")
    train, held = fold_split(folds, 1)
    assert np.intersect1d(train, held).size == 0 and train.size + held.size == 20
    assert np.all(folds[held] == 1)
    with pytest.raises(ValueError, match="blocks"):
        spatial_kfold(lat, lon, k=3, block_size=500.0)
    with pytest.raises(ValueError):
        spatial_kfold(lat, lon, k=1)
    with pytest.raises(ValueError):
        spatial_kfold(lat, lon, k=3, method="kmeans")
    with pytest.raises(ValueError):
        fold_split(folds, 7)
