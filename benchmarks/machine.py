"""What the hardware can do, for the benchmarks to print beside each figure.

- :func:`matmul_peak`: GFLOP/s of a large jitted ``jnp.matmul`` on the default JAX device
  (best of sizes and repeats): the "large-matmul peak" a model is measured against.
- :func:`forward_flops`: nominal matrix-product FLOPs of one cell-day of the H2CM forward
  run (every network's dense layers and LSTM products, ``2·n_in·n_out`` each). The
  backward pass is counted as twice the forward (so forward + backward = 3×).
"""

from __future__ import annotations

import time


def matmul_peak(dtype: str = "float32", sizes: tuple[int, ...] = (1024, 2048),
                repeats: int = 5) -> float:
    """Best GFLOP/s of a jitted square ``jnp.matmul`` of the given sizes, in ``dtype``
    operands (float32 accumulation for bfloat16)."""
    import jax
    import jax.numpy as jnp

    best = 0.0
    for n in sizes:
        a = jnp.ones((n, n), dtype)
        f = jax.jit(lambda x, y: jnp.matmul(x, y, preferred_element_type=jnp.float32))
        f(a, a).block_until_ready()
        for _ in range(repeats):
            t = time.perf_counter()
            f(a, a).block_until_ready()
            best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def forward_flops(config) -> float:
    """Nominal FLOPs of one cell-day of the forward run of a model with ``config``."""
    from xh2cm.core.model import HEAD_A, HEAD_B, HEAD_C, HEAD_D, N_IN_A, N_IN_B, N_IN_C, N_IN_D

    c = config
    emb, h = c.embedding_size, c.hidden_size
    lstm = sum(2 * (n + emb + h) * 4 * h + 2 * h * len(head)
               for n, head in ((N_IN_A, HEAD_A), (N_IN_C, HEAD_C), (N_IN_D, HEAD_D)))
    mlp = 2 * ((N_IN_B + emb) * c.mlp_hidden + c.mlp_hidden * c.mlp_bottleneck
               + c.mlp_bottleneck * len(HEAD_B))
    return float(lstm + mlp)


def describe() -> str:
    """One line naming the JAX device and its thread count."""
    import os

    import jax

    dev = jax.devices()[0]
    return f"{dev.platform} ({dev.device_kind}), {os.cpu_count()} CPU threads visible"
