"""Token bars, the training loss curve, and the before/after map of the geometry step."""

from __future__ import annotations

import altair as alt
import numpy as np

from attn_core.charts import summary
from attn_core.charts.base import (
    AFTER_COLOUR,
    BEFORE_COLOUR,
    FIT_WIDTH,
    LABEL_INK,
    PAD,
    builder,
)
from attn_core.charts.placing import place_labels
from attn_core.reduce import Plane
from attn_core.validation import check_index


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
    table = {
        "label": list(labels),
        "value": np.asarray(values, dtype=np.float64),
        "i": np.arange(len(labels)),  # the bars' order: data, so new labels reuse the layout
    }
    height = height or int(np.clip(22 * len(labels), 80, 640))
    domain = None if domain is None else (float(domain[0]), float(domain[1]))
    layout = (len(labels) <= 40, title, value_title, domain, colour, fmt, height)
    return _bars, layout, {"bars": table}, summary.bars(table["value"], labels, value_title)


def _bars(printed, title, value_title, domain, colour, fmt, height) -> alt.LayerChart:
    scale = alt.Scale(domain=list(domain)) if domain else alt.Undefined
    order = alt.EncodingSortField(field="i", op="min")
    base = alt.Chart().encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=160)),
        x=alt.X("value:Q", title=value_title, scale=scale),
        tooltip=[alt.Tooltip("label:N", title="token"), alt.Tooltip("value:Q", format=".4f")],
    )
    layers = [base.mark_bar(color=colour)]
    if printed:
        layers.append(
            # past the bar's end, on its own side: a negative bar's value to its left, never
            # printed over the bar
            base.mark_text(
                align=alt.ExprRef("datum.value < 0 ? 'right' : 'left'"),
                dx=alt.ExprRef("datum.value < 0 ? -3 : 3"),
                fontSize=12,
                color=LABEL_INK,
            ).encode(text=alt.Text("value:Q", format=fmt))
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
    frames = {"curve": {"step": np.arange(len(losses)), "loss": losses}}
    if at is not None:
        at = check_index(at, "at", len(losses))
        frames["here"] = {"step": [at], "loss": [float(losses[at])]}
    about = summary.loss_curve(losses, at)
    return _loss_curve, (len(losses), at is not None, title, height), frames, about


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
    size: int = 520,
    show_labels: bool | None = None,
    label_stage: str = "before",
):
    """Before and after points in one plane, an arrow from each ``before[i]`` to ``after[i]``.

    Both axes get the same span, so directions and distances are not distorted: two
    invisible corner points, a square around every point, set the scales' extent (as data,
    so a move of the points changes the data and not the chart). Labels go on the
    ``label_stage`` points ("before" or "after"), by default when up to 40 tokens; where
    points crowd and some names find no place, the title says how many were left out (data
    too: a move that hides one more name does not make a new chart).

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
    points = {
        "token": list(labels) * 2,
        "x": np.concatenate([bx, ax]),
        "y": np.concatenate([by, ay]),
        "stage": [before_name] * t + [after_name] * t,
    }
    frames = {
        "corners": {
            "x": centre[0] + np.array([-half, half]),
            "y": centre[1] + np.array([-half, half]),
        },
        "moves": {
            "token": list(labels),
            "x": bx,
            "y": by,
            "x2": ax,
            "y2": ay,
            # Vega's angle is clockwise from "up"; axes share one span: data angle = screen.
            "angle": np.degrees(np.arctan2(ax - bx, ay - by)),
        },
        "points": points,
    }
    show = show_labels if show_labels is not None else t <= 40
    labelled = (after_name if label_stage == "after" else before_name) if show else None
    font = int(np.clip(round(size / 32), 12, 18))  # 16 and up on a projector's 540 px
    note = ""
    if labelled:
        own = plane.after if label_stage == "after" else plane.before  # (T, 2)
        extent = (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)
        placed = place_labels(own, list(labels), everything, extent, size, font)
        every = {
            "token": np.asarray(labels),
            "x": own[:, 0],
            "y": own[:, 1],
            "lx": placed.x,
            "ly": placed.y,
            "far": placed.far,
        }
        frames["labels"] = {name: column[placed.shown] for name, column in every.items()}
        hidden = int((~placed.shown).sum())
        if hidden:
            note = f"{hidden} of {t} names left out where points crowd: hover a point for its token"
    frames["note"] = {"text": [note]}
    layout = (before_name, after_name, *plane.axis_titles, size, labelled, font)
    return _geometry, layout, frames, summary.geometry(plane.before, plane.after, labels)


def _geometry(before_name, after_name, x_title, y_title, size, labelled, font) -> alt.LayerChart:
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
    if labelled:  # the names of one stage's points, each in a free place beside its point
        names = alt.Chart(alt.Data(name="labels"))
        at = {"x": alt.X("lx:Q", scale=x_scale), "y": alt.Y("ly:Q", scale=y_scale)}
        layers += [
            names.transform_filter(alt.FieldEqualPredicate(field="far", equal=True))
            .mark_rule(color=LABEL_INK, strokeWidth=0.8, opacity=0.7)
            .encode(x=xs, y=ys, x2=alt.X2("lx"), y2=alt.Y2("ly")),
            names.mark_text(
                align="center", baseline="middle", fontSize=font, color=LABEL_INK
            ).encode(**at, text=alt.Text("token:N"), tooltip=alt.Tooltip("token:N")),
        ]
    # The title is the "note" data set's one text (empty when every name is shown), read by
    # an expression; an invisible mark keeps that data set in the chart for it to read.
    layers.append(alt.Chart(alt.Data(name="note")).mark_point(opacity=0, tooltip=None))
    title = alt.TitleParams(
        text=alt.ExprRef(expr="data('note')[0].text"),
        fontSize=12,
        fontWeight="normal",
        color=LABEL_INK,
    )
    return alt.layer(*layers).properties(title=title, width=size, height=size, autosize=PAD)
