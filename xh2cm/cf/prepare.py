"""Turn a user's Dataset into checked model input: find, convert, validate.

:func:`prepare` is the single entry point used by :func:`xh2cm.xr.run.run_dataset`
and the ``ds.h2cm`` accessor. It finds each variable, converts it to catalog units
and checks its values (:mod:`xh2cm.cf.checks`) in one pass over the data (shared with
dask), or, for a dask run, leaves the values to be checked in each block as the run
reads it (``defer_checks``); everything else stays lazy.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Literal, TypedDict, Unpack

import numpy as np
import xarray as xr

from xh2cm import catalog
from xh2cm.cf import validate
from xh2cm.cf.checks import BlockChecks, FillArg, ForcingValues, check_values, summarise
from xh2cm.cf.derive import ALTERNATIVES, DERIVATIONS, ROLES, derive
from xh2cm.cf.options import merged
from xh2cm.cf.sources import ForcingInfo, VariableSource  # noqa: F401  (re-exported)
from xh2cm.cf.units import convert, describe_conversion, read_units
from xh2cm.cf.variables import (
    ROLE_ATTR,
    auto_static_names,
    find_forcing,
    find_mask,
    find_static,
    is_mask_name,
    missing_message,
)
from xh2cm.co2 import on_days as global_co2_on_days

#: A land mask argument: a DataArray, a variable name, False (none) or None (look for one).
MaskArg = xr.DataArray | str | bool | None
#: The ``co2=`` option: ``"global"`` (the shipped NOAA global mean, :mod:`xh2cm.co2`), a
#: number (ppm) or a ``(time,)`` DataArray (any time step, units attribute or ppm), used
#: instead of a CO2 variable of the dataset.
CO2Arg = float | int | xr.DataArray | Literal["global"] | None


class InputOptions(TypedDict, total=False):
    """How forcing is read: the keyword arguments of :func:`prepare` that every method
    reading forcing accepts (``mask``, ``fill``, ``names``, ``check_ranges``, ``co2``)."""

    mask: MaskArg
    fill: FillArg
    names: Mapping[str, str] | None
    check_ranges: bool
    co2: CO2Arg

#: Names of the internal variables of :meth:`Prepared.model_input`.
VALID = "__valid__"
STATIC_PREFIX = "__static__"


@dataclass
class Prepared:
    """Checked model input on the user's grid.

    Attributes
    ----------
    forcing : xarray.Dataset
        ``rn, prec, tair, vpd, co2`` in catalog units with CF attrs, dims
        ``(time, *spatial)`` (co2 may have fewer), NaN filled if requested.
    static : list of xarray.DataArray
        Static predictors broadcast to the spatial dims, float, in order.
    static_names : tuple of str
        Their names.
    valid : xarray.DataArray
        Boolean over the spatial dims: land cells with complete data (the cells
        the model runs on); with ``checks``, the land cells (those without data are
        found block by block as the run reads them).
    coords : dict
        Input coordinates to carry to outputs (those on time / spatial dims).
    time_dim : str
    spatial_dims : tuple
    info : dict
        ``catalog name -> ForcingInfo``.
    mask : str
        Where the land mask came from.
    notes : list of str
        Warnings issued while preparing.
    history : str or None
        The input's ``history`` attribute.
    checks : BlockChecks or None
        Set if forcing values are checked in each block of the run (``defer_checks``).
    """

    forcing: xr.Dataset
    static: list[xr.DataArray]
    static_names: tuple[str, ...]
    valid: xr.DataArray
    coords: dict[Hashable, xr.DataArray]
    time_dim: str
    spatial_dims: tuple[Hashable, ...]
    info: dict[str, ForcingInfo]
    mask: str
    n_land: int
    notes: list[str] = field(default_factory=list)
    history: str | None = None
    checks: BlockChecks | None = None

    @property
    def n_cells(self) -> int:
        """Number of grid cells (product of the spatial sizes)."""
        return int(self.valid.size)

    @property
    def n_valid(self) -> int:
        """Number of cells the model runs on."""
        return int(self.valid.values.sum())

    @property
    def is_dask(self) -> bool:
        """Whether any input is dask-backed."""
        return any(v.chunks is not None for v in [*self.forcing.data_vars.values(), *self.static])

    def model_input(self) -> xr.Dataset:
        """One Dataset with forcing, static (``__static__i``) and the valid mask."""
        out = self.forcing.copy()
        for i, da in enumerate(self.static):
            out[f"{STATIC_PREFIX}{i}"] = da
        out[VALID] = self.valid
        return out

    def cells(self, max_cells: int | None = None, seed: int = 0) -> np.ndarray:
        """Flat (C-order) indices of the valid cells, optionally a random subset."""
        return random_subset(np.flatnonzero(self.valid.values.ravel()), max_cells, seed)

    def arrays(self, cells: np.ndarray, lazy: bool = False
               ) -> tuple[dict[str, Any], np.ndarray | None]:
        """Forcing ``(time, cell)`` and static ``(cell, n_static)`` at ``cells``: NumPy, or
        with ``lazy`` dask arrays for dask-backed forcing (nothing read; see
        :func:`cell_arrays`)."""
        return cell_arrays(self.forcing, self.static, self.time_dim, self.spatial_dims, cells,
                           lazy=lazy)


def random_subset(cells: np.ndarray, n: int | None, seed: int = 0) -> np.ndarray:
    """At most ``n`` of ``cells``, drawn at random with ``seed`` and sorted (all if None).

    Examples
    --------
    >>> random_subset(np.arange(10), 3, seed=0).size, random_subset(np.arange(4), 9).size
    (3, 4)
    """
    if n is None or cells.size <= n:
        return cells
    return np.sort(np.random.default_rng(seed).choice(cells, size=n, replace=False))


def cell_arrays(forcing: xr.Dataset, static: Sequence[xr.DataArray], time_dim: Hashable,
                spatial_dims: Sequence[Hashable], cells: np.ndarray, lazy: bool = False
                ) -> tuple[dict[str, Any], np.ndarray | None]:
    """The one extraction of model arrays from xarray: forcing ``(time, cell)`` and static
    predictors ``(cell, n_static)`` (None if there are none) at flat (C-order) ``cells``.

    Used for a whole :class:`Prepared` input and for each dask block of a run alike.
    ``co2`` (and any forcing with fewer dims) is broadcast onto ``tair``'s dims. With
    ``lazy``, dask-backed forcing comes back as float32 dask arrays (read when computed,
    e.g. batch by batch in training); static predictors are always read.
    """
    nt = forcing.sizes[time_dim]
    ref = forcing["tair"]
    out = {}
    for name in catalog.FORCING_NAMES:
        da = xr.broadcast(forcing[name], ref)[0].transpose(time_dim, *spatial_dims)
        if da.chunks is not None:  # select the cells before reading: bounded memory
            sel = da.data.reshape(nt, -1)[:, cells]
            out[name] = sel.astype(np.float32) if lazy else np.asarray(sel.compute(), float)
        else:
            out[name] = np.asarray(da.values, dtype=float).reshape(nt, -1)[:, cells]
    if not static:
        return out, None
    arr = np.stack([np.asarray(da.transpose(*spatial_dims).values, dtype=float).reshape(-1)[cells]
                    for da in static], axis=-1)
    return out, arr


def forcing_dataset(ds: xr.Dataset, *, masked: bool = True,
                    **options: Unpack[InputOptions]) -> xr.Dataset:
    """The forcing as the model sees it: ``rn, prec, tair, vpd, co2`` in catalog units.

    Parameters
    ----------
    ds : xarray.Dataset
        Daily forcing.
    masked : bool
        Set cells the model does not run on (ocean, no data) to NaN.

    Returns
    -------
    xarray.Dataset
        CF attributes from the catalog; ``co2`` keeps its own dims (scalar,
        ``(time,)`` or gridded). Lazy if the input is dask-backed.

    Other keyword arguments (``mask``, ``fill``, ``names``, ``check_ranges``, ``co2``)
    are those of :func:`prepare`.
    """
    prep = prepare(ds, static=(), **options)
    out = prep.forcing
    if masked:
        out = out.map(
            lambda da: da.where(prep.valid) if set(prep.valid.dims) <= set(da.dims) else da,
            keep_attrs=True,
        )
    out.attrs = {"title": "xh2cm forcing", "Conventions": "CF-1.8"}
    return out


def _warn(message: str) -> None:
    """Warn, pointing at the first caller outside xh2cm."""
    frame: FrameType | None = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith("xh2cm"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def _align(da: xr.DataArray, template: xr.DataArray, what: str) -> xr.DataArray:
    """Broadcast ``da`` onto ``template``'s spatial grid, refusing coordinate mismatches."""
    da = da.reset_coords(drop=True)
    for d in template.dims:  # the same coordinates in another order (e.g. latitude flipped)
        if (d in da.indexes and d in template.indexes
                and not da.indexes[d].equals(template.indexes[d])
                and da.indexes[d].sort_values().equals(template.indexes[d].sort_values())):
            da = da.reindex({d: template.indexes[d]})
    try:
        da, _ = xr.align(da, template, join="exact")
    except ValueError as err:
        raise ValueError(
            f"{what} is not on the forcing grid ({err}); reindex or interpolate it to the "
            "forcing coordinates first (e.g. .interp_like(ds) or .reindex_like(ds, "
            "method='nearest'))"
        ) from None
    return da.broadcast_like(template).transpose(*template.dims)


