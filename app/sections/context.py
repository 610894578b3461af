"""Step 7: context awareness. The same word in two sentences: one vector before attention
(static vectors ignore the sentence), two different ones after."""

from __future__ import annotations

import numpy as np
import streamlit as st

import attn_core
from app import data, draw, links, state
from app.view import Exports, Reading, View
from attn_core import charts

KEY = "context"
TITLE = "7 · Context awareness"
EXPLANATION = "The same word in two sentences: one vector before attention, two different after."
FOLLOWS_W = (KEY,)
"""The comparison follows W: it redraws alone when W's settings move."""


def controls(real: bool) -> None:
    """The second sentence sits in the fragment that compares the two."""


def render(view: View, exports: Exports) -> None:
    context(view.reading, exports)


@st.fragment(key=KEY)
def context(reading: Reading, exports: Exports) -> None:
    view = state.view_now(reading, exports)
    shelf = exports.shelf(KEY)
    follow = {"on_change": state.rerun, "args": (KEY,)}  # the chart may come or go
    st.text_input("A second sentence", key="text2", max_chars=links.MAX_TEXT, **follow)
    state.sync_url()
    inputs_b = data.model_inputs(st.session_state["text2"], view.settings)
    if isinstance(inputs_b, str):
        st.info(inputs_b)
        return
    emb_b, x_b, head_b = inputs_b
    shared = attn_core.shared_words(view.emb, emb_b)
    if not shared:
        st.info("The two texts share no word: add a word from the first text to the second.")
        return
    word = st.selectbox("A word both texts use", shared, key="shared_word")
    res_a = view.res
    res_b = attn_core.attention_for(x_b, view.settings, head=head_b.projections if head_b else None)
    ia, ib = view.emb.tokens.index(word), emb_b.tokens.index(word)
    before = np.stack([res_a.values[ia], res_b.values[ib]])  # (2, d_v)
    after = np.stack([res_a.output[ia], res_b.output[ib]])  # (2, d_v)
    cos_before, cos_after = attn_core.cosine(*before), attn_core.cosine(*after)
    left, right = st.columns([3, 2])
    with right:
        st.metric("Cosine similarity before attention", f"{cos_before:.3f}")
        st.metric(
            "Cosine similarity after attention",
            f"{cos_after:.3f}",
            delta=f"{cos_after - cos_before:+.3f}",
        )
        if view.settings["kind"] == "static" and not view.real:
            st.caption(
                "Static vectors ignore the sentence, so before attention the word is the "
                "same point in both. After attention it has mixed in its neighbours."
            )
    plane = attn_core.to_plane(before, after)
    draw.chart(
        left,
        "Context: the shared word",
        data.chart(
            charts.geometry,
            plane,
            ["in text 1", "in text 2"],
            before_name="before",
            after_name="after",
            size=420,
            show_labels=True,
            label_stage="after",
        ),
        shelf,
        width="content",
    )
