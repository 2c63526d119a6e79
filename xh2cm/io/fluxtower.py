"""Readers of half-hourly flux-tower CSV pairs (forcing + fluxes) as prepared for the
JAX-CanVeg study, into an ``xr.Dataset`` on ``(time, site)`` with CF names and units.

Both column layouts of those files are read (FLUXNET-style ``TA_F, SW_IN_F, P_F, LE_F_MDS,
NEE_VUT_REF, ...`` and site-style ``Tair, Rg, P_mm, LE, FC, ...``). Time is the
``TIMESTAMP_END`` of each half-hour; a half-hour belongs to the day in which it starts.

Known defects of these files are corrected, and said so in the variables' ``comment``:

- ``LE_MODIS`` is the MODIS 8-day LE in 10^4 J m-2 d-1, not W m-2: × 0.1157 (and it is a
  satellite product, kept as ``le_modis``, never as the tower's LE);
- US-Hn1's ``LAI`` is 10 times too large: divided by 10 (:data:`KNOWN_SCALE`);
- gaps were filled by straight lines and the QC flags dropped: each flux and every
  variable the models read gets a ``<name>_measured`` mask (:func:`xh2cm.io.clean.fill_masks`,
  rules per variable in :data:`xh2cm.io.clean.FILL_RULES`) so that scores can use measured
  values only and :func:`xh2cm.io.to_daily` replaces or masks days of fill.

Bad files (wrong separator, missing or all-missing required columns, unsorted or duplicated
time stamps) get a ``ValueError`` naming the file and the column.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm.io.clean import fill_masks
from xh2cm.io.csvfiles import check_stamps, no_time_column, read_csv

#: Seconds per half-hour step.
STEP = pd.Timedelta(minutes=30)
#: LE_MODIS: 10^4 J m-2 d-1 -> W m-2.
LE_MODIS_TO_W_M2 = 1e4 / 86400.0

Column = tuple[str, str, str, str | None]

#: ``(columns of both layouts, (name, units, long name, CF standard name))``.
_FORCING: list[tuple[tuple[str, ...], Column]] = [
    (("TA_F", "Tair"), ("tair", "degC", "air temperature", "air_temperature")),
    (("SW_IN_F", "Rg"), ("sw", "W m-2", "incoming shortwave radiation",
                         "surface_downwelling_shortwave_flux_in_air")),
    (("eair",), ("eair", "kPa", "vapour pressure of air",
                 "water_vapor_partial_pressure_in_air")),
    (("WS_F", "WS_x"), ("wind", "m s-1", "wind speed", "wind_speed")),
    (("CO2_F_MDS", "CO2"), ("co2", "ppm", "CO2 mole fraction",
                            "mole_fraction_of_carbon_dioxide_in_air")),
    (("PA_F", "PA"), ("pa", "kPa", "air pressure", "surface_air_pressure")),
    (("USTAR", "Ustar"), ("ustar", "m s-1", "friction velocity", None)),
    (("TS_F_MDS_4", "TS_15cm"), ("tsoil", "degC", "soil temperature", "soil_temperature")),
    (("SWC_F_MDS_1", "SWC_15cm"), ("swc", "m3 m-3", "soil water content", None)),
    (("veg_ht",), ("veg_height", "m", "vegetation height", "canopy_height")),
    (("LAI",), ("lai", "1", "leaf area index", "leaf_area_index")),
]
_FLUXES: list[tuple[tuple[str, ...], Column]] = [
    (("P_F", "P_mm"), ("prec", "mm", "precipitation per half-hour", None)),
    (("LE_F_MDS", "LE"), ("le", "W m-2", "latent heat flux",
                          "surface_upward_latent_heat_flux")),
    (("LE_MODIS",), ("le_modis", "W m-2", "MODIS MOD16A2GF latent heat flux (8-day, "
                     "interpolated; a satellite product)", None)),
    (("H_F_MDS", "H"), ("h", "W m-2", "sensible heat flux",
                        "surface_upward_sensible_heat_flux")),
    (("NETRAD",), ("rn", "W m-2", "net radiation", "surface_net_downward_radiative_flux")),
    (("G_F_MDS", "G_5cm"), ("g", "W m-2", "ground heat flux", "downward_heat_flux_in_soil")),
    (("PPFD_IN", "PAR"), ("ppfd", "umol m-2 s-1",
                          "incoming photosynthetic photon flux density", None)),
    (("NEE_VUT_REF", "FC"), ("nee_umol", "umol m-2 s-1",
                             "net ecosystem exchange of CO2 (positive = source)", None)),
    (("Rsoil",), ("rsoil", "umol m-2 s-1", "soil respiration (chamber, sparse)", None)),
]
#: ``column -> (name, units, long name, CF standard name)`` of the forcing files.
FORCING_COLUMNS: dict[str, Column] = {c: info for cols, info in _FORCING for c in cols}
#: ``column -> (name, units, long name, CF standard name)`` of the flux files.
FLUX_COLUMNS: dict[str, Column] = {c: info for cols, info in _FLUXES for c in cols}
#: Variables the model needs; all-missing is an error for these, a warning for others.
REQUIRED = ("tair", "sw", "eair", "co2", "prec", "le", "rn", "nee_umol")
#: Known scale slips of the prepared files: ``site -> {column: factor}``.
KNOWN_SCALE: dict[str, dict[str, float]] = {"US-Hn1": {"LAI": 0.1}}


def _read(path: Path, columns: dict[str, Column]) -> pd.DataFrame:
    """One CSV, indexed by TIMESTAMP_END, checked."""
    df = read_csv(path)
    if "TIMESTAMP_END" not in df.columns:
        raise no_time_column(path, df, "'TIMESTAMP_END'")
    try:
        time = pd.DatetimeIndex(pd.to_datetime(df.pop("TIMESTAMP_END")), name="time")
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path}: column 'TIMESTAMP_END' is not a date ({err})") from None
    check_stamps(path, "TIMESTAMP_END", time)
    df.index = time
    return df[[c for c in df.columns if c in columns]]


def read_site(forcing: str | os.PathLike, fluxes: str | os.PathLike,
              site: str | None = None) -> xr.Dataset:
    """Half-hourly forcing and fluxes of one site, on ``(time, site)``.

    Parameters
    ----------
    forcing, fluxes : path
        The ``SITE-forcings*.csv`` and ``SITE-fluxes*.csv`` files of one period.
    site : str, optional
        Site name; default: the file name's prefix (``US-Bi1``).

    Returns
    -------
    xarray.Dataset
        Variables named as :data:`FORCING_COLUMNS` / :data:`FLUX_COLUMNS` say, with
        ``units``, ``long_name``, ``standard_name`` where CF has one and the source
        column in ``source``; ``<name>_measured`` masks for the variables of
        :data:`xh2cm.io.clean.FILL_RULES`.

    Raises
    ------
    ValueError
        Naming the file and column: unreadable or wrongly separated files, missing
        or all-missing required columns, unsorted or duplicated time stamps, or
        forcing and flux files on different time stamps.
    """
    fpath, xpath = Path(forcing), Path(fluxes)
    site = site or fpath.name.split("-forcings")[0]
    f = _read(fpath, FORCING_COLUMNS)
    x = _read(xpath, FLUX_COLUMNS)
    if not f.index.equals(x.index):
        raise ValueError(f"{fpath} and {xpath} have different time stamps "
                         f"({f.index[0]} .. {f.index[-1]}, {len(f)} rows vs {x.index[0]} .. "
                         f"{x.index[-1]}, {len(x)} rows)")
    data: dict[str, xr.DataArray] = {}
    for path, df, columns in ((fpath, f, FORCING_COLUMNS), (xpath, x, FLUX_COLUMNS)):
        for col in df.columns:
            name, units, long_name, std = columns[col]
            values = df[col].to_numpy(float)
            attrs = {"units": units, "long_name": long_name, "source": f"{path.name}:{col}"}
            if std:
                attrs["standard_name"] = std
            if col == "LE_MODIS":
                values = values * LE_MODIS_TO_W_M2
                attrs["comment"] = ("file values are 10^4 J m-2 d-1 (MOD16A2GF), converted "
                                    "x 0.1157 to W m-2")
            scale = KNOWN_SCALE.get(site, {}).get(col)
            if scale is not None:
                values = values * scale
                attrs["comment"] = f"known defect of the file corrected: x {scale:g}"
            if np.isnan(values).all():
                if name in REQUIRED:
                    raise ValueError(f"{path}: required column {col!r} ({long_name}) has no "
                                     "value at all")
                warnings.warn(f"{path}: column {col!r} ({long_name}) has no value; left out",
                              UserWarning, stacklevel=2)
                continue
            data[name] = xr.DataArray(values, dims="time", attrs=attrs)
    missing = [n for n in REQUIRED if n not in data]
    if missing:
        wanted = {n: [c for t in (FORCING_COLUMNS, FLUX_COLUMNS) for c, v in t.items()
                      if v[0] == n] for n in missing}
        raise ValueError(f"{fpath} / {xpath}: missing required column(s): "
                         + "; ".join(f"{n} (one of {cols})" for n, cols in wanted.items()))
    data.update(fill_masks(data))
    ds = xr.Dataset(data, coords={"time": f.index.values})
    ds["time"].attrs = {"long_name": "end of the half-hour (local standard time)"}
    ds = ds.expand_dims(site=[site])
    ds.attrs = {"title": f"flux tower {site}, half-hourly", "source": f"{fpath.name}, "
                f"{xpath.name}", "Conventions": "CF-1.8"}
    return ds
