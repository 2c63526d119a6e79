"""Air humidity conversions, with the one saturation vapour pressure formula of xh2cm.

Pure arithmetic on NumPy arrays, xarray objects (lazy stays lazy) or numbers; no
JAX. Temperatures in degC, pressures in hPa, specific humidity in kg kg-1,
relative humidity in %.

Saturation vapour pressure over water (Bolton 1980, Mon. Wea. Rev. 108, 1046–1053,
eq. 10; within 0.1 % of the Goff–Gratch values from −35 to 35 °C):

    e_s(T) = 6.112 · exp(17.67 · T / (T + 243.5))   [hPa, T in degC]

Examples
--------
>>> round(float(saturation_vapour_pressure(20.0)), 3)
23.369
>>> round(float(vpd_from_dewpoint(20.0, 20.0)), 6)
0.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: A number, NumPy array or xarray object (the result has the same kind).
T = Any

#: Ratio of the molar masses of water vapour and dry air.
EPSILON = 0.622
#: Standard sea-level pressure (hPa), used when no surface pressure is given.
STANDARD_PRESSURE_HPA = 1013.25


def saturation_vapour_pressure(tc: T) -> T:
    """Saturation vapour pressure over water (hPa) at ``tc`` (degC); Bolton (1980)."""
    return 6.112 * np.exp(17.67 * tc / (tc + 243.5))


def vpd_from_dewpoint(tc: T, dewpoint_c: T) -> T:
    """VPD (hPa) = e_s(T) − e_s(T_dew), clipped at 0 (dewpoint above T is noise)."""
    vpd = saturation_vapour_pressure(tc) - saturation_vapour_pressure(dewpoint_c)
    return np.maximum(vpd, 0.0)


def vpd_from_relative_humidity(tc: T, rh_percent: T) -> T:
    """VPD (hPa) = e_s(T) · (1 − RH/100), RH clipped to 0 … 100 %."""
    rh = np.clip(rh_percent, 0.0, 100.0)
    return saturation_vapour_pressure(tc) * (1.0 - rh / 100.0)


def vapour_pressure_from_specific_humidity(q: T, pressure_hpa: T = STANDARD_PRESSURE_HPA) -> T:
    """Vapour pressure (hPa) e = q · p / (ε + (1 − ε) · q), q in kg kg-1."""
    return q * pressure_hpa / (EPSILON + (1.0 - EPSILON) * q)


def vpd_from_vapour_pressure(tc: T, e_hpa: T) -> T:
    """VPD (hPa) = e_s(T) − e, clipped at 0."""
    return np.maximum(saturation_vapour_pressure(tc) - e_hpa, 0.0)
