"""Checks of forcing *values*: all-NaN cells, NaN and infinity inside land cells, negative
precipitation, implausible ranges and unit slips, NaN in static predictors.

One set of rules, applied two ways:

- to a whole input at once (:func:`check_values` on a :func:`summarise` of it), by
  :func:`xh2cm.cf.prepare.prepare`: one pass over the data before anything runs;
- to each dask block of a run as the run reads it (:class:`BlockChecks`), so that the
  checks and the run share one read of the input. A cell's validity then comes from its
  block; with time blocks, whether a cell is skipped (a forcing variable all NaN over
  the whole series) is carried from one time block to the next as a bit mask per cell
  (:data:`SKIP`), so the decision is the one the whole series would give.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import xarray as xr

from xh2cm import catalog
from xh2cm.cf import validate
from xh2cm.cf.sources import ForcingInfo

#: The ``fill=`` option: None refuses NaN inside land cells.
FillArg = Literal["interpolate"] | None

#: Key of the per-cell skip mask carried with the model state between time blocks: bit
#: ``i`` is set while forcing ``catalog.FORCING_NAMES[i]`` has been all NaN so far.
SKIP = "__skip__"


@dataclass
class ForcingValues:
    """Forcing in catalog units with how each variable was read (what the checks need).

    Attributes
    ----------
    forcing : xarray.Dataset
        ``rn, prec, tair, vpd, co2`` on ``(time, *spatial)`` (co2 may have fewer dims).
    info : dict
        ``catalog name -> ForcingInfo``.
    labels : dict
        ``catalog name -> text naming it in messages``.
    """

    forcing: xr.Dataset
    info: dict[str, ForcingInfo]
    labels: dict[str, str]


def summarise(fds: xr.Dataset, static: Sequence[xr.DataArray], grid: xr.DataArray,
              time_dim: str, extra: Mapping[str, xr.DataArray] | None = None
              ) -> dict[str, np.ndarray]:
    """One pass over the data: per cell, all-NaN, NaN count, finite min and max, inf count
    of each forcing variable, NaN / inf of each static predictor, and the per-cell
    reductions ``extra`` (e.g. ``"prec/nnoise"``, :func:`~xh2cm.cf.validate.clip_noise`).

    Examples
    --------
    >>> import xarray as xr
    >>> grid = xr.DataArray(np.zeros(2, bool), dims="x")
    >>> fds = xr.Dataset({"prec": (("time", "x"), [[1.0, np.nan], [3.0, np.nan]])})
    >>> s = summarise(fds, [], grid, "time")
    >>> s["prec/allnan"].tolist(), s["prec/max"].tolist()[0]
    ([False, True], 3.0)
    """
    summary: dict[str, xr.DataArray] = {}
    for name, da in fds.data_vars.items():
        isnull = da.isnull()
        tdims = [time_dim] if time_dim in da.dims else []
        summary[f"{name}/allnan"] = isnull.all(tdims)
        summary[f"{name}/nnan"] = isnull.sum(tdims)
        finite = np.isfinite(da)  # min and max of the finite values (NaN if none), no
        low = da.where(finite, np.inf).min(tdims, skipna=False)  # all-NaN warnings
        high = da.where(finite, -np.inf).max(tdims, skipna=False)
        summary[f"{name}/min"] = low.where(np.isfinite(low))
        summary[f"{name}/max"] = high.where(np.isfinite(high))
        summary[f"{name}/ninf"] = xr.apply_ufunc(np.isinf, da, dask="allowed").sum(tdims)
        if name in ("prec", "tair"):  # dataset-wide unit-slip rules
            summary[f"{name}/mean"] = da.where(finite).mean(tdims)
    summary.update(extra or {})
    for i, da in enumerate(static):
        summary[f"static{i}/nan"] = da.isnull()
        summary[f"static{i}/inf"] = xr.apply_ufunc(np.isinf, da, dask="allowed")
    return {
        str(k): v.broadcast_like(grid).transpose(*grid.dims).values
        for k, v in xr.Dataset(summary).compute().data_vars.items()
    }


def check_values(values: ForcingValues, summ: Mapping[str, np.ndarray], land: np.ndarray,
                 grid: xr.DataArray, time_dim: str, *, mask_desc: str,
                 static_names: Sequence[str] = (), static: Sequence[xr.DataArray] = (),
                 fill: FillArg = None, check_ranges: bool = True, block: bool = False,
                 peak: bool | None = None,
                 ) -> tuple[np.ndarray, list[xr.DataArray], list[str]]:
    """Apply every value rule; return the cells that run, the static predictors (gaps
    filled with ``fill``) and notes to warn with. Fills forcing gaps in ``values`` in
    place with ``fill``.

    With ``block``, ``values`` is one block of a larger input: a block without a cell to
    run is no error, and the unit-slip rule on a series' peak (a property of the whole
    dataset, e.g. precipitation in m labelled mm: a block of desert cells may never
    rain) is not applied unless ``peak`` asks for it.

    Raises
    ------
    ValueError
        Naming the variable, a place and the fix.
    """
    valid, notes = _valid_cells(summ, land, values.labels, mask_desc, block=block)
    static, gap_notes = _static_gaps(static_names, list(static), summ, valid, grid, fill)
    notes += gap_notes
    _check_inf(values, summ, valid, grid, time_dim)
    notes += _nan_in_land(values, summ, valid, grid, fill, time_dim)
    notes += _check_precipitation(summ, valid, grid, values.labels["prec"],
                                  values.info["prec"].source)
    if check_ranges:
        _check_ranges(values, summ, valid, time_dim, peak=not block if peak is None else peak)
    return valid, static, notes


@dataclass(frozen=True)
class BlockChecks:
    """The value checks of a run whose input is checked block by block as it is read
    (dask input, ``fill=None``): what a task needs to apply :func:`check_values` to its
    block and to name the variable and place in an error.

    Attributes
    ----------
    info, labels : dict
        As in :class:`ForcingValues`.
    mask_desc : str
        Where the land mask came from.
    static_names : tuple of str
    check_ranges : bool
    """

    info: dict[str, ForcingInfo]
    labels: dict[str, str]
    mask_desc: str
    static_names: tuple[str, ...]
    check_ranges: bool

    def apply(self, block: xr.Dataset, static: Sequence[xr.DataArray], land: np.ndarray,
              time_dim: str, spatial_dims: Sequence[Hashable],
              skip: np.ndarray | None, notes: bool, peak: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
        """Check one block (forcing variables of ``catalog.FORCING_NAMES``, with
        coordinates); return the cells that run (flat, boolean) and the skip mask to hand
        to the next time block.

        ``skip`` is the mask the previous time block handed on (None for the first);
        ``notes``: warn about skipped cells (once per spatial block: on its first read);
        ``peak``: also apply the unit-slip rule on the peak (see :func:`check_values`).
        """
        grid = xr.DataArray(np.zeros(tuple(block.sizes[d] for d in spatial_dims), bool),
                            dims=tuple(spatial_dims),
                            coords={d: block[d] for d in spatial_dims if d in block.coords})
        fds = block[list(catalog.FORCING_NAMES)]
        summ = summarise(fds, static, grid, time_dim)
        bits = np.zeros(grid.shape, np.int64)
        for i, name in enumerate(catalog.FORCING_NAMES):
            bits |= summ[f"{name}/allnan"].astype(np.int64) << i
        if skip is not None:
            skip = np.asarray(skip, np.int64).reshape(grid.shape)
            self._refuse_late_data(fds, skip, bits, land, grid, time_dim)
            bits &= skip
        summ = {**summ, **{f"{name}/allnan": (bits >> i & 1).astype(bool)
                           for i, name in enumerate(catalog.FORCING_NAMES)}}
        values = ForcingValues(fds, dict(self.info), dict(self.labels))
        try:
            valid, _, found = check_values(
                values, summ, land.reshape(grid.shape), grid, time_dim,
                mask_desc=self.mask_desc, static_names=self.static_names, static=static,
                check_ranges=self.check_ranges, block=True, peak=peak)
        except ValueError as err:
            raise ValueError(f"{err} [checked block by block as the run reads the input; "
                             f"counts are for the block {_extent(block)}]") from None
        if notes and skip is None:
            for note in found:
                warn(note)
        return valid.reshape(-1), bits.reshape(-1)

    def _refuse_late_data(self, fds: xr.Dataset, skip: np.ndarray, bits: np.ndarray,
                          land: np.ndarray, grid: xr.DataArray, time_dim: str) -> None:
        """A cell skipped so far (a variable all NaN) whose variable now has values has a
        gap, not a missing variable: refused as a whole-series scan would."""
        late = land.reshape(grid.shape) & (skip != 0) & ((skip & ~bits) == skip)
        if not late.any():
            return
        i = int(np.log2(int(skip[late][0]) & -int(skip[late][0])))
        name = catalog.FORCING_NAMES[i]
        pos = np.unravel_index(int(np.flatnonzero(late)[0]), late.shape)
        where = validate.describe_point(grid, dict(zip(grid.dims, map(int, pos), strict=True)))
        raise ValueError(
            f"{self.labels[name]} is NaN over whole time blocks of {int(late.sum())} land "
            f"cell(s) (e.g. at {where}) but has values in the time block starting at "
            f"{validate.describe_point(fds, {time_dim: 0})}: "
            "the model cannot run through gaps. Fill them (e.g. interpolate_na('time')), "
            "pass fill='interpolate', or exclude those cells with mask=")


def _extent(block: xr.Dataset) -> str:
    """Where a block starts and ends (:func:`~xh2cm.cf.validate.describe_point`).

    Examples
    --------
    >>> _extent(xr.Dataset(coords={"lat": [1.5, 2.5, 3.5]}))
    'lat=1.5 … lat=3.5'
    """
    dims = [d for d in block.indexes if block.sizes[d]]
    return (f"{validate.describe_point(block, {d: 0 for d in dims})} … "
            f"{validate.describe_point(block, {d: -1 for d in dims})}")


def warn(message: str) -> None:
    """Warn from a task: on a dask-distributed worker the warning also reaches the client."""
    try:
        from distributed import warn as remote_warn
    except ImportError:  # pragma: no cover - distributed is a dependency
        warnings.warn(message, UserWarning, stacklevel=2)
    else:
        remote_warn(message, UserWarning, stacklevel=2)


def _valid_cells(summ: Mapping[str, np.ndarray], land: np.ndarray,
                 labels: Mapping[str, str], mask_desc: str, block: bool = False
                 ) -> tuple[np.ndarray, list[str]]:
    """Land cells with forcing data, and a note on land cells skipped for lack of it."""
    notes: list[str] = []
    missing_any = np.zeros(land.shape, dtype=bool)
    has_data = np.zeros(land.shape, dtype=bool)
    for name in catalog.FORCING_NAMES:
        missing_any |= summ[f"{name}/allnan"]
        if name != "co2":
            has_data |= ~summ[f"{name}/allnan"]
    if summ["co2/allnan"].all() and not block:
        raise ValueError(f"{labels['co2']} is entirely NaN; give CO2 values (e.g. 400 ppm)")
    skipped = land & has_data & missing_any
    if skipped.any():
        which = [n for n in catalog.FORCING_NAMES if (skipped & summ[f"{n}/allnan"]).any()]
        notes.append(
            f"{int(skipped.sum())} land cell(s) have no data at all for "
            f"{', '.join(labels[n] for n in which)} while other forcing has data there; "
            "they are skipped (NaN output)"
        )
    valid = land & ~missing_any
    if not valid.any() and not block:
        if not land.any():
            cause = f"the land mask ({mask_desc}) marks no cell as land"
        elif not (land & has_data).any():
            cause = "no land cell has any forcing data (all NaN there)"
        else:
            which = [n for n in catalog.FORCING_NAMES if (land & summ[f"{n}/allnan"]).all()]
            cause = f"every land cell lacks {', '.join(labels[n] for n in which) or 'some forcing'}"
        raise ValueError(
            f"no cell to run: of {valid.size} cell(s), {int(land.sum())} are land "
            f"(mask: {mask_desc}): {cause}"
        )
    return valid, notes


def _static_gaps(names: Sequence[str], arrays: list[xr.DataArray],
                 summ: Mapping[str, np.ndarray], valid: np.ndarray, grid: xr.DataArray,
                 fill: FillArg) -> tuple[list[xr.DataArray], list[str]]:
    """NaN or inf in a static predictor on cells that run: refused, or (``fill=``) replaced
    by the predictor's mean over those cells, with a note."""
    out, notes = list(arrays), []
    for i, name in enumerate(names):
        bad = valid & (summ[f"static{i}/nan"] | summ[f"static{i}/inf"])
        if not bad.any():
            continue
        pos = np.unravel_index(int(np.flatnonzero(bad)[0]), bad.shape)
        where = validate.describe_point(grid, dict(zip(grid.dims, map(int, pos), strict=True)))
        if fill is None:
            raise ValueError(
                f"static predictor {name!r} is NaN or infinite in {int(bad.sum())} land "
                f"cell(s), e.g. at {where}; the networks cannot use a missing predictor. Fill "
                f"it (e.g. ds[{name!r}] = ds[{name!r}].fillna(ds[{name!r}].mean())), exclude "
                "those cells with mask=, or pass fill='interpolate' to use its mean there")
        good = np.asarray(arrays[i].values, float)[valid & ~bad]
        mean = float(good.mean()) if good.size else 0.0
        out[i] = arrays[i].where(np.isfinite(arrays[i]), mean)
        notes.append(f"fill={fill!r}: static predictor {name!r} was NaN or infinite in "
                     f"{int(bad.sum())} land cell(s); set to its mean {mean:.6g}")
    return out, notes


