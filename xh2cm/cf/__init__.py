"""The CF input layer of xh2cm: how a user's Dataset is read, for every path alike.

Discovery of variables (:mod:`~xh2cm.cf.variables`), the units registry and conversions
(:mod:`~xh2cm.cf.registry`, :mod:`~xh2cm.cf.units`), derivations of missing forcing
(:mod:`~xh2cm.cf.derive`), checks of values (:mod:`~xh2cm.cf.validate`,
:mod:`~xh2cm.cf.checks`), the preparation of forcing (:mod:`~xh2cm.cf.prepare`), of
observations (:mod:`~xh2cm.cf.observations`) and the options (:mod:`~xh2cm.cf.options`).
No JAX, and nothing from :mod:`xh2cm.xr` (the user layer above it).
"""
