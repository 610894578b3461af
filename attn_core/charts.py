"""Arrays + labels -> Altair charts. Builders return charts; they never render.

Each builder makes its chart from two halves: a structure (marks, encodings, scales) whose
layers read named data sets, and those data sets. ``spec`` reuses the structure while only
the numbers change, which is what most slider moves do.

Small matrices become one rectangle per cell (hover shows exact values, a click can pick a
row). Large ones (a 256-token text makes 65 536 cells) become one raster image inside the
same axes, so the browser draws one mark instead of tens of thousands. Both use the same
colour stops, interpolated the same way, so the two renderings of a matrix look alike.

Encodings are written as channel objects (``alt.X2("x2")``), never as shorthand strings:
Altair turns each string into a channel through its slow schema lookup, and these charts
are rebuilt on every slider move.
"""

from __future__ import annotations

import base64
import functools
import io
import json
from collections import Counter
from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd

from attn_core.reduce import Plane

DIVERGING = (
    *("#2166ac", "#4393c3", "#92c5de", "#d1e5f0"),
    "#f7f7f7",
    *("#fddbc7", "#f4a582", "#d6604d", "#b2182b"),
)
"""Blue (negative) - white (0) - red (positive), ColorBrewer RdBu."""
SEQUENTIAL = (
    *("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6"),
    *("#4292c6", "#2171b5", "#08519c", "#08306b"),
)
"""White (0) to dark blue (1), ColorBrewer Blues: attention weights."""

RASTER_CELLS = 2500
"""Above this many cells a heatmap is drawn as one image."""
RASTER_COLUMNS = 64
"""Wider than this (a model's 384 features) a heatmap is one image at any number of rows:
its cells are a few pixels wide, too thin to hover, and thousands of marks redraw slowly."""
VALUE_CELLS = 144
"""Up to this many cells (12 x 12) the values are printed inside the cells."""
LABELLED_ROWS = 64
"""Up to this many rows a raster heatmap still names each row."""
BEFORE_COLOUR, AFTER_COLOUR = "#7f7f7f", "#d6604d"
INKS = ["white", "#222222"]
"""Text colours on dark and on light cells."""
LABEL_INK = "#80858f"
"""Text beside the marks (values by bars, token names): legible on light and dark themes."""
# Sizes are those of the data area; axes, labels and titles come on top. FIT_WIDTH also
# stretches the width to the page column. (Streamlit's own default, "fit", squeezes the
# axes into the given height instead, which flattens charts with long labels.)
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
PAD = alt.AutoSizeParams(type="pad", contains="padding")
"""Text colours on dark and on light cells."""


def token_labels(tokens: list[str]) -> list[str]:
    """One distinct label per position: repeated tokens get ``#1``, ``#2``… suffixes.

    A WordPiece token never contains a space, so ``"the #2"`` cannot collide with a token.
    """
    counts = Counter(tokens)
    seen: Counter[str] = Counter()
    labels = []
    for tok in tokens:
        seen[tok] += 1
        labels.append(f"{tok} #{seen[tok]}" if counts[tok] > 1 else tok)
    return labels


def is_raster(shape: tuple[int, int]) -> bool:
    """Whether ``heatmap`` draws a matrix of this shape as one image (no hover, no clicks)."""
    return shape[0] * shape[1] > RASTER_CELLS or shape[1] > RASTER_COLUMNS


def colour_scale(palette: str, domain: tuple[float, float]) -> alt.Scale:
    """The Altair colour scale for ``palette`` ("diverging" or "weights") over ``domain``."""
    stops = DIVERGING if palette == "diverging" else SEQUENTIAL
    return alt.Scale(domain=list(domain), range=list(stops), interpolate="rgb", clamp=True)


def symmetric_domain(matrix: np.ndarray, quantile: float = 1.0) -> tuple[float, float]:
    """``(-m, m)`` around 0, so 0 sits at the white midpoint.

    ``m`` is the largest magnitude, or with ``quantile < 1`` that quantile of the
    magnitudes: embedding tables have a few outlier dimensions that would otherwise wash
    every other cell out to white (the colour scale clamps; hover shows exact values).
    """
    m = float(np.quantile(np.abs(matrix), quantile)) if matrix.size else 1.0
    return (-m, m) if m > 0 else (-1.0, 1.0)


Frames = dict[str, pd.DataFrame]
"""A chart's data sets by name; its layers refer to them by name only."""


