"""W, each row of W′ through a softmax; and how close a trained head's W is to the
attention the model itself reported."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

import attn_core
from app import data, draw, state, weights_map
from app.view import Exports, Reading, View
from attn_core import charts

KEY = "weights"
TITLE = "Normalised W"
EXPLANATION = "Each row goes through a softmax: positive weights that add up to 1."
MAP = "w_map"
"""The map's key: W with its temperature, scale, mask and stretch, recomputed in the browser."""
PICKED = "weights.picked"
"""The cell a click picked, until steps 3-10 take it."""
MAP_AREA = "weights.map"
"""The key of the map's own fragment."""
SHOWN = "weights.shown"
"""What W's settings change in this step besides the map (the export of W, the check
against the model) redraws alone: a fragment of this key."""
CELL = "weights.cell"
"""How one weight is made redraws alone (a fragment of this key) when its query or its key
token moves."""
ARITHMETIC = "weights.cell.arithmetic"
"""Its arithmetic, the only part of it that W's settings change, redraws alone when they
move: the terms of the score, and the words around them, stay as they are."""
FOLLOWS_W = (SHOWN, ARITHMETIC)
"""This step's fragments that show what W makes (see ``sections.following_w``)."""


def settings_moved(following: tuple[str, ...], fixed: tuple[str, ...] = ()) -> None:
    """The map's controls settled: keep their values (but for the ``fixed`` ones), then
    redraw only what depends on W, the fragments ``following`` (the map itself has already
    redrawn in the browser)."""
    moved = weights_map.settings_from(st.session_state.get(MAP))
    st.session_state.update({k: v for k, v in moved.items() if k not in fixed})
    st.rerun(list(following))


def focus_from_click(t: int) -> None:
    """A click on a cell of W focuses its row's token (step 5) and shows how that weight is
    made: steps 3-10 rerun, and take the click before their select boxes are drawn
    (``take_click``).

    Set here, in the callback, the two select boxes kept showing the old tokens: a value a
    callback sets reaches the browser only with its widget's own fragment's run (Streamlit
    1.67), and neither the map's fragment nor a rerun by key is that. ``t``: the tokens
    on the map.
    """
    picked = (st.session_state.get(MAP) or {}).get("pick") or {}
    row, col = picked.get("row"), picked.get("col")
    if isinstance(row, int) and isinstance(col, int) and 0 <= row < t and 0 <= col < t:
        st.session_state[PICKED] = (row, col)
        st.rerun(state.ATTENTION_KEY)


def take_click() -> None:
    """The cell last clicked, if any: its row becomes the token focus and its column key j."""
    picked = st.session_state.pop(PICKED, None)
    if picked is not None:
        st.session_state["focus"], st.session_state["col"] = picked


def render(view: View, exports: Exports) -> None:
    take_click()  # before the focus (step 5) and key j (below) are drawn
    the_map(view.reading)
    t = len(view.labels)
    st.caption(
        f"Beside each row: its sum, its largest weight, and its entropy. Entropy 0 bits: all "
        f"attention on one token; {np.log2(t):.2f} bits: spread evenly over all {t}. Hover a "
        "cell for its numbers; click one, or use the token focus below, to read it in detail."
    )
    exports.shelf(KEY)  # its place in the list; the map is put there by what follows from W
    shown(view.reading, exports)
    one_weight(view.reading, exports)


@st.fragment(key=MAP_AREA)
def the_map(reading: Reading) -> None:
    """The map, alone in a fragment, under the settings now.

    A move of its controls starts a rerun of the map's fragment, which its callback then
    replaces with the fragments that follow W; in the meantime Streamlit marks that
    fragment's elements as waiting. Drawn in steps 3-10's fragment, it had every element
    of those steps marked and unmarked on every move.
    """
    view = state.view_now(reading)
    weights_map.show(
        weights_map.payload(
            view.res,
            view.labels,
            view.settings,
            side=draw.main_height(),
            present=view.present,
            fixed=reading.fixed,
        ),
        key=MAP,
        on_settings=partial(settings_moved, reading.follows_w, tuple(reading.fixed)),
        on_pick=partial(focus_from_click, len(view.labels)),
    )


@st.fragment(key=SHOWN)
def shown(reading: Reading, exports: Exports) -> None:
    """W under the settings now, as the export list and a trained head's check see it."""
    view = state.view_now(reading, exports)
    # The map as a chart for export, made only if asked for (when the settings then are these)
    # from the view, which holds no attention of its own while the page keeps its exports.
    exports.shelf(KEY)["W, normalised"] = partial(w_chart_of, view)
    if view.head is not None:
        head_check(view.res, view.head, view.settings)
    draw.as_table(st, view.res.weights, view.labels, view.labels, name="W", key="weights_table")
    state.sync_url()


def w_chart_of(view: View) -> dict:
    """The map of ``view``'s W as a Vega-Lite chart (for export)."""
    stretch = bool(view.settings["stretch"])
    return w_chart(view.res.weights, view.labels, stretch, view.present, view.palette("weights"))


def w_chart(
    weights: np.ndarray, labels: list[str], stretch: bool, present: bool, palette: str
) -> dict:
    """The map as a Vega-Lite chart, as the page draws W (for export)."""
    spec = charts.spec(
        charts.heatmap,
        weights,
        labels,
        labels,
        palette=palette,
        x_title="key j (attended to)",
        y_title="query i (attending)",
        value_title="w_ij",
        domain=(0.0, float(weights.max()) if stretch else 1.0),
        height=draw.STAGE if present else None,
    )
    return draw.for_projector(spec) if present else spec


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


SHOWN_TERMS = 10


@st.fragment(key=CELL)
def one_weight(reading: Reading, exports: Exports) -> None:
    """The arithmetic of w_ij, i the token focus (step 5), j picked here or by a click."""
    view = state.view_now(reading)
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
    c = cell(view, i, j)  # its terms: the products of two vectors, whatever W's settings
    a, b = factor_names(view)
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
        arithmetic(reading, i, j)
    st.caption(
        f"Row {i} of W is the softmax of row {i} of the logits: the weight of key {j} is "
        "its exponential over the sum of the row's exponentials (each shifted by the row's "
        "largest logit, which changes nothing but keeps the numbers small)."
    )
    state.sync_url()


@st.fragment(key=ARITHMETIC)
def arithmetic(reading: Reading, i: int, j: int) -> None:
    """w_ij from its score to its weight, under the settings now."""
    view = state.view_now(reading)
    st.latex(cell_latex(cell(view, i, j), *factor_names(view)))
    state.sync_url()


def cell(view: View, i: int, j: int) -> attn_core.Cell:
    return attn_core.Cell.of(view.res, i, j)  # read from the attention the view holds


def factor_names(view: View) -> tuple[str, str]:
    """What a score multiplies: a query and a key, or two token vectors."""
    return ("q", "k") if view.res.projected else ("x", "x")


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
