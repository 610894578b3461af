"""One numpy forward pass per architecture, every hidden state and head kept.

``open_network`` reads a model's ``config.json`` (as a dict) and its tensors (name ->
float32 array, as ``save_pretrained`` wrote them) into a ``Bert`` (BERT, RoBERTa,
XLM-RoBERTa) or a ``GPT2``. Nothing here imports torch: reading a ``.bin`` file is the
model adapter's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from attn_core.networks.bert import Bert
from attn_core.networks.forward import Forward, Stages
from attn_core.networks.gpt2 import GPT2
from attn_core.networks.numerics import ACTIVATIONS, mapped_tensors
from attn_core.validation import check_choice

SUPPORTED = ("bert", "roberta", "xlm-roberta", "gpt2")
"""The ``model_type`` values of ``config.json`` that ``open_network`` runs."""

# The prefixes a task head's checkpoint puts before the base model's names
# (BertForMaskedLM's "bert.", GPT2LMHeadModel's "transformer.").
_PREFIXES = {
    "bert": "bert.",
    "roberta": "roberta.",
    "xlm-roberta": "roberta.",
    "gpt2": "transformer.",
}

__all__ = ["GPT2", "SUPPORTED", "Bert", "Forward", "Stages", "mapped_tensors", "open_network"]


def open_network(config: dict[str, Any], tensors: Mapping[str, np.ndarray]) -> Bert | GPT2:
    """The numpy network a ``config.json`` and its tensors describe.

    Raises ``ValueError`` for an architecture or activation it does not run, and for
    tensors that do not make up the network the config describes (a tensor missing, or
    the wrong shape).
    """
    kind = check_choice(config.get("model_type"), "model_type", SUPPORTED)
    gpt2 = kind == "gpt2"
    act_name = config.get("activation_function" if gpt2 else "hidden_act", "gelu")
    check_choice(act_name, "activation", tuple(ACTIVATIONS))
    weights = _base_names(tensors, _PREFIXES[kind])
    layers = int(config["n_layer" if gpt2 else "num_hidden_layers"])
    heads = int(config["n_head" if gpt2 else "num_attention_heads"])
    width = int(config["n_embd" if gpt2 else "hidden_size"])
    if width % heads:
        raise ValueError(f"width {width} must divide into {heads} heads")
    if gpt2:
        if config.get("scale_attn_by_inverse_layer_idx") or config.get("add_cross_attention"):
            raise ValueError("GPT-2 variants with scaled-by-layer or cross attention are not run")
        network: Bert | GPT2 = GPT2(
            weights, layers, heads, float(config.get("layer_norm_epsilon", 1e-5)),
            ACTIVATIONS[act_name],
        )  # fmt: skip
    else:
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are run")
        offset = 0 if kind == "bert" else int(config.get("pad_token_id", 1)) + 1
        network = Bert(
            weights, layers, heads, float(config.get("layer_norm_eps", 1e-12)), offset,
            ACTIVATIONS[act_name],
        )  # fmt: skip
    missing = [name for name in network.required(layers) if name not in weights]
    if missing:
        raise ValueError(
            f"the weights do not hold a {layers}-layer {kind} network: "
            f"{len(missing)} tensors missing, e.g. {missing[0]!r}"
        )
    if network.table.shape[1] != width:
        raise ValueError(
            f"the word embeddings are {network.table.shape}, the config says d={width}"
        )
    return network


def _base_names(tensors: Mapping[str, np.ndarray], prefix: str) -> Mapping[str, np.ndarray]:
    """The tensors under the base model's names: the task head's prefix dropped, and old
    checkpoints' LayerNorm ``gamma``/``beta`` read as ``weight``/``bias``."""
    renamed = {}
    for name, value in tensors.items():
        name = name.removeprefix(prefix)
        if name.endswith((".gamma", ".beta")):
            stem, _, last = name.rpartition(".")
            name = f"{stem}.{'weight' if last == 'gamma' else 'bias'}"
        renamed[name] = value
    return MappingProxyType(renamed)
