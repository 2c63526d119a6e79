"""Interactive figures with hvplot (bokeh): maps, time series and one figure per
diagnostic. Each function returns the hvplot / HoloViews object, which a notebook
displays and :func:`xh2cm.analysis.report.report` embeds in HTML.

Coastlines are never downloaded: ``coastline=True`` draws the Natural Earth 1:110m land
outline (public domain) shipped in ``xh2cm/analysis/data`` (made by
``scripts/make_coastline.py``), ``coastline="cells"`` outlines the cells with data.
Labels never lose text: long titles are wrapped over lines, colour bars carry the units
only, and carbon is labelled as carbon (``gC m-2 d-1``; a ``units_label`` attribute,
e.g. of regional totals or efficiencies, is used as given). A cftime axis (``noleap``,
``360_day``, ...) is drawn on dates of the standard calendar at the same fraction of each
year.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm import catalog
from xh2cm.analysis.regions import RegionsArg, lat_lon, weighted_mean_series
from xh2cm.cf.grid import is_longitude

STATISTICS = ("mean", "std", "min", "max")


def _hv() -> Any:
    import holoviews as hv
    import hvplot.pandas  # noqa: F401
    import hvplot.xarray  # noqa: F401  (registers .hvplot)

    return hv


def _xy(da: xr.DataArray) -> tuple[str, str]:
    lat, lon = lat_lon(da)
    return str(lon.name), str(lat.name)


def display_units(da: xr.DataArray) -> str:
    """Units as shown on a figure: the ``units_label`` attribute if any, else the units,
    with grams of carbon written ``gC`` for carbon variables."""
    if "units_label" in da.attrs:
        return str(da.attrs["units_label"])
    units = str(da.attrs.get("units", ""))
    name = str(da.name)
    info = catalog.OUTPUTS.get(name) or catalog.OUTPUTS.get(name.split("_")[0])
    carbon = (info is not None and info.group == "carbon") or \
        "carbon" in str(da.attrs.get("long_name", "")).lower()
    if carbon and units.split(" ")[0] in ("g", "kg", "Pg", "Tg"):
        head, _, rest = units.partition(" ")
        return f"{head}C {rest}".strip()
    return units


def _label(da: xr.DataArray) -> str:
    name = da.attrs.get("long_name", da.name)
    units = display_units(da)
    return f"{name} [{units}]" if units else str(name)


def wrap_title(text: str, width: int) -> str:
    """``text`` over as many lines as a figure ``width`` (px) needs (bold 12 pt, about
    8 px a character), so that no title is cut."""
    return "\n".join(textwrap.wrap(text, max(20, width // 8))) or text


@cache
def _coastline_paths() -> list[np.ndarray]:
    data = resources.files("xh2cm.analysis").joinpath("data/coastline_110m.json")
    return [np.asarray(p, float) for p in json.loads(data.read_text())["paths"]]


def coastline_path(lon: np.ndarray, lat: np.ndarray) -> Any:
    """The Natural Earth coastline over the extent of ``lon``, ``lat`` (0…360 or
    −180…180), as a HoloViews ``Path``."""
    hv = _hv()
    east = float(np.nanmax(lon)) > 180
    lo_x, hi_x = float(np.nanmin(lon)) - 5, float(np.nanmax(lon)) + 5
    lo_y, hi_y = float(np.nanmin(lat)) - 5, float(np.nanmax(lat)) + 5
    paths = []
    for p in _coastline_paths():
        x = p[:, 0] % 360 if east else p[:, 0]
        if east:  # a path crossing 0 degrees east is cut there
            x = np.where(np.abs(np.diff(x, prepend=x[0])) > 180, np.nan, x)
        inside = (x >= lo_x) & (x <= hi_x) & (p[:, 1] >= lo_y) & (p[:, 1] <= hi_y)
        if inside.any():
            paths.append(np.column_stack([np.where(inside, x, np.nan), p[:, 1]]))
    return hv.Path(paths).opts(color="black", line_width=0.7)


def _extent(c: xr.DataArray) -> tuple[float, float]:
    v = np.asarray(c.values, float)
    half = float(np.median(np.abs(np.diff(v)))) / 2 if v.size > 1 else 0.5
    return float(v.min()) - half, float(v.max()) + half


def _plot_time(da: xr.DataArray) -> xr.DataArray:
    """``da`` with a cftime axis on datetime64 at the same fraction of each year (bokeh
    draws only standard dates)."""
    index = da.indexes.get("time")
    if not isinstance(index, xr.CFTimeIndex):
        return da
    days = {"360_day": 360, "noleap": 365, "365_day": 365, "all_leap": 366,
            "366_day": 366}.get(index.calendar, 365.2425)
    years = np.array([f"{t.year:04d}-01-01" for t in index], "datetime64[s]")
    frac = np.array([(t.dayofyr - 1 + t.hour / 24) / days for t in index])
    return da.assign_coords(time=years + (frac * 365.2425 * 86400).astype("timedelta64[s]"))


def _outline(da: xr.DataArray) -> Any:
    """Contour of the cells with data (``coastline="cells"``)."""
    x, y = _xy(da)
    has = da.notnull()
    has = has.any([d for d in has.dims if d not in (x, y)])
    return has.astype(float).hvplot.contour(x=x, y=y, levels=[0.5], colorbar=False,
                                            line_color="black", line_width=0.8,
                                            legend=False, hover=False)


def map_plot(ds: xr.Dataset | xr.DataArray, var: str | None = None, *,
        selector: Literal["statistic", "time"] = "statistic",
        coastline: bool | Literal["cells"] = True,
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
    coastline : bool or "cells"
        Draw the shipped Natural Earth coastline (nothing is downloaded), or outline
        the cells with data (``"cells"``).
    **kwargs
        Passed to ``hvplot.quadmesh``.

    Returns
    -------
    holoviews object
    """
    _hv()
    if var is None and isinstance(ds, xr.Dataset):
        raise ValueError("map() needs var= for a Dataset")
    da = _plot_time(ds[var] if isinstance(ds, xr.Dataset) else ds)
    x, y = _xy(da)
    label = _label(da)
    lon_name = x if is_longitude(da[x]) else y
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
    plot = da.hvplot.quadmesh(x=x, y=y, groupby=groupby or None, cmap=cmap,
                              clabel=display_units(da) or None, title=wrap_title(label, width),
                              width=width, height=height, rasterize=False,
                              xlim=_extent(da[x]), ylim=_extent(da[y]), **kwargs)
    if coastline == "cells":
        plot = plot * _outline(da)
    elif coastline:
        lon, lat = (da[x], da[y]) if lon_name == x else (da[y], da[x])
        plot = plot * coastline_path(np.asarray(lon.values), np.asarray(lat.values))
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
    da = _plot_time(da)
    if cell is not None:
        series = da.sel(dict(cell), method="nearest")
        where = ", ".join(f"{k}={float(series[k]):g}" for k in cell)
    else:
        series = weighted_mean_series(da, region, regions)
        where = region or "global"
    series = series.rename(str(da.name))
    series.attrs = da.attrs
    return series.hvplot.line(x="time", title=wrap_title(f"{_label(da)}, {where}", width),
                              width=width, height=height, ylabel=display_units(da),
                              xlabel="time")


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
                          title=wrap_title(f"{_label(comp)} (mean over cells; band: spread "
                                           "over events)", width),
                          width=width, height=height, xlabel="days since rain",
                          ylabel=f"{flux} [{display_units(comp)}]")
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


def plot_evaluation_summary(table: pd.DataFrame, score: str = "nse", width: int = 800
                            ) -> Any:
    """One heat map of ``score`` from ``evaluate(by="region")``: a row per variable and
    component, a column per region (blank where the score is undefined)."""
    _hv()
    df = table.assign(row=table["variable"] + " · " + table["component"])
    rows = df["row"].nunique()
    return df.hvplot.heatmap(x="region", y="row", C=score, cmap="RdYlBu", clim=(-1, 1),
                             rot=90, width=width, height=120 + 22 * rows, xlabel="region",
                             ylabel="variable · component", clabel=score.upper(),
                             title=wrap_title(f"{score.upper()} of regional monthly series "
                                              "(-1 or less: dark red; 1: perfect)", width))
