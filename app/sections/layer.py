"""From the heads to the next layer. The heads' outputs side by side, W_O's product, the
residual and LayerNorm, the feed-forward, and where each token ends up."""

from __future__ import annotations

import numpy as np
import streamlit as st

import attn_core
from app import data, draw, memory, state
from app.view import Exports, View
from attn_core import charts
from attn_core.charts import summary
from attn_core.charts.layer import head_strip, update_lengths
from attn_core.networks import GPT2

KEY = "layer"
TITLE = "From the heads to the next layer"
EXPLANATION = (
    "A layer sets its heads' outputs side by side, mixes them with W_O, adds them to x, "
    "normalises, and passes the result through a feed-forward network: the next layer's X."
)
MOVED = 3
"""How many of the tokens that moved most the step names."""
MAP_SIZE = 460


def render(view: View, exports: Exports) -> None:
    if not view.real:  # a trained head has the network loaded already
        st.toggle(
            "Follow the text through one layer of the model (runs the network up to it)",
            key="through",
            help="The steps above need only the model's word-embedding table; this runs the "
            "network's layers up to the one chosen.",
        )
        if not st.session_state["through"]:
            exports.shelf(KEY)
            return
    through_a_layer(view, exports)


@st.fragment(key=KEY)
def through_a_layer(view: View, exports: Exports) -> None:
    shelf = exports.shelf(KEY)
    special, merge = (
        (True, False) if view.real else (view.settings["special"], view.settings["merge"])
    )
    layers, heads = view.model.shape
    st.session_state["block"] = min(int(st.session_state["block"]), layers - 1)
    pick_layer, pick_token = st.columns(2)
    n = int(
        pick_layer.selectbox("Through layer", range(layers), key="block", help="Counting from 0.")
    )
    try:
        with st.spinner(f"Running the model up to layer {n}…"):
            out = data.get_layer(view.emb.text, n, special, merge, view.model.name)
    except memory.Declined as declined:
        st.warning(str(declined), icon=":material/memory:")
        return
    labels = charts.token_labels(charts.readable(out.tokens, view.model.byte_level))
    st.session_state["follow"] = min(int(st.session_state["follow"]), len(labels) - 1)
    i = int(
        pick_token.selectbox(
            "Token to follow", range(len(labels)), format_func=labels.__getitem__, key="follow"
        )
    )
    palette = view.palette("diverging")
    pre_norm = isinstance(view.model.network, GPT2)

    side_by_side(out, labels, heads, palette, shelf)
    residual(out, labels, i, palette, pre_norm, shelf)
    feed_forward(out, labels, palette, pre_norm, shelf)
    next_x(out, labels, shelf, view.present)
    state.sync_url()


def side_by_side(out: attn_core.Layer, labels, heads: int, palette: str, shelf) -> None:
    """The H heads' outputs as one (T × d) matrix, a line between heads."""
    st.subheader("The heads side by side", anchor=False)
    t, d = out.concat.shape
    draw.chart(
        st,
        "Heads side by side",
        data.chart(
            head_strip,
            out.concat,
            labels,
            heads,
            palette=palette,
            title=f"C = [Z_0 … Z_{heads - 1}]",  # one title for every layer: a new one swaps data
            value_title="c",
        ),
        shelf,
        width="stretch",
    )
    st.caption(
        f"Each head's output Z_h = W_h V_h is {t} × {d // heads}: its {d // heads} columns "
        f"between two lines. Side by side, the {heads} heads make one {t} × {d} matrix C, as "
        "wide as x."
    )


