"""The dask graph of a run: blocks in space and time, the model as one graph key, the
model state carried from each time block to the next.

- **The model** is one graph key (``xh2cm-model-<token>``) that every block task depends
  on, so it is sent to each worker once (and unpickled once per worker), never embedded
  in the tasks.
- **Space**: each spatial chunk of the input is one block; cells are independent.
- **Time**: each time chunk of a spatial block is a task that starts from the state of
  the previous time chunk (storages and LSTM states) and hands its final state on, so
  the result equals one long run. With spin-up, the state is first advanced through all
  time chunks ``spinup`` times (:func:`xh2cm.core.api.advance`) without outputs, as the
  one-block spin-up does over the whole series. The passes share the read tasks of the
  input, so it is read once; a spatial block's series is held from its first pass until
  its run has used it (1,000 cells x 20 years x 5 float32 variables: 146 MB). With
  ``freq``, chunk boundaries move forward to the next period start, so no month or year
  is split between blocks.
- **Checks**: with :class:`xh2cm.xr.checks.BlockChecks`, each task checks the forcing
  values of its block as it reads them (the input's index coordinates, shared like the
  model, name a place in an error), and the per-cell skip mask travels with the state.
- **Shared keywords**: what every task shares (the run's options, the checks, the index
  coordinates) is one graph key too; a task carries only its block's index range
  (``where``), so the graph stays small for many blocks.
- **Ensembles**: with ``lead`` (the number of members), every output and state piece has
  a first member axis; the block task loops over the members (:mod:`xh2cm.xr.run`).
- ``tws_anomaly`` of a run split in time is ``tws`` minus its mean over the whole run
  (day-weighted where ``freq`` aggregates), computed after the blocks.

:func:`block_task` is the one function that runs a block; the numpy path calls it
directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from functools import partial
from operator import getitem
from typing import Any

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

#: Name of the hidden-unit dimension of LSTM states in a state Dataset.
HIDDEN_DIM = "hidden"


def period_aligned(chunks: Sequence[int], starts: np.ndarray) -> tuple[int, ...]:
    """Time chunks whose boundaries are moved forward to the next period start.

    Examples
    --------
    >>> import numpy as np
    >>> period_aligned((40, 40, 40), np.array([0, 31, 59, 90]))  # Jan, Feb, Mar, Apr
    (59, 31, 30)
    """
    n = int(np.sum(chunks))
    bounds = np.cumsum(chunks)[:-1]
    moved = sorted({int(starts[np.searchsorted(starts, b)]) if b <= starts[-1] else n
                    for b in bounds} - {0, n})
    edges = [0, *moved, n]
    return tuple(int(b - a) for a, b in zip(edges[:-1], edges[1:], strict=True))


def _blocks_of(da: xr.DataArray, dims: Sequence[Hashable], chunks: Sequence[Any]
               ) -> np.ndarray:
    """Object array of the Delayed chunks of ``da`` (axes in ``dims`` order, ``chunks``)."""
    data = da.transpose(*dims).data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=tuple(chunks))
    return np.asarray(data.rechunk(tuple(chunks)).to_delayed())


def _input_blocks(inp: xr.Dataset, time_dim: Hashable, spatial: tuple[Hashable, ...]
                  ) -> Callable[[str, int, tuple[int, ...]], Any]:
    """``block(name, k, j)``: the Delayed chunk of input variable ``name`` at time chunk
    ``k`` and spatial block ``j``."""
    var_blocks = {}
    for name, da in inp.data_vars.items():
        dims = [d for d in (time_dim, *spatial) if d in da.dims]
        var_blocks[name] = (dims, _blocks_of(da, dims, [inp.chunks[d] for d in dims]))

    def block(name: str, k: int, j: tuple[int, ...]) -> Any:
        dims, blocks = var_blocks[name]
        return blocks[tuple(k if d == time_dim else j[spatial.index(d)] for d in dims)]

    return block


def _state_blocks(initial_state: xr.Dataset | None, inp: xr.Dataset,
                  spatial: tuple[Hashable, ...], lead: tuple[int, ...]
                  ) -> Callable[[tuple[int, ...]], Any]:
    """``state_at(j)``: the initial state's Delayed chunks of spatial block ``j`` (None
    without one); an ensemble's member dim (``lead``) first, in one chunk."""
    if initial_state is None:
        return lambda j: None
    state_blocks = {}
    for name, da in initial_state.data_vars.items():
        first = [d for d in da.dims if d not in spatial][:len(lead)]
        dims = [*first, *spatial, *[d for d in da.dims if d not in spatial and d not in first]]
        state_blocks[name] = (dims, _blocks_of(da, dims, [
            inp.chunks[d] if d in spatial else (da.sizes[d],) for d in dims]))

    def state_at(j: tuple[int, ...]) -> Any:
        return {n: b[tuple(j[spatial.index(d)] if d in spatial else 0 for d in dims)]
                for n, (dims, b) in state_blocks.items()}

    return state_at


