"""Net radiation from incoming shortwave and longwave radiation, air temperature and an
albedo, for weather products that have no net radiation (ONEFlux ERA5: ``SW_IN_ERA``,
``LW_IN_ERA``, ``TA_ERA``).

The surface radiation balance (FAO-56, Allen et al. 1998, eqs. 38–40, with the measured
incoming longwave in place of FAO-56's empirical net longwave):

    Rn = (1 − α) SW↓ + ε LW↓ − ε σ (Ta + 273.15)⁴

with the albedo α, the surface emissivity ε (default 0.97, grass and most soils:
0.95–0.98), σ = 5.670374e-8 W m-2 K-4 and the outgoing longwave from the *air*
temperature Ta (°C) standing in for the surface temperature, which a weather product
lacks. All in W m-2, at any time step whose means are given (the daily mean of T⁴ is
approximated by the fourth power of the daily mean T). The albedo comes from the tower
where it measures reflected shortwave (:func:`albedo_climatology`: ``SW_OUT / SW_IN`` per
calendar month), else a documented constant (:data:`DEFAULT_ALBEDO`).

Examples
--------
>>> round(float(net_radiation_array(200.0, 300.0, 15.0, albedo=0.2)), 2)
71.81
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike

#: Stefan–Boltzmann constant (W m-2 K-4).
SIGMA = 5.670374419e-8
#: Default surface emissivity (grass and most soils, 0.95–0.98).
EMISSIVITY = 0.97
#: Albedo where the tower gives none: FAO-56's hypothetical reference grass.
DEFAULT_ALBEDO = 0.23
#: Shortwave (W m-2) below which a record is left out of the albedo (low sun, noise).
MIN_SW_FOR_ALBEDO = 20.0


def net_radiation_array(sw_in: ArrayLike, lw_in: ArrayLike, tair: ArrayLike, *,
                        albedo: ArrayLike = DEFAULT_ALBEDO,
                        emissivity: ArrayLike = EMISSIVITY) -> np.ndarray:
    """Net radiation (W m-2, positive downward) from incoming shortwave ``sw_in`` and
    longwave ``lw_in`` (W m-2), air temperature ``tair`` (°C), the albedo and the surface
    emissivity (both 1); arrays broadcast.

    Bounds: ``-ε σ T⁴ <= Rn <= sw_in + lw_in``. Albedo outside [0, 1], emissivity outside
    (0, 1], negative radiation or temperature below absolute zero is a ``ValueError``.

    Examples
    --------
    >>> net_radiation_array([0.0, 400.0], 350.0, 20.0, albedo=0.25).round(1).tolist()
    [-66.7, 233.3]
    """
    sw, lw, ta = (np.asarray(v, float) for v in (sw_in, lw_in, tair))
    alb, eps = np.asarray(albedo, float), np.asarray(emissivity, float)
    checks = (("albedo", alb, (alb < 0) | (alb > 1), "in [0, 1]"),
              ("emissivity", eps, (eps <= 0) | (eps > 1), "in (0, 1]"),
              ("sw_in", sw, sw < 0, ">= 0 W m-2"), ("lw_in", lw, lw < 0, ">= 0 W m-2"),
              ("tair", ta, ta < -273.15, "above -273.15 degC"))
    for name, values, bad, rule in checks:
        if np.any(bad):
            raise ValueError(f"{name} must be {rule}; got {values[bad].ravel()[0]:g}")
    return (1.0 - alb) * sw + eps * lw - eps * SIGMA * (ta + 273.15) ** 4


def albedo_climatology(ds: xr.Dataset, *, min_sw: float = MIN_SW_FOR_ALBEDO) -> xr.DataArray:
    """The tower's albedo per calendar month: ``sum SW_OUT / sum SW_IN`` over the records
    with ``sw >= min_sw`` (``ds.sw_out`` and ``ds.sw``, as :func:`xh2cm.io.read_fluxnet`
    names them), on ``month`` (1–12) and the other dims of ``sw``.

    Raises
    ------
    KeyError
        If ``ds`` has no ``sw_out`` or ``sw``.
    ValueError
        If a month has no record to estimate it from.
    """
    for name in ("sw", "sw_out"):
        if name not in ds:
            raise KeyError(f"albedo needs {name!r} (SW_IN_F and SW_OUT of a FLUXNET file); "
                           f"the dataset has {sorted(map(str, ds.data_vars))}")
    ok = (ds.sw >= min_sw) & ds.sw_out.notnull()
    up = ds.sw_out.where(ok).groupby("time.month").sum()
    down = ds.sw.where(ok).groupby("time.month").sum()
    alb = (up / down).where(down > 0)
    if alb.sizes.get("month", 0) < 12 or bool(alb.isnull().any()):
        raise ValueError("albedo: some calendar months have no record with SW_IN >= "
                         f"{min_sw:g} W m-2 and SW_OUT; pass a constant albedo instead")
    return alb.clip(0, 1).assign_attrs(units="1", long_name="surface albedo (SW_OUT / SW_IN "
                                       "per calendar month)")


def net_radiation(ds: xr.Dataset, albedo: float | xr.DataArray = DEFAULT_ALBEDO, *,
                  emissivity: float = EMISSIVITY) -> xr.DataArray:
    """Net radiation of a dataset with ``sw``, ``lw`` (W m-2) and ``tair`` (°C), by
    :func:`net_radiation_array`; ``albedo`` a constant or a DataArray on ``month``
    (:func:`albedo_climatology`), taken at each time step's calendar month.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.date_range("2020-01-01", periods=2)
    >>> ds = xr.Dataset({"sw": ("time", [200.0, 250.0]), "lw": ("time", [300.0, 310.0]),
    ...                  "tair": ("time", [15.0, 16.0])}, coords={"time": t})
    >>> rn = net_radiation(ds, 0.2)
    >>> rn.attrs["units"], rn.round(1).values.tolist()
    ('W m-2', [71.8, 116.2])
    """
    for name in ("sw", "lw", "tair"):
        if name not in ds:
            raise KeyError(f"net radiation needs {name!r} (incoming shortwave, incoming "
                           "longwave, air temperature); the dataset has "
                           f"{sorted(map(str, ds.data_vars))}")
    alb = albedo.sel(month=ds.time.dt.month).drop_vars("month") \
        if isinstance(albedo, xr.DataArray) else albedo
    how = ("monthly albedo climatology of the tower (SW_OUT / SW_IN)"
           if isinstance(albedo, xr.DataArray) else f"albedo {albedo:g}")
    rn = xr.apply_ufunc(lambda s, lw, t, a: net_radiation_array(s, lw, t, albedo=a,
                                                                 emissivity=emissivity),
                        ds.sw, ds.lw, ds.tair, alb, dask="allowed")
    return rn.assign_attrs(
        units="W m-2", long_name="net radiation (derived)",
        standard_name="surface_net_downward_radiative_flux",
        comment=f"(1 - albedo) SW_in + e LW_in - e sigma (Ta + 273.15)^4, {how}, "
                f"emissivity e = {emissivity:g} (FAO-56 radiation balance with measured "
                "LW_in; air for surface temperature)")
