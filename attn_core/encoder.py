"""The bundled model's network: all-MiniLM-L6-v2's BERT encoder, in numpy.

all-MiniLM-L6-v2 is a six-layer BERT encoder (d = 384, twelve heads of 32). Everything the
page asks of it (the last layer's token vectors, the hidden states entering each layer,
every head's attention, a head's trained projections) is a few matrix products per layer,
computed by ``attn_core.networks.Bert`` from the weights mapped out of
``model.safetensors``. No torch: the network opens at once and costs the server only its
mapped weights, a fraction of what torch, transformers and sentence-transformers hold
before the first text. tests/test_encoder.py holds it to the Hugging Face model (torch)
on the same files.
"""

from __future__ import annotations

import json
from pathlib import Path

from attn_core.networks.bert import TABLE_KEY, Bert
from attn_core.networks.forward import Forward
from attn_core.networks.numerics import mapped_tensors

__all__ = ["TABLE_KEY", "Encoder", "Forward", "mapped_tensors"]


class Encoder(Bert):
    """A plain BERT encoder opened from a sentence-transformers folder like the bundled one."""

    @classmethod
    def from_folder(cls, folder: Path) -> Encoder | None:
        """The encoder of a BERT model folder (``config.json``, ``model.safetensors``).

        ``None`` for any other architecture, activation or position scheme: a
        sentence-transformers folder of those loads through the torch network instead.
        """
        config_file, weights_file = folder / "config.json", folder / "model.safetensors"
        if not (config_file.is_file() and weights_file.is_file()):
            return None
        config = json.loads(config_file.read_text())
        plain_bert = (
            config.get("model_type") == "bert"
            and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
        )
        if not plain_bert:
            return None
        layers, heads = int(config["num_hidden_layers"]), int(config["num_attention_heads"])
        weights = mapped_tensors(weights_file)
        if not all(name in weights for name in cls.required(layers)):
            return None
        return cls(weights, layers, heads, float(config.get("layer_norm_eps", 1e-12)))
