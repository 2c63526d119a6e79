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

Output with a ``member`` dimension (a run of an ensemble) gets ensemble-mean maps with
the spread (standard deviation over the members) beside them, budgets as mean ± standard
deviation of the members' regional totals, the other diagnostics per member then averaged,
and scores of the ensemble mean; the page says so, and names an out-of-fold run.
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
from xh2cm.analysis.members import MEMBER, spread
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
#: Fluxes of the regional budget table, when present.
FLUXES = ("gpp", "ra", "rh", "nee", "et", "q")


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
    from bokeh.layouts import column, row
    from bokeh.models import LayoutDOM, Plot
    from bokeh.models.widgets.markups import Div
    from bokeh.resources import INLINE

    n = _n_members(ds)
    note = _ensemble_note(ds, n, obs is not None)
    head = f"<h1>{html.escape(title)}</h1><p>{_summary(ds)}</p>{note}"
    items: list[Any] = [Div(text=head, width=1000) if note else Div(text=head)]
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
            items.append(obj if isinstance(obj, LayoutDOM) else hv.render(obj, backend="bokeh"))

    def time_mean(var: str) -> Callable[[], Any]:
        if not n:
            return lambda: map_plot(ds[var].mean("time", keep_attrs=True))
        return lambda: row(*(hv.render(map_plot(da), backend="bokeh")
                             for da in _mean_and_spread(ds[var], n)))

    def avg(result: xr.Dataset) -> xr.Dataset:  # the ensemble mean (else ``result``)
        return result.mean(MEMBER, keep_attrs=True) if n and MEMBER in result.dims else result

    def each(diagnostic: Callable[[xr.Dataset], xr.Dataset]) -> xr.Dataset:
        """The diagnostic of each member, then their mean (of the run if one model)."""
        if not n:
            return diagnostic(ds)
        return avg(xr.concat([diagnostic(ds.isel({MEMBER: i})) for i in range(n)], MEMBER))

    of = f", mean over the {n} members" if n else ""
    for var in [v for v in MAPPED if v in ds.data_vars]:
        section(f"Map: {var}, mean over the run" + (
            f": ensemble mean and spread (standard deviation over {n} members)" if n else ""),
            time_mean(var))
    if "nee" in ds.data_vars:
        section("NEE, global land mean" + (" (ensemble mean)" if n else ""),
                lambda: timeseries(avg(ds[["nee"]]), "nee"))
    section("Regional budgets (mean over the run" + (
        f"; mean ± standard deviation over {n} members)" if n else ")"),
            lambda: _table(_budget_table(ds, regions_)))
    section("Precipitation-use efficiency" + of, lambda: plot_efficiency(
        each(lambda d: efficiency.pue(d, forcing=forcing))))
    section("Light-use efficiency" + of, lambda: plot_efficiency(
        each(lambda d: efficiency.lue(d, forcing=forcing))))
    section("Water-use efficiency" + of, lambda: plot_efficiency(
        each(lambda d: efficiency.wue(d, forcing=forcing))))
    section("Water-carbon coupling (regional anomalies, lag 0)" + of, lambda: plot_coupling(
        each(lambda d: coupling.water_carbon_coupling(d, forcing=forcing, scale=regions_,
                                                      lags=(0,)))))
    section("Rain-pulse respiration" + of, lambda: plot_rain_pulse(
        each(lambda d: pulse.rain_pulse(d, forcing=forcing))))
    if obs is not None:
        section("Evaluation against observations (NSE, monthly)" + (
            f"; scores of the ensemble mean of {n} members" if n else ""),
                lambda: _evaluation(evaluate(avg(ds), obs, by="region", regions=regions_)))
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


def _n_members(ds: xr.Dataset) -> int:
    """Members of an ensemble run: the size of ``member`` if a mapped variable has it (not
    an out-of-fold run, where only the global constants do), else 0."""
    if any(MEMBER in ds[v].dims for v in (*MAPPED, *FLUXES) if v in ds.data_vars):
        return int(ds.sizes[MEMBER])
    return 0


def _ensemble_note(ds: xr.Dataset, n: int, scored: bool) -> str:
    """What an ensemble report shows (empty for one model's run)."""
    if "out of fold" in str(ds.attrs.get("xh2cm_prediction", "")):
        return ("<p>Out-of-fold prediction of an ensemble: each cell simulated by the member "
                "that held it out (never saw it in training or validation)"
                + ("; the scores are of these predictions." if scored else ".") + "</p>")
    if not n:
        return ""
    scores = (" Scores are of the ensemble mean; they include cells each member trained "
              "on (run out_of_fold=True for out-of-sample skill).") if scored else ""
    return (f"<p>Ensemble of {n} members ({html.escape(', '.join(map(str, ds[MEMBER].values)))}"
            "): maps show the ensemble mean and, beside it, the spread (standard deviation "
            "over the members, ddof 1); budgets are the mean ± standard deviation of the "
            f"members' regional totals.{scores}</p>")


def _mean_and_spread(da: xr.DataArray, n: int) -> tuple[xr.DataArray, xr.DataArray]:
    """Ensemble mean and spread (std over members) of the members' means over the run."""
    s = spread(da.mean("time", keep_attrs=True).to_dataset(name=str(da.name)))[da.name]
    mean, std = s.sel(statistic="mean", drop=True), s.sel(statistic="std", drop=True)
    name = da.attrs.get("long_name", da.name)
    mean.attrs = {**da.attrs, "long_name": f"{name}, ensemble mean of {n} members"}
    std.attrs = {**da.attrs, "long_name": f"{name}, standard deviation over {n} members"}
    return mean, std


def _budget_table(ds: xr.Dataset, regions_: regions.RegionsArg) -> Any:
    fluxes = [v for v in FLUXES if v in ds.data_vars]
    budget = regions.regional(ds[fluxes], regions_, how="sum").mean("time", keep_attrs=True)
    units = {v: budget[v].attrs.get("units_label", budget[v].attrs["units"]) for v in fluxes}
    if _n_members(ds):  # the members' regional totals: mean ± std
        s = spread(budget[fluxes])
        df = s.sel(statistic="mean", drop=True).to_dataframe()
        std = s.sel(statistic="std", drop=True).to_dataframe()
        for v in fluxes:
            df[v] = [None if m != m else f"{m:.3f} ± {d:.3f}"
                     for m, d in zip(df[v], std[v], strict=True)]
        area = budget["area"]
        df["area"] = (area.isel({MEMBER: 0}, drop=True) if MEMBER in area.dims
                      else area).to_series()
        df = df.reset_index()
    else:
        df = budget.to_dataframe().reset_index()
    df = df.rename(columns={v: f"{v} [{units[v]}]" for v in fluxes})
    df["area [1e6 km2]"] = df.pop("area") / 1e12
    return df.round(3)
