"""Self-attention, step by step: the Streamlit page.

It follows the seed's walkthrough top to bottom: text -> embeddings X -> W' = X Xᵀ ->
row-normalised W -> Y = W X -> geometry -> context awareness -> learnable projections.
The page wires widgets to ``attn_core`` and lays out charts; it holds no math.

Controls sit in the section they belong to, but some are read before the sections above
them are drawn (the projection settings in section 8 shape W' in section 3; the
temperature in section 4 shapes the output in section 5). Each section therefore gets its
container first, and is filled in order later.
"""

from __future__ import annotations

import gc
import hashlib
import json
import pickle
import re
import secrets
from functools import partial
from urllib.parse import urlencode

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

import attn_core
from attn_core import charts, export, viewstate

MODEL_NAME = attn_core.BUNDLED_MODEL
MAX_CHARS = 200_000
MODE_NAMES = {
    "free": "Parameter-free (X Xᵀ)",
    "learnable": "Learnable projections (random)",
    "real": "A trained head of the model",
}
OBJECTIVE_NAMES = {"previous": "Previous token", "imitate": "Imitate the head"}
QKV_NAMES = {"q": "Q = X W_q", "k": "K = X W_k", "v": "V = X W_v"}
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "raw": "Two raw features"}
KIND_NAMES = {"static": "Static (context-free)", "contextual": "Contextual (final layer)"}
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
SECTIONS = {
    "text": ("1 · Text and tokens", "What you type, cut into the pieces the model reads."),
    "x": (
        "2 · Embeddings X",
        "Each token becomes a row of 384 numbers. Static vectors ignore the other words.",
    ),
    "scores": (
        "3 · Unnormalised W′",
        "Every pair of tokens gets a dot product: large when two vectors point the same way.",
    ),
    "weights": (
        "4 · Normalised W",
        "Each row goes through a softmax: positive weights that add up to 1.",
    ),
    "output": (
        "5 · Output Y = W X",
        "Each token's new vector is a weighted mix of the vectors, using its row of W.",
    ),
    "geometry": (
        "6 · Geometry",
        "Before and after attention, in one 2-D map: the points shift closer together.",
    ),
    "context": (
        "7 · Context awareness",
        "The same word in two sentences: one vector before attention, two different after.",
    ),
    "learnable": (
        "8 · Learnable projections",
        "Real transformers learn W_q, W_k, W_v. Random ones are the starting point; training "
        "moves them towards a pattern.",
    ),
    "export": (
        "9 · Take it with you",
        "Any chart as PNG or SVG, the matrices as CSV or NumPy, and a snapshot a notebook "
        "can reproduce.",
    ),
}


IN_A_HEAD = {
    "x": "X is what enters the chosen layer: the model's hidden states (for layer 0, word and "
    "position embeddings, normalised). The head projects these.",
    "learnable": "This head's own W_q, W_k, W_v, as training left them, applied to your text.",
}
"""Explanations that change when the page shows a trained head."""

READING = ("text", "x")
"""Sections drawn by the whole page; the ones after them follow the attention settings."""
STEP_KEYS = list(SECTIONS)[: viewstate.STEPS]
"""Presentation mode walks through sections 1-8, one at a time."""
PRESENTATION_CSS = """<style>
html { font-size: 22px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-top: 3.5rem; }
</style>"""
"""Larger type for a projector (Streamlit sizes text in rem): a fixed stylesheet, no user
text in it. Charts are sized in pixels and get larger fonts from PRESENTATION_CHARTS."""
PRESENTATION_CHARTS = {
    "axis": {"labelFontSize": 16, "titleFontSize": 18},
    "legend": {"labelFontSize": 15, "titleFontSize": 16},
    "title": {"fontSize": 20},
}
SMALL_CHART, PRESENTATION_GROWTH = 300, 1.4
"""On a projector, charts drawn at a fixed size under SMALL_CHART pixels (the token x token
squares side by side) grow, so their larger labels still fit one per cell."""


# ---------------------------------------------------------------- data (cached) ----------


@st.cache_resource(show_spinner=f"Opening {MODEL_NAME}…")
def get_model() -> attn_core.Model:
    """The bundled model's tokenizer and word embeddings, opened once per server and shared
    by every session: all the default page needs (static vectors are rows of that table).

    Streamlit runs a full garbage collection after every rerun, which walks every
    long-lived object in the process; what exists once the libraries are loaded is frozen
    out of it, here and again when the network loads (``get_network``).
    """
    model = attn_core.load_model()
    gc.freeze()
    return model


@st.cache_resource(show_spinner=f"Loading the {MODEL_NAME} network (once per server)…")
def get_network() -> attn_core.Model:
    """The model with its network in memory: contextual vectors and trained heads.

    Loading it imports torch and transformers (a few seconds, and most of the server's
    memory), so the page does it only when one of those is first asked for. With them in
    memory a garbage collection walked half a million objects, about 250 ms on every
    slider move, until they were frozen.
    """
    model = get_model().load_network()
    gc.freeze()
    return model


