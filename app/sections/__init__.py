"""The walkthrough's steps, in the seed's order: one module each.

Every step module has the same interface:

- ``KEY``: its anchor on the page (``#geometry``) and the name of its charts' shelf;
- ``TITLE`` (its number comes from its place in ``ALL``: ``title``) and ``EXPLANATION``,
  the one line under the title (``IN_A_HEAD``, where present, replaces it when the page
  shows a trained head);
- ``controls(real)``, where it has settings drawn above its charts: the widgets, drawn
  under the step's title just before its charts. Every setting has its value before any
  step is drawn (``state.init``), so a step above may depend on controls drawn below it
  (section 8's projections shape section 3's scores). Controls that sit beside a chart are
  drawn in its fragment;
- ``render(page, exports)``: what it shows, from a ``view.Reading`` (steps 1-2) or a
  ``view.View`` (steps 3-9), putting its charts on ``exports``;
- ``FOLLOWS_W``, where present: the keys of its fragments that show what W makes. W's
  settings move W in the browser; then only these rerun, each reading the settings anew.
  They hold only what W changes (each element a move sends costs the browser a few
  milliseconds), and each is drawn on every run, even empty: a rerun by key needs it.
"""

from __future__ import annotations

from app.sections import (
    context,
    embeddings,
    exports,
    geometry,
    heads,
    layer,
    learnable,
    next_token,
    output,
    scores,
    text,
    weights,
)

READING = (text, embeddings)
"""Steps drawn by the whole page: the text and its vectors."""
ATTENTION = (
    *(scores, weights, output, geometry, context, learnable),
    *(heads, layer, next_token, exports),
)
"""Steps that follow the attention settings: redrawn alone (a fragment) when those move."""
ALL = (*READING, *ATTENTION)
PRESENTED = ALL[:10]
"""Presentation mode walks through steps 1-10, one at a time."""


def following_w(present: bool, step: int) -> list[str]:
    """The keys of the fragments on screen that show what W makes (each step's
    ``FOLLOWS_W``): what reruns when W's settings move in the browser."""
    shown = [PRESENTED[step - 1]] if present else ALL
    return [key for section in shown for key in getattr(section, "FOLLOWS_W", ())]


def title(step) -> str:
    """The step's heading: its number, from its place in the walkthrough, and its title."""
    return f"{ALL.index(step) + 1} · {step.TITLE}"


def explanation(step, real: bool) -> str:
    """The one line under a step's title, for the mode on show."""
    return getattr(step, "IN_A_HEAD", step.EXPLANATION) if real else step.EXPLANATION
