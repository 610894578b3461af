"""One layer from its heads to the next layer's input: the heads side by side with their
boundaries marked, and each token's update beside the residual it is added to."""

from __future__ import annotations

import altair as alt
import numpy as np

from attn_core.charts import summary
from attn_core.charts.base import BEFORE_COLOUR, FIT_WIDTH, LABEL_INK, builder
from attn_core.charts.heatmap import heatmap
from attn_core.validation import check_int

BOUNDARY = "#000000"
"""The lines between heads: black at half opacity shows on white and on either end of
both diverging palettes."""
UPDATE_COLOUR = "#2171b5"
LENGTH_NAMES = ("‖x_i‖ (residual)", "‖u_i‖ (update)")


@builder
def head_strip(
    concat: np.ndarray,
    labels: list[str],
    heads: int,
    *,
    palette: str = "diverging",
    title: str = "",
    value_title: str = "z",
    height: int | None = None,
):
    """The heads' outputs side by side, ``[Z_1 … Z_H]`` (T, d), a line between heads.

    Parameters
    ----------
    concat : ndarray, shape (T, d)
        The heads side by side; ``d`` must be a multiple of ``heads``.
    labels : list of str, length T
    heads : int
        H: each head owns ``d / H`` columns, named ``h0`` … above them.

    Returns
    -------
    alt.LayerChart
    """
    concat = np.asarray(concat, dtype=np.float64)  # (T, d)
    check_int(heads, "heads")
    d = concat.shape[1]
    if heads < 1 or d % heads:
        raise ValueError(f"heads must divide the width {d}, got {heads}")
    d_h = d // heads
    inner, layout, frames, about = heatmap.parts(
        concat,
        labels,
        palette=palette,
        title=title,
        x_title=f"{heads} heads × {d_h} dimensions",
        value_title=value_title,
        height=height,
    )
    frames = {
        **frames,
        "bounds": {"x": np.arange(1, heads) * d_h},
        "heads": {"x": (np.arange(heads) + 0.5) * d_h, "head": [f"h{h}" for h in range(heads)]},
    }
    about = f"The {heads} heads' outputs side by side. {about}"
    return _head_strip, (inner, layout, heads <= 16), frames, about


def _head_strip(inner, layout, named) -> alt.LayerChart:
    chart = inner(*layout)
    # The strip's x scale runs over the columns 0..d: the lines and names share it.
    lines = (
        alt.Chart(alt.Data(name="bounds"))
        .mark_rule(color=BOUNDARY, opacity=0.55, strokeWidth=1.5, tooltip=None)
        .encode(x=alt.X("x:Q"))
    )
    extra = [lines]
    if named:
        extra.append(
            alt.Chart(alt.Data(name="heads"))
            .mark_text(baseline="bottom", dy=-4, fontSize=11, color=LABEL_INK, tooltip=None)
            .encode(x=alt.X("x:Q"), y=alt.YValue(0), text=alt.Text("head:N"))
        )
    chart.layer = [*chart.layer, *extra]
    return chart


@builder
def update_lengths(
    update: np.ndarray,
    residual: np.ndarray,
    labels: list[str],
    *,
    title: str = "",
    height: int | None = None,
):
    """For each token, the length of attention's update beside that of the residual it is
    added to: a pair of bars a token, values printed.

    Parameters
    ----------
    update, residual : ndarray, shape (T,)
        ``‖u_i‖`` and ``‖x_i‖``.
    labels : list of str, length T

    Returns
    -------
    alt.LayerChart
    """
    update = np.asarray(update, dtype=np.float64)  # (T,)
    residual = np.asarray(residual, dtype=np.float64)  # (T,)
    t = len(labels)
    if update.shape != (t,) or residual.shape != (t,):
        raise ValueError(
            f"update and residual must be ({t},) for {t} labels, got {update.shape} and "
            f"{residual.shape}"
        )
    table = {
        "label": list(labels) * 2,
        "value": np.concatenate([residual, update]),
        "what": [LENGTH_NAMES[0]] * t + [LENGTH_NAMES[1]] * t,
        "i": np.tile(np.arange(t), 2),
    }
    height = height or int(np.clip(30 * t, 100, 720))
    ratio = update / np.where(residual > 0, residual, 1.0)
    most = int(np.argmax(ratio))
    about = (
        f"{t} tokens, each update's length beside its residual's: the update is "
        f"{summary.number(np.median(ratio))} times the residual's length at the median; "
        f"the most, ‘{labels[most]}’, {summary.number(ratio[most])}"
    )
    return _update_lengths, (t <= 40, title, height), {"lengths": table}, about


def _update_lengths(printed, title, height) -> alt.LayerChart:
    order = alt.EncodingSortField(field="i", op="min")
    colour = alt.Color(
        "what:N",
        scale=alt.Scale(domain=list(LENGTH_NAMES), range=[BEFORE_COLOUR, UPDATE_COLOUR]),
        legend=alt.Legend(title=None, orient="top"),
    )
    base = alt.Chart().encode(
        y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=160)),
        yOffset=alt.YOffset("what:N", sort=list(LENGTH_NAMES)),
        x=alt.X("value:Q", title="length", scale=alt.Scale(zero=True)),
        tooltip=[
            alt.Tooltip("label:N", title="token"),
            alt.Tooltip("what:N", title="length of"),
            alt.Tooltip("value:Q", format=".3f"),
        ],
    )
    layers = [base.mark_bar().encode(color=colour)]
    if printed:
        layers.append(
            base.mark_text(align="left", dx=3, fontSize=11, color=LABEL_INK).encode(
                text=alt.Text("value:Q", format=".2f")
            )
        )
    chart = alt.layer(*layers, data=alt.Data(name="lengths"))
    return chart.properties(title=title, height=height, autosize=FIT_WIDTH)
