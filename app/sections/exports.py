"""Step 9: take it with you. Any chart on screen as PNG or SVG, the matrices as CSV or
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
TITLE = "10 · Take it with you"
EXPLANATION = (
    "Any chart as PNG or SVG, the matrices as CSV or NumPy, and a snapshot a notebook can "
    "reproduce."
)


def controls(real: bool) -> None:
    """What to take is chosen in the fragment that offers it."""


def render(view: View, exports: Exports) -> None:
    downloads(view, exports)


@st.fragment(key=state.EXPORTS_KEY)
def downloads(view: View, exports: Exports) -> None:
    """Rerun by every fragment above that changes which charts are on screen."""
    charts_col, matrices_col, snapshot_col = st.columns(3)
    labels = view.labels
    with charts_col:
        name = st.selectbox("Chart", exports.names(), key="export_chart")
        a, b = st.columns(2)
        stem = draw.file_stem(name)
        # read when clicked: the chart as it is on screen then
        draw.offer(a, "PNG", lambda: export.chart_png(exports[name]), f"{stem}.png", "image")
        draw.offer(b, "SVG", lambda: export.chart_svg(exports[name]), f"{stem}.svg", "draw")
    with matrices_col:
        matrices = export.result_matrices(view.res)
        which = st.selectbox("Matrix", list(matrices), key="export_matrix")
        columns = labels if matrices[which].shape == (len(labels), len(labels)) else None
        a, b = st.columns(2)
        make_csv = partial(export.matrix_csv, matrices[which], labels, columns)
        draw.offer(a, "CSV", make_csv, f"{which}.csv", "table")
        make_npz = partial(export.matrices_npz, matrices, labels)
        draw.offer(b, "All (.npz)", make_npz, "attention.npz", "folder_zip")
    with snapshot_col:
        record = partial(export.snapshot, view.settings, view.emb, view.res)
        draw.offer(
            st,
            "Snapshot (.json)",
            lambda: json.dumps(record()),
            "attention-snapshot.json",
            "data_object",
        )
        st.caption("In a notebook: `attn_core.reproduce(json.load(open(path)))` recomputes it.")
