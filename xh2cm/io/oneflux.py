"""One site's AmeriFlux FLUXNET (ONEFlux) product folder: the ERA5 daily weather as model
forcing (net radiation derived, CO2 added) and the FULLSET weekly and monthly fluxes as
constraints, as H2CM is trained globally (daily forcing, weekly/monthly observations).

Files found in the folder by their standard names (:func:`xh2cm.io.read_fluxnet` reads
each): ``*_FLUXNET_ERA5_DD_*.csv`` (required), ``*_FLUXNET_FULLSET_WW_*.csv`` and
``*_FLUXNET_FULLSET_MM_*.csv`` (each optional).

- ``rn``: ERA5 has incoming radiation only; net radiation is derived by
  :func:`xh2cm.io.radiation.net_radiation` with the tower's albedo per calendar month
  (``SW_OUT / SW_IN`` of the monthly FULLSET, :func:`~xh2cm.io.radiation.albedo_climatology`)
  where it has both, else :data:`~xh2cm.io.radiation.DEFAULT_ALBEDO`.
- ``co2``: ERA5 has none; the global mean shipped with xh2cm (``co2="global"``, the
  default: :mod:`xh2cm.co2`), or another NOAA GML monthly file (``co2=`` path to
  ``co2-mm-gl.csv``, :func:`xh2cm.co2.read_noaa_monthly`), interpolated to days; or left
  out (``co2=None``; then pass ``co2=`` to ``check``/``run``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from xh2cm.co2 import on_days, read_noaa_monthly
from xh2cm.io.fluxnet import read_fluxnet
from xh2cm.io.radiation import DEFAULT_ALBEDO, albedo_climatology, net_radiation


@dataclass(frozen=True)
class OneFluxSite:
    """A site's ONEFlux product: ``daily`` forcing (ERA5, with ``rn`` and, if given,
    ``co2``), ``weekly`` and ``monthly`` FULLSET fluxes (None where the folder has no such
    file), and the ``albedo`` used for ``rn`` (a DataArray on ``month``, or a float)."""

    daily: xr.Dataset
    weekly: xr.Dataset | None
    monthly: xr.Dataset | None
    albedo: xr.DataArray | float


def _one(folder: Path, kind: str, required: bool) -> Path | None:
    found = sorted(folder.glob(f"*_FLUXNET_{kind}_*.csv"))
    if len(found) > 1:
        raise ValueError(f"{folder}: several {kind} files {[p.name for p in found]}; keep one")
    if not found and required:
        raise ValueError(f"{folder}: no *_FLUXNET_{kind}_*.csv file; files there: "
                         f"{sorted(p.name for p in folder.glob('*.csv'))}")
    return found[0] if found else None


def read_oneflux(folder: str | os.PathLike, *, co2: str | os.PathLike | None = "global",
                 min_quality: float = 0.8) -> OneFluxSite:
    """Read a site's FLUXNET product folder (see the module docstring).

    Parameters
    ----------
    folder : path
        The folder with the ``AMF_<SITE>_FLUXNET_...csv`` files.
    co2 : "global", path or None
        The daily ``co2``: ``"global"`` (the shipped NOAA global mean), a NOAA GML
        monthly file (``co2-mm-gl.csv``), or None (no ``co2``).
    min_quality : float
        Passed to :func:`xh2cm.io.read_fluxnet` (weekly/monthly ``<name>_measured``).

    Returns
    -------
    OneFluxSite

    Raises
    ------
    ValueError
        If the folder has no ERA5 daily file or two files of one kind, or the CO2 record
        does not cover the ERA5 days.
    """
    folder = Path(folder)
    era5 = _one(folder, "ERA5_DD", required=True)
    assert era5 is not None
    weekly, monthly = (_one(folder, f"FULLSET_{res}", required=False) for res in ("WW", "MM"))
    ww = read_fluxnet(weekly, min_quality=min_quality) if weekly else None
    mm = read_fluxnet(monthly, min_quality=min_quality) if monthly else None
    daily = read_fluxnet(era5)
    albedo: xr.DataArray | float = DEFAULT_ALBEDO
    if mm is not None and {"sw", "sw_out"} <= set(map(str, mm.data_vars)):
        albedo = albedo_climatology(mm)
    daily["rn"] = net_radiation(daily, albedo)
    if co2 is not None:
        series = None if str(co2) == "global" else read_noaa_monthly(co2)
        daily["co2"] = xr.DataArray(on_days(daily.time.values, series=series), dims="time",
                                    coords={"time": daily.time}, attrs={
            "units": "ppm", "standard_name": "mole_fraction_of_carbon_dioxide_in_air",
            "long_name": "global-mean CO2 mole fraction (NOAA GML monthly, interpolated to "
                         "days)", "source": "xh2cm co2='global'" if series is None
            else Path(co2).name})
    daily.attrs["title"] += " (forcing: rn derived" + (", co2 NOAA GML)" if co2 else ")")
    return OneFluxSite(daily=daily, weekly=ww, monthly=mm, albedo=albedo)
