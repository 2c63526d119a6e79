"""Checks on user input (time axis, chunking, NaN, signs) and the explicit NaN fill.

Every check raises ``ValueError`` with a message that names the variable,
the problem and the fix.
"""

from __future__ import annotations

from collections.abc import Hashable

import cf_xarray  # noqa: F401  (registers ds.cf)
import numpy as np
import pandas as pd
import xarray as xr

FILL_METHODS: tuple[str, ...] = ("interpolate",)

_DAY = pd.Timedelta(days=1)


def find_time_dim(ds: xr.Dataset | xr.DataArray) -> str:
    """Name of the time dimension: ``time``, else the one dimension coordinate that CF
    marks as time: ``axis: T``, ``standard_name: time`` (ERA5's ``valid_time``), or a
    datetime coordinate that cf-xarray reads as the T axis.

    Raises
    ------
    ValueError
        If none is found, or several.

    Examples
    --------
    >>> import pandas as pd
    >>> t = xr.DataArray(pd.date_range("2001-01-01", periods=2), dims="valid_time",
    ...                  attrs={"standard_name": "time"})
    >>> find_time_dim(xr.Dataset(coords={"valid_time": t}))
    'valid_time'
    """
    if "time" in ds.dims:
        return "time"
    marked = [str(d) for d in ds.dims if d in ds.coords and (
        ds[d].attrs.get("axis") == "T" or ds[d].attrs.get("standard_name") == "time")]
    cands = marked or [str(n) for n in ds.cf.axes.get("T", []) if n in ds.dims]
    if len(cands) == 1:
        return cands[0]
    if len(cands) > 1:
        raise ValueError(f"several time dimensions {cands}; keep one (rename it to 'time')")
    dated = [str(d) for d in ds.dims if d in ds.coords
             and (np.issubdtype(ds[d].dtype, np.datetime64) or ds[d].dtype == object)]
    fix = (f"ds = ds.rename({{{dated[0]!r}: 'time'}})" if len(dated) == 1 else
           "ds = ds.rename({'<your time dim>': 'time'})")
    raise ValueError(
        f"no time dimension: expected a dimension named 'time' or a coordinate with "
        f"axis='T' or standard_name='time' (dims: {list(map(str, ds.dims))}). Rename it, "
        f"e.g. {fix}"
    )


def check_time(ds: xr.Dataset, time_dim: str) -> None:
    """The time coordinate must be datetime-like, strictly increasing and daily without gaps.

    Raises
    ------
    ValueError
        Naming the problem and the fix.
    """
    if time_dim not in ds.coords:
        raise ValueError(
            f"time dimension {time_dim!r} has no coordinate values; assign dates, e.g. "
            f"ds = ds.assign_coords({time_dim}=pd.date_range('2000-01-01', "
            f"periods=ds.sizes[{time_dim!r}], freq='D'))"
        )
    index = ds.indexes[time_dim]
    if not isinstance(index, pd.DatetimeIndex | xr.CFTimeIndex):
        raise ValueError(
            f"time coordinate {time_dim!r} has dtype {ds[time_dim].dtype}, not datetime; "
            "decode it with ds = xr.decode_cf(ds) (or open the file with decode_times=True)"
        )
    if len(index) < 2:
        return
    steps = pd.TimedeltaIndex(np.asarray(index[1:] - index[:-1]))
    bad = np.flatnonzero(steps <= pd.Timedelta(0))
    if bad.size:
        raise ValueError(
            f"time coordinate {time_dim!r} is not strictly increasing: {bad.size} step(s) go "
            f"backwards or repeat, first at {index[bad[0] + 1]}; sort and deduplicate with "
            f"ds = ds.sortby({time_dim!r}).drop_duplicates({time_dim!r})"
        )
    if (steps == _DAY).all():
        return
    median = steps.median()
    if median >= pd.Timedelta(days=27):
        kind = "monthly" if median <= pd.Timedelta(days=32) else "coarser than daily"
        raise ValueError(
            f"time coordinate {time_dim!r} is {kind} (median step {median}); xh2cm runs "
            "at a daily step and needs daily forcing. Use a daily data set (monthly "
            "values cannot be disaggregated reliably here)"
        )
    if median < _DAY:
        raise ValueError(
            f"time coordinate {time_dim!r} is sub-daily (median step {median}); xh2cm "
            f"runs at a daily step: resample to daily with "
            f"ds = ds.resample({time_dim}='1D').mean() (precipitation as a daily mean rate)"
        )
    gaps = np.flatnonzero(steps != _DAY)
    raise ValueError(
        f"time coordinate {time_dim!r} is not regular daily: {gaps.size} step(s) differ "
        f"from 1 day, first between {index[gaps[0]]} and {index[gaps[0] + 1]} "
        f"({steps[gaps[0]]}). Reindex to a complete daily axis, e.g. "
        f"ds = ds.resample({time_dim}='1D').mean(), then fill the new gaps "
        "(fill='interpolate')"
    )