@st.cache_resource(show_spinner=False)
def freeze_after_torch() -> None:
    """After the first training run: torch, imported for its autograd, is frozen too."""
    gc.freeze()


@st.cache_data(max_entries=128, show_spinner=False)
def get_embedding(
    text: str, kind: str, special_tokens: bool, merge_subwords: bool
) -> attn_core.Embedding | str:
    """Token vectors for one text and its options, or a message saying why there are none."""
    try:
        return attn_core.embed(
            text,
            kind=kind,
            model=get_network() if kind == "contextual" else get_model(),
            special_tokens=special_tokens,
            merge_subwords=merge_subwords,
        )
    except ValueError as exc:
        message = str(exc)
        return message[:1].upper() + message[1:]


EXPORTABLE: dict[str, dict] = {}
"""Every chart drawn, by name: the export section offers each of them."""


def draw(where, name: str, spec: dict, **kwargs):
    """Draw a chart in ``where`` (a container or ``st``) and keep it for export."""
    if st.session_state.get("present"):
        config = spec.get("config", {})
        larger = {
            key: {**config.get(key, {}), **fonts} for key, fonts in PRESENTATION_CHARTS.items()
        }
        spec = {**spec, "config": {**config, **larger}}
        if isinstance(spec.get("width"), int) and spec["width"] < SMALL_CHART:
            spec["width"] = round(spec["width"] * PRESENTATION_GROWTH)
            spec["height"] = round(spec["height"] * PRESENTATION_GROWTH)
    EXPORTABLE[name] = spec
    if kwargs.get("on_select", "ignore") == "ignore":
        # One paint per redraw, where SVG rewrites an element per mark, label and tick (a
        # slider move rewrote some 5,000 of them). A chart that takes clicks stays SVG:
        # each cell is then an element with its own label, for screen readers and tests.
        spec = {**spec, "usermeta": {"embedOptions": {"renderer": "canvas"}}}
    # A canvas has no text of its own: screen readers get the chart's name and title.
    title = spec.get("title")
    alt = f"{name}: {title}" if title and title != name else name
    return where.vega_lite_chart(spec=spec, alt=alt, **kwargs)


def chart_spec(builder: str, *args, **kwargs) -> dict:
    """The Vega-Lite spec of ``charts.<builder>(*args, **kwargs)``, built once per input.

    Keyed by the arguments' contents, so a chart whose inputs a control did not change (X
    when the temperature moves) is not rebuilt: a 256 x 384 image takes 20 ms to encode.
    One digest of the pickled arguments is much cheaper than Streamlit hashing a 256-label
    list item by item. Charts whose numbers did change reuse their structure (``charts.spec``).
    """
    return _cached_spec(digest(builder, args, kwargs), builder, args, kwargs)


def digest(*values) -> str:
    """A short fingerprint of arrays, numbers and strings: a chart's or a training run's inputs."""
    return hashlib.blake2b(pickle.dumps(values), digest_size=16).hexdigest()


# Altair checks every object against the Vega-Lite schema as it is made, which costs
# about a fifth of each chart's build when a new text gives charts a new layout. The
# builders' output is validated in tests/test_charts.py instead.
alt.utils.schemapi.disable_debug_mode()


@st.cache_data(max_entries=256, show_spinner=False)
def _cached_spec(digest: str, builder: str, _args: tuple, _kwargs: dict) -> dict:
    return charts.spec(getattr(charts, builder), *_args, **_kwargs)


@st.cache_data(max_entries=64, show_spinner=False)
def get_head(text: str, layer: int, head: int) -> attn_core.Head:
    """One trained head on one text (the text has already been read by ``get_embedding``)."""
    return attn_core.model_head(text, layer=layer, head=head, model=get_network())


def model_inputs(
    text: str, settings: dict
) -> tuple[attn_core.Embedding, np.ndarray, attn_core.Head | None] | str:
    """The tokens, the vectors X that attention works on, and in ``real`` mode the head.

    A trained head sees every word piece and projects the hidden states entering its
    layer, so in that mode the token options do not apply and X is those hidden states.
    """
    if settings["mode"] != "real":
        emb = get_embedding(text, settings["kind"], settings["special"], settings["merge"])
        return emb if isinstance(emb, str) else (emb, emb.vectors, None)
    emb = get_embedding(text, "static", True, False)
    if isinstance(emb, str):
        return emb
    head = get_head(text, int(settings["layer"]), int(settings["head"]))
    return emb, head.hidden, head


@st.cache_data(max_entries=64, show_spinner="Fitting the 2-D map…")
def get_plane(
    before: np.ndarray, after: np.ndarray, method: str, features: tuple[int, int]
) -> attn_core.Plane:
    return attn_core.to_plane(before, after, method=method, features=features)


# ---------------------------------------------------------------- controls ---------------


def pick_example() -> None:
    """Put the chosen example into the two text boxes."""
    name = st.session_state.get("example")
    if name in EXAMPLES:
        st.session_state["text"], st.session_state["text2"] = EXAMPLES[name]


def mode_changed() -> None:
    """Each mode starts from its own defaults: 1/√d scaling and the training target."""
    defaults = viewstate.defaults_for(st.session_state["mode"])
    for key in ("scale", "objective"):
        st.session_state[key] = defaults[key]


