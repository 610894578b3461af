"""Every cache of the page: the model and its network, token vectors, heads, 2-D maps and
chart structures.

Resources (``cache_resource``) are shared by every session of the server; data caches are
keyed by everything their function reads. Nothing here keeps state of its own.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import pickle
import secrets
import threading
from collections.abc import Callable, Mapping

import altair as alt
import numpy as np
import streamlit as st
from threadpoolctl import threadpool_limits

import attn_core
from app import memory, models, view
from attn_core import charts
from attn_core.layer import every_layer_norms

MODEL_NAME = attn_core.BUNDLED_MODEL
MISSING = object()
MAX_TOKENS = 256
"""Word pieces the page reads of a text, special tokens included, on any model: W and every
head grow with its square (GPT-2 itself reads 1024)."""
LESS = "A shorter text needs less (memory grows with the square of its word pieces)."
VIEWER = "viewer"
"""Session state: a token naming this viewer's shelf (``viewer_shelf``)."""


@st.cache_resource(show_spinner=False)
def setup() -> None:
    """What the process needs before the page's first run, once per server.

    Altair stops checking every object against the Vega-Lite schema as it is made (about
    a fifth of each chart's build when a new text gives charts a new layout; the builders'
    output is validated in tests/test_charts.py instead). NumPy's BLAS does each product on
    one thread: its workers would wait for cores that other viewers (or the browser) hold;
    at 256 word pieces, with the browser on the same two cores, step 6's PCA took 94 ms
    instead of 7, each W 25 ms instead of 2. The memory watcher starts (``memory.watch``).
    """
    alt.utils.schemapi.disable_debug_mode()
    threadpool_limits(limits=1, user_api="blas")  # the whole process, from now on
    memory.watch(shrink_caches)


@st.cache_resource(show_spinner=False)
def get_model(name: str = MODEL_NAME) -> attn_core.Model:
    """A model the page offers (``app.models``), by name, opened once per server and shared
    by every session. The bundled one opens without its network: its tokenizer and word
    embeddings are all the default page needs (static vectors are rows of that table).

    A full garbage collection walks every long-lived object in the process (Streamlit runs
    one after every rerun unless ``runner.postScriptGC`` is off, as the served config has
    it; Python runs them as objects pile up); what exists once the libraries are loaded is
    frozen out of it, here and again when the network loads (``get_network``).
    """
    model = attn_core.load_model(models.offered()[name])
    # The same model (one network) under the name the page offers it by, never its path;
    # the page reads 256 pieces at most.
    model = dataclasses.replace(model, name=name, max_tokens=min(model.max_tokens, MAX_TOKENS))
    gc.freeze()
    return model


@st.cache_resource(show_spinner=False)
def get_network(name: str = MODEL_NAME) -> attn_core.Model:
    """The model with its network in memory: contextual vectors and trained heads.

    numpy over the weights mapped from the model's file, milliseconds to open, so for the
    bundled model the page asks for it only when one of those is wanted. A
    sentence-transformers folder the numpy networks do not read loads torch instead; with
    it in memory a full garbage collection would walk all of torch on every slider move,
    until what exists then is frozen out of it.
    """
    model = get_model(name).load_network()
    gc.freeze()
    return model


def open_model(name: str) -> attn_core.Model | str:
    """The model the page shows, opened once per server, or a message saying why not.

    A hub model not yet cached downloads in a worker thread while the page shows its
    progress in bytes; a model whose weights would not fit under the server's memory
    limit is refused before anything is read.
    """
    source = models.offered().get(name, MISSING)
    if source is MISSING:
        return f"This server does not offer a model called {name!r}."
    if source is None or attn_core.is_loaded(source):
        return get_model(name)
    size = models.weights_mb(source)
    try:
        with memory.heavy(
            int(((size or 0) + 64) * memory.MB),
            f"open {name}",
            f"{MODEL_NAME}, the bundled model, needs far less.",
            shrink_caches,
        ):
            _download(name, source)
            with st.spinner(f"Opening {name}…"):
                return get_network(name)
    except (memory.Declined, ValueError) as why:
        message = str(why).replace(str(source), name)  # a viewer sees the name, not the path
        return message[:1].upper() + message[1:]


