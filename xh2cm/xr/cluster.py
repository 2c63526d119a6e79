"""Settings and figures of dask-distributed workers that run xh2cm.

- :class:`XLAThreads`: a worker plugin that gives each worker process its own ``threads``
  CPU cores. XLA's CPU backend sizes its thread pool from the process's CPU affinity when
  it starts (``XLA_FLAGS`` thread options have no effect in current jaxlib), so the
  affinity must be set before the worker first runs JAX; the plugin does it at worker
  start-up.
- :func:`worker_stats`: peak resident memory and XLA compiles of each worker.

Examples
--------
>>> from xh2cm.xr.cluster import XLAThreads
>>> XLAThreads(1).name
'xh2cm-xla-threads'
"""

from __future__ import annotations

import os
import resource
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from xh2cm.core.api import compiles


def _cores_for(index: int, threads: int, available: list[int]) -> set[int]:
    """The ``threads`` cores of worker ``index`` out of ``available``, round robin.

    Examples
    --------
    >>> sorted(_cores_for(1, 2, [0, 1, 2, 3]))
    [2, 3]
    >>> sorted(_cores_for(2, 2, [0, 1, 2, 3]))  # more workers than cores: shared
    [0, 1]
    """
    start = (index * threads) % len(available)
    return {available[(start + k) % len(available)] for k in range(min(threads, len(available)))}


class XLAThreads(WorkerPlugin):
    """Pin each worker process to ``threads`` cores, so XLA runs that many threads there.

    Register it before any task runs JAX on the workers, e.g. right after the cluster
    starts: ``client.register_plugin(XLAThreads(1))``. Workers named 0, 1, 2, ... (as
    :class:`~distributed.LocalCluster` names them) get consecutive cores; other names are
    spread by hash. With ``threads_per_worker=1`` and one XLA thread per worker, ``n``
    workers use ``n`` cores without oversubscription.

    Parameters
    ----------
    threads : int
        Cores (hence XLA threads) per worker process, >= 1.

    Raises
    ------
    ValueError
        If ``threads`` < 1.
    """

    name = "xh2cm-xla-threads"

    def __init__(self, threads: int = 1):
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        self.threads = threads

    def setup(self, worker: Any) -> None:
        """Set this worker process's CPU affinity (Linux; elsewhere a no-op)."""
        if not hasattr(os, "sched_setaffinity"):
            return
        name = str(worker.name)
        index = int(name) if name.isdigit() else hash(name) % 1024
        os.sched_setaffinity(0, _cores_for(index, self.threads,
                                           sorted(os.sched_getaffinity(0))))


def _stats(dask_worker: Any) -> dict[str, Any]:
    monitor = getattr(dask_worker, "monitor", None)
    samples = getattr(monitor, "quantities", {}).get("memory") if monitor is not None else None
    if samples:
        peak = max(samples) / 2**20
    else:  # no monitor: the kernel's high-water mark (inherited from the parent at spawn)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"peak_rss_mib": peak,
            "compiles": compiles(),
            "cores": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else None}


def worker_stats(client: Any) -> dict[str, dict[str, Any]]:
    """Per worker address: peak resident memory of the worker process (MiB, the largest
    of the samples distributed's system monitor takes every 0.5 s: the kernel's
    ``ru_maxrss`` would include the memory of the process that spawned the worker), XLA
    compiles of xh2cm's entry points (:func:`xh2cm.core.api.compiles`) and the cores it
    may run on."""
    return client.run(_stats)
