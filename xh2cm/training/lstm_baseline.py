"""A purely data-driven baseline: one LSTM from the day's inputs to the targets, trained on
the same days as the hybrid (site mode, issue 11's baseline d).

Inputs and targets are standardised with the training days' means and spreads; the loss is
the mean squared error over finite targets (each target standardised, so ET and NEE weigh
alike); Adam on the whole training sequence per step (one site: one sequence); the epoch
with the lowest validation loss is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from xh2cm.core.networks import LSTMHead


@dataclass
class PlainLSTM:
    """A trained baseline LSTM with its standardisation (NumPy statistics)."""

    net: LSTMHead
    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: np.ndarray
    y_std: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Targets ``(time, n_out)`` for inputs ``x`` ``(time, n_in)`` (NaN inputs -> 0)."""
        z = np.nan_to_num((np.asarray(x, float) - self.x_mean) / self.x_std)
        out = np.asarray(_run(self.net, jnp.asarray(z, jnp.float32)))
        return out * self.y_std + self.y_mean


@eqx.filter_jit
def _run(net: LSTMHead, x: jax.Array) -> jax.Array:
    def step(hc: tuple[jax.Array, jax.Array], xt: jax.Array
             ) -> tuple[tuple[jax.Array, jax.Array], jax.Array]:
        y, hc = net(xt, hc)
        return hc, y

    h0 = jnp.zeros(net.hidden_size, jnp.float32)
    return jax.lax.scan(step, (h0, h0), x)[1]


def _loss(net: LSTMHead, x: jax.Array, y: jax.Array) -> jax.Array:
    pred = _run(net, x)
    ok = jnp.isfinite(y)
    err = jnp.where(ok, pred - jnp.where(ok, y, 0.0), 0.0)
    return jnp.sum(err**2) / jnp.maximum(jnp.sum(ok), 1)


def fit_lstm(x: np.ndarray, y: np.ndarray, y_val: np.ndarray | None = None, *,
             hidden: int = 32, epochs: int = 300, learning_rate: float = 3e-3,
             seed: int = 0) -> PlainLSTM:
    """Train an LSTM from inputs ``x`` ``(time, n_in)`` to targets ``y`` ``(time, n_out)``.

    ``y_val`` (same shape, NaN outside the validation days) selects the best epoch; the
    model runs over the whole sequence, so validation days may follow the training days.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    x_mean, x_std = np.nanmean(x, 0), np.nanstd(x, 0)
    x_std = np.where(x_std > 0, x_std, 1.0)
    y_mean, y_std = np.nanmean(y, 0), np.nanstd(y, 0)
    y_std = np.where(y_std > 0, y_std, 1.0)
    xs = jnp.asarray(np.nan_to_num((x - x_mean) / x_std), jnp.float32)
    ys = jnp.asarray((y - y_mean) / y_std, jnp.float32)
    yv = None if y_val is None else jnp.asarray((np.asarray(y_val, float) - y_mean) / y_std,
                                                jnp.float32)
    net = LSTMHead(x.shape[1], hidden, y.shape[1], key=jax.random.PRNGKey(seed))
    opt = optax.adam(learning_rate)
    state = opt.init(eqx.filter(net, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(net: LSTMHead, state: optax.OptState) -> tuple[LSTMHead, optax.OptState]:
        grads = eqx.filter_grad(_loss)(net, xs, ys)
        updates, state = opt.update(grads, state, eqx.filter(net, eqx.is_inexact_array))
        return eqx.apply_updates(net, updates), state

    best, best_val = net, np.inf
    for _ in range(epochs):
        net, state = step(net, state)
        if yv is not None:
            val = float(_loss(net, xs, yv))
            if val < best_val:
                best, best_val = net, val
    return PlainLSTM(best if yv is not None else net, x_mean, x_std, y_mean, y_std)
