"""Global-mean atmospheric CO2 (NOAA GML monthly means, as in ``../shared/data/co2``), read
with explicit column names and put on daily time stamps for forcing that has no CO2 (ERA5).

Known defect of ``co2-mm-gl.csv``: its header names 4 columns (``Date, Decimal Date,
Average, Trend``) but every row has 6 (date, decimal date, average, its uncertainty,
trend, its uncertainty); pandas reads it without error and mislabels the columns. The
reader gives the 6 names and refuses a file whose rows have another count.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

#: The columns of NOAA GML's ``co2-mm-gl.csv`` rows.
NOAA_MONTHLY = ("date", "decimal_date", "average", "average_unc", "trend", "trend_unc")


def read_noaa_co2(path: str | os.PathLike) -> pd.Series:
    """Monthly global-mean CO2 (ppm) on the first day of each month (the ``average``
    column); -9.99 / -1 are missing.

    Raises
    ------
    ValueError
        If the rows do not have the six columns of :data:`NOAA_MONTHLY`, naming the file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "co2-mm-gl.csv"
    >>> _ = p.write_text("Date,Decimal Date,Average,Trend\\n"  # 4 names, 6 values a row
    ...                  "1979-01,1979.042,336.56,0.11,335.92,0.09\\n")
    >>> read_noaa_co2(p).tolist()  # the average, not what the header calls 'Average'
    [336.56]
    """
    path = Path(path)
    raw = pd.read_csv(path, header=None, skiprows=1, comment="#")
    if raw.shape[1] != len(NOAA_MONTHLY):
        raise ValueError(f"{path}: rows have {raw.shape[1]} columns; a NOAA GML monthly "
                         f"file (co2-mm-gl.csv) has {len(NOAA_MONTHLY)}: {NOAA_MONTHLY}")
    raw.columns = list(NOAA_MONTHLY)
    values = raw["average"].where(raw["average"] > 0)
    return pd.Series(values.to_numpy(float), name="co2",
                     index=pd.DatetimeIndex(pd.to_datetime(raw["date"], format="%Y-%m")))


def daily_co2(monthly: pd.Series, time: xr.DataArray) -> xr.DataArray:
    """CO2 (ppm) on the days of ``time``: the monthly means placed mid-month and linearly
    interpolated. Days before the middle of the first month or after the middle of the
    last are a ``ValueError`` (no extrapolation).

    Examples
    --------
    >>> m = pd.Series([400.0, 403.0], index=pd.to_datetime(["2020-01-01", "2020-02-01"]))
    >>> t = xr.DataArray(pd.date_range("2020-01-20", periods=3, freq="5D"), dims="time")
    >>> daily_co2(m, t).round(2).values.tolist()
    [400.35, 400.85, 401.35]
    """
    mid = monthly.index + (monthly.index + pd.DateOffset(months=1) - monthly.index) / 2
    x = mid.values.astype("datetime64[s]").astype(float)
    ok = np.isfinite(monthly.to_numpy(float))
    t = time.values.astype("datetime64[s]").astype(float)
    if t.min() < x[ok][0] or t.max() > x[ok][-1]:
        raise ValueError(f"CO2 monthly means cover {mid[ok][0]:%Y-%m-%d} .. "
                         f"{mid[ok][-1]:%Y-%m-%d}; the forcing runs "
                         f"{str(time.values[0])[:10]} .. {str(time.values[-1])[:10]}")
    values = np.interp(t, x[ok], monthly.to_numpy(float)[ok])
    return xr.DataArray(values, dims=time.dims, coords=time.coords, attrs={
        "units": "ppm", "long_name": "global-mean CO2 mole fraction (NOAA GML monthly, "
        "interpolated to days)", "standard_name": "mole_fraction_of_carbon_dioxide_in_air"})
