"""Shared small twin-experiment data for the training tests (array level, fast)."""

from __future__ import annotations

import functools

import numpy as np

from xh2cm.core import ModelConfig, init_model, set_global_constants, set_head_bias, simulate
from xh2cm.datasets import TRUTH_CONSTANTS, TRUTH_HEAD_BIASES, static_names, synthetic_forcing
from xh2cm.training import TrainingData, month_calendar

MONTHLY = ("tws", "swe", "et", "q", "fapar", "gpp", "nee")


def monthly_np(x: np.ndarray, month_index: np.ndarray) -> np.ndarray:
    """Monthly means of a (time, cell) array, in NumPy (independent of the JAX code)."""
    n = month_index.max() + 1
    s = np.zeros((n, x.shape[1]))
    np.add.at(s, month_index, x)
    return s / np.bincount(month_index)[:, None]


@functools.lru_cache(maxsize=4)
def twin_arrays(n_lat: int = 6, n_lon: int = 12, years: int = 1, hidden: int = 8, seed: int = 0):
    """``(forcing, static, static_names, dates, truth outputs, truth model)`` on land cells."""
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


def twin_data(obs: tuple[str, ...] = MONTHLY, cue: bool = True, **kwargs) -> TrainingData:
    """TrainingData whose observations are the truth model's monthly outputs."""
    forcing, static, _, dates, out, _ = twin_arrays(**kwargs)
    mi, cal, _ = month_calendar(dates)
    monthly = {k: monthly_np(out[k], mi) for k in obs}
    c = out["npp"].sum(0) / out["gpp"].sum(0) if cue else None
    return TrainingData(forcing, static, mi, cal, monthly, c)


def fresh_model(hidden: int = 8, seed: int = 7, **kwargs):
    """An untrained model for the twin data."""
    forcing, static, names, *_ = twin_arrays(**kwargs)
    return init_model(ModelConfig(static_names=names, hidden_size=hidden), seed=seed,
                      forcing=forcing, static=static)
