"""Activations mapping raw network outputs / logits to physical parameters
(docs/model/learned.md)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

#: Raw initial values (logits) of the learned global constants.
GLOBAL_INIT_RAW: dict[str, float] = {
    "beta_snow": 3.0,
    "beta_base": -6.0,
    "q10": -3.0,
    "beta_co2": -6.5,
}

#: Offset added to the static MLP's sm_max output before softplus (mm).
SM_MAX_OFFSET = 100.0


def beta_snow(raw: Array) -> Array:
    """Snowfall scaling (-): ``sigmoid(raw)`` in (0, 1)."""
    return jax.nn.sigmoid(raw)


def beta_base(raw: Array) -> Array:
    """Baseflow coefficient (d-1): ``sigmoid(raw)`` in (0, 1)."""
    return jax.nn.sigmoid(raw)


def q10(raw: Array) -> Array:
    """Q10 of heterotrophic respiration (-): ``1 + 9·sigmoid(raw)`` in (1, 10)."""
    return 1.0 + 9.0 * jax.nn.sigmoid(raw)


def beta_co2(raw: Array) -> Array:
    """CO2 scaling of WUE (ppm-1): ``softplus(raw)`` > 0."""
    return jax.nn.softplus(raw)


GLOBAL_ACTIVATIONS = {"beta_snow": beta_snow, "beta_base": beta_base, "q10": q10,
                      "beta_co2": beta_co2}


def logit(p: float) -> float:
    """Inverse of the sigmoid (NaN outside (0, 1))."""
    return float(jnp.log(p) - jnp.log1p(-p))


def inv_softplus(y: float) -> float:
    """Inverse of softplus (NaN for y <= 0)."""
    return float(y + jnp.log(-jnp.expm1(-y)))


#: Inverses of the global activations: physical value -> raw logit.
GLOBAL_INVERSES = {
    "beta_snow": logit,
    "beta_base": logit,
    "q10": lambda v: logit((v - 1.0) / 9.0),
    "beta_co2": inv_softplus,
}


def sm_max(raw: Array) -> Array:
    """Soil moisture capacity (mm): ``softplus(raw + 100) + 1``."""
    return jax.nn.softplus(raw + SM_MAX_OFFSET) + 1.0


#: Activation of each network head output, by parameter name.
HEAD_ACTIVATIONS = {
    "sm_max": sm_max,
    "alpha_ei": jax.nn.softplus,
    "alpha_melt": jax.nn.softplus,
    "alpha_soil": jax.nn.sigmoid,
    "alpha_gw": jax.nn.sigmoid,
    "wue": jax.nn.softplus,
    "alpha_t": jax.nn.sigmoid,
    "cue": jax.nn.sigmoid,
    "fapar": jax.nn.sigmoid,
    "rb": jax.nn.softplus,
    "alpha_es": jax.nn.sigmoid,
}
