"""Process equations of H2CM (docs/model.md), as pure JAX functions.

Every function works element-wise on arrays of any (broadcastable) shape, so
the same code serves one cell or a batch of cells. Units:

- water storages in mm, water fluxes in mm d-1 (1 mm = 1 kg m-2 of water);
- carbon fluxes in gC m-2 d-1;
- net radiation in W m-2 (daily mean), air temperature in degC,
  CO2 in ppm;
- fractions and scaling factors dimensionless.

The update order of one day is: snow, interception, soil evaporation,
transpiration, water input, soil recharge, groundwater recharge and runoff,
carbon. :func:`water_carbon_step` runs them in that order.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from xh2cm.constants import LATENT_HEAT_MJ_KG, SECONDS_PER_DAY
from xh2cm.core.types import Values

#: Conversion of W m-2 (daily mean) to MJ m-2 d-1 (0.0864).
W_M2_TO_MJ_M2_D = SECONDS_PER_DAY / 1e6
#: Latent heat of vaporisation (MJ kg-1); MJ m-2 d-1 / LAMBDA = mm d-1.
LAMBDA = LATENT_HEAT_MJ_KG
#: Small number guarding the division by the water input (mm d-1): the reference
#: H2CM's value (``epsilon = 1e-8`` in its soil recharge fraction).
EPS = 1e-8


def radiation_to_mm(rn: Values) -> Values:
    """Net radiation as its evaporation equivalent.

    Parameters
    ----------
    rn : Array
        Net radiation (W m-2, daily mean).

    Returns
    -------
    Array
        Energy available for evaporation (mm d-1), ``max(rn·0.0864/2.45, 0)``.
    """
    return jnp.maximum(rn * W_M2_TO_MJ_M2_D / LAMBDA, 0.0)


class Snow(NamedTuple):
    """Snow step results (mm d-1, swe in mm)."""

    snowfall: Values
    rainfall: Values
    melt: Values
    swe: Values


def snow(prec: Values, tc: Values, swe_prev: Values, alpha_melt: Values, beta_snow: Values) -> Snow:
    """Partition precipitation into snow and rain; degree-day snow melt.

    Parameters
    ----------
    prec : Array
        Precipitation (mm d-1).
    tc : Array
        Air temperature (degC).
    swe_prev : Array
        Snow water equivalent of the previous day (mm).
    alpha_melt : Array
        Degree-day melt factor (mm d-1 degC-1), >= 0.
    beta_snow : Array
        Snowfall scaling (undercatch correction), in [0, 1].

    Returns
    -------
    Snow
        ``snowfall = prec·beta_snow`` if ``tc <= 0``; ``rainfall = prec`` if
        ``tc > 0``; ``melt = min(swe_prev, max(tc, 0)·alpha_melt)``;
        ``swe = max(swe_prev + snowfall - melt, 0)``.
    """
    cold = tc <= 0.0
    snowfall = jnp.where(cold, prec * beta_snow, 0.0)
    rainfall = jnp.where(cold, 0.0, prec)
    melt = jnp.minimum(swe_prev, jnp.maximum(tc, 0.0) * alpha_melt)
    swe = jnp.maximum(swe_prev + snowfall - melt, 0.0)
    return Snow(snowfall, rainfall, melt, swe)


def interception(rainfall: Values, fapar: Values, alpha_ei: Values, rn_mm: Values) -> Values:
    """Interception evaporation ``Ei = min(rainfall, fapar·alpha_ei, rn_mm)`` (mm d-1).

    Parameters
    ----------
    rainfall : Array
        Rainfall (mm d-1).
    fapar : Array
        Fraction of absorbed PAR (-).
    alpha_ei : Array
        Interception capacity per unit fAPAR (mm d-1).
    rn_mm : Array
        Available energy (mm d-1).
    """
    return jnp.minimum(jnp.minimum(rainfall, fapar * alpha_ei), rn_mm)


def soil_evaporation(rn_mm: Values, sm_prev: Values, fapar: Values, alpha_es: Values) -> Values:
    """Soil evaporation ``Es = (1 - fapar)·min(rn_mm, sm_prev)·alpha_es`` (mm d-1).

    Parameters
    ----------
    rn_mm : Array
        Energy left after interception (mm d-1).
    sm_prev : Array
        Soil moisture of the previous day (mm).
    fapar : Array
        Fraction of absorbed PAR (-).
    alpha_es : Array
        Soil evaporation scaling, in [0, 1].
    """
    return (1.0 - fapar) * jnp.minimum(rn_mm, sm_prev) * alpha_es


def transpiration(rn_mm: Values, sm: Values, fapar: Values, alpha_t: Values) -> Values:
    """Transpiration ``T = fapar·min(rn_mm, sm)·alpha_t`` (mm d-1).

    Parameters
    ----------
    rn_mm : Array
        Energy left after interception and soil evaporation (mm d-1).
    sm : Array
        Soil moisture after soil evaporation (mm).
    fapar : Array
        Fraction of absorbed PAR (-).
    alpha_t : Array
        Transpiration scaling, in [0, 1].
    """
    return fapar * jnp.minimum(rn_mm, sm) * alpha_t


class Recharge(NamedTuple):
    """Partition of the water input (fractions -, fluxes mm d-1)."""

    f_soil: Values
    f_gw: Values
    f_surf: Values
    r_soil: Values
    r_gw: Values
    q_surf: Values


def recharge(win: Values, sm: Values, sm_max: Values, alpha_soil: Values, alpha_gw: Values
             ) -> Recharge:
    """Split the water input into soil recharge, groundwater recharge and surface runoff.

    ``f_soil = alpha_soil·clip((sm_max - sm)/max(win, eps), 0, 1)``,
    ``f_gw = (1 - f_soil)·alpha_gw``, ``f_surf = (1 - f_soil)(1 - alpha_gw)``.
    The lower clip at 0 only acts if ``sm > sm_max`` (e.g. a user-set initial
    state); the reference's ``min(1, ·)`` is the upper clip.

    Parameters
    ----------
    win : Array
        Water input: rainfall + melt - interception (mm d-1), >= 0.
    sm : Array
        Soil moisture after evaporation and transpiration (mm).
    sm_max : Array
        Soil moisture capacity (mm).
    alpha_soil, alpha_gw : Array
        Recharge scalings, in [0, 1].
    """
    f_soil = alpha_soil * jnp.clip((sm_max - sm) / jnp.maximum(win, EPS), 0.0, 1.0)
    f_gw = (1.0 - f_soil) * alpha_gw
    f_surf = (1.0 - f_soil) * (1.0 - alpha_gw)
    return Recharge(f_soil, f_gw, f_surf, f_soil * win, f_gw * win, f_surf * win)


def irrigation(sm_prev: Values, sm_max: Values, threshold: float) -> Values:
    """Demand-driven irrigation (mm d-1): ``max(threshold·sm_max − sm_prev, 0)``.

    The rule of land-surface models' irrigation schemes (CLM: Ozdogan et al. 2010,
    J. Hydrometeorol. 11, 171-184; Leng et al. 2013, J. Geophys. Res. 118, 9789-9803):
    when the root-zone soil moisture falls below a set fraction of its capacity, the
    deficit up to that fraction is applied. Here it is applied to the soil store at the
    start of the day, every day the deficit exists.

    Parameters
    ----------
    sm_prev : Array
        Soil moisture at the start of the day (mm).
    sm_max : Array
        Soil moisture capacity (mm).
    threshold : float
        Fraction of ``sm_max`` below which water is added, in (0, 1].
    """
    return jnp.maximum(threshold * sm_max - sm_prev, 0.0)


def baseflow(gw_prev: Values, beta_base: Values) -> Values:
    """Linear-reservoir baseflow ``q_base = beta_base·gw_prev`` (mm d-1).

    Parameters
    ----------
    gw_prev : Array
        Groundwater storage of the previous day (mm).
    beta_base : Array
        Recession coefficient (d-1), in [0, 1].
    """
    return beta_base * gw_prev


class Carbon(NamedTuple):
    """Carbon fluxes (gC m-2 d-1)."""

    gpp: Values
    npp: Values
    ra: Values
    rh: Values
    ter: Values
    nee: Values


def carbon(
    tr: Values, wue: Values, co2: Values, beta_co2: Values, cue: Values, rb: Values,
    q10: Values, tc: Values,
) -> Carbon:
    """Carbon fluxes from transpiration.

    ``GPP = T·WUE·CO2·beta_co2``; ``NPP = CUE·GPP``; ``Ra = GPP - NPP``;
    ``Rh = rb·Q10^((tc - 15)/10)``; ``TER = Ra + Rh``; ``NEE = TER - GPP``
    (positive = source to the atmosphere).

    Parameters
    ----------
    tr : Array
        Transpiration (mm d-1 = kg H2O m-2 d-1).
    wue : Array
        Water-use efficiency (gC per kg H2O), before CO2 scaling.
    co2 : Array
        Atmospheric CO2 (ppm).
    beta_co2 : Array
        CO2 scaling (ppm-1).
    cue : Array
        Carbon-use efficiency, in [0, 1].
    rb : Array
        Basal heterotrophic respiration at 15 degC (gC m-2 d-1).
    q10 : Array
        Temperature sensitivity of Rh (-).
    tc : Array
        Air temperature (degC).
    """
    gpp = tr * wue * co2 * beta_co2
    npp = cue * gpp
    ra = gpp - npp
    rh = rb * q10 ** ((tc - 15.0) / 10.0)
    ter = ra + rh
    return Carbon(gpp, npp, ra, rh, ter, ter - gpp)


class WaterState(NamedTuple):
    """Water storages (mm)."""

    swe: Values
    sm: Values
    gw: Values


class StepParams(NamedTuple):
    """Parameters of one day's process step (per cell, already activated)."""

    alpha_melt: Values
    alpha_ei: Values
    alpha_es: Values
    alpha_t: Values
    alpha_soil: Values
    alpha_gw: Values
    sm_max: Values
    wue: Values
    cue: Values
    rb: Values
    fapar: Values
    beta_snow: Values
    beta_base: Values
    beta_co2: Values
    q10: Values


