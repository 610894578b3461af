"""The settings that decide a view's numbers, their defaults, and the attention they give.

A view is a plain mapping of settings (the page's controls, a snapshot's ``settings``):
which text and vectors, which mode of attention, and how the softmax is shaped. What only
changes how numbers are shown (colours, the 2-D map, presentation) is the page's business.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from attn_core.attention import AttentionResult, Cell, self_attention
from attn_core.projections import INITS, Projections, random_projections
from attn_core.validation import check_choice

MODES = ("free", "learnable", "real")
"""Parameter-free (X Xᵀ), random projections, and a trained head of the bundled model."""
LAYERS, HEADS = 6, 12
"""all-MiniLM-L6-v2: 6 layers of 12 heads."""
DEFAULTS: dict[str, object] = {
    "text": "hi how are you",
    "kind": "static",
    "special": True,
    "merge": False,
    "mode": "free",
    "scale": False,
    "temperature": 1.0,
    "causal": False,
    "seed": 0,
    "d_k": 64,
    "init": INITS[0],
    "layer": 0,
    "head": 0,
    "objective": "previous",
}
"""Every setting that decides the numbers (and the training target), at its default."""


def defaults_for(mode: object) -> dict[str, object]:
    """``DEFAULTS`` as they are for ``mode``.

    1/√d scaling is on with projections, as in models. Training imitates the head on show
    in ``real`` mode; elsewhere it aims for the previous token, which needs no run of the
    model (the default page, with static vectors, never runs it).
    """
    return {
        **DEFAULTS,
        "scale": mode in ("learnable", "real"),
        "objective": "imitate" if mode == "real" else "previous",
    }


def start_projections(d: int, view: Mapping[str, object]) -> Projections:
    """The view's random projections for inputs of width ``d`` (``d_k`` capped at ``d``)."""
    return random_projections(
        d, min(int(view["d_k"]), d), seed=int(view["seed"]), init=str(view["init"])
    )


def projections_for(
    d: int, view: Mapping[str, object], head: Projections | None = None
) -> Projections | None:
    """The projections the view's mode uses on inputs of width ``d``: none parameter-free,
    the random ones, or in ``real`` mode ``head`` (a trained head's, from ``model_head``)."""
    check_choice(view["mode"], "mode", MODES)
    if view["mode"] == "learnable":
        return start_projections(d, view)
    if view["mode"] == "real":
        if head is None:
            raise ValueError("mode 'real' needs the head's projections (head=...)")
        return head
    return None


def attention_for(
    x: np.ndarray,
    view: Mapping[str, object],
    *,
    projected: bool | None = None,
    head: Projections | None = None,
) -> AttentionResult:
    """Self-attention of ``x`` (T, d) as the view's settings say.

    In ``real`` mode the projections are ``head`` (a trained head's, from ``model_head``).
    ``projected`` overrides the view's mode: ``False`` parameter-free, ``True`` the random
    projections (the page computes several, to compare them).
    """
    if projected is not None:
        view = {**view, "mode": "learnable" if projected else "free"}
    return self_attention(
        x,
        projections_for(x.shape[1], view, head),
        scale=bool(view["scale"]),
        temperature=float(view["temperature"]),
        causal=bool(view["causal"]),
    )


def cell_for(
    x: np.ndarray, i: int, j: int, view: Mapping[str, object], *, head: Projections | None = None
) -> Cell:
    """``Cell.of(attention_for(x, view, head=head), i, j)``, for one weight on its own."""
    return Cell.of(attention_for(x, view, head=head), i, j)
