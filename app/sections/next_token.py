"""What comes next: a decoder's ten most likely next tokens, beside where its last token
looked in every layer."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import data, draw, memory
from app.view import Exports, View
from attn_core import charts
from attn_core.charts.base import NEWLINE_MARK, SPACE_MARK

KEY = "next"
TITLE = "What comes next"
EXPLANATION = (
    "A decoder reads left to right, so its last token has seen the whole text: the model "
    "turns that token's final vector into a probability for every token that could follow."
)
SHOWN = 10
"""How many of the most likely next tokens are drawn."""


def render(view: View, exports: Exports) -> None:
    model, name = view.model, str(view.settings["model"])
    if not view.decoder:
        st.info(
            f"{model.name} is an encoder: it reads the whole text at once and predicts no "
            "next token. Choose a decoder such as gpt2 in the sidebar to see one at work.",
            icon=":material/arrow_forward:",
        )
        return
    shelf = exports.shelf(KEY)
    text = view.emb.text
    with st.spinner(f"Running {model.name} on the text…"):
        guess = data.get_next_tokens(text, SHOWN, name)
        try:
            heads = data.get_all_heads(text, True, False, name)  # every piece it reads
        except memory.Declined as declined:
            heads = None
            st.warning(str(declined), icon=":material/memory:")
    if guess.n_dropped:
        st.caption(f"The text is cut after {view.emb.max_tokens} pieces: it follows the last.")
    tokens = [shown_token(t) for t in guess.tokens]
    st.write(
        f"After the last token, **{plain(tokens[0])}** is the most likely next token "
        f"(p = {guess.probs[0]:.2f}). The model's uncertainty over all "
        f"{model.table.shape[0]:,} tokens is {guess.entropy:.1f} bits "
        f"(at most {np.log2(model.table.shape[0]):.1f})."
    )
    left, _ = st.columns(2)
    draw.chart(
        left,
        "Next token",
        data.chart(
            charts.bars,
            guess.probs,
            charts.token_labels(tokens),
            title=f"The {SHOWN} most likely next tokens",
            value_title="probability",
            domain=(0.0, float(guess.probs[0])),
        ),
        shelf,
    )
    if heads is None:
        return
    rows = heads.weights[:, :, -1, :].mean(axis=1)  # (L, H, T) -> (L, T)
    labels = charts.token_labels(charts.readable(heads.tokens, model.byte_level))
    draw.chart(
        st,
        "Last token through the layers",
        data.chart(
            charts.heatmap,
            rows,
            [f"layer {layer}" for layer in range(rows.shape[0])],
            labels,
            palette=view.palette("weights"),
            domain=(0.0, float(rows.max())),
            title="Where the last token looks, each layer's heads averaged",
            value_title="weight",
            x_title="key (attended to)",
            y_title="layer",
        ),
        shelf,
    )
    st.caption(
        "Each row is the last token's row of W in one layer, the mean of that layer's heads: "
        "what its vector mixes in on the way to the prediction."
    )


def shown_token(token: str) -> str:
    """A predicted token as the page writes tokens: a leading space as ``␣``."""
    body = token.lstrip(" ")
    return SPACE_MARK * (len(token) - len(body)) + body.replace("\n", NEWLINE_MARK)


def plain(token: str) -> str:
    """A token to print inside Markdown, its Markdown characters escaped."""
    return "".join(f"\\{ch}" if ch in MARKDOWN else ch for ch in token)


MARKDOWN = frozenset("\\`*_{}[]()<>#+-.!|~$:")
"""Characters Markdown (and Streamlit's LaTeX and emoji) could read as markup."""
