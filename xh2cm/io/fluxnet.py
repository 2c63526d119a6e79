"""Reader of AmeriFlux / FLUXNET (ONEFlux) product files into an ``xr.Dataset`` on
``(time, site)`` with the same names, units and CF attributes as
:func:`xh2cm.io.fluxtower.read_site`.

One file per call: ``<PUB>_<SITE>_FLUXNET_<FULLSET|SUBSET|ERA5>_<HH|HR|DD|WW|MM|YY>_...csv``
(site and resolution come from the name, or are passed). Rules, from the product's README:

- time: ``TIMESTAMP_START`` / ``TIMESTAMP_END`` (HH, HR, WW) or ``TIMESTAMP`` (DD, MM, YY,
  as ``YYYYMMDD``, ``YYYYMM``, ``YYYY``). Half-hourly and hourly records are stamped with
  their end, as :func:`~xh2cm.io.fluxtower.read_site` does, so that
  :func:`~xh2cm.io.daily.to_daily` applies; coarser records with their start, and every
  file gets ``time_bounds`` (CF ``bounds``);
- ``-9999`` is missing;
- units follow the resolution: precipitation in mm per step (HH/HR), mm d-1 (DD-MM) or
  mm y-1 (YY); NEE, GPP and RECO in µmol CO2 m-2 s-1 (HH/HR, kept as ``*_umol``), gC m-2 d-1
  (DD-MM) or gC m-2 y-1 (YY); VPD in hPa; SWC in % (converted to m3 m-3);
- each ``<column>_QC`` is kept as ``<name>_qc`` with ``flag_values`` (HH/HR: 0 measured,
  1 good, 2 medium, 3 poor gap fill) or as the fraction of measured or good-quality
  gap-filled records (DD-YY), and turned into the quality mask ``<name>_measured``
  (HH/HR: ``QC == 0``; DD-YY: ``QC >= min_quality``);
- for the model: ``et`` (mm d-1) from LE with a temperature-dependent latent heat, where
  the resolution is daily or coarser (at HH use :func:`~xh2cm.io.daily.to_daily`).

Columns that are not in :data:`COLUMNS` are not read; their names are listed in the
``columns_not_read`` attribute, so nothing is dropped silently.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm.constants import SECONDS_PER_DAY
from xh2cm.io.csvfiles import check_stamps, no_time_column, read_csv
from xh2cm.io.daily import latent_heat

#: Resolutions of the ONEFlux products, and the timestamp format of each.
RESOLUTIONS = {"HH": "%Y%m%d%H%M", "HR": "%Y%m%d%H%M", "DD": "%Y%m%d", "WW": "%Y%m%d",
               "MM": "%Y%m", "YY": "%Y"}
_NAME = re.compile(r"^(?P<pub>[A-Z]+)_(?P<site>[A-Z]{2}-[A-Za-z0-9]{3})_FLUXNET_"
                   r"(?P<grouping>FULLSET|SUBSET|ERA5)_(?P<res>HH|HR|DD|WW|MM|YY)_")

#: Units of the resolution-dependent variables: ``kind -> {resolution group: units}``.
_UNITS = {
    "prec": {"fine": "mm", "daily": "mm d-1", "yearly": "mm y-1"},
    "carbon": {"fine": "umol m-2 s-1", "daily": "g m-2 d-1", "yearly": "g m-2 y-1"},
}

Info = tuple[str, str, str, str | None]
#: ``column -> (name, units or kind, long name, CF standard name)``. The first column
#: found of each name wins (FULLSET's merged ``_F`` before ERA5's ``_ERA``).
COLUMNS: dict[str, Info] = {
    "TA_F": ("tair", "degC", "air temperature", "air_temperature"),
    "TA_ERA": ("tair", "degC", "air temperature (ERA5, downscaled)", "air_temperature"),
    "SW_IN_F": ("sw", "W m-2", "incoming shortwave radiation",
                "surface_downwelling_shortwave_flux_in_air"),
    "SW_IN_ERA": ("sw", "W m-2", "incoming shortwave radiation (ERA5, downscaled)",
                  "surface_downwelling_shortwave_flux_in_air"),
    "LW_IN_F": ("lw", "W m-2", "incoming longwave radiation",
                "surface_downwelling_longwave_flux_in_air"),
    "LW_IN_ERA": ("lw", "W m-2", "incoming longwave radiation (ERA5, downscaled)",
                  "surface_downwelling_longwave_flux_in_air"),
    "SW_OUT": ("sw_out", "W m-2", "outgoing (reflected) shortwave radiation",
               "surface_upwelling_shortwave_flux_in_air"),
    "LW_OUT": ("lw_out", "W m-2", "outgoing longwave radiation",
               "surface_upwelling_longwave_flux_in_air"),
    "VPD_F": ("vpd", "hPa", "vapour pressure deficit", "water_vapor_saturation_deficit_in_air"),
    "VPD_ERA": ("vpd", "hPa", "vapour pressure deficit (ERA5, downscaled)",
                "water_vapor_saturation_deficit_in_air"),
    "PA_F": ("pa", "kPa", "air pressure", "surface_air_pressure"),
    "PA_ERA": ("pa", "kPa", "air pressure (ERA5, downscaled)", "surface_air_pressure"),
    "P_F": ("prec", "prec", "precipitation", None),
    "P_ERA": ("prec", "prec", "precipitation (ERA5, downscaled)", None),
    "WS_F": ("wind", "m s-1", "wind speed", "wind_speed"),
    "WS_ERA": ("wind", "m s-1", "wind speed (ERA5, downscaled)", "wind_speed"),
    "USTAR": ("ustar", "m s-1", "friction velocity", None),
    "NETRAD": ("rn", "W m-2", "net radiation", "surface_net_downward_radiative_flux"),
    "PPFD_IN": ("ppfd", "umol m-2 s-1", "incoming photosynthetic photon flux density", None),
    "CO2_F_MDS": ("co2", "ppm", "CO2 mole fraction", "mole_fraction_of_carbon_dioxide_in_air"),
    "TS_F_MDS_1": ("tsoil", "degC", "soil temperature (shallowest layer)", "soil_temperature"),
    "SWC_F_MDS_1": ("swc", "m3 m-3", "soil water content (shallowest layer)", None),
    "G_F_MDS": ("g", "W m-2", "ground heat flux", "downward_heat_flux_in_soil"),
    "LE_F_MDS": ("le", "W m-2", "latent heat flux", "surface_upward_latent_heat_flux"),
    "LE_CORR": ("le_corr", "W m-2", "latent heat flux, energy-balance corrected", None),
    "H_F_MDS": ("h", "W m-2", "sensible heat flux", "surface_upward_sensible_heat_flux"),
    "NEE_VUT_REF": ("nee", "carbon", "net ecosystem exchange of CO2 as carbon "
                    "(positive = source)", None),
    "GPP_NT_VUT_REF": ("gpp", "carbon", "gross primary production (night-time "
                       "partitioning)", "gross_primary_productivity_of_biomass_expressed_as_"
                       "carbon"),
    "GPP_DT_VUT_REF": ("gpp_dt", "carbon", "gross primary production (day-time "
                       "partitioning)", None),
    "RECO_NT_VUT_REF": ("reco", "carbon", "ecosystem respiration (night-time "
                        "partitioning)", None),
}
#: Time columns; everything else not in :data:`COLUMNS` or a ``_QC`` of one is listed.
TIME_COLUMNS = ("TIMESTAMP", "TIMESTAMP_START", "TIMESTAMP_END")
#: Names that must be found in any file (one of their columns).
REQUIRED = ("tair",)


def _group(res: str) -> str:
    return "fine" if res in ("HH", "HR") else "yearly" if res == "YY" else "daily"


def _times(path: Path, df: pd.DataFrame, res: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Time stamps (end of HH/HR steps, start otherwise) and ``(n, 2)`` bounds."""
    fmt = RESOLUTIONS[res]

    def parse(col: str) -> pd.DatetimeIndex:
        try:
            return pd.DatetimeIndex(pd.to_datetime(df[col].astype("int64").astype(str),
                                                   format=fmt))
        except (ValueError, TypeError) as err:
            raise ValueError(f"{path}: column {col!r} is not a {res} time stamp "
                             f"({fmt}): {err}") from None

    if "TIMESTAMP_START" in df and "TIMESTAMP_END" in df:
        start, end = parse("TIMESTAMP_START"), parse("TIMESTAMP_END")
        if res == "WW":  # the end is the last day of the week, inclusive
            end = end + pd.Timedelta(days=1)
        fine = res in ("HH", "HR")
        key = "TIMESTAMP_END" if fine else "TIMESTAMP_START"
        stamp = end if fine else start
    elif "TIMESTAMP" in df:
        start = parse("TIMESTAMP")
        offset = {"DD": pd.DateOffset(days=1), "MM": pd.DateOffset(months=1),
                  "YY": pd.DateOffset(years=1)}.get(res)
        if offset is None:
            raise ValueError(f"{path}: a {res} file needs TIMESTAMP_START and TIMESTAMP_END")
        key, stamp, end = "TIMESTAMP", start, start + offset
    else:
        raise no_time_column(path, df, "'TIMESTAMP' or 'TIMESTAMP_START'/'TIMESTAMP_END'")
    check_stamps(path, key, stamp)
    return stamp, np.stack([start.values, end.values], axis=1)