def describe_point(da: xr.DataArray | xr.Dataset, index: dict[Hashable, int]) -> str:
    """``"time=2001-03-04, lat=10.5, lon=3.0"``: coordinates of an integer position (of a
    DataArray or a Dataset)."""
    parts = []
    for dim, i in index.items():
        val = da[dim].values[i] if dim in da.coords else i
        if isinstance(val, np.datetime64):
            val = str(val)[:10]
        parts.append(f"{dim}={val}")
    return ", ".join(parts)


def first_nan_example(da: xr.DataArray, cells: np.ndarray, time_dim: str) -> str:
    """Where ``da`` (dims ``(time, *spatial)``) first has NaN in the first cell of ``cells``.

    ``cells`` is a boolean array over the spatial dims of ``da``.
    """
    spatial = [d for d in da.dims if d != time_dim]
    pos = dict(zip(spatial, np.unravel_index(np.flatnonzero(cells)[0], cells.shape), strict=True))
    series = np.asarray(da.isel(pos).values)
    t = int(np.argmax(np.isnan(series)))
    return describe_point(da, {time_dim: t, **pos})


def nan_message(label: str, source: str, nan_cells: int, nan_values: int, example: str,
                n_time: int) -> str:
    """Error text for partial NaN in land cells."""
    return (
        f"{label} has missing values (NaN) inside land cells: {nan_values} value(s) in "
        f"{nan_cells} cell(s) (of {n_time} time steps per cell), e.g. at {example}. "
        f"The model cannot run through gaps. Fill them yourself (e.g. "
        f"ds[{source!r}] = ds[{source!r}].interpolate_na('time')), pass fill='interpolate' "
        f"to fill linearly in time, or exclude those cells with mask="
    )


def series_nan_message(label: str, source: str, nan_values: int, n_time: int,
                       example: str) -> str:
    """Error text for NaN in a series shared by all cells (e.g. a global CO2 series)."""
    return (
        f"{label} has missing values (NaN): {nan_values} value(s) among its {n_time} time "
        f"steps, e.g. "
        f"at {example}. Fill them (e.g. ds[{source!r}] = ds[{source!r}].interpolate_na("
        "'time')) or pass fill='interpolate'"
    )


#: Negative precipitation down to this (mm d-1) is numerical noise (ERA5's accumulations
#: dip to about -5e-5 mm d-1), set to 0 and said in ``check()``; below it, refused.
PRECIP_NOISE = 0.01


def clip_noise(prec: xr.DataArray, time_dim: str) -> tuple[xr.DataArray, xr.DataArray]:
    """Precipitation (mm d-1) with negative noise down to :data:`PRECIP_NOISE` set to 0,
    and the number of values set per cell (both lazy with dask).

    Examples
    --------
    >>> p = xr.DataArray([[1.0, -4.5e-5, -0.5]], dims=("x", "time"))
    >>> out, n = clip_noise(p, "time")
    >>> out.values.tolist(), n.values.tolist()
    ([[1.0, 0.0, -0.5]], [1])
    """
    noise = (prec < 0) & (prec >= -PRECIP_NOISE)
    return prec.where(~noise, 0.0), noise.sum([d for d in prec.dims if d == time_dim])