def builder(parts: Callable[..., tuple[Callable[..., alt.TopLevelMixin], tuple, Frames]]):
    """Make a chart builder from a function that returns a chart in two halves.

    ``parts(*args, **kwargs)`` returns ``(draw, layout, frames)``: ``draw(*layout)`` makes
    the chart's structure (marks, encodings, scales, titles) with every layer reading a
    named data set, and ``frames`` holds those data sets. A slider move usually changes
    the numbers but not the layout, so ``spec`` builds each layout's structure once and
    only makes new frames after that; the builder itself returns the whole Altair chart.
    """

    @functools.wraps(parts)
    def build(*args, **kwargs) -> alt.TopLevelMixin:
        draw, layout, frames = parts(*args, **kwargs)
        chart = draw(*layout)
        chart.datasets = {name: frame.to_dict("records") for name, frame in frames.items()}
        return chart

    build.parts = parts
    return build


def spec(build: Callable, *args, **kwargs) -> dict:
    """``build(*args, **kwargs).to_dict()``, quickly: what the page draws on every rerun.

    The structure comes from a cache of one per layout; the data sets are the DataFrames
    themselves (Streamlit sends them as Arrow; ``json_ready`` makes them records again).
    """
    draw, layout, frames = build.parts(*args, **kwargs)
    return {**json.loads(_structure(draw, layout)), "datasets": dict(frames)}


@functools.lru_cache(maxsize=512)
def _structure(draw: Callable[..., alt.TopLevelMixin], layout: tuple) -> str:
    # Kept as JSON: each call gets its own copy of the nested dicts, which Streamlit edits.
    # Not validated here: the tests validate every builder's whole output.
    return json.dumps(draw(*layout).to_dict(validate=False))


def json_ready(spec: dict) -> dict:
    """A spec from ``spec`` with its data sets as lists of records, as Vega-Lite files hold."""
    datasets = {
        name: rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
        for name, rows in spec.get("datasets", {}).items()
    }
    return {**spec, "datasets": datasets}


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
    palette : {"diverging", "weights"}
        Diverging is centred at 0; weights runs 0 (white) to 1 (dark blue).
    domain : (float, float), optional
        Colour range; by default ``(0, 1)`` for weights, else symmetric around 0: the
        largest magnitude for token x token matrices, the 99th percentile of magnitudes
        for token x feature ones.
    select : str, optional
        Name of a click selection on the row (vector rendering only), for picking a token.
    height : int, optional
        Plot height in pixels; by default about 28 px a row, within [140, 640]. A
        token x token matrix (``col_labels`` given) is drawn square, at most 520 px.
    legend : {"right", "bottom"}, default "right"
        Where the colour legend goes; "bottom" for charts set side by side.

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
    if domain is None and palette == "weights":
        domain = (0.0, 1.0)
    elif domain is None:
        domain = symmetric_domain(matrix, 1.0 if col_labels is not None else 0.99)
    domain = (float(domain[0]), float(domain[1]))
    square = col_labels is not None  # token x token: square cells, drawn at its own size
    if height is None:  # token x token cells get room for their rotated column labels
        height = int(np.clip((40 if square else 28) * rows, 140, 520 if square else 640))
    size = (title, height, square, legend)
    if is_raster(matrix.shape):
        frames = {
            "image": pd.DataFrame(
                {
                    "x": [0],
                    "x2": [cols],
                    "y": [0],
                    "y2": [rows],
                    "url": [_png_data_url(matrix, palette, domain)],
                }
            ),
            "ends": pd.DataFrame({"value": list(domain)}),
        }
        if rows <= LABELLED_ROWS:
            frames["names"] = pd.DataFrame({"y": np.arange(rows) + 0.5, "label": row_labels})
        layout = (rows, cols, palette, domain, x_title, value_title, rows <= LABELLED_ROWS)
        return _raster_heatmap, (*layout, *size), frames
    cells = _cells(matrix, row_labels, col_labels, palette, domain)
    fmt = None
    if rows * cols <= VALUE_CELLS:  # few enough cells to print each value
        fmt = ".2f" if palette == "weights" or np.abs(matrix).max() < 10 else ".1f"
    layout = (
        *(tuple(row_labels), None if col_labels is None else tuple(col_labels), cols),
        *(palette, domain, x_title, y_title, value_title, select, fmt),
    )
    return _vector_heatmap, (*layout, *size), {"cells": cells}


