"""The ``ds.h2cm`` Dataset accessor: a thin face over :mod:`xh2cm.xr`.

Importing :mod:`xh2cm` registers it.

Examples
--------
>>> import xh2cm
>>> ds.h2cm.check()                      # doctest: +SKIP
>>> model = ds.h2cm.init_model(hidden_size=8)  # doctest: +SKIP
>>> out = ds.h2cm.run(model)             # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import xarray as xr

from xh2cm.xr.prepare import prepare
from xh2cm.xr.report import InputReport
from xh2cm.xr.run import run_dataset

MaskArg = xr.DataArray | str | bool | None


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
    """

    def __init__(self, ds: xr.Dataset):
        self._ds = ds

    @staticmethod
    def _static_arg(model: Any, static: Sequence[str] | None) -> Sequence[str] | None:
        if static is not None:
            return tuple(static)
        if model is not None:
            return tuple(model.config.static_names)
        return None  # auto-detect

    def check(
        self,
        model: Any = None,
        *,
        static: Sequence[str] | None = None,
        mask: MaskArg = None,
        fill: str | None = None,
        names: Mapping[str, str] | None = None,
    ) -> InputReport:
        """Validate the dataset as model input and report how it was read.

        Parameters
        ----------
        model : H2CM, optional
            If given, its ``config.static_names`` are the static predictors.
        static : sequence of str, optional
            Static predictors; default: the model's, else auto-detected.

        Returns
        -------
        InputReport
            Printable table; ``.to_dict()`` for data.

        Raises
        ------
        ValueError, KeyError
            Exactly as :meth:`run` would.
        """
        prep = prepare(self._ds, static=self._static_arg(model, static), mask=mask,
                       fill=fill, names=names)
        return InputReport.from_prepared(prep)

    def forcing(
        self,
        *,
        mask: MaskArg = None,
        fill: str | None = None,
        names: Mapping[str, str] | None = None,
        masked: bool = True,
    ) -> xr.Dataset:
        """The forcing as the model sees it: ``rn, prec, tair, vpd, co2`` in catalog units.

        Parameters
        ----------
        masked : bool
            Set cells the model does not run on (ocean, no data) to NaN.

        Returns
        -------
        xarray.Dataset
            CF attributes from the catalog; ``co2`` keeps its own dims (scalar,
            ``(time,)`` or gridded). Lazy if the input is dask-backed.
        """
        prep = prepare(self._ds, static=(), mask=mask, fill=fill, names=names)
        out = prep.forcing
        if masked:
            out = out.map(
                lambda da: da.where(prep.valid) if set(prep.valid.dims) <= set(da.dims) else da,
                keep_attrs=True,
            )
        out.attrs = {"title": "xh2cm forcing", "Conventions": "CF-1.8"}
        return out

    def run(
        self,
        model: Any,
        *,
        spinup: bool | int = True,
        mask: MaskArg = None,
        fill: str | None = None,
        names: Mapping[str, str] | None = None,
    ) -> xr.Dataset:
        """Run ``model`` on this dataset; see :func:`xh2cm.xr.run.run_dataset`."""
        return run_dataset(self._ds, model, spinup=spinup, mask=mask, fill=fill, names=names)

    def init_model(
        self,
        static: Sequence[str] | None = None,
        seed: int = 0,
        *,
        mask: MaskArg = None,
        fill: str | None = None,
        names: Mapping[str, str] | None = None,
        max_cells: int | None = 10_000,
        **config_kwargs: Any,
    ) -> Any:
        """A fresh model whose input standardisation comes from this dataset.

        Parameters
        ----------
        static : sequence of str, optional
            Static predictors in order; None: every float variable without a
            time dim that is not forcing, mask or coordinate; ``[]``: none.
        seed : int
            Weight initialisation seed.
        max_cells : int or None
            Use at most this many (randomly chosen) valid cells for the
            statistics, to bound memory; None uses all.
        **config_kwargs
            Other :class:`xh2cm.core.ModelConfig` fields (``hidden_size``, ...).

        Returns
        -------
        xh2cm.core.H2CM
        """
        from xh2cm.core import ModelConfig, init_model

        prep = prepare(self._ds, static=static, mask=mask, fill=fill, names=names)
        config = ModelConfig(static_names=prep.static_names, **config_kwargs)
        forcing, static_arr = prep.arrays(prep.cells(max_cells, seed))
        return init_model(config, seed=seed, forcing=forcing, static=static_arr)

    def fit(self, obs: xr.Dataset | None = None, model: Any = None,
            **kwargs: Any) -> tuple[Any, xr.Dataset]:
        """Train a model on this forcing against observations (DESIGN.md §5).

        See :func:`xh2cm.xr.fit.fit_dataset` for the keyword arguments
        (``epochs=``, ``batch_size=``, ``weights=``, ``validation=``,
        ``cells=``, ``checkpoint_dir=``, ``resume=``, ...).

        Returns
        -------
        model : xh2cm.core.H2CM
            The trained (best on validation) model.
        history : xr.Dataset
            Loss per term on (split, epoch), learning rate, skipped steps.
        """
        from xh2cm.xr.fit import fit_dataset

        return fit_dataset(self._ds, obs, model, **kwargs)
