"""The model view: every head's attention as a small picture, one row per layer."""

from __future__ import annotations

import base64
import io

import altair as alt
import numpy as np

from attn_core.charts import summary
from attn_core.charts.base import LABEL_INK, builder, colours
from attn_core.charts.heatmap import png_data_url
from attn_core.validation import check_array

THUMB_PIXELS = 48
"""A thumbnail holds at most this many pixels a side: longer texts are averaged down."""


def shrink(matrix: np.ndarray, side: int = THUMB_PIXELS) -> np.ndarray:
    """``(T, T) -> (s, s)`` with ``s = min(T, side)``: each pixel the mean of its block."""
    t = matrix.shape[0]
    if t <= side:
        return matrix
    edges = np.linspace(0, t, side + 1).round().astype(int)  # (s + 1,)
    rows = np.add.reduceat(matrix, edges[:-1], axis=0) / np.diff(edges)[:, None]  # (s, T)
    return np.add.reduceat(rows, edges[:-1], axis=1) / np.diff(edges)[None, :]  # (s, s)


IDENTITY = alt.Scale(domain=[0, 3], range=[0, 3])
"""Outline widths as given (Vega-Lite 6 rejects ``"scale": null``)."""


def thumbnail(weights: np.ndarray, palette: str = "weights") -> str:
    """One head's ``(T, T)`` attention as a small PNG, from 0 to its largest weight."""
    return png_data_url(shrink(weights), palette, (0.0, float(weights.max())))


def atlas(weights: np.ndarray, palette: str = "weights") -> tuple[str, int]:
    """Every head's thumbnail in one PNG, as ``thumbnail`` paints each, and its side ``s``.

    ``weights`` ``(L, H, T, T)`` -> an image of L x H tiles, layer by layer, each ``s x s``
    pixels (``s = min(T, THUMB_PIXELS)``) from 0 to that head's largest weight: what the
    page's grid draws, in a few bytes a pixel however long the text.
    """
    from PIL import Image

    weights = np.asarray(weights, dtype=np.float64)  # (L, H, T, T)
    tiles = [
        np.concatenate([colours(shrink(w), palette, (0.0, float(w.max()))) for w in heads], 1)
        for heads in weights
    ]  # L x (s, H s, 3)
    buffer = io.BytesIO()
    Image.fromarray(np.concatenate(tiles, axis=0), mode="RGB").save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return url, min(weights.shape[2], THUMB_PIXELS)


@builder
def head_grid(
    weights: np.ndarray,
    *,
    on_show: tuple[int, int] | None = None,
    select: str | None = None,
    size: int = 56,
    title: str = "",
    palette: str = "weights",
):
    """Every head's attention, ``weights`` ``(L, H, T, T)``, as an L x H grid of pictures.

    Each picture runs from 0 to that head's largest weight (``palette``: "weights", white
    to dark blue, or "weights-safe"), so a head's pattern shows whatever its scale.
    ``on_show`` = ``(layer, head)`` is outlined; ``select`` names a click selection on
    ``layer`` and ``head``.

    Returns
    -------
    alt.LayerChart
    """
    weights = check_array(weights, "weights", ("L", "H", "T", "T"))
    layers, heads = weights.shape[:2]
    cells = [(layer, head) for layer in range(layers) for head in range(heads)]
    table = {
        "layer": [layer for layer, _ in cells],
        "head": [head for _, head in cells],
        "url": [thumbnail(weights[layer, head], palette) for layer, head in cells],
        "edge": [3.0 if cell == on_show else 0.0 for cell in cells],
    }
    about = summary.head_grid(weights, on_show)
    return _head_grid, (layers, heads, select, size, title), {"heads": table}, about


def _head_grid(layers, heads, select, size, title) -> alt.LayerChart:
    step = alt.Step(size + 8)
    x = alt.X("head:O", title="head", axis=alt.Axis(orient="top", labelAngle=0))
    y = alt.Y("layer:O", title="layer")
    base = alt.Chart().encode(x=x, y=y)
    pictures = base.mark_image(width=size, height=size, smooth=False, tooltip=None).encode(
        url=alt.Url("url:N")
    )
    frames = base.mark_rect(fill="white", fillOpacity=0.001, stroke="#d6604d").encode(
        strokeWidth=alt.StrokeWidth(
            "edge:Q", scale=alt.Scale(domain=[0, 3], range=[0, 3]), legend=None
        ),
        tooltip=[alt.Tooltip("layer:O"), alt.Tooltip("head:O")],
    )
    if select:
        frames = frames.add_params(
            alt.selection_point(name=select, fields=["layer", "head"], on="click", clear=False)
        )
    chart = alt.layer(pictures, frames, data=alt.Data(name="heads"))
    chart = chart.properties(title=title, width=step, height=step).configure_view(strokeWidth=0)
    return chart.configure_axis(labelColor=LABEL_INK, domain=False, ticks=False)
