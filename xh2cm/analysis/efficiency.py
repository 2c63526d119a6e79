"""Resource-use efficiencies per cell from period totals: PUE, LUE, WUE (docs/analysis.md).

Each is a ratio of totals over complete periods (``freq``, annual by default)
of daily (or monthly-mean) rates, per period and as a climatology (the ratio
of the mean totals over all complete periods, which weights wet and dry years
by their totals rather than averaging ratios). Cells whose denominator is too
small to give a meaningful ratio are masked (NaN); each function documents its
thresholds. Inputs are found by :func:`xh2cm.analysis.variables.get`, so model
output and observation products work alike; lazy (dask) input stays lazy. A result
that reads a variable from ``forcing=`` says how it was matched in its attributes
(:func:`xh2cm.analysis.variables.forcing_matches`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import xarray as xr

from xh2cm.analysis.variables import forcing_matches, get, merge_attrs, period_totals
from xh2cm.constants import SECONDS_PER_DAY

#: MJ m-2 d-1 per W m-2 (daily mean).
W_M2_TO_MJ_M2_D = SECONDS_PER_DAY / 1e6


def _ratio(num: xr.DataArray, den: xr.DataArray, valid: xr.DataArray, name: str, units: str,
           long_name: str, freq: str) -> xr.Dataset:
    """Per-period and climatological ratio of totals, masked where not ``valid``."""
    per = (num / den).where(valid)
    clim = (num.mean("time") / den.mean("time")).where(valid.any("time"))
    method = f"time: sum over {freq} periods"
    label = "gC" + units[1:]  # grams of carbon: units stay parsable, the label says carbon
    return xr.Dataset({
        name: merge_attrs(per, units, f"{long_name} per {freq} period", method,
                          units_label=label),
        f"{name}_climatology": merge_attrs(
            clim, units, f"{long_name}, ratio of mean {freq} totals", method + " time: mean",
            units_label=label),
    })


def pue(ds: xr.Dataset, *, forcing: xr.Dataset | None = None, freq: str = "YS",
        min_prec: float = 50.0, min_gpp: float = 10.0,
        names: Mapping[str, str] | None = None) -> xr.Dataset:
    """Precipitation-use efficiency ``PUE = GPP / P`` from period totals.

    Definition after Huxman et al. (2004, Nature 429, 651–654): carbon fixed per
    unit of rain, here gross primary productivity per precipitation.

    Parameters
    ----------
    ds : xarray.Dataset
        Daily (or monthly-mean) ``gpp`` (gC m-2 d-1) and ``prec`` (mm d-1), model
        output or observations (any supported units and names).
    forcing : xarray.Dataset, optional
        Where to find precipitation if ``ds`` lacks it (model output does).
    freq : str
        Period of the totals (pandas offset; default ``"YS"``: calendar years).
        Only complete periods count.
    min_prec : float
        Dry mask: periods with less precipitation than this (mm per period) are NaN.
    min_gpp : float
        Barren mask: periods with less GPP than this (gC m-2 per period) are NaN.
    names : mapping, optional
        Explicit ``{"gpp": ..., "prec": ...}`` variable names.

    Returns
    -------
    xarray.Dataset
        ``pue`` (time, ...) per period and ``pue_climatology`` (...), in
        gC m-2 mm-1; with precipitation from ``forcing=``, the attributes say what was
        matched (:func:`~xh2cm.analysis.variables.forcing_matches`).

    Raises
    ------
    KeyError
        If GPP or precipitation is missing.
    ValueError
        If the data cover no complete period.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> t = pd.date_range("2001-01-01", "2002-12-31", freq="D")
    >>> prec = xr.DataArray(np.full(t.size, 2.0), {"time": t}, name="prec",
    ...                     attrs={"units": "mm d-1"})
    >>> ds = xr.Dataset({"prec": prec, "gpp": (0.8 * prec).assign_attrs(units="g m-2 d-1")})
    >>> round(float(pue(ds).pue_climatology), 6)
    0.8
    """
    used = [get(ds, n, forcing=forcing, names=names, needed_by="pue()") for n in ("gpp", "prec")]
    gpp, prec = (period_totals(v, freq) for v in used)
    out = _ratio(gpp, prec, (prec >= min_prec) & (gpp >= min_gpp), "pue", "g m-2 mm-1",
                 "precipitation-use efficiency (GPP / precipitation)", freq)
    return out.assign_attrs(forcing_matches(ds, used))


def lue(ds: xr.Dataset, *, forcing: xr.Dataset | None = None, par: xr.DataArray | None = None,
        par_fraction: float = 0.48, freq: str = "YS", min_apar: float = 50.0,
        min_gpp: float = 10.0, names: Mapping[str, str] | None = None) -> xr.Dataset:
    """Light-use efficiency ``LUE = GPP / APAR`` with ``APAR = fAPAR · PAR``, from period
    totals (Monteith 1972, J. Appl. Ecol. 9, 747–766).

    PAR comes from incoming shortwave radiation (``rsds``, ``ssrd``, ``SW_IN``, ...
    or CF ``surface_downwelling_shortwave_flux_in_air``) as ``par_fraction · SW↓``
    (0.48: the PAR share of solar radiation, McCree 1972), or from ``par=``
    (W m-2). It is never derived from net radiation: without shortwave or
    ``par=``, the method refuses.

    Parameters
    ----------
    ds : xarray.Dataset
        Daily (or monthly-mean) ``gpp`` and ``fapar``.
    forcing : xarray.Dataset, optional
        Where to look for shortwave radiation if ``ds`` lacks it.
    par : xarray.DataArray, optional
        Photosynthetically active radiation (W m-2, daily mean) on ``ds``'s grid.
    par_fraction : float
        PAR / shortwave (default 0.48).
    freq : str
        Period of the totals (default annual).
    min_apar : float
        Dark mask: periods with less APAR (MJ m-2 per period) are NaN.
    min_gpp : float
        Barren mask (gC m-2 per period).
    names : mapping, optional
        Explicit variable names.

    Returns
    -------
    xarray.Dataset
        ``lue`` per period and ``lue_climatology``, in gC MJ-1 (of absorbed PAR).

    Raises
    ------
    KeyError
        If GPP or fAPAR is missing, or neither shortwave radiation nor ``par=``
        is given (the message names what to add).
    """
    gpp_d = get(ds, "gpp", forcing=forcing, names=names, needed_by="lue()")
    fapar = get(ds, "fapar", forcing=forcing, names=names, needed_by="lue()")
    used = [gpp_d, fapar]
    if par is None:
        try:
            sw = get(ds, "sw", forcing=forcing, names=names, needed_by="lue()")
        except KeyError as err:
            raise KeyError(
                "lue() needs photosynthetically active radiation: add incoming shortwave "
                "radiation (e.g. 'rsds' or 'ssrd' in W m-2, standard_name "
                "'surface_downwelling_shortwave_flux_in_air') to the dataset or forcing=, "
                "or pass par=<DataArray in W m-2>. PAR is never derived from net radiation. "
                f"({err.args[0]})") from None
        par = par_fraction * sw
        used.append(sw)
    apar_d = fapar * par * W_M2_TO_MJ_M2_D
    apar_d.name = "apar"
    gpp = period_totals(gpp_d, freq)
    apar = period_totals(apar_d, freq)
    out = _ratio(gpp, apar, (apar >= min_apar) & (gpp >= min_gpp), "lue", "g MJ-1",
                 "light-use efficiency (GPP / absorbed PAR)", freq)
    out.attrs.update(forcing_matches(ds, used))
    out["apar"] = merge_attrs(apar, "MJ m-2", f"absorbed PAR per {freq} period",
                              f"time: sum over {freq} periods")
    return out


WUE_KINDS = ("ewue", "twue", "iwue")


def wue(ds: xr.Dataset, *, forcing: xr.Dataset | None = None,
        kinds: Sequence[str] | None = None, freq: str = "YS", min_et: float = 10.0,
        names: Mapping[str, str] | None = None) -> xr.Dataset:
    """Water-use efficiencies from period totals.

    - ``ewue``: ecosystem WUE, ``GPP / ET`` (gC kg-1 of water; Law et al. 2002);
    - ``twue``: transpiration WUE, ``GPP / T`` (needs transpiration ``tr``, which
      model output has);
    - ``iwue``: inherent WUE, ``Σ(GPP · VPD) / Σ ET`` (gC hPa kg-1; Beer et al. 2009,
      Global Biogeochem. Cycles 23, GB2018), which removes the first-order VPD
      effect on stomata.

    Parameters
    ----------
    ds : xarray.Dataset
        Daily (or monthly-mean) ``gpp``, ``et`` and, for the kinds that need them,
        ``tr`` and ``vpd``.
    forcing : xarray.Dataset, optional
        Where to find VPD if ``ds`` lacks it.
    kinds : sequence of {"ewue", "twue", "iwue"}, optional
        Which to compute; default: every kind the data allow (at least one).
    freq : str
        Period of the totals (default annual).
    min_et : float
        Dry mask: periods whose water flux (ET, or T for ``twue``) is below this
        (mm per period) are NaN.

    Returns
    -------
    xarray.Dataset
        ``<kind>`` per period and ``<kind>_climatology`` for each kind.

    Raises
    ------
    KeyError
        If a requested kind's variable is missing (or no kind is possible).
    """
    if kinds is not None:
        bad = set(kinds) - set(WUE_KINDS)
        if bad:
            raise ValueError(f"kinds={sorted(bad)} unknown; choose from {list(WUE_KINDS)}")

    found: dict[str, xr.DataArray] = {}

    def var(name: str) -> xr.DataArray:  # each variable found and converted once
        if name not in found:
            found[name] = get(ds, name, forcing=forcing, names=names, needed_by="wue()")
        return found[name]

    need = {"ewue": ("gpp", "et"), "twue": ("gpp", "tr"), "iwue": ("gpp", "et", "vpd")}
    chosen = list(kinds) if kinds is not None else []
    if kinds is None:
        for kind in WUE_KINDS:
            try:
                [var(n) for n in need[kind]]
            except KeyError:
                continue
            chosen.append(kind)
        if not chosen:
            [var(n) for n in need["ewue"]]  # raises, naming the missing variable
    gpp_d = var("gpp")
    gpp = period_totals(gpp_d, freq)
    out = xr.Dataset()
    for kind in chosen:
        if kind == "ewue":
            water = period_totals(var("et"), freq)
            part = _ratio(gpp, water, (water >= min_et) & (gpp > 0), kind, "g kg-1",
                          "ecosystem water-use efficiency (GPP / ET)", freq)
        elif kind == "twue":
            water = period_totals(var("tr"), freq)
            part = _ratio(gpp, water, (water >= min_et) & (gpp > 0), kind, "g kg-1",
                          "transpiration water-use efficiency (GPP / T)", freq)
        else:
            gv = gpp_d * var("vpd")
            gv.name = "gpp_vpd"
            water = period_totals(var("et"), freq)
            part = _ratio(period_totals(gv, freq), water, (water >= min_et) & (gpp > 0), kind,
                          "g hPa kg-1", "inherent water-use efficiency (GPP * VPD / ET)", freq)
        out = out.merge(part)
    return out.assign_attrs(forcing_matches(ds, [found[n] for n in found
                                                 if any(n in need[k] for k in chosen)]))
