"""xh2cm: hybrid modelling of the coupled terrestrial water and carbon cycles (H2CM).

``import xh2cm`` registers the ``xr.Dataset.h2cm`` accessor. JAX is imported
only when a model is built or run, so importing the package stays cheap.
"""

from xh2cm import catalog, datasets  # noqa: E402
from xh2cm._version import __version__ as __version__  # noqa: E402
from xh2cm.cf.options import set_options  # noqa: E402
from xh2cm.xr import accessor as _accessor  # noqa: F401,E402  (registers ds.h2cm)

#: Core names re-exported lazily (they import JAX).
_CORE = ("H2CM", "ModelConfig", "init_model", "simulate", "save_model", "load_model",
         "global_constants")

__all__ = ["catalog", "datasets", "set_options", *_CORE]


def __getattr__(name: str) -> object:
    if name in _CORE:
        import xh2cm.core

        return getattr(xh2cm.core, name)
    raise AttributeError(f"module 'xh2cm' has no attribute {name!r}")
