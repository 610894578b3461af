"""A BERT-family encoder's forward pass in numpy: BERT, RoBERTa and XLM-RoBERTa.

One layer, for hidden states ``x`` (T, d) and each head ``h`` of width ``d_h = d / H``:

    A_h = softmax(q_h k_hᵀ / √d_h)              q_h, k_h, v_h = x W_{q,k,v,h} + b
    a   = LayerNorm(x + concat_h(A_h v_h) W_o + b_o)
    x'  = LayerNorm(a + GELU(a W_1 + b_1) W_2 + b_2)

The input is the sum of a word, a position and a segment embedding, normalised. RoBERTa
differs only in its positions: they count from ``padding_idx + 1``, so its first token
reads row ``padding_idx + 1`` of the position table (row 2 for roberta-base).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from attn_core.networks.forward import Forward, Stages
from attn_core.networks.numerics import gelu, layer_norm, softmax

TABLE_KEY = "embeddings.word_embeddings.weight"
"""Where a BERT-style model's files keep the input word-embedding table."""


@dataclass(frozen=True, eq=False)
class Bert:
    """A BERT-family encoder's weights (float32, mapped from disk) and the shape they describe.

    Read-only and free of locks: any number of threads may run ``forward`` at once.
    ``weights`` are named as ``BertModel`` names them (no ``bert.`` prefix).
    """

    weights: Mapping[str, np.ndarray]
    layers: int
    heads: int
    eps: float
    position_offset: int = 0
    """Position id of the first token: 0 for BERT, ``padding_idx + 1`` for RoBERTa."""
    activation: Callable[[np.ndarray], np.ndarray] = gelu
    causal = False

    @property
    def table(self) -> np.ndarray:
        """``(vocab, d)``: the input word-embedding table."""
        return self.weights[TABLE_KEY]

    @staticmethod
    def required(layers: int) -> list[str]:
        """The tensors a network of ``layers`` layers reads (a sample of each kind)."""
        names = [TABLE_KEY, "embeddings.position_embeddings.weight", "embeddings.LayerNorm.weight"]
        for i in range(layers):
            prefix = f"encoder.layer.{i}."
            names += [f"{prefix}attention.self.{part}.weight" for part in ("query", "key", "value")]
            names += [f"{prefix}{part}.weight" for part in ("intermediate.dense", "output.dense")]
            names += [f"{prefix}output.LayerNorm.bias"]
        return names

    def attention_weights(self, layer: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Layer ``layer``'s query, key and value maps: ``(weight (d, d) as (out, in), bias)``."""
        prefix = f"encoder.layer.{layer}.attention.self."
        return {
            part: (self.weights[f"{prefix}{part}.weight"], self.weights[f"{prefix}{part}.bias"])
            for part in ("query", "key", "value")
        }

    def forward(self, ids: list[int], *, every_layer: bool = False) -> Forward:
        """Run the encoder on word-piece ids (one text, special tokens included).

        With ``every_layer`` the result also holds the hidden states entering each layer
        (what its heads project) and every head's attention.
        """
        x = self.embeddings(ids)  # (T, d)
        hidden, attentions = [x], []
        for i in range(self.layers):
            stages = self.stages(x, i)
            x = stages.hidden_out
            hidden.append(x)
            attentions.append(stages.weights)
        last = x.astype(np.float64)  # (T, d)
        if not every_layer:
            return Forward(last=last)
        stacked = np.stack(hidden)  # (L + 1, T, d)
        return Forward(
            last=last,
            hidden=stacked,
            attentions=np.stack(attentions),  # (L, H, T, T)
            head_inputs=stacked[:-1],  # post-LayerNorm: a layer's heads read its input as is
        )

    def embeddings(self, ids: list[int]) -> np.ndarray:
        """The first layer's input ``(T, d)``: word, position and segment embeddings, normalised."""
        w = self.weights
        positions = slice(self.position_offset, self.position_offset + len(ids))
        x = (
            w[TABLE_KEY][np.asarray(ids)]  # (T, d)
            + w["embeddings.position_embeddings.weight"][positions]  # (T, d)
            + w["embeddings.token_type_embeddings.weight"][0]  # (d,): one segment
        )
        return self._norm(x, "embeddings.LayerNorm")

    def stages(self, x: np.ndarray, layer: int) -> Stages:
        """Layer ``layer`` run on its input ``x`` (T, d), every intermediate array kept."""
        prefix = f"encoder.layer.{layer}."
        t, d = x.shape
        d_h = d // self.heads
        q, k, v = (
            self._linear(x, f"{prefix}attention.self.{part}")  # (T, d) -> (T, d)
            .reshape(t, self.heads, d_h)
            .transpose(1, 0, 2)  # (H, T, d_h)
            for part in ("query", "key", "value")
        )
        q = q * np.float32(1 / math.sqrt(d_h))  # scaled before the product: T² fewer steps
        probs = softmax(q @ k.transpose(0, 2, 1))  # (H, T, d_h) @ (H, d_h, T) -> (H, T, T)
        heads = probs @ v  # (H, T, T) @ (H, T, d_h) -> (H, T, d_h)
        concat = heads.transpose(1, 0, 2).reshape(t, d)  # (H, T, d_h) -> (T, d)
        update = self._linear(concat, f"{prefix}attention.output.dense")  # (T, d)
        a = self._norm(x + update, f"{prefix}attention.output.LayerNorm")  # (T, d)
        inner = self.activation(self._linear(a, f"{prefix}intermediate.dense"))  # (T, 4d)
        out = self._norm(
            a + self._linear(inner, f"{prefix}output.dense"), f"{prefix}output.LayerNorm"
        )  # (T, d)
        return Stages(x, v, probs, heads, concat, update, a, out)

    def output_weights(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Layer ``layer``'s output projection: ``W_O (d, d)`` as (in, out), and ``b_O``."""
        prefix = f"encoder.layer.{layer}.attention.output.dense."
        return self.weights[f"{prefix}weight"].T, self.weights[f"{prefix}bias"]

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        weight, bias = self.weights[f"{name}.weight"], self.weights[f"{name}.bias"]
        return x @ weight.T + bias  # (T, in) @ (in, out) -> (T, out)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        w = self.weights
        return layer_norm(x, w[f"{name}.weight"], w[f"{name}.bias"], self.eps)
