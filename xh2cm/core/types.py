"""Array shapes of the core, named once (jaxtyping).

Static type checkers read every alias below as :class:`jax.Array`; the shape
strings document (and, under a runtime checker such as
``jaxtyping.jaxtyped``, enforce) the contracts between the core's functions.
Dimension names:

- ``time``: days of a forcing series; ``month``: months of it;
- ``cell``: grid cells (or sites) of a batch;
- ``hidden``: LSTM hidden units; ``n_static``: static predictors;
- ``*cells``: any shape, shared by all arguments of one element-wise call
  (a single cell under ``vmap``, or a whole batch).
"""

from __future__ import annotations

from jaxtyping import Array, Bool, Float, Int

#: Element-wise value of a process equation (physics), any shape.
Values = Float[Array, "*cells"]
#: Boolean of the same shape as :data:`Values`.
Mask = Bool[Array, "*cells"]
#: Scalar (a global constant, a loss term).
Scalar = Float[Array, ""]
#: Daily series per cell, time-major.
DailyCells = Float[Array, "time cell"]
#: One value per cell (a storage, a static parameter).
CellValues = Float[Array, " cell"]
#: Boolean per cell.
CellMask = Bool[Array, " cell"]
#: Static predictors per cell, in ``ModelConfig.static_names`` order.
StaticPredictors = Float[Array, "cell n_static"]
#: Hidden or cell state of an LSTM.
Hidden = Float[Array, "cell hidden"]
#: Monthly series per cell.
MonthlyCells = Float[Array, "month cell"]
#: Boolean mask of a monthly series.
MonthlyMask = Bool[Array, "month cell"]
#: Mean seasonal cycle per cell (12 calendar months).
SeasonalCells = Float[Array, "12 cell"]
#: Boolean mask of a mean seasonal cycle.
SeasonalMask = Bool[Array, "12 cell"]
#: A series over months (e.g. an area-weighted mean).
MonthSeries = Float[Array, " month"]
#: Boolean mask of a series over months.
MonthSeriesMask = Bool[Array, " month"]
#: All forcing of a batch stacked in ``FORCING_NAMES`` order.
ForcingStack = Float[Array, "time cell 5"]
#: Month (0-based, from the first month of the series) of each day.
MonthIndex = Int[Array, " time"]
#: Calendar month (0 = January) of each month of a series.
CalendarMonths = Int[Array, " month"]

__all__ = [
    "CalendarMonths",
    "CellMask",
    "CellValues",
    "DailyCells",
    "ForcingStack",
    "Hidden",
    "Mask",
    "MonthIndex",
    "MonthSeries",
    "MonthSeriesMask",
    "MonthlyCells",
    "MonthlyMask",
    "Scalar",
    "SeasonalCells",
    "SeasonalMask",
    "StaticPredictors",
    "Values",
]
