"""Static figures for the built notebooks (imported by a hidden first cell of each one).

In Jupyter, a holoviews/hvplot object draws itself with a live kernel. On the static site there
is none, so this shows each holoviews object as a bokeh figure embedded in the page (its initial
frame: a widget's first value). BokehJS itself is loaded once per page by ``docs/conf.py``, from
the installed bokeh, so the page fetches nothing from the network.
"""

from __future__ import annotations

from typing import Any

import holoviews as hv
from bokeh.embed import components
from IPython import get_ipython


def _bundle(obj: Any, include: Any = None, exclude: Any = None) -> dict[str, str]:
    script, div = components(hv.render(obj, backend="bokeh"))
    return {"text/html": f'<div class="xh2cm-figure">{div}</div>{script}'}


def enable() -> None:
    """Show every holoviews object as an embedded bokeh figure from now on."""
    hv.extension("bokeh", logo=False)
    shell = get_ipython()
    if shell is None:  # plain Python (the cells run as a script): nothing to show
        return
    shell.display_formatter.mimebundle_formatter.for_type(hv.core.Dimensioned, _bundle)