def prepare(
    ds: xr.Dataset,
    *,
    static: Sequence[str] | None = (),
    mask: MaskArg = None,
    fill: FillArg = None,
    names: Mapping[str, str] | None = None,
    check_ranges: bool = True,
    co2: CO2Arg = None,
    defer_checks: bool = False,
) -> Prepared:
    """Find, convert and validate model input.

    Parameters
    ----------
    ds : xarray.Dataset
        Daily forcing on any spatial layout (``(time, lat, lon)``,
        ``(time, site)``, ...), numpy- or dask-backed (time in one chunk).
    static : sequence of str or None
        Static predictor names in model order; None: every float variable
        without a time dim (see :func:`~xh2cm.cf.variables.auto_static_names`).
    mask : DataArray, str, bool or None
        Land mask; see :func:`~xh2cm.cf.variables.find_mask`.
    fill : {None, "interpolate"}
        None refuses NaN inside land cells; ``"interpolate"`` fills them
        linearly in time (nearest value at the ends) and warns with a count.
    names : mapping, optional
        Explicit ``{catalog name: dataset variable}`` for forcing.
    check_ranges : bool
        Refuse forcing outside plausible ranges after unit conversion
        (:data:`xh2cm.cf.validate.PLAUSIBLE`, e.g. temperature in K labelled degC);
        False opts out.
    co2 : "global", number or DataArray, optional
        Atmospheric CO2 when the dataset has none (or to replace it): ``"global"``, the
        global mean shipped with xh2cm (NOAA GML, 1958-03 … 2026-04, :mod:`xh2cm.co2`),
        ppm, or a ``(time,)`` series in any time step (annual and monthly values are
        interpolated to the days).
    defer_checks : bool
        For a run: with dask-backed forcing and ``fill=None``, check forcing values in
        each block as the run reads it (:class:`~xh2cm.cf.checks.BlockChecks`) instead of
        in a pass of their own, so the input is read once. Only the block with most land
        (its first time chunk, at least a month) is read here, to refuse unit slips and
        bad values before anything runs; other blocks' errors are raised when they are
        computed, and cells without data are found then (``valid`` is the land mask).

    Returns
    -------
    Prepared

    Raises
    ------
    ValueError
        For any input problem, naming the variable and the fix.
    KeyError
        If a requested static predictor is missing.
    """
    validate.check_fill(fill)
    time_dim = validate.find_time_dim(ds)
    validate.check_time(ds, time_dim)
    ds, names = _with_co2(ds, co2, names, time_dim)
    read = _read_forcing(ds, names, time_dim)
    _check_sizes(read, time_dim)
    grid = _grid(read)
    mask_da, mask_desc = find_mask(ds, mask)
    land = _land(mask_da, mask_desc, grid)
    mask_names = [n for n in (mask, getattr(mask_da, "name", None)) if isinstance(n, str)]
    static_names, static_das, static_notes = _static(ds, static, grid, read, mask_names)
    checks = None
    if defer_checks and fill is None and land.any() and _dask_gridded(read, grid):
        checks = BlockChecks(dict(read.info), dict(read.labels), mask_desc, static_names,
                             check_ranges)
        _preflight(read, static_das, land, grid, time_dim, checks)
        valid, notes = land, static_notes
    else:
        summ = summarise(read.forcing, static_das, grid, time_dim,
                         extra={"prec/nnoise": read.noise})
        valid, static_das, found = check_values(
            read, summ, land, grid, time_dim, mask_desc=mask_desc, static_names=static_names,
            static=static_das, fill=fill, check_ranges=check_ranges)
        notes = static_notes + found
    for note in notes:
        _warn(note)
    return Prepared(
        forcing=read.forcing,
        static=static_das,
        static_names=static_names,
        valid=xr.DataArray(valid, dims=grid.dims, coords=grid.coords, name="valid"),
        coords=read.coords,
        time_dim=time_dim,
        spatial_dims=tuple(grid.dims),
        info=read.info,
        mask=mask_desc,
        n_land=int(land.sum()),
        notes=notes,
        history=str(ds.attrs["history"]) if ds.attrs.get("history") else None,
        checks=checks,
    )


