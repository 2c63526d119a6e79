"""Unit conversion to the units of :mod:`xh2cm.catalog`, on the one registry
(:mod:`xh2cm.cf.registry`: cf-xarray's pint registry with water density, latent heat and
the molar mass of carbon as contexts).

Each variable has a *quantity* (:data:`VARIABLE_QUANTITY`): a reference unit, the contexts
its conversions may use (latent heat only where evaporation is meant, the molar mass of
carbon only for carbon fluxes) and the spellings documented as accepted
(``docs/units.md``, each tested against the registry). Any unit pint reads and converts
within the quantity's contexts is accepted; a rate per month (``mm/month``) is read with
the calendar's month lengths when the data have a time coordinate. Conversion is affine:
``reference = value * scale + offset``.

Physical constants
------------------
- ``LATENT_HEAT`` λ = 2.45 MJ kg-1 (as in the model's own radiation-to-water
  helper): 1 W m-2 of latent heat = 0.0864 / 2.45 = 0.035265 mm d-1,
  i.e. W m-2 / 28.356 = mm d-1.
- ``MOLAR_MASS_C`` = 12.011 g mol-1: 1 umol CO2 m-2 s-1 =
  12.011e-6 g × 86400 s = 1.03775 gC m-2 d-1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np

from xh2cm import catalog
from xh2cm.cf import registry
from xh2cm.constants import LATENT_HEAT_MJ_KG, MOLAR_MASS_C, SECONDS_PER_DAY

LATENT_HEAT = LATENT_HEAT_MJ_KG * 1e6  # J kg-1
UMOL_CO2_M2_S_TO_GC_M2_D = MOLAR_MASS_C * 1e-6 * SECONDS_PER_DAY  # 1.03775...
W_M2_TO_MM_D = SECONDS_PER_DAY / LATENT_HEAT  # latent heat flux -> evaporation, 0.035265

T = TypeVar("T")


@dataclass(frozen=True)
class Quantity:
    """A physical quantity: its reference unit, contexts and documented spellings.

    Attributes
    ----------
    name : str
        Quantity name, e.g. ``"temperature"``.
    reference : str
        Reference unit (the catalog unit of variables of this quantity).
    spellings : tuple of str
        Spellings documented and tested as accepted (any unit pint converts is).
    contexts : tuple of str
        Registry contexts conversions may use (``water``, ``latent_heat``, ``carbon``).
    empty : str or None
        What an empty ``units`` string means when the quantity leaves no doubt
        (``"1"`` for a fraction); None: refused.
    """

    name: str
    reference: str
    spellings: tuple[str, ...]
    contexts: tuple[str, ...] = ()
    empty: str | None = None

    def accepted(self) -> str:
        """Human-readable list of accepted unit spellings."""
        return ", ".join(repr(u) for u in self.spellings)

    @property
    def units(self) -> dict[str, tuple[float, float]]:
        """``spelling -> (scale, offset)`` to the reference unit, from the registry."""
        return {u: registry.factors(u, self.reference, self.contexts) for u in self.spellings}


_WATER_RATE = ("mm d-1", "mm day-1", "mm/day", "kg m-2 d-1", "kg m-2 s-1", "kg m**-2 s**-1",
               "mm s-1", "mm h-1", "m h-1", "m s-1", "m d-1", "cm d-1", "mm/month",
               "mm month-1")

#: Quantities by name.
QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in [
        Quantity("precipitation_rate", "mm d-1", _WATER_RATE, ("water",)),
        Quantity("water_flux", "mm d-1", _WATER_RATE, ("water",)),
        Quantity("evaporation", "mm d-1", (*_WATER_RATE, "W m-2"), ("water", "latent_heat")),
        Quantity("temperature", "degC", ("degC", "°C", "C", "celsius", "degree_Celsius",
                                         "degrees_Celsius", "deg C", "K", "degK", "kelvin")),
        Quantity("pressure", "hPa", ("hPa", "mbar", "mb", "Pa", "kPa")),
        Quantity("radiative_flux", "W m-2", ("W m-2", "W/m2", "W m**-2", "J m-2 s-1",
                                             "J m-2 d-1", "kJ m-2 d-1", "MJ m-2 d-1")),
        Quantity("mole_fraction", "ppm", ("ppm", "ppmv", "umol mol-1", "µmol mol-1",
                                          "umolCO2 mol-1", "1e-6", "ppb", "mol mol-1", "1")),
        Quantity("water_amount", "mm", ("mm", "kg m-2", "cm", "m"), ("water",)),
        Quantity("carbon_flux", "g m-2 d-1",
                 ("g m-2 d-1", "gC m-2 d-1", "gC m-2 day-1", "gC/m2/day", "kg m-2 d-1",
                  "kg m-2 s-1", "g m-2 s-1", "umol m-2 s-1", "µmol m-2 s-1",
                  "umolCO2 m-2 s-1", "mol m-2 s-1", "gC m-2 yr-1"), ("carbon",)),
        Quantity("fraction", "1", ("1", "-", "", "%", "kg kg-1", "g kg-1", "(0 - 1)"),
                 empty="1"),
        Quantity("relative_humidity", "%", ("%", "1"), empty="values"),
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


def normalize(units: str) -> tuple:
    """Canonical, hashable form of a unit string, from the registry.

    Examples
    --------
    >>> normalize("W/m**2") == normalize("m-2 W") == normalize("W m^-2")
    True
    >>> normalize("-"), normalize("1e-6")
    ((), ('<number>', 1e-06))

    Raises
    ------
    ValueError
        If the registry cannot read the string.
    """
    number = registry._number(units)
    if number is not None:
        return () if number == 1.0 else ("<number>", number)
    return tuple(sorted(dict(registry.parse(units)._units).items()))


def resolve_quantity(variable: str, to_units: str | None, quantity: str | None) -> Quantity:
    """Quantity to convert within, from an explicit name, the variable or the target unit."""
    if quantity is None:
        quantity = VARIABLE_QUANTITY.get(variable)
    if quantity is None and to_units is not None:
        hits = [q for q in QUANTITIES.values() if _convertible(to_units, q)]
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


def _convertible(units: str, q: Quantity) -> bool:
    try:
        registry.factors(units, q.reference, q.contexts)
    except Exception:  # noqa: BLE001 - pint raises several kinds
        return False
    return True


def _target(variable: str, to_units: str | None) -> str:
    if to_units is not None:
        return to_units
    info = catalog.FORCING.get(variable) or catalog.OUTPUTS.get(variable)
    if info is None:
        raise ValueError(f"no catalog units for variable {variable!r}; pass to_units=")
    return info.units


def conversion(
    from_units: str,
    to_units: str | None = None,
    *,
    variable: str,
    quantity: str | None = None,
) -> tuple[float, float]:
    """Affine factors ``(scale, offset)`` with ``to = from * scale + offset``.

    A rate per month counts a mean month (365.25 / 12 days) here; :func:`convert` uses
    the calendar's month lengths when the values have a time coordinate.

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
    to_units = _target(variable, to_units)
    q = resolve_quantity(variable, to_units, quantity)
    for units, role in ((from_units, "given"), (to_units, "target")):
        if not _convertible(units, q):
            raise ValueError(
                f"variable {variable!r}: {role} units {units!r} are not supported for "
                f"{q.name.replace('_', ' ')} (reference {q.reference!r}); accepted units "
                f"include: {q.accepted()}"
            )
    return registry.factors(from_units, to_units, q.contexts)


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
        Units of ``values``; a rate per month (``mm/month``) of an xarray object with a
        ``time`` coordinate is read with each month's length in its calendar.
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
    >>> round(convert(300.0, "K", variable="tair"), 6)
    26.85
    >>> import pandas as pd, xarray as xr
    >>> t = pd.date_range("2001-01-01", periods=2, freq="MS")
    >>> et = xr.DataArray([31.0, 28.0], coords={"time": t})
    >>> convert(et, "mm/month", variable="et").values.tolist()
    [1.0, 1.0]
    """
    out: Any = values
    daily = registry.per_month(from_units)
    days = _days_in_month(values) if daily is not None else None
    if days is not None and daily is not None:
        out, from_units = out / days, daily
    scale, offset = conversion(from_units, to_units, variable=variable, quantity=quantity)
    if scale == 1.0 and offset == 0.0:
        return cast(T, out)
    out = out * scale
    return cast(T, out + offset if offset else out)


def _days_in_month(values: Any) -> Any:
    """Days of each time step's calendar month, if ``values`` has a time coordinate."""
    dims = getattr(values, "dims", ())
    coords = getattr(values, "coords", {})
    for d in dims:
        if d in coords and (np.issubdtype(coords[d].dtype, np.datetime64)
                            or coords[d].dtype == object):
            try:
                return coords[d].dt.days_in_month.astype(float)
            except (AttributeError, TypeError):
                continue
    return None


