"""Unit parsing and conversion to the units of :mod:`xh2cm.catalog` (no pint).

Every convertible unit is listed in an explicit table per *quantity* (a
physical dimension with a reference unit). A unit string is normalised
(case, spacing, ``/``, ``^``/``**``, ``µ``, ``°``, order of factors) before
lookup, so ``"W/m2"``, ``"W m^-2"`` and ``"m-2 W"`` are the same unit.
Conversion is affine: ``reference = value * scale + offset``.

Physical constants
------------------
- ``LATENT_HEAT`` λ = 2.45 MJ kg-1 (as in the model's own radiation-to-water
  helper): 1 W m-2 of latent heat = 0.0864 / 2.45 = 0.035265 mm d-1,
  i.e. W m-2 / 28.356 = mm d-1.
- ``MOLAR_MASS_C`` = 12.011 g mol-1: 1 umol CO2 m-2 s-1 =
  12.011e-6 g × 86400 s = 1.03775 gC m-2 d-1.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from xh2cm import catalog
from xh2cm.constants import LATENT_HEAT_MJ_KG, MOLAR_MASS_C, SECONDS_PER_DAY

LATENT_HEAT = LATENT_HEAT_MJ_KG * 1e6  # J kg-1
UMOL_CO2_M2_S_TO_GC_M2_D = MOLAR_MASS_C * 1e-6 * SECONDS_PER_DAY  # 1.03775...
W_M2_TO_MM_D = SECONDS_PER_DAY / LATENT_HEAT  # latent heat flux -> evaporation, 0.035265

T = TypeVar("T")


@dataclass(frozen=True)
class Quantity:
    """A physical dimension: its reference unit and accepted units.

    Attributes
    ----------
    name : str
        Quantity name, e.g. ``"temperature"``.
    reference : str
        Reference unit (the catalog unit of variables of this quantity).
    units : dict
        ``unit string -> (scale, offset)`` with ``reference = value * scale + offset``.
    """

    name: str
    reference: str
    units: dict[str, tuple[float, float]]

    def accepted(self) -> str:
        """Human-readable list of accepted unit spellings."""
        return ", ".join(repr(u) for u in self.units)


_PRECIP = {
    "mm d-1": 1.0,
    "mm day-1": 1.0,
    "kg m-2 d-1": 1.0,
    "kg m-2 s-1": SECONDS_PER_DAY,
    "mm s-1": SECONDS_PER_DAY,
    "mm h-1": 24.0,
    "m h-1": 24e3,
    "m s-1": SECONDS_PER_DAY * 1e3,
    "m d-1": 1e3,
    "cm d-1": 10.0,
}

#: Quantities by name. ``scale``/``offset`` convert to the reference unit.
QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in [
        Quantity("precipitation_rate", "mm d-1", {k: (v, 0.0) for k, v in _PRECIP.items()}),
        # evaporation / runoff: water flux, plus latent heat for evaporation only
        Quantity("water_flux", "mm d-1", {k: (v, 0.0) for k, v in _PRECIP.items()}),
        Quantity(
            "evaporation",
            "mm d-1",
            {**{k: (v, 0.0) for k, v in _PRECIP.items()}, "W m-2": (W_M2_TO_MM_D, 0.0)},
        ),
        Quantity(
            "temperature",
            "degC",
            {
                "degC": (1.0, 0.0),
                "°C": (1.0, 0.0),
                "C": (1.0, 0.0),
                "celsius": (1.0, 0.0),
                "degree_Celsius": (1.0, 0.0),
                "degrees_Celsius": (1.0, 0.0),
                "K": (1.0, -273.15),
                "degK": (1.0, -273.15),
                "kelvin": (1.0, -273.15),
            },
        ),
        Quantity(
            "pressure",
            "hPa",
            {
                "hPa": (1.0, 0.0),
                "mbar": (1.0, 0.0),
                "mb": (1.0, 0.0),
                "Pa": (0.01, 0.0),
                "kPa": (10.0, 0.0),
            },
        ),
        Quantity(
            "radiative_flux",
            "W m-2",
            {
                "W m-2": (1.0, 0.0),
                "J m-2 s-1": (1.0, 0.0),
                "J m-2 d-1": (1.0 / SECONDS_PER_DAY, 0.0),
                "kJ m-2 d-1": (1e3 / SECONDS_PER_DAY, 0.0),
                "MJ m-2 d-1": (1e6 / SECONDS_PER_DAY, 0.0),
            },
        ),
        Quantity(
            "mole_fraction",
            "ppm",
            {
                "ppm": (1.0, 0.0),
                "ppmv": (1.0, 0.0),
                "umol mol-1": (1.0, 0.0),
                "1e-6": (1.0, 0.0),
                "ppb": (1e-3, 0.0),
                "mol mol-1": (1e6, 0.0),
                "1": (1e6, 0.0),
            },
        ),
        Quantity(
            "water_amount",
            "mm",
            {"mm": (1.0, 0.0), "kg m-2": (1.0, 0.0), "cm": (10.0, 0.0), "m": (1e3, 0.0)},
        ),
        Quantity(
            "carbon_flux",
            "g m-2 d-1",
            {
                "g m-2 d-1": (1.0, 0.0),
                "gC m-2 d-1": (1.0, 0.0),
                "kg m-2 d-1": (1e3, 0.0),
                "kg m-2 s-1": (1e3 * SECONDS_PER_DAY, 0.0),
                "g m-2 s-1": (SECONDS_PER_DAY, 0.0),
                "umol m-2 s-1": (UMOL_CO2_M2_S_TO_GC_M2_D, 0.0),
            },
        ),
        Quantity(
            "fraction",
            "1",
            {"1": (1.0, 0.0), "-": (1.0, 0.0), "": (1.0, 0.0), "%": (0.01, 0.0),
             "kg kg-1": (1.0, 0.0), "g kg-1": (1e-3, 0.0)},
        ),
    ]
}

#: Quantity of each catalog variable that the xarray layer reads from users.
VARIABLE_QUANTITY: dict[str, str] = {
    "rn": "radiative_flux",
    "prec": "precipitation_rate",
    "tair": "temperature",
    "vpd": "pressure",
    "co2": "mole_fraction",
    # observations (training constraints)
    "et": "evaporation",
    "q": "water_flux",
    "tws": "water_amount",
    "tws_anomaly": "water_amount",
    "swe": "water_amount",
    "sm": "water_amount",
    "gw": "water_amount",
    "fapar": "fraction",
    "gpp": "carbon_flux",
    "npp": "carbon_flux",
    "ra": "carbon_flux",
    "rh": "carbon_flux",
    "ter": "carbon_flux",
    "nee": "carbon_flux",
    "cue": "fraction",
    # further model outputs and inputs read by the analysis methods
    "tr": "evaporation",
    "es": "evaporation",
    "ei": "evaporation",
    "sw": "radiative_flux",
    "par": "radiative_flux",
}

# spelling variants of single factors
_ALIASES = {
    "day": "d",
    "days": "d",
    "hr": "h",
    "hour": "h",
    "sec": "s",
    "millibar": "mbar",
    "deg_c": "degc",
    "degreec": "degc",
    "degreesc": "degc",
    "degree_c": "degc",
    "degrees_c": "degc",
    "c": "degc",
    "celsius": "degc",
    "degree_celsius": "degc",
    "degrees_celsius": "degc",
    "degk": "k",
    "deg_k": "k",
    "kelvin": "k",
    "degree_kelvin": "k",
    "degrees_kelvin": "k",
    "fraction": "1",
    "dimensionless": "1",
    "micromol": "umol",
    "gc": "g",
}

_FACTOR = re.compile(r"^([a-z_%]+)(-?\d+)?$")


def normalize(units: str) -> tuple:
    """Canonical, hashable form of a unit string.

    Parameters
    ----------
    units : str
        E.g. ``"kg m-2 s-1"``, ``"kg/m2/s"``, ``"W m^-2"``, ``"°C"``, ``"1e-6"``.

    Returns
    -------
    tuple
        Sorted ``(factor, exponent)`` pairs, or ``("<number>", value)`` for a
        pure number, or ``()`` for dimensionless (``""``, ``"-"``, ``"1"``).

    Raises
    ------
    ValueError
        If the string cannot be parsed.
    """
    s = str(units).strip().lower()
    for a, b in (("µ", "u"), ("μ", "u"), ("°", "deg"), ("**", ""), ("^", ""), ("·", " ")):
        s = s.replace(a, b)
    s = re.sub(r"\bdeg(?:ree)?s?[ _]+([ck])\b", r"deg\1", s)  # "degrees C" -> "degc"
    s = re.sub(r"mol\s*co2\b", "mol", s)  # "umolCO2 mol-1" (flux-tower files)
    if s in ("", "-", "1", "none", "(0 - 1)", "0-1"):
        return ()
    try:
        return ("<number>", float(s))
    except ValueError:
        pass
    factors: list[tuple[str, int]] = []
    for i, part in enumerate(s.split("/")):
        sign = 1 if i == 0 else -1
        for tok in re.split(r"[\s*.]+", part.strip()):
            if not tok:
                continue
            m = _FACTOR.match(tok)
            if m is None:
                raise ValueError(f"cannot parse unit factor {tok!r} in {units!r}")
            name = _ALIASES.get(m.group(1), m.group(1))
            exp = int(m.group(2)) if m.group(2) else 1
            if name == "1":
                continue
            factors.append((name, sign * exp))
    return tuple(sorted(factors))


def _lookup(quantity: Quantity) -> dict[tuple, tuple[float, float]]:
    return {normalize(u): f for u, f in quantity.units.items()}


def resolve_quantity(variable: str, to_units: str | None, quantity: str | None) -> Quantity:
    """Quantity to convert within, from an explicit name, the variable or the target unit."""
    if quantity is None:
        quantity = VARIABLE_QUANTITY.get(variable)
    if quantity is None and to_units is not None:
        key = normalize(to_units)
        hits = [q for q in QUANTITIES.values() if key in _lookup(q)]
        if len(hits) == 1:
            return hits[0]
    if quantity is None:
        raise ValueError(
            f"don't know which physical quantity variable {variable!r} is; "
            f"pass quantity= one of {sorted(QUANTITIES)}"
        )
    try:
        return QUANTITIES[quantity]
    except KeyError:
        raise ValueError(
            f"unknown quantity {quantity!r} for variable {variable!r}; "
            f"expected one of {sorted(QUANTITIES)}"
        ) from None


def conversion(
    from_units: str,
    to_units: str | None = None,
    *,
    variable: str,
    quantity: str | None = None,
) -> tuple[float, float]:
    """Affine factors ``(scale, offset)`` with ``to = from * scale + offset``.

    Parameters
    ----------
    from_units, to_units : str
        Given and wanted units; ``to_units`` defaults to the catalog units
        of ``variable``.
    variable : str
        Variable name, used to pick the quantity and in error messages.
    quantity : str, optional
        Key of :data:`QUANTITIES`; inferred from ``variable`` if omitted.

    Raises
    ------
    ValueError
        Naming the variable, the given units and the accepted ones.
    """
    if to_units is None:
        info = catalog.FORCING.get(variable) or catalog.OUTPUTS.get(variable)
        if info is None:
            raise ValueError(f"no catalog units for variable {variable!r}; pass to_units=")
        to_units = info.units
    q = resolve_quantity(variable, to_units, quantity)
    table = _lookup(q)

    def factors(units: str, role: str) -> tuple[float, float]:
        try:
            key = normalize(units)
        except ValueError:
            key = None
        if key not in table:
            raise ValueError(
                f"variable {variable!r}: {role} units {units!r} are not supported for "
                f"{q.name.replace('_', ' ')}; accepted units: {q.accepted()}"
            )
        return table[key]

    s1, o1 = factors(from_units, "given")
    s2, o2 = factors(to_units, "target")
    # from -> reference: x*s1 + o1 ; reference -> to: (r - o2) / s2
    return s1 / s2, (o1 - o2) / s2


def convert(
    values: T,
    from_units: str,
    to_units: str | None = None,
    *,
    variable: str,
    quantity: str | None = None,
) -> T:
    """Convert ``values`` (number, numpy or xarray object) between units.

    Parameters
    ----------
    values : array-like
        Values in ``from_units``; xarray objects stay lazy.
    from_units : str
        Units of ``values``.
    to_units : str, optional
        Wanted units; default: the catalog units of ``variable``.
    variable : str
        Variable name (catalog name such as ``"prec"`` or ``"gpp"``).
    quantity : str, optional
        Key of :data:`QUANTITIES` to convert within, if ``variable`` is not a
        catalog name (e.g. ``quantity="evaporation"``).

    Returns
    -------
    Same type as ``values``.

    Examples
    --------
    >>> convert(1.0, "kg m-2 s-1", variable="prec")
    86400.0
    >>> convert(300.0, "K", variable="tair")
    26.850000000000023
    """
    scale, offset = conversion(from_units, to_units, variable=variable, quantity=quantity)
    if scale == 1.0 and offset == 0.0:
        return values
    out: Any = values
    out = out * scale
    return cast(T, out + offset if offset else out)


#: Quantities whose values are rates; a unit without a time factor means an accumulation.
_RATES = ("precipitation_rate", "water_flux", "evaporation", "radiative_flux")


def per_day_if_accumulated(units: str, quantity: str, attrs: Mapping[str, Any] | None = None
                           ) -> str:
    """Units of a daily accumulated amount read as a rate per day.

    ERA5's daily sums carry ``"m"`` (precipitation) or ``"J m**-2"`` (radiation), and
    CF marks them with ``cell_methods: "time: sum"``: a rate quantity whose units have
    no time factor is taken as the amount per (daily) step, i.e. ``units + " d-1"``.
    Anything else is returned unchanged.

    Examples
    --------
    >>> per_day_if_accumulated("J m**-2", "radiative_flux", {"cell_methods": "time: sum"})
    'J m**-2 d-1'
    >>> per_day_if_accumulated("W m-2", "radiative_flux")
    'W m-2'
    """
    if quantity not in _RATES:
        return units
    try:
        factors = normalize(units)
    except ValueError:
        return units
    if not factors or factors[0] == "<number>":
        return units
    if any(name in ("s", "d", "h", "min", "w", "kw", "mw") for name, _ in factors):  # W = J s-1
        return units
    return f"{units} d-1"


def describe_conversion(
    from_units: str, to_units: str | None = None, *, variable: str, quantity: str | None = None
) -> str:
    """Short text such as ``"K -> degC (x - 273.15)"`` or ``"none"``."""
    scale, offset = conversion(from_units, to_units, variable=variable, quantity=quantity)
    if scale == 1.0 and offset == 0.0:
        return "none"
    to_units = to_units or (catalog.FORCING.get(variable) or catalog.OUTPUTS[variable]).units
    expr = "x" if scale == 1.0 else f"x * {scale:.6g}"
    if offset:
        expr += f" {'+' if offset > 0 else '-'} {abs(offset):.6g}"
    return f"{from_units} -> {to_units} ({expr})"


def units_of(attrs: Mapping[str, Any], variable: str, source: str | None = None) -> str:
    """The ``units`` attribute of a variable, or a ValueError saying how to set it.

    Parameters
    ----------
    attrs : mapping
        The variable's attributes.
    variable : str
        Catalog name (e.g. ``"prec"``).
    source : str, optional
        Name of the variable in the user's dataset, if different.
    """
    source = source or variable
    units = attrs.get("units")
    if units is None:
        q = QUANTITIES.get(VARIABLE_QUANTITY.get(variable, ""))
        hint = f" (accepted: {q.accepted()})" if q else ""
        info = catalog.FORCING.get(variable) or catalog.OUTPUTS.get(variable)
        example = info.units if info else "..."
        raise ValueError(
            f"variable {variable!r} (dataset variable {source!r}) has no 'units' attribute; "
            f"set it, e.g. ds[{source!r}].attrs['units'] = {example!r}{hint}"
        )
    return str(units)
