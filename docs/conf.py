"""Sphinx configuration of the xh2cm documentation site.

Build (from the repository root, with the ``docs`` extra installed)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Sphinx rather than MkDocs: the API reference comes from the numpydoc docstrings through
autodoc/autosummary, which list every public object of a module by themselves (so the reference
follows the code), ``sphinx-autosummary-accessors`` documents ``Dataset.h2cm.*`` as xarray
does, and myst-nb executes the MyST-Markdown notebooks of the gallery at build time. The API
lists are generated here, at build time, from the package itself (``_write_api_lists``): a new
module, function or accessor method appears without an edit of these pages.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import shutil
import sys
from pathlib import Path

import sphinx_autosummary_accessors

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PYTHONPATH", str(ROOT))  # the notebook kernels import this checkout

import xh2cm  # noqa: E402

project = "xh2cm"
author = "the xh2cm developers"
release = version = xh2cm.__version__
copyright = "the xh2cm developers"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_autosummary_accessors",
]
templates_path = ["_templates", sphinx_autosummary_accessors.templates_path]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md", "jupyter_execute"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
root_doc = "index"

# the API reference: every public member, documented from its numpydoc docstring
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options: dict[str, bool] = {}
autodoc_typehints = "none"  # numpydoc's Parameters section documents the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

# MyST: the pages are Markdown; the notebooks are MyST-NB text notebooks run at build time
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("XH2CM_DOCS_EXECUTE", "force")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
# holoviews' notebook loaders fetch BokehJS and Panel from a CDN; the static figures
# (docs/notebooks/static_figures.py) need neither, so these outputs are left out of the pages
nb_mime_priority_overrides = [
    ("html", mime, None) for mime in (
        "application/javascript", "application/vnd.holoviews_load.v0+json",
        "application/vnd.holoviews_exec.v0+json", "application/vnd.bokehjs_load.v0+json",
        "application/vnd.bokehjs_exec.v0+json")
]

html_theme = "pydata_sphinx_theme"
html_title = f"xh2cm {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = ["_static_bokeh"]
#: BokehJS of the installed bokeh, loaded on every page for the notebooks' figures
#: (docs/notebooks/static_figures.py), copied here at build time so no page needs the network
BOKEH_JS = ("bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables", "bokeh-mathjax")
html_js_files = [f"{name}.min.js" for name in BOKEH_JS]
html_show_sourcelink = False

# warnings are errors (-W); every reference to a page, label or Python object must resolve
nitpicky = False
# (the outputs dropped above would each warn; no other output has these mime types)
suppress_warnings = ["mystnb.unknown_mime_type", "mystnb.mime_priority"]

API = DOCS / "api"


def _public_modules() -> list[str]:
    """Every module of the package whose name has no leading underscore."""
    names = ["xh2cm"]
    for info in pkgutil.walk_packages(xh2cm.__path__, "xh2cm."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _accessor_methods() -> list[str]:
    """The public methods of ``Dataset.h2cm``, as the accessor class defines them."""
    cls = importlib.import_module("xh2cm.xr.accessor").H2CMAccessor
    return [n for n, v in inspect.getmembers(cls, inspect.isfunction) if not n.startswith("_")]


def _write_api_lists() -> None:
    API.mkdir(parents=True, exist_ok=True)
    modules = "\n".join(f"   {m}" for m in _public_modules())
    (API / "modules.rst").write_text(
        "Modules\n=======\n\nEvery public module of the package (generated from the package by"
        " ``docs/conf.py``).\n\n.. autosummary::\n   :toctree: generated\n"
        f"   :template: module.rst\n\n{modules}\n")
    methods = "\n".join(f"   Dataset.h2cm.{m}" for m in _accessor_methods())
    (API / "accessor.rst").write_text(
        "The Dataset.h2cm accessor\n=========================\n\n"
        "``import xh2cm`` registers it; every method forwards to one function of the xarray or "
        "analysis layer, named in its docstring (:class:`xh2cm.xr.accessor.H2CMAccessor`)."
        "\n\n.. currentmodule:: xarray\n\n.. autosummary::\n   :toctree: generated\n"
        f"   :template: autosummary/accessor_method.rst\n\n{methods}\n")


def _copy_bokeh_js() -> None:
    import bokeh

    src = Path(bokeh.__file__).parent / "server" / "static" / "js"
    dest = DOCS / "_static_bokeh"
    dest.mkdir(exist_ok=True)
    for name in BOKEH_JS:
        shutil.copyfile(src / f"{name}.min.js", dest / f"{name}.min.js")


_write_api_lists()
_copy_bokeh_js()
