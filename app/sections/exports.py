"""Take it with you. Any chart on screen as PNG or SVG, the matrices as CSV or
NumPy, and a snapshot that a notebook can reproduce. Each file is made only when its
button is clicked."""

from __future__ import annotations

import json
from functools import partial

import streamlit as st

from app import draw, state
from app.view import Exports, View
from attn_core import export

KEY = "export"
TITLE = "Take it with you"
EXPLANATION = (
    "Any chart as PNG or SVG, the matrices as CSV or NumPy, and a snapshot a notebook can "
    "reproduce."
)


def render(view: View, exports: Exports) -> None:
    downloads(view, exports)


@st.fragment(key=state.EXPORTS_KEY)
def downloads(view: View, exports: Exports) -> None:
    """Rerun by every fragment above that changes which charts are on screen.

    Not rerun when W's settings move (the same charts stay on screen): each file is made
    from what is on screen when it is clicked (``exports.view``, ``exports[name]``).
    """
    charts_col, matrices_col, snapshot_col = st.columns(3)
    with charts_col:
        name = st.selectbox("Chart", exports.names(), key="export_chart")
        pair = st.container(horizontal=True)
        stem = draw.file_stem(name)
        # read when clicked: the chart as it is on screen then
        draw.offer(pair, "PNG", lambda: export.chart_png(exports[name]), f"{stem}.png", "image")
        draw.offer(pair, "SVG", lambda: export.chart_svg(exports[name]), f"{stem}.svg", "draw")
    with matrices_col:
        which = st.selectbox("Matrix", list(export.result_matrices(view.res)), key="export_matrix")
        pair = st.container(horizontal=True)
        draw.offer(pair, "CSV", partial(matrix_csv, exports, which), f"{which}.csv", "table")
        everything = partial(all_matrices, exports)
        draw.offer(pair, "All (.npz)", everything, "attention.npz", "folder_zip")
    with snapshot_col:
        draw.offer(
            st,
            "Snapshot (.json)",
            partial(snapshot, exports),
            "attention-snapshot.json",
            "data_object",
        )
        st.caption("In a notebook: `attn_core.reproduce(json.load(open(path)))` recomputes it.")


def all_matrices(exports: Exports) -> bytes:
    shown = exports.view
    return export.matrices_npz(export.result_matrices(shown.res), shown.labels)


def snapshot(exports: Exports) -> str:
    shown = exports.view
    return json.dumps(export.snapshot(shown.settings, shown.emb, shown.res))


def matrix_csv(exports: Exports, which: str) -> str:
    """One matrix of the attention on screen as CSV, tokens naming its rows (and columns)."""
    matrix, labels = export.result_matrices(exports.view.res)[which], exports.view.labels
    columns = labels if matrix.shape == (len(labels), len(labels)) else None
    return export.matrix_csv(matrix, labels, columns)
