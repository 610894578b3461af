"""An open model: its tokenizer, its word-embedding table and its network, and what it does
with a text (encode it, run it, predict what comes next). Opened by ``attn_core.model``;
nothing here imports torch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from attn_core.encoder import Encoder
from attn_core.networks import GPT2, Bert, Forward
from attn_core.projections import Projections
from attn_core.sources import read_config
from attn_core.validation import check_index

if TYPE_CHECKING:
    from attn_core.model import TorchNetwork

# One lock for every model's lazy network: loads are rare and must not run twice.
_network_lock = threading.Lock()


@dataclass(frozen=True, eq=False)
class Model:
    """A pretrained model: its tokenizer, word-embedding table and network.

    Static vectors need only the tokenizer and the table, which load in a fraction of a
    second without torch. Contextual vectors and heads need the network: numpy over the
    mapped weights (``attn_core.networks``, milliseconds to open) for every model but a
    sentence-transformers folder of another architecture, which loads the
    sentence-transformers network (torch). The bundled model's network loads the first
    time it is asked for, once; a folder's opens with the model, so a bad file fails there.

    ``prefix`` and ``suffix`` are the special tokens around every text (``[CLS]`` and
    ``[SEP]``; ``<s>`` and ``</s>``; none for GPT-2), as the model's own tokenizer adds
    them. ``causal`` models (GPT-2) attend only to earlier tokens and predict the next one.

    The tokenizer is a ``tokenizers.Tokenizer`` with no padding or truncation. Shared by
    several threads it can raise "Already borrowed", so every tokenizer call holds ``lock``.
    """

    name: str
    source: str
    tokenizer: Any
    table: np.ndarray
    """``(vocab, d)`` float32: the input word-embedding rows, one per vocabulary id (for the
    bundled model, mapped from its file: only the rows a text uses are read)."""
    prefix: tuple[int, ...]
    suffix: tuple[int, ...]
    max_tokens: int
    lock: threading.Lock
    causal: bool = False
    byte_level: bool = False
    """Byte-level BPE pieces (RoBERTa, GPT-2): ``Ġ`` starts a word, where WordPiece marks
    a continuation with ``##``."""
    _network: list = field(default_factory=list, repr=False, compare=False)
    _torch: list = field(default_factory=list, repr=False, compare=False)

    @property
    def network(self) -> Bert | GPT2 | TorchNetwork:
        """The network, loaded on first use (thread-safe): numpy where the files allow."""
        with _network_lock:
            if not self._network:
                encoder = Encoder.from_folder(Path(self.source))
                if encoder is None:  # a sentence-transformers folder of another kind
                    from attn_core.model import TorchNetwork

                    encoder = TorchNetwork(self._torch_network())
                self._network.append(encoder)
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
            from attn_core.model import sentence_transformer

            self._torch.append(sentence_transformer(self.source))
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
        """``(layers, heads)`` of the network: from its ``config.json`` while the network
        is not in memory (static vectors never need it), else from the network."""
        if not self.network_loaded:
            config = read_config(Path(self.source))
            layers = config.get("num_hidden_layers", config.get("n_layer"))
            heads = config.get("num_attention_heads", config.get("n_head"))
            if isinstance(layers, int) and isinstance(heads, int):
                return layers, heads
        network = self.network
        return network.layers, network.heads

    @property
    def layers(self) -> int:
        """How many layers the network has."""
        return self.shape[0]

    @property
    def heads(self) -> int:
        """How many heads each layer has."""
        return self.shape[1]

    def special(self, n: int) -> list[bool]:
        """Which of ``n`` encoded ids are the special tokens ``encode`` put around the text."""
        body = n - len(self.prefix) - len(self.suffix)
        return [True] * len(self.prefix) + [False] * body + [True] * len(self.suffix)

    def continues(self, piece: str) -> bool:
        """Whether a word piece continues the word before it (``##ing``; ``ing`` after
        ``Ġ``-marked starts)."""
        return not piece.startswith("Ġ") if self.byte_level else piece.startswith("##")

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]], int]:
        """Word-piece ids with the special tokens, their character spans, and how many were cut.

        Raises ``ValueError`` for a text with no readable piece. Holds ``lock``: the fast
        tokenizer is not safe across threads.
        """
        with self.lock:
            enc = self.tokenizer.encode(text, add_special_tokens=False)
        piece_ids = list(enc.ids)
        if not piece_ids:
            raise ValueError("text has no tokens the model can read (only control characters?)")
        budget = self.max_tokens - len(self.prefix) - len(self.suffix)
        kept, n_dropped = piece_ids[:budget], max(0, len(piece_ids) - budget)
        ids = [*self.prefix, *kept, *self.suffix]
        offsets = [
            *[(0, 0)] * len(self.prefix),
            *(tuple(o) for o in enc.offsets[: len(kept)]),
            *[(0, 0)] * len(self.suffix),
        ]
        return ids, offsets, n_dropped

    def forward(self, ids: list[int], *, every_layer: bool = False) -> Forward:
        """Run the network on word-piece ids (one text, special tokens included).

        With ``every_layer`` the result also holds the hidden states entering each layer,
        what each layer's heads project and every head's attention.
        """
        return self.network.forward(ids, every_layer=every_layer)

    def next_logits(self, ids: list[int]) -> np.ndarray:
        """A decoder's logits for the token after ``ids``: ``(vocab,)`` float64."""
        network = self.network
        if not isinstance(network, GPT2):
            raise ValueError(
                f"{self.name} is an encoder (it reads the whole text at once): "
                "only a decoder such as GPT-2 predicts a next token"
            )
        return network.logits(network.forward(ids).last[-1])  # (d,) -> (V,)

    def head_projections(self, layer: int, head: int) -> Projections:
        """One head's trained ``W_q``, ``W_k``, ``W_v`` ``(d, d_head)`` and biases."""
        n_layers, n_heads = self.shape
        layer, head = check_index(layer, "layer", n_layers), check_index(head, "head", n_heads)
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
