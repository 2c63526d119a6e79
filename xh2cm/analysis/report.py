"""One self-contained HTML report of a run: maps, regional budgets, diagnostics and,
with observations, the evaluation table.

The file is one static bokeh document with bokeh's JavaScript and styles
inlined (``resources=INLINE``), so it opens with no network and no Python
server; maps show the mean over the run (the notebook functions of
:mod:`xh2cm.analysis.plots` add the selectors) with the shipped Natural Earth
coastline. Titles wrap instead of being cut, carbon is labelled as carbon
(``gC m-2 d-1``, ``PgC yr-1``), regions without a cell with data are blank, and the
evaluation is one summary heat map (NSE per variable, component and region) with the
full score table attached as CSV inside the page (a ``data:`` link).
A diagnostic the data cannot support (e.g. LUE without shortwave radiation)
is listed with the reason instead of being left out silently.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable
from typing import Any, Literal

import pandas as pd
import xarray as xr

from xh2cm.analysis import coupling, efficiency, pulse, regions
from xh2cm.analysis.evaluate import evaluate
from xh2cm.analysis.plots import (
    map_plot,
    plot_coupling,
    plot_efficiency,
    plot_evaluation_summary,
    plot_rain_pulse,
    timeseries,
)

#: Variables mapped in the report, when present.
MAPPED = ("gpp", "nee", "et", "q", "tws", "sm")


def report(path: str | os.PathLike, ds: xr.Dataset, *, obs: xr.Dataset | None = None,
           forcing: xr.Dataset | None = None, regions_: regions.RegionsArg = "srex",
           title: str = "xh2cm run report",
           backend: Literal["canvas", "webgl", "svg"] = "canvas") -> str:
    """Write a self-contained HTML report of ``ds`` (model output) to ``path``.

    Parameters
    ----------
    path : path
        The HTML file to write.
    ds : xarray.Dataset
        Model output on a latitude–longitude grid.
    obs : xarray.Dataset, optional
        Observations; adds the evaluation (per region, monthly).
    forcing : xarray.Dataset, optional
        The run's forcing (precipitation, VPD, shortwave) for PUE, LUE, WUE,
        coupling with precipitation and the rain-pulse composite.
    regions_ : str, regionmask.Regions or DataArray
        Region set of the budgets and the evaluation (offline default ``"srex"``).
    title : str
    backend : {"canvas", "webgl", "svg"}
        How the figures are drawn: canvas (default), WebGL or SVG (vector graphics,
        text as text; what the browser test measures).

    Returns
    -------
    str
        The path written.
    """
    import holoviews as hv
    from bokeh.embed import file_html
    from bokeh.layouts import column
    from bokeh.models import Plot
    from bokeh.models.widgets.markups import Div
    from bokeh.resources import INLINE

    items: list[Any] = [Div(text=f"<h1>{html.escape(title)}</h1><p>{_summary(ds)}</p>")]
    missing: list[str] = []

    def section(name: str, build: Callable[[], Any]) -> None:
        try:
            obj = build()
        except (KeyError, ValueError) as err:
            missing.append(f"<li><b>{html.escape(name)}</b>: not available: "
                           f"{html.escape(str(err.args[0]))}</li>")
            return
        items.append(Div(text=f"<h2>{html.escape(name)}</h2>"))
        if isinstance(obj, list):
            items.extend(obj)
        else:
            items.append(obj if isinstance(obj, Div) else hv.render(obj, backend="bokeh"))

    def time_mean(var: str) -> Callable[[], Any]:
        return lambda: map_plot(ds[var].mean("time", keep_attrs=True))

    for var in [v for v in MAPPED if v in ds.data_vars]:
        section(f"Map: {var}, mean over the run", time_mean(var))
    if "nee" in ds.data_vars:
        section("NEE, global land mean", lambda: timeseries(ds, "nee"))
    section("Regional budgets (mean over the run)",
            lambda: _table(_budget_table(ds, regions_)))
    section("Precipitation-use efficiency",
            lambda: plot_efficiency(efficiency.pue(ds, forcing=forcing)))
    section("Light-use efficiency",
            lambda: plot_efficiency(efficiency.lue(ds, forcing=forcing)))
    section("Water-use efficiency",
            lambda: plot_efficiency(efficiency.wue(ds, forcing=forcing)))
    section("Water-carbon coupling (regional anomalies, lag 0)", lambda: plot_coupling(
        coupling.water_carbon_coupling(ds, forcing=forcing, scale=regions_, lags=(0,))))
    section("Rain-pulse respiration", lambda: plot_rain_pulse(
        pulse.rain_pulse(ds, forcing=forcing)))
    if obs is not None:
        section("Evaluation against observations (NSE, monthly)",
                lambda: _evaluation(evaluate(ds, obs, by="region", regions=regions_)))
    if missing:
        items.append(Div(text="<h2>Not shown</h2><ul>" + "".join(missing) + "</ul>",
                         width=1000, styles={"overflow-wrap": "anywhere"}))
    page_model = column(*items)
    for plot in page_model.select({"type": Plot}):
        if isinstance(plot, Plot):
            plot.output_backend = backend
    page = file_html(page_model, INLINE, title=title)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(page)
    return str(path)


def _table(df: pd.DataFrame) -> Any:
    from bokeh.models.widgets.markups import Div

    return Div(text=df.to_html(index=False, border=0, na_rep=""))


def _evaluation(table: pd.DataFrame) -> list[Any]:
    """The summary heat map and a link to the full score table (CSV in a data: URI)."""
    import holoviews as hv
    from bokeh.models.widgets.markups import Div

    csv = table.to_csv(index=False, float_format="%.6g")
    uri = "data:text/csv;base64," + base64.b64encode(csv.encode()).decode()
    matched = table.attrs.get("matched", {})
    counts = "; ".join(f"{v}: {m['cells']} cells, {m['values']} values"
                       for v, m in matched.items())
    link = Div(text=f'<p>Paired with the observations: {html.escape(counts)}. '
                    f'<a download="xh2cm_scores.csv" href="{uri}">Full score table (CSV, '
                    f'{len(table)} rows: NSE, KGE, r, α, β, RMSE, bias, n per variable, '
                    f'region and component)</a>. KGE is left blank where the observed mean '
                    f'is near zero (anomalies).</p>', width=800)
    return [hv.render(plot_evaluation_summary(table), backend="bokeh"), link]


def _summary(ds: xr.Dataset) -> str:
    dims = ", ".join(f"{k}={v}" for k, v in ds.sizes.items())
    t = ds["time"].values if "time" in ds.dims else None
    span = f"{str(t[0])[:10]} .. {str(t[-1])[:10]}" if t is not None else "no time axis"
    source = html.escape(str(ds.attrs.get("source", "unknown")))
    return f"Grid: {html.escape(dims)}; period: {span}; source: {source}."


def _budget_table(ds: xr.Dataset, regions_: regions.RegionsArg) -> Any:
    fluxes = [v for v in ("gpp", "ra", "rh", "nee", "et", "q") if v in ds.data_vars]
    budget = regions.regional(ds[fluxes], regions_, how="sum").mean("time", keep_attrs=True)
    df = budget.to_dataframe().reset_index()
    units = {v: budget[v].attrs.get("units_label", budget[v].attrs["units"]) for v in fluxes}
    df = df.rename(columns={v: f"{v} [{units[v]}]" for v in fluxes})
    df["area [1e6 km2]"] = df.pop("area") / 1e12
    return df.round(3)
