"""xh2cm: hybrid modelling of the coupled terrestrial water and carbon cycles (H2CM)."""

__version__ = "0.1.0"

from xh2cm.xr import accessor as _accessor  # noqa: F401,E402  (registers ds.h2cm)