def _cells(matrix, row_labels, col_labels, palette, domain) -> pd.DataFrame:
    """One row per cell: its row and column, value, and the ink its printed value gets."""
    rows, cols = matrix.shape
    numbered = col_labels is None
    frame = pd.DataFrame(
        {
            "row": np.repeat(row_labels, cols),
            "col": np.tile(np.arange(cols) if numbered else col_labels, rows),
            "value": matrix.ravel(),
        }
    )
    lo, hi = domain
    # Dark ink on light cells, white ink on dark ones: relative position in the colour range.
    position = (frame["value"] - lo) / (hi - lo if hi > lo else 1.0)
    dark = (position > 0.8) | ((position < 0.2) if palette == "diverging" else False)
    frame["ink"] = np.where(dark, INKS[0], INKS[1])
    if numbered:  # feature dimensions: a continuous axis 0..C that stretches to any width
        frame["col_end"] = frame["col"] + 1
    return frame


def _sized(chart: alt.LayerChart, title, height, square, legend) -> alt.LayerChart:
    chart = chart.configure_legend(orient=legend)
    if square:
        return chart.properties(title=title, height=height, width=height, autosize=PAD)
    return chart.properties(title=title, height=height, autosize=FIT_WIDTH)


def _vector_heatmap(
    row_labels,
    col_labels,
    cols,
    palette,
    domain,
    x_title,
    y_title,
    value_title,
    select,
    fmt,
    *size,
) -> alt.LayerChart:
    if col_labels is None:  # feature dimensions: a continuous axis 0..C
        x = alt.X("col:Q", scale=alt.Scale(domain=[0, cols], nice=False), title=x_title)
        x_extra = {"x2": alt.X2("col_end")}
    else:
        x = alt.X("col:N", sort=list(col_labels), title=x_title, axis=alt.Axis(labelAngle=-45))
        x_extra = {}
    y_axis = alt.Axis(labelLimit=160, labelOverlap=False)
    # The layers share one data set, given once to the layer.
    base = alt.Chart().encode(
        x=x, y=alt.Y("row:N", sort=list(row_labels), title=y_title, axis=y_axis), **x_extra
    )
    tips = [
        alt.Tooltip("row:N", title=y_title or "row"),
        alt.Tooltip("col:N", title=x_title or "column"),
        alt.Tooltip("value:Q", title=value_title, format=".4f"),
    ]
    colour = alt.Color("value:Q", scale=colour_scale(palette, domain), title=value_title)
    rect = base.mark_rect().encode(color=colour, tooltip=tips)
    if select:
        pick = alt.selection_point(name=select, fields=["row"], on="click", clear="dblclick")
        rect = rect.add_params(pick)
    layers = [rect]
    if fmt:
        # A printed value lies over its cell. It shows the cell's tooltip itself, or, in a
        # chart that takes clicks, has none, so the pointer passes through to the cell.
        if select:
            text = base.mark_text(fontSize=13, tooltip=None)
        else:
            text = base.mark_text(fontSize=13).encode(tooltip=tips)
        layers.append(
            text.encode(
                text=alt.Text("value:Q", format=fmt),
                # An identity mapping; Vega-Lite 6 rejects the shorter "scale": null.
                color=alt.Color("ink:N", scale=alt.Scale(domain=INKS, range=INKS), legend=None),
            )
        )
    return _sized(alt.layer(*layers, data=alt.Data(name="cells")), *size)


def _raster_heatmap(
    rows, cols, palette, domain, x_title, value_title, labelled, *size
) -> alt.LayerChart:
    image = (
        alt.Chart(alt.Data(name="image"))
        # sharp cells: one pixel per cell, unblurred; no tooltip (it would show the image's URL)
        .mark_image(aspect=False, smooth=False, tooltip=None)
        .encode(
            x=alt.X("x:Q", scale=alt.Scale(domain=[0, cols], nice=False), title=x_title),
            x2=alt.X2("x2"),
            y=alt.Y("y:Q", scale=alt.Scale(domain=[0, rows], reverse=True, nice=False), axis=None),
            y2=alt.Y2("y2"),
            url=alt.Url("url:N"),
        )
    )
    # An invisible mark at the two ends of the colour scale gives the image its legend.
    legend = (
        alt.Chart(alt.Data(name="ends"))
        .mark_point(opacity=0, tooltip=None)
        .encode(color=alt.Color("value:Q", scale=colour_scale(palette, domain), title=value_title))
    )
    layers = [image, legend]
    if labelled:
        layers.append(
            alt.Chart(alt.Data(name="names"))
            .mark_text(
                align="right", baseline="middle", dx=-4, fontSize=11, color=LABEL_INK, tooltip=None
            )
            .encode(x=alt.XDatum(0), y=alt.Y("y:Q"), text=alt.Text("label:N"))
        )
    return _sized(alt.layer(*layers), *size)


