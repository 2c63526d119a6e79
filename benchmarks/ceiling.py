"""The ceiling the model's day loop cannot beat: its three LSTMs alone, nothing else.

Each day H2CM runs three LSTMs whose inputs include the day's physics state (fAPAR, NPP,
soil moisture), so the day loop is one chain of dependent steps: per step and LSTM one
``(cells, n_in + hidden) x (n_in + hidden, 4 hidden)`` product plus the gates. This script
times exactly that chain (the model's sizes, ``jax.lax.scan`` over the days, jitted), forward
and forward + backward (gradient of the hidden states' sum with respect to the weights,
XLA's differentiation of the scan), for a few cell counts, and prints

- cell-days/s and GFLOP/s of the LSTM-only chain, and the fraction of the large-matmul peak;
- the whole model beside it (``xh2cm.core.api._forward`` and its gradient, same cells and
  days), which does everything the chain does and more, so it cannot be faster;
- with ``--reference-forward/--reference-backward`` (cell-days/s of the reference at each of
  ``--cells``, measured just before on the same machine, e.g. with
  ``../shared/tools/ref_vs_xh2cm_speed.py``), how many times the reference the chain itself
  reaches: the best ratio an implementation of this model on XLA's kernels could show.

    python benchmarks/ceiling.py [--cells 1 32 1000] [--days 365]
        [--reference-forward F1 F32 F1000 --reference-backward B1 B32 B1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402
from machine import describe, forward_flops, matmul_peak  # noqa: E402


def _best(fn, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _chain(n_cell: int, n_days: int, hidden: int):
    """Jitted forward and forward + backward of the three-LSTM chain, with their inputs."""
    import jax
    import jax.numpy as jnp

    from xh2cm.core.model import N_IN_A, N_IN_C, N_IN_D

    sizes = (N_IN_A, N_IN_C, N_IN_D)
    key = jax.random.PRNGKey(0)
    ws = [0.05 * jax.random.normal(jax.random.fold_in(key, i), (n + hidden, 4 * hidden))
          for i, n in enumerate(sizes)]
    xs = [jax.random.normal(jax.random.fold_in(key, 10 + i), (n_days, n_cell, n))
          for i, n in enumerate(sizes)]

    def run(ws):
        def step(carry, x):
            out = []
            for (h, c), w, xt in zip(carry, ws, x, strict=True):
                g = jnp.concatenate([xt, h], axis=-1) @ w
                i, f, gg, o = jnp.split(g, 4, axis=-1)
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(gg)
                out.append((jax.nn.sigmoid(o) * jnp.tanh(c), c))
            return tuple(out), sum(h.sum() for h, _ in out)

        zero = jnp.zeros((n_cell, hidden))
        _, ys = jax.lax.scan(step, tuple((zero, zero) for _ in ws), tuple(xs))
        return ys.sum()

    fwd = jax.jit(run)
    grad = jax.jit(jax.grad(run))
    flops = sum(2 * (n + hidden) * 4 * hidden for n in sizes)
    return (lambda: fwd(ws).block_until_ready(),
            lambda: jax.block_until_ready(grad(ws)), flops)


def _model(n_cell: int, n_days: int, hidden: int):
    """Jitted forward and forward + backward of the whole model (no spin-up)."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    from xh2cm.core import Forcing, ModelConfig, init_model
    from xh2cm.core.api import _forward

    data, static_np, _ = cases.forcing(n_cell, n_days, np.random.default_rng(0))
    forcing = Forcing.from_mapping(data)
    static = jnp.asarray(static_np, jnp.float32)
    config = ModelConfig(static_names=tuple(f"s{k}" for k in range(cases.N_STATIC)),
                         hidden_size=hidden)
    model = init_model(config, 0, data, static_np)

    @eqx.filter_jit
    @eqx.filter_grad
    def grad(m):
        out = m(forcing, static, None)[0]
        return sum(jnp.mean(out[k]) for k in ("et", "gpp", "tws"))

    return (lambda: jax.block_until_ready(_forward(model, forcing, static, 0, None)),
            lambda: jax.block_until_ready(grad(model)), forward_flops(config))


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, nargs="+", default=[1, 32, 1000])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--reference-forward", type=float, nargs="+", default=None,
                   help="the reference's forward cell-days/s, one per --cells")
    p.add_argument("--reference-backward", type=float, nargs="+", default=None,
                   help="the reference's forward + backward cell-days/s, one per --cells")
    args = p.parse_args(argv)
    for given in (args.reference_forward, args.reference_backward):
        if given is not None and len(given) != len(args.cells):
            p.error("give one reference figure per --cells value")
    peak = matmul_peak()
    print(f"{describe()}; large-matmul peak {peak:.0f} GFLOP/s (float32)")
    print("cells | LSTM chain fwd cd/s (GFLOP/s, of peak) | fwd+bwd (x3 FLOPs) | "
          "model fwd cd/s | model fwd+bwd cd/s")
    rows = []
    for n in args.cells:
        cf, cb, lstm_flops = _chain(n, args.days, args.hidden)
        mf, mb, _ = _model(n, args.days, args.hidden)
        cd = n * args.days
        r = {"cells": n,
             "chain_fwd": cd / _best(cf, args.repeats), "chain_bwd": cd / _best(cb, args.repeats),
             "model_fwd": cd / _best(mf, args.repeats), "model_bwd": cd / _best(mb, args.repeats)}
        gf = r["chain_fwd"] * lstm_flops / 1e9
        gb = r["chain_bwd"] * 3 * lstm_flops / 1e9
        print(f"{n:5d} | {r['chain_fwd']:10,.0f} ({gf:5.0f}, {gf / peak:4.0%}) | "
              f"{r['chain_bwd']:10,.0f} ({gb:5.0f}, {gb / peak:4.0%}) | "
              f"{r['model_fwd']:10,.0f} | {r['model_bwd']:10,.0f}")
        rows.append(r)
    for i, r in enumerate(rows):
        parts = [f"{what}: chain {r['chain_' + key] / ref[i]:.1f}x, "
                 f"model {r['model_' + key] / ref[i]:.1f}x"
                 for what, key, ref in (("forward", "fwd", args.reference_forward),
                                        ("fwd+bwd", "bwd", args.reference_backward))
                 if ref is not None]
        if parts:
            print(f"{r['cells']} cells, times the reference: " + "; ".join(parts))
    return rows


if __name__ == "__main__":
    main()
