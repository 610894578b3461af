"""Step 9's switch between a head's weights and what they move, ‖w_ij f(x_j)‖ (Kobayashi et
al., 2020, "Attention is not only a weight"): the heads measured either way, the heads
whose rank changes most, where the heads that look at [CLS] and [SEP] end up, and each
head's share of one token's update."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import attn_core
from app import data, draw, memory
from app.view import View
from attn_core import charts

MEASURE_NAMES = {"weight": "Weight w_ij", "norm": "Weight × ‖f(x_j)‖"}
NAMED = 3
"""How many heads the page names where ranks change most, and per special token."""
SPECIAL = ("cls", "sep")


def measured(
    heads: attn_core.AllHeads, view: View, special: bool, merge: bool
) -> tuple[attn_core.AllHeads, np.ndarray | None]:
    """The switch, and the heads as it measures them: ``heads`` itself, or every row's share
    of ‖w_ij f(x_j)‖ with each row's total length ``(L, H, T)``."""
    measure = draw.pick_one(
        "Measure each head by",
        MEASURE_NAMES,
        key="measure",
        help="A weight says where a head looks; ‖f(x_j)‖ is the length of what it takes "
        "from there (x_j's value vector through W_O). A large weight on a short vector "
        "moves little.",
    )
    if measure == "weight":
        return heads, None
    st.caption(
        "Measured by what they move: each row is that row's share of ‖w_ij f(x_j)‖ over its "
        "columns (it sums to 1, as a row of W does). The grid, the ranking and the averages "
        "below all read these shares."
    )
    try:
        with st.spinner("Measuring what every head moves…"):
            return data.get_norms(view.emb.text, special, merge, view.model.name)
    except memory.Declined as declined:
        st.warning(str(declined), icon=":material/memory:")
        return heads, None


def explain(
    weighed: attn_core.AllHeads,
    shares: attn_core.AllHeads,
    totals: np.ndarray,
    names: dict[str, str],
    view: View,
    shelf: dict[str, dict],
) -> None:
    """Under the switch: how the ranking changed, and each head's share of one update in
    the sidebar's layer."""
    compare(weighed, shares, str(st.session_state["pattern"]), names)
    labels = charts.token_labels(charts.readable(shares.tokens, view.model.byte_level))
    shares_chart(totals, labels, int(st.session_state["layer"]), shelf)


def ranks(scores: np.ndarray) -> np.ndarray:
    """``(L, H)`` scores -> each head's place, best (highest) first, from 1."""
    order = np.argsort(-scores.ravel(), kind="stable")
    place = np.empty(order.size, dtype=int)
    place[order] = np.arange(1, order.size + 1)
    return place.reshape(scores.shape)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def rank_changes(
    weight: np.ndarray, norm: np.ndarray, count: int = NAMED
) -> list[tuple[int, int, int, int]]:
    """The ``count`` heads whose place changes most between two ``(L, H)`` scores:
    ``(layer, head, place by weight, place by norm)``, the largest change first."""
    by_weight, by_norm = ranks(weight), ranks(norm)
    change = np.abs(by_weight - by_norm).ravel()
    most = np.argsort(-change, kind="stable")[:count]
    heads = weight.shape[1]
    return [
        (int(k // heads), int(k % heads), int(by_weight.flat[k]), int(by_norm.flat[k]))
        for k in most
    ]


def compare(
    heads: attn_core.AllHeads, shares: attn_core.AllHeads, pattern: str, names: dict[str, str]
) -> None:
    """Name the heads whose rank changes most for ``pattern``, and where the heads that look
    most at the special tokens end up."""
    weight, norm = attn_core.head_scores(heads), attn_core.head_scores(shares)
    changed = rank_changes(weight[pattern], norm[pattern])
    said = "; ".join(
        f"layer {layer}, head {head} ({ordinal(a)} by weight, {ordinal(b)} by ‖w f(x)‖)"
        for layer, head, a, b in changed
    )
    st.text(f"Rank changes most for “{names[pattern]}”: {said}.")  # names: plain text
    table = special_heads(weight, norm, names)
    if table is not None:
        st.dataframe(table, hide_index=True, key="heads_special")
        st.caption(
            "The heads that put the most weight on the special tokens, and where they end up "
            "measured by what they move: the vectors a head takes from there are short."
        )


def special_heads(weight: dict, norm: dict, names: dict[str, str]) -> pd.DataFrame | None:
    """For [CLS] and [SEP] (where the text has them): the ``NAMED`` heads with the most
    weight there, their scores and places either way."""
    rows = []
    for pattern in SPECIAL:
        if not weight[pattern].any():  # the text has no such token
            continue
        w, n = weight[pattern], norm[pattern]
        by_weight, by_norm = ranks(w), ranks(n)
        for k in np.argsort(-w.ravel(), kind="stable")[:NAMED]:
            lh = np.unravel_index(k, w.shape)
            rows.append(
                {
                    "looks at": names[pattern],
                    "layer": int(lh[0]),
                    "head": int(lh[1]),
                    "weight there": float(w[lh]),
                    "place by weight": int(by_weight[lh]),
                    "share of ‖w f(x)‖ there": float(n[lh]),
                    "place by ‖w f(x)‖": int(by_norm[lh]),
                }
            )
    return pd.DataFrame(rows) if rows else None


def head_shares(totals: np.ndarray, layer: int, token: int) -> np.ndarray:
    """``(H,)``: each head's share of token ``token``'s update in ``layer``, by the lengths
    it mixes in, Σ_j ‖w_ij f_h(x_j)‖ over all heads' sum."""
    lengths = totals[layer, :, token].astype(np.float64)  # (H,)
    return lengths / max(float(lengths.sum()), 1e-30)


def shares_chart(totals: np.ndarray, labels: list[str], layer: int, shelf: dict[str, dict]) -> None:
    """Bars: each head of ``layer``'s share of the update of a token chosen here."""
    st.session_state["share_token"] = min(int(st.session_state["share_token"]), len(labels) - 1)
    token = st.selectbox(
        f"Whose update in layer {layer}",
        range(len(labels)),
        format_func=labels.__getitem__,
        key="share_token",
        help="Layer: the one in the sidebar.",
    )
    shares = head_shares(totals, layer, int(token))
    heads = [f"head {h}" for h in range(len(shares))]
    draw.chart(
        st,
        "Heads' shares of one update",
        data.chart(
            charts.bars,
            shares,
            heads,
            title=f"Each head's share of the update to {labels[token]}, layer {layer}",
            value_title="share of Σ_j ‖w_ij f_h(x_j)‖",
            domain=(0.0, float(max(shares.max(), 1e-9))),
        ),
        shelf,
        width="stretch",
    )
