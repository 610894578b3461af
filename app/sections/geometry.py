"""Before and after attention in one 2-D map: the points shift closer together."""

from __future__ import annotations

import numpy as np
import streamlit as st

import attn_core
from app import data, draw, memory, state
from app.view import Exports, Reading, View
from attn_core import charts

KEY = "geometry"
TITLE = "Geometry"
EXPLANATION = "Before and after attention, in one 2-D map: the points shift closer together."
MAP_ON_STAGE = draw.STAGE - 40
"""The map's plot on a projector: with its legend and axes, a 1080-line screen's free height."""
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "raw": "Two raw features"}
FOLLOWS_W = (KEY,)
"""The map follows W: it redraws alone when W's settings move."""


def render(view: View, exports: Exports) -> None:
    geometry(view.reading, exports)


@st.fragment(key=KEY)
def geometry(reading: Reading, exports: Exports) -> None:
    view = state.view_now(reading, exports)
    res, labels = view.res, view.labels
    before = res.values
    left, right = st.columns([3, 2])
    with right:
        method = draw.pick_one("Map", METHOD_NAMES, key="method")
        features = (0, 1)
        if method == "raw":
            width = before.shape[1]
            for key in ("feature_a", "feature_b"):  # a link may name a feature V does not have
                st.session_state[key] = min(int(st.session_state[key]), width - 1)
            a, b = st.columns(2)
            fa = a.number_input("Feature a", 0, width - 1, key="feature_a")
            fb = b.number_input("Feature b", 0, width - 1, key="feature_b")
            features = (int(fa), int(fb))
        ratio = attn_core.spread_ratio(before, res.output)
        st.metric(
            "Spread after ÷ before",
            "—" if np.isnan(ratio) else f"{ratio:.2g}",
            help="Mean distance between all pairs of tokens after attention, divided by "
            "the same before, in all dimensions (not just the two drawn). Below 1: "
            "attention pulled the tokens together.",
        )
        plane = map_of(before, res, method, features)
        if plane.explained is not None:
            st.caption(variance_kept(plane.explained))
        if plane.method == "tsne":
            st.caption(
                "t-SNE keeps neighbourhoods, not distances: compare shapes only. It is "
                "fitted on the grey points; each red point sits at its weighted mean of "
                "their places, as it does in all dimensions."
            )
        else:
            st.markdown(reading_the_map(ratio, res.projected))
    name = "v (values)" if res.projected else "x (before)"
    draw.chart(
        left,
        "Geometry",
        data.chart(
            charts.geometry,
            plane,
            labels,
            before_name=name,
            after_name="y (after)",
            size=MAP_ON_STAGE if view.present else 460,
        ),
        exports.shelf(KEY),
        width="content",
    )
    state.sync_url()


def map_of(
    before: np.ndarray, res: attn_core.AttentionResult, method: str, features: tuple[int, int]
) -> attn_core.Plane:
    """The 2-D map; PCA, with a message, where the server has no memory for t-SNE now."""
    if method == "tsne":
        try:
            return attn_core.reduce.mixed_plane(data.get_tsne(before), res.weights)
        except memory.Declined as declined:
            st.warning(str(declined), icon=":material/memory:")
            method = "pca"
    return data.get_plane(before, res.output, method, features)


def variance_kept(explained: tuple[float, float]) -> str:
    """What share of the points' spread (before and after together) the two PCA axes keep."""
    return (
        f"PC 1 keeps {explained[0]:.0%} of the variance of the points before and after "
        f"together, PC 2 {explained[1]:.0%}."
    )


def reading_the_map(ratio: float, projected: bool) -> str:
    """How to read the map, with the spread ratio in words (numbers only, no token text)."""
    before = "value vectors v" if projected else "token vectors x"
    how = ""
    if not np.isnan(ratio):
        share = f"{ratio:.0%}" if ratio >= 0.005 else "under 1%"  # not "0%": they did not meet
        how = (
            f" Here the tokens end up {share} as spread out as they started."
            if ratio < 1
            else f" Here they end up {ratio:.1f} times as spread out: this attention pushed apart."
        )
    return (
        f"**Grey**: the {before} before attention. **Red**: the same tokens after, each a "
        f"weighted mean of the grey points. **Lines**: how far each one moved.{how}"
    )