def _with_co2(ds: xr.Dataset, co2: CO2Arg, names: Mapping[str, str] | None, time_dim: str
              ) -> tuple[xr.Dataset, Mapping[str, str] | None]:
    """``ds`` with the ``co2=`` argument as its CO2 variable (annual or monthly series
    interpolated linearly to the days, held constant beyond its ends)."""
    if co2 is None:
        return ds, names
    key = "co2 argument"
    if isinstance(co2, str) and co2 == "global":  # the shipped NOAA series, on the days
        da = xr.DataArray(global_co2_on_days(ds.indexes[time_dim]), dims=time_dim,
                          coords={time_dim: ds[time_dim]},
                          attrs={"units": "ppm", "source": "xh2cm co2='global' (NOAA GML)"})
        return ds.assign({key: da}), {**dict(names or {}), "co2": key}
    if isinstance(co2, str):
        raise ValueError(f"co2={co2!r}: give 'global' (the shipped NOAA global mean), a "
                         "number in ppm or a (time,) DataArray of CO2 (annual or monthly "
                         "values are interpolated to days)")
    if isinstance(co2, xr.DataArray):
        if set(co2.dims) - {time_dim} - set(ds.dims):
            raise ValueError(f"co2= has dims {co2.dims}; give a number or a ({time_dim!r},) "
                             "series (or one on the forcing's dims)")
        units = co2.attrs.get("units", "ppm")
        if time_dim in co2.dims and not co2.indexes[time_dim].equals(ds.indexes[time_dim]):
            if co2.isnull().any():
                raise ValueError("co2= series has missing values; fill them first (e.g. "
                                 "co2.interpolate_na('time'))")
            co2 = co2.interp({time_dim: ds[time_dim]}, kwargs={"fill_value": (
                float(co2.isel({time_dim: 0})), float(co2.isel({time_dim: -1})))})
        da = co2.assign_attrs(units=units)
    else:
        da = xr.DataArray(float(co2), attrs={"units": "ppm"})
    return ds.assign({key: da}), {**dict(names or {}), "co2": key}


