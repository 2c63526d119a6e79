"""How a variable was read: where it was found and how it was converted (shared by the
preparation of forcing, its checks and the observations)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VariableSource:
    """Where a variable was read from and how it was converted.

    Attributes
    ----------
    name, source, rule : str
        Catalog name, dataset variable, discovery rule.
    units : str
        Units as given.
    conversion : str
        Conversion applied to catalog units (``"none"`` if none).
    """

    name: str
    source: str
    rule: str
    units: str
    conversion: str


@dataclass(frozen=True)
class ForcingInfo(VariableSource):
    """How one forcing variable was read (see :class:`VariableSource`).

    Attributes
    ----------
    filled : int
        Number of NaN values filled inside land cells (``fill=`` option).
    """

    filled: int = 0
