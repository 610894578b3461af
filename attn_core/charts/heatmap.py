"""Matrices as heatmaps: one rectangle per cell (hover shows exact values, a click can pick
a row), or, for large ones (a 256-token text makes 65 536 cells), one raster image inside
the same axes. Both use the same colour stops, interpolated the same way, so the two
renderings of a matrix look alike."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import altair as alt
import numpy as np

from attn_core.charts import summary
from attn_core.charts.base import (
    FIT_WIDTH,
    INKS,
    LABEL_INK,
    PAD,
    VALUE_CELLS,
    Table,
    builder,
    colour_scale,
    colours,
    heading,
    ink_for,
    is_raster,
    symmetric_domain,
)


@builder
def heatmap(
    matrix: np.ndarray,
    row_labels: list[str],
    col_labels: list[str] | None = None,
    *,
    palette: str = "diverging",
    domain: tuple[float, float] | None = None,
    title: str = "",
    x_title: str = "",
    y_title: str = "",
    value_title: str = "value",
    select: str | None = None,
    height: int | None = None,
    legend: str = "right",
):
    """A matrix as a heatmap: rows top to bottom, columns left to right.

    Parameters
    ----------
    matrix : ndarray, shape (R, C)
    row_labels : list of str, length R
        Distinct labels (see ``token_labels``).
    col_labels : list of str, length C, optional
        Distinct labels; ``None`` numbers the columns (for feature dimensions).
    palette : str, default "diverging"
        A name in ``PALETTES``: "diverging" is centred at 0; "weights" runs 0 (white) to 1
        (dark blue); each with a colour-blind-safe counterpart ("weights-safe"...).
    domain : (float, float), optional
        Colour range; by default ``(0, 1)`` for weights, else symmetric around 0: the
        largest magnitude for token x token matrices, the 99th percentile of magnitudes
        for token x feature ones.
    select : str, optional
        Name of a click selection on the cell (its row and column; vector rendering only).
    height : int, optional
        Plot height in pixels; by default about 28 px a row, within [140, 640]. A
        token x token matrix (``col_labels`` given) is drawn square, at most 520 px.
    legend : {"right", "bottom"}, default "right"
        Where the colour legend goes; "bottom" for charts set side by side.

    Every token is named on both axes while a cell is tall enough for a readable label
    (up to 24 tokens at every default size): labels grow with the cells, turn when they do
    not fit across, and long ones end in "…" (a cell's tooltip names its tokens). Past that,
    every k-th token is named and the chart says so under its title.

    Returns
    -------
    alt.LayerChart
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    rows, cols = matrix.shape
    if len(row_labels) != rows or (col_labels is not None and len(col_labels) != cols):
        raise ValueError(
            f"labels must match the matrix shape {matrix.shape}, got {len(row_labels)} rows"
            f" and {'numbered' if col_labels is None else len(col_labels)} columns"
        )
    weights = palette.startswith("weights")
    if domain is None and weights:
        domain = (0.0, 1.0)
    elif domain is None:
        domain = symmetric_domain(matrix, 1.0 if col_labels is not None else 0.99)
    domain = (float(domain[0]), float(domain[1]))
    square = col_labels is not None  # token x token: square cells, drawn at its own size
    if height is None:  # token x token cells get room for their rotated column labels
        height = int(np.clip((40 if square else 28) * rows, 140, 520 if square else 640))
    cell = height / rows  # pixels a row (and a column, when square)
    y_labels = axis_labels(row_labels, cell, across=False)
    x_labels = axis_labels(col_labels, cell) if square else None
    every = max(y_labels.every, x_labels.every if x_labels else 1)
    raster = is_raster(matrix.shape)  # an image: no cell answers hover
    about = summary.heatmap(matrix, row_labels, col_labels, value_title)
    size = (title, thinned_note(every, hover=not raster), height, square, legend)
    if raster:
        frames = {
            "image": {
                "x": [0],
                "x2": [cols],
                "y": [0],
                "y2": [rows],
                "url": [png_data_url(matrix, palette, domain)],
            },
            "ends": ends(domain),
        }
        shown = np.arange(0, rows, y_labels.every)
        frames["names"] = {"y": shown + 0.5, "label": [row_labels[i] for i in shown]}
        if square:  # the image's key axis counts positions; the query axis names tokens
            x_title = f"{x_title} (position)" if x_title else "position"
        layout = (rows, cols, palette, x_title, y_title, value_title, y_labels.font)
        return _raster_heatmap, (*layout, *size), frames, about
    cells = _cells(matrix, row_labels, col_labels, palette, domain)
    fmt = None
    if rows * cols <= VALUE_CELLS:  # few enough cells to print each value
        fmt = ".2f" if weights or np.abs(matrix).max() < 10 else ".1f"
    value_font = int(np.clip(round(cell * 0.38), 8, 18))  # "0.25" fits its cell
    # The tokens are data (their order a column), not structure: a new text of about the
    # same length reuses the chart's structure, which takes most of a chart's build.
    layout = (
        *(col_labels is None, cols),
        *(palette, x_title, y_title, value_title, select, fmt, value_font),
        *(y_labels, x_labels),
    )
    return _vector_heatmap, (*layout, *size), {"cells": cells, "ends": ends(domain)}, about


def ends(domain: tuple[float, float]) -> Table:
    """The two ends of a colour range, as the invisible points that set its scale."""
    return {"shade": list(domain)}


MIN_FONT, MAX_FONT = 9, 16
"""Axis labels are sized to their cells within these pixel sizes."""
LABEL_LIMIT = 110
"""Pixels of a label before it ends in "…"."""


@dataclass(frozen=True)
class AxisLabels:
    """How one axis names its tokens: font size, angle, and every how many a name."""

    font: int
    angle: int
    every: int
    values: tuple[str, ...] | None  # the named ones when thinned; None names them all


def axis_labels(labels: list[str] | None, cell: float, across: bool = True) -> AxisLabels:
    """Label style for an axis of ``labels``, ``cell`` pixels apart. Labels of a horizontal
    axis (``across``) turn when they do not fit; a vertical axis's labels never need to."""
    if labels is None:  # numbered feature dimensions: Vega's own ticks
        return AxisLabels(MIN_FONT, 0, 1, None)
    every = max(1, int(np.ceil(MIN_FONT * 1.05 / cell)))  # a label needs its font's height
    room = cell * every
    font = int(np.clip(round(room * 0.65), MIN_FONT, MAX_FONT))
    widest = min(max(0.6 * font * len(label) for label in labels), LABEL_LIMIT)
    if not across or widest <= room * 0.95:
        angle = 0
    elif room >= 1.6 * font:
        angle = -45
    else:
        angle = -90
    values = tuple(labels[::every]) if every > 1 else None
    return AxisLabels(font, angle, every, values)


def thinned_note(every: int, *, hover: bool = True) -> str:
    """What a chart says under its title when not every token is named (and, where its
    cells answer the pointer, where the others' names are)."""
    if every == 1:
        return ""
    nth = {2: "2nd", 3: "3rd"}.get(every, f"{every}th")
    return f"Every {nth} token named" + ("; hover a cell for its tokens" if hover else "")


def _axis(labels: AxisLabels, **kwargs) -> alt.Axis:
    extra = {} if labels.values is None else {"values": list(labels.values)}
    return alt.Axis(
        labelFontSize=labels.font,
        labelAngle=labels.angle,
        labelOverlap=False,
        labelLimit=LABEL_LIMIT,
        **extra,
        **kwargs,
    )


def _cells(matrix, row_labels, col_labels, palette, domain) -> Table:
    """One row per cell: its row and column, value, and the ink its printed value gets."""
    rows, cols = matrix.shape
    numbered = col_labels is None
    value = matrix.ravel()
    cells = {
        "row": np.repeat(row_labels, cols),
        "col": np.tile(np.arange(cols) if numbered else col_labels, rows),
        "value": value,
        "i": np.repeat(np.arange(rows), cols),  # the axes' order
    }
    if not numbered:
        cells["j"] = np.tile(np.arange(cols), rows)
    lo, hi = domain
    cells["shade"] = np.clip(value, lo, hi)  # the colour: clamped to the range
    # The ink that reads best on the cell's own colour, in any palette.
    cells["ink"] = ink_for(colours(value[None, :], palette, domain)[0])
    if numbered:  # feature dimensions: a continuous axis 0..C that stretches to any width
        cells["col_end"] = cells["col"] + 1
    return cells


def _sized(chart: alt.LayerChart, title, note, height, square, legend) -> alt.LayerChart:
    chart = chart.configure_legend(orient=legend)
    if square:
        return chart.properties(
            title=heading(title, note), height=height, width=height, autosize=PAD
        )
    return chart.properties(title=heading(title, note), height=height, autosize=FIT_WIDTH)


def _vector_heatmap(
    numbered,
    cols,
    palette,
    x_title,
    y_title,
    value_title,
    select,
    fmt,
    value_font,
    y_labels,
    x_labels,
    *size,
) -> alt.LayerChart:
    if numbered:  # feature dimensions: a continuous axis 0..C
        x = alt.X("col:Q", scale=alt.Scale(domain=[0, cols], nice=False), title=x_title)
        x_extra = {"x2": alt.X2("col_end")}
    else:
        x = alt.X("col:N", sort=_in_order("j"), title=x_title, axis=_axis(x_labels))
        x_extra = {}
    y_axis = _axis(y_labels)
    # The layers share one data set, given once to the layer.
    base = alt.Chart().encode(
        x=x, y=alt.Y("row:N", sort=_in_order("i"), title=y_title, axis=y_axis), **x_extra
    )
    tips = [
        alt.Tooltip("row:N", title=y_title or "row"),
        alt.Tooltip("col:N", title=x_title or "column"),
        alt.Tooltip("value:Q", title=value_title, format=".4f"),
    ]
    colour = alt.Color("shade:Q", scale=colour_scale(palette), title=value_title)
    rect = base.mark_rect().encode(color=colour, tooltip=tips)
    if select:
        pick = alt.selection_point(name=select, fields=["row", "col"], on="click", clear="dblclick")
        rect = rect.add_params(pick)
    layers = [rect]
    if fmt:
        # A printed value lies over its cell. It shows the cell's tooltip itself, or, in a
        # chart that takes clicks, has none, so the pointer passes through to the cell.
        if select:
            text = base.mark_text(fontSize=value_font, tooltip=None)
        else:
            text = base.mark_text(fontSize=value_font).encode(tooltip=tips)
        layers.append(
            text.encode(
                text=alt.Text("value:Q", format=fmt),
                # The ink by a test, not a scale: the colour scale is the cells' alone.
                color=alt.condition(
                    alt.datum.ink == INKS[0], alt.value(INKS[0]), alt.value(INKS[1])
                ),
            )
        )
    # The range mark shares the cells' colour scale but not their legend (a gradient; its
    # own would be one of symbols).
    layers.append(_range(palette, value_title, legend=False))
    chart = alt.layer(*layers, data=alt.Data(name="cells")).resolve_legend(color="independent")
    return _sized(chart, *size)


def _range(palette: str, value_title: str, legend: bool = True) -> alt.Chart:
    """An invisible mark at the two ends of the colour range: the colour scale's domain."""
    colour = alt.Color(
        "shade:Q",
        scale=colour_scale(palette),
        title=value_title,
        **({} if legend else {"legend": None}),
    )
    return alt.Chart(alt.Data(name="ends")).mark_point(opacity=0, tooltip=None).encode(color=colour)


def _in_order(position: str) -> alt.EncodingSortField:
    """Tokens along an axis in the order of their ``position`` column (text order)."""
    return alt.EncodingSortField(field=position, op="min")


def _raster_heatmap(
    rows, cols, palette, x_title, y_title, value_title, font, *size
) -> alt.LayerChart:
    image = (
        alt.Chart(alt.Data(name="image"))
        # sharp cells: one pixel per cell, unblurred; no tooltip (it would show the image's URL)
        .mark_image(aspect=False, smooth=False, tooltip=None)
        .encode(
            x=alt.X("x:Q", scale=alt.Scale(domain=[0, cols], nice=False), title=x_title),
            x2=alt.X2("x2"),
            y=alt.Y(
                "y:Q",
                scale=alt.Scale(domain=[0, rows], reverse=True, nice=False),
                # the names are a text layer (data, not structure): the axis keeps its title
                # clear of the longest one
                title=y_title,
                axis=alt.Axis(labels=False, ticks=False, titlePadding=LABEL_LIMIT + 8),
            ),
            y2=alt.Y2("y2"),
            url=alt.Url("url:N"),
        )
    )
    legend = _range(palette, value_title)  # the image's colours have no scale of their own
    names = (
        alt.Chart(alt.Data(name="names"))
        .mark_text(
            align="right",
            baseline="middle",
            dx=-4,
            fontSize=font,
            color=LABEL_INK,
            limit=LABEL_LIMIT,
            tooltip=None,
        )
        .encode(x=alt.XDatum(0), y=alt.Y("y:Q"), text=alt.Text("label:N"))
    )
    return _sized(alt.layer(image, legend, names), *size)


def png_data_url(matrix: np.ndarray, palette: str, domain: tuple[float, float]) -> str:
    """One pixel per cell; the image mark stretches it without smoothing."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(colours(matrix, palette, domain), mode="RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
