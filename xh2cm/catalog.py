"""Catalogue of every variable xh2cm reads or writes.

Pure Python (no JAX, no xarray): the single source of truth for variable
names, physical units, long names and CF standard names, shared by the JAX
core (which returns arrays under these names) and the xarray layer (which
attaches these attributes).

Units are the units the core computes in; the xarray layer converts user
input to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["dynamic", "static", "global"]


@dataclass(frozen=True)
class VariableInfo:
    """Metadata of one variable.

    Attributes
    ----------
    name : str
        Short name used as dict key and xarray variable name.
    kind : {"dynamic", "static", "global"}
        ``dynamic``: (time, cell); ``static``: (cell,); ``global``: scalar.
    units : str
        UDUNITS-compatible units string.
    long_name : str
        Human-readable description.
    standard_name : str or None
        CF standard name, only where one exists with convertible units.
    group : str
        One of ``water``, ``carbon``, ``state``, ``parameter``.
    """

    name: str
    kind: Kind
    units: str
    long_name: str
    standard_name: str | None = None
    group: str = "water"

    def attrs(self) -> dict[str, str]:
        """CF attributes of this variable as a dict for ``DataArray.attrs``."""
        out = {"units": self.units, "long_name": self.long_name}
        if self.standard_name:
            out["standard_name"] = self.standard_name
        return out


def _v(*args: Any, **kwargs: Any) -> VariableInfo:
    return VariableInfo(*args, **kwargs)


#: Forcing variables in the units the core expects, in network-input order.
FORCING: dict[str, VariableInfo] = {
    v.name: v
    for v in [
        _v("rn", "dynamic", "W m-2", "net radiation at the surface (daily mean)",
           "surface_net_downward_radiative_flux", "forcing"),
        _v("prec", "dynamic", "mm d-1", "precipitation", "lwe_precipitation_rate", "forcing"),
        _v("tair", "dynamic", "degC", "air temperature (daily mean)", "air_temperature", "forcing"),
        _v("vpd", "dynamic", "hPa", "vapour pressure deficit (daily mean)",
           "water_vapor_saturation_deficit_in_air", "forcing"),
        _v("co2", "dynamic", "ppm", "atmospheric CO2 mole fraction",
           "mole_fraction_of_carbon_dioxide_in_air", "forcing"),
    ]
}

FORCING_NAMES: tuple[str, ...] = tuple(FORCING)

_W = "water"
_C = "carbon"
_S = "state"
_P = "parameter"

#: Every output of :class:`xh2cm.core.model.H2CM`, in a stable order.
OUTPUTS: dict[str, VariableInfo] = {
    v.name: v
    for v in [
        # water fluxes (mm d-1 == kg m-2 d-1 of liquid water)
        _v("snowfall", "dynamic", "mm d-1", "snowfall (after snow-undercatch scaling beta_snow)",
           "lwe_snowfall_rate", _W),
        _v("rainfall", "dynamic", "mm d-1", "rainfall", None, _W),
        _v("melt", "dynamic", "mm d-1", "snow melt", None, _W),
        _v("ei", "dynamic", "mm d-1", "interception evaporation", None, _W),
        _v("es", "dynamic", "mm d-1", "soil evaporation", None, _W),
        _v("tr", "dynamic", "mm d-1", "transpiration", None, _W),
        _v("et", "dynamic", "mm d-1", "evapotranspiration (ei + es + tr)",
           "lwe_water_evaporation_rate", _W),
        _v("irrigation", "dynamic", "mm d-1", "irrigation water added to the soil "
           "(demand rule; 0 unless the model irrigates)", None, _W),
        _v("win", "dynamic", "mm d-1", "water input to the soil surface (rainfall + melt - ei)",
           None, _W),
        _v("f_soil", "dynamic", "1", "fraction of water input recharging soil moisture", None, _W),
        _v("f_gw", "dynamic", "1", "fraction of water input recharging groundwater", None, _W),
        _v("f_surf", "dynamic", "1", "fraction of water input becoming surface runoff", None, _W),
        _v("r_soil", "dynamic", "mm d-1", "soil moisture recharge", None, _W),
        _v("r_gw", "dynamic", "mm d-1", "groundwater recharge", None, _W),
        _v("q_surf", "dynamic", "mm d-1", "surface runoff", None, _W),
        _v("q_base", "dynamic", "mm d-1", "baseflow", None, _W),
        _v("q", "dynamic", "mm d-1", "total runoff (q_surf + q_base)", None, _W),
        # states
        _v("swe", "dynamic", "mm", "snow water equivalent",
           "lwe_thickness_of_surface_snow_amount", _S),
        _v("sm", "dynamic", "mm", "soil moisture storage", None, _S),
        _v("gw", "dynamic", "mm", "groundwater storage", None, _S),
        _v("tws", "dynamic", "mm", "terrestrial water storage (swe + sm + gw)", None, _S),
        _v("tws_anomaly", "dynamic", "mm",
           "terrestrial water storage anomaly from its time mean", None, _S),
        _v("fapar", "dynamic", "1", "fraction of absorbed photosynthetically active radiation",
           "fraction_of_surface_downwelling_photosynthetic_radiative_flux_absorbed_by_vegetation",
           _S),
        # carbon fluxes (gC m-2 d-1)
        _v("gpp", "dynamic", "g m-2 d-1", "gross primary productivity (as carbon)",
           "gross_primary_productivity_of_biomass_expressed_as_carbon", _C),
        _v("npp", "dynamic", "g m-2 d-1", "net primary productivity (as carbon)",
           "net_primary_productivity_of_biomass_expressed_as_carbon", _C),
        _v("ra", "dynamic", "g m-2 d-1", "autotrophic respiration (as carbon)",
           "plant_respiration_carbon_flux", _C),
        _v("rh", "dynamic", "g m-2 d-1", "heterotrophic respiration (as carbon)",
           "heterotrophic_respiration_carbon_flux", _C),
        _v("ter", "dynamic", "g m-2 d-1", "terrestrial ecosystem respiration ra + rh (as carbon)",
           None, _C),
        _v("nee", "dynamic", "g m-2 d-1",
           "net ecosystem exchange of CO2 as carbon (ter - gpp, positive = source to atmosphere)",
           None, _C),
        # learned dynamic parameters
        _v("alpha_melt", "dynamic", "mm d-1 K-1", "snow melt rate (degree-day factor)", None, _P),
        _v("alpha_soil", "dynamic", "1", "soil recharge scaling", None, _P),
        _v("alpha_gw", "dynamic", "1", "groundwater share of non-soil recharge", None, _P),
        _v("wue", "dynamic", "g kg-1", "water-use efficiency (gC per kg H2O, before CO2 scaling)",
           None, _P),
        _v("alpha_t", "dynamic", "1", "transpiration scaling", None, _P),
        _v("cue", "dynamic", "1", "carbon-use efficiency (npp / gpp)", None, _P),
        _v("rb", "dynamic", "g m-2 d-1", "basal heterotrophic respiration at 15 degC", None, _P),
        _v("alpha_es", "dynamic", "1", "soil evaporation scaling", None, _P),
        # learned static parameters
        _v("sm_max", "static", "mm", "soil moisture storage capacity", None, _P),
        _v("alpha_ei", "static", "mm d-1", "interception capacity per unit fapar", None, _P),
        # learned global constants
        _v("beta_snow", "global", "1", "snowfall undercatch scaling", None, _P),
        _v("beta_base", "global", "d-1", "baseflow recession coefficient", None, _P),
        _v("q10", "global", "1", "temperature sensitivity of heterotrophic respiration", None, _P),
        _v("beta_co2", "global", "ppm-1", "CO2 fertilisation scaling of water-use efficiency",
           None, _P),
    ]
}

OUTPUT_NAMES: tuple[str, ...] = tuple(OUTPUTS)
DYNAMIC_OUTPUTS: tuple[str, ...] = tuple(k for k, v in OUTPUTS.items() if v.kind == "dynamic")
STATIC_OUTPUTS: tuple[str, ...] = tuple(k for k, v in OUTPUTS.items() if v.kind == "static")
GLOBAL_OUTPUTS: tuple[str, ...] = tuple(k for k, v in OUTPUTS.items() if v.kind == "global")

#: Observation constraints of training (docs/model/training.md) that are time series, compared as
#: monthly (or daily) values; keys of observation data everywhere in xh2cm.
MONTHLY_OBS: tuple[str, ...] = ("tws", "swe", "et", "q", "fapar", "gpp", "nee")
#: Observation constraints that are static fields (mean annual CUE).
STATIC_OBS: tuple[str, ...] = ("cue",)
#: Every observation constraint, series first.
OBS_NAMES: tuple[str, ...] = MONTHLY_OBS + STATIC_OBS

#: CF ``cell_methods`` over time each forcing may carry (daily values of that kind); a
#: variable with another (CMIP ``tasmax``: ``time: maximum``) is not that forcing.
FORCING_TIME_METHODS: dict[str, tuple[str, ...]] = {
    "rn": ("mean", "sum"), "prec": ("mean", "sum"), "tair": ("mean",), "vpd": ("mean",),
    "co2": ("mean", "point"),
}

#: What each variable physically is, which decides how the analysis may aggregate and
#: compare it (:mod:`xh2cm.analysis`): ``flux`` (a rate per area, summed over area and time
#: into budgets), ``storage`` (an amount per area, summed over area), ``anomaly`` (a storage
#: minus its time mean; its area sum is the anomaly of the total), ``state`` (neither, e.g.
#: fAPAR or air temperature: averaged, never summed), ``fraction`` (a share of a flux) and
#: ``parameter`` (a learned property of the model: averaged, never summed).
Quantity = Literal["flux", "storage", "anomaly", "state", "fraction", "parameter"]
QUANTITY: dict[str, Quantity] = {
    **{n: "flux" for n in ("snowfall", "rainfall", "melt", "ei", "es", "tr", "et", "win",
                           "r_soil", "r_gw", "q_surf", "q_base", "q", "gpp", "npp", "ra",
                           "rh", "ter", "nee", "prec", "rn", "sw")},
    **{n: "fraction" for n in ("f_soil", "f_gw", "f_surf")},
    **{n: "storage" for n in ("swe", "sm", "gw", "tws")},
    "tws_anomaly": "anomaly",
    **{n: "state" for n in ("fapar", "tair", "vpd", "co2")},
    **{n: "parameter" for n, v in OUTPUTS.items() if v.group == "parameter"},
}
#: Kinds whose area integral is a budget (``regional(how="sum")``).
SUMMABLE: tuple[Quantity, ...] = ("flux", "storage", "anomaly")
#: Observations that products deliver as anomalies from their own reference mean (GRACE
#: TWS): a model is compared with them as anomalies from its mean over the same times, in
#: training (``fit``) and in evaluation alike.
OBSERVED_AS_ANOMALY: tuple[str, ...] = ("tws",)
