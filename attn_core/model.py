"""The pretrained model: its files, its tokenizer and its network. The one module that
touches torch and sentence-transformers to read a model.

Three kinds of model open here (``attn_core.sources`` finds their files): the bundled
all-MiniLM-L6-v2, any folder ``save_pretrained`` writes for a BERT, RoBERTa,
XLM-RoBERTa or GPT-2 model, and a few hub ids. Each runs as numpy
(``attn_core.networks``) over the weights mapped from its file. torch is imported inside
functions only: to read a ``pytorch_model.bin``, for a sentence-transformers folder the
numpy networks do not read, and as the reference the tests hold them to. So
``import attn_core`` stays fast for a notebook that only wants the math.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from attn_core.encoder import TABLE_KEY, Forward, mapped_tensors
from attn_core.networks import SUPPORTED, open_network
from attn_core.pretrained import Model
from attn_core.sources import (
    BUNDLED_MODEL,
    bundled_model_path,
    hub_folder,
    max_positions,
    plain,
    read_config,
    special_ids,
    weights_file,
)

__all__ = [
    "BUNDLED_MODEL",
    "Model",
    "TorchNetwork",
    "bundled_model_path",
    "is_loaded",
    "load_model",
]

# Models opened in this process, by name: like the page's resource cache, shared on purpose
# (a model is read-only once open; its tokenizer is used under its lock).
_load_lock = threading.Lock()
_loaded: dict[str | None, Model] = {}


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
        return Forward(last=last, hidden=hidden, attentions=attentions, head_inputs=hidden[:-1])

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


def load_model(
    name_or_folder: str | None = None, progress: Callable[[int, int], None] | None = None
) -> Model:
    """Open a model on the CPU, once per process and name.

    The bundled model opens in a fraction of a second: its tokenizer and word-embedding
    table come straight from its files, and its network when contextual vectors or a head
    first need it. Thread-safe: a caller that asks while another thread is loading the
    same model waits for that load instead of starting a second one.

    Parameters
    ----------
    name_or_folder : str, optional
        ``None`` for the bundled all-MiniLM-L6-v2, which loads with no network at all;
        a folder written by ``save_pretrained`` (``config.json``, ``model.safetensors`` or
        ``pytorch_model.bin``, the tokenizer's files) of a model whose ``model_type`` is
        one of ``attn_core.networks.SUPPORTED``, or a sentence-transformers folder; or one
        of ``attn_core.sources.HUB_MODELS`` (``"gpt2"``...), fetched into the hub cache if
        it is not there. Remote code is never trusted.
    progress : callable, optional
        ``progress(done, total)`` in bytes while a hub model downloads.

    Returns
    -------
    Model

    Raises
    ------
    ValueError
        For a folder with no model, an architecture the networks do not run, a weights
        file cut short or not matching its config, a tokenizer whose vocabulary outgrows
        the embedding table, a hub id outside the allow-list, or a hub model neither
        cached nor reachable.
    """
    key = None if name_or_folder is None else str(name_or_folder)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _load(key, progress)
        return _loaded[key]


def is_loaded(name_or_folder: str | None = None) -> bool:
    """Whether ``load_model(name_or_folder)`` has opened that model in this process."""
    return (None if name_or_folder is None else str(name_or_folder)) in _loaded


def _load(name: str | None, progress: Callable[[int, int], None] | None = None) -> Model:
    if name is None:
        folder, name = bundled_model_path(), BUNDLED_MODEL
    else:
        folder = Path(name) if Path(name).is_dir() else hub_folder(name, progress)
    if (folder / "sentence_bert_config.json").is_file():
        return _load_parts(name, folder) or _load_sentence_transformer(name, folder)
    return _load_folder(name, folder)


def _load_folder(name: str, folder: Path) -> Model:
    """A ``save_pretrained`` folder: its numpy network over its weights, opened now."""
    config = read_config(folder)
    if config.get("model_type") not in SUPPORTED:
        raise ValueError(
            f"{name!r} is a {config.get('model_type')!r} model; the models that open are "
            f"{', '.join(SUPPORTED)}"
        )
    network = open_network(config, _tensors(weights_file(folder)))
    tokenizer = _folder_tokenizer(folder)
    vocab, rows = tokenizer.get_vocab_size(with_added_tokens=True), network.table.shape[0]
    if vocab > rows:
        raise ValueError(
            f"the tokenizer in {str(folder)!r} does not match the weights: "
            f"its vocabulary has {vocab} tokens, the embedding table {rows} rows"
        )
    prefix, suffix = special_ids(tokenizer)
    return Model(
        name=name,
        source=str(folder),
        tokenizer=tokenizer,
        table=network.table,
        prefix=prefix,
        suffix=suffix,
        max_tokens=max_positions(config),
        lock=threading.Lock(),
        causal=network.causal,
        byte_level=type(tokenizer.model).__name__ == "BPE",
        _network=[network],
    )


def _tensors(path: Path) -> Mapping[str, np.ndarray]:
    """Every float tensor of a weights file as float32 numpy: mapped from a
    ``.safetensors``; from a ``.bin`` through torch (its pickle format needs it)."""
    if path.suffix == ".safetensors":
        return mapped_tensors(path)
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # a damaged zip or pickle raises any of several types
        raise ValueError(f"{path} is not a readable PyTorch weights file ({err})") from None
    return MappingProxyType(
        {
            name: tensor.detach().to(torch.float32).numpy()
            for name, tensor in state.items()
            if tensor.is_floating_point()
        }
    )


def _folder_tokenizer(folder: Path) -> Any:
    """The folder's fast tokenizer: ``tokenizer.json``, else converted by transformers
    from the vocabulary files of the model's own tokenizer class."""
    if (folder / "tokenizer.json").is_file():
        return plain((folder / "tokenizer.json").read_text())
    from transformers import AutoTokenizer

    try:
        hf = AutoTokenizer.from_pretrained(str(folder), use_fast=True, local_files_only=True)
        return plain(hf.backend_tokenizer.to_str())
    except (OSError, ValueError, AttributeError) as err:
        raise ValueError(f"{str(folder)!r} has no tokenizer that opens ({err})") from None


def _load_sentence_transformer(name: str, folder: Path) -> Model:
    """A sentence-transformers folder the fast path does not read: through its network."""
    network = sentence_transformer(str(folder))
    hf = network.tokenizer
    tokenizer = plain(hf.backend_tokenizer.to_str())
    table = network[0].auto_model.get_input_embeddings().weight.detach().numpy().copy()
    return Model(
        name=name,
        source=str(folder),
        tokenizer=tokenizer,
        table=table,
        prefix=(int(hf.cls_token_id),),
        suffix=(int(hf.sep_token_id),),
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
    tokenizer = plain(files[0].read_text())
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    table = mapped_tensors(files[1]).get(TABLE_KEY)
    if cls_id is None or sep_id is None or table is None:
        return None
    return Model(
        name=name,
        source=str(folder),
        tokenizer=tokenizer,
        table=table,
        prefix=(cls_id,),
        suffix=(sep_id,),
        max_tokens=int(json.loads(files[2].read_text())["max_seq_length"]),
        lock=threading.Lock(),
    )


def sentence_transformer(source: str) -> Any:
    """The sentence-transformers network of a model folder (torch, eager attention)."""
    from sentence_transformers import SentenceTransformer

    network = SentenceTransformer(
        source,
        device="cpu",
        trust_remote_code=False,
        local_files_only=True,  # folders only: never the network
        # eager attention is the implementation that can report its weights
        model_kwargs={"attn_implementation": "eager"},
    )
    network.eval()
    return network