def reroll() -> None:
    st.session_state["seed"] = secrets.randbelow(10_000)


def focus_from_click(chart_key: str, labels_key: str) -> None:
    """A click on a heatmap row focuses that token."""
    picked = st.session_state.get(chart_key, {}).get("selection", {}).get("pick", [])
    labels = st.session_state.get(labels_key, [])
    if picked and picked[0].get("row") in labels:
        st.session_state["focus"] = labels.index(picked[0]["row"])


def pick_one(label: str, names: dict[str, str], *, key: str) -> str:
    """A segmented control over ``names`` (value -> what it shows); its value is in state."""
    return st.segmented_control(label, list(names), format_func=names.get, key=key, required=True)


def init_state() -> None:
    """On a session's first run: the defaults, then whatever the link carries, validated.

    On later runs, re-assert every setting: Streamlit forgets the value of a widget that a
    run does not draw, and presentation mode draws only one section's controls.
    """
    if "notices" in st.session_state:
        for key in viewstate.DEFAULTS:
            st.session_state[key] = st.session_state[key]
        return
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    values, notices = viewstate.from_query(params)
    mode = values.get("mode", viewstate.DEFAULTS["mode"])
    for key, value in {**viewstate.defaults_for(mode), **values}.items():
        st.session_state[key] = value
    st.session_state["notices"] = notices


def current_view() -> dict[str, object]:
    return {key: st.session_state.get(key) for key in viewstate.DEFAULTS}


def sync_url() -> None:
    """Keep the address bar equal to the view on screen (defaults left out).

    Called by the whole page and by each fragment (a fragment reruns alone); it writes
    only when the address would change, so the repeats in a full run cost nothing.
    """
    query = viewstate.to_query(current_view())
    if query != st.query_params.to_dict():
        st.query_params.from_dict(query)


def show_share_link() -> None:
    """A button that shows a copyable link to exactly this view."""
    if st.button("Link to this view", icon=":material/link:", key="share"):
        query = viewstate.to_query(current_view())
        base = (st.context.url or "").split("?", 1)[0]
        st.code(f"{base}?{urlencode(query)}" if query else base or "/", language=None)
        if not viewstate.fits_in_link(current_view()):
            st.caption(
                f"A link carries at most {viewstate.MAX_TEXT} characters of text: "
                "this text is too long, so the link leaves it out."
            )


# ---------------------------------------------------------------- sections ---------------


def section(key: str, *, large: bool = False, real: bool = False):
    """A container with the section's title and its one-line explanation."""
    box = st.container()
    title, explanation = SECTIONS[key]
    if real:
        explanation = IN_A_HEAD.get(key, explanation)
    box.header(title, anchor=key)
    if large:
        box.subheader(explanation, anchor=False)
    else:
        box.caption(explanation)
    return box


def go_to_step(step: int) -> None:
    st.session_state["step"] = min(max(step, 1), viewstate.STEPS)


def show_sidebar() -> None:
    with st.sidebar:
        st.radio(
            "Attention",
            list(MODE_NAMES),
            format_func=MODE_NAMES.get,
            key="mode",
            on_change=mode_changed,
        )
        st.caption(
            "Parameter-free: scores are X Xᵀ, as in the walkthrough. Learnable: scores are "
            "Q Kᵀ with random W_q, W_k, W_v (settings in section 8). Trained head: the W_q, "
            f"W_k, W_v that {MODEL_NAME} learnt, for the layer and head below."
        )
        layer, head = st.columns(2)
        layer.selectbox("Layer", range(viewstate.LAYERS), key="layer")
        head.selectbox(
            "Head",
            range(viewstate.HEADS),
            key="head",
            help="Shown in the trained-head mode, and the pattern that training imitates "
            "in section 8.",
        )
        st.toggle(
            "Presentation mode",
            key="present",
            help="One step at a time, in large type, for a projector. Page Down and Page Up "
            "(what most presentation clickers send) move between steps.",
        )
        if not st.session_state["present"]:
            for key, (title, _) in SECTIONS.items():
                st.markdown(f"[{title}](#{key})")
        show_share_link()


def show_step_bar(step: int) -> None:
    """Previous / where we are / next, at the top of a presentation."""
    back, here, forward = st.columns([1, 4, 1], vertical_alignment="center")
    back.button(
        "Previous",
        icon=":material/arrow_back:",
        on_click=go_to_step,
        args=(step - 1,),
        disabled=step == 1,
        shortcut="pageup",
        key="previous_step",
        width="stretch",
    )
    here.progress(step / viewstate.STEPS, text=f"Step {step} of {viewstate.STEPS}")
    forward.button(
        "Next",
        icon=":material/arrow_forward:",
        on_click=go_to_step,
        args=(step + 1,),
        disabled=step == viewstate.STEPS,
        shortcut="pagedown",
        key="next_step",
        width="stretch",
        type="primary",
    )


