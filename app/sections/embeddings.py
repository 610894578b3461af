"""Each token becomes a vector, the rows of X."""

from __future__ import annotations

from app import draw
from app.view import Exports, Reading

KEY = "x"
TITLE = "Embeddings X"
EXPLANATION = (
    "Each token becomes a row of d numbers, the model's width. Static vectors ignore the "
    "other words."
)
IN_A_HEAD = (
    "X is what the chosen head projects: the hidden states entering its layer (for layer 0, "
    "word and position embeddings), normalised as the model does it."
)
KIND_NAMES = {"static": "Static (context-free)", "contextual": "Contextual (final layer)"}


def controls(real: bool) -> None:
    if not real:  # a trained head projects its layer's input, whatever the vectors
        draw.pick_one("Vectors", KIND_NAMES, key="kind")


def render(page: Reading, exports: Exports) -> None:
    draw.matrix_with_norms(
        page.x, page.labels, exports.shelf(KEY), name="x", palette=page.palette("diverging")
    )
