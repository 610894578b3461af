"""Self-attention with every teaching stage kept: scores -> logits -> weights -> output.

Convention: vectors are *rows*. ``x`` is ``(T, d)``: one row per token. The seed document
writes ``Y = Xᵀ W`` with column vectors; with row vectors the same product is ``Y = W X``,
so row ``i`` of ``W`` says how much of every input goes into output ``i``:
``y_i = Σ_j w_ij x_j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attn_core.projections import Projections
from attn_core.validation import check_array, check_index, check_positive

_BIG = np.finfo(np.float64).max


@dataclass(frozen=True)
class AttentionResult:
    """Every stage of one self-attention pass.

    Attributes
    ----------
    x : ndarray, shape (T, d)
        The input token vectors.
    q, k, v : ndarray, shape (T, d_k), (T, d_k), (T, d_v), or None
        Queries, keys and values when projections were used; ``None`` when parameter-free
        (then queries, keys and values are all ``x``).
    scores : ndarray, shape (T, T)
        Raw dot products ``q_i · k_j`` (the seed's unnormalised W'), before scale,
        temperature or mask.
    logits : ndarray, shape (T, T)
        ``scores * scale / temperature``, with masked entries set to ``-inf``.
    weights : ndarray, shape (T, T)
        Row-wise softmax of ``logits`` (the seed's normalised W). Each row sums to 1.
    output : ndarray, shape (T, d) or (T, d_v)
        ``weights @ values``: each output row is a weighted mean of the value rows.
    scale : float
        The factor the scores were multiplied by (``1/√d`` when scaled, else 1).
    temperature : float
        The divisor applied after scaling.
    causal : bool
        Whether token ``i`` could only see tokens ``j <= i``.
    """

    x: np.ndarray
    q: np.ndarray | None
    k: np.ndarray | None
    v: np.ndarray | None
    scores: np.ndarray
    logits: np.ndarray
    weights: np.ndarray
    output: np.ndarray
    scale: float
    temperature: float
    causal: bool

    @property
    def projected(self) -> bool:
        """True when queries, keys and values came from learnable projections."""
        return self.q is not None

    @property
    def values(self) -> np.ndarray:
        """What the weights mix: ``v`` when projected, else ``x``."""
        return self.v if self.v is not None else self.x

    @property
    def entropy(self) -> np.ndarray:
        """Entropy of each row of ``weights`` in bits, shape ``(T,)``: 0 = all on one token."""
        return row_entropy(self.weights)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax along the last axis.

    The row maximum is subtracted before exponentiating: softmax is unchanged by adding a
    constant to a row, and after the shift the largest exponent is ``exp(0) = 1``, so
    nothing overflows and at least one term of every row's sum is 1 (no division by 0).
    Entries of ``-inf`` (masked) become exactly 0.
    """
    with np.errstate(over="ignore"):  # -max - max = -inf is fine: exp(-inf) = 0
        shifted = logits - logits.max(axis=-1, keepdims=True)  # (T, T), row max is now 0
    e = np.exp(shifted)  # (T, T), in [0, 1]
    return e / e.sum(axis=-1, keepdims=True)


def row_entropy(weights: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits of each row of a row-stochastic matrix, shape ``(T,)``."""
    w = np.asarray(weights, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0, -w * np.log2(w), 0.0)  # (T, T); 0·log 0 = 0
    return terms.sum(axis=-1)


def self_attention(
    x: np.ndarray,
    projections: Projections | None = None,
    *,
    scale: bool | float | None = None,
    temperature: float = 1.0,
    causal: bool = False,
) -> AttentionResult:
    r"""Single-head self-attention, parameter-free or with projections.

    Parameter-free (the seed):

    .. math:: W' = X X^\top,\quad W = \mathrm{softmax}_{\text{rows}}(W'),\quad Y = W X

    With projections :math:`Q = X W_q,\ K = X W_k,\ V = X W_v` (plus biases if given):

    .. math:: Y = \mathrm{softmax}_{\text{rows}}\!\left(\frac{Q K^\top}{s\,\tau}\right) V

    Parameters
    ----------
    x : array_like, shape (T, d)
        Token vectors, one row per token. Must be finite.
    projections : Projections, optional
        ``W_q``, ``W_k`` of shape ``(d, d_k)`` and ``W_v`` of shape ``(d, d_v)``.
    scale : bool or float, optional
        ``True`` multiplies scores by ``1/√d`` (``d`` = width of the vectors dotted:
        ``d`` parameter-free, ``d_k`` projected); ``False`` by 1; a positive float by
        itself. ``None`` means the mode's default: off parameter-free, on with projections.
    temperature : float, default 1.0
        Positive divisor of the logits: large -> uniform rows, small -> one-hot rows.
    causal : bool, default False
        Token ``i`` attends only to tokens ``j <= i``.

    Returns
    -------
    AttentionResult
        Every stage, from the raw scores to the output.
    """
    x = check_array(x, "x", ("T", "d"))
    t, d = x.shape
    temperature = check_positive(temperature, "temperature")

    if projections is None:
        q = k = v = None
        queries, keys, values = x, x, x  # (T, d) each
    else:
        projections.check_input_width(d)
        q = x @ projections.w_q  # (T, d) @ (d, d_k) -> (T, d_k)
        k = x @ projections.w_k  # (T, d) @ (d, d_k) -> (T, d_k)
        v = x @ projections.w_v  # (T, d) @ (d, d_v) -> (T, d_v)
        if projections.b_q is not None:  # a trained head's linear layers carry biases
            q, k, v = q + projections.b_q, k + projections.b_k, v + projections.b_v
        queries, keys, values = q, k, v

    factor = _scale_factor(scale, width=queries.shape[1], projected=projections is not None)

    # Huge but finite inputs can overflow a dot product to ±inf (or inf - inf = nan).
    # Clamp those logits to the largest float so the softmax still yields a valid row.
    with np.errstate(over="ignore", invalid="ignore"):
        scores = queries @ keys.T  # (T, d_k) @ (d_k, T) -> (T, T)
        logits = scores * (factor / temperature)  # (T, T)
    logits = np.nan_to_num(logits, nan=0.0, posinf=_BIG, neginf=-_BIG)  # (T, T)
    if causal:
        future = np.triu(np.ones((t, t), dtype=bool), k=1)  # (T, T), True where j > i
        logits = np.where(future, -np.inf, logits)  # (T, T); the diagonal stays visible
    weights = softmax(logits)  # (T, T), rows sum to 1
    with np.errstate(over="ignore", invalid="ignore"):
        output = weights @ values  # (T, T) @ (T, d_v) -> (T, d_v)

    assert np.isfinite(weights).all(), "softmax produced a non-finite weight"
    return AttentionResult(
        x=x,
        q=q,
        k=k,
        v=v,
        scores=scores,
        logits=logits,
        weights=weights,
        output=output,
        scale=factor,
        temperature=temperature,
        causal=bool(causal),
    )


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
        ``exp(logit - row_max) / row_sum``, equal to ``weights[i, j]`` of the result read.
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

    @classmethod
    def of(cls, result: AttentionResult, i: int, j: int) -> Cell:
        """The arithmetic of ``w_ij``, read from the stages ``result`` already holds."""
        t = result.weights.shape[0]
        i, j = check_index(i, "i", t), check_index(j, "j", t)
        queries = result.q if result.projected else result.x  # (T, d_k)
        keys = result.k if result.projected else result.x  # (T, d_k)
        left, right = queries[i], keys[j]  # (d_k,) each
        row = result.logits[i]  # (T,)
        row_max = float(row.max())
        return cls(
            i=i,
            j=j,
            left=left,
            right=right,
            products=left * right,  # (d_k,)
            score=float(result.scores[i, j]),
            scale=float(result.scale),
            temperature=float(result.temperature),
            masked=bool(result.causal and j > i),
            logit=float(row[j]),
            row_max=row_max,
            row_sum=float(np.exp(row - row_max).sum()),
            weight=float(result.weights[i, j]),
        )


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
    """``Cell.of(self_attention(x, projections, ...), i, j)``, for one weight on its own."""
    res = self_attention(x, projections, scale=scale, temperature=temperature, causal=causal)
    return Cell.of(res, i, j)


def _scale_factor(scale: bool | float | None, *, width: int, projected: bool) -> float:
    if scale is None:
        scale = projected
    if isinstance(scale, bool | np.bool_):
        return 1.0 / np.sqrt(width) if scale else 1.0
    return check_positive(scale, "scale")
