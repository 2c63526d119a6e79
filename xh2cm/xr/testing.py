"""Tiny in-memory forcing Datasets and a fake core, for tests of the xarray layer.

Not the demo data (see :mod:`xh2cm.datasets`): just enough structure, in
non-catalog units and names, to exercise discovery, conversion and running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm import catalog

#: Variable name, units and a value generator (in those units) per forcing.
_TOY = {
    "rn": ("rnet", "W m-2", lambda r, s: 20.0 + 150.0 * r.random(s)),
    "prec": ("pr", "kg m-2 s-1", lambda r, s: 4e-5 * r.random(s) ** 3),
    "tair": ("tas", "K", lambda r, s: 268.0 + 30.0 * r.random(s)),
    "vpd": ("vpd", "kPa", lambda r, s: 0.05 + 2.0 * r.random(s)),
}


def toy_forcing(
    sizes: Mapping[str, int] | None = None,
    n_time: int = 40,
    *,
    seed: int = 0,
    static: Sequence[str] = ("clay", "elev"),
    co2: str = "scalar",
    start: str = "2001-01-01",
) -> xr.Dataset:
    """A small daily forcing Dataset in user-style names and units.

    Parameters
    ----------
    sizes : mapping, optional
        Spatial dims and sizes, default ``{"lat": 3, "lon": 4}``. Dims named
        ``lat``/``lon`` get degree coordinates, ``site`` gets string labels,
        others integer coordinates.
    n_time : int
        Number of days.
    seed : int
        Random seed.
    static : sequence of str
        Names of static predictors (float, spatial dims only) to add.
    co2 : {"scalar", "series", "grid"}
        Shape of the co2 variable.
    start : str
        First day.

    Returns
    -------
    xarray.Dataset
        ``rnet`` (W m-2), ``pr`` (kg m-2 s-1), ``tas`` (K), ``vpd`` (kPa),
        ``co2`` (ppm) and the static predictors.
    """
    sizes = {"lat": 3, "lon": 4} if sizes is None else dict(sizes)
    rng = np.random.default_rng(seed)
    dims = ("time", *sizes)
    shape = (n_time, *sizes.values())
    coords: dict[str, xr.DataArray | pd.DatetimeIndex] = {
        "time": pd.date_range(start, periods=n_time, freq="D")
    }
    for d, n in sizes.items():
        if d == "lat":
            coords[d] = xr.DataArray(np.linspace(-30, 50, n), dims=d,
                                     attrs={"units": "degrees_north", "standard_name": "latitude"})
        elif d == "lon":
            coords[d] = xr.DataArray(np.linspace(0, 90, n), dims=d,
                                     attrs={"units": "degrees_east", "standard_name": "longitude"})
        elif d == "site":
            coords[d] = xr.DataArray([f"S{i:02d}" for i in range(n)], dims=d)
        else:
            coords[d] = xr.DataArray(np.arange(n), dims=d)
    ds = xr.Dataset(coords=coords)
    for var, units, gen in _TOY.values():
        ds[var] = (dims, gen(rng, shape), {"units": units})
    if co2 == "scalar":
        ds["co2"] = ((), 400.0, {"units": "ppm"})
    elif co2 == "series":
        ds["co2"] = (("time",), 380.0 + 0.01 * np.arange(n_time), {"units": "ppm"})
    else:
        ds["co2"] = (dims, 380.0 + rng.random(shape), {"units": "ppm"})
    for name in static:
        ds[name] = (tuple(sizes), rng.random(tuple(sizes.values())), {"units": "1"})
    return ds


def fake_simulate(model: Any, forcing: Mapping[str, np.ndarray], static: np.ndarray | None, *,
                  spinup: bool | int = True, initial_state: Mapping[str, np.ndarray] | None = None,
                  return_state: bool = False, tile: int | None = None) -> Any:
    """Cell-wise deterministic stand-in for :func:`xh2cm.core.simulate` (same contract;
    its state is the last day's value of each cell, ignored on input)."""
    for name in catalog.FORCING_NAMES:
        if not np.all(np.isfinite(forcing[name])):
            raise ValueError(f"NaN in {name}")
    nt, nc = forcing["tair"].shape
    base = forcing["tair"] + 0.1 * forcing["prec"] + 0.01 * forcing["rn"] + forcing["vpd"]
    if static is not None:
        assert static.shape == (nc, model.config.n_static)
        base = base + static.sum(axis=1)
    out = {}
    for i, (name, info) in enumerate(catalog.OUTPUTS.items()):
        if info.kind == "dynamic":
            out[name] = base + i
        elif info.kind == "static":
            out[name] = base.mean(axis=0) + i
        else:
            out[name] = np.asarray(float(i))
    if return_state:
        from xh2cm.core.api import STATE_NAMES

        h = model.config.hidden_size
        state = {n: (np.repeat(base[-1][:, None], h, 1) if n.startswith("lstm") else base[-1])
                 for n in STATE_NAMES}
        return out, state
    return out


def fake_global_constants(model: Any) -> dict[str, float]:
    """Stand-in for :func:`xh2cm.core.global_constants`."""
    return {name: float(i) for i, name in enumerate(catalog.GLOBAL_OUTPUTS)}


def fake_model(static_names: Sequence[str] = ()) -> SimpleNamespace:
    """An object with the ``config`` a model has (for :func:`fake_simulate`)."""
    config = SimpleNamespace(
        static_names=tuple(static_names),
        n_static=len(static_names),
        hidden_size=2,
        to_dict=lambda: {"static_names": list(static_names)},
    )
    return SimpleNamespace(config=config)


# ---- files in the conventions of real data sets (issue 20) ----------------------------------
# Each takes forcing in the model's units and names (e.g. xh2cm.datasets.synthetic_forcing)
# and writes the same weather with the names, units, attributes, calendars and flaws of one
# convention, so that a test can check that xh2cm reads the file back to the same forcing.


def _bare(da: xr.DataArray, **attrs: Any) -> xr.DataArray:
    """``da`` as float32 with exactly ``attrs`` (nothing from the model-unit data)."""
    out = da.astype(np.float32)
    out.attrs = dict(attrs)
    return out


def _static(ds: xr.Dataset) -> xr.Dataset:
    """The static predictors of ``ds`` (marked ``xh2cm_role: static``)."""
    return ds[[k for k, v in ds.data_vars.items() if v.attrs.get("xh2cm_role") == "static"]]


def _dewpoint_c(tair: xr.DataArray, vpd: xr.DataArray) -> xr.DataArray:
    from xh2cm.humidity import saturation_vapour_pressure

    x = np.log((saturation_vapour_pressure(tair) - vpd) / 6.112)
    return 243.5 * x / (17.67 - x)  # Bolton (1980) inverted, as xh2cm.humidity


def era5_cds(ds: xr.Dataset) -> xr.Dataset:
    """ERA5 daily statistics as today's Climate Data Store writes them (netCDF4, 2024 on):
    ``valid_time`` (``standard_name: time``), ``latitude`` north to south, ``longitude``,
    a ``number`` coordinate; ``t2m``/``d2m`` in K with ``standard_name: unknown`` (as the
    CDS writes for many parameters), ``tp`` in m with ``time: sum`` and its negative
    noise (about -4.5e-8 m), ``ssr``/``str`` in J m**-2 with ``time: sum``; the land-sea
    mask ``lsm`` (``(0 - 1)``) on its own single time step."""
    sw_net = ds.rn + 60.0
    tp = ds.prec / 1000.0
    tp = tp.where(tp > 0, -4.5e-8)  # ERA5's negative accumulations on dry days
    out = xr.Dataset({
        "t2m": _bare(ds.tair + 273.15, units="K", long_name="2 metre temperature",
                     standard_name="unknown", GRIB_shortName="2t"),
        "d2m": _bare(_dewpoint_c(ds.tair, ds.vpd) + 273.15, units="K",
                     long_name="2 metre dewpoint temperature", standard_name="unknown",
                     GRIB_shortName="2d"),
        "tp": _bare(tp, units="m", long_name="Total precipitation", standard_name="unknown",
                    cell_methods="valid_time: sum", GRIB_shortName="tp"),
        "ssr": _bare(sw_net * 86400.0, units="J m**-2",
                     long_name="Surface net short-wave (solar) radiation",
                     standard_name="unknown", cell_methods="valid_time: sum"),
        "str": _bare(xr.full_like(ds.rn, -60.0 * 86400.0), units="J m**-2",
                     long_name="Surface net long-wave (thermal) radiation",
                     standard_name="unknown", cell_methods="valid_time: sum"),
    })
    out = out.merge(_static(ds))
    out = out.rename(time="valid_time", lat="latitude", lon="longitude")
    out["valid_time"].attrs = {"standard_name": "time", "long_name": "time"}
    out = out.assign_coords(number=0)
    lsm = ds.land_mask.astype(np.float32).rename(lat="latitude", lon="longitude")
    out["lsm"] = lsm.expand_dims(valid_time_lsm=1).pipe(_bare, units="(0 - 1)",
                                                        long_name="Land-sea mask")
    out.attrs = {"GRIB_centre": "ecmf", "Conventions": "CF-1.7",
                 "institution": "European Centre for Medium-Range Weather Forecasts"}
    return out.isel(latitude=slice(None, None, -1))


def cmip6_day(ds: xr.Dataset) -> xr.Dataset:
    """A CMIP6 ``day`` table file on a ``noleap`` calendar: ``tas``, ``tasmax``, ``tasmin``
    (one standard name, told apart by ``cell_methods``), ``pr`` (kg m-2 s-1), ``hurs``
    with an empty ``units`` string, ``rsds``, ``rsus``, ``rlus``, ``rls`` and ``rlds`` both
    labelled ``surface_net_downward_longwave_flux`` (as in the file of issue 20), and
    ``sftlf`` in %. ``ds`` must not contain a 29 February."""
    from xh2cm.humidity import saturation_vapour_pressure

    es = saturation_vapour_pressure(ds.tair)
    t = ds.tair + 273.15
    net = "surface_net_downward_longwave_flux"
    area = "area: mean where land time: "
    out = xr.Dataset({
        "tas": _bare(t, units="K", standard_name="air_temperature", cell_methods=area + "mean"),
        "tasmax": _bare(t + 6.0, units="K", standard_name="air_temperature",
                        cell_methods=area + "maximum"),
        "tasmin": _bare(t - 6.0, units="K", standard_name="air_temperature",
                        cell_methods=area + "minimum"),
        "pr": _bare(ds.prec / 86400.0, units="kg m-2 s-1", standard_name="precipitation_flux",
                    cell_methods=area + "mean"),
        "hurs": _bare(100.0 * (1 - ds.vpd / es), units="", standard_name="relative_humidity",
                      cell_methods=area + "mean"),
        "rsds": _bare(ds.rn + 250.0, units="W m-2",
                      standard_name="surface_downwelling_shortwave_flux_in_air"),
        "rsus": _bare(xr.full_like(ds.rn, 40.0), units="W m-2",
                      standard_name="surface_upwelling_shortwave_flux_in_air"),
        "rlds": _bare(xr.full_like(ds.rn, 300.0), units="W m-2", standard_name=net),
        "rlus": _bare(xr.full_like(ds.rn, 510.0), units="W m-2",
                      standard_name="surface_upwelling_longwave_flux_in_air"),
        "rls": _bare(xr.full_like(ds.rn, -210.0), units="W m-2", standard_name=net),
        "sftlf": _bare(100.0 * ds.land_mask, units="%", standard_name="land_area_fraction"),
    })
    out["tas"] = out["tas"].assign_coords(height=2.0)
    out = out.merge(_static(ds))
    t0 = pd.DatetimeIndex(ds.time.values)
    if ((t0.month == 2) & (t0.day == 29)).any():
        raise ValueError("cmip6_day: ds has 29 February; a noleap calendar has none")
    out["time"] = xr.date_range(str(t0[0].date()), periods=t0.size, freq="D",
                                calendar="noleap", use_cftime=True)
    out.attrs = {"mip_era": "CMIP6", "table_id": "day", "frequency": "day",
                 "Conventions": "CF-1.7 CMIP-6.2"}
    return out


def fluxnet_era5_dd(ds: xr.Dataset, path: str | Any, cell: Mapping[str, int] | None = None
                    ) -> Any:
    """An AmeriFlux/FLUXNET (ONEFlux) ``ERA5_DD`` CSV at one cell of ``ds`` (``TIMESTAMP``,
    ``TA_ERA`` degC, ``SW_IN_ERA``/``LW_IN_ERA`` incoming only, ``VPD_ERA`` hPa, ``PA_ERA``
    kPa, ``P_ERA`` mm, ``WS_ERA``; -9999 for missing), under the product's file name in
    the folder ``path``; returns the file's path."""
    from pathlib import Path

    cell = dict(cell or {"lat": int(ds.sizes["lat"]) // 2, "lon": int(ds.sizes["lon"]) // 2})
    at = ds.isel(cell)
    tk = at.tair + 273.15
    lw_in = 0.8 * 5.670374419e-8 * tk**4  # a clear-ish sky's emission
    # incoming shortwave such that the estimate of xh2cm.cf.derive gives back rn
    sw_in = (at.rn - 0.98 * lw_in + 0.98 * 5.670374419e-8 * tk**4) / (1 - 0.23)
    t = pd.DatetimeIndex(at.time.values)
    table = pd.DataFrame({
        "TIMESTAMP": t.strftime("%Y%m%d"), "TA_ERA": at.tair.values,
        "TA_ERA_NIGHT": at.tair.values - 4, "TA_ERA_NIGHT_SD": 3.0,
        "TA_ERA_DAY": at.tair.values + 3, "TA_ERA_DAY_SD": 4.0, "SW_IN_ERA": sw_in.values,
        "LW_IN_ERA": lw_in.values, "VPD_ERA": at.vpd.values, "PA_ERA": 85.0,
        "P_ERA": at.prec.values, "WS_ERA": 2.4})
    name = f"AMF_XX-Syn_FLUXNET_ERA5_DD_{t[0].year}-{t[-1].year}_3-5.csv"
    out = Path(path) / name
    table.round(3).fillna(-9999).to_csv(out, index=False)
    return out