def show_reading_controls(boxes: dict, real: bool) -> None:
    """The controls of sections 1-2 (text, vectors), in whichever of them are on screen."""
    if "text" in boxes:
        with boxes["text"]:
            st.pills(
                "Examples", list(EXAMPLES), key="example", on_change=pick_example, default=None
            )
            st.text_area("Text", key="text", max_chars=MAX_CHARS, height=90)
            if real:
                st.caption("A trained head sees every word piece, [CLS] and [SEP] included.")
            else:
                a, b = st.columns(2)
                a.toggle("Keep [CLS] and [SEP]", key="special")
                b.toggle("Merge sub-words (##) into words", key="merge")
    if "x" in boxes and not real:
        with boxes["x"]:
            pick_one("Vectors", KIND_NAMES, key="kind")


def show_attention_controls(boxes: dict) -> None:
    """The controls of sections 4 and 8 (softmax, projections), where they are on screen."""
    if "weights" in boxes:
        with boxes["weights"]:
            a, b, c = st.columns(3)
            a.toggle("Scale by 1/√d", key="scale")
            a.toggle(
                "Stretch colours to the largest weight",
                key="stretch",
                help="Off: white is 0 and dark blue is 1. On: dark blue is the largest "
                "weight, which shows the pattern of long texts, where every weight is small.",
            )
            low, high, step = viewstate.TEMPERATURE
            b.slider("Temperature τ", low, high, step=step, key="temperature")
            c.toggle("Causal mask (see only earlier tokens)", key="causal")
    if "learnable" in boxes:
        with boxes["learnable"]:
            a, b, c, d = st.columns([2, 1, 2, 2], vertical_alignment="bottom")
            a.number_input("Seed", 0, attn_core.projections.MAX_SEED, key="seed")
            b.button("Re-roll", icon=":material/casino:", on_click=reroll, key="reroll")
            c.select_slider("d_k (query/key width)", viewstate.D_K_CHOICES, key="d_k")
            d.selectbox("Initialisation", attn_core.INITS, key="init")


def show_scores(res: attn_core.AttentionResult, labels: list[str]) -> None:
    product = "Q Kᵀ" if res.projected else "X Xᵀ"
    st.markdown(f"**W′ = {product}**: entry (i, j) is the dot product of token i and token j.")
    draw(
        st,
        "W′, unnormalised",
        chart_spec(
            "heatmap",
            res.scores,
            labels,
            labels,
            palette="diverging",
            x_title="key j",
            y_title="query i",
            value_title="w′_ij",
        ),
        width="content",
    )


def show_tokens(emb: attn_core.Embedding) -> None:
    if emb.truncated:
        st.warning(
            f"The text is longer than the model reads ({emb.max_tokens} word pieces with "
            f"[CLS] and [SEP]): the last {emb.n_dropped} word pieces were dropped.",
            icon=":material/content_cut:",
        )
    st.write(f"The model sees **{len(emb.tokens)} tokens**:")
    st.code(
        "  ·  ".join(emb.tokens),
        language=None,
        wrap_lines=True,
        height="content" if len(emb.tokens) <= 60 else 160,
    )
    with st.expander("Token table (position, token, characters, vocabulary ids)"):
        st.dataframe(
            pd.DataFrame(
                {
                    "token": emb.tokens,
                    "characters": [f"{a}–{b}" if b else "" for a, b in emb.offsets],
                    "text": [emb.text[a:b] for a, b in emb.offsets],
                    "ids": [" ".join(map(str, ids)) for ids in emb.token_ids],
                }
            ),
            width="stretch",
        )


def show_matrix_with_norms(
    matrix, labels, *, name: str, x_title: str, domain: tuple[float, float] | None = None
) -> None:
    """A token x feature heatmap with each row's length beside it."""
    left, right = st.columns([5, 1])
    draw(
        left,
        f"{name.upper()}, token by dimension",
        chart_spec(
            "heatmap",
            matrix,
            labels,
            palette="diverging",
            domain=domain,
            x_title=x_title,
            value_title=name,
        ),
        width="stretch",
    )
    draw(
        right,
        f"Lengths of the rows of {name.upper()}",
        chart_spec(
            "bars", np.linalg.norm(matrix, axis=1), labels, value_title=f"‖{name}ᵢ‖", fmt=".2f"
        ),
        width="stretch",
    )


def show_weights(res: attn_core.AttentionResult, labels: list[str], stretch: bool) -> None:
    left, right = st.columns([3, 2])
    clickable = not charts.is_raster(res.weights.shape)
    top = float(res.weights.max()) if stretch else 1.0
    draw(
        left,
        "W, normalised",
        chart_spec(
            "heatmap",
            res.weights,
            labels,
            labels,
            palette="weights",
            x_title="key j (attended to)",
            y_title="query i (attending)",
            value_title="w_ij",
            domain=(0.0, top),
            select="pick" if clickable else None,
        ),
        width="content",
        key="w_chart",
        on_select=(lambda: focus_from_click("w_chart", "labels")) if clickable else "ignore",
        selection_mode="pick" if clickable else None,
    )
    t = len(labels)
    right.dataframe(
        pd.DataFrame(
            {
                "query": labels,
                "row sum": res.weights.sum(axis=1),
                "largest weight": res.weights.max(axis=1),
                "entropy (bits)": res.entropy,
            }
        ),
        column_config={
            "row sum": st.column_config.NumberColumn(format="%.3f"),
            "largest weight": st.column_config.ProgressColumn(
                format="%.2f", min_value=0.0, max_value=1.0
            ),
            "entropy (bits)": st.column_config.ProgressColumn(
                format="%.2f", min_value=0.0, max_value=float(max(np.log2(t), 1e-9))
            ),
        },
        hide_index=True,
        width="stretch",
    )
    how = "Click a row of the heatmap or use" if clickable else "Use"
    right.caption(
        f"Entropy 0 bits: all attention on one token. {np.log2(t):.2f} bits: spread "
        f"evenly over all {t}. {how} the token focus below to read one row in detail."
    )


