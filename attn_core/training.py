"""Watching projections learn: gradient descent on W_q and W_k, from a random start.

The seed ends with "it is essential to be able to learn these weights from data". Here the
data is one text and a target attention pattern ``P`` (T, T); the loss is the mean over
rows of the Kullback-Leibler divergence from each target row to its attention row::

    L = (1/T) Σ_i Σ_j p_ij log(p_ij / w_ij),   W = softmax((X W_q)(X W_k)ᵀ / √d_k)

It is zero when every row of W equals its target row. Only ``W_q`` and ``W_k`` shape W, so
only they are trained; ``W_v`` stays as it started (neither target looks at the output).

The gradient is short enough to write out. With logits ``Λ = c Q Kᵀ``, ``c = 1/√d_k``, and
``s_i = Σ_j p_ij`` (1 for a valid target)::

    ∂L/∂Λ = (W ∘ s - P) / T,   ∂L/∂W_q = Xᵀ (c ∂L/∂Λ K),   ∂L/∂W_k = Xᵀ (c (∂L/∂Λ)ᵀ Q)

and Adam follows it, as ``torch.optim.Adam`` does with its defaults; tests/test_training.py
holds both to torch's autograd and optimiser, step for step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from attn_core.projections import Projections
from attn_core.validation import check_array, check_int, check_positive, check_square

OBJECTIVES = ("imitate", "previous")
"""``imitate``: reproduce a trained head's attention on this text. ``previous``: every
token attends to the token just before it (the first one to itself)."""
MAX_STEPS = 1_000
SAVED = 40
"""W is kept at most at this many steps along the way (plus the start)."""


@dataclass(frozen=True)
class Training:
    """One training run: the attention W at evenly spaced steps, and where the weights
    started and ended.

    Only what the page shows is kept, so a run stays small at any ``d_k``: W at each
    saved step in float32 (41 x T x T numbers), and two sets of projections, not one per
    saved step.

    Attributes
    ----------
    x : ndarray, shape (T, d)
        The token vectors the projections were trained on.
    target : ndarray, shape (T, T)
        The attention pattern they were trained towards; rows sum to 1.
    losses : ndarray, shape (steps + 1,)
        The loss before each step, and after the last one.
    saved_steps : tuple of int
        The steps whose W was kept: 0 (the random start) to ``steps``.
    weights : ndarray, shape (len(saved_steps), T, T), float32
        W = softmax(Q Kᵀ / √d_k) at each of ``saved_steps``; read-only.
    start, trained : Projections
        The projections before the first step and after the last one.
    learning_rate : float
    """

    x: np.ndarray
    target: np.ndarray
    losses: np.ndarray
    saved_steps: tuple[int, ...]
    weights: np.ndarray
    start: Projections
    trained: Projections
    learning_rate: float

    @property
    def steps(self) -> int:
        return len(self.losses) - 1

    def weights_at(self, step: int) -> np.ndarray:
        """W at a saved ``step``, (T, T) float32: rows sum to 1 (to float32 rounding)."""
        if step not in self.saved_steps:
            raise ValueError(f"step {step} was not saved; saved steps are {self.saved_steps}")
        return self.weights[self.saved_steps.index(step)]


def previous_token_target(t: int) -> np.ndarray:
    """Each row one-hot on the token before it; the first token attends to itself.

    Returns
    -------
    ndarray, shape (t, t)
    """
    t = check_int(t, "t", low=1)
    target = np.zeros((t, t))  # (T, T)
    target[0, 0] = 1.0
    target[np.arange(1, t), np.arange(t - 1)] = 1.0
    return target


def pool_attention(weights: np.ndarray, pieces: list[tuple[int, ...]]) -> np.ndarray:
    """A head's attention over word pieces, read on coarser rows (merged words, no specials).

    Row r of the result is the mean of its pieces' rows, with the columns of each row's
    pieces added together; rows are then renormalised to sum to 1, so attention paid to a
    dropped token (``[CLS]``, ``[SEP]``) is shared out in proportion.

    Parameters
    ----------
    weights : ndarray, shape (P, P)
        Attention over the model's word pieces; rows sum to 1.
    pieces : list of tuple of int
        For each row of the result, the word-piece positions it stands for
        (``Embedding.pieces``).

    Returns
    -------
    ndarray, shape (len(pieces), len(pieces))
    """
    weights = check_square(weights, "weights", "P")
    flat = [p for group in pieces for p in group]
    if not pieces or not all(pieces) or not all(0 <= p < weights.shape[0] for p in flat):
        raise ValueError(f"pieces must be non-empty groups of positions below {len(weights)}")
    cols = np.stack([weights[:, list(g)].sum(axis=1) for g in pieces], axis=1)  # (P, T)
    pooled = np.stack([cols[list(g)].mean(axis=0) for g in pieces])  # (T, T)
    sums = pooled.sum(axis=1, keepdims=True)  # (T, 1)
    # A row can only be all zero if its pieces attended solely to dropped tokens.
    return np.where(sums > 0, pooled / np.where(sums > 0, sums, 1.0), 1.0 / len(pieces))


def kl_rows(target: np.ndarray, weights: np.ndarray) -> float:
    """Mean over rows of KL(target row ‖ weights row), in nats; 0 when they are equal."""
    target = np.asarray(target, dtype=np.float64)  # (T, T)
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)  # (T, T)
    terms = np.where(target > 0, target * (np.log(np.where(target > 0, target, 1.0)) - log_w), 0)
    return float(terms.sum(axis=1).mean())


def train_projections(
    x: np.ndarray,
    target: np.ndarray,
    start: Projections,
    *,
    steps: int = 300,
    learning_rate: float = 0.01,
    on_step: Callable[[int, int], None] | None = None,
) -> Training:
    """Train ``W_q`` and ``W_k`` from ``start`` so that softmax(Q Kᵀ/√d_k) approaches ``target``.

    Adam in float64 on the CPU: the same inputs give the same losses, step for step.

    Parameters
    ----------
    x : ndarray, shape (T, d)
        Token vectors (fixed; only the projections learn).
    target : ndarray, shape (T, T)
        Non-negative rows that sum to 1: ``previous_token_target``, or a head's attention
        (``pool_attention`` of ``Head.weights``).
    start : Projections
        Where training begins, usually ``random_projections``; biases, if any, stay fixed.
    steps : int, default 300
        Gradient steps, 1 to ``MAX_STEPS``.
    learning_rate : float, default 0.01
    on_step : callable, optional
        Called as ``on_step(done, steps)`` after each step, for a progress bar.

    Returns
    -------
    Training
    """
    x = check_array(x, "x", ("T", "d"))
    t = x.shape[0]
    target = check_square(target, "target", "T", t)
    if (target < 0).any() or not np.allclose(target.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("target must be non-negative with every row summing to 1")
    start.check_input_width(x.shape[1])
    steps = check_int(steps, "steps", 1, MAX_STEPS)
    learning_rate = check_positive(learning_rate, "learning_rate")

    saved = sorted({round(k * steps / SAVED) for k in range(SAVED + 1)})
    c = 1 / math.sqrt(start.d_k)
    row_sums = target.sum(axis=1, keepdims=True)  # (T, 1), 1 up to rounding
    with np.errstate(divide="ignore", invalid="ignore"):
        p_log_p = np.where(target > 0, target * np.log(target), 0.0).sum()  # 0 log 0 = 0
    b_q, b_k = (np.zeros(start.d_k) if b is None else b for b in (start.b_q, start.b_k))
    w_q, w_k = start.w_q.astype(np.float64), start.w_k.astype(np.float64)  # (d, d_k), copies
    adam = _Adam(learning_rate, (w_q.shape, w_k.shape))
    losses: list[float] = []
    kept = np.empty((len(saved), t, t), dtype=np.float32)  # (S, T, T)
    for step in range(steps + 1):
        q = x @ w_q + b_q  # (T, d) @ (d, d_k) -> (T, d_k)
        k = x @ w_k + b_k  # (T, d) @ (d, d_k) -> (T, d_k)
        logits = c * (q @ k.T)  # (T, d_k) @ (d_k, T) -> (T, T)
        shifted = logits - logits.max(axis=1, keepdims=True)  # the row max: exp cannot overflow
        log_w = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (T, T)
        losses.append(float((p_log_p - (target * log_w).sum()) / t))
        if step in saved:
            np.exp(log_w, out=kept[saved.index(step)])  # W, rounded to float32
        if step == steps:
            break
        grad = (np.exp(log_w) * row_sums - target) / t  # (T, T): ∂L/∂logits
        grad_q = x.T @ (c * grad @ k)  # (d, T) @ ((T, T) @ (T, d_k)) -> (d, d_k)
        grad_k = x.T @ (c * grad.T @ q)  # (d, T) @ ((T, T) @ (T, d_k)) -> (d, d_k)
        adam.step((w_q, w_k), (grad_q, grad_k))
        if on_step is not None:
            on_step(step + 1, steps)
    kept.flags.writeable = False
    return Training(
        x=x,
        target=target,
        losses=np.array(losses),
        saved_steps=tuple(saved),
        weights=kept,
        start=start,
        trained=_trained(start, w_q, w_k, steps),
        learning_rate=float(learning_rate),
    )


class _Adam:
    """Adam with torch's defaults (β = 0.9, 0.999; ε = 1e-8), its operations in its order.

    Steps the parameters in place, in buffers of its own: a fresh array per operation
    would map new memory each time, which costs more than the arithmetic at large d_k.
    """

    def __init__(self, learning_rate: float, shapes) -> None:
        self.lr, self.beta1, self.beta2, self.eps = learning_rate, 0.9, 0.999, 1e-8
        self.m = [np.zeros(shape) for shape in shapes]  # first moments
        self.v = [np.zeros(shape) for shape in shapes]  # second moments
        self.scratch = [np.zeros(shape) for shape in shapes]
        self.t = 0

    def step(self, params, grads) -> None:
        self.t += 1
        correction1 = 1 - self.beta1**self.t
        correction2 = 1 - self.beta2**self.t
        for param, grad, m, v, buf in zip(params, grads, self.m, self.v, self.scratch, strict=True):
            np.subtract(grad, m, out=buf)
            buf *= 1 - self.beta1
            m += buf  # m ← m + (g - m)(1 - β1)
            np.multiply(grad, grad, out=buf)
            buf *= 1 - self.beta2
            v *= self.beta2
            v += buf  # v ← β2 v + (1 - β2) g²
            np.sqrt(v, out=buf)
            buf /= math.sqrt(correction2)
            buf += self.eps  # the denominator √v̂ + ε
            np.divide(m, buf, out=buf)
            buf *= self.lr / correction1
            param -= buf


def _trained(start: Projections, w_q: np.ndarray, w_k: np.ndarray, steps: int) -> Projections:
    """The projections after ``steps``: the trained W_q, W_k, and the rest as they started."""
    return Projections(
        w_q=w_q,
        w_k=w_k,
        w_v=start.w_v,
        seed=start.seed,
        init=f"{start.init}, trained {steps} steps",
        b_q=start.b_q,
        b_k=start.b_k,
        b_v=start.b_v,
    )
