"""xh2cm: hybrid modelling of the coupled terrestrial water and carbon cycles (H2CM)."""

__version__ = "0.1.0"
