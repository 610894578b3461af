"""Context awareness. The same word in two sentences: one vector before attention
(static vectors ignore the sentence), two different ones after."""

from __future__ import annotations

import numpy as np
import streamlit as st

import attn_core
from app import data, draw, links, state
from app.view import Exports, Reading, View
from attn_core import charts

KEY = "context"
TITLE = "Context awareness"
EXPLANATION = "The same word in two sentences: one vector before attention, two different after."
AFTER = "context.after"
"""The word after attention, in both texts: what W's settings change here. It redraws alone
(a fragment of this key) when they move; the second sentence and the word stay as they are."""
FOLLOWS_W = (AFTER,)


def render(view: View, exports: Exports) -> None:
    context(view.reading, exports)


@st.fragment(key=KEY)
def context(reading: Reading, exports: Exports) -> None:
    view = state.view_now(reading)
    exports.shelf(KEY)  # emptied: the chart may have left (no word in common)
    follow = {"on_change": state.rerun, "args": (KEY,)}  # the chart may come or go
    st.text_input("A second sentence", key="text2", max_chars=links.MAX_TEXT, **follow)
    state.sync_url()
    inputs_b = data.model_inputs(st.session_state["text2"], view.settings)
    shared = [] if isinstance(inputs_b, str) else attn_core.shared_words(view.emb, inputs_b[0])
    word = None
    if isinstance(inputs_b, str):
        st.info(inputs_b)
    elif not shared:
        st.info("The two texts share no word: add a word from the first text to the second.")
    else:
        word = st.selectbox("A word both texts use", shared, key="shared_word")
    # drawn even with no word to show: W's moves rerun it by its key, which must exist
    after_attention(reading, word, exports)
    if word is not None and view.settings["kind"] == "static" and not view.real:
        st.caption(
            "Static vectors ignore the sentence, so before attention the word is the same "
            "point in both. After attention it has mixed in its neighbours."
        )


@st.fragment(key=AFTER)
def after_attention(reading: Reading, word: str | None, exports: Exports) -> None:
    """The shared word before and after attention in each text, under the settings now."""
    if word is None:
        return
    view = state.view_now(reading, exports)
    emb_b, x_b, head_b = data.model_inputs(st.session_state["text2"], view.settings)
    res_a = view.res
    res_b = attn_core.attention_for(x_b, view.settings, head=head_b.projections if head_b else None)
    ia, ib = view.emb.tokens.index(word), emb_b.tokens.index(word)
    before = np.stack([res_a.values[ia], res_b.values[ib]])  # (2, d_v)
    after = np.stack([res_a.output[ia], res_b.output[ib]])  # (2, d_v)
    cos_before, cos_after = attn_core.cosine(*before), attn_core.cosine(*after)
    left, right = st.columns([3, 2])
    right.metric("Cosine similarity before attention", f"{cos_before:.3f}")
    change = f"{cos_after - cos_before:+.3f}"
    right.metric("Cosine similarity after attention", f"{cos_after:.3f}", delta=change)
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
        exports.shelf(KEY),
        width="content",
    )
    state.sync_url()