@dataclass
class _Read(ForcingValues):
    """Forcing found and converted (a step of :func:`prepare`)."""

    sources: list[str]
    spatial: tuple[Hashable, ...]
    coords: dict[Hashable, xr.DataArray]
    noise: xr.DataArray  # per cell: precipitation noise set to 0 (validate.clip_noise)


def _read_forcing(ds: xr.Dataset, names: Mapping[str, str] | None, time_dim: str) -> _Read:
    """Find each forcing variable, read its units (accumulated daily sums as per day),
    convert it to catalog units; derive VPD and net radiation if absent."""
    names = merged("names", names, ds.data_vars)
    matches = find_forcing(ds, names, optional=tuple(DERIVATIONS), inputs=tuple(ROLES))
    raw: dict[str, xr.DataArray] = {}
    info: dict[str, ForcingInfo] = {}
    labels: dict[str, str] = {}
    for name, m in matches.items():
        da = ds[m.source]
        labels[name] = (
            f"{catalog.FORCING[name].long_name} {name!r} (dataset variable {m.source!r})"
        )
        units = read_units(da, name, m.source)
        info[name] = ForcingInfo(
            name, m.source, m.rule, units, describe_conversion(units, variable=name)
        )
        raw[name] = da
    spatial = validate.spatial_dims_of(raw, time_dim)
    coords = {
        k: v for k, v in ds.coords.items() if v.dims and set(v.dims) <= {time_dim, *spatial}
    }
    forcing: dict[str, xr.DataArray] = {}
    for name, da in raw.items():
        order = [d for d in (time_dim, *spatial) if d in da.dims]
        da = da.reset_coords(drop=True).transpose(*order)
        if not np.issubdtype(da.dtype, np.floating):
            da = da.astype(float)
        da = convert(da, info[name].units, variable=name)
        da.attrs = catalog.FORCING[name].attrs()
        forcing[name] = da.rename(name)
    sources = [m.source for m in matches.values()]
    for name in [n for n in catalog.FORCING_NAMES if n not in matches]:
        got = derive(ds, name, forcing["tair"], names)
        if got is None:
            raise ValueError(missing_message(name, [str(v) for v in ds.data_vars]) + "; "
                             + ALTERNATIVES[name])
        order = [d for d in (time_dim, *spatial) if d in got.data.dims]
        da = got.data.reset_coords(drop=True).transpose(*order)
        da.attrs = catalog.FORCING[name].attrs()
        forcing[name] = da.rename(name)
        source = "+".join(got.sources)
        info[name] = ForcingInfo(name, source, got.rule, catalog.FORCING[name].units, "none")
        labels[name] = f"{catalog.FORCING[name].long_name} {name!r} ({got.rule})"
        sources += list(got.sources)
    forcing = {n: forcing[n] for n in catalog.FORCING_NAMES}
    prec, noise = validate.clip_noise(forcing["prec"], time_dim)
    forcing["prec"] = prec.assign_attrs(forcing["prec"].attrs)
    return _Read(xr.Dataset(forcing, coords=coords), info, labels, sources, spatial, coords,
                 noise)