def negative_precip_message(source: str, minimum: float, n_cells: int, example: str) -> str:
    """Error text for negative precipitation."""
    return (
        f"precipitation 'prec' (dataset variable {source!r}) has negative values in "
        f"{n_cells} land cell(s): minimum {minimum:.6g} mm d-1, e.g. at "
        f"{example}, below the noise tolerance -{PRECIP_NOISE:g} mm d-1 that is set to 0. "
        f"Clip them if they are numerical noise: "
        f"ds[{source!r}] = ds[{source!r}].clip(min=0)"
    )


def _fill_1d(y: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN along the last axis; nearest value at the ends."""
    y = np.array(y, dtype=float, copy=True)
    x = np.arange(y.shape[-1])
    flat = y.reshape(-1, y.shape[-1])
    for row in flat:  # only rows with NaN are touched
        bad = np.isnan(row)
        if bad.any() and not bad.all():
            row[bad] = np.interp(x[bad], x[~bad], row[~bad])  # np.interp holds the ends
    return flat.reshape(y.shape)


def fill_time(da: xr.DataArray, time_dim: str) -> xr.DataArray:
    """Fill NaN along ``time_dim``: linear in time, nearest at the start/end (lazy with dask).

    All-NaN series stay NaN.
    """
    if time_dim not in da.dims:
        return da
    chunks = da.chunks
    out = xr.apply_ufunc(
        _fill_1d,
        da.chunk({time_dim: -1}) if chunks is not None else da,
        input_core_dims=[[time_dim]],
        output_core_dims=[[time_dim]],
        dask="parallelized",
        output_dtypes=[float],
        keep_attrs=True,
    )
    out = out.transpose(*da.dims)
    return out.chunk(dict(zip(da.dims, chunks, strict=True))) if chunks is not None else out


def check_fill(fill: str | None) -> None:
    """Validate the ``fill=`` option."""
    if fill is not None and fill not in FILL_METHODS:
        raise ValueError(f"fill={fill!r} is not supported; use None or one of {FILL_METHODS}")


def spatial_dims_of(forcing: dict[str, xr.DataArray], time_dim: str) -> tuple[Hashable, ...]:
    """The spatial dims shared by the time-varying forcing (order of the first one).

    ``co2`` may use fewer dims (none, or time only); every other forcing must
    have the time dim and the same spatial dims.
    """
    ref_name, ref = next((k, v) for k, v in forcing.items() if k != "co2")
    spatial = tuple(d for d in ref.dims if d != time_dim)
    for name, da in forcing.items():
        if name == "co2":
            extra = set(da.dims) - {time_dim, *spatial}
            if extra:
                raise ValueError(
                    f"co2 has dims {da.dims} not shared by the other forcing "
                    f"{(time_dim, *spatial)}; co2 may be a constant, a ('time',) series "
                    "or use the same dims"
                )
            continue
        if time_dim not in da.dims:
            raise ValueError(
                f"forcing {name!r} has no {time_dim!r} dim (dims {da.dims}); only co2 "
                "may be constant in time"
            )
        if set(da.dims) != {time_dim, *spatial}:
            raise ValueError(
                f"forcing {name!r} has dims {da.dims} but {ref_name!r} has {ref.dims}; "
                "all forcing must share the same (time, spatial...) dims"
            )
    return spatial


#: Plausible ranges of daily forcing in catalog units, ``(low, high)``; values outside are
#: refused (``check_ranges=False`` opts out). Daily means: tair -90 … 60 degC, prec 0 … 2000
#: mm d-1, vpd 0 … 150 hPa, rn -300 … 600 W m-2; co2 150 … 2000 ppm.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "rn": (-300.0, 600.0),
    "prec": (0.0, 2000.0),
    "tair": (-90.0, 60.0),
    "vpd": (0.0, 150.0),
    "co2": (150.0, 2000.0),
}
#: Smallest plausible *largest* value over a series of at least :data:`MIN_DAYS_FOR_PEAK`
#: days: a series that never exceeds it is almost surely in other units (e.g. m d-1 of
#: precipitation labelled mm d-1 is 1000 times too small).
PLAUSIBLE_PEAK: dict[str, float] = {"rn": 30.0, "prec": 0.5, "vpd": 0.3}
#: Daily net radiation above this (W m-2) is an accumulated energy in J m-2 d-1 (a real daily
#: mean of 100 W m-2 is 8.64e6 J m-2 d-1); between the range's top and this, bad values.
ACCUMULATED_RN = 1e4
MIN_DAYS_FOR_PEAK = 30


#: Dataset-wide rules on unit slips that stay inside :data:`PLAUSIBLE` (series of at least
#: :data:`MIN_DAYS_FOR_YEAR` days; ``check_ranges=False`` opts out): the mean annual
#: precipitation over all land cells is at least :data:`MIN_MEAN_ANNUAL_PREC` mm yr-1 (the
#: driest deserts get less, the land as a whole ~800: mm h-1 labelled mm d-1 reads 24 times
#: too small), and where a cell's mean air temperature is above :data:`WARM_TAIR` degC its
#: VPD exceeds :data:`MIN_WARM_VPD_PEAK` hPa on some day (kPa labelled hPa: 10 times too small).
#: The precipitation rule needs :data:`MIN_CELLS_FOR_PREC` land cells: a site or a few cells
#: may be hyper-arid (the Atacama gets a few mm yr-1), the land as a whole is not.
MIN_MEAN_ANNUAL_PREC = 50.0
MIN_CELLS_FOR_PREC = 10
WARM_TAIR = 10.0
MIN_WARM_VPD_PEAK = 4.0
MIN_DAYS_FOR_YEAR = 360


def dataset_slip(mean_prec: float, warm_vpd_peak: float | None, n_cells: int, n_warm: int,
                 n_time: int, labels: dict[str, str]) -> str | None:
    """The error text of a dataset-wide unit slip (see :data:`MIN_MEAN_ANNUAL_PREC`), or None.

    Examples
    --------
    >>> dataset_slip(0.05, 12.0, 10, 5, 365, {"prec": "'prec'", "vpd": "'vpd'"})[:39]
    "'prec': mean annual precipitation over "
    >>> dataset_slip(1.6, 12.0, 10, 5, 365, {}) is None  # mean daily rates, mm d-1
    True
    >>> dataset_slip(0.05, 12.0, 1, 1, 365, {}) is None  # one hyper-arid site may be real
    True
    """
    if n_time < MIN_DAYS_FOR_YEAR:
        return None
    annual = mean_prec * 365.25
    if annual < MIN_MEAN_ANNUAL_PREC and n_cells >= MIN_CELLS_FOR_PREC:
        return (f"{labels['prec']}: mean annual precipitation over all {n_cells} land cell(s) "
                f"is {annual:.3g} mm yr-1, implausible for land as a whole (< "
                f"{MIN_MEAN_ANNUAL_PREC:g}); looks like a unit slip: mm h-1 labelled mm d-1 "
                "(24 times too small; set units 'mm h-1') or m labelled mm (set units 'm'). "
                "If the values are right, pass check_ranges=False")
    if warm_vpd_peak is not None and warm_vpd_peak < MIN_WARM_VPD_PEAK:
        return (f"{labels['vpd']} never exceeds {warm_vpd_peak:.3g} hPa in {n_time} days over "
                f"{n_warm} cell(s) whose mean air temperature is above {WARM_TAIR:g} degC, "
                f"implausible (warm climates exceed {MIN_WARM_VPD_PEAK:g} hPa); looks like kPa "
                "labelled hPa (10 times too small): set units 'kPa'. If the values are right, "
                "pass check_ranges=False")
    return None


def _likely_mistake(name: str, low: float, high: float) -> str:
    """A guess at the unit slip behind values ``low … high`` (catalog units)."""
    lo, hi = PLAUSIBLE.get(name, (-np.inf, np.inf))
    if name == "tair" and low > 150:
        return "looks like kelvin labelled degC: set units 'K'"
    if name == "prec" and high > hi:
        return ("looks like accumulated or per-step totals, or units too small by a factor "
                "(e.g. kg m-2 s-1 labelled kg m-2 d-1)")
    if name == "prec" and high < PLAUSIBLE_PEAK["prec"]:
        return ("values ~1000 times too small: looks like m d-1 (ERA5 'tp' is in m) or "
                "kg m-2 s-1 labelled mm d-1; set the units attribute to what they are")
    if name == "vpd" and high > hi:
        return "looks like Pa labelled hPa: set units 'Pa'"
    if name == "vpd" and high < PLAUSIBLE_PEAK["vpd"]:
        return "values too small: looks like kPa labelled Pa, or a fraction"
    if name == "rn" and high > ACCUMULATED_RN:
        return ("looks like an accumulated energy (J m-2 per day, as ERA5's 'ssr'/'str') "
                "labelled W m-2: set units 'J m-2 d-1'")
    if name == "rn" and high > hi:
        return ("too large for a daily mean but far too small for J m-2 d-1: bad values, "
                "e.g. straight-line gap fill through the nights or spikes; mask them and fill "
                "the days (xh2cm.io.to_daily does it for flux-tower files)")
    if name == "rn" and high < PLAUSIBLE_PEAK["rn"]:
        return "values too small: looks like MJ m-2 d-1 labelled W m-2"
    if name == "co2" and high < 1:
        return "looks like a mole fraction in mol mol-1 labelled ppm: set units 'mol mol-1'"
    if name == "co2" and low > 1e5:  # x 1e6 of a ppm value
        return ("looks like ppm labelled as a mole fraction ('mol mol-1' or '1'): "
                "set units 'ppm'")
    if name == "co2" and low > hi:
        return "looks like ppb labelled ppm: set units 'ppb'"
    return "check the values and the units attribute"


def range_message(label: str, name: str, low: float, high: float, n_cells: int) -> str:
    """Error text for forcing outside its plausible range (after unit conversion)."""
    lo, hi = PLAUSIBLE[name]
    units = {"rn": "W m-2", "prec": "mm d-1", "tair": "degC", "vpd": "hPa", "co2": "ppm"}[name]
    return (
        f"{label} is implausible after conversion to {units}: values {low:.6g} … {high:.6g} "
        f"in {n_cells} cell(s), plausible {lo:g} … {hi:g}; {_likely_mistake(name, low, high)}. "
        "If the values are right, pass check_ranges=False"
    )


def peak_message(label: str, name: str, high: float, n_time: int) -> str:
    """Error text for a series whose largest value is implausibly small."""
    units = {"rn": "W m-2", "prec": "mm d-1", "vpd": "hPa"}[name]
    return (
        f"{label} never exceeds {high:.6g} {units} in {n_time} days over all cells, "
        f"implausible for daily {name}; {_likely_mistake(name, -np.inf, high)}. If the values "
        "are right, pass check_ranges=False"
    )


def inf_message(label: str, source: str, n_cells: int, n_values: int, example: str) -> str:
    """Error text for infinite values inside land cells."""
    return (
        f"{label} has infinite values inside land cells: {n_values} value(s) in {n_cells} "
        f"cell(s), e.g. at {example}. Replace them (e.g. ds[{source!r}] = "
        f"ds[{source!r}].where(np.isfinite(ds[{source!r}]))) and fill or mask those cells"
    )