def read_fluxnet(path: str | os.PathLike, *, site: str | None = None,
                 resolution: str | None = None, min_quality: float = 0.8) -> xr.Dataset:
    """One AmeriFlux / FLUXNET (ONEFlux) FULLSET, SUBSET or ERA5 file, on ``(time, site)``.

    Parameters
    ----------
    path : path
        The CSV file.
    site, resolution : str, optional
        Site ID and resolution (``"HH"``, ``"HR"``, ``"DD"``, ``"WW"``, ``"MM"``,
        ``"YY"``); by default parsed from the standard file name.
    min_quality : float
        DD-YY: the share of measured or good-quality gap-filled records above which a
        record counts in ``<name>_measured``.

    Returns
    -------
    xarray.Dataset
        The variables of :data:`COLUMNS` found in the file, with ``units``, ``long_name``,
        ``standard_name`` where CF has one and ``source``; ``<name>_qc`` and
        ``<name>_measured`` where the file has a ``_QC`` column; ``et`` where daily or
        coarser; ``time_bounds``.

    Raises
    ------
    ValueError
        Naming the file and column: unreadable or wrongly separated files, bad, unsorted
        or duplicated time stamps, an all-missing or absent required column, a name that
        gives neither site nor resolution.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "AMF_US-Xyz_FLUXNET_FULLSET_DD_2020-2020_1-1.csv"
    >>> _ = p.write_text("TIMESTAMP,TA_F,TA_F_QC,LE_F_MDS,LE_F_MDS_QC\\n"
    ...                  "20200101,10.0,1.0,50.0,0.9\\n20200102,12.0,1.0,-9999,0.0\\n")
    >>> ds = read_fluxnet(p)
    >>> ds.le.values.ravel().tolist(), ds.le_measured.values.ravel().tolist()
    ([50.0, nan], [True, False])
    >>> round(float(ds.et[0, 0]), 4)  # 50 W m-2 / lambda(10 degC) in mm d-1
    1.7438
    """
    path = Path(path)
    site, res = _site_and_resolution(path, site, resolution)
    if not 0 <= min_quality <= 1:
        raise ValueError(f"min_quality must be in [0, 1], got {min_quality}")
    df = read_csv(path)
    time, bounds = _times(path, df, res)
    group = _group(res)
    data: dict[str, xr.DataArray] = {}
    read = set(TIME_COLUMNS)
    for col, info in COLUMNS.items():
        name = info[0] + ("_umol" if info[1] == "carbon" and group == "fine" else "")
        if col not in df or name in data:
            continue
        values = df[col].to_numpy(float)
        if np.isnan(values).all():
            if name in REQUIRED:
                raise ValueError(f"{path}: required column {col!r} ({info[2]}) has no value")
            continue
        read |= {col, f"{col}_QC"}
        data[name] = _variable(path, col, values, info, group)
        if f"{col}_QC" in df:
            data.update(_quality(path, name, f"{col}_QC", df[f"{col}_QC"].to_numpy(float),
                                 values, group, min_quality))
    missing = [n for n in REQUIRED if n not in data]
    if missing:
        cols = [c for c, v in COLUMNS.items() if v[0] in missing]
        raise ValueError(f"{path}: missing required column(s) for {missing}: one of {cols}")
    if group != "fine" and "le" in data and "tair" in data:
        data["et"] = _et(data["le"], data["tair"])
    return _dataset(data, time, bounds, site, res, path.name,
                    " ".join(c for c in df.columns if c not in read))


