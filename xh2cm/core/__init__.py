"""The JAX core of H2CM: process equations, networks and the scanned model (no xarray)."""

from xh2cm.core.api import (
    global_constants,
    init_model,
    process_only,
    set_global_constants,
    set_head_bias,
    simulate,
    with_matmul_dtype,
)
from xh2cm.core.config import ModelConfig
from xh2cm.core.model import (
    H2CM,
    Forcing,
    Normalization,
    State,
    reattach_groundwater,
    spinup,
    trainable_filter,
)
from xh2cm.core.serialization import load_model, read_header, save_model

__all__ = [
    "H2CM",
    "Forcing",
    "ModelConfig",
    "Normalization",
    "State",
    "global_constants",
    "init_model",
    "load_model",
    "process_only",
    "read_header",
    "save_model",
    "set_global_constants",
    "set_head_bias",
    "simulate",
    "reattach_groundwater",
    "spinup",
    "trainable_filter",
    "with_matmul_dtype",
]
