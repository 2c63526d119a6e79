"""Defaults of the xarray layer, set once instead of repeated in every call.

>>> import xh2cm
>>> with xh2cm.set_options(names={"tair": "t_2m"}):
...     xh2cm.cf.options.OPTIONS["names"]
{'tair': 't_2m'}
>>> xh2cm.cf.options.OPTIONS["names"]
{}

``names`` maps catalog forcing names to dataset variables, ``obs_names`` observation
constraints to dataset variables (as the ``names=`` / ``obs_names=`` arguments of
``ds.h2cm.run``, ``check``, ``fit``...). A call's own argument wins over the option
for the same key; an option entry naming a variable the dataset lacks is ignored
(the usual discovery rules apply), so one mapping serves several files.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

#: The current options.
OPTIONS: dict[str, dict[str, str]] = {"names": {}, "obs_names": {}}


class set_options:
    """Set options globally (``xh2cm.set_options(names=...)``) or for a ``with`` block."""

    def __init__(self, *, names: Mapping[str, str] | None = None,
                 obs_names: Mapping[str, str] | None = None):
        self._old = {k: dict(v) for k, v in OPTIONS.items()}
        if names is not None:
            OPTIONS["names"] = dict(names)
        if obs_names is not None:
            OPTIONS["obs_names"] = dict(obs_names)

    def __enter__(self) -> set_options:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        OPTIONS.clear()
        OPTIONS.update(self._old)


def merged(option: str, given: Mapping[str, str] | None, available: Any,
           keys: Any = None) -> dict[str, str]:
    """The option's mapping (entries whose variable is in ``available`` and, if given, whose
    key is in ``keys``), then the call's own ``given`` mapping."""
    base = {k: v for k, v in OPTIONS[option].items()
            if v in available and (keys is None or k in keys)}
    return {**base, **dict(given or {})}
