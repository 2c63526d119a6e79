"""The one units registry of xh2cm: cf-xarray's pint registry (UDUNITS spellings such as
``kg m-2 s-1``, ``J m**-2``, ``degC``) with the few definitions and contexts this domain
needs, as xclim extends the same registry. No JAX.

Contexts (conversions that cross dimensions through a physical constant; each is used
only where its quantity is meant, see :data:`xh2cm.cf.units.QUANTITIES`):

- ``water``: liquid water of density 1000 kg m-3, so ``kg m-2`` is ``mm`` and
  ``kg m-2 s-1`` is ``mm s-1`` (precipitation, runoff, evaporation, storages);
- ``latent_heat``: λ = 2.45 MJ kg-1 (:data:`xh2cm.constants.LATENT_HEAT_MJ_KG`), so a
  latent heat flux in ``W m-2`` is an evaporation rate (for evaporation only);
- ``carbon``: the molar mass of carbon 12.011 g mol-1, so ``umol m-2 s-1`` of CO2 is
  gC m-2 s-1 (carbon fluxes only).

Spellings of files that pint does not read are rewritten before parsing
(:func:`clean`): ``gC`` (grams of carbon) as ``g``, ``umolCO2`` as ``umol``, ``ppmv``,
``(0 - 1)``, ``-``, ``fraction`` as ``1``, ``mb`` as millibar (not millibarn).
"""

from __future__ import annotations

import copy
import re
import warnings
from typing import Any, cast

import pint

with warnings.catch_warnings():  # "matplotlib support skipped": nothing xh2cm uses
    warnings.simplefilter("ignore", UserWarning)
    import cf_xarray.units

from xh2cm.constants import LATENT_HEAT_MJ_KG, MOLAR_MASS_C

#: The registry (a copy of cf-xarray's, so cf-xarray's own stays as it is).
ureg: pint.UnitRegistry = copy.deepcopy(cf_xarray.units.units)
ureg.force_ndarray_like = False
ureg.define("ppb = 1e-9 = ppbv")
ureg.define(f"molar_mass_carbon = {MOLAR_MASS_C} g / mol")
ureg.define("density_of_water = 1000 kg / m ** 3")
ureg.define(f"latent_heat_of_vaporization = {LATENT_HEAT_MJ_KG} MJ / kg")

def _add(ctx: Any, src: str, dst: str, f: Any) -> None:
    ctx.add_transformation(src, dst, cast(Any, f))


_WATER = pint.Context("water")
for _per in ("", " / [time]"):
    _add(_WATER, f"[mass] / [length] ** 2{_per}", f"[length]{_per}",
                              lambda reg, x: x / reg.density_of_water)
    _add(_WATER, f"[length]{_per}", f"[mass] / [length] ** 2{_per}",
                              lambda reg, x: x * reg.density_of_water)
ureg.add_context(_WATER)

_LATENT = pint.Context("latent_heat")
_add(_LATENT, "[mass] / [time] ** 3", "[length] / [time]",
                           lambda reg, x: x / reg.latent_heat_of_vaporization
                           / reg.density_of_water)
_add(_LATENT, "[length] / [time]", "[mass] / [time] ** 3",
                           lambda reg, x: x * reg.latent_heat_of_vaporization
                           * reg.density_of_water)
_add(_LATENT, "[mass] / [time] ** 3", "[mass] / [length] ** 2 / [time]",
                           lambda reg, x: x / reg.latent_heat_of_vaporization)
ureg.add_context(_LATENT)

_CARBON = pint.Context("carbon")
_add(_CARBON, "[substance] / [length] ** 2 / [time]",
                           "[mass] / [length] ** 2 / [time]",
                           lambda reg, x: x * reg.molar_mass_carbon)
_add(_CARBON, "[mass] / [length] ** 2 / [time]",
                           "[substance] / [length] ** 2 / [time]",
                           lambda reg, x: x / reg.molar_mass_carbon)
ureg.add_context(_CARBON)

_SPELLINGS = (
    (r"[µμ]", "u"),
    (r"·", " "),
    (r"\^", ""),
    (r"\b(umol|mol|mmol|nmol)\s*CO2\b", r"\1"),   # flux-tower files: umolCO2 m-2 s-1
    (r"\b([kmuTPG]?)gC\b", r"\1g"),               # grams of carbon
    (r"\bppmv\b", "ppm"),
    (r"\bmb\b", "mbar"),
    (r"\bdeg(?:ree)?s?[ _]?C\b", "degC"),
    (r"\bdeg(?:ree)?s?[ _]?K\b", "K"),
    (r"\b(?:y|yr)(?=-?\d|\b)", "year"),
)
_ONE = ("", "-", "1", "none", "(0 - 1)", "0-1", "fraction", "dimensionless", "unitless")


