"""What the hybrid is trained against at a site besides ET and NEE: fAPAR from the site's
MODIS LAI (Beer's law), so that the hybrid gets the information the baselines get."""

from __future__ import annotations

import numpy as np
import xarray as xr

#: Light extinction coefficient of :func:`fapar_from_lai`: 0.5, the value for a spherical
#: leaf-angle distribution with the sun at 60° (Monsi & Saeki 1953; Campbell & Norman
#: 1998, *An Introduction to Environmental Biophysics*, ch. 15), as MODIS-driven light-use
#: models take it (e.g. Sellers et al. 1992, Remote Sens. Environ. 42, 187-216).
FAPAR_K = 0.5

def fapar_from_lai(lai: xr.DataArray, k: float = FAPAR_K) -> xr.DataArray:
    """fAPAR of a canopy of leaf area index ``lai`` (Beer's law, ``1 − exp(−k·LAI)``).

    Examples
    --------
    >>> import xarray as xr
    >>> f = fapar_from_lai(xr.DataArray([0.0, 2.0]))
    >>> f.values.round(3).tolist(), f.attrs["units"]
    ([0.0, 0.632], '1')
    """
    if not k > 0:
        raise ValueError(f"the extinction coefficient k must be > 0, got {k}")
    fapar = 1 - xr.apply_ufunc(np.exp, -k * lai)
    return fapar.assign_attrs(
        units="1", long_name="fraction of absorbed photosynthetically active radiation",
        standard_name="fraction_of_surface_downwelling_photosynthetic_radiative_flux_"
                      "absorbed_by_vegetation",
        comment=f"1 - exp(-k LAI), k = {k:g} (Beer's law; xh2cm.site.constraints.FAPAR_K)")


def constraints(train: xr.Dataset, k: float = FAPAR_K) -> xr.Dataset:
    """The hybrid's observations of the training period: daily ``et`` and ``nee``, and
    ``fapar`` from MODIS LAI (:func:`fapar_from_lai`) where the site has LAI."""
    obs = train[["et", "nee"]]
    if "lai" in train:
        obs = obs.assign(fapar=fapar_from_lai(train["lai"], k))
    return obs