#: Quantities whose values are rates; a unit without a time factor means an accumulation.
_RATES = ("precipitation_rate", "water_flux", "evaporation", "radiative_flux")


def per_day_if_accumulated(units: str, quantity: str, attrs: Mapping[str, Any] | None = None
                           ) -> str:
    """Units of a daily accumulated amount read as a rate per day.

    ERA5's daily sums carry ``"m"`` (precipitation) or ``"J m**-2"`` (radiation), and
    CF marks them with ``cell_methods: "time: sum"``: a rate quantity whose units are
    not a rate but are one once divided by a day is taken as the amount per (daily)
    step, i.e. ``units + " d-1"``. Anything else is returned unchanged.

    Examples
    --------
    >>> per_day_if_accumulated("J m**-2", "radiative_flux", {"cell_methods": "time: sum"})
    'J m**-2 d-1'
    >>> per_day_if_accumulated("W m-2", "radiative_flux")
    'W m-2'
    """
    if quantity not in _RATES:
        return units
    q = QUANTITIES[quantity]
    if _convertible(units, q) or not _convertible(f"{units} d-1", q):
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


def units_of(attrs: Mapping[str, Any], variable: str, source: str | None = None,
             quantity: Quantity | None = None) -> str:
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
        q = quantity or QUANTITIES.get(VARIABLE_QUANTITY.get(variable, ""))
        hint = f" (accepted: {q.accepted()})" if q else ""
        info = catalog.FORCING.get(variable) or catalog.OUTPUTS.get(variable)
        example = quantity.reference if quantity else info.units if info else "..."
        raise ValueError(
            f"variable {variable!r} (dataset variable {source!r}) has no 'units' attribute; "
            f"set it, e.g. ds[{source!r}].attrs['units'] = {example!r}{hint}"
        )
    return str(units)


