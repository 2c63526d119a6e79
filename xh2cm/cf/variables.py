"""Find forcing, static predictors and the land mask in a user's Dataset.

Forcing is found per catalog name (``rn, prec, tair, vpd, co2``) by, in order:

1. an explicit ``names={"prec": "my_precip"}`` mapping,
2. the CF ``standard_name`` attribute (via cf-xarray),
3. common variable names, case-insensitively.

The first rule with a hit wins; two hits within one rule is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from xh2cm import catalog
from xh2cm.cf import registry
from xh2cm.cf.options import merged

#: Accepted CF standard names per forcing (the catalog's first).
STANDARD_NAMES: dict[str, tuple[str, ...]] = {
    "rn": ("surface_net_downward_radiative_flux",),
    "prec": ("lwe_precipitation_rate", "precipitation_flux"),
    "tair": ("air_temperature",),
    "vpd": ("water_vapor_saturation_deficit_in_air",),
    "co2": ("mole_fraction_of_carbon_dioxide_in_air",),
}
for _name, _info in catalog.FORCING.items():  # keep in sync with the catalog
    if _info.standard_name and _info.standard_name not in STANDARD_NAMES[_name]:
        STANDARD_NAMES[_name] = (_info.standard_name, *STANDARD_NAMES[_name])

#: Accepted variable names per forcing (compared case-insensitively).
ALIASES: dict[str, tuple[str, ...]] = {
    # model names, CMIP, ERA5, FLUXNET/AmeriFlux (gap-filled '_F' columns)
    "rn": ("rn", "rnet", "net_radiation", "netrad"),
    "prec": ("prec", "pr", "precip", "precipitation", "tp", "p_f", "p"),
    "tair": ("tair", "tas", "t2m", "ta", "temperature", "ta_f"),
    "vpd": ("vpd", "vapour_pressure_deficit", "vapor_pressure_deficit", "vpd_f"),
    "co2": ("co2", "co2_ppm", "xco2", "co2_f_mds"),
}

#: Attribute that marks a variable's role; ``"static"`` marks a static predictor.
ROLE_ATTR = "xh2cm_role"

#: Variable names recognised as a land mask (case-insensitive).
MASK_NAMES: tuple[str, ...] = ("land_mask", "landmask", "lsm", "mask", "sftlf",
                               "land_area_fraction", "landfrac")
#: CF standard names of land masks and land fractions.
MASK_STANDARD_NAMES: tuple[str, ...] = ("land_binary_mask", "land_area_fraction")


@dataclass(frozen=True)
class Match:
    """Where one variable (forcing or observation) was found.

    Attributes
    ----------
    name : str
        Catalog name (``"prec"``).
    source : str
        Variable name in the user's dataset (``"pr"``).
    rule : str
        How it was found, e.g. ``"standard_name 'precipitation_flux'"``.
    standard_name : str or None
        The CF standard name it was found by (None for the other rules).
    """

    name: str
    source: str
    rule: str
    standard_name: str | None = None


def _describe(name: str) -> str:
    return f"{catalog.FORCING[name].long_name} {name!r}"


def discover(
    ds: xr.Dataset,
    wanted: Sequence[str],
    standard_names: Mapping[str, Sequence[str]],
    aliases: Mapping[str, Sequence[str]],
    names: Mapping[str, str] | None = None,
    *,
    describe: Callable[[str], str] = repr,
    names_arg: str = "names",
    time_methods: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Match]:
    """Find each of ``wanted`` among the data variables of ``ds``: the one discovery rule
    of xh2cm, shared by forcing (:func:`find_forcing`) and observations
    (:func:`xh2cm.cf.observations.find_observations`).

    In order: an explicit ``names`` entry, then the CF ``standard_name`` attribute
    (one of ``standard_names[key]``), then the variable name (one of
    ``aliases[key]``, case-insensitive). The first rule with a hit wins; two
    variables matching within one rule is an error, except that CF semantics settle it
    where they can: a variable whose ``cell_methods`` over time is not one of
    ``time_methods[key]`` is not that key (``tasmax``, ``time: maximum``, is not the daily
    mean air temperature), and of several variables with the same standard name the one
    whose name is a conventional short name of the key (``aliases[key]``: CMIP's ``rls``
    for net longwave, not ``rlds``) is taken, said in :attr:`Match.rule`; of several
    variables matching by name, one named exactly ``key`` (``tws`` beside ``tws_anomaly``).

    Parameters
    ----------
    ds : xarray.Dataset
    wanted : sequence of str
        Keys to look for.
    standard_names, aliases : mapping
        Accepted CF standard names and variable names per key.
    names : mapping, optional
        Explicit ``{key: dataset variable}``; keys must be in ``wanted``.
    describe : callable
        ``describe(key)`` names a key in messages.
    names_arg : str
        The argument through which users pass ``names`` (for messages).
    time_methods : mapping, optional
        Accepted CF ``cell_methods`` over time per key (e.g. ``("mean",)``); a variable
        without a time cell method is always accepted. Keys absent: no rule.

    Returns
    -------
    dict
        ``key -> Match`` for the keys found, in ``wanted`` order; keys not
        found are absent (callers decide whether that is an error).

    Raises
    ------
    ValueError
        For an unknown key in ``names``, an explicit variable that does not
        exist, or an ambiguous match (naming the candidates and the fix).
    """
    names = dict(names or {})
    unknown = set(names) - set(wanted)
    if unknown:
        raise ValueError(f"{names_arg}= has unknown keys {sorted(unknown)}; expected a subset "
                         f"of {list(wanted)}")
    data_vars = [str(v) for v in ds.data_vars]
    lower: dict[str, list[str]] = {}
    for v in data_vars:
        lower.setdefault(v.lower(), []).append(v)
    std_of = {v: ds[v].attrs.get("standard_name") for v in data_vars}

    out: dict[str, Match] = {}
    for key in wanted:
        if key in names:
            src = names[key]
            if src not in ds.data_vars:
                raise ValueError(f"{names_arg}={{{key!r}: {src!r}}}: dataset has no data "
                                 f"variable {src!r} (data variables: {data_vars})")
            out[key] = Match(key, src, f"explicit {names_arg}=")
            continue
        ok = _method_filter(ds, key, time_methods)
        by_std = [Match(key, v, f"standard_name {s!r}", s)
                  for s in standard_names.get(key, ()) for v in data_vars if std_of[v] == s]
        by_name = [Match(key, v, f"name {v!r}") for a in aliases.get(key, ())
                   for v in lower.get(a.lower(), [])]
        refused = [h for h in by_std + by_name if not ok(h.source)]
        by_std = _tie_by_name([h for h in by_std if ok(h.source)], aliases.get(key, ()))
        by_name = [h for h in by_name if ok(h.source)]
        if len({h.source for h in by_name}) > 1 and key in lower:  # the key's own name wins
            by_name = [h for h in by_name if h.source.lower() == key.lower()]
        if refused and not by_std and not by_name:
            raise ValueError(_method_message(ds, key, refused[0].source, time_methods,
                                             describe, names_arg))
        for kind, hits in (("standard_name", by_std), ("name", by_name)):  # priority order
            if len({h.source for h in hits}) > 1:
                first, second = hits[0].source, hits[1].source
                listed = ", ".join(f"{h.source!r} ({h.rule})" for h in hits)
                raise ValueError(
                    f"{describe(key)} is ambiguous: several dataset variables match by "
                    f"{kind}: {listed}. Rename or drop all but one "
                    f"(e.g. ds = ds.drop_vars({second!r})), or pass "
                    f"{names_arg}={{{key!r}: {first!r}}}"
                )
            if hits:
                out[key] = hits[0]
                break
    return out


def time_method(attrs: Mapping[str, Any]) -> str | None:
    """The CF ``cell_methods`` entry over time (``"mean"``, ``"maximum"``, ``"sum"``...).

    Examples
    --------
    >>> time_method({"cell_methods": "area: mean time: maximum (interval: 1 day)"})
    'maximum'
    >>> time_method({"cell_methods": "valid_time: sum"}), time_method({}) is None
    ('sum', True)
    """
    text = str(attrs.get("cell_methods") or "")
    for names, method in re.findall(r"((?:\w+:\s*)+)(\w+)", text):
        if any(n.strip() in _TIME_NAMES for n in names.split(":")):
            return str(method)
    return None


_TIME_NAMES = ("time", "valid_time", "t", "date")


def _method_filter(ds: xr.Dataset, key: str, time_methods: Mapping[str, Sequence[str]] | None
                   ) -> Callable[[str], bool]:
    wanted = (time_methods or {}).get(key)
    if wanted is None:
        return lambda v: True
    return lambda v: time_method(ds[v].attrs) in (None, *wanted)


def _tie_by_name(hits: list[Match], aliases: Sequence[str]) -> list[Match]:
    """Of several variables sharing a standard name, the one with a conventional name."""
    if len({h.source for h in hits}) < 2:
        return hits
    usual = {a.lower() for a in aliases}
    named = [h for h in hits if h.source.lower() in usual]
    if len({h.source for h in named}) != 1:
        return hits
    h = named[0]
    others = sorted({g.source for g in hits} - {h.source})
    return [Match(h.name, h.source, f"{h.rule}, shared with {others}: {h.source!r} taken by "
                  "its conventional name", h.standard_name)]


def _method_message(ds: xr.Dataset, key: str, source: str,
                    time_methods: Mapping[str, Sequence[str]] | None,
                    describe: Callable[[str], str], names_arg: str) -> str:
    wanted = list((time_methods or {}).get(key, ()))
    return (f"{describe(key)}: the only candidate {source!r} has cell_methods "
            f"{ds[source].attrs.get('cell_methods')!r} (time: {time_method(ds[source].attrs)}),"
            f" not a daily {' or '.join(wanted)}; give the daily {wanted[0]} variable, or "
            f"pass {names_arg}={{{key!r}: {source!r}}} to use {source!r} anyway")


def find_forcing(ds: xr.Dataset, names: Mapping[str, str] | None = None,
                 optional: Sequence[str] = (), inputs: Sequence[str] = ()
                 ) -> dict[str, Match]:
    """Locate every forcing variable of :data:`xh2cm.catalog.FORCING_NAMES`.

    Parameters
    ----------
    ds : xarray.Dataset
        User data.
    names : mapping, optional
        Explicit ``{catalog name: dataset variable}`` overrides.
    optional : sequence of str
        Forcing that may be missing (the caller derives it, :mod:`xh2cm.cf.derive`).
    inputs : sequence of str
        Further keys ``names`` may map (the inputs of derivations, e.g. ``"lw_net"``);
        they are left for the caller.

    Returns
    -------
    dict
        ``catalog name -> Match``, in catalog order.

    Raises
    ------
    ValueError
        If a forcing is missing or ambiguous (the message names it and the fix).

    Examples
    --------
    >>> import xh2cm
    >>> ds = xh2cm.datasets.synthetic_forcing(n_lat=2, n_lon=3, years=1)
    >>> find_forcing(ds)["prec"].rule
    "standard_name 'lwe_precipitation_rate'"
    """
    names = merged("names", names, ds.data_vars)
    unknown = set(names) - set(catalog.FORCING_NAMES) - set(inputs)
    if unknown:
        raise ValueError(f"names= has unknown keys {sorted(unknown)}; expected forcing "
                         f"{list(catalog.FORCING_NAMES)} or inputs of derivations "
                         f"{list(inputs)}")
    names = {k: v for k, v in names.items() if k in catalog.FORCING_NAMES}
    found = discover(ds, catalog.FORCING_NAMES, STANDARD_NAMES, ALIASES, names,
                     describe=_describe, time_methods=catalog.FORCING_TIME_METHODS)
    for name in catalog.FORCING_NAMES:
        if name not in found and name not in optional:
            raise ValueError(missing_message(name, [str(v) for v in ds.data_vars]))
    return found


def missing_message(name: str, data_vars: Sequence[str]) -> str:
    """Error text for a forcing variable that is not in the dataset."""
    info = catalog.FORCING[name]
    msg = (
        f"{_describe(name)} not found: no data variable has standard_name in "
        f"{list(STANDARD_NAMES[name])} or is named one of {list(ALIASES[name])} "
        f"(data variables: {list(data_vars)}). Rename your variable, set its "
        f"standard_name attribute, or pass names={{{name!r}: '<variable>'}}"
    )
    if name == "co2":
        msg += (
            f". Or pass co2='global' (the global mean shipped with xh2cm, 1958-2026) or "
            f"co2=400.0; a variable works too: ds['co2'] = 400.0; ds['co2'].attrs['units'] = "
            f"{info.units!r} (a global time series with dims ('time',) too)"
        )
    return msg


def find_mask(
    ds: xr.Dataset, mask: xr.DataArray | str | bool | None = None
) -> tuple[xr.DataArray | None, str]:
    """The land mask (True = land), and a description of where it came from.

    Parameters
    ----------
    ds : xarray.Dataset
        User data.
    mask : DataArray, str, bool or None
        A boolean / 0-1 / land-fraction DataArray, the name of a variable in
        ``ds``, ``False`` to ignore any mask variable, or None to look for a
        variable named one of :data:`MASK_NAMES` or with a standard name of
        :data:`MASK_STANDARD_NAMES`. Fractions count as land where > 0.5, read
        in their ``units`` (``%``, as CMIP's ``sftlf``, or ``1``); NaN counts as
        not land; a time dimension of length 1 (ERA5's ``lsm``) is dropped.

    Returns
    -------
    (DataArray or None, str)
        The boolean mask (None: every cell is land) and a description.
    """
    if mask is False:
        return None, "none (mask=False)"
    desc = "mask= argument"
    if mask is None or mask is True:
        lower = {str(v).lower(): str(v) for v in ds.data_vars}
        cands = [lower[n] for n in MASK_NAMES if n in lower]
        cands += [str(v) for v, da in ds.data_vars.items()
                  if da.attrs.get("standard_name") in MASK_STANDARD_NAMES
                  and str(v) not in cands]
        if len(cands) > 1:
            raise ValueError(
                f"several land-mask variables {cands}; pass mask=<name> to pick one "
                "or drop the others"
            )
        if not cands:
            return None, "none (every cell with forcing data is land)"
        mask, desc = cands[0], f"variable {cands[0]!r}"
    elif isinstance(mask, str):
        if mask not in ds.variables:
            raise ValueError(f"mask={mask!r}: no such variable in the dataset")
        desc = f"variable {mask!r}"
    if isinstance(mask, str):
        mask = ds[mask]
    if not isinstance(mask, xr.DataArray):
        raise TypeError(
            f"mask must be a DataArray, a variable name, False or None, not {type(mask)}"
        )
    extra = [d for d in mask.dims if d not in ds.dims or "time" in str(d).lower()
             or str(d) in ("valid_time", "t")]
    for d in extra:
        if mask.sizes[d] != 1:
            raise ValueError(f"land mask ({desc}) has dim {d!r} of size {mask.sizes[d]}; a "
                             f"mask is static: select one step (e.g. mask.isel({d}=0))")
    mask = mask.squeeze(extra, drop=True) if extra else mask
    if mask.dtype == bool:
        return mask, desc
    units = str(mask.attrs.get("units", "1")).strip()
    frac = mask.fillna(0).astype(float)
    try:
        scale = registry.factors(units, "1")[0]
    except Exception:  # noqa: BLE001 - unreadable, or not a fraction
        raise ValueError(f"land mask ({desc}) has units {units!r}; expected '1' (fraction or "
                         "0/1) or '%'") from None
    if scale != 1.0:
        frac = frac * scale
        desc += " (% land)" if scale == 0.01 else f" (x {scale:g})"
    elif float(frac.max()) > 1.0 + 1e-6:
        raise ValueError(f"land mask ({desc}) has values up to {float(frac.max()):g} with units "
                         f"{units!r}: a land fraction in percent? Set its units attribute to '%'")
    return frac > 0.5, desc


def is_mask_name(name: Hashable, attrs: Mapping[str, Any] | None = None) -> bool:
    """Whether a variable is a land mask by name (:data:`MASK_NAMES`) or standard name."""
    return str(name).lower() in MASK_NAMES or (attrs or {}).get(
        "standard_name") in MASK_STANDARD_NAMES


def auto_static_names(
    ds: xr.Dataset, spatial_dims: Sequence[Hashable], exclude: Sequence[Hashable] = ()
) -> list[str]:
    """Data variables usable as static predictors, in dataset order.

    If any variable is marked ``attrs["xh2cm_role"] == "static"`` (as in
    :mod:`xh2cm.datasets`), exactly the marked ones. Otherwise float variables
    whose dims are a non-empty subset of ``spatial_dims`` (so no time dim),
    excluding ``exclude`` (forcing, mask), mask names, latitude/longitude,
    CF bounds and cell measures.
    """
    marked = [str(k) for k, v in ds.data_vars.items() if v.attrs.get(ROLE_ATTR) == "static"]
    if marked:
        return marked
    skip = {str(v) for v in exclude}
    for v in ds.variables.values():
        for attr in ("bounds", "cell_measures"):
            val = v.attrs.get(attr)
            if isinstance(val, str):
                skip.update(val.replace(":", " ").split())
    out = []
    for name, da in ds.data_vars.items():
        std = da.attrs.get("standard_name", "")
        if (
            str(name) in skip
            or is_mask_name(name, da.attrs)
            or str(name).lower() in ("lat", "lon", "latitude", "longitude")
            or std in ("latitude", "longitude", "cell_area")
            or not np.issubdtype(da.dtype, np.floating)
            or not da.dims
            or not set(da.dims) <= set(spatial_dims)
        ):
            continue
        out.append(str(name))
    return out


def find_static(
    ds: xr.Dataset, names: Sequence[str], spatial_dims: Sequence[Hashable]
) -> list[xr.DataArray]:
    """The static predictors ``names``, in that order, checked.

    Raises
    ------
    KeyError
        Naming a predictor missing from ``ds``.
    ValueError
        If a predictor has a time dim or dims outside ``spatial_dims``.
    """
    out = []
    for name in names:
        if name not in ds.variables:
            avail = auto_static_names(ds, spatial_dims)
            raise KeyError(
                f"static predictor {name!r} not found in the dataset "
                f"(candidate static variables: {avail}); the model was built with "
                f"static_names={list(names)}"
            )
        da = ds[name]
        extra = set(da.dims) - set(spatial_dims)
        if extra:
            raise ValueError(
                f"static predictor {name!r} has dims {da.dims}; it may only use the "
                f"spatial dims {tuple(spatial_dims)} (found extra {sorted(map(str, extra))}). "
                "Select or average the extra dims first"
            )
        if not np.issubdtype(da.dtype, np.number) and da.dtype != bool:
            raise ValueError(f"static predictor {name!r} is not numeric (dtype {da.dtype})")
        out.append(da)
    return out
