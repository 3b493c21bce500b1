"""Plotly figures, one function per figure, one module per area. Every chart has a
title, axis labels with units and hover text; functions take tidy data and return
a :class:`plotly.graph_objects.Figure`."""

from __future__ import annotations

import copy
import functools
from typing import Any

#: The template of every report figure that sets one.
TEMPLATE = "plotly_white"


@functools.cache
def _validated_template(name: str) -> Any:
    import plotly.io as pio

    # what plotly's template validator makes of ``template=name``, made once per process
    return copy.deepcopy(pio.templates[name])


def use_template(fig: Any, name: str = TEMPLATE) -> Any:
    """``fig.update_layout(template=name)``, the same JSON, without validating the template again.

    Plotly deep-copies and re-validates a registered template every time a figure names it
    (about 15 ms, a tenth of the report's figure time); here the validated copy is made once and
    each figure stores a plain copy of its properties, as plotly itself sets its default template.
    Falls back to ``update_layout`` where the layout has no such switch.
    """
    layout = fig.layout
    if not hasattr(layout, "_validate") or not getattr(fig, "_allow_disable_validation", False):
        return fig.update_layout(template=name)
    layout._validate = False
    try:
        layout.template = _validated_template(name)   # stored as a deep copy of its properties
    finally:
        layout._validate = fig._validate
    return fig
