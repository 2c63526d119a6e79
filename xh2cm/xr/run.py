"""Run an H2CM model on an xarray Dataset, block by block over space.

Each block (the whole dataset when numpy-backed, one spatial dask chunk
otherwise) is stacked to ``(time, cell)``, reduced to its valid cells (land,
complete data), passed to :func:`xh2cm.core.simulate`, scattered back with
NaN elsewhere and unstacked. Cells are independent in the model, so results
do not depend on chunking.
"""

from __future__ import annotations

import datetime as _dt
import json
import types
import uuid
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Unpack

import dask.array as dsa
import numpy as np
import xarray as xr

from xh2cm import __version__, catalog
from xh2cm.calendars import month_codes
from xh2cm.xr.prepare import (
    STATIC_PREFIX,
    VALID,
    InputOptions,
    Prepared,
    cell_arrays,
    prepare,
)

if TYPE_CHECKING:
    from xh2cm.core import H2CM

#: Global attributes of every output Dataset.
GLOBAL_ATTRS = {
    "title": "xh2cm H2CM simulation",
    "source": "xh2cm H2CM",
    "Conventions": "CF-1.8",
}


class _Opaque:
    """Wraps an object so dask tokenises it by identity instead of hashing its contents."""

    def __init__(self, obj: Any):
        self.obj = obj
        self._token = uuid.uuid4().hex

    def __dask_tokenize__(self) -> str:
        return self._token


def _core() -> types.ModuleType:
    """The core entry points (imported lazily: the xarray layer works without JAX loaded)."""
    from xh2cm import core

    return core


#: Aggregation of a run in time (``freq=``): calendar months or years, or none (daily).
Freq = Literal["MS", "YS"] | None


def _periods(times: np.ndarray, freq: Freq) -> np.ndarray:
    """Index of the first day of each ``freq`` period (calendar month or year) in ``times``
    (any calendar)."""
    if freq is None:
        return np.arange(len(times))
    codes = month_codes(times) if freq == "MS" else month_codes(times) // 12
    return np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])


def _check_selection(outputs: Sequence[str] | None, freq: Freq) -> tuple[str, ...]:
    """The outputs asked for (all by default), checked, and ``freq``."""
    if freq not in (None, "MS", "YS"):
        raise ValueError(f"freq={freq!r}; use None (daily), 'MS' (monthly) or 'YS' (annual)")
    if outputs is None:
        return catalog.OUTPUT_NAMES
    unknown = [o for o in outputs if o not in catalog.OUTPUTS]
    if unknown:
        raise KeyError(f"outputs={unknown} unknown; choose from {list(catalog.OUTPUT_NAMES)}")
    return tuple(dict.fromkeys(outputs))


def _run_block(
    block: xr.Dataset,
    *,
    model: _Opaque,
    time_dim: Hashable,
    spatial_dims: tuple[Hashable, ...],
    n_static: int,
    spinup: bool | int,
    dtype: np.dtype,
    outputs: tuple[str, ...] = catalog.OUTPUT_NAMES,
    freq: Freq = None,
) -> xr.Dataset:
    """Simulate one block: stack space to cells, run valid cells, scatter back, unstack;
    keep only ``outputs``, averaged over ``freq`` periods inside the block."""
    nt = block.sizes[time_dim]
    starts = _periods(block[time_dim].values, freq)
    counts = np.diff(np.r_[starts, nt])
    shape = tuple(block.sizes[d] for d in spatial_dims)
    ncell = int(np.prod(shape, dtype=int))
    full = (time_dim, *spatial_dims)
    valid = np.asarray(block[VALID].transpose(*spatial_dims).values, dtype=bool).reshape(-1)
    cells = np.flatnonzero(valid)

    result: dict[str, np.ndarray] = {}
    if cells.size:
        static = [block[f"{STATIC_PREFIX}{i}"] for i in range(n_static)]
        forcing, static_arr = cell_arrays(block, static, time_dim, spatial_dims, cells)
        result = _core().simulate(model.obj, forcing, static_arr, spinup=spinup)

    out = {}
    np_out = starts.size
    for name in _gridded(outputs):
        dynamic = catalog.OUTPUTS[name].kind == "dynamic"
        arr = np.full((nt, ncell) if dynamic else (ncell,), np.nan, dtype=dtype)
        if cells.size:
            if name not in result:
                raise KeyError(f"core simulate() returned no {name!r} (contract: every output)")
            arr[..., cells] = result[name]
        if dynamic and freq is not None:
            arr = (np.add.reduceat(arr.astype(np.float64), starts, axis=0)
                   / counts[:, None]).astype(dtype)
        dims = full if dynamic else spatial_dims
        out[name] = (dims, arr.reshape((np_out, *shape) if dynamic else shape))
    coords = {k: v for k, v in block.coords.items() if set(v.dims) <= set(full)
              and (freq is None or time_dim not in v.dims)}
    if freq is not None:
        coords[time_dim] = block[time_dim].isel({time_dim: starts})
    return xr.Dataset(out, coords=coords)


