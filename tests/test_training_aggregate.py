"""Monthly aggregation, seasonal cycles and anomalies against plain NumPy."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from xh2cm.training import aggregate as agg
from xh2cm.training import month_calendar


def _calendar(start="2001-01-15", days=800):
    dates = pd.date_range(start, periods=days, freq="D").values
    return dates, *month_calendar(dates)


def test_month_calendar():
    dates, mi, cal, code = _calendar()
    assert mi[0] == 0 and mi[-1] == cal.size - 1
    assert cal[0] == 0  # January 2001
    assert code[0] == 2001 * 12
    # every day maps to its own calendar month
    assert np.array_equal(cal[mi], pd.DatetimeIndex(dates).month.values - 1)


def test_monthly_means_match_pandas():
    dates, mi, cal, _ = _calendar()
    x = np.random.default_rng(0).normal(size=(dates.size, 3))
    got = np.asarray(agg.monthly_means(jnp.asarray(x), jnp.asarray(mi), cal.size))
    ref = pd.DataFrame(x, index=dates).resample("MS").mean().values
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 0.9))
def test_seasonal_cycle_and_anomalies_masked(seed, missing):
    rng = np.random.default_rng(seed)
    n_months, n_cell = 30, 4
    cal = np.arange(n_months) % 12
    x = rng.normal(size=(n_months, n_cell))
    valid = rng.random((n_months, n_cell)) >= missing
    xn = np.where(valid, x, np.nan)  # garbage where invalid must not matter
    msc, mv = agg.seasonal_cycle(jnp.asarray(xn), jnp.asarray(valid), jnp.asarray(cal))
    sums = np.stack([np.where(valid, x, 0)[cal == m].sum(0) for m in range(12)])
    counts = np.stack([valid[cal == m].sum(0) for m in range(12)])
    ref_valid = counts > 0
    ref = sums / np.maximum(counts, 1)
    np.testing.assert_array_equal(np.asarray(mv), ref_valid)
    np.testing.assert_allclose(np.asarray(msc)[ref_valid], ref[ref_valid], rtol=1e-5, atol=1e-6)
    an = np.asarray(agg.anomalies(jnp.asarray(xn), jnp.asarray(valid), jnp.asarray(cal)))
    assert np.all(np.isfinite(an))
    np.testing.assert_allclose(an[valid], (x - np.nan_to_num(ref)[cal])[valid], rtol=1e-5,
                               atol=1e-5)
    assert np.all(an[~valid] == 0)


def test_time_anomaly_and_weighted_mean():
    x = jnp.asarray([[1.0, 10.0], [3.0, jnp.nan], [5.0, 30.0]])
    v = jnp.isfinite(x)
    a = np.asarray(agg.time_anomaly(x, v))
    np.testing.assert_allclose(a, [[-2, -10], [0, 0], [2, 10]])
    m, mv = agg.weighted_cell_mean(x, v, jnp.asarray([1.0, 3.0]))
    np.testing.assert_allclose(np.asarray(m), [(1 + 30) / 4, 3.0, (5 + 90) / 4])
    assert np.all(np.asarray(mv))
    m0, mv0 = agg.weighted_cell_mean(x, jnp.zeros_like(v), jnp.ones(2))
    assert not np.any(np.asarray(mv0)) and np.all(np.asarray(m0) == 0)
