"""Global-mean atmospheric CO2 shipped with xh2cm (``co2="global"``), pure pandas/NumPy.

The series (``xh2cm/data/co2_global_monthly.csv`` and ``co2_global_annual.csv``) are NOAA
GML's global marine-surface means from 1979 (Lan, Tans and Thoning, *Trends in globally
averaged CO2 determined from NOAA Global Monitoring Laboratory measurements*), and before
1979 the Mauna Loa series (Keeling, Scripps; Tans, NOAA GML) less its mean offset from the
global mean over the years both exist (:data:`MLO_OFFSET` ppm, 1979–2025 annual means; the
yearly offset ranges −0.2 … +1.8 ppm, so values before 1979 carry that uncertainty). The
last year or two are provisional at NOAA. Public domain (NOAA's terms: do not claim it as
your own, do not imply endorsement, do not present modified data as official);
``xh2cm/data/README.md`` gives source and licence. Made by :func:`make` from the CSVs of
the public data package ``datasets/co2-ppm`` (whose headers name fewer columns than the
rows have: the columns are named explicitly here).
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

#: Mean Mauna Loa minus global annual mean CO2 (ppm) over 1979–2025, subtracted from
#: Mauna Loa before 1979 (set by :func:`make`; the shipped files say it in their source).
MLO_OFFSET = 0.94

_MM_GL = ["date", "decimal_date", "average", "average_unc", "trend", "trend_unc"]
_MM_MLO = ["date", "decimal_date", "average", "deseasonalized", "ndays", "sdev", "unc"]


def _read_rows(path: str | os.PathLike, names: list[str]) -> pd.DataFrame:
    """A NOAA CSV read with explicit column ``names``: the files' headers name fewer
    columns than their rows have (``co2-mm-gl.csv``: 4 names, 6 values a row), so pandas
    would mislabel them; a file whose rows have another count is refused."""
    raw = pd.read_csv(path, header=None, skiprows=1, comment="#")
    if raw.shape[1] != len(names):
        raise ValueError(f"{path}: rows have {raw.shape[1]} columns; a NOAA GML monthly file "
                         f"of this kind has {len(names)}: {names}")
    raw.columns = names
    return raw


def read_noaa_monthly(path: str | os.PathLike) -> pd.Series:
    """A NOAA GML monthly CO2 file (``co2-mm-gl.csv``: the ``average`` column, ppm) as a
    series on mid-month timestamps, as :func:`global_co2` gives it (for :func:`on_days`'s
    ``series=``); -9.99 / -1 are missing.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "co2-mm-gl.csv"
    >>> _ = p.write_text("Date,Decimal Date,Average,Trend\\n"  # 4 names, 6 values a row
    ...                  "1979-01,1979.042,336.56,0.11,335.92,0.09\\n")
    >>> s = read_noaa_monthly(p)
    >>> str(s.index[0].date()), s.tolist()  # the average, not what the header calls 'Average'
    ('1979-01-16', [336.56])
    """
    raw = _read_rows(path, _MM_GL)
    start = pd.to_datetime(raw["date"], format="%Y-%m")
    mid = start + (start + pd.offsets.MonthBegin(1) - start) / 2
    values = raw["average"].where(raw["average"] > 0)
    return pd.Series(values.to_numpy(float), index=pd.DatetimeIndex(mid), name="co2").dropna()


def make(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The monthly and annual series and the Mauna Loa offset, from NOAA's CSVs in
    ``folder`` (``co2-mm-gl.csv``, ``co2-mm-mlo.csv``, ``co2-annmean-gl.csv``,
    ``co2-annmean-mlo.csv``)."""
    folder = Path(folder)
    gl = _read_rows(folder / "co2-mm-gl.csv", _MM_GL)
    mlo = _read_rows(folder / "co2-mm-mlo.csv", _MM_MLO)
    agl = pd.read_csv(folder / "co2-annmean-gl.csv").set_index("Year")["Mean"]
    amlo = pd.read_csv(folder / "co2-annmean-mlo.csv").set_index("Year")["Mean"]
    both = agl.index.intersection(amlo.index)
    offset = round(float((amlo[both] - agl[both]).mean()), 2)
    mlo = mlo[mlo["average"] > 0]
    early = mlo[mlo["date"] < gl["date"].min()]
    monthly = pd.concat([
        pd.DataFrame({"date": early["date"], "co2_ppm": (early["average"] - offset).round(2),
                      "source": "mauna_loa_minus_offset"}),
        pd.DataFrame({"date": gl["date"], "co2_ppm": gl["average"], "source": "noaa_global"}),
    ], ignore_index=True)
    a_early = amlo[amlo.index < agl.index.min()]
    annual = pd.concat([
        pd.DataFrame({"year": a_early.index, "co2_ppm": (a_early.values - offset).round(2),
                      "source": "mauna_loa_minus_offset"}),
        pd.DataFrame({"year": agl.index, "co2_ppm": agl.values, "source": "noaa_global"}),
    ], ignore_index=True)
    return monthly, annual, offset


