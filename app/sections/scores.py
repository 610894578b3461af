"""W′, the dot product of every pair of tokens."""

from __future__ import annotations

import streamlit as st

from app import data, draw
from app.view import Exports, View
from attn_core import charts

KEY = "scores"
TITLE = "Unnormalised W′"
EXPLANATION = "Every pair of tokens gets a dot product: large when two vectors point the same way."


def render(view: View, exports: Exports) -> None:
    res, labels = view.res, view.labels
    product = "Q Kᵀ" if res.projected else "X Xᵀ"
    st.markdown(f"**W′ = {product}**: entry (i, j) is the dot product of token i and token j.")
    draw.chart(
        st,
        "W′, unnormalised",
        data.chart(
            charts.heatmap,
            res.scores,
            labels,
            labels,
            palette=view.palette("diverging"),
            x_title="key j",
            y_title="query i",
            value_title="w′_ij",
            height=draw.main_height(),
        ),
        exports.shelf(KEY),
        width="content",
    )
    draw.as_table(st, res.scores, labels, labels, name="W′", key="scores_table")
