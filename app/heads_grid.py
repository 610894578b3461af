"""Step 9's grid of every head, drawn in the page (``web/heads_grid.mjs``): one small picture
of each head's W, one row per layer, that the pointer and the keyboard both reach.

The page sends one PNG holding every head's thumbnail (at most 48 pixels a side however
long the text, not the heads' weights), a sentence for each head and one for the whole
grid. Hover or a focused head shows its sentence; a click, or Enter on the focused
head, is reported as a ``pick`` trigger, and the step shows that head everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import streamlit as st

import attn_core
from app import components, data
from app.weights_map import PROJECTOR_FONT
from attn_core import charts
from attn_core.charts import grid, summary

SIZE, PROJECTOR_SIZE = 56, 76
"""Pixels of each head's picture; larger on a projector."""
EDGE = "#d6604d"
"""The outline of the head every step shows."""


def payload(
    heads: attn_core.AllHeads, on_show: tuple[int, int], palette: str, *, present: bool = False
) -> dict:
    """What the component needs to draw every head of ``heads`` (L x H from its weights),
    ``on_show`` = (layer, head) outlined, each picture in ``palette``."""
    key = data.digest(heads.weights, list(heads.tokens), palette, tuple(on_show))
    low = PROJECTOR_FONT if present else 0
    return {
        **_pictures_and_words(key, heads, palette, tuple(on_show)),
        "kind": "heads",
        "shown": [int(on_show[0]), int(on_show[1])],
        "size": PROJECTOR_SIZE if present else SIZE,
        "font": max(12, low),
        "titleFont": max(13, low),
        "labelInk": charts.base.LABEL_INK,
        "edge": EDGE,
    }


@st.cache_data(max_entries=16, show_spinner=False)
def _pictures_and_words(
    key: str, _heads: attn_core.AllHeads, palette: str, on_show: tuple[int, int]
) -> dict:
    """Once per text, palette and head shown (``key`` fingerprints them): the thumbnails,
    each head's sentence (its tooltip and what a screen reader says) and the grid's."""
    weights = _heads.weights  # (L, H, T, T)
    url, side = grid.atlas(weights, palette)
    said = summary.each_head(weights, charts.token_labels(_heads.tokens))
    return {
        "layers": int(weights.shape[0]),
        "heads": int(weights.shape[1]),
        "atlas": url,
        "side": side,
        "says": said,
        "summary": f"Every head, {summary.head_grid(weights, on_show)}",
    }


def picked(state: Mapping[str, object] | None, shape: tuple[int, int]) -> tuple[int, int] | None:
    """The head a click or Enter picked, checked against ``shape`` = (L, H); else None."""
    pick = (state or {}).get("pick")
    if not isinstance(pick, Mapping):
        return None
    layer, head = pick.get("layer"), pick.get("head")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (layer, head)):
        return None
    if 0 <= layer < shape[0] and 0 <= head < shape[1]:
        return layer, head
    return None


def show(data: dict, *, key: str, on_pick: Callable[[], None]) -> None:
    """Mount the grid with ``data`` (from ``payload``)."""
    components.HEADS_GRID(key=key, data=data, width="stretch", on_pick_change=on_pick)
