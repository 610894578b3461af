"""Arrays + labels -> Altair charts. Builders return charts; they never render.

Each builder makes its chart from two halves: a structure (marks, encodings, scales) whose
layers read named data sets, and those data sets. ``spec`` reuses the structure while only
the numbers change, which is what most slider moves do.

Small matrices become one rectangle per cell (hover shows exact values, a click can pick a
row). Large ones (a 256-token text makes 65 536 cells) become one raster image inside the
same axes, so the browser draws one mark instead of tens of thousands. Both use the same
colour stops, interpolated the same way, so the two renderings of a matrix look alike.

Modules: ``base`` (palettes, labels, the two-halves builder), ``heatmap``, ``plots``
(bars, loss curve, geometry), ``grid`` (every head at once).

Encodings are written as channel objects (``alt.X2("x2")``), never as shorthand strings:
Altair turns each string into a channel through its slow schema lookup, and these charts
are rebuilt on every slider move.
"""

from attn_core.charts.base import (
    AFTER_COLOUR,
    BEFORE_COLOUR,
    DIVERGING,
    SEQUENTIAL,
    builder,
    colour_scale,
    colours,
    is_raster,
    json_ready,
    readable,
    spec,
    symmetric_domain,
    token_labels,
)
from attn_core.charts.grid import head_grid
from attn_core.charts.heatmap import heatmap
from attn_core.charts.plots import bars, geometry, loss_curve

__all__ = [
    "AFTER_COLOUR",
    "BEFORE_COLOUR",
    "DIVERGING",
    "SEQUENTIAL",
    "bars",
    "builder",
    "colour_scale",
    "colours",
    "geometry",
    "head_grid",
    "heatmap",
    "is_raster",
    "json_ready",
    "loss_curve",
    "readable",
    "spec",
    "symmetric_domain",
    "token_labels",
]