def _check_sizes(read: _Read, time_dim: str) -> None:
    """Refuse degenerate input: no days, a single day, or no cells."""
    n_time = read.forcing.sizes[time_dim]
    if n_time < 2:
        raise ValueError(f"the forcing has {n_time} day(s) along {time_dim!r}; the model runs "
                         "over a daily series of at least 2 days (and needs a year or more "
                         "for a meaningful spin-up)")
    empty = [str(d) for d in read.spatial if read.forcing.sizes[d] == 0]
    if empty:
        raise ValueError(f"the forcing has no cells: spatial dim(s) {empty} have size 0 "
                         "(check a selection such as ds.sel(lat=slice(...)) for its order)")


def _grid(read: _Read) -> xr.DataArray:
    """An all-False boolean template on the forcing's spatial dims and coordinates."""
    fds = read.forcing
    return xr.DataArray(
        np.zeros(tuple(fds.sizes[d] for d in read.spatial), dtype=bool),
        dims=read.spatial,
        coords={k: v for k, v in read.coords.items() if set(v.dims) <= set(read.spatial)},
    )


def _land(mask: xr.DataArray | None, desc: str, grid: xr.DataArray) -> np.ndarray:
    """Boolean land mask on the grid (all land without a mask)."""
    if mask is None:
        return np.ones(grid.shape, dtype=bool)
    land = _align(mask, grid, f"land mask ({desc})").astype(bool).compute()
    return np.asarray(land.values, dtype=bool)