def _assemble(out_pieces: Mapping[str, np.ndarray], state_pieces: Mapping[str, np.ndarray],
              kinds: Mapping[str, str]) -> tuple[dict[str, dsa.Array], dict[str, dsa.Array]]:
    """The outputs and final state as dask arrays from their per-block pieces (a leading
    member axis, if any, is inside each piece: ``dsa.block`` joins the trailing axes)."""
    outputs = {}
    for name, kind in kinds.items():
        pieces = out_pieces[name] if kind == "dynamic" else out_pieces[name][0]
        outputs[name] = dsa.block(pieces.tolist())
    states = {}
    for name, pieces in state_pieces.items():
        if name.startswith("lstm"):
            pieces = pieces[..., None]  # the hidden axis: one block
        states[name] = dsa.block(pieces.tolist())
    return outputs, states


def build(inp: xr.Dataset, *, model: Any, task: Callable[..., Any], time_dim: Hashable,
          spatial: tuple[Hashable, ...], kinds: Mapping[str, str], n_periods: Sequence[int],
          dtype: np.dtype, spinup: int, advance: Callable[..., Any],
          initial_state: xr.Dataset | None, hidden: int, task_kwargs: Mapping[str, Any],
          lead: tuple[int, ...] = ()
          ) -> tuple[dict[str, dsa.Array], dict[str, dsa.Array]]:
    """Dask arrays of every output (``kinds``: name -> "dynamic" | "static") and of the
    final state, assembled from one task per block.

    ``inp`` is chunked as the run should be (time chunks already period-aligned);
    ``n_periods[k]`` is the number of output time steps of time chunk ``k``; ``lead``:
    the leading axes every output and state has (an ensemble's members).
    """
    run_id = uuid.uuid4().hex
    model_key = dask.delayed(model, name=f"xh2cm-model-{run_id}", pure=False)
    t_chunks = inp.chunks[time_dim]
    s_chunks = [inp.chunks[d] for d in spatial]
    grid = [len(c) for c in s_chunks]
    block = _input_blocks(inp, time_dim, spatial)
    state_at = _state_blocks(initial_state, inp, spatial, lead)
    edges = {d: np.r_[0, np.cumsum(inp.chunks[d])] for d in (time_dim, *spatial)}

    def where(k: int, j: tuple[int, ...]) -> dict[Hashable, tuple[int, int]]:
        """The block's index range along each dim."""
        at = dict(zip(spatial, j, strict=True)) | {time_dim: k}
        return {d: (int(edges[d][i]), int(edges[d][i + 1])) for d, i in at.items()}

    # what every task shares (the keywords, the index coordinates that name places in
    # error messages) is one graph key, like the model: a task holds only its block's range
    shared = dask.delayed(
        {**task_kwargs, "coords": {d: inp.indexes[d].values for d in edges if d in inp.indexes}},
        name=f"xh2cm-shared-{run_id}", pure=False)
    out_pieces: dict[str, np.ndarray] = {n: np.empty((len(t_chunks), *grid), object)
                                         for n in kinds}
    state_pieces: dict[str, np.ndarray] = {}
    run = dask.delayed(partial(_with_shared, task), nout=2)
    step = dask.delayed(partial(_with_shared, advance))

    def key(fn: Callable[..., Any], *index: Any) -> str:
        """A readable task key: the task, the block, the run (as the dashboard shows it)."""
        return "-".join([fn.__name__, *map(str, index), run_id])

    names = [str(n) for n in inp.data_vars]
    for j in np.ndindex(*grid):
        shape = tuple(int(c[i]) for c, i in zip(s_chunks, j, strict=True))
        state = state_at(j)
        if len(t_chunks) > 1:
            for p in range(spinup):
                for k in range(len(t_chunks)):
                    state = step(model_key, state, names, *[block(n, k, j) for n in names],
                                 shared=shared, where=where(k, j),
                                 dask_key_name=key(advance, p, k, *j))
        for k in range(len(t_chunks)):
            res, state = run(model_key, state, names, *[block(n, k, j) for n in names],
                             spinup=spinup if len(t_chunks) == 1 else 0,
                             shared=shared, where=where(k, j),
                             dask_key_name=key(task, k, *j))
            for name, kind in kinds.items():
                if kind != "dynamic" and k:
                    continue  # a static output is the same in every time block: take the first
                full = (*lead, n_periods[k], *shape) if kind == "dynamic" else (*lead, *shape)
                out_pieces[name][(k, *j)] = dsa.from_delayed(
                    dask.delayed(getitem)(res, name), full, dtype=dtype)
        for name in _state_names():
            full = (*lead, *shape, hidden) if name.startswith("lstm") else (*lead, *shape)
            state_pieces.setdefault(name, np.empty(grid, object))[j] = dsa.from_delayed(
                dask.delayed(getitem)(state, name), full, dtype=np.float32)
    return _assemble(out_pieces, state_pieces, kinds)


def _with_shared(task: Callable[..., Any], *args: Any, shared: Mapping[str, Any],
                 **kwargs: Any) -> Any:
    """Call a block task with the keywords every task shares (one graph key) and its own."""
    return task(*args, **shared, **kwargs)


def _state_names() -> tuple[str, ...]:
    from xh2cm.core.api import STATE_NAMES  # lazily: the xarray layer loads without JAX

    return STATE_NAMES