def _nan_in_land(read: ForcingValues, summ: Mapping[str, np.ndarray], valid: np.ndarray,
                 grid: xr.DataArray, fill: FillArg, time_dim: str) -> list[str]:
    """NaN inside cells that run: refuse, naming an example, or fill (``fill=``) in place."""
    notes = []
    fds, info, labels = read.forcing, read.info, read.labels
    n_time = fds.sizes[time_dim]
    for name in catalog.FORCING_NAMES:
        nnan = np.where(valid, summ[f"{name}/nnan"], 0)
        if not nnan.any():
            continue
        bad_cells = nnan > 0
        da = fds[name]
        gridded = set(grid.dims) <= set(da.dims)
        # co2 without spatial dims: count its own values, not once per cell
        n_values = int(nnan.sum()) if gridded else int(da.isnull().sum())
        if fill is None and not gridded:  # one series for all cells (e.g. global CO2)
            t = int(np.argmax(np.isnan(np.asarray(da.values).reshape(n_time, -1)).any(-1)))
            raise ValueError(validate.series_nan_message(
                labels[name], info[name].source, n_values, n_time,
                validate.describe_point(da, {time_dim: t})))
        if fill is None:
            example = validate.first_nan_example(da, bad_cells, time_dim)
            raise ValueError(
                validate.nan_message(
                    labels[name], info[name].source, int(bad_cells.sum()), n_values,
                    example, n_time,
                )
            )
        fds[name] = validate.fill_time(da, time_dim)
        info[name] = replace(info[name], filled=n_values)
        notes.append(
            f"fill={fill!r}: filled {n_values} NaN value(s) of {labels[name]} "
            f"(affecting {int(bad_cells.sum())} land cell(s))"
        )
    return notes