def _gridded(outputs: Sequence[str]) -> list[str]:
    """The dynamic and static ones of ``outputs`` (global constants are added later)."""
    return [n for n in outputs if catalog.OUTPUTS[n].kind != "global"]


def _template(inp: xr.Dataset, time_dim: Hashable, spatial: tuple[Hashable, ...],
              dtype: np.dtype, outputs: Sequence[str], freq: Freq) -> xr.Dataset:
    """Lazy, empty output with the chunks of ``inp`` (time in one chunk)."""
    starts = _periods(inp[time_dim].values, freq)
    sizes = {**{d: inp.sizes[d] for d in spatial}, time_dim: starts.size}
    chunks = {time_dim: (starts.size,), **{d: inp.chunks[d] for d in spatial}}
    out = {}
    for name in _gridded(outputs):
        dims = (time_dim, *spatial) if catalog.OUTPUTS[name].kind == "dynamic" else spatial
        out[name] = (
            dims,
            dsa.empty(tuple(sizes[d] for d in dims), dtype=dtype,
                      chunks=tuple(chunks[d] for d in dims)),
        )
    coords = {k: v for k, v in inp.coords.items() if set(v.dims) <= {time_dim, *spatial}
              and (freq is None or time_dim not in v.dims)}
    if freq is not None:
        coords[time_dim] = inp[time_dim].isel({time_dim: starts})
    return xr.Dataset(out, coords=coords)


def _spatial_chunks(inp: xr.Dataset, spatial: tuple[Hashable, ...]) -> dict[Hashable, Any]:
    """Spatial chunks of the first dask-backed variable that has each dim."""
    chunks: dict[Hashable, Any] = {}
    for var in inp.data_vars.values():
        if var.chunks is None:
            continue
        for d, c in zip(var.dims, var.chunks, strict=True):
            if d in spatial:
                chunks.setdefault(d, c)
    return chunks