@st.fragment
def show_focus(res: attn_core.AttentionResult, labels: list[str]) -> None:
    """One token's row of weights, and its output written out as the actual sum."""
    if st.session_state["focus"] >= len(labels):
        st.session_state["focus"] = 0  # the text changed, or the link named a later token
    i = st.selectbox(
        "Token focus",
        range(len(labels)),
        format_func=lambda k: labels[k],
        key="focus",
        help="Or click a row of the W heatmap.",
    )
    draw(
        st,
        "Focus: one row of W",
        chart_spec(
            "bars",
            res.weights[i],
            labels,
            title=f"How much {labels[i]!r} takes from each token",
            value_title=f"w_{i}j",
            domain=(0.0, 1.0),
            fmt=".3f",
        ),
        width="stretch",
    )
    st.latex(output_sum_latex(res, i))
    st.caption(
        "The largest terms of the sum, and the first three of each vector's numbers. "
        "Token j is the j-th row of the tables above, counting from 0."
    )
    sync_url()


def output_sum_latex(res: attn_core.AttentionResult, i: int, terms: int = 3, dims: int = 3) -> str:
    """``y_i = Σ_j w_ij v_j`` with the real numbers: the largest terms, the first dims.

    Only indices and numbers go into the LaTeX; token text never does.
    """
    values, w = res.values, res.weights[i]
    v = "v" if res.projected else "x"
    order = [j for j in np.argsort(-w, kind="stable")[:terms] if w[j] > 0]

    def vec(row: np.ndarray) -> str:
        more = r",\ \ldots" if row.size > dims else ""
        return r"\left[" + r",\ ".join(f"{a:.2f}" for a in row[:dims]) + more + r"\right]"

    symbolic = " + ".join(f"{w[j]:.3f}\\,{v}_{{{j}}}" for j in order)
    numeric = " + ".join(f"{w[j]:.3f}\\,{vec(values[j])}" for j in order)
    rest = len(w) - len(order)
    tail = rf" + \cdots\ (\text{{{rest} smaller terms}})" if rest else ""
    dots = r" + \cdots" if rest else ""
    return (
        rf"\begin{{aligned}} y_{{{i}}} &= \sum_j w_{{{i}j}}\,{v}_j = {symbolic}{tail} \\"
        rf" &= {numeric}{dots} \\ &= {vec(res.output[i])} \end{{aligned}}"
    )


@st.fragment
def show_geometry(res: attn_core.AttentionResult, labels: list[str]) -> None:
    before = res.values
    left, right = st.columns([3, 2])
    with right:
        method = pick_one("Map", METHOD_NAMES, key="method")
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
        if method == "tsne":
            st.caption("t-SNE keeps neighbourhoods, not distances: compare shapes only.")
    plane = get_plane(before, res.output, method, features)
    name = "v (values)" if res.projected else "x (before)"
    draw(
        left,
        "Geometry",
        chart_spec("geometry", plane, labels, before_name=name, after_name="y (after)", size=460),
        width="content",
    )
    sync_url()


@st.fragment
def show_context(settings: dict, emb_a: attn_core.Embedding, res_a) -> None:
    st.text_input("A second sentence", key="text2", max_chars=viewstate.MAX_TEXT)
    sync_url()
    inputs_b = model_inputs(st.session_state["text2"], settings)
    if isinstance(inputs_b, str):
        st.info(inputs_b)
        return
    emb_b, x_b, head_b = inputs_b
    special_b = {t for t, special in zip(emb_b.tokens, emb_b.special, strict=True) if special}
    shared = [
        t
        for t, special in zip(emb_a.tokens, emb_a.special, strict=True)
        if not special and t in emb_b.tokens and t not in special_b
    ]
    shared = list(dict.fromkeys(shared))
    if not shared:
        st.info("The two texts share no word: add a word from the first text to the second.")
        return
    word = st.selectbox("A word both texts use", shared, key="shared_word")
    res_b = viewstate.attention_for(x_b, settings, head=head_b.projections if head_b else None)
    ia, ib = emb_a.tokens.index(word), emb_b.tokens.index(word)
    before = np.stack([res_a.values[ia], res_b.values[ib]])  # (2, d_v)
    after = np.stack([res_a.output[ia], res_b.output[ib]])  # (2, d_v)
    cos_before, cos_after = cosine(*before), cosine(*after)
    left, right = st.columns([3, 2])
    with right:
        st.metric("Cosine similarity before attention", f"{cos_before:.3f}")
        st.metric(
            "Cosine similarity after attention",
            f"{cos_after:.3f}",
            delta=f"{cos_after - cos_before:+.3f}",
        )
        if settings["kind"] == "static" and settings["mode"] != "real":
            st.caption(
                "Static vectors ignore the sentence, so before attention the word is the "
                "same point in both. After attention it has mixed in its neighbours."
            )
    plane = attn_core.to_plane(before, after)
    draw(
        left,
        "Context: the shared word",
        chart_spec(
            "geometry",
            plane,
            ["in text 1", "in text 2"],
            before_name="before",
            after_name="after",
            size=420,
            show_labels=True,
            label_stage="after",
        ),
        width="content",
    )


