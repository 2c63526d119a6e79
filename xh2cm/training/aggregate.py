"""Temporal and spatial aggregation for the training constraints (plain JAX arrays).

Daily model output ``(time, cell)`` is reduced to monthly means with a
per-day month index and a segment sum; monthly series ``(month, cell)`` are
reduced to mean seasonal cycles, anomalies from them (interannual
variability) and area-weighted means over cells. Every reduction takes a
boolean ``valid`` mask of the same shape, so that the model is aggregated over
exactly the months where the observation exists (NaN-free: masked entries are
replaced by zero *before* any arithmetic, which keeps gradients finite).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from xh2cm.core.types import (
    CalendarMonths,
    CellValues,
    DailyCells,
    Mask,
    MonthIndex,
    MonthlyCells,
    MonthlyMask,
    MonthSeries,
    MonthSeriesMask,
    SeasonalCells,
    SeasonalMask,
    Values,
)


def monthly_means(x: DailyCells, month_index: MonthIndex, n_months: int) -> MonthlyCells:
    """Monthly means of a daily series.

    Parameters
    ----------
    x : Array
        Daily values ``(time, cell)``.
    month_index : Array
        Month of each day ``(time,)``, integers in ``[0, n_months)``.
    n_months : int
        Number of months (static).

    Returns
    -------
    Array
        ``(n_months, cell)`` means over the days of each month (0 for a month
        without days).
    """
    s = jax.ops.segment_sum(x, month_index, num_segments=n_months)
    n = jax.ops.segment_sum(jnp.ones_like(month_index, x.dtype), month_index,
                            num_segments=n_months)
    return s / jnp.maximum(n, 1.0)[:, None]


def masked(x: Values, valid: Mask) -> Values:
    """``x`` where ``valid``, else 0 (also turns NaN outside ``valid`` into 0)."""
    return jnp.where(valid, x, 0.0)


def seasonal_cycle(x: MonthlyCells, valid: MonthlyMask, calendar_month: CalendarMonths
                   ) -> tuple[SeasonalCells, SeasonalMask]:
    """Mean seasonal cycle over the valid months.

    Parameters
    ----------
    x : Array
        Monthly values ``(month, cell)``.
    valid : Array
        Boolean ``(month, cell)``.
    calendar_month : Array
        Calendar month of each month ``(month,)``, integers 0–11.

    Returns
    -------
    msc : Array
        ``(12, cell)`` mean per calendar month (0 where no valid month).
    msc_valid : Array
        Boolean ``(12, cell)``: at least one valid month.
    """
    s = jax.ops.segment_sum(masked(x, valid), calendar_month, num_segments=12)
    n = jax.ops.segment_sum(valid.astype(x.dtype), calendar_month, num_segments=12)
    return s / jnp.maximum(n, 1.0), n > 0


def anomalies(x: MonthlyCells, valid: MonthlyMask, calendar_month: CalendarMonths
              ) -> MonthlyCells:
    """Monthly anomalies from the mean seasonal cycle (0 where not valid)."""
    msc, _ = seasonal_cycle(x, valid, calendar_month)
    return masked(x - msc[calendar_month], valid)


def time_anomaly(x: MonthlyCells, valid: MonthlyMask) -> MonthlyCells:
    """``x`` minus its per-cell mean over the valid months (0 where not valid)."""
    n = jnp.sum(valid, axis=0)
    mean = jnp.sum(masked(x, valid), axis=0) / jnp.maximum(n, 1)
    return masked(x - mean, valid)


def weighted_cell_mean(x: MonthlyCells, valid: MonthlyMask, weight: CellValues
                       ) -> tuple[MonthSeries, MonthSeriesMask]:
    """Weighted mean over cells of a ``(month, cell)`` series.

    Parameters
    ----------
    x, valid : Array
        ``(month, cell)`` values and mask.
    weight : Array
        ``(cell,)`` non-negative weights (e.g. cell area; 0 excludes a cell).

    Returns
    -------
    mean : Array
        ``(month,)`` weighted mean over the valid cells.
    mean_valid : Array
        Boolean ``(month,)``: some valid cell has positive weight.
    """
    w = masked(jnp.broadcast_to(weight, x.shape), valid)
    total = jnp.sum(w, axis=1)
    return jnp.sum(w * masked(x, valid), axis=1) / jnp.where(total > 0, total, 1.0), total > 0
