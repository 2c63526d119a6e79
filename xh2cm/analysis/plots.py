"""Interactive figures with hvplot (bokeh): maps, time series and one figure per
diagnostic. Each function returns the hvplot / HoloViews object, which a notebook
displays and :func:`xh2cm.analysis.report.report` embeds in HTML.

Coastlines are never downloaded: ``coastline=True`` outlines the cells with data
(the land mask of a run) instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd
import xarray as xr

from xh2cm.analysis.regions import RegionsArg, lat_lon, weighted_mean_series

STATISTICS = ("mean", "std", "min", "max")


def _hv() -> Any:
    import holoviews as hv
    import hvplot.pandas  # noqa: F401
    import hvplot.xarray  # noqa: F401  (registers .hvplot)

    return hv


def _xy(da: xr.DataArray) -> tuple[str, str]:
    lat, lon = lat_lon(da)
    return str(lon.name), str(lat.name)


def _label(da: xr.DataArray) -> str:
    name = da.attrs.get("long_name", da.name)
    units = da.attrs.get("units")
    return f"{name} [{units}]" if units else str(name)


def _outline(da: xr.DataArray) -> Any:
    """Contour of the cells with data (an offline coastline for land-only output)."""
    x, y = _xy(da)
    has = da.notnull()
    has = has.any([d for d in has.dims if d not in (x, y)])
    return has.astype(float).hvplot.contour(x=x, y=y, levels=[0.5], colorbar=False,
                                            line_color="black", line_width=0.8,
                                            legend=False, hover=False)


def map_plot(ds: xr.Dataset | xr.DataArray, var: str | None = None, *,
        selector: Literal["statistic", "time"] = "statistic", coastline: bool = True,
        cmap: str = "viridis", width: int = 600, height: int = 300, **kwargs: Any) -> Any:
    """A quadmesh map of ``var`` with a selector.

    Parameters
    ----------
    ds : Dataset or DataArray
        Data on a latitude–longitude grid.
    var : str, optional
        Variable of ``ds`` (required for a Dataset).
    selector : {"statistic", "time"}
        For a variable with time: a widget choosing a statistic over time (mean,
        std, min, max), or a time-step slider.
    coastline : bool
        Outline the cells with data (nothing is downloaded).
    **kwargs
        Passed to ``hvplot.quadmesh``.

    Returns
    -------
    holoviews object
    """
    _hv()
    if var is None and isinstance(ds, xr.Dataset):
        raise ValueError("map() needs var= for a Dataset")
    da = ds[var] if isinstance(ds, xr.Dataset) else ds
    x, y = _xy(da)
    label = _label(da)
    groupby: Any = None
    if "time" in da.dims and selector == "statistic":
        stats = [getattr(da, s)("time") for s in STATISTICS]
        da = xr.concat(stats, dim="statistic").assign_coords(statistic=list(STATISTICS))
        da.attrs = dict(ds[var].attrs if isinstance(ds, xr.Dataset) else ds.attrs)
        groupby = "statistic"
    elif "time" in da.dims:
        groupby = "time"
    extra = [d for d in da.dims if d not in (x, y, groupby)]
    groupby = [g for g in [groupby, *extra] if g]
    plot = da.hvplot.quadmesh(x=x, y=y, groupby=groupby or None, cmap=cmap, clabel=label,
                              title=label, width=width, height=height, rasterize=False,
                              **kwargs)
    if coastline:
        plot = plot * _outline(da)
    return plot


def timeseries(ds: xr.Dataset | xr.DataArray, var: str | None = None, *,
               region: str | None = None, cell: Mapping[str, float] | None = None,
               regions: RegionsArg = "srex", width: int = 700, height: int = 250) -> Any:
    """Time series of ``var``: the area-weighted mean of a region (by abbreviation, or
    ``"global"``, the default) or one cell (``cell={"lat": .., "lon": ..}``, nearest)."""
    _hv()
    da = ds[var] if isinstance(ds, xr.Dataset) and var is not None else ds
    if not isinstance(da, xr.DataArray):
        raise ValueError("timeseries() needs var= for a Dataset")
    if cell is not None:
        series = da.sel(dict(cell), method="nearest")
        where = ", ".join(f"{k}={float(series[k]):g}" for k in cell)
    else:
        series = weighted_mean_series(da, region, regions)
        where = region or "global"
    series = series.rename(str(da.name))
    series.attrs = da.attrs
    return series.hvplot.line(x="time", title=f"{_label(da)}, {where}", width=width,
                              height=height)


def plot_efficiency(result: xr.Dataset, **kwargs: Any) -> Any:
    """Maps of each ``*_climatology`` of a :func:`~xh2cm.analysis.efficiency.pue`,
    ``lue`` or ``wue`` result."""
    hv = _hv()
    names = [str(v) for v in result.data_vars if str(v).endswith("_climatology")]
    return hv.Layout([map_plot(result, n, **kwargs) for n in names]).cols(1)


def plot_coupling(result: xr.Dataset, score: str = "r", **kwargs: Any) -> Any:
    """Maps (per cell) or a heat map (per region) of a coupling score, with selectors for
    the carbon and water variables and the lag."""
    _hv()
    da = result[score]
    if "region" in da.dims:
        df = da.to_dataframe().reset_index()
        df["pair"] = df["carbon"] + " ~ " + df["water"]
        return df.hvplot.heatmap(x="region", y="pair", C=score,
                                 groupby="lag" if df["lag"].nunique() > 1 else None,
                                 cmap="RdBu_r",
                                 clim=(-1, 1), title=f"water-carbon coupling ({score})",
                                 rot=90, width=700, height=300)
    return map_plot(result, score, coastline=kwargs.pop("coastline", True), cmap="RdBu_r",
               clim=(-1, 1), **kwargs)


def plot_rain_pulse(result: xr.Dataset, flux: str = "rh", width: int = 600,
                    height: int = 300) -> Any:
    """Composite curve of ``flux`` after rain (mean over cells with events) with the mean
    spread over events as a band."""
    hv = _hv()
    comp = result[f"{flux}_composite"]
    spread = result[f"{flux}_spread"]
    space = [d for d in comp.dims if d != "lag"]
    mean = comp.mean(space, skipna=True)
    sd = spread.mean(space, skipna=True)
    df = pd.DataFrame({"lag": comp["lag"].values, "mean": mean.values,
                       "lo": (mean - sd).values, "hi": (mean + sd).values})
    band = df.hvplot.area(x="lag", y="lo", y2="hi", alpha=0.3, color="grey")
    line = df.hvplot.line(x="lag", y="mean", color="black",
                          title=f"{_label(comp)} (mean over cells; band: spread over events)",
                          width=width, height=height, xlabel="days since rain", ylabel=flux)
    return band * line * hv.VLine(0).opts(color="red", line_dash="dashed")


def plot_evaluation(scores: xr.Dataset | pd.DataFrame, score: str = "kge") -> Any:
    """A heat map of ``score`` by variable and region (table from ``evaluate(by="region")``)
    with a component selector, or maps per cell."""
    _hv()
    if isinstance(scores, pd.DataFrame):
        many = scores["component"].nunique() > 1
        return scores.hvplot.heatmap(x="region", y="variable", C=score,
                                     groupby="component" if many else None,
                                     cmap="RdYlBu", clim=(-1, 1), rot=90, width=700, height=250,
                                     title=f"evaluation: {score}")
    return map_plot(scores, score, cmap="RdYlBu", clim=(-1, 1))
