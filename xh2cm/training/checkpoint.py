"""Training checkpoints: model, optimizer state and loop state in one file, for exact resume.

A checkpoint is one file ``ckpt-<epoch>.eqx``: a JSON header line (format,
epoch, the training loop's bookkeeping: history, early-stopping counters,
a fingerprint of the run) followed by :func:`equinox.tree_serialise_leaves`
of a pytree (model, optimizer state, best model). Floats are stored bit for
bit, and batch order is a pure function of ``(seed, epoch)``, so a resumed
run continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, TypeVar

from xh2cm.core.serialization import read_tree_file, write_tree_file

FORMAT = "xh2cm-checkpoint"
FORMAT_VERSION = 1
_NAME = re.compile(r"^ckpt-(\d+)\.eqx$")

T = TypeVar("T")


def checkpoint_path(directory: str | os.PathLike, epoch: int) -> Path:
    """File of the checkpoint taken after ``epoch`` epochs."""
    return Path(directory) / f"ckpt-{epoch:06d}.eqx"


def list_checkpoints(directory: str | os.PathLike) -> list[Path]:
    """Checkpoints in ``directory``, oldest first (empty if none or no directory)."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """The most recent checkpoint in ``directory``, or None."""
    found = list_checkpoints(directory)
    return found[-1] if found else None


def save_checkpoint(path: str | os.PathLike, tree: Any, state: dict[str, Any]) -> Path:
    """Write ``tree`` (arrays) and JSON-serialisable ``state`` atomically to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": FORMAT, "version": FORMAT_VERSION, "state": state}
    return write_tree_file(path, header, tree, atomic=True)


def load_checkpoint(path: str | os.PathLike, like: T) -> tuple[T, dict[str, Any]]:
    """Read a checkpoint into a pytree shaped like ``like``; return ``(tree, state)``.

    Raises
    ------
    ValueError
        If the file is not an xh2cm checkpoint.
    """
    tree, header = read_tree_file(path, like, FORMAT, FORMAT_VERSION, "xh2cm checkpoint")
    return tree, header["state"]


def prune_checkpoints(directory: str | os.PathLike, keep: int) -> None:
    """Delete all but the ``keep`` most recent checkpoints (``keep <= 0`` keeps all)."""
    if keep <= 0:
        return
    for p in list_checkpoints(directory)[:-keep]:
        p.unlink(missing_ok=True)
