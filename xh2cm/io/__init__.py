"""Readers of real-world files into xarray (no JAX): flux-tower CSVs, FLUXNET (ONEFlux)
products, their cleaning and daily aggregation. Pure array helpers
(:mod:`~xh2cm.io.gaps`, :func:`~xh2cm.io.radiation.net_radiation_array`) below,
pandas/xarray readers above."""

from xh2cm.io.clean import clean_daily
from xh2cm.io.daily import measured_days, site_static, to_daily
from xh2cm.io.fluxnet import read_fluxnet
from xh2cm.io.fluxtower import read_site
from xh2cm.io.oneflux import OneFluxSite, read_oneflux
from xh2cm.io.radiation import albedo_climatology, net_radiation

__all__ = ["OneFluxSite", "albedo_climatology", "clean_daily", "measured_days",
           "net_radiation", "read_fluxnet", "read_oneflux", "read_site",
           "site_static", "to_daily"]
