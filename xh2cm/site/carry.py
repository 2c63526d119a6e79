"""A site's model runs with a filled soil: spun up before the training period (on the
training forcing, or on long forcing such as the ONEFlux ERA5 weather) and carried from the
end of training into the test period, so the test forcing never sets the start state."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

#: Forcing the hybrid model reads: the baselines' "(hybrid inputs)" rows read only these.
HYBRID_INPUTS = ("rn", "prec", "tair", "vpd", "co2")
#: Spin-up passes over the training forcing before the training period is run.
SPINUP = 3

def carried_run(model: Any, train: xr.Dataset, test: xr.Dataset, *, spinup: int = SPINUP,
                outputs: Sequence[str] | None = None, before: xr.Dataset | None = None,
                ) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
    """``(train outputs, test outputs, test start state)`` of a model spun up on the
    training forcing (``spinup`` passes), run through the training period, and continued
    into the test period from the state it ended with. The test forcing plays no part in
    the start state.

    With ``before`` (long daily forcing of the site, e.g. the ONEFlux ERA5 weather from
    1981, :func:`long_forcing`), the spin-up is instead one pass over its days before the
    training period (after ``spinup`` passes over its first year), and the training run
    starts from the state it ended with."""
    init = None
    if before is not None:
        first = np.datetime64(pd.Timestamp(train.time.values[0]))
        pre = before.sel(time=before.time.values < first)
        if pre.sizes["time"] < 365:
            raise ValueError(f"before= has {pre.sizes['time']} days before the training "
                             f"start {str(first)[:10]}; give at least a year of forcing")
        year = pre.isel(time=slice(0, 365))
        _, init = year.h2cm.run(model, spinup=spinup, outputs=["sm"], return_state=True)
        _, init = pre.h2cm.run(model, spinup=False, outputs=["sm"], initial_state=init,
                               return_state=True)
    fitted, state = train.h2cm.run(model, spinup=spinup if init is None else False,
                                   outputs=outputs, return_state=True, initial_state=init)
    out = test.h2cm.run(model, spinup=False, outputs=outputs, initial_state=state)
    return fitted, out, state


def long_forcing(folder: str | os.PathLike, like: xr.Dataset, *,
                 co2: str | os.PathLike = "global") -> xr.Dataset:
    """A site's ONEFlux ERA5 daily weather (:func:`xh2cm.io.read_oneflux`: net radiation
    derived; CO2 ``"global"``, the shipped NOAA global mean, or a NOAA monthly file) as
    the model's forcing
    (:data:`HYBRID_INPUTS`) on the dimensions and site of ``like``, for the spin-up of
    :func:`carried_run`."""
    from xh2cm.io import read_oneflux

    daily = read_oneflux(folder, co2=co2).daily
    site = str(np.atleast_1d(like["site"].values)[0])
    if site not in daily.site.values.tolist():
        raise ValueError(f"{folder}: the ONEFlux product is for {daily.site.values.tolist()}, "
                         f"not {site}; pass that site's FLUXNET folder")
    out = xr.Dataset({n: daily[n].broadcast_like(daily["rn"]).transpose(*like["rn"].dims)
                      .assign_attrs(daily[n].attrs) for n in HYBRID_INPUTS},
                     attrs={"title": f"{site} ERA5 daily forcing (spin-up)"})
    return out.sel(site=[site]).drop_vars([c for c in out.coords
                                            if c not in ("time", "site")])