def _check_inf(read: ForcingValues, summ: Mapping[str, np.ndarray], valid: np.ndarray,
               grid: xr.DataArray, time_dim: str) -> None:
    """Refuse infinite forcing in cells that run, naming the variable, count and a place."""
    for name in catalog.FORCING_NAMES:
        ninf = np.where(valid, summ[f"{name}/ninf"], 0)
        if not ninf.any():
            continue
        da = read.forcing[name]
        bad = ninf > 0
        if set(grid.dims) <= set(da.dims):
            example = validate.first_nan_example(xr.where(np.isinf(da), np.nan, 0.0), bad,
                                                 time_dim)
        else:
            t = int(np.argmax(np.isinf(np.asarray(da.values)).reshape(da.sizes[time_dim], -1)
                              .any(-1)))
            example = validate.describe_point(da, {time_dim: t})
        n_values = int(ninf.sum()) if set(grid.dims) <= set(da.dims) else int(
            np.isinf(da).sum())
        raise ValueError(validate.inf_message(read.labels[name], read.info[name].source,
                                              int(bad.sum()), n_values, example))


def _check_ranges(read: ForcingValues, summ: Mapping[str, np.ndarray], valid: np.ndarray,
                  time_dim: str, peak: bool = True) -> None:
    """Refuse forcing outside its plausible range, or (``peak``) a series whose peak is
    implausibly small, with the likely unit slip (:data:`xh2cm.cf.validate.PLAUSIBLE`)."""
    if not valid.any():
        return
    n_time = read.forcing.sizes[time_dim]
    for name, (lo, hi) in validate.PLAUSIBLE.items():
        low = np.where(valid, summ[f"{name}/min"], np.inf)
        high = np.where(valid, summ[f"{name}/max"], -np.inf)
        bad = valid & ((low < lo) | (high > hi))
        if bad.any():
            raise ValueError(validate.range_message(
                read.labels[name], name, float(low[valid].min()), float(high[valid].max()),
                int(bad.sum())))
        least = validate.PLAUSIBLE_PEAK.get(name)
        top = float(high[valid].max())
        if peak and least is not None and n_time >= validate.MIN_DAYS_FOR_PEAK and top < least:
            raise ValueError(validate.peak_message(read.labels[name], name, top, n_time))
    if peak and "prec/mean" in summ:
        _check_dataset_slips(read, summ, valid, n_time)