def _download(name: str, source: str) -> None:
    """Open ``source`` in a worker thread; a download's bytes show as a progress bar.

    ``huggingface_hub`` reports bytes from its own download threads, which cannot draw on
    the page: they note the count, and this thread draws it.
    """
    heard: dict[str, object] = {}

    def open_it() -> None:
        try:
            attn_core.load_model(
                source, progress=lambda done, total: heard.update(bytes=(done, total))
            )
        except ValueError as err:
            heard["error"] = err

    worker = threading.Thread(target=open_it, name=f"open {name}", daemon=True)
    worker.start()
    bar = None
    while worker.is_alive():
        worker.join(0.2)
        if "bytes" in heard:
            done, total = heard["bytes"]
            bar = bar or st.progress(0.0)
            bar.progress(
                min(done / total, 1.0) if total else 0.0,
                text=f"Downloading {name}: {download_text(done, total)}",
            )
    if bar is not None:
        bar.empty()
    if "error" in heard:
        raise heard["error"]


def download_text(done: int, total: int) -> str:
    """How much of a download has arrived: ``"12.5 of 548.1 MB"``."""
    return (
        f"{done / memory.MB:.1f} of {total / memory.MB:.1f} MB"
        if total
        else f"{done / memory.MB:.1f} MB"
    )


@st.cache_data(max_entries=128, show_spinner=False)
def get_embedding(
    text: str, kind: str, special_tokens: bool, merge_subwords: bool, model: str = MODEL_NAME
) -> attn_core.Embedding | str:
    """Token vectors for one text and its options, or a message saying why there are none."""
    try:
        return attn_core.embed(
            text,
            kind=kind,
            model=get_network(model) if kind == "contextual" else get_model(model),
            special_tokens=special_tokens,
            merge_subwords=merge_subwords,
        )
    except ValueError as exc:
        message = str(exc)
        return message[:1].upper() + message[1:]


@st.cache_data(max_entries=64, show_spinner=False)
def get_head(text: str, layer: int, head: int, model: str = MODEL_NAME) -> attn_core.Head:
    """One trained head on one text (the text has already been read by ``get_embedding``)."""
    return attn_core.model_head(text, layer=layer, head=head, model=get_network(model))


@st.cache_resource(max_entries=8, show_spinner=False)
def get_all_heads(
    text: str, special_tokens: bool, merge_subwords: bool, model: str = MODEL_NAME
) -> attn_core.AllHeads:
    """Every head of the model on one text, from one forward pass.

    Shared, read-only, by every session that shows this text, not copied per run: every
    head of a long text is large, and a data cache would unpickle a fresh copy on
    every rerun. Eight texts are kept.
    """
    pieces = get_embedding(text, "static", True, False, model)  # every piece the network reads
    network = get_network(model)
    with memory.heavy(
        memory.heads_cost(len(pieces.tokens), *network.shape),
        "run the model for every head",
        "A shorter text needs less (memory grows with the square of its word pieces).",
        shrink_caches,
    ):
        heads = attn_core.all_heads(
            text, special_tokens=special_tokens, merge_subwords=merge_subwords, model=network
        )
    heads.weights.flags.writeable = False
    return heads


@st.cache_resource(max_entries=8, show_spinner=False)
def get_layer(
    text: str, layer: int, special_tokens: bool, merge_subwords: bool, model: str = MODEL_NAME
) -> attn_core.Layer:
    """One layer of the model on one text, every stage kept (``attn_core.layer``); shared,
    read-only, as ``get_all_heads`` is: two (H, T, T) maps beside a few (T, d) arrays."""
    network = get_network(model)
    rows = dict(special_tokens=special_tokens, merge_subwords=merge_subwords)
    pieces = len(get_embedding(text, "static", True, False, model).tokens)
    cost = memory.heads_cost(pieces, 2, network.shape[1])
    with memory.heavy(cost, "run the model up to this layer", LESS, shrink_caches):
        out = attn_core.layer(text, int(layer), model=network, **rows)
    for array in vars(out).values():
        if isinstance(array, np.ndarray):
            array.flags.writeable = False
    return out


@st.cache_resource(max_entries=4, show_spinner=False)  # 19 MB each at 256 word pieces
def get_norms(
    text: str, special_tokens: bool, merge_subwords: bool, model: str = MODEL_NAME
) -> tuple[attn_core.AllHeads, np.ndarray]:
    """Every head measured by what it moves, ‖w_ij f(x_j)‖ (``every_layer_norms``, one
    pass): as ``AllHeads`` whose rows are each row's share of those lengths (they sum to 1),
    and each row's total length ``(L, H, T)``. Shared, read-only, as ``get_all_heads`` is."""
    heads = get_all_heads(text, special_tokens, merge_subwords, model)
    network = get_network(model)
    rows = dict(special_tokens=special_tokens, merge_subwords=merge_subwords)
    pieces = len(get_embedding(text, "static", True, False, model).tokens)
    cost = memory.heads_cost(pieces, *network.shape)
    with memory.heavy(cost, "run the model for every head's norms", LESS, shrink_caches):
        norms = every_layer_norms(text, model=network, **rows)  # (L, H, T, T)
        totals = norms.sum(axis=-1)  # (L, H, T)
        norms /= np.where(totals > 0, totals, 1)[..., None]  # rows sum to 1
    norms.flags.writeable = totals.flags.writeable = False
    return dataclasses.replace(heads, weights=norms), totals