def simulate_prepared(
    prep: Prepared, model: H2CM, *, spinup: bool | int = True, dtype: Any = np.float32,
    outputs: Sequence[str] | None = None, freq: Freq = None,
) -> xr.Dataset:
    """Run ``model`` on already prepared input; see :func:`run_dataset`."""
    selected = _check_selection(outputs, freq)
    time_dim, spatial = prep.time_dim, prep.spatial_dims
    inp = prep.model_input()
    kwargs = dict(
        model=_Opaque(model), time_dim=time_dim, spatial_dims=spatial,
        n_static=len(prep.static), spinup=spinup, dtype=np.dtype(dtype),
        outputs=selected, freq=freq,
    )
    if prep.is_dask:
        inp = inp.chunk({time_dim: -1, **_spatial_chunks(inp, spatial)})
        out = xr.map_blocks(
            _run_block, inp, kwargs=kwargs,
            template=_template(inp, time_dim, spatial, np.dtype(dtype), selected, freq),
        )
    else:
        out = _run_block(inp, **kwargs)

    for name, value in _core().global_constants(model).items():
        out[name] = ((), np.asarray(value, dtype=dtype))
    missing = set(catalog.GLOBAL_OUTPUTS) - set(out.data_vars)
    if missing:
        raise KeyError(f"core global_constants() returned no {sorted(missing)}")
    out = out[list(selected)]
    for name in selected:
        out[name].attrs = catalog.OUTPUTS[name].attrs()
        if freq is not None and catalog.OUTPUTS[name].kind == "dynamic":
            out[name].attrs["cell_methods"] = f"{time_dim}: mean ({freq} periods)"
    for k, v in prep.coords.items():  # input coordinates with their attrs
        if k in out.coords:
            out.coords[k].attrs = dict(v.attrs)
    out.attrs = _global_attrs(prep, model, spinup)
    return out


def _global_attrs(prep: Prepared, model: H2CM, spinup: bool | int) -> dict[str, str]:
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    history = f"{now}: xh2cm {__version__} run_dataset(spinup={spinup!r})"
    if prep.history:
        history += "\n" + prep.history
    attrs = {**GLOBAL_ATTRS, "history": history, "xh2cm_version": __version__}
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "to_dict"):
        attrs["xh2cm_model_config"] = json.dumps(config.to_dict())
    forcing = {n: f"{i.source} [{i.units}]" for n, i in prep.info.items()}
    attrs["xh2cm_forcing"] = json.dumps(forcing)
    return attrs


def run_dataset(
    ds: xr.Dataset,
    model: H2CM,
    *,
    spinup: bool | int = True,
    dtype: Any = np.float32,
    outputs: Sequence[str] | None = None,
    freq: Freq = None,
    **options: Unpack[InputOptions],
) -> xr.Dataset:
    """Run an H2CM model on a daily forcing Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Daily forcing (found by CF standard name or common name, any
        supported units) and the static predictors named in
        ``model.config.static_names``, on any spatial layout: ``(time, lat,
        lon)``, ``(time, site)``, ``(time, y, x, member)``, ... Numpy- or
        dask-backed; with dask, time must be in one chunk and blocks are the
        spatial chunks.
    model : xh2cm.core.H2CM
        The model.
    spinup : bool or int
        Spin-up passes over the forcing before the run.
    dtype : numpy dtype
        Output float type.
    outputs : sequence of str, optional
        Keep only these outputs (default: every :data:`xh2cm.catalog.OUTPUTS`
        variable); the others are never stored.
    freq : {None, "MS", "YS"}
        Average daily outputs over calendar months or years inside each block, so
        daily values of the whole run never exist at once (a 20-year run can be
        written monthly). Every dynamic variable becomes its mean over the days of
        the period (fluxes stay rates per day; storages, fractions and learned
        parameters are period means); a partial first or last period is the mean of
        its days. Time is labelled by each period's first day in the run.
    **options
        How forcing is read: ``mask``, ``fill``, ``names``, ``check_ranges``, ``co2``
        (see :func:`xh2cm.xr.prepare.prepare`).

    Returns
    -------
    xarray.Dataset
        Every :data:`xh2cm.catalog.OUTPUTS` variable: dynamic on
        ``(time, *spatial)``, static on the spatial dims, global as scalars,
        with CF attributes and the input coordinates. Cells outside the mask or
        without forcing are NaN. Lazy if the input is dask-backed.

    Raises
    ------
    ValueError, KeyError
        For input problems (see :func:`xh2cm.xr.prepare.prepare`).
    """
    prep = prepare(
        ds, static=tuple(model.config.static_names), **options)
    return simulate_prepared(prep, model, spinup=spinup, dtype=dtype, outputs=outputs,
                             freq=freq)
