"""Cell-count padding of the user path: ``simulate`` (pads to ``bucket(n)``) against the
jitted core on exactly n cells, forward only, default architecture.

Usage::

    python benchmarks/padding.py                       # 256 1000 1024 1040 cells
    python benchmarks/padding.py --cells 512 520 2048 --days 365 --repeats 3

Prints cell-days per second (best of ``repeats``, compile excluded) of both, their ratio
and the padded count. Counts that are multiples of large powers of two run slowly on CPU
(cache-set aliasing); ``bucket`` avoids them (see ``xh2cm.core.api.bucket``).
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, nargs="+", default=[256, 1000, 1024, 1040])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)

    import jax
    import jax.numpy as jnp
    import numpy as np

    from xh2cm.core import Forcing, ModelConfig, init_model, simulate
    from xh2cm.core.api import _forward, bucket

    cfg = ModelConfig(static_names=tuple(f"s{i}" for i in range(6)))
    print(f"backend {jax.devices()[0].platform}, {args.days} days, best of {args.repeats}")
    print(f"{'cells':>6} {'padded':>6} {'core (n cells)':>16} {'simulate':>12} {'ratio':>6}")
    for n in args.cells:
        rng = np.random.default_rng(0)
        shape = (args.days, n)
        forcing = {"rn": rng.uniform(0, 200, shape), "prec": rng.exponential(2, shape),
                   "tair": rng.normal(10, 8, shape), "vpd": rng.uniform(1, 20, shape),
                   "co2": np.full(shape, 400.0)}
        static = rng.standard_normal((n, 6))
        model = init_model(cfg, 0, forcing, static)
        f = Forcing(**{k: jnp.asarray(v, jnp.float32) for k, v in forcing.items()})
        s = jnp.asarray(static, jnp.float32)
        jax.block_until_ready(_forward(model, f, s, 0))
        simulate(model, forcing, static, spinup=False)
        core, user = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            jax.block_until_ready(_forward(model, f, s, 0))
            core.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            simulate(model, forcing, static, spinup=False)
            user.append(time.perf_counter() - t0)
        c, u = n * args.days / min(core), n * args.days / min(user)
        print(f"{n:6d} {bucket(n):6d} {c:16,.0f} {u:12,.0f} {u / c:6.2f}", flush=True)


if __name__ == "__main__":
    main()
