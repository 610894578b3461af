"""Every head of the model at once, attention across layers, what heads do, and how one
cell of W is made.

``all_heads`` runs the model once and keeps every head's attention; ``rollout`` follows
attention through the layers (Abnar and Zuidema, 2020); ``head_scores`` says how much of
each head's attention goes to a few well-known places (the previous token, [SEP]...);
``cell`` writes out the arithmetic of one weight ``w_ij``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attn_core.attention import row_entropy, self_attention
from attn_core.embeddings import _join_pieces, _require_text, _word_groups
from attn_core.model import Model, load_model
from attn_core.projections import Projections
from attn_core.training import pool_attention

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
        The attention each head reported, in the model's own precision (72 heads of a
        256-token text take 19 MB); with merged words or no special tokens, pooled onto
        those rows (``pool_attention``). Every row sums to 1.
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
    _require_text(text)
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
        tokens=[_join_pieces([pieces[i] for i in r]) for r in rows],
        weights=weights,
        special=[special[r[0]] for r in rows],
        n_dropped=n_dropped,
        model_name=model.name,
    )


def reading_rows(
    model: Model, ids: list[int], special_tokens: bool, merge_subwords: bool
) -> tuple[list[str], list[bool], list[list[int]]]:
    """Each id's word piece and whether it is special, and the pieces each row reads:
    one row per piece, or per word, without the special tokens if asked."""
    pieces = [model.tokenizer.id_to_token(i) for i in ids]
    special = model.special(len(ids))
    rows = (
        _word_groups(pieces, special, model.continues)
        if merge_subwords
        else [[i] for i in range(len(ids))]
    )
    if not special_tokens:
        rows = [r for r in rows if not special[r[0]]]
    return pieces, special, rows


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
    layers = np.asarray(layers, dtype=np.float64)
    if layers.ndim != 3 or layers.shape[1] != layers.shape[2] or layers.shape[0] < 1:
        raise ValueError(f"layers must be (L, T, T) with L >= 1, got shape {layers.shape}")
    if not np.isfinite(layers).all():
        raise ValueError("layers must be finite")
    if not (isinstance(residual, int | float) and 0.0 <= residual <= 1.0):
        raise ValueError(f"residual must be a number in [0, 1], got {residual!r}")
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
    for layer in heads.weights:  # one layer at a time: a 256-token layer is 3 MB, not 19
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


@dataclass(frozen=True)
class Cell:
    """How one weight ``w_ij`` of W is made, every number kept.

    Attributes
    ----------
    i, j : int
        Query row and key column.
    left, right : ndarray, shape (d_k,)
        The vectors dotted: ``x_i`` and ``x_j`` parameter-free, ``q_i`` and ``k_j`` with
        projections (biases included).
    products : ndarray, shape (d_k,)
        ``left * right``, element by element; they add up to ``score``.
    score : float
        ``w′_ij``, the dot product.
    scale, temperature : float
        ``logit = score * scale / temperature``.
    masked : bool
        Whether the causal mask hides ``j`` from ``i`` (then ``logit`` is ``-inf``).
    logit : float
    row_max, row_sum : float
        The row's largest logit and ``Σ_j exp(logit_ij - row_max)``: the softmax's parts.
    weight : float
        ``exp(logit - row_max) / row_sum``, equal to ``self_attention(...).weights[i, j]``.
    """

    i: int
    j: int
    left: np.ndarray
    right: np.ndarray
    products: np.ndarray
    score: float
    scale: float
    temperature: float
    masked: bool
    logit: float
    row_max: float
    row_sum: float
    weight: float


def cell(
    x: np.ndarray,
    i: int,
    j: int,
    projections: Projections | None = None,
    *,
    scale: bool | float | None = None,
    temperature: float = 1.0,
    causal: bool = False,
) -> Cell:
    """The arithmetic of ``w_ij`` for ``self_attention(x, projections, ...)``.

    Arguments after ``j`` are those of ``self_attention``; ``i`` and ``j`` index its
    ``(T, T)`` weights.
    """
    res = self_attention(x, projections, scale=scale, temperature=temperature, causal=causal)
    t = res.weights.shape[0]
    for name, value in (("i", i), ("j", j)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < t:
            raise ValueError(f"{name} must be an integer in [0, {t}), got {value!r}")
    queries = res.q if res.projected else res.x  # (T, d_k)
    keys = res.k if res.projected else res.x  # (T, d_k)
    left, right = queries[i], keys[j]  # (d_k,) each
    row = res.logits[i]  # (T,)
    row_max = float(row.max())
    return Cell(
        i=int(i),
        j=int(j),
        left=left,
        right=right,
        products=left * right,  # (d_k,)
        score=float(res.scores[i, j]),
        scale=float(res.scale),
        temperature=float(res.temperature),
        masked=bool(res.causal and j > i),
        logit=float(row[j]),
        row_max=row_max,
        row_sum=float(np.exp(row - row_max).sum()),
        weight=float(res.weights[i, j]),
    )
