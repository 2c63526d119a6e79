"""NumPy kernel of the rain-pulse (Birch effect) composite (no xarray).

Vectorised over every leading axis (cells); the only Python loop is over the
lags of the composite window. Time is the last axis.

Examples
--------
>>> import numpy as np
>>> prec = np.zeros(60); prec[30] = 10.0         # a storm after 30 dry days
>>> rh = np.ones(60); rh[30:33] += [2.0, 1.0, 0.5]  # a respiration pulse
>>> out = rain_pulse_composite(prec, rh)
>>> int(out["n_events"]), float(out["composite"][7]), float(out["baseline"])
(1, 2.0, 1.0)
"""

from __future__ import annotations

import numpy as np

Arr = np.ndarray


def dry_run_length(prec: Arr, threshold: float) -> Arr:
    """Number of consecutive days below ``threshold`` ending on each day (0 on a wet day)."""
    dry = prec < threshold
    c = np.cumsum(dry, axis=-1)
    reset = np.maximum.accumulate(np.where(dry, 0, c), axis=-1)
    return c - reset


def _window_sum(x: Arr, start: int, stop: int) -> tuple[Arr, Arr]:
    """Sum and count of the finite values of ``x[..., t + start : t + stop + 1]`` for every
    ``t`` (NaN-padded outside the series)."""
    n = x.shape[-1]
    ok = np.isfinite(x)
    c = np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(np.where(ok, x, 0), -1)], -1)
    k = np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(ok, -1)], -1)
    t = np.arange(n)
    lo, hi = np.clip(t + start, 0, n), np.clip(t + stop + 1, 0, n)
    return c[..., hi] - c[..., lo], k[..., hi] - k[..., lo]


def detect_events(prec: Arr, *, dry_days: int = 14, dry_threshold: float = 1.0,
                  event_total: float = 5.0, event_days: int = 2,
                  window: tuple[int, int] = (-7, 14)) -> Arr:
    """Boolean ``(..., time)``: the first wet day of a rain event that follows a dry spell.

    An event starts on day ``t`` when the ``dry_days`` days before ``t`` all had
    less than ``dry_threshold`` mm, day ``t`` has at least ``dry_threshold`` mm, and
    the ``event_days`` days from ``t`` bring at least ``event_total`` mm; only
    events whose whole composite ``window`` lies inside the series count.
    """
    n = prec.shape[-1]
    run = dry_run_length(prec, dry_threshold)
    before = np.concatenate([np.zeros(prec.shape[:-1] + (1,), run.dtype), run[..., :-1]], -1)
    total, _ = _window_sum(np.nan_to_num(prec), 0, event_days - 1)
    t = np.arange(n)
    inside = (t + window[0] >= 0) & (t + window[1] <= n - 1)
    return (before >= dry_days) & (prec >= dry_threshold) & (total >= event_total) & inside


def rain_pulse_composite(prec: Arr, flux: Arr, *, dry_days: int = 14, dry_threshold: float = 1.0,
                         event_total: float = 5.0, event_days: int = 2,
                         window: tuple[int, int] = (-7, 14),
                         baseline: tuple[int, int] = (-7, -1)) -> dict[str, Arr]:
    """Composite of ``flux`` around the rain events of ``prec`` (both ``(..., time)``, daily).

    Each event's curve is ``flux[t + lag] - b`` with ``b`` the event's mean flux over
    the ``baseline`` days (relative to the event's first wet day ``t``); curves are
    averaged over events.

    Returns
    -------
    dict of ndarray
        ``composite`` and ``spread`` (mean and standard deviation over events of the
        curve, ``(..., lag)``), ``n_events`` ``(...)``, ``baseline`` (mean ``b`` over
        events, ``(...)``); NaN where there is no event.
    """
    if not window[0] <= baseline[0] <= baseline[1] < 0 <= window[1]:
        raise ValueError(f"baseline={baseline} must lie before day 0 inside window={window}")
    ev = detect_events(prec, dry_days=dry_days, dry_threshold=dry_threshold,
                       event_total=event_total, event_days=event_days, window=window)
    bsum, bcnt = _window_sum(flux, baseline[0], baseline[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        base = np.where(bcnt > 0, bsum / np.maximum(bcnt, 1), np.nan)
    ev &= np.isfinite(base)
    n_ev = ev.sum(-1)
    lags = np.arange(window[0], window[1] + 1)
    n = flux.shape[-1]
    comp = np.full(flux.shape[:-1] + (lags.size,), np.nan)
    spread = np.full_like(comp, np.nan)
    for i, lag in enumerate(lags):
        idx = np.clip(np.arange(n) + lag, 0, n - 1)
        d = flux[..., idx] - base
        use = ev & np.isfinite(d)
        k = use.sum(-1)
        s = np.where(use, d, 0.0).sum(-1)
        ss = np.where(use, d * d, 0.0).sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s / k
            comp[..., i] = np.where(k > 0, mean, np.nan)
            spread[..., i] = np.where(k > 0, np.sqrt(np.maximum(ss / k - mean**2, 0)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_base = np.where(n_ev > 0, np.where(ev, base, 0.0).sum(-1) / n_ev, np.nan)
    return {"composite": comp, "spread": spread, "n_events": n_ev, "baseline": mean_base}
