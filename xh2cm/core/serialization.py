"""Files of pytrees: one JSON header line, then :func:`equinox.tree_serialise_leaves`.

The one home of xh2cm's file format, used for saved models (here:
:func:`save_model`, :func:`load_model`), ensembles (:func:`save_ensemble`,
:func:`load_ensemble`: several models of one configuration and named arrays) and
training checkpoints
(:mod:`xh2cm.training.checkpoint`). The header names the format and its version
and carries JSON metadata (a model's :class:`ModelConfig`, a run's bookkeeping);
floats are stored bit for bit.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import equinox as eqx
import jax
import numpy as np

from xh2cm.core.config import ModelConfig
from xh2cm.core.model import H2CM

FORMAT = "xh2cm-model"
FORMAT_VERSION = 1

T = TypeVar("T")


def write_tree_file(path: str | os.PathLike, header: dict[str, Any], tree: Any, *,
                    atomic: bool = False) -> Path:
    """Write a JSON ``header`` line and the array leaves of ``tree`` to ``path``.

    The header also records a SHA-256 of the rest of the header and the leaves' bytes
    (``"sha256"``), so that a truncated, corrupted or edited file is recognised on
    reading. ``atomic``: write
    to ``path.tmp`` first and rename, so a reader never sees a half-written file.
    """
    path = Path(path)
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, tree)
    payload = buf.getvalue()
    header = {**header, "sha256": _digest(header, payload)}
    target = path.with_name(path.name + ".tmp") if atomic else path
    with open(target, "wb") as fh:
        fh.write((json.dumps(header) + "\n").encode())
        fh.write(payload)
    if atomic:
        os.replace(target, path)
    return path


def _digest(header: dict[str, Any], payload: bytes) -> str:
    """SHA-256 of the header (without its checksum, keys sorted) and the leaves."""
    meta = json.dumps({k: v for k, v in header.items() if k != "sha256"}, sort_keys=True)
    return hashlib.sha256(meta.encode() + b"\n" + payload).hexdigest()


def read_header_line(path: str | os.PathLike, fmt: str, version: int, what: str
                     ) -> dict[str, Any]:
    """The JSON header of a file written by :func:`write_tree_file`, checked.

    Raises
    ------
    ValueError
        ``"<path> is not an <what> (...)"`` if the first line is not a JSON object
        of format ``fmt``; ``"... written by a newer xh2cm"`` if its version is
        above ``version``.
    """
    with open(path, "rb") as fh:
        line = fh.readline()
    try:
        header = json.loads(line)
    except ValueError as err:
        raise ValueError(f"{path} is not an {what} (no JSON header)") from err
    if not isinstance(header, dict):
        raise ValueError(f"{path} is not an {what} (header is not a JSON object)")
    if header.get("format") != fmt:
        raise ValueError(f"{path} is not an {what} (format={header.get('format')!r})")
    if header.get("version", 0) > version:
        raise ValueError(f"{path} was written by a newer xh2cm (format {header['version']})")
    return header


def read_tree_file(path: str | os.PathLike, like: T, fmt: str, version: int, what: str
                   ) -> tuple[T, dict[str, Any]]:
    """Read a file of :func:`write_tree_file` into a pytree shaped like ``like``;
    return ``(tree, header)``.

    Raises
    ------
    ValueError
        ``"not a valid <what>: ..."`` if the leaves do not match the header's checksum
        (a truncated, corrupted or edited file) or do not fit ``like`` (leaf shapes
        other than the header's configuration implies).
    """
    header = read_header_line(path, fmt, version, what)
    with open(path, "rb") as fh:
        fh.readline()
        payload = fh.read()
    digest = header.get("sha256")
    if digest is not None and _digest(header, payload) != digest:
        raise ValueError(f"not a valid {what}: {path} does not match its checksum (truncated, "
                         "corrupted or edited after it was written)")
    try:
        tree = eqx.tree_deserialise_leaves(io.BytesIO(payload), like)
    except Exception as err:  # equinox/numpy errors on leaves of the wrong size or kind
        raise ValueError(f"not a valid {what}: {path} does not fit the structure its header "
                         f"describes ({type(err).__name__}: {err})") from None
    return tree, header


def save_model(path: str | os.PathLike, model: H2CM, metadata: dict | None = None) -> None:
    """Write ``model`` to ``path``.

    The file's first line is JSON (format, version, the :class:`ModelConfig`
    and optional user ``metadata``); the rest is
    :func:`equinox.tree_serialise_leaves` of the model.
    """
    header = {"format": FORMAT, "version": FORMAT_VERSION, "config": model.config.to_dict(),
              "metadata": metadata or {}}
    write_tree_file(path, header, model)


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON header of a saved model (config and metadata)."""
    return read_header_line(path, FORMAT, FORMAT_VERSION, "xh2cm model file")


def load_model(path: str | os.PathLike) -> H2CM:
    """Read a model written by :func:`save_model`."""
    header = read_header(path)
    skeleton = H2CM(ModelConfig.from_dict(header["config"]), jax.random.PRNGKey(0))
    return read_tree_file(path, skeleton, FORMAT, FORMAT_VERSION, "xh2cm model file")[0]


ENSEMBLE_FORMAT = "xh2cm-ensemble"
ENSEMBLE_FORMAT_VERSION = 1


def save_ensemble(path: str | os.PathLike, models: Sequence[H2CM],
                  arrays: Mapping[str, np.ndarray] | None = None,
                  metadata: dict | None = None) -> None:
    """Write models of one configuration (an ensemble), with named NumPy ``arrays``
    (e.g. which member held out each cell) and JSON ``metadata``, to one checksummed file.

    Raises
    ------
    ValueError
        If there is no model or the models' configurations differ.
    """
    models = list(models)
    if not models:
        raise ValueError("an ensemble file needs at least one model")
    config = models[0].config.to_dict()
    odd = [i for i, m in enumerate(models) if m.config.to_dict() != config]
    if odd:
        raise ValueError(f"models {odd} differ in configuration from model 0; an ensemble "
                         "file holds models of one ModelConfig")
    extra = {n: np.asarray(a) for n, a in (arrays or {}).items()}
    header = {"format": ENSEMBLE_FORMAT, "version": ENSEMBLE_FORMAT_VERSION,
              "config": config, "members": len(models),
              "arrays": {n: [list(a.shape), a.dtype.str] for n, a in extra.items()},
              "metadata": metadata or {}}
    write_tree_file(path, header, (models, extra), atomic=True)


def load_ensemble(path: str | os.PathLike
                  ) -> tuple[list[H2CM], dict[str, np.ndarray], dict[str, Any]]:
    """Read a file of :func:`save_ensemble`: ``(models, arrays, metadata)``.

    Raises
    ------
    ValueError
        If the file is not an ensemble file, or is truncated, corrupted or edited.
    """
    what = "xh2cm ensemble file"
    header = read_header_line(path, ENSEMBLE_FORMAT, ENSEMBLE_FORMAT_VERSION, what)
    skeleton = H2CM(ModelConfig.from_dict(header["config"]), jax.random.PRNGKey(0))
    like = ([skeleton] * int(header["members"]),
            {n: np.zeros(shape, np.dtype(dt)) for n, (shape, dt) in header["arrays"].items()})
    (models, arrays), _ = read_tree_file(path, like, ENSEMBLE_FORMAT, ENSEMBLE_FORMAT_VERSION,
                                         what)
    return list(models), dict(arrays), header["metadata"]
