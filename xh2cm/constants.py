"""Physical constants shared by the JAX core and the xarray layer (pure Python)."""

#: Seconds in a day.
SECONDS_PER_DAY = 86400.0
#: Latent heat of vaporisation used throughout xh2cm (MJ kg-1), as in docs/model.md.
LATENT_HEAT_MJ_KG = 2.45
#: Molar mass of carbon (g mol-1).
MOLAR_MASS_C = 12.011
