"""Readers of real-world files into xarray (no JAX): flux-tower CSVs and their daily
aggregation. Pure array helpers (:mod:`~xh2cm.io.gaps`) below, pandas/xarray readers above."""

from xh2cm.io.daily import measured_days, site_static, to_daily
from xh2cm.io.fluxnet import read_fluxnet
from xh2cm.io.fluxtower import read_site

__all__ = ["measured_days", "read_fluxnet", "read_site", "site_static", "to_daily"]
