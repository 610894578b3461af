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
    x = _as_matrix(x)
    t, d = x.shape
    temperature = _positive_finite(temperature, "temperature")

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


def _as_matrix(x: np.ndarray) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"x must be a numeric (T, d) array, got {type(x).__name__}") from exc
    if arr.ndim != 2:
        raise ValueError(f"x must be 2-D (T, d), got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"x must have at least one token and one dimension, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("x must be finite, got NaN or inf values")
    return arr


def _positive_finite(value: float, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a positive number, got {value!r}") from exc
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


def _scale_factor(scale: bool | float | None, *, width: int, projected: bool) -> float:
    if scale is None:
        scale = projected
    if isinstance(scale, bool | np.bool_):
        return 1.0 / np.sqrt(width) if scale else 1.0
    return _positive_finite(scale, "scale")
