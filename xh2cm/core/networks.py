"""Equinox building blocks of H2CM's networks (DESIGN.md §4)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array


class ThreeLayerMLP(eqx.Module):
    """``Linear(n_in→hidden)``, leaky ReLU, ``Linear(hidden→bottleneck)``, leaky ReLU,
    ``Linear(bottleneck→n_out)``.

    The static MLP uses the bottleneck activations as the static embedding.
    """

    layer1: eqx.nn.Linear
    layer2: eqx.nn.Linear
    head: eqx.nn.Linear
    slope: float = eqx.field(static=True)

    def __init__(self, n_in: int, hidden: int, bottleneck: int, n_out: int, *, slope: float,
                 key: Array):
        k1, k2, k3 = jax.random.split(key, 3)
        self.layer1 = eqx.nn.Linear(n_in, hidden, key=k1)
        self.layer2 = eqx.nn.Linear(hidden, bottleneck, key=k2)
        self.head = eqx.nn.Linear(bottleneck, n_out, key=k3)
        self.slope = slope

    def embed(self, x: Array) -> Array:
        """Bottleneck activations of one input vector."""
        h = jax.nn.leaky_relu(self.layer1(x), self.slope)
        return jax.nn.leaky_relu(self.layer2(h), self.slope)

    def __call__(self, x: Array) -> tuple[Array, Array]:
        """Return ``(raw outputs, bottleneck activations)`` for one input vector."""
        e = self.embed(x)
        return self.head(e), e


class LSTMHead(eqx.Module):
    """One LSTM cell followed by one dense head (hidden → n_out)."""

    cell: eqx.nn.LSTMCell
    head: eqx.nn.Linear

    def __init__(self, n_in: int, hidden: int, n_out: int, *, key: Array):
        k1, k2 = jax.random.split(key)
        self.cell = eqx.nn.LSTMCell(n_in, hidden, key=k1)
        self.head = eqx.nn.Linear(hidden, n_out, key=k2)

    @property
    def hidden_size(self) -> int:
        """Size of the hidden (and cell) state."""
        return self.cell.hidden_size

    def init_state(self, n_cell: int, dtype: Any = jnp.float32) -> tuple[Array, Array]:
        """Zero hidden and cell states for ``n_cell`` cells."""
        z = jnp.zeros((n_cell, self.hidden_size), dtype)
        return z, z

    def __call__(self, x: Array, hc: tuple[Array, Array]) -> tuple[Array, tuple[Array, Array]]:
        """One step for one cell: ``(raw outputs, new (h, c))``."""
        h, c = self.cell(x, hc)
        return self.head(h), (h, c)
