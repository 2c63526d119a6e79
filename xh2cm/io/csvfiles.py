"""Reading flux-tower CSV files and checking their time stamps, with errors that name the
file and the column (shared by :mod:`~xh2cm.io.fluxtower` and :mod:`~xh2cm.io.fluxnet`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: Values that mean "missing" in AmeriFlux / FLUXNET files.
MISSING = [-9999, "-9999"]


def read_csv(path: Path) -> pd.DataFrame:
    """The file as a DataFrame, -9999 as NaN; a ``ValueError`` naming it if unreadable."""
    try:
        return pd.read_csv(path, na_values=MISSING)
    except (OSError, pd.errors.ParserError) as err:
        raise ValueError(f"{path}: cannot read it as CSV ({err})") from None


def no_time_column(path: Path, df: pd.DataFrame, wanted: str) -> ValueError:
    """The error for a file without its time column(s) ``wanted`` (e.g. ``"'TIMESTAMP'"``),
    with a hint when the separator is wrong."""
    hint = " (one column only: is the separator ';' or a tab?)" if df.shape[1] == 1 else ""
    return ValueError(f"{path}: no {wanted} column{hint}; columns: {list(df.columns)[:8]}")


def check_stamps(path: Path, column: str, stamps: pd.DatetimeIndex) -> None:
    """Refuse duplicated or unsorted time stamps, naming the file and column."""
    dup = stamps.duplicated()
    if dup.any():
        raise ValueError(f"{path}: column {column!r} has {int(dup.sum())} duplicated time "
                         f"stamp(s), first {stamps[dup][0]}")
    if not stamps.is_monotonic_increasing:
        raise ValueError(f"{path}: column {column!r} is not sorted; sort the file by time")
