"""Equinox building blocks of H2CM's networks (docs/model/learned.md)."""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import Array


def _bias(layer: eqx.nn.Linear) -> Array:
    """A dense layer's bias (zeros for a layer without one)."""
    return layer.bias if layer.bias is not None else jnp.zeros(layer.out_features)


def _split_embedding(weight: Array, bias: Array | None, embedding: Array
                     ) -> tuple[Array, Array]:
    """Split a first layer whose inputs end with the fixed ``embedding`` ``(cell, emb)``:
    the embedding's share plus the bias, computed once ``(cell, out)``, and the weights
    of the dynamic inputs ``(out, n_dyn)``."""
    n_dyn = weight.shape[1] - embedding.shape[1]
    pre = embedding @ weight[:, n_dyn:].T
    return (pre if bias is None else pre + bias), weight[:, :n_dyn]


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

    def bind(self, embedding: Array) -> BoundMLP:
        """This MLP for a batch of cells whose inputs end with the fixed ``embedding``
        ``(cell, emb)``: the embedding's share of the first layer is computed once."""
        pre, w_dyn = _split_embedding(self.layer1.weight, self.layer1.bias, embedding)
        return BoundMLP(pre, w_dyn.T, self.layer2.weight.T, _bias(self.layer2),
                        self.head.weight.T, _bias(self.head), self.slope)


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

    def bind(self, embedding: Array, matmul_dtype: Any = None) -> BoundLSTM:
        """This network for a batch of cells whose inputs end with the fixed ``embedding``
        ``(cell, emb)``: the embedding's share of the input projection and the bias are
        computed once, and each day's dynamic inputs and hidden state go through one
        matrix product (the per-day work of an LSTM, batched over cells).

        ``matmul_dtype``: operand type of that product (e.g. ``jnp.bfloat16``; it
        accumulates in float32); None keeps the weights' type."""
        pre, w_dyn = _split_embedding(self.cell.weight_ih, self.cell.bias, embedding)
        weight = jnp.concatenate([w_dyn, self.cell.weight_hh], axis=1).T
        if matmul_dtype is not None:
            weight = weight.astype(matmul_dtype)
        return BoundLSTM(pre, weight, self.head.weight.T, _bias(self.head))


class BoundLSTM(NamedTuple):
    """:class:`LSTMHead` bound to a batch of cells (see :meth:`LSTMHead.bind`).

    ``pre`` ``(cell, 4·hidden)``: embedding projection plus bias; ``weight``
    ``(n_dyn + hidden, 4·hidden)``: input-to-gate weights of the dynamic inputs stacked on
    the hidden-to-gate weights (their type is the product's operand type; the product
    accumulates in ``pre``'s type); ``head_weight`` ``(hidden, n_out)``, ``head_bias``.
    """

    pre: Array
    weight: Array
    head_weight: Array
    head_bias: Array

    def __call__(self, x: Array, hc: tuple[Array, Array]) -> tuple[Array, tuple[Array, Array]]:
        """One day for all cells: ``x`` ``(cell, n_dyn)``, ``hc`` ``(cell, hidden)`` each;
        returns ``(raw outputs (cell, n_out), new (h, c))``. Gate order i, f, g, o
        (PyTorch's and Equinox's)."""
        h, c = hc
        xh = jnp.concatenate([x, h], axis=-1).astype(self.weight.dtype)
        z = jnp.matmul(xh, self.weight, preferred_element_type=self.pre.dtype) + self.pre
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return h @ self.head_weight + self.head_bias, (h, c)


class BoundMLP(NamedTuple):
    """:class:`ThreeLayerMLP` bound to a batch of cells (see :meth:`ThreeLayerMLP.bind`)."""

    pre: Array
    weight1: Array
    weight2: Array
    bias2: Array
    head_weight: Array
    head_bias: Array
    slope: float

    def __call__(self, x: Array) -> Array:
        """Raw outputs ``(cell, n_out)`` of dynamic inputs ``x`` ``(cell, n_dyn)``."""
        h = jax.nn.leaky_relu(x @ self.weight1 + self.pre, self.slope)
        h = jax.nn.leaky_relu(h @ self.weight2 + self.bias2, self.slope)
        return h @ self.head_weight + self.head_bias
