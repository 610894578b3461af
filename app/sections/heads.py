"""Every head at once. Every trained head of the model on your text, the heads that
follow a pattern, and attention followed through the layers (head average and rollout)."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

import attn_core
from app import data, draw, head_norms, heads_grid, links, memory, state
from app.view import Exports, View
from attn_core import charts

KEY = "heads"
TITLE = "Every head at once"
EXPLANATION = (
    "Every layer of the model has several trained heads, each with its own W_q, W_k: some "
    "look at the previous token, some at the first or the last token, some at the same word."
)
PATTERN_NAMES = {
    "previous": "Previous token",
    "next": "Next token",
    "same": "Same word",
    "sep": "[SEP]",
    "cls": "[CLS]",
    "broad": "Broad",
}
GRID, RANKING = "heads_grid", "heads_ranking"
"""Widget keys: a click on the grid, a row picked in the ranking."""


def render(view: View, exports: Exports) -> None:
    if not view.real:  # a trained head has the network loaded already
        layers, heads = view.model.shape
        st.toggle(
            f"Show every head ({layers} layers × {heads} heads: one pass of the network)",
            key="heads",
            help="The steps above need only the model's word-embedding table; this runs the "
            "whole network on the text.",
        )
        if not st.session_state["heads"]:
            return
    every_head(view, exports)


def show_head(layer: int, head: int) -> None:
    """Make (layer, head) the head every step shows: the trained-head mode, that head."""
    st.session_state["layer"], st.session_state["head"] = int(layer), int(head)
    if st.session_state["mode"] != "real":
        st.session_state["mode"] = "real"
        state.mode_changed()
    st.rerun()  # every step changes, not only this fragment


def head_from_grid(shape: tuple[int, int]) -> None:
    """A click, or Enter, on a head of the grid of ``shape`` = (L, H) shows that head."""
    picked = heads_grid.picked(st.session_state.get(GRID), shape)
    if picked is not None:
        show_head(*picked)


def head_from_ranking() -> None:
    rows = st.session_state.get(RANKING, {}).get("selection", {}).get("rows", [])
    ranked = st.session_state.get("heads_ranked", [])
    if rows and rows[0] < len(ranked):
        show_head(*ranked[rows[0]])


@st.fragment(key=KEY)
def every_head(view: View, exports: Exports) -> None:
    shelf = exports.shelf(KEY)
    special, merge = (
        (True, False) if view.real else (view.settings["special"], view.settings["merge"])
    )
    try:
        layers, per_layer = view.model.shape
        with st.spinner(f"Running the model once for all {layers * per_layer} heads…"):
            heads = data.get_all_heads(view.emb.text, special, merge, view.model.name)
    except memory.Declined as declined:
        st.warning(str(declined), icon=":material/memory:")
        return
    on_show = (int(st.session_state["layer"]), int(st.session_state["head"]))
    weighed = heads  # the weights, kept for the comparison with what the heads move
    heads, totals = head_norms.measured(heads, view, special, merge)

    palette = view.palette("weights")
    heads_grid.show(
        heads_grid.payload(heads, on_show, palette, present=view.present),
        key=GRID,
        on_pick=partial(head_from_grid, heads.shape),
    )
    shelf["Every head"] = draw.when_asked(  # exported as a chart, made only if asked for
        partial(grid_chart, view, (special, merge), totals is not None, on_show, palette),
        view.present,
    )
    st.caption(
        "Each picture is one head's W on your text (rows: queries, columns: keys), its colours "
        "up to that head's largest weight. Click one, or Tab to the grid, move with the arrow "
        "keys and press Enter, to show that head in every step. "
        f"Outlined: layer {on_show[0]}, head {on_show[1]}, the head in the sidebar."
    )
    ranking(heads, pattern_names(view.model))
    if totals is not None:  # measured by what the heads move: what that changes
        head_norms.explain(weighed, heads, totals, pattern_names(view.model), view, shelf)
    through_layers(heads, shelf, view.palette("weights"), view.model.byte_level)
    state.sync_url()


def grid_chart(
    view: View, rows: tuple[bool, bool], by_norms: bool, on_show: tuple[int, int], palette: str
) -> dict:
    """The grid as one chart, for the export list: the heads are looked up again when it is
    asked for. The page keeps its export list while it is open; holding the heads there would
    keep each viewer's own (L, H, T, T) copy (19 MB at 256 word pieces) after the cache every
    viewer shares has let it go."""
    text, model = view.emb.text, view.model.name
    get = data.get_norms if by_norms else data.get_all_heads
    found = get(text, *rows, model)
    heads = found[0] if by_norms else found
    return charts.spec(charts.head_grid, heads.weights, on_show=on_show, palette=palette)


def pattern_names(model: attn_core.Model) -> dict[str, str]:
    """The patterns' names for ``model``: its own special tokens where it has them (BERT's
    ``[CLS]`` and ``[SEP]``), else the first and the last token (GPT-2 adds none)."""
    if not (model.prefix and model.suffix):
        return {**PATTERN_NAMES, "cls": "First token", "sep": "Last token"}
    first, last = (model.tokenizer.id_to_token(i) for i in (model.prefix[0], model.suffix[-1]))
    return {**PATTERN_NAMES, "cls": first, "sep": last}


def ranking(heads: attn_core.AllHeads, names: dict[str, str]) -> None:
    """The heads that most follow one pattern, best first; a row click shows that head."""
    pattern = draw.pick_one("Heads that look at", names, key="pattern")
    scores = attn_core.head_scores(heads)[pattern]  # (L, H)
    order = sorted(
        ((layer, head) for layer in range(scores.shape[0]) for head in range(scores.shape[1])),
        key=lambda lh: -scores[lh],
    )[:8]
    st.session_state["heads_ranked"] = order
    broad = pattern == "broad"
    st.dataframe(
        pd.DataFrame(
            {
                "layer": [layer for layer, _ in order],
                "head": [head for _, head in order],
                "score": [float(scores[lh]) for lh in order],
            }
        ),
        column_config={
            "score": st.column_config.ProgressColumn(
                "mean row entropy (bits)" if broad else "mean weight there",
                format="%.2f",
                min_value=0.0,
                max_value=float(max(scores.max(), 1e-9)) if broad else 1.0,
            )
        },
        hide_index=True,
        key=RANKING,
        on_select=head_from_ranking,
        selection_mode="single-row",
    )


def through_layers(
    heads: attn_core.AllHeads, shelf: dict[str, dict], palette: str, byte_level: bool
) -> None:
    """One layer's head average beside the rollout of every layer up to it."""
    st.subheader("Attention through the layers", anchor=False)
    a, b = st.columns(2)
    up_to = a.select_slider("Up to layer", range(1, heads.shape[0] + 1), key="up_to")
    residual = b.select_slider("Residual r", links.RESIDUALS, key="residual")
    means = heads.layer_means()  # (L, T, T)
    rolled = attn_core.rollout(means[:up_to], residual)  # (T, T)
    labels = charts.token_labels(charts.readable(heads.tokens, byte_level))
    per_layer = heads.weights.shape[1]
    size = min(draw.token_square(labels) * 2, 520)
    left, right = st.columns(2)
    panels = (
        (
            left,
            "Head average",
            means[up_to - 1],
            f"Layer {up_to - 1}: the mean of its {per_layer} heads",
        ),
        (right, "Rollout", rolled, f"Rollout through layers 0-{up_to - 1}, r = {residual:g}"),
    )
    for where, name, matrix, title in panels:
        draw.chart(
            where,
            name,
            data.chart(
                charts.heatmap,
                matrix,
                labels,
                labels,
                palette=palette,
                domain=(0.0, float(matrix.max())),
                title=title,
                value_title="weight",
                height=size,
                legend="bottom",
            ),
            shelf,
            width="content",
        )
    left.caption(f"What one layer does: its {per_layer} heads' W, averaged. Layers count from 0.")
    right.caption(
        "Where each position's information came from after those layers: each layer's "
        "average mixed with r times the identity (the residual path), multiplied through."
    )
