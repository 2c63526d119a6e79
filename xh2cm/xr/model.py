"""Fresh models whose input standardisation comes from a Dataset.

The xarray side of :func:`xh2cm.core.init_model`: the architecture is a
:class:`~xh2cm.core.ModelConfig` whose static predictors are those the data
provide, and the means and spreads of the network inputs are those of the
data's valid cells (after unit conversion and masking, exactly as ``run`` sees
them). Used by ``ds.h2cm.init_model``, :func:`xh2cm.xr.fit.fit_dataset` and
:func:`xh2cm.datasets.truth_model`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from xh2cm.cf.prepare import CO2Arg, FillArg, MaskArg, Prepared, prepare

if TYPE_CHECKING:
    from xh2cm.core import H2CM


def init_model_from_prepared(prep: Prepared, cells: np.ndarray, seed: int = 0,
                             **config_kwargs: Any) -> H2CM:
    """A fresh model standardised on ``cells`` (flat indices) of prepared input.

    ``**config_kwargs`` are other :class:`~xh2cm.core.ModelConfig` fields; the
    static predictors are ``prep.static_names``.
    """
    from xh2cm.core import ModelConfig, init_model

    config = ModelConfig(static_names=prep.static_names, **config_kwargs)
    forcing, static = prep.arrays(cells)
    return init_model(config, seed=seed, forcing=forcing, static=static)


def init_model_from_dataset(
    ds: xr.Dataset,
    static: Sequence[str] | None = None,
    seed: int = 0,
    *,
    mask: MaskArg = None,
    fill: FillArg = None,
    names: Mapping[str, str] | None = None,
    max_cells: int | None = 10_000,
    check_ranges: bool = True,
    co2: CO2Arg = None,
    **config_kwargs: Any,
) -> H2CM:
    """A fresh model whose input standardisation comes from ``ds``.

    Parameters
    ----------
    ds : xarray.Dataset
        Forcing with static predictors, as for ``ds.h2cm.run``.
    static : sequence of str, optional
        Static predictors in order; None: every float variable without a
        time dim that is not forcing, mask or coordinate; ``[]``: none.
    seed : int
        Weight initialisation seed (and of the choice of cells).
    mask, fill, names
        As for :func:`xh2cm.cf.prepare.prepare`.
    max_cells : int or None
        Use at most this many (randomly chosen) valid cells for the
        statistics, to bound memory; None uses all.
    **config_kwargs
        Other :class:`xh2cm.core.ModelConfig` fields (``hidden_size``, ...).

    Returns
    -------
    xh2cm.core.H2CM

    Examples
    --------
    >>> import xh2cm
    >>> from xh2cm.xr.model import init_model_from_dataset
    >>> ds = xh2cm.datasets.synthetic_forcing(n_lat=4, n_lon=6, years=1)
    >>> model = init_model_from_dataset(ds, hidden_size=8)
    >>> model.config.static_names == xh2cm.datasets.static_names(ds)
    True
    """
    prep = prepare(ds, static=static, mask=mask, fill=fill, names=names,
                   check_ranges=check_ranges, co2=co2)
    return init_model_from_prepared(prep, prep.cells(max_cells, seed), seed, **config_kwargs)


def split_model_options(kwargs: dict[str, Any],
                        model_kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Take the :class:`~xh2cm.core.ModelConfig` fields out of ``kwargs`` (in place).

    ``fit`` spells a fresh model's options as ``init_model`` does, as keywords
    (``fit(obs, hidden_size=8)``); the older ``model_kwargs={...}`` still works with a
    :class:`DeprecationWarning`.

    Examples
    --------
    >>> kwargs = {"epochs": 2, "hidden_size": 8}
    >>> split_model_options(kwargs), kwargs
    ({'hidden_size': 8}, {'epochs': 2})
    """
    import warnings
    from dataclasses import fields

    from xh2cm.core import ModelConfig

    names = {f.name for f in fields(ModelConfig)} - {"static_names", "_version"}
    options = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
    if model_kwargs is not None:
        warnings.warn("fit(model_kwargs={...}) is deprecated: pass the model's options as "
                      "keywords, as for init_model, e.g. fit(obs, hidden_size=8, "
                      "sm_max_scale=100)", DeprecationWarning, stacklevel=3)
        twice = sorted(set(options) & set(model_kwargs))
        if twice:
            raise TypeError(f"model option(s) {twice} given both as keywords and in "
                            "model_kwargs; pass them as keywords only")
        options = {**dict(model_kwargs), **options}
    return options