def global_co2(freq: Literal["monthly", "annual"] = "monthly") -> pd.Series:
    """The shipped global-mean CO2 (ppm), indexed by mid-month (or mid-year) timestamps.

    Examples
    --------
    >>> s = global_co2("annual")
    >>> s.index[0].year, round(float(s.loc["2000"].iloc[0]), 2)
    (1959, 368.96)
    """
    name = f"co2_global_{freq}.csv"
    table = pd.read_csv(str(files("xh2cm").joinpath("data", name)))
    if freq == "monthly":
        start = pd.to_datetime(table["date"] + "-01")
        mid = start + (start + pd.offsets.MonthBegin(1) - start) / 2
    else:
        start = pd.to_datetime(table["year"].astype(str) + "-01-01")
        mid = start + (start + pd.offsets.YearBegin(1) - start) / 2
    return pd.Series(table["co2_ppm"].to_numpy(float), index=pd.DatetimeIndex(mid),
                     name="co2")


def on_days(time: object, freq: Literal["monthly", "annual"] = "monthly",
            series: pd.Series | None = None) -> np.ndarray:
    """Global CO2 (ppm) interpolated linearly to the days ``time`` (a pandas or cftime index
    or array, any calendar: positions are counted in months of that calendar); ``series``:
    monthly means of another record on mid-month timestamps (:func:`read_noaa_monthly`)
    instead of the shipped one.

    Raises
    ------
    ValueError
        If a day lies outside the series' span, naming ``co2=`` and the fix.
    """
    what = ("co2='global': the shipped global-mean CO2 series" if series is None
            else "the CO2 series given")
    series = global_co2(freq) if series is None else series
    t = pd.Series(np.asarray(time))
    parts = t.map(lambda d: (d.year, d.month, d.day, _days_in_month(d)))
    frac = np.array([y * 12 + (m - 1) + (day - 0.5) / n for y, m, day, n in parts])
    idx = series.index
    pos = (idx.year * 12 + idx.month - 1 + 0.5).to_numpy(float)
    if freq == "annual":
        pos = (idx.year * 12 + 6.0).to_numpy(float)
    first, last = idx[0].to_period("M").start_time, idx[-1].to_period("M").end_time
    lo, hi = first.year * 12 + first.month - 1, last.year * 12 + last.month
    if frac.min() < lo or frac.max() > hi:
        raise ValueError(
            f"{what} covers {first:%Y-%m} … "
            f"{last:%Y-%m}, the forcing {t.iloc[0]} … {t.iloc[-1]}; give CO2 yourself "
            "(co2=<ppm> or a (time,) DataArray) or select the covered days")
    return np.interp(frac, pos, series.to_numpy(float))


def _days_in_month(d: object) -> int:
    """Days in ``d``'s month, in its calendar (a pandas Timestamp or a cftime date)."""
    if isinstance(d, pd.Timestamp):
        return int(d.days_in_month)
    return int(d.daysinmonth)  # type: ignore[attr-defined]


if __name__ == "__main__":  # python -m xh2cm.co2 ../shared/data/co2
    import sys

    m, a, off = make(sys.argv[1])
    out = Path(__file__).parent / "data"
    m.to_csv(out / "co2_global_monthly.csv", index=False)
    a.to_csv(out / "co2_global_annual.csv", index=False)
    print(f"Mauna Loa offset {off} ppm; {len(m)} months, {len(a)} years written to {out}")