def read_units(da: Any, variable: str, source: str | None = None,
               quantity: str | None = None) -> str:
    """The units to read a variable in: its ``units`` attribute, an empty one only where
    the quantity leaves no doubt, and accumulated daily sums as per day
    (:func:`per_day_if_accumulated`). The one reading of units for forcing, inputs of
    derivations, observations and the analysis methods.

    An empty ``units`` is ``"1"`` for a fraction (fAPAR, CUE); for relative humidity the
    values decide (above 1.5: ``%``; at most 1: ``1``; else refused); anything else with
    an empty ``units`` is refused with the fix.

    Examples
    --------
    >>> import xarray as xr
    >>> read_units(xr.DataArray([40.0, 95.0], attrs={"units": ""}), "rh",
    ...            quantity="relative_humidity")
    '%'
    >>> read_units(xr.DataArray([1.0], attrs={"units": "m"}), "prec")
    'm d-1'
    """
    source = source or variable
    q = QUANTITIES[quantity or VARIABLE_QUANTITY[variable]]
    no_doubt = q.empty is not None and q.empty != "values"
    units = "1" if "units" not in da.attrs and no_doubt else units_of(da.attrs, variable,
                                                                       source, q)
    if units.strip() == "":
        units = _empty_units(da, variable, source, q)
    return per_day_if_accumulated(units, q.name, da.attrs)


def _empty_units(da: Any, variable: str, source: str, q: Quantity) -> str:
    if q.empty == "values":
        top = float(da.max())
        if top > 1.5:
            return "%"
        if top <= 1.0:
            return "1"
    elif q.empty is not None:
        return q.empty
    raise ValueError(
        f"variable {variable!r} (dataset variable {source!r}) has an empty 'units' attribute "
        f"and {q.name.replace('_', ' ')} cannot be read without one; set it, e.g. "
        f"ds[{source!r}].attrs['units'] = {q.reference!r} (accepted: {q.accepted()})")
