"""What each chart shows for this text, in one sentence a screen reader can read.

Every builder puts its sentence in its chart's ``description``: Vega-Lite hands that to the
chart's container as its accessible text, and an exported file keeps it. The sentences
name tokens in quotes and numbers as the charts print them; they are plain text.
"""

from __future__ import annotations

import numpy as np

from attn_core.attention import row_entropy


def number(value: float) -> str:
    """A value as a sentence says it: two decimals (one past 100), a true minus sign."""
    text = f"{value:.1f}" if abs(value) >= 100 else f"{value:.2f}"
    return text.replace("-", "−")


def _quoted(label: str) -> str:
    return f"‘{label}’"


def heatmap(
    matrix: np.ndarray,
    row_labels: list[str],
    col_labels: list[str] | None,
    value_title: str,
) -> str:
    """``"12 tokens × 384 dimensions: x runs from −2.31 (‘sat’, dimension 17) to …"``."""
    matrix = np.asarray(matrix, dtype=np.float64)  # (R, C)
    rows, cols = matrix.shape
    across = f"{cols} tokens" if col_labels is not None else f"{cols} dimensions"

    def where(flat: int) -> str:
        i, j = divmod(int(flat), cols)
        col = _quoted(col_labels[j]) if col_labels is not None else f"dimension {j}"
        return f"{_quoted(row_labels[i])}, {col}"

    low, high = int(np.argmin(matrix)), int(np.argmax(matrix))
    return (
        f"{rows} tokens × {across}: {value_title} runs from {number(matrix.flat[low])} "
        f"({where(low)}) to {number(matrix.flat[high])} ({where(high)})"
    )


def bars(values: np.ndarray, labels: list[str], value_title: str) -> str:
    """``"6 bars of w_2j: the largest ‘sat’, 0.41; the smallest ‘[SEP]’, 0.02"``."""
    values = np.asarray(values, dtype=np.float64)  # (n,)
    if values.size == 0:
        return f"no bars of {value_title}"
    high, low = int(np.argmax(values)), int(np.argmin(values))
    return (
        f"{values.size} bars of {value_title}: the largest {_quoted(labels[high])}, "
        f"{number(values[high])}; the smallest {_quoted(labels[low])}, {number(values[low])}"
    )


def loss_curve(losses: np.ndarray, at: int | None) -> str:
    """``"The loss over 300 steps, from 1.20 to 0.31; the lowest 0.30 at step 287"``."""
    losses = np.asarray(losses, dtype=np.float64)  # (steps,)
    best = int(np.argmin(losses))
    said = (
        f"The loss over {losses.size} steps, from {number(losses[0])} to {number(losses[-1])}; "
        f"the lowest {number(losses[best])} at step {best}"
    )
    return said if at is None else f"{said}; marked: step {at}, {number(losses[at])}"


def geometry(before: np.ndarray, after: np.ndarray, labels: list[str]) -> str:
    """``"12 tokens before and after attention in one plane: each moved 0.84 on average; the
    most, ‘bank’, 2.10"``."""
    moved = np.linalg.norm(np.asarray(after) - np.asarray(before), axis=1)  # (T,)
    most = int(np.argmax(moved))
    return (
        f"{len(labels)} tokens before and after attention in one plane: each moved "
        f"{number(moved.mean())} on average; the most, {_quoted(labels[most])}, "
        f"{number(moved[most])}"
    )


def head_entropies(weights: np.ndarray) -> np.ndarray:
    """Each head's mean row entropy in bits, ``(L, H, T, T) -> (L, H)``."""
    return row_entropy(weights).mean(axis=-1)  # (L, H, T) -> (L, H)


def head_grid(weights: np.ndarray, on_show: tuple[int, int] | None = None) -> str:
    """``"6 layers × 12 heads on 12 tokens: the most focused is layer 3, head 5 (mean
    entropy 0.41 bits of at most 3.58); the broadest, layer 0, head 2 (3.02 bits)"``."""
    layers, heads, t = weights.shape[:3]
    entropy = head_entropies(weights)  # (L, H)
    focused = np.unravel_index(np.argmin(entropy), entropy.shape)
    broad = np.unravel_index(np.argmax(entropy), entropy.shape)
    said = (
        f"{layers} layers × {heads} heads on {t} tokens: the most focused is "
        f"layer {focused[0]}, head {focused[1]} (mean entropy {number(entropy[focused])} bits "
        f"of at most {number(np.log2(t))}); the broadest, layer {broad[0]}, head {broad[1]} "
        f"({number(entropy[broad])} bits)"
    )
    return said if on_show is None else f"{said}; outlined: layer {on_show[0]}, head {on_show[1]}"


def each_head(weights: np.ndarray, labels: list[str]) -> list[str]:
    """For each head, layer by layer: ``"layer 2, head 5: the strongest weight is ‘sat’ to
    ‘on’, 0.87; mean entropy 1.20 bits"``."""
    layers, heads, t = weights.shape[:3]
    entropy = head_entropies(weights)  # (L, H)
    strongest = weights.reshape(layers, heads, t * t).argmax(axis=-1)  # (L, H)
    said = []
    for layer in range(layers):
        for head in range(heads):
            i, j = divmod(int(strongest[layer, head]), t)
            to = "itself" if i == j else _quoted(labels[j])
            said.append(
                f"layer {layer}, head {head}: the strongest weight is {_quoted(labels[i])} to "
                f"{to}, {number(weights[layer, head, i, j])}; mean entropy "
                f"{number(entropy[layer, head])} bits"
            )
    return said
