"""Y = W X, and one token's row of W written out as the actual weighted sum."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import streamlit as st

import attn_core
from app import data, draw, state, weights_map
from app.sections import weights
from app.view import Exports, Reading, View
from attn_core import charts

KEY = "output"
TITLE = "Output Y = W X"
EXPLANATION = "Each token's new vector is a weighted mix of the vectors, using its row of W."
FOCUS = "output.focus"
"""The token focus redraws alone (a fragment of this key)."""
TABLE = "output.table"
"""Y as a table, when asked for, redraws alone (a fragment of this key) when W's settings move."""
FOCUS_ROW = "output.focus.row"
"""The focus's row of W and its sum redraw alone (a fragment of this key) when W's settings
move: the select box above them and the words below stay as they are."""
FOLLOWS_W = (FOCUS_ROW, TABLE)
"""The focus's row and Y's table follow W: they redraw alone when W's settings move (Y itself
follows in the page)."""
OUTPUT_MAP = "w_output"
"""The key of the component that draws Y."""


def render(view: View, exports: Exports) -> None:
    """Y drawn in the page from W's raw scores and the vectors W mixes, so it follows the
    map's settings as W moves; the server then redraws the focus's row below it."""
    weights_map.show_following(
        weights_map.output_payload(view.res, view.labels, view.settings, present=view.present),
        key=OUTPUT_MAP,
    )
    table(view.reading, exports)
    exports.drawn_in_page(KEY, partial(output_charts, present=view.present))
    focus(view.reading, exports)
    st.caption(
        "The largest terms of the sum, and the first three of each vector's numbers. "
        "Token j is the j-th row of the tables above, counting from 0."
    )


def output_charts(view: View, present: bool = False) -> dict[str, Callable[[], dict]]:
    """Y and the lengths of its rows as Vega-Lite charts (for the export files), each made
    when asked for, on the page's colour range: that of the vectors W mixes."""
    res = view.res
    domain = charts.symmetric_domain(res.values, 0.99)
    return draw.lazy_matrix_with_norms(
        res.output,
        view.labels,
        name="y",
        domain=domain,
        present=present,
        palette=view.palette("diverging"),
    )


@st.fragment(key=TABLE)
def table(reading: Reading, exports: Exports) -> None:
    """Y under W's settings now as a table, when asked for: it follows W as the picture does."""
    view = state.view_now(reading, exports)
    draw.as_table(st, view.res.output, view.labels, name="Y", key="output_table")
    state.sync_url()


def focus_moved() -> None:
    """The token focus is also the query of step 4's "how one weight is made": both redraw."""
    st.rerun([FOCUS] if st.session_state["present"] else [FOCUS, weights.CELL])


@st.fragment(key=FOCUS)
def focus(reading: Reading, exports: Exports) -> None:
    """The token whose row of W, and whose output as the actual sum, are shown."""
    labels = reading.labels
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
    focus_row(reading, i, exports)
    state.sync_url()


@st.fragment(key=FOCUS_ROW)
def focus_row(reading: Reading, i: int, exports: Exports) -> None:
    """Token i's row of weights, and its output written out as the actual sum."""
    view = state.view_now(reading, exports)
    res, labels = view.res, view.labels
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
        exports.shelf(FOCUS_ROW),
        width="stretch",
    )
    st.latex(sum_latex(res, i))
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