def _site_and_resolution(path: Path, site: str | None,
                         resolution: str | None) -> tuple[str, str]:
    """Site and resolution, as passed or from the standard file name."""
    match = _NAME.match(path.name)
    site = site or (match["site"] if match else None)
    res = resolution or (match["res"] if match else None)
    if site is None or res is None:
        raise ValueError(f"{path}: not a standard FLUXNET file name "
                         "(<PUB>_<SITE>_FLUXNET_<GROUPING>_<RES>_...); pass site= and "
                         "resolution=")
    if res not in RESOLUTIONS:
        raise ValueError(f"{path}: resolution {res!r} is not one of {list(RESOLUTIONS)}")
    return site, res


def _variable(path: Path, col: str, values: np.ndarray, info: Info,
              group: str) -> xr.DataArray:
    """One column as a DataArray with its units (by resolution) and CF attributes."""
    _, units, long_name, std = info
    attrs = {"long_name": long_name, "source": f"{path.name}:{col}"}
    if std:
        attrs["standard_name"] = std
    attrs["units"] = _UNITS[units][group] if units in _UNITS else units
    if col.startswith("SWC"):
        values = values / 100.0
        attrs["comment"] = "file values in %, divided by 100"
    if group != "fine":
        attrs["cell_methods"] = "time: mean"
    return xr.DataArray(values, dims="time", attrs=attrs)