def show_learnable(settings: dict, res_free, res_proj, labels: list[str], name: str) -> None:
    """Q, K, V of the projections (random, or a head's), their W beside the parameter-free W."""
    show_projected_vectors(res_proj, labels)
    show_comparison(settings, res_free, res_proj, labels, name)


@st.fragment
def show_projected_vectors(res_proj: attn_core.AttentionResult, labels: list[str]) -> None:
    matrices = {"q": res_proj.q, "k": res_proj.k, "v": res_proj.v}
    shown = pick_one("Projected vectors", QKV_NAMES, key="qkv")
    draw(
        st,
        f"{shown.upper()}, projected",
        chart_spec(
            "heatmap",
            matrices[shown],
            labels,
            palette="diverging",
            x_title=f"dimension ({res_proj.q.shape[1]})",
            value_title=shown,
        ),
        width="stretch",
    )
    sync_url()


def show_comparison(settings: dict, res_free, res_proj, labels: list[str], name: str) -> None:
    st.subheader("The two W side by side", anchor=False)
    st.caption("Same tokens, same temperature and mask: only the way the scores are made differs.")
    cols = st.columns(3)
    difference = res_proj.weights - res_free.weights  # (T, T)
    top, reach = 1.0, 1.0
    if settings["stretch"]:
        top = float(max(res_free.weights.max(), res_proj.weights.max()))
        reach = max(float(np.abs(difference).max()), 1e-12)
    panels = (
        (res_free.weights, "weights", "W, parameter-free", "w_ij", (0.0, top)),
        (res_proj.weights, "weights", f"W, {name}", "w_ij", (0.0, top)),
        (difference, "diverging", "difference", "Δw", (-reach, reach)),
    )
    size = int(np.clip(36 * len(labels), 160, 250))
    for col, (matrix, palette, title, value_title, domain) in zip(cols, panels, strict=True):
        draw(
            col,
            title,
            chart_spec(
                "heatmap",
                matrix,
                labels,
                labels,
                palette=palette,
                domain=domain,
                title=title,
                value_title=value_title,
                height=size,
                legend="bottom",
            ),
            width="content",
        )


def show_head_check(res: attn_core.AttentionResult, head: attn_core.Head, settings: dict) -> None:
    """How close the page's W is to the attention the model itself reported for this head."""
    as_the_model = settings["scale"] and settings["temperature"] == 1.0 and not settings["causal"]
    if as_the_model:
        gap = float(np.abs(res.weights - head.weights).max())
        st.caption(
            f"Layer {head.layer}, head {head.head}: W recomputed from the head's W_q, W_k and "
            f"its input. Largest difference from the attention the model reported: {gap:.1e}."
        )
    else:
        st.caption(
            f"Layer {head.layer}, head {head.head}, changed by the controls above: the model "
            "itself scales by 1/√d, uses τ = 1 and no mask."
        )


def training_target(settings: dict, emb: attn_core.Embedding, n: int) -> np.ndarray:
    """The pattern training aims for, on the page's tokens."""
    if settings["objective"] == "previous":
        return attn_core.previous_token_target(n)
    head = get_head(emb.text, int(settings["layer"]), int(settings["head"]))
    return attn_core.pool_attention(head.weights, emb.pieces)


