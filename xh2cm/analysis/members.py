"""Summaries over an ensemble's ``member`` dimension (``ds.h2cm.run(ensemble)``): mean,
standard deviation and quantiles of every variable in one call.

The diagnostics and :func:`~xh2cm.analysis.regions.regional` keep a ``member``
dimension as they keep any other (xarray broadcasting), so the spread of a diagnostic is
the spread of the per-member diagnostics: summarise after the diagnostic, not before.
"""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr

#: The dimension of an ensemble's members in a run's output.
MEMBER = "member"


def spread(ds: xr.Dataset, dim: str = MEMBER, quantiles: Sequence[float] = (),
           ddof: int = 1) -> xr.Dataset:
    """Mean, standard deviation (and quantiles) over ``dim`` of every variable that has it,
    on a new ``statistic`` dimension (``"mean"``, ``"std"``, ``"q0.05"``, ...).

    Parameters
    ----------
    ds : xarray.Dataset
        E.g. a run of an ensemble, or a regional budget of one.
    dim : str
        The member dimension.
    quantiles : sequence of float
        Quantiles in [0, 1] to add (e.g. ``(0.05, 0.95)``).
    ddof : int
        Delta degrees of freedom of the standard deviation (1: the sample standard
        deviation of the members).

    Returns
    -------
    xarray.Dataset
        The variables with ``dim``, on ``(statistic, *other dims)``, units and names
        kept; ``cell_methods`` records the reduction. Variables without ``dim`` are left
        out.

    Raises
    ------
    ValueError
        If no variable has ``dim``, or it has fewer than ``ddof + 1`` members.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"gpp": ("member", [1.0, 2.0, 3.0], {"units": "PgC yr-1"})})
    >>> s = spread(ds)
    >>> s.gpp.sel(statistic="mean").item(), s.gpp.sel(statistic="std").item()
    (2.0, 1.0)
    """
    have = [v for v, da in ds.data_vars.items() if dim in da.dims]
    if not have:
        raise ValueError(f"spread(): no variable has a {dim!r} dimension (variables: "
                         f"{[str(v) for v in ds.data_vars]}); run an ensemble first")
    if ds.sizes[dim] <= ddof:
        raise ValueError(f"spread(): {ds.sizes[dim]} member(s) along {dim!r}; the standard "
                         f"deviation with ddof={ddof} needs at least {ddof + 1}")
    sub = ds[have]
    parts = [sub.mean(dim, keep_attrs=True), sub.std(dim, ddof=ddof, keep_attrs=True)]
    labels = ["mean", "std"]
    for q in quantiles:
        parts.append(sub.quantile(q, dim, keep_attrs=True).drop_vars("quantile"))
        labels.append(f"q{q:g}")
    out = xr.concat(parts, dim=xr.DataArray(labels, dims="statistic", name="statistic"))
    for v in have:
        out[v].attrs = dict(ds[v].attrs)
        method = f"{dim}: mean, standard_deviation (ddof={ddof})" + (
            f", quantiles {list(quantiles)}" if quantiles else "") + " (along statistic)"
        old = ds[v].attrs.get("cell_methods")
        out[v].attrs["cell_methods"] = f"{old} {method}" if old else method
    out.attrs = {**ds.attrs, "xh2cm_members": int(ds.sizes[dim])}
    return out
