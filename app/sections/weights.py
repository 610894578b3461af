"""Step 4: W, each row of W′ through a softmax; and how close a trained head's W is to the
attention the model itself reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import attn_core
from app import data, draw, links
from app.view import Exports, View
from attn_core import charts

KEY = "weights"
TITLE = "4 · Normalised W"
EXPLANATION = "Each row goes through a softmax: positive weights that add up to 1."
CHART_KEY = "w_chart"


def controls(real: bool) -> None:
    a, b, c = st.columns(3)
    a.toggle("Scale by 1/√d", key="scale")
    a.toggle(
        "Stretch colours to the largest weight",
        key="stretch",
        help="Off: white is 0 and dark blue is 1. On: dark blue is the largest "
        "weight, which shows the pattern of long texts, where every weight is small.",
    )
    low, high, step = links.TEMPERATURE
    b.slider("Temperature τ", low, high, step=step, key="temperature")
    c.toggle("Causal mask (see only earlier tokens)", key="causal")


def focus_from_click() -> None:
    """A click on a cell of the W heatmap focuses its row's token (step 5) and shows how
    that weight is made."""
    picked = st.session_state.get(CHART_KEY, {}).get("selection", {}).get("pick", [])
    labels = st.session_state.get("labels", [])
    if picked and picked[0].get("row") in labels:
        st.session_state["focus"] = labels.index(picked[0]["row"])
        if picked[0].get("col") in labels:
            st.session_state["col"] = labels.index(picked[0]["col"])


def render(view: View, exports: Exports) -> None:
    res, labels = view.res, view.labels
    left, right = st.columns([3, 2])
    clickable = not charts.is_raster(res.weights.shape)
    top = float(res.weights.max()) if view.settings["stretch"] else 1.0
    draw.chart(
        left,
        "W, normalised",
        data.chart(
            charts.heatmap,
            res.weights,
            labels,
            labels,
            palette="weights",
            x_title="key j (attended to)",
            y_title="query i (attending)",
            value_title="w_ij",
            domain=(0.0, top),
            select="pick" if clickable else None,
            height=draw.main_height(),
        ),
        exports.shelf(KEY),
        width="content",
        key=CHART_KEY,
        on_select=focus_from_click if clickable else "ignore",
        selection_mode="pick" if clickable else None,
    )
    t = len(labels)
    right.dataframe(
        pd.DataFrame(
            {
                "query": labels,
                "row sum": res.weights.sum(axis=1),
                "largest weight": res.weights.max(axis=1),
                "entropy (bits)": res.entropy,
            }
        ),
        column_config={
            "row sum": st.column_config.NumberColumn(format="%.3f"),
            "largest weight": st.column_config.ProgressColumn(
                format="%.2f", min_value=0.0, max_value=1.0
            ),
            "entropy (bits)": st.column_config.ProgressColumn(
                format="%.2f", min_value=0.0, max_value=float(max(np.log2(t), 1e-9))
            ),
        },
        hide_index=True,
        width="stretch",
    )
    how = "Click a cell of the heatmap or use" if clickable else "Use"
    right.caption(
        f"Entropy 0 bits: all attention on one token. {np.log2(t):.2f} bits: spread "
        f"evenly over all {t}. {how} the token focus below to read one row in detail."
    )
    if view.head is not None:
        head_check(view.res, view.head, view.settings)
    one_weight(view, exports)


def head_check(res: attn_core.AttentionResult, head: attn_core.Head, settings) -> None:
    """How close the page's W is to the attention the model itself reported for this head."""
    as_the_model = settings["scale"] and settings["temperature"] == 1.0 and not settings["causal"]
    if as_the_model:
        gap = float(np.abs(res.weights - head.weights).max())
        st.caption(
            f"Layer {head.layer}, head {head.head}: W recomputed from the head's W_q, W_k and "
            f"its input. Largest difference from the attention the model reported: {gap:.1e}."
        )
    else:
        st.caption(
            f"Layer {head.layer}, head {head.head}, changed by the controls above: the model "
            "itself scales by 1/√d, uses τ = 1 and no mask."
        )


CELL = "weights.cell"
"""How one weight is made redraws alone (a fragment of this key) when its key token moves."""
SHOWN_TERMS = 10


@st.fragment(key=CELL)
def one_weight(view: View, exports: Exports) -> None:
    """The arithmetic of w_ij, i the token focus (step 5), j picked here or by a click."""
    t = len(view.labels)
    for key in ("focus", "col"):  # the text changed, or a link named a later token
        if st.session_state[key] >= t:
            st.session_state[key] = 0
    i = int(st.session_state["focus"])
    st.subheader("How one weight is made", anchor=False)
    left, right = st.columns([2, 3])
    j = left.selectbox(
        f"Key j, for query i = {i} (the focus of step 5)",
        range(t),
        format_func=lambda k: view.labels[k],
        key="col",
        help="Or click a cell of the W heatmap.",
    )
    head = view.head.projections if view.head else None
    c = attn_core.cell_for(view.x, i, j, view.settings, head=head)
    a, b = ("q", "k") if view.res.projected else ("x", "x")
    order = np.argsort(-np.abs(c.products), kind="stable")[:SHOWN_TERMS]  # largest terms
    rest = len(c.products) - len(order)
    values = [*c.products[order], *([c.products.sum() - c.products[order].sum()] if rest else [])]
    names = [f"dim {k}" for k in order] + ([f"the other {rest}"] if rest else [])
    with right:
        draw.chart(
            st,
            "One weight, term by term",
            data.chart(
                charts.bars,
                np.array(values),
                names,
                title=f"{a}_{i} · {b}_{j}: the largest of its {len(c.products)} terms",
                value_title=f"{a}_{i}k × {b}_{j}k",
                fmt=".3f",
            ),
            exports.shelf(CELL),
            width="stretch",
        )
    with left:
        st.latex(cell_latex(c, a, b))
    st.caption(
        f"Row {i} of W is the softmax of row {i} of the logits: the weight of key {j} is "
        "its exponential over the sum of the row's exponentials (each shifted by the row's "
        "largest logit, which changes nothing but keeps the numbers small)."
    )


def cell_latex(c: attn_core.Cell, a: str, b: str) -> str:
    """The cell's arithmetic, one line a stage, numbers and indices only (no token text)."""
    score = rf"w'_{{{c.i}{c.j}}} &= \sum_k {a}_{{{c.i}k}}\,{b}_{{{c.j}k}} = {c.score:.4f}"
    if c.masked:
        logit = rf"\ell_{{{c.i}{c.j}}} &= -\infty \quad (\text{{masked: }} j > i)"
    else:
        logit = (
            rf"\ell_{{{c.i}{c.j}}} &= w'_{{{c.i}{c.j}}} \times {c.scale:.4g} \div {c.temperature:g}"
            rf" = {c.logit:.4f}"
        )
    shifted = "0" if c.masked else f"{np.exp(c.logit - c.row_max):.4f}"
    weight = (
        rf"w_{{{c.i}{c.j}}} &= \frac{{e^{{\ell_{{{c.i}{c.j}}} - \max_j \ell_{{{c.i}j}}}}}}"
        rf"{{\sum_j e^{{\ell_{{{c.i}j}} - \max_j \ell_{{{c.i}j}}}}}}"
        rf" = \frac{{{shifted}}}{{{c.row_sum:.4f}}} = {c.weight:.4f}"
    )
    return rf"\begin{{aligned}} {score} \\ {logit} \\ {weight} \end{{aligned}}"
