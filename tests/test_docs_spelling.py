"""One spelling for a fresh model's options: keywords, in init_model and fit alike."""

from __future__ import annotations

import warnings

import pytest

import xh2cm


@pytest.fixture(scope="module")
def twin():
    ds = xh2cm.datasets.synthetic_forcing(n_lat=2, n_lon=4, years=1)
    obs = ds.h2cm.run(xh2cm.datasets.truth_model(ds, hidden_size=4))[["gpp"]]
    return ds, obs


FIT = dict(epochs=1, batch_size=4, validation=None, progress=False, segment=None)


def test_fit_takes_model_options_as_init_model_does(twin):
    ds, obs = twin
    assert ds.h2cm.init_model(hidden_size=4, sm_max_scale=100).config.hidden_size == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        model, _ = ds.h2cm.fit(obs, hidden_size=4, sm_max_scale=100, **FIT)
    assert (model.config.hidden_size, model.config.sm_max_scale) == (4, 100)


def test_model_kwargs_still_work_with_a_deprecation_warning(twin):
    ds, obs = twin
    with pytest.warns(DeprecationWarning, match=r"fit\(obs, hidden_size=8"):
        model, _ = ds.h2cm.fit(obs, model_kwargs={"hidden_size": 4}, **FIT)
    assert model.config.hidden_size == 4
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="both as keywords"):
        ds.h2cm.fit(obs, model_kwargs={"hidden_size": 4}, hidden_size=8, **FIT)


def test_model_options_with_a_given_model_are_refused(twin):
    ds, obs = twin
    model = ds.h2cm.init_model(hidden_size=4)
    with pytest.raises(ValueError, match=r"\['hidden_size'\] apply to a fresh model"):
        ds.h2cm.fit(obs, model, hidden_size=8, **FIT)
