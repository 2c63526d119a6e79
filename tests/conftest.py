"""Shared test fixtures: small forcing arrays and one small model (compiled once per
session), a tiny synthetic dataset, and a twin experiment on plain arrays.

Fixtures are session-scoped: JAX compiles the model's random initialisation
and scan once per shape, so tests that share these shapes share compiles.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import xarray as xr

from xh2cm.catalog import MONTHLY_OBS

#: Shape of the core test forcing, and the small architecture every core test uses.
N_TIME, N_CELL = 60, 3
STATIC_NAMES = ("elev", "clay")


def _forcing_arrays(n_time: int = N_TIME, n_cell: int = N_CELL) -> dict[str, np.ndarray]:
    """Deterministic forcing with frost, snow, melt, rain, dry spells and a night-like day.

    Returns ``rn, prec, tair, vpd`` ``(time, cell)`` and ``co2`` ``(time,)`` in
    catalog units. Days 0–14 are below 0 degC with snow every other day (day 4
    exactly 0 degC); days 15–29 are mild and dry (melt); from day 30 rain
    pulses of three days alternate with four dry days; day 40 has negative net
    radiation.
    """
    day = np.arange(n_time)[:, None] + np.zeros((1, n_cell))
    cell = np.arange(n_cell)[None, :] + np.zeros((n_time, 1))
    tair = np.where(day < 15, -8 + 0.4 * day, np.where(day < 30, 3 + 0.5 * (day - 15),
                                                        15 + 10 * np.sin(day / 5)))
    tair = tair + 0.7 * cell
    tair[4] = 0.0
    prec = np.where(day < 15, 6.0 * (day % 2 == 0), np.where(day < 30, 0.0,
                                                            20.0 * ((day - 30) % 7 < 3)))
    prec = prec * (1 + 0.3 * cell)
    rn = np.where(day < 15, 40.0, np.where(day < 30, 110.0, 180 + 50 * np.cos(day / 3)))
    rn = rn + 5 * cell
    rn[40] = -30.0
    vpd = np.clip(2 + 0.8 * np.maximum(tair, 0) - 0.1 * prec, 0, None)
    co2 = 390 + 0.01 * np.arange(n_time)
    return {"rn": rn, "prec": prec, "tair": tair, "vpd": vpd, "co2": co2}


def _static(n_cell: int = N_CELL, seed: int = 0) -> np.ndarray:
    """Random static predictors ``(cell, 2)`` (elevation in m, clay fraction)."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(0, 3000, n_cell), rng.uniform(0, 0.6, n_cell)], 1)


@pytest.fixture(scope="session")
def make_forcing_arrays() -> Callable[..., dict[str, np.ndarray]]:
    """``make_forcing_arrays(n_time=60, n_cell=3)``: the core tests' forcing."""
    return _forcing_arrays


@pytest.fixture(scope="session")
def make_static() -> Callable[..., np.ndarray]:
    """``make_static(n_cell=3, seed=0)``: static predictors for :data:`STATIC_NAMES`."""
    return _static


@pytest.fixture(scope="session")
def small_config() -> Any:
    """The small architecture of the core tests (hidden 8, static MLP width 16)."""
    from xh2cm.core import ModelConfig

    return ModelConfig(static_names=STATIC_NAMES, hidden_size=8, static_hidden=16)


@pytest.fixture(scope="session")
def small_model(small_config: Any) -> Any:
    """One small model (seed 1), standardised on the core test forcing."""
    from xh2cm.core import init_model

    return init_model(small_config, seed=1, forcing=_forcing_arrays(), static=_static())


@pytest.fixture(scope="session")
def tiny_ds() -> xr.Dataset:
    """A tiny synthetic forcing dataset (3 x 4 grid, 2 years) with static predictors."""
    from xh2cm.datasets import synthetic_forcing

    return synthetic_forcing(n_lat=3, n_lon=4, years=2, seed=0)


def monthly_np(x: np.ndarray, month_index: np.ndarray) -> np.ndarray:
    """Monthly means of a (time, cell) array, in NumPy (independent of the JAX code)."""
    n = month_index.max() + 1
    s = np.zeros((n, x.shape[1]))
    np.add.at(s, month_index, x)
    return s / np.bincount(month_index)[:, None]


