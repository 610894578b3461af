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
    state.sidebar([(s.KEY, sections.title(s)) for s in sections.ALL], model)
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

    # In presentation mode only the current step is drawn, controls included.
    shown = [sections.PRESENTED[step - 1]] if present else list(sections.ALL)
    boxes = boxes_with_controls([s for s in shown if s in sections.READING])
    messages = boxes[0][1] if boxes and boxes[0][0] is sections.text else st.container()
    reading = read_the_text(messages, model)
    if reading is not None:
        exports = Exports()
        for section, where in boxes:
            with where:
                section.render(reading, exports)
        attention([s for s in shown if s in sections.ATTENTION], reading, exports)
    state.sync_url(page_end=True)


def read_the_text(messages, model) -> Reading | None:
    """The text as ``model`` reads it, or ``None`` with a message in ``messages`` why not."""
    settings = state.current()
    if not settings["text"].strip():
        messages.info("Type some text to begin.")
        return None
    # The network can take a moment on a long text; static vectors are a table lookup.
    network = settings["kind"] == "contextual" or settings["mode"] == "real"
    with messages, st.spinner("Reading the text…") if network else nullcontext():
        inputs = data.model_inputs(settings["text"], settings)
    if isinstance(inputs, str):  # nothing the model can read
        messages.info(inputs)
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
    boxes = boxes_with_controls(shown)
    exports = Exports.following(above)
    view = state.view_now(reading, exports)
    for section, where in boxes:
        with where:
            section.render(view, exports)
    state.sync_url()


def boxes_with_controls(shown: list) -> list:
    """``(step, container)`` for each step: its title, its one line, then its controls."""
    real = st.session_state["mode"] == "real"
    large = bool(st.session_state["present"])
    boxes = []
    for section in shown:
        where = draw.heading(
            section.KEY, sections.title(section), sections.explanation(section, real), large=large
        )
        if hasattr(section, "controls"):
            with where:
                section.controls(real)
        boxes.append((section, where))
    return boxes


main()
