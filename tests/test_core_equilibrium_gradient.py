"""The groundwater equilibrium gradient (``reattach_groundwater``) against exact autodiff.

The reference: the same loss differentiated *through* a long spin-up (no
``stop_gradient``), which is what a spun-up model's loss really depends on.
The reference training stops the gradient at the spun-up state; then the
derivative of mean runoff w.r.t. ``beta_base`` is large and of the wrong sign
(``q_base = beta_base * gw0`` with ``gw0`` held fixed), while in equilibrium
mean runoff hardly depends on ``beta_base`` at all.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xh2cm.core import Forcing, init_model, reattach_groundwater, set_global_constants, spinup

N_TIME, N_CELL, CYCLES = 120, 3, 30  # baseflow timescale 20 d: 30 cycles are equilibrium


@pytest.fixture(scope="module")
def setup(make_forcing_arrays, make_static, small_config):
    arrays = make_forcing_arrays(n_time=N_TIME)
    model = init_model(small_config, seed=1, forcing=arrays, static=make_static())
    model = set_global_constants(model, beta_base=0.05)
    return model, Forcing.from_mapping(arrays), jnp.asarray(make_static(), jnp.float32)


def _mean_of(name: str, mode: str, forcing, static):
    """``loss(model)``: mean of output ``name`` after a ``CYCLES``-pass spin-up.

    ``mode``: ``"through"`` differentiates through the spin-up, ``"stopped"``
    stops the gradient there (reference training), ``"reattached"`` stops it
    and re-attaches the groundwater.
    """

    def loss(m):
        if mode == "through":
            init = jax.lax.fori_loop(0, CYCLES, lambda _, s: m.final_state(forcing, static, s),
                                     m.initial_state(N_CELL))
        else:
            init = spinup(m, forcing, static, cycles=CYCLES)
            if mode == "reattached":
                init = reattach_groundwater(m, init)
        out, _ = m(forcing, static, init)
        return jnp.mean(out[name])

    return loss


def _beta_base_grad(model, loss) -> float:
    return float(eqx.filter_jit(eqx.filter_grad(loss))(model).constants.beta_base)


@pytest.mark.parametrize("name", ["q", "gw"])
def test_reattached_gradient_matches_gradient_through_spinup(setup, name):
    model, forcing, static = setup
    g = {mode: _beta_base_grad(model, _mean_of(name, mode, forcing, static))
         for mode in ("through", "stopped", "reattached")}
    err_stopped = abs(g["stopped"] - g["through"])
    err_reattached = abs(g["reattached"] - g["through"])
    if name == "q":
        # Mean runoff is (nearly) independent of beta_base in equilibrium; the
        # stopped gradient says otherwise, strongly.
        assert abs(g["through"]) < 1e-3
        assert g["stopped"] > 0.1
        assert err_reattached < 0.05 * err_stopped, g
    else:
        # Storage scales like 1 / beta_base; the stopped gradient misses the
        # initial-state part of that.
        assert err_stopped > 0.1 * abs(g["through"]), g
        assert err_reattached < 0.02 * abs(g["through"]), g


def test_reattach_changes_no_value(setup):
    model, forcing, static = setup
    init = spinup(model, forcing, static)
    again = reattach_groundwater(model, init)
    for a, b in zip(jax.tree_util.tree_leaves(again), jax.tree_util.tree_leaves(init),
                    strict=True):
        np.testing.assert_array_equal(a, b)