def _quality(path: Path, name: str, qc_col: str, qc: np.ndarray, values: np.ndarray,
             group: str, min_quality: float) -> dict[str, xr.DataArray]:
    """``<name>_qc`` (flags at HH/HR, a share of good records at DD-YY) and the quality
    mask ``<name>_measured``."""
    if group == "fine":
        flags = xr.DataArray(qc, dims="time", attrs={
            "long_name": f"quality flag of {name}", "source": f"{path.name}:{qc_col}",
            "flag_values": [0, 1, 2, 3],
            "flag_meanings": "measured good_gap_fill medium_gap_fill poor_gap_fill"})
        measured, rule = qc == 0, "QC == 0"
    else:
        flags = xr.DataArray(qc, dims="time", attrs={
            "units": "1", "source": f"{path.name}:{qc_col}",
            "long_name": f"share of measured or good-quality gap-filled records of {name}"})
        measured, rule = qc >= min_quality, f"QC >= {min_quality:g}"
    mask = xr.DataArray(measured & np.isfinite(values), dims="time",
                        attrs={"long_name": f"{name} is of measured quality ({rule})"})
    return {f"{name}_qc": flags, f"{name}_measured": mask}


def _et(le: xr.DataArray, tair: xr.DataArray) -> xr.DataArray:
    """Evapotranspiration (mm d-1) from the record's mean LE and air temperature."""
    et = le * SECONDS_PER_DAY / (latent_heat(tair) * 1e6)
    return et.assign_attrs(
        units="mm d-1", long_name="evapotranspiration from LE", cell_methods="time: mean",
        comment="LE / lambda(T), lambda = 2.501 - 0.002361 T MJ kg-1, from the record's "
                "mean LE and air temperature")


def _dataset(data: dict[str, xr.DataArray], time: pd.DatetimeIndex, bounds: np.ndarray,
             site: str, res: str, source: str, not_read: str) -> xr.Dataset:
    """The variables on ``(site, time)`` with ``time_bounds`` and the file's attributes."""
    fine = _group(res) == "fine"
    ds = xr.Dataset(data, coords={"time": time.values})
    ds["time_bounds"] = xr.DataArray(bounds, dims=("time", "bounds"))
    ds["time"].attrs = {"bounds": "time_bounds", "long_name": (
        "end of the record (local standard time)" if fine
        else "start of the record (local standard time)")}
    ds = ds.set_coords("time_bounds").expand_dims(site=[site])
    ds.attrs = {"title": f"flux tower {site}, FLUXNET {res}", "source": source,
                "Conventions": "CF-1.8", "resolution": res, "columns_not_read": not_read}
    return ds
