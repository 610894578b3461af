"""The bundled model's network in numpy: a BERT encoder's forward pass, read from its files.

all-MiniLM-L6-v2 is a six-layer BERT encoder (d = 384, twelve heads of 32). Everything the
page asks of it (the last layer's token vectors, the hidden states entering each layer,
every head's attention, a head's trained projections) is a few matrix products per layer,
written here with numpy from the weights mapped out of ``model.safetensors``. No torch:
the network opens in milliseconds and costs the server its 90 MB of weights, where torch,
transformers and sentence-transformers took about 400 MB before the first text.
tests/test_encoder.py holds it to the Hugging Face model (torch) on the same files.

One layer, for hidden states ``x`` (T, d) and each head ``h`` of width ``d_h = d / H``:

    A_h = softmax(q_h k_hᵀ / √d_h)              q_h, k_h, v_h = x W_{q,k,v,h} + b
    a   = LayerNorm(x + concat_h(A_h v_h) W_o + b_o)
    x'  = LayerNorm(a + GELU(a W_1 + b_1) W_2 + b_2)
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

TABLE_KEY = "embeddings.word_embeddings.weight"
"""Where a BERT-style model's files keep the input word-embedding table."""


@dataclass(frozen=True)
class Forward:
    """What one pass of the network computed for one text.

    Attributes
    ----------
    last : ndarray, shape (T, d)
        Final-layer token vectors (float64).
    hidden : ndarray, shape (L + 1, T, d), optional
        The hidden states entering each layer, and after the last (float32, as computed).
    attentions : ndarray, shape (L, H, T, T), optional
        Every head's attention probabilities (float32, as computed).
    """

    last: np.ndarray
    hidden: np.ndarray | None = None
    attentions: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Encoder:
    """A BERT encoder's weights (float32, mapped from disk) and the shape they describe.

    Read-only and free of locks: any number of threads may run ``forward`` at once.
    """

    weights: Mapping[str, np.ndarray]
    layers: int
    heads: int
    eps: float

    @classmethod
    def from_folder(cls, folder: Path) -> Encoder | None:
        """The encoder of a BERT model folder (``config.json``, ``model.safetensors``).

        ``None`` for any other architecture, activation or position scheme: those load
        through the torch network instead.
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
        names = [TABLE_KEY, "embeddings.position_embeddings.weight"]
        names += [f"encoder.layer.{i}.output.LayerNorm.bias" for i in range(layers)]
        if not all(name in weights for name in names):
            return None
        return cls(weights, layers, heads, float(config.get("layer_norm_eps", 1e-12)))

    def attention_weights(self, layer: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Layer ``layer``'s query, key and value maps: ``(weight (d, d) as (out, in), bias)``."""
        prefix = f"encoder.layer.{layer}.attention.self."
        return {
            part: (self.weights[f"{prefix}{part}.weight"], self.weights[f"{prefix}{part}.bias"])
            for part in ("query", "key", "value")
        }

    def forward(self, ids: list[int], *, every_layer: bool = False) -> Forward:
        """Run the encoder on word-piece ids (one text, [CLS] and [SEP] included).

        With ``every_layer`` the result also holds the hidden states entering each layer
        and every head's attention.
        """
        w = self.weights
        t = len(ids)
        x = (
            w[TABLE_KEY][np.asarray(ids)]  # (T, d)
            + w["embeddings.position_embeddings.weight"][:t]  # (T, d)
            + w["embeddings.token_type_embeddings.weight"][0]  # (d,): one segment
        )
        x = self._norm(x, "embeddings.LayerNorm")
        hidden, attentions = [x], []
        for i in range(self.layers):
            x, probs = self._layer(x, f"encoder.layer.{i}.")
            hidden.append(x)
            attentions.append(probs)
        last = x.astype(np.float64)  # (T, d)
        if not every_layer:
            return Forward(last=last)
        return Forward(last=last, hidden=np.stack(hidden), attentions=np.stack(attentions))

    def _layer(self, x: np.ndarray, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        t, d = x.shape
        d_h = d // self.heads
        q, k, v = (
            self._linear(x, f"{prefix}attention.self.{part}")  # (T, d) -> (T, d)
            .reshape(t, self.heads, d_h)
            .transpose(1, 0, 2)  # (H, T, d_h)
            for part in ("query", "key", "value")
        )
        q = q * np.float32(1 / math.sqrt(d_h))  # scaled before the product: T² fewer steps
        probs = _softmax(q @ k.transpose(0, 2, 1))  # (H, T, d_h) @ (H, d_h, T) -> (H, T, T)
        mixed = (probs @ v).transpose(1, 0, 2).reshape(t, d)  # (H, T, d_h) -> (T, d)
        a = self._norm(
            x + self._linear(mixed, f"{prefix}attention.output.dense"),
            f"{prefix}attention.output.LayerNorm",
        )  # (T, d)
        inner = _gelu(self._linear(a, f"{prefix}intermediate.dense"))  # (T, 4d)
        out = self._norm(
            a + self._linear(inner, f"{prefix}output.dense"), f"{prefix}output.LayerNorm"
        )  # (T, d)
        return out, probs

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        weight, bias = self.weights[f"{name}.weight"], self.weights[f"{name}.bias"]
        return x @ weight.T + bias  # (T, in) @ (in, out) -> (T, out)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)  # (T, 1)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)  # (T, 1), biased as BERT's
        scaled = (x - mean) / np.sqrt(var + np.float32(self.eps))
        return scaled * self.weights[f"{name}.weight"] + self.weights[f"{name}.bias"]


def _softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in place; the row max is subtracted first so ``exp``
    cannot overflow."""
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, ``x Φ(x) = x erfc(-x/√2) / 2`` (numpy has no ``erf``)."""
    return x * (np.float32(0.5) * _erfc(x * np.float32(-1 / math.sqrt(2.0))))


ERFC_FIT = (
    0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807,
    -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223,
)  # fmt: skip
"""Numerical Recipes' Chebyshev fit of ``erfc`` (``erfcc``), highest power first."""


def _erfc(z: np.ndarray) -> np.ndarray:
    """Complementary error function of a float32 array, in place where it can: GELU runs
    it on every hidden unit of every layer. The fit's own relative error is below 1.2e-7;
    in float32 it stays within 3e-6 of ``erfc`` down to erfc(4) = 1.5e-8, where GELU
    multiplies it by a value near 0."""
    a = np.abs(z)
    s = np.float32(0.5) * a
    s += 1
    np.reciprocal(s, out=s)  # s = 1 / (1 + |z| / 2)
    poly = np.full_like(s, ERFC_FIT[0])
    for c in ERFC_FIT[1:]:  # Horner: poly = (...(c0 s + c1) s + ...) s + c9
        poly *= s
        poly += np.float32(c)
    a *= a
    poly -= a  # -z² + poly(s)
    np.exp(poly, out=poly)
    poly *= s  # erfc(|z|)
    return np.where(z >= 0, poly, 2 - poly)


@functools.lru_cache(maxsize=4)
def mapped_tensors(path: Path) -> Mapping[str, np.ndarray]:
    """Every float32 tensor of a ``.safetensors`` file, mapped from disk rather than read.

    Once per file and process, shared read-only: the model's word-embedding table and its
    encoder are views of one mapping.

    The format is an 8-byte little-endian header length, a JSON header giving each
    tensor's dtype, shape and byte range, then the data. Mapped, a tensor costs memory
    only for the pages a computation touches (a text reads a few rows of the 47 MB
    word-embedding table), and the page cache shares them between processes.
    """
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] != "F32":
            continue
        start, end = entry["data_offsets"]
        shape = tuple(entry["shape"])
        assert end - start == 4 * math.prod(shape), (name, entry)
        tensors[name] = data[start:end].view("<f4").reshape(shape)
    return MappingProxyType(tensors)
