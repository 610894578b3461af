"""Every head of the model at once, attention across layers, and what heads do.

``all_heads`` runs the model once and keeps every head's attention; ``rollout`` follows
attention through the layers (Abnar and Zuidema, 2020); ``head_scores`` says how much of
each head's attention goes to a few well-known places (the previous token, [SEP]...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attn_core.attention import row_entropy
from attn_core.embeddings import join_pieces, reading_rows
from attn_core.model import Model, load_model
from attn_core.training import pool_attention
from attn_core.validation import check_array, check_number, check_text

PATTERNS = ("previous", "next", "same", "cls", "sep", "broad")
"""What ``head_scores`` measures: attention to the previous token, the next one, other
copies of the same token, [CLS], [SEP]; and how broad a head's rows are (entropy)."""


@dataclass(frozen=True)
class AllHeads:
    """Every head's attention on one text.

    Attributes
    ----------
    tokens : list of str
        T labels: every word piece (as ``model_head`` sees them), or merged words and no
        special tokens if asked.
    weights : ndarray, shape (L, H, T, T), float32
        The attention each head reported, in the model's own precision (half the memory
        of float64); with merged words or no special tokens, pooled onto those rows
        (``pool_attention``). Every row sums to 1.
    special : list of bool
        Whether each token is one the tokenizer added ([CLS], [SEP]; <s>, </s>).
    n_dropped : int
        Word pieces cut off because the text was too long.
    model_name : str
    """

    tokens: list[str]
    weights: np.ndarray
    special: list[bool]
    n_dropped: int
    model_name: str

    @property
    def shape(self) -> tuple[int, int]:
        """``(layers, heads)``."""
        return self.weights.shape[0], self.weights.shape[1]

    def layer_means(self) -> np.ndarray:
        """Each layer's heads averaged: ``(L, H, T, T) -> (L, T, T)``."""
        return self.weights.mean(axis=1, dtype=np.float64)


def all_heads(
    text: str,
    *,
    special_tokens: bool = True,
    merge_subwords: bool = False,
    model: Model | str | None = None,
) -> AllHeads:
    """Every head's attention on ``text``, from one forward pass.

    Parameters
    ----------
    text : str
        Any non-blank text (truncated as ``embed`` does).
    special_tokens, merge_subwords : bool
        As for ``embed``: the model always sees every word piece; these only choose the
        rows the attention is read on.
    model : Model or str, optional
        As for ``embed``.

    Returns
    -------
    AllHeads
    """
    check_text(text)
    if not isinstance(model, Model):
        model = load_model(model)
    ids, _, n_dropped = model.encode(text)
    attentions = model.forward(ids, every_layer=True).attentions  # (L, H, P, P)
    pieces, special, rows = reading_rows(model, ids, special_tokens, merge_subwords)
    weights = attentions  # (L, H, P, P), float32 as the model computed it
    if rows != [[i] for i in range(len(ids))]:
        groups = [tuple(r) for r in rows]
        weights = np.stack(
            [np.stack([pool_attention(w, groups) for w in layer]) for layer in weights]
        ).astype(np.float32)  # (L, H, T, T)
    return AllHeads(
        tokens=[join_pieces([pieces[i] for i in r]) for r in rows],
        weights=weights,
        special=[special[r[0]] for r in rows],
        n_dropped=n_dropped,
        model_name=model.name,
    )


def rollout(layers: np.ndarray, residual: float = 0.5) -> np.ndarray:
    r"""Attention rolled out through the layers (Abnar and Zuidema, 2020).

    .. math:: R = \tilde A_L \cdots \tilde A_1,\quad
              \tilde A_l = \mathrm{rows}\big(r I + (1 - r) A_l\big)

    Each layer's attention is mixed with the identity (the residual connection carries a
    token's own vector past the layer) and its rows renormalised to 1; the product says
    how much of each input token ends up in each position after the last layer given.

    Parameters
    ----------
    layers : ndarray, shape (L, T, T)
        Attention of each layer, first layer first (for example the head average).
    residual : float, default 0.5
        Weight ``r`` of the identity, in [0, 1]: 1 gives the identity, 0 the plain product.

    Returns
    -------
    ndarray, shape (T, T)
        Rows sum to 1.
    """
    layers = check_array(layers, "layers", ("L", "T", "T"))
    residual = check_number(residual, "residual", 0, 1)
    t = layers.shape[1]
    rolled = np.eye(t)  # (T, T)
    for a in layers:
        mixed = residual * np.eye(t) + (1.0 - residual) * a  # (T, T)
        mixed = mixed / mixed.sum(axis=1, keepdims=True)  # rows sum to 1 again
        rolled = mixed @ rolled  # (T, T) @ (T, T) -> (T, T): this layer after the ones before
    return rolled


def head_scores(heads: AllHeads) -> dict[str, np.ndarray]:
    """How much of each head's attention goes where, averaged over the rows that can.

    Returns, for each name in ``PATTERNS``, an ``(L, H)`` array: "previous" is the mean
    weight on token ``i - 1`` (rows 1..T-1), "next" on ``i + 1``, "same" on other copies
    of the same token (rows whose token appears again; 0 if none does), "cls" and "sep"
    on those tokens (0 if they are not among the tokens), "broad" the mean row entropy in
    bits. A head that attends exactly to the previous token scores 1 on "previous".
    """
    t = heads.weights.shape[-1]
    tokens = np.array(heads.tokens, dtype=object)
    same = (tokens[:, None] == tokens[None, :]) & ~np.eye(t, dtype=bool)  # (T, T)
    repeated = same.any(axis=1)  # (T,)
    special = np.array(heads.special, dtype=bool)
    rows = np.arange(t)
    per_layer = []
    for layer in heads.weights:  # one layer at a time: a float64 copy of one, not of all
        w = layer.astype(np.float64)  # (H, T, T)
        scores = dict.fromkeys(PATTERNS, np.zeros(w.shape[0]))
        if t > 1:
            scores["previous"] = w[:, rows[1:], rows[1:] - 1].mean(axis=-1)
            scores["next"] = w[:, rows[:-1], rows[:-1] + 1].mean(axis=-1)
        if repeated.any():
            scores["same"] = (w * same).sum(axis=-1)[:, repeated].mean(axis=-1)
        for name, position in (("cls", 0), ("sep", t - 1)):
            if special[position]:
                scores[name] = w[:, :, position].mean(axis=-1)
        scores["broad"] = row_entropy(w).mean(axis=-1)
        per_layer.append(scores)
    return {name: np.stack([s[name] for s in per_layer]) for name in PATTERNS}
