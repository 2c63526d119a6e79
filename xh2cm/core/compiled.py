"""Housekeeping for compiled code: a long session must not run out of memory mappings.

XLA's CPU backend maps the machine code of every program it compiles into memory
regions of its own, and JAX keeps each compiled program in its caches for the life of
the process. Linux caps the number of regions per process at ``vm.max_map_count``
(65,530 by default); past it the next compilation aborts the interpreter
(``Fatal Python error: Aborted`` in ``backend_compile``), with no Python exception.
One forward run of the model adds about 250 regions, a training step more, so a
process that trains and runs hundreds of differently shaped models (a notebook of
sweeps, a test suite) reaches the cap.

:func:`release_compiled_code` clears JAX's caches once the count passes a share of
the cap, which unmaps that code. Later calls compile again; nothing else changes.
The training loop calls it before each fit.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import jax

log = logging.getLogger(__name__)

#: Share of ``vm.max_map_count`` past which :func:`release_compiled_code` clears the caches.
RELEASE_AT = 0.5

_MAPS = Path("/proc/self/maps")
_CAP = Path("/proc/sys/vm/max_map_count")


def mapped_regions() -> tuple[int, int] | None:
    """This process's memory-mapped regions and the system's cap on them.

    Returns
    -------
    (count, cap) : tuple of int, or None
        None where the system does not report them (not Linux).

    Examples
    --------
    >>> found = mapped_regions()
    >>> found is None or 0 < found[0] < found[1]
    True
    """
    try:
        with _MAPS.open("rb") as f:
            count = sum(1 for _ in f)
        cap = int(_CAP.read_text())
    except (OSError, ValueError):
        return None
    return count, cap


def release_compiled_code(share: float = RELEASE_AT) -> bool:
    """Clear JAX's compilation caches if the process uses more than ``share`` of its cap.

    Parameters
    ----------
    share : float
        Fraction of ``vm.max_map_count`` (0–1); 0 clears whenever the count is known.

    Returns
    -------
    bool
        Whether the caches were cleared.

    Examples
    --------
    >>> release_compiled_code(share=1.0)
    False
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must lie in [0, 1], got {share}")
    found = mapped_regions()
    if found is None or found[0] <= share * found[1]:
        return False
    count, cap = found
    jax.clear_caches()
    gc.collect()
    after = mapped_regions()
    log.info("cleared JAX's compilation caches: %d of %d memory regions mapped, %s after",
             count, cap, after[0] if after else "?")
    return True