def clean(units: str) -> str:
    """A unit string as pint reads it (file spellings rewritten, see the module docstring).

    Examples
    --------
    >>> clean("gC m-2 d-1"), clean("umolCO2 m-2 s-1"), clean("(0 - 1)")
    ('g m-2 d-1', 'umol m-2 s-1', '1')
    """
    s = str(units).strip()
    if s.lower() in _ONE:
        return "1"
    for pattern, repl in _SPELLINGS:
        s = re.sub(pattern, repl, s)
    return s


def as_carbon(units: str) -> str:
    """A mass unit of a carbon flux as people read it (``g`` as ``gC``, ``Pg`` as ``PgC``);
    the ``units`` attribute itself stays ``g m-2 d-1``, which :func:`clean` reads back.

    Examples
    --------
    >>> as_carbon("g m-2 d-1"), as_carbon("Pg yr-1"), clean(as_carbon("g m-2 d-1"))
    ('gC m-2 d-1', 'PgC yr-1', 'g m-2 d-1')
    """
    return re.sub(r"\b([kmuTPG]?)g\b", r"\1gC", units, count=1)


def parse(units: str) -> Any:
    """The pint unit of a unit string (:func:`clean` first).

    Raises
    ------
    ValueError
        If pint cannot read it (the message names the string).
    """
    text = clean(units)
    if text == "1":
        return ureg.dimensionless
    words = re.sub(r"[A-Za-z]{4,}", lambda m: m.group(0).lower(), text)  # "Kelvin"
    for attempt in dict.fromkeys((text, words)):
        try:
            unit = ureg.Quantity(1.0, attempt).units
        except (pint.PintError, AttributeError, TypeError, ValueError, AssertionError):
            continue
        odd = [n for n in dict(unit._units) if ureg.parse_unit_name(n)[0][1] not in _BASES]
        if odd:
            raise ValueError(f"units {units!r}: {odd} are not units of Earth-system data "
                             f"(read as {unit})")
        return unit
    raise ValueError(f"cannot read units {units!r}")


#: Unit names (after an SI prefix) that data files use; others (furlong, fortnight, the
#: Planck constant's ``h`` read as...) are refused rather than guessed.
_BASES = frozenset({
    "meter", "gram", "second", "minute", "hour", "day", "month", "year", "watt", "joule",
    "pascal", "bar", "mole", "kelvin", "degree_Celsius", "percent", "ppm", "ppb", "liter",
    "dimensionless", "degree_Kelvin"})


def factors(from_units: str, to_units: str, contexts: tuple[str, ...] = ()
            ) -> tuple[float, float]:
    """Affine ``(scale, offset)`` with ``to = from * scale + offset`` (pint, in ``contexts``).

    Examples
    --------
    >>> factors("K", "degC")
    (1.0, -273.15)
    >>> round(factors("umol m-2 s-1", "g m-2 d-1", ("carbon",))[0], 5)
    1.03775
    """
    number, target = _number(from_units), _number(to_units)
    src = ureg.dimensionless if number is not None else parse(from_units)
    dst = ureg.dimensionless if target is not None else parse(to_units)
    with ureg.context(*contexts) if contexts else _nothing():
        zero = float(ureg.Quantity(0.0, src).to(dst).magnitude)
        one = float(ureg.Quantity(1.0, src).to(dst).magnitude)
    scale = (number or 1.0) * (one - zero) / (target or 1.0)
    return float(f"{scale:.15g}"), float(f"{zero:.15g}")  # no float noise from pint


def _number(units: str) -> float | None:
    """A unit that is a pure number (``"1e-6"``: parts per million), else None."""
    try:
        return float(str(units).strip())
    except ValueError:
        return None


def per_month(units: str) -> str | None:
    """``units`` with ``month-1`` as ``d-1`` if it is a rate per month (read with the
    calendar's month lengths, :func:`xh2cm.cf.units.convert`), else None.

    Examples
    --------
    >>> per_month("mm/month"), per_month("mm month-1"), per_month("mm d-1")
    ('millimeter / day', 'millimeter / day', None)
    """
    if _number(units) is not None:
        return None
    try:
        unit = parse(units)
    except ValueError:
        return None
    if dict(unit._units).get("month") != -1:
        return None
    return str(unit * ureg.month / ureg.day)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None