def residual(out: attn_core.Layer, labels, i: int, palette: str, pre_norm: bool, shelf) -> None:
    """W_O's product, the residual and LayerNorm as a chain of maps; the update's length
    beside the residual's for every token."""
    st.subheader("W_O, the residual and LayerNorm", anchor=False)
    chain = [
        ("Update U = C W_O + b_O", out.update, "u"),
        ("Residual X + U", out.hidden_in + out.update, "x + u"),
    ]
    if not pre_norm:
        chain.append(("After LayerNorm A", out.attention_out, "a"))
    maps_in_a_row(chain, labels, palette, shelf)
    after = (
        "GPT-2 normalises before each sub-layer instead, so X + U goes on as it is."
        if pre_norm
        else "LayerNorm then rescales each row to mean 0 and variance 1, times its learnt gains."
    )
    st.caption(f"W_O mixes the heads' columns into U; the residual path adds x back. {after}")
    update, kept = out.update_lengths, out.residual_lengths  # (T,), (T,)
    left, right = st.columns([3, 2])
    draw.chart(
        left,
        "Update beside residual",
        data.chart(update_lengths, update, kept, labels, title="How long each update is"),
        shelf,
        width="stretch",
    )
    # the token followed is named by the box above: labels hold no viewer's text
    right.metric("The token followed: ‖x_i‖, its residual", f"{kept[i]:.2f}")
    right.metric("‖u_i‖, its update", f"{update[i]:.2f}")
    right.metric("‖x′_i − x_i‖, how far the layer moves it", f"{distances(out)[i]:.2f}")
    ratio = float(np.median(update / kept))
    right.caption(
        f"For the median token the update is {ratio:.2f} times as long as x: "
        + (
            "most of x survives a layer, and attention adds a correction to it."
            if ratio < 1
            else "here attention's update outweighs x."
        )
    )


def feed_forward(out: attn_core.Layer, labels, palette: str, pre_norm: bool, shelf) -> None:
    """The feed-forward sub-layer: what it changes, and the next layer's input it makes."""
    st.subheader("The feed-forward", anchor=False)
    formula = "X′ = A + FFN(LayerNorm(A))" if pre_norm else "X′ = LayerNorm(A + FFN(A))"
    maps = (
        ("Feed-forward change X′ − A", out.hidden_out - out.attention_out, "x′ − a"),
        ("Next layer's input X′", out.hidden_out, "x′"),
    )
    maps_in_a_row(maps, labels, palette, shelf)
    st.caption(
        f"{formula}: each token alone goes through two linear maps with a GELU between "
        "(four times as wide inside). No token looks at another here."
    )


def next_x(out: attn_core.Layer, labels, shelf, present: bool) -> None:
    """This layer's X and the next layer's on one 2-D map, and which tokens moved most."""
    st.subheader("Where each token went", anchor=False)
    plane = data.get_plane(out.hidden_in, out.hidden_out, "pca", (0, 1))
    spec = data.chart(
        charts.geometry,
        plane,
        labels,
        before_name="x (into the layer)",
        after_name="x′ (into the next)",
        size=draw.STAGE - 40 if present else MAP_SIZE,
    )
    moved = np.linalg.norm(plane.after - plane.before, axis=1)  # (T,): on the map
    most = int(np.argmax(moved))
    said = (  # what a screen reader hears: this map is a layer's, not one attention's
        f"{len(labels)} tokens entering layer {out.layer} and entering the next, in one "
        f"plane: each moved {summary.number(moved.mean())} on the map on average; the most, "
        f"‘{labels[most]}’, {summary.number(moved[most])}"
    )
    draw.chart(
        st, "This layer's X and the next", {**spec, "description": said}, shelf, width="content"
    )
    st.text(moved_most(out, labels))


def moved_most(out: attn_core.Layer, labels: list[str]) -> str:
    """One line naming the tokens that moved most through the layer, in all dimensions."""
    moved = distances(out)  # (T,)
    top = np.argsort(-moved, kind="stable")[:MOVED]
    named = ", ".join(f"‘{labels[k]}’ ({moved[k]:.2f})" for k in top)
    return (
        f"Moved most through layer {out.layer}: {named}; the median token moved "
        f"{np.median(moved):.2f} (‖x′ − x‖, in all {out.hidden_in.shape[1]} dimensions)."
    )


def distances(out: attn_core.Layer) -> np.ndarray:
    """``(T,)``: how far each token moved through the layer, ‖x′_i − x_i‖ (float64)."""
    moved = out.hidden_out.astype(np.float64) - out.hidden_in.astype(np.float64)  # (T, d)
    return np.linalg.norm(moved, axis=1)


def maps_in_a_row(maps, labels, palette: str, shelf) -> None:
    """``(name, matrix, value title)`` maps in a row of columns, one each."""
    for where, (name, matrix, value) in zip(st.columns(len(maps)), maps, strict=True):
        draw.chart(
            where,
            name,
            data.chart(
                charts.heatmap, matrix, labels, palette=palette, title=name, value_title=value
            ),
            shelf,
            width="stretch",
        )
