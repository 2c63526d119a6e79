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
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Unpack

import numpy as np
import xarray as xr

from xh2cm import __version__, catalog
from xh2cm.calendars import month_codes
from xh2cm.xr import graph
from xh2cm.xr.checks import SKIP, BlockChecks
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
    from xh2cm.training import Ensemble

#: Global attributes of every output Dataset.
GLOBAL_ATTRS = {
    "title": "xh2cm H2CM simulation",
    "source": "xh2cm H2CM",
    "Conventions": "CF-1.8",
}


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


#: Day index along time, added to the input so that each time block knows where it is.
DAY = "__day__"
#: The member that held each cell out (``out_of_fold=True``), added to the input.
HELD_OUT = "__held_out__"
#: The dimension of an ensemble's members in a run's output.
MEMBER = "member"


def _members(model: Any) -> list[Any] | None:
    """An ensemble's models (:class:`xh2cm.training.Ensemble`), or None for one model."""
    models = getattr(model, "models", None)
    return None if models is None else list(models)


@dataclass
class _Block:
    """A block's arrays as model input (see :func:`_block_inputs`)."""

    arrays: dict[str, np.ndarray]
    cells: np.ndarray
    shape: tuple[int, ...]
    forcing: dict[str, np.ndarray]
    init: dict[str, np.ndarray] | None
    static: np.ndarray | None
    skip: np.ndarray | None
    held_out: np.ndarray | None = None


def _block_inputs(names: Sequence[str], arrays: Sequence[np.ndarray], *,
                  dims: Mapping[str, tuple[Hashable, ...]], time_dim: Hashable,
                  spatial_dims: tuple[Hashable, ...], n_static: int,
                  state: Mapping[str, np.ndarray] | None, checks: BlockChecks | None = None,
                  coords: Mapping[Hashable, np.ndarray] | None = None,
                  where: Mapping[Hashable, tuple[int, int]] | None = None,
                  n_members: int = 0) -> _Block:
    """A block's arrays as model input: the block dict, its valid cells (checked with
    ``checks`` if given; out of fold, only cells some member held out), spatial shape,
    forcing ``(time, cell)``, initial state (a first member axis with ``n_members``),
    static ``(cell, n)`` at the valid cells and the skip mask to hand on. ``coords``: the
    whole input's index coordinates, ``where``: the block's index range along each dim."""
    block = dict(zip(names, arrays, strict=True))
    ds = xr.Dataset({n: (dims[n], a) for n, a in block.items() if n not in (DAY, HELD_OUT)},
                    coords={d: v[slice(*where[d])] for d, v in (coords or {}).items()
                            if where is not None and d in where})
    shape = tuple(ds.sizes[d] for d in spatial_dims)
    valid = np.asarray(block[VALID], dtype=bool).reshape(-1)
    static = [ds[f"{STATIC_PREFIX}{i}"] for i in range(n_static)]
    skip = None
    if checks is not None:  # the values are checked here, as the run reads them
        valid, skip = checks.apply(ds, static, valid, str(time_dim), spatial_dims,
                                   skip=None if state is None else state.get(SKIP),
                                   notes=True)
    held = None if HELD_OUT not in block else np.asarray(block[HELD_OUT]).reshape(-1)
    if held is not None:
        valid = valid & (held >= 0)
    cells = np.flatnonzero(valid)
    forcing, static_arr = cell_arrays(ds, static, time_dim, spatial_dims, cells)
    lead = (n_members,) if n_members else ()
    init = None
    if state is not None:
        init = {}
        for name, arr in state.items():
            if name == SKIP:
                continue
            flat = np.asarray(arr).reshape(*lead, valid.size, -1)[..., cells, :]
            if not np.all(np.isfinite(flat)):
                raise ValueError(f"initial_state[{name!r}] is NaN or infinite in "
                                 f"{int((~np.isfinite(flat)).any(-1).sum())} cell(s) that "
                                 "run; pass the state of a run on the same cells")
            init[name] = flat if name.startswith("lstm") else flat[..., 0]
    return _Block(arrays=block, cells=cells, shape=shape, forcing=forcing, init=init,
                  static=static_arr, skip=skip, held_out=None if held is None else held[cells])


