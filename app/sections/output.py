"""Step 5: Y = W X, and one token's row of W written out as the actual weighted sum."""

from __future__ import annotations

import numpy as np
import streamlit as st

import attn_core
from app import data, draw, state
from app.sections import weights
from app.view import Exports, Reading, View
from attn_core import charts

KEY = "output"
TITLE = "5 · Output Y = W X"
EXPLANATION = "Each token's new vector is a weighted mix of the vectors, using its row of W."
FOCUS = "output.focus"
"""The token focus redraws alone (a fragment of this key)."""
FOLLOWS_W = (KEY,)
"""Y and the focus follow W: this step redraws alone when W's settings move."""


def controls(real: bool) -> None:
    """The token focus lives below Y, in its own fragment."""


def render(view: View, exports: Exports) -> None:
    output(view.reading, exports)


@st.fragment(key=KEY)
def output(reading: Reading, exports: Exports) -> None:
    view = state.view_now(reading, exports)
    res = view.res
    # Y on the colour scale of what was mixed: a weighted mean visibly shrinks values
    domain = charts.symmetric_domain(res.values, 0.99)
    draw.matrix_with_norms(res.output, view.labels, exports.shelf(KEY), name="y", domain=domain)
    focus(res, view.labels, exports)
    state.sync_url()


def focus_moved() -> None:
    """The token focus is also the query of step 4's "how one weight is made": both redraw."""
    st.rerun([FOCUS] if st.session_state["present"] else [FOCUS, weights.CELL])


@st.fragment(key=FOCUS)
def focus(res: attn_core.AttentionResult, labels: list[str], exports: Exports) -> None:
    """One token's row of weights, and its output written out as the actual sum."""
    if st.session_state["focus"] >= len(labels):
        st.session_state["focus"] = 0  # the text changed, or the link named a later token
    i = st.selectbox(
        "Token focus",
        range(len(labels)),
        format_func=lambda k: labels[k],
        key="focus",
        help="Or click a cell of the W heatmap.",
        on_change=focus_moved,
    )
    draw.chart(
        st,
        "Focus: one row of W",
        data.chart(
            charts.bars,
            res.weights[i],
            labels,
            title=f"How much {labels[i]!r} takes from each token",
            value_title=f"w_{i}j",
            domain=(0.0, 1.0),
            fmt=".3f",
        ),
        exports.shelf(FOCUS),
        width="stretch",
    )
    st.latex(sum_latex(res, i))
    st.caption(
        "The largest terms of the sum, and the first three of each vector's numbers. "
        "Token j is the j-th row of the tables above, counting from 0."
    )
    state.sync_url()


def sum_latex(res: attn_core.AttentionResult, i: int, terms: int = 3, dims: int = 3) -> str:
    """``y_i = Σ_j w_ij v_j`` with the real numbers: the largest terms, the first dims.

    Only indices and numbers go into the LaTeX; token text never does.
    """
    values, w = res.values, res.weights[i]
    v = "v" if res.projected else "x"
    order = [j for j in np.argsort(-w, kind="stable")[:terms] if w[j] > 0]

    def vec(row: np.ndarray) -> str:
        more = r",\ \ldots" if row.size > dims else ""
        return r"\left[" + r",\ ".join(f"{a:.2f}" for a in row[:dims]) + more + r"\right]"

    symbolic = " + ".join(f"{w[j]:.3f}\\,{v}_{{{j}}}" for j in order)
    numeric = " + ".join(f"{w[j]:.3f}\\,{vec(values[j])}" for j in order)
    rest = len(w) - len(order)
    tail = rf" + \cdots\ (\text{{{rest} smaller terms}})" if rest else ""
    dots = r" + \cdots" if rest else ""
    return (
        rf"\begin{{aligned}} y_{{{i}}} &= \sum_j w_{{{i}j}}\,{v}_j = {symbolic}{tail} \\"
        rf" &= {numeric}{dots} \\ &= {vec(res.output[i])} \end{{aligned}}"
    )
