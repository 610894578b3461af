"""The text, and the tokens the model cuts it into."""

from __future__ import annotations

import unicodedata

import pyarrow as pa
import streamlit as st

from app import data, models
from app.view import Exports, Reading
from attn_core import charts

KEY = "text"
TITLE = "Text and tokens"
EXPLANATION = "What you type, cut into the pieces the model reads."
MAX_CHARS = 200_000
EXAMPLES = {
    "The seed's sentence": ("hi how are you", "hey, how old are you?"),
    "Two kinds of bank": (
        "I sat on the river bank and watched the water.",
        "The bank raised its interest rates again.",
    ),
    "Repeated words": ("the cat and the dog", "the dog chased the cat"),
    "A paragraph": (
        "Self-attention lets every word in a sentence look at every other word. Each word "
        "scores how similar the others are, turns the scores into weights that sum to one, "
        "and becomes a weighted mix of all the words. Words that appear together pull each "
        "other's representations closer, which is how a model becomes aware of context.",
        "Attention weights tell each word how much of every other word to mix in.",
    ),
}
"""Each example fills both text boxes: this step's and the second sentence of step 7."""
SEPARATOR = "  ·  "
RIGHT_TO_LEFT = frozenset({"R", "AL", "AN", "RLE", "RLO", "LRE", "LRO", "PDF", "RLI", "LRI", "FSI"})
"""Bidi classes that could reorder the strip: right-to-left letters, Arabic digits, controls."""
ISOLATE, END_ISOLATE = "\u2066", "\u2069"
"""Left-to-right isolate and its end: the plain-text form of ``<bdi dir="ltr">``."""


def pick_example() -> None:
    """Put the chosen example into the two text boxes, and leave no pill selected: a click
    on a selected pill would unselect it instead of loading it again."""
    name = st.session_state.get("example")
    if name in EXAMPLES:
        st.session_state["text"], st.session_state["text2"] = EXAMPLES[name]
    st.session_state["example"] = None


def token_strip(tokens: list[str]) -> str:
    """The pieces in the model's order, left to right, for any script.

    A run of Hebrew or Arabic pieces would be reversed by the browser's bidi algorithm, and
    ``##`` pushed to the other side. Each piece that holds right-to-left text is isolated
    left to right: it reads as its own unit, with ``##`` where the tokenizer put it.
    """
    return SEPARATOR.join(
        f"{ISOLATE}{piece}{END_ISOLATE}"
        if any(unicodedata.bidirectional(ch) in RIGHT_TO_LEFT for ch in piece)
        else piece
        for piece in tokens
    )


def controls(real: bool) -> None:
    st.pills("Examples", list(EXAMPLES), key="example", on_change=pick_example, default=None)
    st.text_area("Text", key="text", max_chars=MAX_CHARS, height=90)
    model = data.get_model(str(st.session_state["model"]))
    around = models.specials(model)
    if real:
        st.caption(
            f"A trained head sees every word piece{f', {around} included' if around else ''}."
        )
        return
    row = st.container(horizontal=True, gap="large")
    if around:
        row.toggle(f"Keep {around}", key="special")
    else:
        row.caption(f"{model.name} puts no special tokens around a text.")
    mark = "Ġ, shown as ␣, starts a word" if model.byte_level else "##"
    row.toggle(
        "Merge sub-words into words",
        key="merge",
        help=f"A word cut into several pieces ({mark}) becomes one token, the mean of its pieces.",
    )


def render(page: Reading, exports: Exports) -> None:
    emb, model = page.emb, page.model
    if emb.truncated:
        around = models.specials(model)
        st.warning(
            f"The text is longer than the page reads ({emb.max_tokens} word pieces"
            f"{f' with {around}' if around else ''}): the last {emb.n_dropped} word pieces "
            "were dropped.",
            icon=":material/content_cut:",
        )
    st.write(f"The model sees **{len(emb.tokens)} tokens**:")
    st.code(
        token_strip(charts.readable(emb.tokens, model.byte_level)),
        language=None,
        wrap_lines=True,
        height="content" if len(emb.tokens) <= 60 else 160,
    )
    with st.expander("Token table (position, token, characters, vocabulary ids)"):
        st.dataframe(
            pa.table(  # straight to the Arrow that Streamlit sends
                {
                    "position": list(range(len(emb.tokens))),
                    "token": charts.readable(emb.tokens, model.byte_level),
                    "characters": [f"{a}–{b}" if b else "" for a, b in emb.offsets],
                    "text": [emb.text[a:b] for a, b in emb.offsets],
                    "ids": [" ".join(map(str, ids)) for ids in emb.token_ids],
                }
            ),
            hide_index=True,
            width="stretch",
        )
