"""Where to put point labels so that none covers another label or a point."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHAR_WIDTH, LINE_HEIGHT = 0.6, 1.25
"""A label's width per character and its height, in units of its font size."""
POINT_RADIUS = 5.0
"""Pixels around a point that no label may cover."""
GAP = 6.0
"""Pixels between a point and its label, in the nearest ring of places."""
RINGS = (1.0, 2.6, 4.5)
"""Rings of places around a point, as multiples of ``GAP``; past the first, a leader line."""


@dataclass(frozen=True)
class Placed:
    """Label centres in data units; ``shown`` False where no free place was found, and
    ``far`` True where the label sits in the outer ring (drawn with a leader line)."""

    x: np.ndarray
    y: np.ndarray
    shown: np.ndarray
    far: np.ndarray


def label_box(label: str, font: float) -> tuple[float, float]:
    """Width and height in pixels of ``label`` at ``font`` pixels."""
    return CHAR_WIDTH * font * len(label) + 2.0, LINE_HEIGHT * font


def place_labels(
    points: np.ndarray,
    labels: list[str],
    obstacles: np.ndarray,
    extent: tuple[float, float, float, float],
    size: float,
    font: float,
) -> Placed:
    """Put each label beside its point (``(n, 2)``, data units) in a ``size``-pixel square
    showing ``extent`` = ``(x0, x1, y0, y1)``: the first of 24 places around it (8 in
    each of three rings) that stays inside the square and covers no placed label and no point of
    ``obstacles`` (``(m, 2)``, every point drawn). A label with no such place is not shown.
    """
    x0, x1, y0, y1 = extent
    to_px = np.array([size / (x1 - x0), -size / (y1 - y0)])  # screen y grows downwards

    def pixels(xy: np.ndarray) -> np.ndarray:
        return (xy - np.array([x0, y1])) * to_px  # (n, 2)

    anchors, blocked = pixels(np.asarray(points, float)), pixels(np.asarray(obstacles, float))
    taken: list[tuple[float, float, float, float]] = []  # boxes: left, top, right, bottom
    centres = np.zeros_like(anchors)
    shown = np.zeros(len(labels), dtype=bool)
    far = np.zeros(len(labels), dtype=bool)
    # the most crowded points first: they have the fewest free places
    near = (np.hypot(*(anchors[:, None, :] - blocked[None, :, :]).transpose(2, 0, 1)) < 60).sum(1)
    for k in np.argsort(-near, kind="stable"):
        label, (px, py) = labels[k], anchors[k]
        w, h = label_box(label, font)
        for ring in RINGS:
            gap = GAP * ring + POINT_RADIUS
            places = [
                (gap + w / 2, 0.0),
                (0.0, -(gap + h / 2)),
                (-(gap + w / 2), 0.0),
                (0.0, gap + h / 2),
                (gap * 0.7 + w / 2, -(gap * 0.7 + h / 2)),
                (-(gap * 0.7 + w / 2), -(gap * 0.7 + h / 2)),
                (gap * 0.7 + w / 2, gap * 0.7 + h / 2),
                (-(gap * 0.7 + w / 2), gap * 0.7 + h / 2),
            ]
            for dx, dy in places:
                cx, cy = px + dx, py + dy
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                if _free(box, taken, blocked, size):
                    taken.append(box)
                    centres[k], shown[k], far[k] = (cx, cy), True, ring > 1.0
                    break
            if shown[k]:
                break
    data = centres / to_px + np.array([x0, y1])  # (n, 2), back to data units
    return Placed(data[:, 0], data[:, 1], shown, far)


def _free(box, taken, blocked: np.ndarray, size: float) -> bool:
    left, top, right, bottom = box
    if left < 0 or top < 0 or right > size or bottom > size:
        return False
    if any(left < r and l < right and top < b and t < bottom for l, t, r, b in taken):  # noqa: E741
        return False
    # the box's nearest point to each obstacle must be a point's radius away
    nearest_x = np.clip(blocked[:, 0], left, right)
    nearest_y = np.clip(blocked[:, 1], top, bottom)
    distance = np.hypot(blocked[:, 0] - nearest_x, blocked[:, 1] - nearest_y)
    return bool((distance >= POINT_RADIUS).all())