@st.fragment
def show_training(emb: attn_core.Embedding, x: np.ndarray, labels: list[str]) -> None:
    """Train W_q, W_k from the random start towards a target; replay it step by step."""
    st.subheader("Watch projections learn", anchor=False)
    st.caption(
        "Start from the random W_q and W_k set above (seed, d_k, initialisation) and take "
        "gradient steps that make W more like a target, measured by the KL divergence of "
        "each row. W_v is not trained: neither target looks at the output."
    )
    a, b, c, d = st.columns([3, 2, 2, 1], vertical_alignment="bottom")
    with a:
        objective = pick_one("Target", OBJECTIVE_NAMES, key="objective")
    b.select_slider("Steps", viewstate.TRAIN_STEPS, key="train_steps")
    c.select_slider("Learning rate", viewstate.LEARNING_RATES, key="rate")
    settings = current_view()  # this fragment reruns alone when its own controls move
    target = training_target(settings, emb, len(labels))
    start = viewstate.start_projections(x.shape[1], settings)
    steps, rate = int(settings["train_steps"]), float(settings["rate"])
    key = digest(x, target, start.w_q, start.w_k, steps, rate)
    if d.button("Train", icon=":material/play_arrow:", type="primary", key="train"):
        bar = st.progress(0.0, text="Training…")

        def on_step(done: int, total: int) -> None:
            if done % 10 == 0 or done == total:
                bar.progress(done / total, text=f"Training: step {done} of {total}")

        run = attn_core.train_projections(
            x, target, start, steps=steps, learning_rate=rate, on_step=on_step
        )
        # Only the latest run is kept: at d_k 384 its snapshots take about 100 MB.
        st.session_state["training"] = (key, run)
        bar.empty()
        freeze_after_torch()
    what = "look at the previous token"
    if objective == "imitate":
        what = f"imitate layer {settings['layer']}, head {settings['head']}"
    last_key, run = st.session_state.get("training", (None, None))
    if last_key != key:
        st.info(f"Press Train to learn to {what}, from the random start.", icon=":material/school:")
        draw(st, "Training target", target_chart(target, labels), width="content")
    else:
        show_run(run, labels, what)
    repeats = len(set(emb.token_ids)) < len(emb.token_ids)
    static = settings["kind"] == "static" and settings["mode"] != "real"
    if objective == "previous" and static and repeats:
        st.caption(
            "A repeated token has one static vector, so its copies cannot look at "
            "different previous tokens: the loss stops above 0. Contextual vectors, or a "
            "trained head's input, carry each token's position."
        )
    sync_url()


def show_run(run: attn_core.Training, labels: list[str], what: str) -> None:
    """The loss curve, and W at any saved step beside the target."""
    if st.session_state.get("train_at") not in run.saved_steps:
        st.session_state["train_at"] = run.steps
    at = st.select_slider(
        "Show W after step", run.saved_steps, key="train_at", help="Drag back to step 0."
    )
    st.caption(
        f"Learning to {what}: the loss went from {run.losses[0]:.3f} at the random start to "
        f"{run.losses[-1]:.3f} after {run.steps} steps (0 would be the target exactly)."
    )
    curve, now, goal = st.columns(3)
    draw(
        curve,
        "Training loss",
        chart_spec("loss_curve", run.losses, at=at, title="Loss", height=250),
        width="stretch",
    )
    size = int(np.clip(36 * len(labels), 160, 250))
    draw(
        now,
        "W during training",
        chart_spec(
            "heatmap",
            run.at(at).weights,
            labels,
            labels,
            palette="weights",
            domain=(0.0, 1.0),
            title=f"W after step {at}",
            value_title="w_ij",
            height=size,
            legend="bottom",
        ),
        width="content",
    )
    draw(goal, "Training target", target_chart(run.target, labels, size), width="content")
    offer(
        st,
        "Trained W_q, W_k, W_v (.npz)",
        lambda: export.training_npz(run, labels),
        "trained-projections.npz",
        "model_training",
        key="export_trained",
    )
    st.caption(
        "In a notebook: `p = attn_core.load_projections(path)`, then "
        "`attn_core.self_attention(x, p)`; the file also holds the loss curve and the target."
    )


def target_chart(target: np.ndarray, labels: list[str], size: int = 250) -> dict:
    return chart_spec(
        "heatmap",
        target,
        labels,
        labels,
        palette="weights",
        domain=(0.0, 1.0),
        title="Target",
        value_title="p_ij",
        height=size,
        legend="bottom",
    )


def show_exports(settings: dict, emb: attn_core.Embedding, res, labels: list[str]) -> None:
    """Download buttons; each file is made only when its button is clicked."""
    charts_col, matrices_col, snapshot_col = st.columns(3)
    with charts_col:
        name = st.selectbox("Chart", list(EXPORTABLE), key="export_chart")
        a, b = st.columns(2)
        stem = file_stem(name)
        offer(a, "PNG", lambda: export.chart_png(EXPORTABLE[name]), f"{stem}.png", "image")
        offer(b, "SVG", lambda: export.chart_svg(EXPORTABLE[name]), f"{stem}.svg", "draw")
    with matrices_col:
        matrices = export.result_matrices(res)
        which = st.selectbox("Matrix", list(matrices), key="export_matrix")
        columns = labels if matrices[which].shape == (len(labels), len(labels)) else None
        a, b = st.columns(2)
        make_csv = partial(export.matrix_csv, matrices[which], labels, columns)
        offer(a, "CSV", make_csv, f"{which}.csv", "table")
        make_npz = partial(export.matrices_npz, matrices, labels)
        offer(b, "All (.npz)", make_npz, "attention.npz", "folder_zip")
    with snapshot_col:
        record = partial(export.snapshot, settings, emb, res)
        offer(
            st,
            "Snapshot (.json)",
            lambda: json.dumps(record()),
            "attention-snapshot.json",
            "data_object",
        )
        st.caption("In a notebook: `attn_core.reproduce(json.load(open(path)))` recomputes it.")


MIME_TYPES = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "csv": "text/csv",
    "npz": "application/octet-stream",
    "json": "application/json",
}