def _grid_state(state: Mapping[str, np.ndarray] | None, b: _Block, hidden: int,
                n_members: int = 0) -> dict[str, np.ndarray]:
    """A state at the block's cells scattered onto the block (NaN elsewhere; a first
    member axis with ``n_members``), with the skip mask if the block was checked."""
    cells, shape = b.cells, b.shape
    n = int(np.prod(shape, dtype=int))
    lead = (n_members,) if n_members else ()
    out = {} if b.skip is None else {SKIP: b.skip}
    for name in _core().api.STATE_NAMES:
        lstm = name.startswith("lstm")
        arr = np.full((*lead, n, hidden) if lstm else (*lead, n), np.nan, np.float32)
        if state is not None and cells.size:
            if lead:
                arr[:, cells] = state[name]
            else:
                arr[cells] = state[name]
        out[name] = arr.reshape((*lead, *shape, hidden) if lstm else (*lead, *shape))
    return out


def _each_member(call: Any, model: Any, b: _Block) -> tuple[dict[str, np.ndarray], ...]:
    """``call(model, forcing, static, init)`` (a tuple of dicts of arrays on the block's
    valid cells) for one model; for an ensemble, for each member (every member on every
    cell, results stacked along a first member axis, loop over members: they share one
    compiled program); out of fold (``b.held_out``), each member on the cells it held
    out, results scattered onto the block's cells (global constants left out)."""
    members = _members(model)
    if members is None:
        return call(model, b.forcing, b.static, b.init)
    if b.held_out is None:
        parts = [call(m, b.forcing, b.static, None if b.init is None else
                      {k: v[i] for k, v in b.init.items()}) for i, m in enumerate(members)]
        return tuple({k: np.stack([p[j][k] for p in parts]) for k in parts[0][j]}
                     for j in range(len(parts[0])))
    n = b.cells.size
    joined: tuple[dict[str, np.ndarray], ...] = ()
    for i, m in enumerate(members):
        sel = np.flatnonzero(b.held_out == i)
        if not sel.size:
            continue
        part = call(m, {k: v[:, sel] if np.ndim(v) == 2 else v for k, v in b.forcing.items()},
                    None if b.static is None else b.static[sel],
                    None if b.init is None else {k: v[sel] for k, v in b.init.items()})
        if not joined:
            joined = tuple({} for _ in part)
        for out, res in zip(joined, part, strict=True):
            for k, v in res.items():
                axis = _cell_axis(k)
                if axis is None:
                    continue
                if k not in out:
                    shape = list(np.shape(v))
                    shape[axis] = n
                    out[k] = np.full(shape, np.nan, np.asarray(v).dtype)
                np.moveaxis(out[k], axis, 0)[sel] = np.moveaxis(np.asarray(v), axis, 0)
    return joined


def _cell_axis(name: str) -> int | None:
    """The cell axis of an output (None for global constants) or a state array."""
    if name in catalog.OUTPUTS:
        return None if catalog.OUTPUTS[name].kind == "global" else (
            -1 if catalog.OUTPUTS[name].kind == "dynamic" else 0)
    return 0


def _advance_task(model: H2CM | Ensemble, state: Mapping[str, np.ndarray] | None,
                  names: Sequence[str], *arrays: np.ndarray,
                  dims: Mapping[str, tuple[Hashable, ...]],
                  time_dim: Hashable, spatial_dims: tuple[Hashable, ...], n_static: int,
                  hidden: int, tile: int | None = None, checks: BlockChecks | None = None,
                  coords: Mapping[Hashable, np.ndarray] | None = None,
                  where: Mapping[Hashable, tuple[int, int]] | None = None,
                  n_members: int = 0, **_: Any) -> dict[str, np.ndarray]:
    """Advance a block's state through one time block (a spin-up pass), no outputs; takes
    :func:`_run_task`'s keywords and ignores those about outputs."""
    b = _block_inputs(names, arrays, dims=dims, time_dim=time_dim, spatial_dims=spatial_dims,
                      n_static=n_static, state=state, checks=checks, coords=coords,
                      where=where, n_members=n_members)
    new = None
    if b.cells.size:
        (new,) = _each_member(lambda m, f, s, init: (_core().api.advance(
            m, f, s, initial_state=init, tile=tile),), model, b)
    return _grid_state(new, b, hidden, n_members)


