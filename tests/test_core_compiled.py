"""Compiled code is released before a long session runs out of memory mappings
(xh2cm/core/compiled.py): the cause of CI's ``Fatal Python error: Aborted``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from xh2cm.core.compiled import mapped_regions, release_compiled_code

pytestmark = pytest.mark.skipif(mapped_regions() is None,
                                reason="the system reports no memory mappings (not Linux)")


def _compile_many(n: int) -> None:
    for i in range(n):
        x = jnp.ones(i + 2)  # a new shape each time: a new program
        jax.jit(lambda v: jnp.cumsum(jnp.sin(v) * jnp.arange(v.shape[0])))(x).block_until_ready()


def test_clearing_unmaps_compiled_code():
    release_compiled_code(share=0.0)
    before = mapped_regions()[0]
    _compile_many(40)
    grown = mapped_regions()[0]
    assert grown > before
    assert release_compiled_code(share=0.0)
    assert mapped_regions()[0] < grown


def test_nothing_is_cleared_below_the_share():
    assert not release_compiled_code(share=1.0)


def test_share_outside_zero_one_is_refused():
    with pytest.raises(ValueError, match="share"):
        release_compiled_code(share=1.5)
