"""Forcing derived from the usual alternatives when a dataset does not carry it directly.

- **VPD** (hPa), with air temperature and :mod:`xh2cm.humidity` (one saturation
  vapour pressure formula, Bolton 1980), from, in order of preference:
  dewpoint (ERA5 ``d2m``), relative humidity (CMIP ``hurs``, %), vapour pressure
  (``eair``, ``ea``, ``e``), specific humidity (``huss``) with surface pressure
  (``ps``/``sp``, else the standard 1013.25 hPa, said in the report).
- **Net radiation** (W m-2) from net shortwave + net longwave (ERA5 ``ssr + str``),
  from the four components (CMIP ``rsds − rsus + rlds − rlus``; FLUXNET
  ``SW_IN − SW_OUT + LW_IN − LW_OUT``), or, as an estimate said in ``check()``, from the
  incoming components alone (FLUXNET's ERA5 files): ``(1 − 0.23) SW_in + ε LW_in − ε σ T⁴``
  (:data:`ALBEDO`, :data:`EMISSIVITY`).

Inputs are found by the discovery rules of :mod:`xh2cm.cf.variables` (standard
name, then common names) and converted from their units; accumulated daily sums
(ERA5's ``J m**-2``, ``m``) are read as per-day amounts
(:func:`xh2cm.cf.units.per_day_if_accumulated`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import xarray as xr

from xh2cm import humidity
from xh2cm.cf.units import convert, read_units
from xh2cm.cf.variables import discover

#: ``role -> (CF standard names, common names, quantity, units converted to)``.
ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, str]] = {
    "dewpoint": (("dew_point_temperature",), ("d2m", "tdps", "dewpoint", "td", "tdew"),
                 "temperature", "degC"),
    "rh": (("relative_humidity",), ("hurs", "rh", "relative_humidity", "rhum"),
           "relative_humidity", "%"),
    "e": (("water_vapor_partial_pressure_in_air",), ("eair", "ea", "e", "vap", "vp"),
          "pressure", "hPa"),
    "q": (("specific_humidity",), ("huss", "q2m", "specific_humidity", "qair"), "fraction",
          "1"),
    "ps": (("surface_air_pressure", "air_pressure_at_mean_sea_level"),
           ("ps", "sp", "pa", "psurf", "pres"), "pressure", "hPa"),
    "sw_net": (("surface_net_downward_shortwave_flux",),
               ("ssr", "rss", "rsns", "swnet", "sw_net"),
               "radiative_flux", "W m-2"),
    "lw_net": (("surface_net_downward_longwave_flux",),
               ("str", "rls", "rlns", "lwnet", "lw_net"),
               "radiative_flux", "W m-2"),
    "sw_in": (("surface_downwelling_shortwave_flux_in_air",),
              ("rsds", "ssrd", "sw_in", "sw_in_f", "swdown"), "radiative_flux", "W m-2"),
    "sw_out": (("surface_upwelling_shortwave_flux_in_air",), ("rsus", "sw_out", "swup"),
               "radiative_flux", "W m-2"),
    "lw_in": (("surface_downwelling_longwave_flux_in_air",),
              ("rlds", "strd", "lw_in", "lw_in_f", "lwdown"), "radiative_flux", "W m-2"),
    "lw_out": (("surface_upwelling_longwave_flux_in_air",), ("rlus", "lw_out", "lwup"),
               "radiative_flux", "W m-2"),
}


@dataclass(frozen=True)
class Derived:
    """A derived forcing variable and how it was made."""

    data: xr.DataArray
    sources: tuple[str, ...]
    rule: str


#: Accepted CF ``cell_methods`` over time of the inputs (daily means; sums of fluxes).
TIME_METHODS: dict[str, tuple[str, ...]] = {
    role: ("mean", "sum") if spec[2] == "radiative_flux" else ("mean",)
    for role, spec in ROLES.items()}


def _find_role(ds: xr.Dataset, role: str, names: Mapping[str, str] | None = None
               ) -> tuple[xr.DataArray, str] | None:
    stds, aliases, quantity, units = ROLES[role]
    explicit = {role: names[role]} if names and role in names else None
    found = discover(ds, (role,), {role: stds}, {role: aliases}, explicit,
                     time_methods=TIME_METHODS)
    if role not in found:
        return None
    name = found[role].source
    da = ds[name]
    given = read_units(da, role, name, quantity)
    return convert(da.astype(float), given, units, variable=role, quantity=quantity), name


def _vpd(ds: xr.Dataset, tair_c: xr.DataArray, names: Mapping[str, str] | None = None
         ) -> Derived | None:
    if (d := _find_role(ds, "dewpoint", names)) is not None:
        return Derived(humidity.vpd_from_dewpoint(tair_c, d[0]), (d[1],),
                       f"derived: es(T) - es(dewpoint {d[1]!r})")
    if (r := _find_role(ds, "rh", names)) is not None:
        return Derived(humidity.vpd_from_relative_humidity(tair_c, r[0]), (r[1],),
                       f"derived: es(T) * (1 - RH/100), RH {r[1]!r}")
    if (e := _find_role(ds, "e", names)) is not None:
        return Derived(humidity.vpd_from_vapour_pressure(tair_c, e[0]), (e[1],),
                       f"derived: es(T) - e, vapour pressure {e[1]!r}")
    if (q := _find_role(ds, "q", names)) is not None:
        p = _find_role(ds, "ps", names)
        pressure = humidity.STANDARD_PRESSURE_HPA if p is None else p[0]
        e_q = humidity.vapour_pressure_from_specific_humidity(q[0], pressure)
        where = f"pressure {p[1]!r}" if p is not None else "standard pressure 1013.25 hPa"
        return Derived(humidity.vpd_from_vapour_pressure(tair_c, e_q),
                       (q[1],) + (() if p is None else (p[1],)),
                       f"derived: es(T) - e(q {q[1]!r}, {where})")
    return None


def _rn(ds: xr.Dataset, tair_c: xr.DataArray, names: Mapping[str, str] | None = None
        ) -> Derived | None:
    sw, lw = _find_role(ds, "sw_net", names), _find_role(ds, "lw_net", names)
    if sw is not None and lw is not None:
        return Derived(sw[0] + lw[0], (sw[1], lw[1]), f"derived: {sw[1]!r} + {lw[1]!r}")
    parts = [_find_role(ds, r, names) for r in ("sw_in", "sw_out", "lw_in", "lw_out")]
    if all(p is not None for p in parts):
        (a, na), (b, nb), (c, nc), (d, nd) = parts  # type: ignore[misc]
        return Derived(a - b + c - d, (na, nb, nc, nd),
                       f"derived: {na!r} - {nb!r} + {nc!r} - {nd!r}")
    sw_in, lw_in = parts[0], parts[2]
    if sw_in is not None and lw_in is not None:  # incoming only (FLUXNET's ERA5 product)
        up = EMISSIVITY * STEFAN_BOLTZMANN * (tair_c + 273.15) ** 4
        return Derived((1 - ALBEDO) * sw_in[0] + EMISSIVITY * lw_in[0] - up,
                       (sw_in[1], lw_in[1]),
                       f"derived (estimate): (1 - {ALBEDO}) {sw_in[1]!r} + {EMISSIVITY} "
                       f"{lw_in[1]!r} - {EMISSIVITY} sigma T^4 (albedo of FAO-56's reference "
                       "surface; surface at air temperature)")
    return None


#: Net radiation from incoming radiation alone (no outgoing components, as FLUXNET's ERA5
#: files): the albedo of FAO-56's reference grass (Allen et al. 1998, eq. 38), a surface
#: emissivity and the surface at air temperature; an estimate, said in ``check()``.
ALBEDO = 0.23
EMISSIVITY = 0.98
STEFAN_BOLTZMANN = 5.670374419e-8  # W m-2 K-4


#: How each derivable forcing is made.
DERIVATIONS: dict[str, Callable[[xr.Dataset, xr.DataArray, Mapping[str, str] | None],
                                 Derived | None]] = {
    "vpd": _vpd,
    "rn": _rn,
}

#: What would do, for messages.
ALTERNATIVES: dict[str, str] = {
    "vpd": ("or let it be derived: give dewpoint ('d2m', degC or K), relative humidity "
            "('hurs', %), vapour pressure ('eair'/'ea'/'e') or specific humidity ('huss', "
            "kg kg-1, with surface pressure 'ps' if you have it) together with air temperature"),
    "rn": ("or let it be derived: give net shortwave and net longwave ('ssr' and 'str', "
           "ERA5), all four components ('rsds', 'rsus', 'rlds', 'rlus'), or incoming "
           "shortwave and longwave for an estimate"),
}


def derive(ds: xr.Dataset, name: str, tair_c: xr.DataArray,
           names: Mapping[str, str] | None = None) -> Derived | None:
    """``name`` (``"vpd"`` or ``"rn"``) in catalog units from alternatives in ``ds``, or None.

    ``tair_c`` is the air temperature in degC (needed for VPD); ``names`` maps inputs
    (keys of :data:`ROLES`, e.g. ``{"lw_net": "rls"}``) to dataset variables explicitly.
    """
    got = DERIVATIONS[name](ds, tair_c, names)
    if got is None:
        return None
    ties = []
    for src in got.sources:
        std = ds[src].attrs.get("standard_name")
        others = [str(v) for v in ds.data_vars
                  if std and v != src and ds[v].attrs.get("standard_name") == std]
        if others:
            ties.append(f"{src!r} taken over {others} (same standard_name) by its name")
    return Derived(got.data, got.sources, "; ".join([got.rule, *ties]))