def _static(ds: xr.Dataset, static: Sequence[str] | None, grid: xr.DataArray, read: _Read,
            mask_names: Sequence[str]
            ) -> tuple[tuple[str, ...], list[xr.DataArray], list[str]]:
    """Static predictor names (auto-detected if None, never forcing or the mask), their
    arrays on the grid, and a note on integer variables that auto-detection leaves out."""
    notes = []
    if static is None:
        exclude = [*read.sources, *mask_names]
        static = auto_static_names(ds, read.spatial, exclude)
        ints = [str(n) for n, da in ds.data_vars.items()
                if np.issubdtype(da.dtype, np.integer) and da.dims
                and set(da.dims) <= set(read.spatial) and str(n) not in exclude
                and not is_mask_name(n, da.attrs)]
        if ints and not any(v.attrs.get(ROLE_ATTR) for v in ds.data_vars.values()):
            notes.append(f"integer-typed variable(s) {ints} are not used as static predictors "
                         "(codes such as soil or land-cover classes are not numbers); to use "
                         f"them as numbers pass static=[...] naming them")
    names = tuple(static)
    arrays = [
        _align(da.astype(float), grid, f"static predictor {da.name!r}")
        for da in find_static(ds, names, read.spatial)
    ]
    return names, arrays, notes


def _dask_gridded(read: _Read, grid: xr.DataArray) -> bool:
    """Whether some forcing on the spatial grid is dask-backed."""
    return any(da.chunks is not None and set(grid.dims) <= set(da.dims)
               for da in read.forcing.data_vars.values())


def _preflight(read: _Read, static: Sequence[xr.DataArray], land: np.ndarray,
               grid: xr.DataArray, time_dim: str, checks: BlockChecks) -> None:
    """Check the spatial block with most land cells over its first time chunk(s) (a month
    at least) now, with the unit-slip rule on the peak, so that a wrong unit is refused
    before anything runs; the run checks every block again as it reads it."""
    chunks = next(da.chunksizes for da in read.forcing.data_vars.values()
                  if da.chunks is not None and set(grid.dims) <= set(da.dims))
    edges = {d: np.r_[0, np.cumsum(chunks.get(d, (grid.sizes[d],)))] for d in grid.dims}
    counts = land
    for axis, d in enumerate(grid.dims):
        counts = np.add.reduceat(counts.astype(int), edges[d][:-1], axis=axis)
    j = np.unravel_index(int(np.argmax(counts)), counts.shape)
    where = {d: slice(int(edges[d][i]), int(edges[d][i + 1]))
             for d, i in zip(grid.dims, j, strict=True)}
    t_edges = np.r_[0, np.cumsum(chunks.get(time_dim, (read.forcing.sizes[time_dim],)))]
    end = int(t_edges[min(np.searchsorted(t_edges, validate.MIN_DAYS_FOR_PEAK),
                          t_edges.size - 1)])
    block = read.forcing.isel({time_dim: slice(0, end), **where}).compute()
    static_block = [da.isel(where).compute() for da in static]
    sel = tuple(where[d] for d in grid.dims)
    checks.apply(block, static_block, land[sel], time_dim, tuple(grid.dims), skip=None,
                 notes=False, peak=True)
