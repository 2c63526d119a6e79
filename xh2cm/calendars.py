"""Calendar-agnostic time codes for NumPy ``datetime64`` and cftime date arrays.

Model input may use any calendar xarray decodes (``standard``, ``noleap``,
``360_day``, ``all_leap``, ...): the model only needs each day's month, and the
training's aggregation needs to match days and months between series. These
helpers turn either kind of date array into integers, without converting
between calendars.

Examples
--------
>>> import numpy as np
>>> d = np.array(["2001-01-31", "2001-02-01"], dtype="datetime64[D]")
>>> month_codes(d).tolist(), day_codes(d).tolist()
([24012, 24013], [20010131, 20010201])
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _fields(dates: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day of each date."""
    arr = np.asarray(dates)
    if np.issubdtype(arr.dtype, np.datetime64):
        y = arr.astype("datetime64[Y]").astype(np.int64) + 1970
        m = arr.astype("datetime64[M]").astype(np.int64) % 12 + 1
        d = (arr.astype("datetime64[D]") - arr.astype("datetime64[M]")).astype(np.int64) + 1
        return y, m, d
    flat = arr.ravel()
    y = np.array([t.year for t in flat], np.int64).reshape(arr.shape)
    m = np.array([t.month for t in flat], np.int64).reshape(arr.shape)
    d = np.array([t.day for t in flat], np.int64).reshape(arr.shape)
    return y, m, d


def month_codes(dates: Any) -> np.ndarray:
    """``year * 12 + month - 1`` of each date (months since year 0)."""
    y, m, _ = _fields(dates)
    return y * 12 + m - 1


def day_codes(dates: Any) -> np.ndarray:
    """``yyyymmdd`` of each date: sortable, equal for the same calendar day."""
    y, m, d = _fields(dates)
    return y * 10000 + m * 100 + d


def days_since_epoch(dates: Any) -> np.ndarray:
    """Days (float) since 1970-01-01 in the dates' own calendar (for step lengths)."""
    arr = np.asarray(dates)
    if np.issubdtype(arr.dtype, np.datetime64):
        return (arr.astype("datetime64[s]").astype(np.int64) / 86400.0).astype(float)
    import cftime

    flat = arr.ravel()
    if flat.size == 0:
        return np.zeros(arr.shape)
    cal = getattr(flat[0], "calendar", "standard") or "standard"
    return np.asarray(cftime.date2num(list(flat), "days since 1970-01-01", calendar=cal),
                      float).reshape(arr.shape)
