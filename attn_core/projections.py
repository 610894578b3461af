"""Randomly initialised query, key and value projections, reproducible from a seed."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from attn_core.validation import check_choice, check_int

INITS = ("xavier_normal", "xavier_uniform", "kaiming_normal", "normal_0.02")
"""Initialisation schemes: Glorot normal/uniform, He normal, and N(0, 0.02²) as in BERT/GPT-2."""

MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Projections:
    """Projection matrices: random ones from ``random_projections``, or a trained head's.

    Attributes
    ----------
    w_q, w_k : ndarray, shape (d, d_k)
        Map a token vector to its query and its key.
    w_v : ndarray, shape (d, d_v)
        Map a token vector to its value, the part that is mixed into the output.
    seed : int or None
        The seed they were drawn from (``None`` when they were not drawn).
    init : str
        Where they came from: one of ``INITS``, or a description such as a model's head.
    b_q, b_k, b_v : ndarray, shape (d_k,), (d_k,), (d_v,), or None
        Biases added after projecting, as a trained linear layer has them.
    """

    w_q: np.ndarray
    w_k: np.ndarray
    w_v: np.ndarray
    seed: int | None = None
    init: str = "given"
    b_q: np.ndarray | None = None
    b_k: np.ndarray | None = None
    b_v: np.ndarray | None = None

    @property
    def d(self) -> int:
        """Width of the input vectors."""
        return self.w_q.shape[0]

    @property
    def d_k(self) -> int:
        """Width of queries and keys."""
        return self.w_q.shape[1]

    @property
    def d_v(self) -> int:
        """Width of values (and of the output)."""
        return self.w_v.shape[1]

    def check_input_width(self, d: int) -> None:
        """Raise ValueError unless inputs of width ``d`` fit these projections."""
        if d != self.d:
            raise ValueError(
                f"x must be (T, d) with d = {self.d} (the projections' input width), got d = {d}"
            )


def random_projections(
    d: int,
    d_k: int,
    *,
    seed: int = 0,
    d_v: int | None = None,
    init: str = "xavier_normal",
) -> Projections:
    """Draw ``W_q``, ``W_k`` of shape ``(d, d_k)`` and ``W_v`` of shape ``(d, d_v)``.

    Each matrix has its own stream, ``np.random.default_rng([seed, i])`` (PCG64), so the
    numbers are the same on any machine, and ``W_q`` does not change when ``d_v`` does.

    Parameters
    ----------
    d : int
        Width of the input token vectors (384 for MiniLM).
    d_k : int
        Width of queries and keys.
    seed : int, default 0
        Any integer in ``[0, 2**32 - 1]``.
    d_v : int, optional
        Width of values; ``d_k`` when not given.
    init : str, default "xavier_normal"
        One of ``INITS``: ``xavier_normal`` N(0, 2/(fan_in+fan_out)), ``xavier_uniform``
        U(±√(6/(fan_in+fan_out))), ``kaiming_normal`` N(0, 2/fan_in), ``normal_0.02``.

    Returns
    -------
    Projections
    """
    d, d_k = check_int(d, "d", low=1), check_int(d_k, "d_k", low=1)
    d_v = d_k if d_v is None else check_int(d_v, "d_v", low=1)
    seed = check_int(seed, "seed", 0, MAX_SEED)
    check_choice(init, "init", INITS)
    w_q, w_k, w_v = _drawn(d, d_k, d_v, seed, init)
    return Projections(w_q=w_q, w_k=w_k, w_v=w_v, seed=seed, init=init)


@functools.lru_cache(maxsize=8)
def _drawn(d: int, d_k: int, d_v: int, seed: int, init: str) -> tuple[np.ndarray, ...]:
    """The three matrices, drawn once per set of arguments and shared read-only.

    Every view of a page asks for the same ones (scores, output, geometry, training...), so
    they are drawn once; a pure function of its arguments, so one process-wide memo serves
    every session, eight sets at most.
    """
    drawn = tuple(
        _draw(np.random.default_rng([seed, i]), (d, width), init)
        for i, width in enumerate((d_k, d_k, d_v))
    )
    for matrix in drawn:
        matrix.flags.writeable = False
    return drawn


def _draw(rng: np.random.Generator, shape: tuple[int, int], init: str) -> np.ndarray:
    fan_in, fan_out = shape
    if init == "xavier_normal":
        return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=shape)
    if init == "xavier_uniform":
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, size=shape)
    if init == "kaiming_normal":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    return rng.normal(0.0, 0.02, size=shape)
