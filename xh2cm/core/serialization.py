"""Save and load H2CM models: one file, a JSON header line then equinox leaves."""

from __future__ import annotations

import json
import os

import equinox as eqx
import jax

from xh2cm.core.config import ModelConfig
from xh2cm.core.model import H2CM

FORMAT = "xh2cm-model"
FORMAT_VERSION = 1


def save_model(path: str | os.PathLike, model: H2CM, metadata: dict | None = None) -> None:
    """Write ``model`` to ``path``.

    The file's first line is JSON (format, version, the :class:`ModelConfig`
    and optional user ``metadata``); the rest is
    :func:`equinox.tree_serialise_leaves` of the model.
    """
    header = {"format": FORMAT, "version": FORMAT_VERSION, "config": model.config.to_dict(),
              "metadata": metadata or {}}
    with open(path, "wb") as fh:
        fh.write((json.dumps(header) + "\n").encode())
        eqx.tree_serialise_leaves(fh, model)


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of a saved model (config and metadata)."""
    with open(path, "rb") as fh:
        line = fh.readline()
    try:
        header = json.loads(line)
    except ValueError as err:
        raise ValueError(f"{path} is not an xh2cm model file (no JSON header)") from err
    if not isinstance(header, dict):
        raise ValueError(f"{path} is not an xh2cm model file (header is not a JSON object)")
    if header.get("format") != FORMAT:
        raise ValueError(f"{path} is not an xh2cm model file (format={header.get('format')!r})")
    if header.get("version", 0) > FORMAT_VERSION:
        raise ValueError(f"{path} was written by a newer xh2cm (format {header['version']})")
    return header


def load_model(path: str | os.PathLike) -> H2CM:
    """Read a model written by :func:`save_model`."""
    header = read_header(path)
    skeleton = H2CM(ModelConfig.from_dict(header["config"]), jax.random.PRNGKey(0))
    with open(path, "rb") as fh:
        fh.readline()
        return eqx.tree_deserialise_leaves(fh, skeleton)
