"""GPT-2's forward pass in numpy: a decoder, every head causal.

One block, for hidden states ``x`` (T, d) and each head ``h`` of width ``d_h = d / H``,
LayerNorm first (pre-LN) and the mask hiding every later token:

    n   = LayerNorm₁(x)                         q_h, k_h, v_h = n W_{q,k,v,h} + b
    A_h = softmax(mask(q_h k_hᵀ / √d_h))        mask: -∞ where j > i
    a   = x + concat_h(A_h v_h) W_o + b_o
    x'  = a + GELU_tanh(LayerNorm₂(a) W_1 + b_1) W_2 + b_2

The input is a word plus a position embedding; the final vectors are ``LayerNorm_f(x)``
after the last block, and the next token's logits are those vectors against the word
embedding table (the LM head is tied to it). Weights are Conv1D's, stored (in, out).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from attn_core.networks.forward import Forward, Stages
from attn_core.networks.numerics import gelu_tanh, layer_norm, softmax

TABLE_KEY = "wte.weight"
"""Where GPT-2's files keep the word-embedding table (also its LM head)."""


@dataclass(frozen=True, eq=False)
class GPT2:
    """GPT-2's weights (float32, mapped from disk) and the shape they describe.

    Read-only and free of locks, like ``Bert``. ``weights`` are named as ``GPT2Model``
    names them (no ``transformer.`` prefix), plus ``lm_head.weight`` if the file has an
    untied one.
    """

    weights: Mapping[str, np.ndarray]
    layers: int
    heads: int
    eps: float
    activation: Callable[[np.ndarray], np.ndarray] = gelu_tanh
    causal = True

    @property
    def table(self) -> np.ndarray:
        """``(vocab, d)``: the input word-embedding table."""
        return self.weights[TABLE_KEY]

    @staticmethod
    def required(layers: int) -> list[str]:
        """The tensors a network of ``layers`` layers reads (a sample of each kind)."""
        names = [TABLE_KEY, "wpe.weight", "ln_f.weight", "ln_f.bias"]
        for i in range(layers):
            names += [f"h.{i}.{part}.weight" for part in ("ln_1", "ln_2", "attn.c_attn")]
            names += [f"h.{i}.{part}.weight" for part in ("attn.c_proj", "mlp.c_fc", "mlp.c_proj")]
        return names

    def attention_weights(self, layer: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Layer ``layer``'s query, key and value maps: ``(weight (d, d) as (out, in), bias)``,
        cut from the fused ``c_attn`` (d, 3d)."""
        weight = self.weights[f"h.{layer}.attn.c_attn.weight"]  # (d, 3d) as (in, out)
        bias = self.weights[f"h.{layer}.attn.c_attn.bias"]  # (3d,)
        d = weight.shape[0]
        return {
            part: (weight[:, i * d : (i + 1) * d].T, bias[i * d : (i + 1) * d])
            for i, part in enumerate(("query", "key", "value"))
        }

    def forward(self, ids: list[int], *, every_layer: bool = False) -> Forward:
        """Run the decoder on token ids (one text).

        With ``every_layer`` the result also holds the hidden states entering each block
        (the last entry is the final, normalised vectors), what each block's heads
        project, and every head's attention.
        """
        x = self.embeddings(ids)  # (T, d)
        hidden, inputs, attentions = [], [], []
        for i in range(self.layers):
            hidden.append(x)
            stages = self.stages(x, i)
            x = stages.hidden_out
            inputs.append(stages.head_input)
            attentions.append(stages.weights)
        final = self._norm(x, "ln_f")  # (T, d)
        hidden.append(final)
        last = final.astype(np.float64)  # (T, d)
        if not every_layer:
            return Forward(last=last)
        return Forward(
            last=last,
            hidden=np.stack(hidden),  # (L + 1, T, d)
            attentions=np.stack(attentions),  # (L, H, T, T)
            head_inputs=np.stack(inputs),  # (L, T, d)
        )

    def logits(self, vector: np.ndarray) -> np.ndarray:
        """The next token's logits from one final vector: ``(d,) -> (vocab,)``, float64."""
        head = self.weights.get("lm_head.weight", self.table)  # (vocab, d)
        return (head @ vector.astype(np.float32)).astype(np.float64)  # (V, d) @ (d,) -> (V,)

    def embeddings(self, ids: list[int]) -> np.ndarray:
        """The first block's input ``(T, d)``: word plus position embeddings."""
        w = self.weights
        return w[TABLE_KEY][np.asarray(ids)] + w["wpe.weight"][: len(ids)]  # (T, d)

    def stages(self, x: np.ndarray, layer: int) -> Stages:
        """Block ``layer`` run on its input ``x`` (T, d), every intermediate array kept."""
        prefix = f"h.{layer}."
        t, d = x.shape
        d_h = d // self.heads
        normed = self._norm(x, f"{prefix}ln_1")  # (T, d)
        qkv = self._conv(normed, f"{prefix}attn.c_attn")  # (T, d) -> (T, 3d)
        q, k, v = (
            qkv[:, i * d : (i + 1) * d].reshape(t, self.heads, d_h).transpose(1, 0, 2)
            for i in range(3)
        )  # (H, T, d_h) each
        q = q * np.float32(1 / math.sqrt(d_h))  # scaled before the product: T² fewer steps
        logits = q @ k.transpose(0, 2, 1)  # (H, T, d_h) @ (H, d_h, T) -> (H, T, T)
        logits[:, np.triu(np.ones((t, t), dtype=bool), k=1)] = -np.inf  # no token sees ahead
        probs = softmax(logits)  # (H, T, T)
        heads = probs @ v  # (H, T, T) @ (H, T, d_h) -> (H, T, d_h)
        concat = heads.transpose(1, 0, 2).reshape(t, d)  # (H, T, d_h) -> (T, d)
        update = self._conv(concat, f"{prefix}attn.c_proj")  # (T, d)
        a = x + update  # (T, d): the residual stream after attention
        inner = self.activation(self._conv(self._norm(a, f"{prefix}ln_2"), f"{prefix}mlp.c_fc"))
        out = a + self._conv(inner, f"{prefix}mlp.c_proj")  # (T, 4d) -> (T, d)
        return Stages(normed, v, probs, heads, concat, update, a, out)

    def output_weights(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Block ``layer``'s output projection ``c_proj``: ``W_O (d, d)`` as (in, out), ``b_O``."""
        prefix = f"h.{layer}.attn.c_proj."
        return self.weights[f"{prefix}weight"], self.weights[f"{prefix}bias"]

    def _conv(self, x: np.ndarray, name: str) -> np.ndarray:
        weight, bias = self.weights[f"{name}.weight"], self.weights[f"{name}.bias"]
        return x @ weight + bias  # (T, in) @ (in, out) -> (T, out): Conv1D stores (in, out)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        w = self.weights
        return layer_norm(x, w[f"{name}.weight"], w[f"{name}.bias"], self.eps)