@st.cache_data(max_entries=32, show_spinner=False)
def get_next_tokens(text: str, k: int, model: str) -> attn_core.NextToken:
    """A decoder's ``k`` most likely next tokens after the text."""
    return attn_core.next_token(text, model=get_network(model), k=k)


def model_inputs(
    text: str, settings: Mapping[str, object]
) -> tuple[attn_core.Embedding, np.ndarray, attn_core.Head | None] | str:
    """The tokens, the vectors X that attention works on, and in ``real`` mode the head.

    A trained head sees every word piece and projects the hidden states entering its
    layer, so in that mode the token options do not apply and X is those hidden states.
    Returns a message instead when the text has nothing the model can read.
    """
    model = str(settings["model"])
    if settings["mode"] != "real":
        emb = get_embedding(text, settings["kind"], settings["special"], settings["merge"], model)
        return emb if isinstance(emb, str) else (emb, emb.vectors, None)
    emb = get_embedding(text, "static", True, False, model)
    if isinstance(emb, str):
        return emb
    head = get_head(text, int(settings["layer"]), int(settings["head"]), model)
    return emb, head.hidden, head


def viewer_shelf() -> dict:
    """One viewer's own results that are too large for session state (a training run).

    Session state outlives a closed tab, kept for a reconnect until the session expires;
    a session's own caches are released the moment its browser disconnects. The shelf is
    also keyed by a token in session state: a test harness runs every session under one id.
    """
    return _shelf(st.session_state.setdefault(VIEWER, secrets.token_hex(8)))


@st.cache_resource(scope="session", show_spinner=False)
def _shelf(viewer: str) -> dict:
    return {}


@st.cache_data(max_entries=64, show_spinner="Fitting the 2-D map…")
def get_plane(
    before: np.ndarray, after: np.ndarray, method: str, features: tuple[int, int]
) -> attn_core.Plane:
    """PCA or two raw features of before and after (cheap: W's every move asks again)."""
    return attn_core.to_plane(before, after, method=method, features=features)


@st.cache_data(max_entries=16, show_spinner="Fitting the t-SNE map (once for these vectors)…")
def get_tsne(before: np.ndarray) -> np.ndarray:
    """The t-SNE map of the before points, (T, 2): once per text and vectors, never again
    for a move of W (``attn_core.reduce.mixed_plane`` places the after points)."""
    with memory.heavy(
        memory.tsne_cost(len(before)),
        "fit a t-SNE map",
        "PCA maps the same points at almost no cost.",
        shrink_caches,
    ):
        return attn_core.reduce.tsne_map(before)


def shrink_caches() -> None:
    """Empty the caches every viewer shares (not the model): each refills when next asked."""
    for cache in (
        *(get_embedding, get_head, get_all_heads, get_layer, get_norms),
        *(get_plane, get_tsne, _cached_spec),
    ):
        cache.clear()
    view.kept_attention().clear()


def chart(builder: Callable, *args, **kwargs) -> dict:
    """The Vega-Lite spec of ``builder(*args, **kwargs)`` (a ``charts`` builder), once per input.

    Keyed by the arguments' contents, so a chart whose inputs a control did not change (X
    when the temperature moves) is not rebuilt: a large image is slow to encode.
    One digest of the arguments is much cheaper than Streamlit hashing a 256-label list
    item by item. Charts whose numbers did change reuse their structure (``charts.spec``).
    """
    key = digest(
        builder.__name__, *args, *(part for item in sorted(kwargs.items()) for part in item)
    )
    return _cached_spec(key, builder, args, kwargs)


def digest(*values) -> str:
    """A short fingerprint of arrays, numbers and strings: a chart's or a training run's inputs.

    Each value is fingerprinted alone: a pickle of several values together depends on which
    of them are the same object, not only on what they hold.
    """
    h = hashlib.blake2b(digest_size=16)
    for value in values:
        if isinstance(value, np.ndarray):
            part = f"{value.dtype}{value.shape}".encode() + np.ascontiguousarray(value).tobytes()
        else:
            part = pickle.dumps(value)
        h.update(len(part).to_bytes(8, "little") + part)
    return h.hexdigest()


@st.cache_data(max_entries=256, show_spinner=False)
def _cached_spec(digest: str, _builder: Callable, _args: tuple, _kwargs: dict) -> dict:
    return charts.spec(_builder, *_args, **_kwargs)
