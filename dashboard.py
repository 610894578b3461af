"""Self-attention, step by step: the Streamlit page, read top to bottom like the seed.

text -> embeddings X -> W' = X Xᵀ -> row-normalised W -> Y = W X -> geometry -> context
awareness -> learnable projections -> every head of the model. Each step is one module of
``app/sections``; this file is their table of contents: page config, state, sidebar, then
the steps in order.
"""

from __future__ import annotations

from contextlib import nullcontext
from types import MappingProxyType

import streamlit as st

from app import data, draw, sections, state
from app.view import Exports, Reading
from attn_core import charts


def main() -> None:
    data.setup()  # once per process: the server's settings and its memory watcher
    state.init()
    present, step = bool(st.session_state["present"]), int(st.session_state["step"])
    st.set_page_config(
        page_title="Self-attention, step by step",
        page_icon="🔍",
        layout="wide",
        initial_sidebar_state="collapsed" if present else "auto",
    )
    model, refused = state.open_model()
    state.fit_to(model)
    st.markdown(draw.PAGE_CSS, unsafe_allow_html=True)  # a fixed stylesheet only
    if present:
        st.markdown(draw.PRESENTATION_CSS, unsafe_allow_html=True)  # a fixed stylesheet only
        state.step_bar(step)
    else:
        st.title("Self-attention, step by step")
        st.caption(
            f"Type any text and watch {model.name}'s tokens attend to each other: dot "
            "products, softmax, weighted sums, and what that does to the vectors."
        )
    if refused:
        st.warning(refused, icon=":material/model_training:")
    for notice in st.session_state["notices"]:
        st.warning(notice, icon=":material/link_off:")  # notices never repeat link values

    # In presentation mode only the current step is drawn, controls included. Each step is
    # drawn whole (title, line, controls, charts) before the next begins, so the browser
    # shows the text, its tokens and W while the steps below are still on their way.
    shown = [sections.PRESENTED[step - 1]] if present else list(sections.ALL)
    steps = [s for s in shown if s in sections.READING]
    if steps:
        open_step(steps[0])
    reading = read_the_text(model)  # why it cannot, under the first step's controls
    exports = Exports()
    for k, section in enumerate(steps):
        if k:
            open_step(section)
        if reading is not None:
            section.render(reading, exports)
    if reading is not None:
        attention([s for s in shown if s in sections.ATTENTION], reading, exports)
    # Last, so that nothing waits for it: the sidebar is drawn in a place of its own.
    state.sidebar([(s.KEY, sections.title(s)) for s in sections.ALL], model)
    state.sync_url(page_end=True)


def read_the_text(model) -> Reading | None:
    """The text as ``model`` reads it, or ``None`` with a message on the page why not."""
    settings = state.current()
    if not settings["text"].strip():
        st.info("Type some text to begin.")
        return None
    # The network can take a moment on a long text; static vectors are a table lookup.
    network = settings["kind"] == "contextual" or settings["mode"] == "real"
    with st.spinner("Reading the text…") if network else nullcontext():
        inputs = data.model_inputs(settings["text"], settings)
    if isinstance(inputs, str):  # nothing the model can read
        st.info(inputs)
        return None
    emb, x, head = inputs
    labels = charts.token_labels(charts.readable(emb.tokens, model.byte_level))
    present, step = bool(settings["present"]), int(settings["step"])
    follows_w = tuple(sections.following_w(present, step))
    return Reading(MappingProxyType(settings), emb, x, head, labels, follows_w, model)


@st.fragment(key=state.ATTENTION_KEY)
def attention(shown: list, reading: Reading, above: Exports) -> None:
    """Steps 3-10: scores, weights, output and all that follows from them.

    A fragment: their controls (temperature, mask, projections) rerun these steps alone;
    the text, its tokens and X above stay as they are. The export list starts from the
    charts drawn above, so it offers exactly what is on screen.
    """
    exports = Exports.following(above)
    view = state.view_now(reading, exports)
    for section in shown:
        open_step(section)
        section.render(view, exports)
    state.sync_url()


def open_step(section) -> None:
    """A step's title, its one line and its controls; its charts follow them.

    Every setting already has its value (``state.init``), so a step's charts may be
    computed before the controls of the steps below them are drawn."""
    real = st.session_state["mode"] == "real"
    large = bool(st.session_state["present"])
    draw.heading(
        section.KEY, sections.title(section), sections.explanation(section, real), large=large
    )
    if hasattr(section, "controls"):
        section.controls(real)


main()