def water_carbon_step(
    state: WaterState,
    rn: Values,
    prec: Values,
    tc: Values,
    co2: Values,
    p: StepParams,
    irrigation_threshold: float | None = None,
) -> tuple[WaterState, dict[str, Values]]:
    """One day of H2CM's process model (docs/model.md, in its update order).

    Parameters
    ----------
    state : WaterState
        Storages at the end of the previous day (mm).
    rn : Array
        Net radiation (W m-2).
    prec : Array
        Precipitation (mm d-1).
    tc : Array
        Air temperature (degC).
    co2 : Array
        Atmospheric CO2 (ppm).
    p : StepParams
        Activated parameters for this day.
    irrigation_threshold : float, optional
        Demand-driven irrigation (off by default): where the soil moisture at the start of
        the day is below ``irrigation_threshold · sm_max``, the deficit up to it is added
        to the soil before any evaporation (:func:`irrigation`) and returned as the flux
        ``irrigation``. None: the reference step, unchanged.

    Returns
    -------
    new_state : WaterState
        Storages at the end of the day (mm).
    fluxes : dict of Array
        Every flux of the day, keyed by :data:`xh2cm.catalog.OUTPUTS` names.

    Notes
    -----
    Mass balance: ``Δ(swe + sm + gw) = snowfall + rainfall (+ irrigation) - et - q``
    exactly (up to round-off), since ``f_soil + f_gw + f_surf = 1``.
    """
    irr = None
    if irrigation_threshold is not None:
        irr = irrigation(state.sm, p.sm_max, irrigation_threshold)
        state = state._replace(sm=state.sm + irr)
    rn_mm = radiation_to_mm(rn)
    sn = snow(prec, tc, state.swe, p.alpha_melt, p.beta_snow)

    ei = interception(sn.rainfall, p.fapar, p.alpha_ei, rn_mm)
    rn_mm = rn_mm - ei
    es = soil_evaporation(rn_mm, state.sm, p.fapar, p.alpha_es)
    rn_mm = rn_mm - es
    sm = state.sm - es
    tr = transpiration(rn_mm, sm, p.fapar, p.alpha_t)
    sm = sm - tr
    et = ei + es + tr

    win = sn.rainfall + sn.melt - ei
    rc = recharge(win, sm, p.sm_max, p.alpha_soil, p.alpha_gw)
    sm = sm + rc.r_soil
    q_base = baseflow(state.gw, p.beta_base)
    gw = state.gw + rc.r_gw - q_base

    c = carbon(tr, p.wue, co2, p.beta_co2, p.cue, p.rb, p.q10, tc)
    fluxes = {
        "snowfall": sn.snowfall,
        "rainfall": sn.rainfall,
        "melt": sn.melt,
        "ei": ei,
        "es": es,
        "tr": tr,
        "et": et,
        "win": win,
        "f_soil": rc.f_soil,
        "f_gw": rc.f_gw,
        "f_surf": rc.f_surf,
        "r_soil": rc.r_soil,
        "r_gw": rc.r_gw,
        "q_surf": rc.q_surf,
        "q_base": q_base,
        "q": rc.q_surf + q_base,
        **c._asdict(),
    }
    if irr is not None:
        fluxes["irrigation"] = irr
    return WaterState(sn.swe, sm, gw), fluxes