def colours(matrix: np.ndarray, palette: str, domain: tuple[float, float]) -> np.ndarray:
    """RGB bytes ``(R, C, 3)`` of each cell, as ``colour_scale`` draws it (linear RGB)."""
    stops = DIVERGING if palette == "diverging" else SEQUENTIAL
    rgb = np.array([[int(s[k : k + 2], 16) for k in (1, 3, 5)] for s in stops], dtype=float)
    lo, hi = domain
    t = np.clip((matrix - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)  # (R, C) in [0, 1]
    grid = np.linspace(0.0, 1.0, len(stops))  # (S,)
    channels = [np.interp(t, grid, rgb[:, c]) for c in range(3)]  # 3 x (R, C)
    return np.rint(np.stack(channels, axis=-1)).astype(np.uint8)  # (R, C, 3)


def _png_data_url(matrix: np.ndarray, palette: str, domain: tuple[float, float]) -> str:
    """One pixel per cell; the image mark stretches it without smoothing."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(colours(matrix, palette, domain), mode="RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@builder
def bars(
    values: np.ndarray,
    labels: list[str],
    *,
    title: str = "",
    value_title: str = "value",
    domain: tuple[float, float] | None = None,
    colour: str = "#4292c6",
    fmt: str = ".2f",
    height: int | None = None,
):
    """One horizontal bar per label, in the given order, with the value printed.

    Returns
    -------
    alt.LayerChart
    """
    frame = pd.DataFrame({"label": labels, "value": np.asarray(values, dtype=np.float64)})
    height = height or int(np.clip(22 * len(labels), 80, 640))
    domain = None if domain is None else (float(domain[0]), float(domain[1]))
    layout = (tuple(labels), title, value_title, domain, colour, fmt, height)
    return _bars, layout, {"bars": frame}


def _bars(labels, title, value_title, domain, colour, fmt, height) -> alt.LayerChart:
    scale = alt.Scale(domain=list(domain)) if domain else alt.Undefined
    base = alt.Chart().encode(
        y=alt.Y("label:N", sort=list(labels), title=None, axis=alt.Axis(labelLimit=160)),
        x=alt.X("value:Q", title=value_title, scale=scale),
        tooltip=[alt.Tooltip("label:N", title="token"), alt.Tooltip("value:Q", format=".4f")],
    )
    layers = [base.mark_bar(color=colour)]
    if len(labels) <= 40:
        layers.append(
            base.mark_text(align="left", dx=3, fontSize=12, color=LABEL_INK).encode(
                text=alt.Text("value:Q", format=fmt)
            )
        )
    chart = alt.layer(*layers, data=alt.Data(name="bars"))
    return chart.properties(title=title, height=height, autosize=FIT_WIDTH)


@builder
def loss_curve(losses: np.ndarray, *, at: int | None = None, title: str = "", height: int = 240):
    """The loss after each training step, with a rule at step ``at``.

    Returns
    -------
    alt.LayerChart
    """
    losses = np.asarray(losses, dtype=np.float64)
    frames = {"curve": pd.DataFrame({"step": np.arange(len(losses)), "loss": losses})}
    if at is not None:
        if not 0 <= at < len(losses):
            raise ValueError(f"at must be a step in 0..{len(losses) - 1}, got {at}")
        frames["here"] = pd.DataFrame({"step": [at], "loss": [losses[at]]})
    return _loss_curve, (len(losses), at is not None, title, height), frames


def _loss_curve(steps, marked, title, height) -> alt.LayerChart:
    line = (
        alt.Chart(alt.Data(name="curve"))
        .mark_line(color="#2171b5", strokeWidth=2.5)
        .encode(
            x=alt.X("step:Q", title="training step", scale=alt.Scale(domain=[0, steps - 1])),
            y=alt.Y("loss:Q", title="loss (mean KL, nats)", scale=alt.Scale(zero=True)),
            tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("loss:Q", format=".4f")],
        )
    )
    layers = [line]
    if marked:
        marker = alt.Chart(alt.Data(name="here")).encode(x=alt.X("step:Q"), y=alt.Y("loss:Q"))
        layers += [
            alt.Chart(alt.Data(name="here"))
            .mark_rule(color=LABEL_INK, strokeDash=[4, 3])
            .encode(x=alt.X("step:Q")),
            marker.mark_point(color="#08306b", filled=True, size=90),
            marker.mark_text(align="left", dx=8, dy=-10, fontSize=13, color="#08306b").encode(
                text=alt.Text("loss:Q", format=".3f")
            ),
        ]
    return alt.layer(*layers).properties(title=title, height=height, autosize=FIT_WIDTH)


@builder
def geometry(
    plane: Plane,
    labels: list[str],
    *,
    before_name: str = "x (before)",
    after_name: str = "y (after)",
    title: str = "",
    size: int = 520,
    show_labels: bool | None = None,
    label_stage: str = "before",
):
    """Before and after points in one plane, an arrow from each ``before[i]`` to ``after[i]``.

    Both axes get the same span, so directions and distances are not distorted: two
    invisible corner points, a square around every point, set the scales' extent (as data,
    so a move of the points changes the data and not the chart). Labels go on the
    ``label_stage`` points ("before" or "after"), by default when up to 40 tokens.

    Returns
    -------
    alt.LayerChart
    """
    t = len(labels)
    bx, by = plane.before[:, 0], plane.before[:, 1]
    ax, ay = plane.after[:, 0], plane.after[:, 1]
    everything = np.concatenate([plane.before, plane.after])
    centre = (everything.max(axis=0) + everything.min(axis=0)) / 2
    half = max(float((everything.max(axis=0) - everything.min(axis=0)).max()) / 2 * 1.15, 1e-9)
    points = pd.DataFrame(
        {
            "token": list(labels) * 2,
            "x": np.concatenate([bx, ax]),
            "y": np.concatenate([by, ay]),
            "stage": [before_name] * t + [after_name] * t,
        }
    )
    frames = {
        "corners": pd.DataFrame(
            {"x": centre[0] + np.array([-half, half]), "y": centre[1] + np.array([-half, half])}
        ),
        "moves": pd.DataFrame(
            {
                "token": labels,
                "x": bx,
                "y": by,
                "x2": ax,
                "y2": ay,
                # Vega's angle is clockwise from "up"; axes share one span: data angle = screen.
                "angle": np.degrees(np.arctan2(ax - bx, ay - by)),
            }
        ),
        "points": points,
    }
    show = show_labels if show_labels is not None else t <= 40
    labelled = (after_name if label_stage == "after" else before_name) if show else None
    layout = (before_name, after_name, *plane.axis_titles, title, size, labelled)
    return _geometry, layout, frames


def _geometry(before_name, after_name, x_title, y_title, title, size, labelled) -> alt.LayerChart:
    # The scales take their extent from the data: the corners hold every point inside.
    x_scale, y_scale = alt.Scale(nice=False, zero=False), alt.Scale(nice=False, zero=False)
    xs, ys = alt.X("x:Q", scale=x_scale, title=x_title), alt.Y("y:Q", scale=y_scale, title=y_title)
    corners = alt.Chart(alt.Data(name="corners")).mark_point(opacity=0, tooltip=None)
    corners = corners.encode(x=xs, y=ys)
    moves = alt.Chart(alt.Data(name="moves"))
    arrows = moves.mark_rule(color="#999999", strokeWidth=1.2).encode(
        x=xs, y=ys, x2=alt.X2("x2"), y2=alt.Y2("y2")
    )
    heads = moves.mark_point(shape="triangle-up", size=60, filled=True, color="#999999").encode(
        x=alt.X("x2:Q", scale=x_scale), y=alt.Y("y2:Q", scale=y_scale), angle=alt.Angle("angle:Q")
    )
    stage_colour = alt.Color(
        "stage:N",
        scale=alt.Scale(domain=[before_name, after_name], range=[BEFORE_COLOUR, AFTER_COLOUR]),
        legend=alt.Legend(title=None, orient="top"),
    )
    dots = (
        alt.Chart(alt.Data(name="points"))
        .mark_circle(size=90, opacity=0.9)
        .encode(
            x=xs,
            y=ys,
            color=stage_colour,
            tooltip=[
                alt.Tooltip("token:N"),
                alt.Tooltip("stage:N"),
                alt.Tooltip("x:Q", format=".3f"),
                alt.Tooltip("y:Q", format=".3f"),
            ],
        )
    )
    layers = [corners, arrows, heads, dots]
    if labelled:  # the names, beside the points of one stage
        layers.append(
            alt.Chart(alt.Data(name="points"))
            .transform_filter(alt.FieldEqualPredicate(field="stage", equal=labelled))
            .mark_text(align="left", dx=7, dy=-7, fontSize=13, color=LABEL_INK)
            .encode(x=xs, y=ys, text=alt.Text("token:N"))
        )
    return alt.layer(*layers).properties(title=title, width=size, height=size, autosize=PAD)