def _run_task(model: H2CM | Ensemble, state: Mapping[str, np.ndarray] | None, names: Sequence[str],
              *arrays: np.ndarray, spinup: bool | int, dims: Mapping[str, tuple[Hashable, ...]],
              time_dim: Hashable, spatial_dims: tuple[Hashable, ...], n_static: int,
              dtype: np.dtype, outputs: Sequence[str], starts: np.ndarray, hidden: int,
              tile: int | None = None, checks: BlockChecks | None = None,
              coords: Mapping[Hashable, np.ndarray] | None = None,
              where: Mapping[Hashable, tuple[int, int]] | None = None,
              n_members: int = 0,
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Simulate one block (space x time): run its valid cells from ``state``, scatter
    back with NaN elsewhere; keep ``outputs``, averaged over the periods that start at
    the run's day indices ``starts``. Returns the outputs and the final state (with
    ``n_members``, an ensemble's: a first member axis on both)."""
    b = _block_inputs(names, arrays, dims=dims, time_dim=time_dim, spatial_dims=spatial_dims,
                      n_static=n_static, state=state, checks=checks, coords=coords,
                      where=where, n_members=n_members)
    cells, shape = b.cells, b.shape
    day = np.asarray(b.arrays[DAY])
    nt = day.size
    local = starts[(starts >= day[0]) & (starts <= day[-1])] - day[0]
    if local.size == 0 or local[0] != 0:
        raise ValueError("time block does not start a period (chunks must be period-aligned)")
    counts = np.diff(np.r_[local, nt])
    ncell = int(np.prod(shape, dtype=int))
    result: dict[str, np.ndarray] = {}
    final = None
    if cells.size:
        result, final = _each_member(lambda m, f, s, init: _core().simulate(
            m, f, s, spinup=spinup, initial_state=init, return_state=True, tile=tile),
            model, b)
    lead = (n_members,) if n_members else ()
    out = {}
    for name in outputs:
        dynamic = catalog.OUTPUTS[name].kind == "dynamic"
        arr = np.full((*lead, nt, ncell) if dynamic else (*lead, ncell), np.nan, dtype=dtype)
        if cells.size:
            if name not in result:
                raise KeyError(f"core simulate() returned no {name!r} (contract: every output)")
            arr[..., cells] = result[name]
        if dynamic and local.size < nt:
            arr = (np.add.reduceat(arr.astype(np.float64), local, axis=-2)
                   / counts[:, None]).astype(dtype)
        out[name] = arr.reshape((*lead, local.size, *shape) if dynamic else (*lead, *shape))
    return out, _grid_state(final, b, hidden, n_members)


def _gridded(outputs: Sequence[str]) -> list[str]:
    """The dynamic and static ones of ``outputs`` (global constants are added later)."""
    return [n for n in outputs if catalog.OUTPUTS[n].kind != "global"]


def _state_dataset(states: Mapping[str, Any], spatial: tuple[Hashable, ...],
                   coords: Any, end: Any, lead: tuple[str, ...] = (),
                   member: xr.DataArray | None = None) -> xr.Dataset:
    """The final state as a Dataset on the spatial dims (LSTM states also on ``hidden``;
    an ensemble's also on ``lead``, the member dim)."""
    data = {n: ((*lead, *spatial, graph.HIDDEN_DIM) if n.startswith("lstm")
                else (*lead, *spatial), a) for n, a in states.items()}
    ds = xr.Dataset(data, coords={k: v for k, v in coords.items()
                                  if set(v.dims) <= set(spatial)})
    if lead and member is not None:
        ds.coords[MEMBER] = member
    units = {"swe": "mm", "sm": "mm", "gw": "mm", "fapar": "1", "npp": "g m-2 d-1"}
    for n in ds.data_vars:
        ds[n].attrs = {"long_name": f"model state {n} after the last day",
                       "units": units.get(str(n), "1")}
    ds.attrs = {"title": "xh2cm H2CM model state", "xh2cm_state_after": str(end),
                "comment": "pass as initial_state= to continue the run from the next day"}
    return ds


def _coords(inp: xr.Dataset, time_dim: Hashable, spatial: tuple[Hashable, ...],
            freq: Freq, starts: np.ndarray) -> dict[Hashable, Any]:
    coords: dict[Hashable, Any] = {
        k: v for k, v in inp.coords.items() if set(v.dims) <= {time_dim, *spatial}
        and (freq is None or time_dim not in v.dims)}
    if freq is not None:
        coords[time_dim] = inp[time_dim].isel({time_dim: starts})
    return coords


def _chunks_along(inp: xr.Dataset, dims: Sequence[Hashable]) -> dict[Hashable, Any]:
    """Chunks of the first dask-backed variable that has each of ``dims``."""
    chunks: dict[Hashable, Any] = {}
    for var in inp.data_vars.values():
        if var.chunks is None:
            continue
        for d, c in zip(var.dims, var.chunks, strict=True):
            if d in dims:
                chunks.setdefault(d, c)
    return chunks


def _state_input(state: xr.Dataset | None, prep: Prepared, n_members: int = 0
                 ) -> xr.Dataset | None:
    """An ``initial_state`` checked against the run's spatial layout (and an ensemble's
    members: a ``member`` dim of ``n_members``)."""
    if state is None:
        return None
    if state.sizes.get(MEMBER, 0) != n_members:
        raise ValueError(f"initial_state has {state.sizes.get(MEMBER, 0)} members, the run "
                         f"{n_members}; pass the state a run of the same model or ensemble "
                         "returned (out_of_fold: a state without a member dim)")
    names = _core().api.STATE_NAMES
    missing = [n for n in names if n not in state]
    if missing:
        raise KeyError(f"initial_state lacks {missing}: pass the state Dataset that "
                       "run(..., return_state=True) returned")
    want = {d: prep.valid.sizes[d] for d in prep.spatial_dims}
    for n in names:
        got = {d: state[n].sizes.get(d) for d in prep.spatial_dims}
        if got != want:
            raise ValueError(f"initial_state[{n!r}] has spatial sizes {got}, the forcing "
                             f"{want}; pass the state of a run on the same grid")
    return state[list(names)]


def simulate_prepared(
    prep: Prepared, model: H2CM | Ensemble, *, spinup: bool | int = True, dtype: Any = np.float32,
    outputs: Sequence[str] | None = None, freq: Freq = None,
    initial_state: xr.Dataset | None = None, return_state: bool = False,
    tile: int | None = None, out_of_fold: bool = False,
) -> Any:
    """Run ``model`` (or an ensemble) on already prepared input; see :func:`run_dataset`."""
    selected = _check_selection(outputs, freq)
    time_dim, spatial = prep.time_dim, prep.spatial_dims
    inp = prep.model_input()
    inp[DAY] = xr.DataArray(np.arange(inp.sizes[time_dim]), dims=time_dim)
    members = _members(model)
    if out_of_fold:
        inp[HELD_OUT] = _held_out(model, prep)
    n_members = 0 if members is None or out_of_fold else len(members)
    lead: tuple[str, ...] = (MEMBER,) if n_members else ()
    starts = _periods(inp[time_dim].values, freq)
    state_in = _state_input(initial_state, prep, n_members)
    hidden = int(model.config.hidden_size)
    gridded = _gridded(selected)
    nt = inp.sizes[time_dim]
    t_chunks = (graph.period_aligned(_chunks_along(inp, [time_dim]).get(time_dim, (nt,)),
                                     starts) if prep.is_dask else (nt,))
    split = len(t_chunks) > 1
    if split and "tws_anomaly" in gridded and "tws" not in gridded:
        gridded.append("tws")
    kw: dict[str, Any] = dict(
        dims={n: tuple(v.dims) for n, v in inp.data_vars.items()}, time_dim=time_dim,
        spatial_dims=spatial, n_static=len(prep.static), dtype=np.dtype(dtype),
        outputs=gridded, starts=starts, hidden=hidden, tile=tile, checks=prep.checks,
        n_members=n_members)
    kinds = {n: catalog.OUTPUTS[n].kind for n in gridded}
    if prep.is_dask:
        inp = inp.chunk({time_dim: t_chunks, **_chunks_along(inp, spatial)})
        edges = np.r_[0, np.cumsum(t_chunks)]
        n_periods = [int(((starts >= a) & (starts < b)).sum())
                     for a, b in zip(edges[:-1], edges[1:], strict=True)]
        arrays: Mapping[str, Any]
        states: Mapping[str, Any]
        arrays, states = graph.build(
            inp, model=model, task=_run_task, advance=_advance_task, time_dim=time_dim,
            spatial=spatial, kinds=kinds, n_periods=n_periods, dtype=np.dtype(dtype),
            spinup=int(spinup), initial_state=state_in, hidden=hidden, task_kwargs=kw,
            lead=(n_members,) if n_members else ())
    else:
        names = [str(n) for n in inp.data_vars]
        state_np = None if state_in is None else {
            str(n): state_in[n].transpose(*lead, *spatial, ...).values
            for n in state_in.data_vars}
        arrays, states = _run_task(model, state_np, names, *[inp[n].values for n in names],
                                   spinup=spinup, **kw)
    coords = _coords(inp, time_dim, spatial, freq, starts)
    if members is not None:
        names = list(model.names)  # type: ignore[union-attr]
        coords[MEMBER] = xr.DataArray(names, dims=MEMBER, attrs={
            "long_name": "ensemble member", "comment": "one model per member"})
    out = xr.Dataset({n: ((*lead, time_dim, *spatial) if kinds[n] == "dynamic"
                          else (*lead, *spatial), a) for n, a in arrays.items()}, coords=coords)
    if split and "tws_anomaly" in selected:  # over the whole run, not per time block
        days = np.diff(np.r_[starts, nt])
        w = xr.DataArray(days / days.sum(), dims=time_dim)
        out["tws_anomaly"] = (out.tws - (out.tws * w).sum(time_dim)).astype(dtype)

    for name, value in _global_constants(model).items():
        out[name] = (() if members is None else (MEMBER,), np.asarray(value, dtype=dtype))
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
    if out_of_fold:
        out.attrs["xh2cm_prediction"] = (
            "out of fold: each cell simulated by the member that held it out (never saw it "
            "in training or validation); global constants per member")
    if return_state:
        return out, _state_dataset(states, spatial, inp.coords, inp[time_dim].values[-1],
                                   lead, coords.get(MEMBER))
    return out


def _global_constants(model: Any) -> dict[str, np.ndarray]:
    """The global constants of a model, or of each member of an ensemble (stacked)."""
    members = _members(model)
    if members is None:
        return {k: np.asarray(v) for k, v in _core().global_constants(model).items()}
    each = [_core().global_constants(m) for m in members]
    return {k: np.array([e[k] for e in each]) for k in each[0]}


def _held_out(model: Any, prep: Prepared) -> xr.DataArray:
    """The member that held out each cell, on the prepared grid (``out_of_fold=True``)."""
    held, grid = getattr(model, "held_out", None), getattr(model, "grid", None)
    if _members(model) is None or held is None:
        raise ValueError("out_of_fold=True needs an ensemble of fold models with the cells "
                         "each held out: the Ensemble of ds.h2cm.fit(obs, folds=k)")
    want = {str(d): int(n) for d, n in prep.valid.sizes.items()}
    if grid != want:
        raise ValueError(f"the ensemble's folds lie on a grid of {grid}, the forcing's is "
                         f"{want}; run out of fold on the grid the ensemble was fitted on")
    return xr.DataArray(np.asarray(held).reshape(prep.valid.shape), dims=prep.valid.dims)


def _global_attrs(prep: Prepared, model: H2CM | Ensemble, spinup: bool | int) -> dict[str, str]:
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
    model: H2CM | Ensemble,
    *,
    spinup: bool | int = True,
    dtype: Any = np.float32,
    outputs: Sequence[str] | None = None,
    freq: Freq = None,
    initial_state: xr.Dataset | None = None,
    return_state: bool = False,
    tile: int | None = None,
    static: Sequence[str] | None = None,
    out_of_fold: bool = False,
    **options: Unpack[InputOptions],
) -> Any:
    """Run an H2CM model (or an ensemble of models) on a daily forcing Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Daily forcing (found by CF standard name or common name, any
        supported units) and the static predictors named in
        ``model.config.static_names``, on any spatial layout: ``(time, lat,
        lon)``, ``(time, site)``, ``(time, y, x, member)``, ... Numpy- or
        dask-backed; with dask, each chunk is a block: spatial chunks run
        independently, time chunks one after the other, each starting from the
        state the previous one ended with (:mod:`xh2cm.xr.graph`), so results do
        not depend on chunking.
    model : xh2cm.core.H2CM or xh2cm.training.Ensemble
        The model. An ensemble (e.g. ``ds.h2cm.fit(obs, folds=k)``'s) runs every member
        in every block (a loop over members inside the block task: the input is read and
        checked once, the members share one compiled program, and memory holds one
        member's run at a time); every output gains a first ``member`` dimension whose
        coordinate names the members (``initial_state``/``return_state`` too).
    spinup : bool or int
        Spin-up passes over the whole forcing before the run (from ``initial_state``
        if given).
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
    initial_state : xarray.Dataset, optional
        The state a run on the same grid ended with (``return_state=True``), to
        continue it: storages and LSTM states per cell. Default: the zero state.
    return_state : bool
        Also return the state after the last day (lazy with dask), on the spatial
        dims (LSTM states also on ``hidden``): ``(outputs, state)``.
    tile : int, optional
        Run cells in tiles of this many (:func:`xh2cm.core.simulate`): results are then
        bit-identical for any chunking. Without it, a cell's float32 result varies by
        about 1e-6 relative (after a few years) with the size of the block it runs in.
    static : sequence of str, optional
        The static predictors; they are the model's (``model.config.static_names``), so
        this only confirms them: a different list is a ``ValueError``.
    out_of_fold : bool
        With a cross-validation ensemble: each cell is simulated by the one member that
        held it out (never trained or validated on it), so scores against observations
        are out-of-sample; no ``member`` dimension, except on the global constants (one
        per member). Cells no member held out are NaN.
    **options
        How forcing is read: ``mask``, ``fill``, ``names``, ``check_ranges``, ``co2``
        (see :func:`xh2cm.xr.prepare.prepare`). With dask input and ``fill=None`` the
        forcing values are checked block by block as the run reads them
        (``defer_checks``): the input is read once, and an error found in a block is
        raised when that block is computed.

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
        For input problems (see :func:`xh2cm.xr.prepare.prepare`); with dask input, bad
        values outside the block read beforehand raise at compute time.
    """
    names = tuple(model.config.static_names)
    if static is not None and tuple(static) != names:
        raise ValueError(f"static={list(static)} differs from the model's static predictors "
                         f"{list(names)}: a model runs on the predictors it was built with; "
                         "drop static= or build the model with these (init_model(static=...))")
    prep = prepare(ds, static=names, defer_checks=True, **options)
    return simulate_prepared(prep, model, spinup=spinup, dtype=dtype, outputs=outputs,
                             freq=freq, initial_state=initial_state,
                             return_state=return_state, tile=tile, out_of_fold=out_of_fold)