class Twin:
    """A twin experiment on plain arrays: a truth model's outputs on synthetic land cells."""

    #: Observations a twin provides by default.
    MONTHLY = MONTHLY_OBS

    @staticmethod
    @functools.lru_cache(maxsize=4)
    def arrays(n_lat: int = 6, n_lon: int = 12, years: int = 1, hidden: int = 8,
               seed: int = 0) -> tuple:
        """``(forcing, static, static_names, dates, truth outputs, truth model)`` on land."""
        from xh2cm.core import (
            ModelConfig,
            init_model,
            set_global_constants,
            set_head_bias,
            simulate,
        )
        from xh2cm.datasets import (
            TRUTH_CONSTANTS,
            TRUTH_HEAD_BIASES,
            static_names,
            synthetic_forcing,
        )

        ds = synthetic_forcing(n_lat=n_lat, n_lon=n_lon, years=years, seed=seed)
        land = ds.land_mask.values.astype(bool).ravel()
        nt = ds.sizes["time"]
        forcing = {k: ds[k].values.reshape(nt, -1)[:, land].astype(np.float64)
                   for k in ("rn", "prec", "tair", "vpd")}
        forcing["co2"] = ds.co2.values.astype(np.float64)
        names = static_names(ds)
        static = np.stack([ds[n].values.ravel()[land] for n in names], -1)
        model = init_model(ModelConfig(static_names=names, hidden_size=hidden), seed=1234,
                           forcing=forcing, static=static)
        model = set_global_constants(model, **TRUTH_CONSTANTS)
        for k, v in TRUTH_HEAD_BIASES.items():
            model = set_head_bias(model, k, v)
        out = simulate(model, forcing, static)
        return forcing, static, names, ds.time.values, out, model

    def data(self, obs: tuple[str, ...] = MONTHLY_OBS, cue: bool = True, **kwargs: Any) -> Any:
        """TrainingData whose observations are the truth model's monthly outputs."""
        from xh2cm.training import TrainingData, month_calendar

        forcing, static, _, dates, out, _ = self.arrays(**kwargs)
        mi, cal, _ = month_calendar(dates)
        monthly = {k: monthly_np(out[k], mi) for k in obs}
        c = out["npp"].sum(0) / out["gpp"].sum(0) if cue else None
        return TrainingData(forcing, static, mi, cal, monthly, c)

    def fresh_model(self, hidden: int = 8, seed: int = 7, **kwargs: Any) -> Any:
        """An untrained model for the twin data."""
        from xh2cm.core import ModelConfig, init_model

        forcing, static, names, *_ = self.arrays(**kwargs)
        return init_model(ModelConfig(static_names=names, hidden_size=hidden), seed=seed,
                          forcing=forcing, static=static)


@pytest.fixture(scope="session")
def twin() -> Twin:
    """The twin experiment on plain arrays (:class:`Twin`); results cached per shape."""
    return Twin()


def _nbytes(x: Any) -> int:
    """Bytes of the NumPy arrays in ``x`` (nested tuples, lists and dicts)."""
    if isinstance(x, np.ndarray):
        return x.nbytes
    if isinstance(x, (tuple, list)):
        return sum(_nbytes(v) for v in x)
    if isinstance(x, dict):
        return sum(_nbytes(v) for v in x.values())
    return 0


@pytest.fixture
def held() -> Any:
    """A dask callback (use ``with held() as h:``) that records the most bytes the local
    scheduler ever held at once (``h.peak``: results not yet consumed) and how many
    computes ran (``h.computes``)."""
    from dask.callbacks import Callback

    class Held(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.peak, self.computes = 0, 0

        def _start(self, dsk: Any) -> None:
            self.computes += 1

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, id: Any) -> None:
            self.peak = max(self.peak, _nbytes(state["cache"]))

    return Held


@pytest.fixture(autouse=True)
def _compiled_code_released() -> Any:
    """Clear JAX's caches between tests once half of ``vm.max_map_count`` is in use: the
    suite compiles thousands of programs in one process, and past the cap XLA aborts
    the interpreter (xh2cm/core/compiled.py)."""
    from xh2cm.core.compiled import release_compiled_code

    release_compiled_code()
    yield