def _check_dataset_slips(read: ForcingValues, summ: Mapping[str, np.ndarray],
                         valid: np.ndarray, n_time: int) -> None:
    """The dataset-wide unit-slip rules (:func:`xh2cm.cf.validate.dataset_slip`)."""
    prec = np.where(valid, summ["prec/mean"], np.nan)
    warm = valid & (np.nan_to_num(summ["tair/mean"], nan=-np.inf) > validate.WARM_TAIR)
    peak = float(np.where(warm, summ["vpd/max"], -np.inf).max()) if warm.any() else None
    msg = validate.dataset_slip(float(np.nanmean(prec)), peak, int(valid.sum()),
                                int(warm.sum()), n_time, read.labels)
    if msg:
        raise ValueError(msg)


def _check_precipitation(summ: Mapping[str, np.ndarray], valid: np.ndarray,
                         grid: xr.DataArray, label: str, source: str) -> list[str]:
    """Refuse negative precipitation in cells that run (below the noise set to 0 as it is
    read, :func:`~xh2cm.cf.validate.clip_noise`); a note on the noise set to 0."""
    pmin = np.where(valid & np.isfinite(summ["prec/min"]), summ["prec/min"], np.inf)
    if not (pmin < 0).any():
        noise = int(np.where(valid, summ.get("prec/nnoise", np.zeros(valid.shape)), 0).sum())
        return [f"{label}: {noise} negative value(s) above -{validate.PRECIP_NOISE:g} mm d-1 "
                "(numerical noise, as in ERA5) set to 0"] if noise else []
    pos = np.unravel_index(int(np.argmin(pmin)), pmin.shape)
    example = validate.describe_point(grid, dict(zip(grid.dims, map(int, pos), strict=True)))
    raise ValueError(
        validate.negative_precip_message(source, float(pmin.min()), int((pmin < 0).sum()),
                                         example)
    )
