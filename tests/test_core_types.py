"""The shape contracts of :mod:`xh2cm.core.types`, checked at run time with jaxtyping +
beartype: the annotations of the physics, aggregation and training functions hold for
real calls, and a call that breaks them is refused."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from beartype import beartype
from jaxtyping import TypeCheckError, jaxtyped

from xh2cm.core import physics
from xh2cm.training import aggregate as agg


def checked(f):
    return jaxtyped(typechecker=beartype)(f)


def test_physics_contract_holds_for_cells_and_batches():
    for shape in [(), (4,), (2, 3)]:
        x = jnp.full(shape, 2.0, jnp.float32)
        out = checked(physics.snow)(x * 3, x - 3, x, x, x / 2)
        assert out.swe.shape == shape
        assert checked(physics.radiation_to_mm)(x * 100).shape == shape


def test_aggregation_contracts_and_refusal():
    month_index = jnp.asarray(np.repeat(np.arange(3), 10), jnp.int32)  # 30 days, 3 months
    daily = jnp.ones((30, 5), jnp.float32)
    monthly = checked(agg.monthly_means)(daily, month_index, 3)
    assert monthly.shape == (3, 5)
    valid = jnp.ones((3, 5), bool)
    cal = jnp.asarray([0, 1, 2], jnp.int32)
    msc, ok = checked(agg.seasonal_cycle)(monthly, valid, cal)
    assert msc.shape == (12, 5) and ok.shape == (12, 5)
    mean, _ = checked(agg.weighted_cell_mean)(monthly, valid, jnp.ones(5, jnp.float32))
    assert mean.shape == (3,)
    with pytest.raises(TypeCheckError):  # month index is not (time,) of the series
        checked(agg.monthly_means)(daily, month_index[:20], 3)
    with pytest.raises(TypeCheckError):  # weights are not one per cell
        checked(agg.weighted_cell_mean)(monthly, valid, jnp.ones(4, jnp.float32))
