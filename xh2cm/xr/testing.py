"""Tiny in-memory forcing Datasets and a fake core, for tests of the xarray layer.

Not the demo data (see :mod:`xh2cm.datasets`): just enough structure, in
non-catalog units and names, to exercise discovery, conversion and running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm import catalog

#: Variable name, units and a value generator (in those units) per forcing.
_TOY = {
    "rn": ("rnet", "W m-2", lambda r, s: 20.0 + 150.0 * r.random(s)),
    "prec": ("pr", "kg m-2 s-1", lambda r, s: 4e-5 * r.random(s) ** 3),
    "tair": ("tas", "K", lambda r, s: 268.0 + 30.0 * r.random(s)),
    "vpd": ("vpd", "kPa", lambda r, s: 0.05 + 2.0 * r.random(s)),
}


def toy_forcing(
    sizes: Mapping[str, int] | None = None,
    n_time: int = 40,
    *,
    seed: int = 0,
    static: Sequence[str] = ("clay", "elev"),
    co2: str = "scalar",
    start: str = "2001-01-01",
) -> xr.Dataset:
    """A small daily forcing Dataset in user-style names and units.

    Parameters
    ----------
    sizes : mapping, optional
        Spatial dims and sizes, default ``{"lat": 3, "lon": 4}``. Dims named
        ``lat``/``lon`` get degree coordinates, ``site`` gets string labels,
        others integer coordinates.
    n_time : int
        Number of days.
    seed : int
        Random seed.
    static : sequence of str
        Names of static predictors (float, spatial dims only) to add.
    co2 : {"scalar", "series", "grid"}
        Shape of the co2 variable.
    start : str
        First day.

    Returns
    -------
    xarray.Dataset
        ``rnet`` (W m-2), ``pr`` (kg m-2 s-1), ``tas`` (K), ``vpd`` (kPa),
        ``co2`` (ppm) and the static predictors.
    """
    sizes = {"lat": 3, "lon": 4} if sizes is None else dict(sizes)
    rng = np.random.default_rng(seed)
    dims = ("time", *sizes)
    shape = (n_time, *sizes.values())
    coords: dict[str, xr.DataArray | pd.DatetimeIndex] = {
        "time": pd.date_range(start, periods=n_time, freq="D")
    }
    for d, n in sizes.items():
        if d == "lat":
            coords[d] = xr.DataArray(np.linspace(-30, 50, n), dims=d,
                                     attrs={"units": "degrees_north", "standard_name": "latitude"})
        elif d == "lon":
            coords[d] = xr.DataArray(np.linspace(0, 90, n), dims=d,
                                     attrs={"units": "degrees_east", "standard_name": "longitude"})
        elif d == "site":
            coords[d] = xr.DataArray([f"S{i:02d}" for i in range(n)], dims=d)
        else:
            coords[d] = xr.DataArray(np.arange(n), dims=d)
    ds = xr.Dataset(coords=coords)
    for var, units, gen in _TOY.values():
        ds[var] = (dims, gen(rng, shape), {"units": units})
    if co2 == "scalar":
        ds["co2"] = ((), 400.0, {"units": "ppm"})
    elif co2 == "series":
        ds["co2"] = (("time",), 380.0 + 0.01 * np.arange(n_time), {"units": "ppm"})
    else:
        ds["co2"] = (dims, 380.0 + rng.random(shape), {"units": "ppm"})
    for name in static:
        ds[name] = (tuple(sizes), rng.random(tuple(sizes.values())), {"units": "1"})
    return ds


def fake_simulate(model: Any, forcing: Mapping[str, np.ndarray], static: np.ndarray | None, *,
                  spinup: bool | int = True, initial_state: Mapping[str, np.ndarray] | None = None,
                  return_state: bool = False, tile: int | None = None) -> Any:
    """Cell-wise deterministic stand-in for :func:`xh2cm.core.simulate` (same contract;
    its state is the last day's value of each cell, ignored on input)."""
    for name in catalog.FORCING_NAMES:
        if not np.all(np.isfinite(forcing[name])):
            raise ValueError(f"NaN in {name}")
    nt, nc = forcing["tair"].shape
    base = forcing["tair"] + 0.1 * forcing["prec"] + 0.01 * forcing["rn"] + forcing["vpd"]
    if static is not None:
        assert static.shape == (nc, model.config.n_static)
        base = base + static.sum(axis=1)
    out = {}
    for i, (name, info) in enumerate(catalog.OUTPUTS.items()):
        if info.kind == "dynamic":
            out[name] = base + i
        elif info.kind == "static":
            out[name] = base.mean(axis=0) + i
        else:
            out[name] = np.asarray(float(i))
    if return_state:
        from xh2cm.core.api import STATE_NAMES

        h = model.config.hidden_size
        state = {n: (np.repeat(base[-1][:, None], h, 1) if n.startswith("lstm") else base[-1])
                 for n in STATE_NAMES}
        return out, state
    return out


def fake_global_constants(model: Any) -> dict[str, float]:
    """Stand-in for :func:`xh2cm.core.global_constants`."""
    return {name: float(i) for i, name in enumerate(catalog.GLOBAL_OUTPUTS)}


def fake_model(static_names: Sequence[str] = ()) -> SimpleNamespace:
    """An object with the ``config`` a model has (for :func:`fake_simulate`)."""
    config = SimpleNamespace(
        static_names=tuple(static_names),
        n_static=len(static_names),
        hidden_size=2,
        to_dict=lambda: {"static_names": list(static_names)},
    )
    return SimpleNamespace(config=config)
