"""The ``ds.h2cm`` Dataset accessor: forwards to the functions of :mod:`xh2cm.xr`.

Importing :mod:`xh2cm` registers it. Every method is one call of an
xarray-layer function (named in its docstring); the accessor holds no logic.

Examples
--------
>>> import xh2cm
>>> ds = xh2cm.datasets.synthetic_forcing(n_lat=4, n_lon=6, years=1)
>>> model = ds.h2cm.init_model(hidden_size=8)
>>> out = ds.h2cm.run(model)
>>> out.gpp.dims
('time', 'lat', 'lon')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Unpack

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm.analysis import coupling, efficiency, members, plots, pulse
from xh2cm.analysis import report as _report
from xh2cm.analysis.evaluate import evaluate as evaluate_
from xh2cm.analysis.regions import regional as regions_regional
from xh2cm.cf.prepare import CO2Arg, FillArg, InputOptions, MaskArg, forcing_dataset
from xh2cm.xr.fit import fit_dataset
from xh2cm.xr.model import init_model_from_dataset
from xh2cm.xr.report import InputReport, check_dataset
from xh2cm.xr.run import Freq, run_dataset

if TYPE_CHECKING:
    from xh2cm.core import H2CM
    from xh2cm.training import Ensemble


@xr.register_dataset_accessor("h2cm")
class H2CMAccessor:
    """H2CM methods on a forcing Dataset (``ds.h2cm``).

    Common keyword arguments
    ------------------------
    mask : DataArray, str, bool or None
        Land mask (True/1/fraction > 0.5 = land); None looks for a
        ``land_mask``/``landmask``/``lsm``/``mask`` variable; False ignores it.
    fill : {None, "interpolate"}
        None refuses NaN inside land cells; ``"interpolate"`` fills linearly
        in time and warns with a count.
    names : mapping, optional
        Explicit ``{catalog name: dataset variable}`` for forcing.
    check_ranges : bool
        Refuse forcing outside plausible ranges after unit conversion (the usual sign
        of a mislabelled unit, e.g. kelvin labelled degC); False opts out.
    co2 : number or DataArray, optional
        CO2 (ppm) when the dataset has none: a number or a ``(time,)`` series.

    These are :class:`xh2cm.cf.prepare.InputOptions`, documented in
    :func:`xh2cm.cf.prepare.prepare`.
    """

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    def check(self, model: H2CM | None = None, *, static: Sequence[str] | None = None,
              **options: Unpack[InputOptions]) -> InputReport:
        """Validate the dataset as model input and report how it was read
        (:func:`xh2cm.xr.report.check_dataset`, which documents the arguments).

        Returns
        -------
        InputReport
            Printable table; ``.to_dict()`` for data.

        Raises
        ------
        ValueError, KeyError
            Exactly as :meth:`run` would.

        Examples
        --------
        >>> import xh2cm
        >>> ds = xh2cm.datasets.synthetic_forcing(n_lat=4, n_lon=6, years=1)
        >>> report = ds.h2cm.check()
        >>> report.to_dict()["forcing"]["tair"]["source"]
        'tair'
        """
        return check_dataset(self._ds, model, static=static, **options)

    def forcing(self, *, masked: bool = True, **options: Unpack[InputOptions]) -> xr.Dataset:
        """The forcing as the model sees it: ``rn, prec, tair, vpd, co2`` in catalog units
        (:func:`xh2cm.cf.prepare.forcing_dataset`).

        Examples
        --------
        >>> import xh2cm
        >>> ds = xh2cm.datasets.synthetic_forcing(n_lat=4, n_lon=6, years=1)
        >>> f = ds.h2cm.forcing()
        >>> list(f.data_vars), f.tair.attrs["units"]
        (['rn', 'prec', 'tair', 'vpd', 'co2'], 'degC')
        """
        return forcing_dataset(self._ds, masked=masked, **options)

    def run(self, model: H2CM | Ensemble, *, spinup: bool | int = True,
            outputs: Sequence[str] | None = None, freq: Freq = None, dtype: Any = np.float32,
            initial_state: xr.Dataset | None = None, return_state: bool = False,
            tile: int | None = None, static: Sequence[str] | None = None,
            out_of_fold: bool = False, **options: Unpack[InputOptions]) -> Any:
        """Run ``model`` (or an ensemble: a ``member`` dimension; ``out_of_fold=True``:
        each cell by the member that held it out) on this dataset
        (:func:`xh2cm.xr.run.run_dataset`).

        Examples
        --------
        >>> import xh2cm
        >>> ds = xh2cm.datasets.synthetic_forcing(n_lat=4, n_lon=6, years=1)
        >>> out = ds.h2cm.run(ds.h2cm.init_model(hidden_size=8))
        >>> out.et.attrs["units"], out.sizes["time"]
        ('mm d-1', 365)
        """
        return run_dataset(self._ds, model, spinup=spinup, outputs=outputs, freq=freq,
                           dtype=dtype, initial_state=initial_state,
                           return_state=return_state, tile=tile, static=static,
                           out_of_fold=out_of_fold, **options)

    def init_model(
        self,
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
        """A fresh model whose input standardisation comes from this dataset
        (:func:`xh2cm.xr.model.init_model_from_dataset`, which documents the arguments).

        Examples
        --------
        >>> import xh2cm
        >>> ds = xh2cm.datasets.synthetic_forcing(n_lat=4, n_lon=6, years=1)
        >>> model = ds.h2cm.init_model(hidden_size=8, seed=1)
        >>> model.config.hidden_size
        8
        """
        return init_model_from_dataset(self._ds, static, seed, mask=mask, fill=fill,
                                       names=names, max_cells=max_cells,
                                       check_ranges=check_ranges, co2=co2, **config_kwargs)

    def fit(self, obs: xr.Dataset | None = None, model: H2CM | None = None,
            **kwargs: Any) -> tuple[Any, xr.Dataset]:
        """Train a model on this forcing against observations (docs/model/training.md;
        :func:`xh2cm.xr.fit.fit_dataset`, which documents the keyword arguments:
        ``epochs=``, ``batch_size=``, ``weights=``, ``validation=``, ``cells=``,
        ``checkpoint_dir=``, ``resume=``, ``folds=`` (k-fold cross-validation), ...).

        Returns
        -------
        model : xh2cm.core.H2CM or xh2cm.training.Ensemble
            The trained (best on validation) model; with ``folds=k``, the ensemble of
            the k fold models.
        history : xr.Dataset
            Loss per term on (split, epoch), learning rate, skipped steps.

        Examples
        --------
        >>> import xh2cm
        >>> ds = xh2cm.datasets.synthetic_forcing(n_lat=3, n_lon=6, years=1)
        >>> obs = ds.h2cm.run(xh2cm.datasets.truth_model(ds, hidden_size=8))[["gpp"]]
        >>> model, history = ds.h2cm.fit(obs, epochs=1, batch_size=8, validation=None,
        ...                              progress=False, hidden_size=8)
        >>> int(history.attrs["best_epoch"]), history.sizes["epoch"]
        (-1, 1)
        """
        return fit_dataset(self._ds, obs, model, **kwargs)

    # ------------------------------------------------------------------ analysis
    def pue(self, **kwargs: Any) -> xr.Dataset:
        """Precipitation-use efficiency (:func:`xh2cm.analysis.efficiency.pue`)."""
        return efficiency.pue(self._ds, **kwargs)

    def lue(self, **kwargs: Any) -> xr.Dataset:
        """Light-use efficiency (:func:`xh2cm.analysis.efficiency.lue`)."""
        return efficiency.lue(self._ds, **kwargs)

    def wue(self, **kwargs: Any) -> xr.Dataset:
        """Water-use efficiencies (:func:`xh2cm.analysis.efficiency.wue`)."""
        return efficiency.wue(self._ds, **kwargs)

    def water_carbon_coupling(self, *args: Any, **kwargs: Any) -> xr.Dataset:
        """Water–carbon coupling of anomalies
        (:func:`xh2cm.analysis.coupling.water_carbon_coupling`)."""
        return coupling.water_carbon_coupling(self._ds, *args, **kwargs)

    def rain_pulse(self, *args: Any, **kwargs: Any) -> xr.Dataset:
        """Rain-pulse respiration composite (:func:`xh2cm.analysis.pulse.rain_pulse`)."""
        return pulse.rain_pulse(self._ds, *args, **kwargs)

    def regional(self, regions: Any = "srex", how: Literal["mean", "sum"] = "mean",
                 **kwargs: Any) -> xr.Dataset:
        """Regional means or budgets (:func:`xh2cm.analysis.regions.regional`)."""
        return regions_regional(self._ds, regions, how, **kwargs)

    def spread(self, **kwargs: Any) -> xr.Dataset:
        """Ensemble mean and standard deviation (and quantiles) over ``member``
        (:func:`xh2cm.analysis.members.spread`)."""
        return members.spread(self._ds, **kwargs)

    def evaluate(self, obs: xr.Dataset, **kwargs: Any) -> xr.Dataset | pd.DataFrame:
        """Skill scores against observations (:func:`xh2cm.analysis.evaluate.evaluate`)."""
        return evaluate_(self._ds, obs, **kwargs)

    def map(self, var: str, **kwargs: Any) -> Any:
        """Interactive map of ``var`` (:func:`xh2cm.analysis.plots.map_plot`)."""
        return plots.map_plot(self._ds, var, **kwargs)

    def timeseries(self, var: str, **kwargs: Any) -> Any:
        """Regional or cell time series plot (:func:`xh2cm.analysis.plots.timeseries`)."""
        return plots.timeseries(self._ds, var, **kwargs)

    def report(self, path: str, **kwargs: Any) -> str:
        """Self-contained HTML report (:func:`xh2cm.analysis.report.report`)."""
        return _report.report(path, self._ds, **kwargs)
