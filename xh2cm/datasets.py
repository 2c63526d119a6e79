"""Embedded demo data: synthetic forcing and a "truth" model for twin experiments.

Everything here is generated deterministically from a seed with numpy and
xarray only (no downloads). The synthetic climate is crude but physically
shaped, so that the hybrid model has something meaningful to respond to:

* a smooth random "world" (continents, elevation, soils, monsoon and wetness
  fields) defined as a sum of random plane waves on the unit sphere, so it can
  be evaluated at grid cells and at arbitrary sites alike;
* daily weather: top-of-atmosphere insolation with clouds and snow albedo
  (``rn``), a wet/dry Markov chain with gamma amounts and rare storms
  (``prec``, with a moving ITCZ, monsoons, storm tracks and a subtropical
  desert belt), seasonal and latitudinal air temperature with AR(1) noise
  (``tair``), a vapour pressure deficit consistent with ``tair`` and a
  humidity that follows wetness (``vpd``), and a global CO2 series (``co2``).

Public API
----------
:func:`synthetic_forcing`
    Gridded (time, lat, lon) forcing + land mask + static predictors.
:func:`synthetic_sites`
    The same generator sampled at a few sites, on (time, site).
:data:`TRUTH_CONSTANTS`, :func:`truth_model`, :func:`truth_run`
    A model with known global constants and its outputs, for twin
    experiments and the demo.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from xh2cm._version import __version__
from xh2cm.catalog import FORCING
from xh2cm.co2 import global_co2  # noqa: F401  (the shipped NOAA series, co2="global")
from xh2cm.humidity import saturation_vapour_pressure

if TYPE_CHECKING:  # pragma: no cover
    from xh2cm.core import H2CM  # noqa: F401  (JAX is imported lazily)

__all__ = [
    "STATIC_ROLE",
    "TRUTH_CONSTANTS",
    "TRUTH_HEAD_BIASES",
    "static_names",
    "synthetic_forcing",
    "synthetic_sites",
    "truth_model",
    "truth_run",
]

#: Value of ``attrs["xh2cm_role"]`` that marks a static predictor.
STATIC_ROLE = "static"

#: Global constants of the truth model (physical values).
TRUTH_CONSTANTS: dict[str, float] = {
    "beta_snow": 0.9,
    "beta_base": 0.01,
    "q10": 2.0,
    "beta_co2": 0.0018,
}

#: Output-head biases of the truth model (physical values, set with
#: :func:`xh2cm.core.set_head_bias`: the value a parameter takes where the rest
#: of its head's pre-activation is zero, i.e. roughly its typical level). With
#: random weights alone the model is far too unproductive (global GPP ~0.15
#: gC m-2 d-1: WUE ~0.6 g kg-1) and too runoff-heavy (sm_max ~100 mm); these
#: levels give, on the default synthetic forcing, area-weighted global means
#: GPP ~2.2 gC m-2 d-1, NEE ~ -0.1 gC m-2 d-1 (a small sink), ET ~1.5 mm d-1 and
#: runoff ~1.4 mm d-1, while the networks keep their random spatial and
#: temporal variation.
TRUTH_HEAD_BIASES: dict[str, float] = {
    "wue": 5.0,  # g kg-1; times co2 * beta_co2 (~0.67) gives GPP/T ~3.4 gC per kg H2O
    "alpha_t": 0.7,
    "sm_max": 250.0,  # mm
    "alpha_soil": 0.7,
    "alpha_melt": 3.0,  # mm d-1 K-1, a typical degree-day factor
    "rb": 0.8,  # gC m-2 d-1 at 15 degC: heterotrophic respiration ~ NPP
}

# Latitude span of the synthetic grid (cell edges, degrees north).
_LAT_SOUTH, _LAT_NORTH = -60.0, 75.0

# Stream ids for np.random.default_rng([seed, stream]).
_WORLD, _WEATHER, _SITES = 0, 1, 2

_STATIC_ATTRS: dict[str, dict[str, str]] = {
    "clay_fraction": {"units": "1", "long_name": "clay fraction of the topsoil"},
    "sand_fraction": {"units": "1", "long_name": "sand fraction of the topsoil"},
    "elevation": {"units": "m", "long_name": "surface elevation above sea level",
                  "standard_name": "surface_altitude"},
    "tree_cover": {"units": "1", "long_name": "tree cover fraction",
                   "standard_name": "area_fraction"},
    "mean_annual_precip": {"units": "mm yr-1", "long_name": "mean annual precipitation"},
    "mean_annual_tair": {"units": "degC", "long_name": "mean annual air temperature"},
}


# --------------------------------------------------------------------------- world


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere, shape (..., 3)."""
    la, lo = np.deg2rad(lat), np.deg2rad(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def _smooth_field(
    rng: np.random.Generator, xyz: np.ndarray, scale: float, n_waves: int = 48
) -> np.ndarray:
    """Smooth random field of unit variance on the sphere.

    A sum of ``n_waves`` random plane waves ``cos(w . x + phi)`` with
    wave vectors ``w ~ N(0, scale^2 I)``; larger ``scale`` = smaller features.
    Seamless across the date line and defined at any point.
    """
    w = rng.normal(0.0, scale, size=(n_waves, 3))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=n_waves)
    return np.sqrt(2.0 / n_waves) * np.cos(xyz @ w.T + phase).sum(axis=-1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _world(lat: np.ndarray, lon: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Time-invariant fields of the synthetic world at points ``(lat, lon)``.

    The same seed gives the same world wherever it is sampled (grid or sites).
    """
    rng = np.random.default_rng([seed, _WORLD])
    xyz = _unit_vectors(lat, lon)
    f = {k: _smooth_field(rng, xyz, s) for k, s in [
        ("land", 2.5), ("monsoon", 3.0), ("wet", 3.5), ("cont", 2.0),
        ("elev", 4.0), ("elev2", 6.0), ("clay", 5.0), ("sand", 5.0),
    ]}
    # More land in the northern hemisphere, as on Earth.
    land = f["land"] + 0.6 * np.sin(np.deg2rad(lat))
    mountains = np.maximum(f["elev2"] - 0.8, 0.0) ** 1.5
    # cell means (coarse grid): high plateaus up to ~3.5 km, no permanent tropical glaciers
    elevation = 3500.0 * np.tanh(np.clip(300.0 + 400.0 * f["elev"] + 1200.0 * mountains, 0.0, None)
                                 / 3500.0)
    clay = 0.05 + 0.45 * _sigmoid(1.2 * f["clay"] - 0.5)
    sand = (1.0 - clay) * (0.1 + 0.8 * _sigmoid(1.2 * f["sand"]))
    return {
        "land": land,
        "monsoon": _sigmoid(1.5 * f["monsoon"]),  # 0..1: strength of the monsoon regime
        "wet": np.exp(0.3 * f["wet"]),  # multiplicative wetness anomaly
        "cont": 1.0 + 0.35 * np.tanh(f["cont"]),  # continentality 0.65..1.35
        "elevation": elevation,
        "clay_fraction": clay,
        "sand_fraction": sand,
    }


# ------------------------------------------------------------------------- weather


def _toa_insolation(lat: np.ndarray, doy: np.ndarray) -> np.ndarray:
    """Daily-mean top-of-atmosphere insolation (W m-2), shape (time, cell)."""
    phi = np.deg2rad(lat)[None, :]
    g = 2.0 * np.pi * doy[:, None] / 365.25
    decl = np.deg2rad(23.44) * np.sin(g - 2.0 * np.pi * 81.0 / 365.25)
    dr = 1.0 + 0.033 * np.cos(g)
    h0 = np.arccos(np.clip(-np.tan(phi) * np.tan(decl), -1.0, 1.0))
    return 1361.0 / np.pi * dr * (
        h0 * np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.sin(h0)
    )


def _co2_series(time: pd.DatetimeIndex) -> np.ndarray:
    """Global CO2 (ppm): ~370 ppm in 2001, +2 ppm yr-1, small seasonal cycle peaking in May."""
    year = time.year + (time.day_of_year - 0.5) / 365.25
    doy = time.day_of_year.to_numpy()
    return 370.0 + 2.0 * (year.to_numpy() - 2001.0) + 3.0 * np.cos(
        2.0 * np.pi * (doy - 135.0) / 365.25
    )


def _weather(
    lat: np.ndarray, world: Mapping[str, np.ndarray], time: pd.DatetimeIndex, seed: int
) -> dict[str, np.ndarray]:
    """Daily forcing (time, cell) at the given points; float64."""
    rng = np.random.default_rng([seed, _WEATHER])
    nt, nc = len(time), lat.size
    doy = time.day_of_year.to_numpy().astype(float)
    season = 2.0 * np.pi * doy[:, None] / 365.25  # (time, 1)
    alat = np.abs(lat)[None, :]
    s2 = np.sin(np.deg2rad(lat)) ** 2

    # --- precipitation climatology (mm d-1), (time, cell)
    mon = world["monsoon"][None, :]
    itcz = 4.0 + (8.0 + 12.0 * mon) * np.sin(season - 2.0 * np.pi * 110.0 / 365.25)
    tropics = 9.0 * np.exp(-(((lat[None, :] - itcz) / 10.0) ** 2))
    # storm tracks, wetter in the local winter
    winter = np.cos(season - 2.0 * np.pi * 15.0 / 365.25) * np.sign(lat)[None, :]
    storms = 2.6 * np.exp(-(((alat - 50.0) / 14.0) ** 2)) * (1.0 + 0.3 * winter)
    desert = 1.0 - 0.95 * (1.0 - mon) * np.exp(-(((alat - 25.0) / 7.0) ** 2))
    p_clim = (0.35 + tropics + storms) * desert * world["wet"][None, :]
    p_clim = np.clip(p_clim, 0.03, 14.0)

    # --- wet/dry Markov chain with persistence r: stationary P(wet) = p_wet
    p_wet = np.clip(p_clim / (p_clim + 4.0), 0.02, 0.9)
    r = 0.5
    p01 = p_wet * (1.0 - r)  # P(wet | dry yesterday)
    p11 = p_wet + r * (1.0 - p_wet)  # P(wet | wet yesterday)
    u = rng.random((nt, nc))
    # AR(1) noise for temperature (synoptic, phi=0.7) and humidity (phi=0.5)
    e_t = rng.standard_normal((nt, nc))
    e_h = rng.standard_normal((nt, nc))
    a_t, a_h = 0.7, 0.5
    c_t, c_h = np.sqrt(1.0 - a_t**2), np.sqrt(1.0 - a_h**2)
    wet = np.empty((nt, nc), dtype=bool)
    n_t = np.empty((nt, nc))
    n_h = np.empty((nt, nc))
    w_prev = u[0] < p_wet[0]
    t_prev, h_prev = e_t[0], e_h[0]
    wet[0], n_t[0], n_h[0] = w_prev, t_prev, h_prev
    for t in range(1, nt):  # cheap: a handful of (cell,) ops per day
        w_prev = u[t] < np.where(w_prev, p11[t], p01[t])
        t_prev = a_t * t_prev + c_t * e_t[t]
        h_prev = a_h * h_prev + c_h * e_h[t]
        wet[t], n_t[t], n_h[t] = w_prev, t_prev, h_prev

    # amounts: gamma (shape 0.75) around the wet-day mean, rare storms x3
    k = 0.75
    storm = np.where(rng.random((nt, nc)) < 0.02, 3.0, 1.0) / 1.04
    amount = rng.gamma(k, 1.0, size=(nt, nc)) * (p_clim / p_wet / k) * storm
    prec = np.where(wet, amount, 0.0)

    # --- air temperature (degC)
    t_mean = 27.0 - 30.0 * s2 - 10.0 * s2**2 - 0.0065 * world["elevation"]
    hemi = np.where(lat >= 0, 1.0, 0.6)  # oceanic southern hemisphere: milder seasons
    amp = (1.0 + 18.0 * np.abs(np.sin(np.deg2rad(lat))) ** 1.5 * world["cont"]) * hemi
    cycle = np.tanh(lat / 10.0)[None, :] * np.cos(season - 2.0 * np.pi * 200.0 / 365.25)
    sigma_t = 1.0 + 3.0 * np.abs(np.sin(np.deg2rad(lat)))
    tair = t_mean[None, :] + amp[None, :] * cycle + sigma_t[None, :] * n_t - 1.0 * wet

    # --- humidity, clouds, vapour pressure deficit (hPa)
    wetness = p_clim / (p_clim + 2.0)
    rh = np.clip(0.25 + 0.55 * wetness + 0.12 * wet + 0.06 * n_h, 0.08, 0.97)
    vpd = saturation_vapour_pressure(tair) * (1.0 - rh)
    cloud = np.clip(
        0.2 + 0.45 * wet + 0.3 * wetness + 0.1 * rng.standard_normal((nt, nc)), 0.0, 1.0
    )

    # --- net radiation (W m-2): absorbed shortwave minus net longwave loss
    snow_albedo = 0.5 * _sigmoid(-tair / 1.5)
    albedo = 0.12 + 0.15 * (1.0 - wetness) + snow_albedo
    sw = (1.0 - albedo) * _toa_insolation(lat, doy) * (0.75 - 0.45 * cloud)
    lw = (20.0 + 55.0 * (1.0 - cloud) * (1.0 - 0.5 * rh)) * np.clip((tair + 40.0) / 50.0, 0.3, 1.2)
    rn = sw - lw  # slightly negative in polar night

    return {"rn": rn, "prec": prec, "tair": tair, "vpd": vpd}


def _time_axis(start: str, years: int) -> pd.DatetimeIndex:
    t0 = pd.Timestamp(start)
    return pd.date_range(t0, t0 + pd.DateOffset(years=years) - pd.Timedelta(days=1), freq="D")


def _statics(world: Mapping[str, np.ndarray], met: Mapping[str, np.ndarray]) -> dict:
    """Static predictors (cell,) from the world fields and the generated weather."""
    map_ = met["prec"].mean(axis=0) * 365.25
    mat = met["tair"].mean(axis=0)
    tree = 0.9 * _sigmoid((map_ - 600.0) / 200.0) * _sigmoid((mat + 5.0) / 3.0)
    return {
        "clay_fraction": world["clay_fraction"],
        "sand_fraction": world["sand_fraction"],
        "elevation": world["elevation"],
        "tree_cover": tree,
        "mean_annual_precip": map_,
        "mean_annual_tair": mat,
    }


def _attrs_for(name: str) -> dict[str, Any]:
    if name in FORCING:
        return FORCING[name].attrs()
    return {**_STATIC_ATTRS[name], "xh2cm_role": STATIC_ROLE}


def _global_attrs(kind: str, seed: int) -> dict[str, Any]:
    return {
        "title": f"xh2cm synthetic {kind} forcing",
        "source": f"xh2cm.datasets (xh2cm {__version__}): deterministic synthetic climate",
        "Conventions": "CF-1.8",
        "seed": seed,
        "comment": "Synthetic data for demos and tests; not an observation.",
    }


# -------------------------------------------------------------------------- public


def synthetic_forcing(
    n_lat: int = 20,
    n_lon: int = 40,
    years: int = 5,
    start: str = "2001-01-01",
    seed: int = 0,
    land_fraction: float = 0.6,
    weather_seed: int | None = None,
) -> xr.Dataset:
    """Gridded synthetic daily forcing, land mask and static predictors.

    Parameters
    ----------
    n_lat, n_lon : int
        Grid size. Cell centres span 60°S–75°N and 180°W–180°E regularly.
    years : int
        Number of years of daily data from ``start``.
    start : str
        First day (anything :class:`pandas.Timestamp` accepts).
    seed : int
        Random seed; the same arguments give an identical dataset.
    land_fraction : float
        Fraction of grid cells that are land (at least one cell is land).
    weather_seed : int, optional
        Seed of the daily weather alone (default ``seed``): the same world (land, static
        predictors, climate) with other weather, e.g. one year at a time of a long series
        (statics are derived from the weather, so they differ slightly between seeds;
        take them from one of the pieces).

    Returns
    -------
    xarray.Dataset
        ``rn``, ``prec``, ``tair``, ``vpd`` on (time, lat, lon) (float32, NaN over
        ocean), ``co2`` on (time,), ``land_mask`` (lat, lon) int8, and static
        predictors on (lat, lon) marked ``attrs["xh2cm_role"] == "static"``.
        Units follow :mod:`xh2cm.catalog`.
    """
    if n_lat < 1 or n_lon < 1 or years < 1:
        raise ValueError("n_lat, n_lon and years must be >= 1")
    dlat = (_LAT_NORTH - _LAT_SOUTH) / n_lat
    lat = _LAT_SOUTH + dlat * (np.arange(n_lat) + 0.5)
    lon = -180.0 + 360.0 / n_lon * (np.arange(n_lon) + 0.5)
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    world = _world(lat2.ravel(), lon2.ravel(), seed)

    # land: the highest land_fraction of the smooth "land" field
    n_land = int(np.clip(round(land_fraction * lat2.size), 1, lat2.size))
    order = np.argsort(-world["land"], kind="stable")
    land = np.zeros(lat2.size, dtype=bool)
    land[order[:n_land]] = True

    time = _time_axis(start, years)
    lw = {k: v[land] for k, v in world.items()}
    met = _weather(lat2.ravel()[land], lw, time, seed if weather_seed is None else weather_seed)
    stat = _statics(lw, met)

    def grid(a: np.ndarray) -> np.ndarray:
        """Scatter land values (..., n_land) onto the (..., lat, lon) grid."""
        out = np.full(a.shape[:-1] + (lat2.size,), np.nan, dtype=np.float32)
        out[..., land] = a
        return out.reshape(a.shape[:-1] + lat2.shape)

    tll = ("time", "lat", "lon")
    data_vars: dict[str, Any] = {
        k: (tll, grid(met[k]), _attrs_for(k)) for k in ("rn", "prec", "tair", "vpd")
    }
    data_vars["co2"] = (("time",), _co2_series(time).astype(np.float32), _attrs_for("co2"))
    data_vars["land_mask"] = (
        ("lat", "lon"),
        land.reshape(lat2.shape).astype(np.int8),
        {"long_name": "land mask", "flag_values": np.array([0, 1], dtype=np.int8),
         "flag_meanings": "ocean land", "standard_name": "land_binary_mask", "units": "1",
         "xh2cm_role": "mask"},
    )
    for k, v in stat.items():
        data_vars[k] = (("lat", "lon"), grid(v), _attrs_for(k))
    coords = {
        "time": ("time", time, {"standard_name": "time", "long_name": "time", "axis": "T"}),
        "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude",
                             "long_name": "latitude", "axis": "Y"}),
        "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude",
                             "long_name": "longitude", "axis": "X"}),
    }
    return xr.Dataset(data_vars, coords, attrs=_global_attrs("gridded", seed))


def synthetic_sites(
    n_sites: int = 5, years: int = 3, start: str = "2001-01-01", seed: int = 0
) -> xr.Dataset:
    """Synthetic daily forcing at a few point sites, on (time, site).

    The sites sample the same synthetic world as :func:`synthetic_forcing`
    with the same ``seed``, at random land-like positions (30°S–70°N).

    Parameters
    ----------
    n_sites : int
        Number of sites.
    years : int
        Number of years of daily data.
    start : str
        First day.
    seed : int
        Random seed.

    Returns
    -------
    xarray.Dataset
        ``rn``, ``prec``, ``tair``, ``vpd`` on (time, site), ``co2`` on (time,),
        static predictors on (site,), coordinates ``site`` (names), ``lat`` and
        ``lon`` (site,).
    """
    if n_sites < 1 or years < 1:
        raise ValueError("n_sites and years must be >= 1")
    rng = np.random.default_rng([seed, _SITES])
    # area-uniform latitudes between 30S and 70N
    s0, s1 = np.sin(np.deg2rad(-30.0)), np.sin(np.deg2rad(70.0))
    lat = np.rad2deg(np.arcsin(rng.uniform(s0, s1, n_sites)))
    lon = rng.uniform(-180.0, 180.0, n_sites)
    world = _world(lat, lon, seed)
    time = _time_axis(start, years)
    met = _weather(lat, world, time, seed)
    stat = _statics(world, met)

    data_vars: dict[str, Any] = {
        k: (("time", "site"), met[k].astype(np.float32), _attrs_for(k))
        for k in ("rn", "prec", "tair", "vpd")
    }
    data_vars["co2"] = (("time",), _co2_series(time).astype(np.float32), _attrs_for("co2"))
    for k, v in stat.items():
        data_vars[k] = (("site",), v.astype(np.float32), _attrs_for(k))
    coords = {
        "time": ("time", time, {"standard_name": "time", "long_name": "time", "axis": "T"}),
        "site": ("site", [f"SYN-{i + 1:03d}" for i in range(n_sites)],
                 {"long_name": "site identifier", "cf_role": "timeseries_id"}),
        "lat": ("site", lat, {"units": "degrees_north", "standard_name": "latitude",
                              "long_name": "latitude"}),
        "lon": ("site", lon, {"units": "degrees_east", "standard_name": "longitude",
                              "long_name": "longitude"}),
    }
    attrs = {**_global_attrs("site", seed), "featureType": "timeSeries"}
    return xr.Dataset(data_vars, coords, attrs=attrs)


def static_names(ds: xr.Dataset) -> tuple[str, ...]:
    """Names of the static predictors of ``ds`` (``attrs["xh2cm_role"] == "static"``)."""
    return tuple(
        str(k) for k, v in ds.data_vars.items() if v.attrs.get("xh2cm_role") == STATIC_ROLE
    )


def truth_model(ds: xr.Dataset, seed: int = 1234, hidden_size: int = 100) -> H2CM:
    """A model with known parameters for twin experiments and the demo.

    Fresh network weights from ``seed``, input standardisation from all valid
    (land) cells of ``ds``, global constants set to :data:`TRUTH_CONSTANTS`
    and output-head biases to :data:`TRUTH_HEAD_BIASES` (plausible magnitudes,
    see there).

    Parameters
    ----------
    ds : xarray.Dataset
        Forcing with static predictors, e.g. from :func:`synthetic_forcing`.
        The static predictors are the variables marked
        ``attrs["xh2cm_role"] == "static"``; if none is marked, those the
        xarray layer auto-detects.
    seed : int
        Weight initialisation seed.
    hidden_size : int
        LSTM hidden size (reference: 100).

    Returns
    -------
    xh2cm.core.H2CM
    """
    from xh2cm.core import set_global_constants, set_head_bias
    from xh2cm.xr.model import init_model_from_dataset

    model = init_model_from_dataset(
        ds, static_names(ds) or None, seed, max_cells=None, hidden_size=hidden_size
    )
    model = set_global_constants(model, **TRUTH_CONSTANTS)
    for name, value in TRUTH_HEAD_BIASES.items():
        model = set_head_bias(model, name, value)
    return model


def truth_run(
    ds: xr.Dataset | None = None, seed: int = 0, hidden_size: int = 100
) -> tuple[xr.Dataset, H2CM]:
    """Outputs of the truth model on synthetic (or given) forcing.

    Parameters
    ----------
    ds : xarray.Dataset, optional
        Forcing; default ``synthetic_forcing(seed=seed)``.
    seed : int
        Seed of the synthetic forcing (ignored if ``ds`` is given). The truth
        model always uses :func:`truth_model`'s default weight seed.
    hidden_size : int
        LSTM hidden size.

    Returns
    -------
    (xarray.Dataset, xh2cm.core.H2CM)
        ``ds.h2cm.run(model)`` (every catalog output, with spin-up) and the model.
    """
    if ds is None:
        ds = synthetic_forcing(seed=seed)
    model = truth_model(ds, hidden_size=hidden_size)
    return ds.h2cm.run(model), model