def offer(where, label: str, make, file_name: str, icon: str, key: str | None = None) -> None:
    """A download button whose file ``make()`` builds only when it is clicked."""
    kind = file_name.rsplit(".", 1)[-1]
    where.download_button(
        label,
        data=make,
        file_name=file_name,
        mime=MIME_TYPES[kind],
        icon=f":material/{icon}:",
        on_click="ignore",
        key=key or f"export_{kind}",
    )


def file_stem(name: str) -> str:
    """A chart's name as a file name: ``"W′, unnormalised"`` -> ``"w-unnormalised"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "chart"


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / norm) if norm > 0 else float("nan")


# ---------------------------------------------------------------- the page ---------------


def main() -> None:
    init_state()
    present, step = bool(st.session_state["present"]), int(st.session_state["step"])
    st.set_page_config(
        page_title="Self-attention, step by step",
        page_icon="🔍",
        layout="wide",
        initial_sidebar_state="collapsed" if present else "auto",
    )
    show_sidebar()
    if present:
        st.markdown(PRESENTATION_CSS, unsafe_allow_html=True)  # a fixed stylesheet only
        show_step_bar(step)
    else:
        st.title("Self-attention, step by step")
        st.caption(
            f"Type any text and watch {MODEL_NAME} tokens attend to each other: dot products, "
            "softmax, weighted sums, and what that does to the vectors."
        )
    for notice in st.session_state["notices"]:
        st.warning(notice, icon=":material/link_off:")  # notices never repeat link values

    # In presentation mode only the current step is drawn, controls included.
    shown = [STEP_KEYS[step - 1]] if present else list(SECTIONS)
    real = st.session_state["mode"] == "real"
    boxes = {key: section(key, large=present, real=real) for key in shown if key in READING}
    show_reading_controls(boxes, real)

    settings = current_view()
    messages = boxes.get("text", st.container())
    if not settings["text"].strip():
        messages.info("Type some text to begin.")
        sync_url()
        st.stop()
    with messages, st.spinner("Reading the text…"):
        inputs = model_inputs(settings["text"], settings)
    if isinstance(inputs, str):  # nothing the model can read: say so and stop here
        messages.info(inputs)
        sync_url()
        st.stop()
    emb, x, head = inputs

    labels = charts.token_labels(emb.tokens)
    st.session_state["labels"] = labels
    if "text" in boxes:
        with boxes["text"]:
            show_tokens(emb)
    if "x" in boxes:
        with boxes["x"]:
            show_matrix_with_norms(x, labels, name="x", x_title=f"dimension ({x.shape[1]})")
    above = dict(EXPORTABLE)  # the charts of sections 1-2, which a fragment rerun keeps
    show_attention([key for key in shown if key not in READING], emb, x, head, labels, above)
    sync_url()


@st.fragment
def show_attention(
    shown: list[str],
    emb: attn_core.Embedding,
    x: np.ndarray,
    head: attn_core.Head | None,
    labels: list[str],
    above: dict[str, dict],
) -> None:
    """Sections 3-9: scores, weights, output and all that follows from them.

    A fragment: their controls (temperature, mask, projections) rerun these sections
    alone, and the text, its tokens and X above stay as they are on the page. ``above``
    holds the charts drawn up there, so the export list offers exactly what is on screen.
    """
    EXPORTABLE.clear()
    EXPORTABLE.update(above)
    real = st.session_state["mode"] == "real"
    boxes = {key: section(key, large=st.session_state["present"], real=real) for key in shown}
    show_attention_controls(boxes)
    settings = current_view()
    res_free = viewstate.attention_for(x, settings, projected=False)
    if head is None:
        res_proj = viewstate.attention_for(x, settings, projected=True)
        proj_name = "random projections"
    else:
        res_proj = viewstate.attention_for(x, settings, head=head.projections)
        proj_name = f"layer {head.layer}, head {head.head}"
    res = res_free if settings["mode"] == "free" else res_proj

    if "scores" in boxes:
        with boxes["scores"]:
            show_scores(res, labels)
    if "weights" in boxes:
        with boxes["weights"]:
            show_weights(res, labels, settings["stretch"])
            if head is not None:
                show_head_check(res, head, settings)
    if "output" in boxes:
        with boxes["output"]:
            # Y on the colour scale of what was mixed: a weighted mean visibly shrinks values
            show_matrix_with_norms(
                res.output,
                labels,
                name="y",
                x_title=f"dimension ({res.output.shape[1]})",
                domain=charts.symmetric_domain(res.values, 0.99),
            )
            show_focus(res, labels)
    if "geometry" in boxes:
        with boxes["geometry"]:
            show_geometry(res, labels)
    if "context" in boxes:
        with boxes["context"]:
            show_context(settings, emb, res)
    if "learnable" in boxes:
        with boxes["learnable"]:
            show_learnable(settings, res_free, res_proj, labels, proj_name)
            show_training(emb, x, labels)
    if "export" in boxes:
        with boxes["export"]:
            show_exports(settings, emb, res, labels)
    sync_url()


main()
