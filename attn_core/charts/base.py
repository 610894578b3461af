"""What every chart shares: palettes, sizes, token labels, and the two-halves builder.

A builder makes its chart from two halves: a structure (marks, encodings, scales) whose
layers read named data sets, and those data sets. ``spec`` reuses the structure while only
the numbers change, which is what most slider moves do.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable

import altair as alt
import numpy as np

from attn_core.validation import check_choice

DIVERGING = (
    *("#2166ac", "#4393c3", "#92c5de", "#d1e5f0"),
    "#f7f7f7",
    *("#fddbc7", "#f4a582", "#d6604d", "#b2182b"),
)
"""Blue (negative) - white (0) - red (positive), ColorBrewer RdBu."""
SEQUENTIAL = (
    *("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6"),
    *("#4292c6", "#2171b5", "#08519c", "#08306b"),
)
"""White (0) to dark blue (1), ColorBrewer Blues: attention weights."""
CIVIDIS = (
    *("#00224e", "#123570", "#3b496c", "#575d6d", "#707173"),
    *("#8a8678", "#a59c74", "#c3b369", "#fee838"),
)
"""Dark blue (0) to yellow (1), cividis: perceptually uniform, and the same to a viewer
with any common colour-vision deficiency (Nuñez et al., 2018)."""
PURPLE_ORANGE = (
    *("#542788", "#8073ac", "#b2abd2", "#d8daeb"),
    "#f7f7f7",
    *("#fee0b6", "#fdb863", "#e08214", "#b35806"),
)
"""Purple (negative) - white (0) - orange (positive), ColorBrewer PuOr: its two sides stay
apart under deuteranopia and protanopia, where red and green meet."""
PALETTES = {
    "weights": SEQUENTIAL,
    "diverging": DIVERGING,
    "weights-safe": CIVIDIS,
    "diverging-safe": PURPLE_ORANGE,
}
"""Every palette by name: the standard two, and their colour-blind-safe counterparts."""
SAFE = "-safe"
"""A palette's name plus this is its colour-blind-safe counterpart (``palette_for``)."""

RASTER_CELLS = 2500
"""Above this many cells a heatmap is drawn as one image."""
RASTER_COLUMNS = 64
"""Wider than this (a model's 384 features) a heatmap is one image at any number of rows:
its cells are a few pixels wide, too thin to hover, and thousands of marks redraw slowly."""
VALUE_CELLS = 144
"""Up to this many cells (12 x 12) the values are printed inside the cells."""
BEFORE_COLOUR, AFTER_COLOUR = "#7f7f7f", "#d6604d"
INKS = ["#ffffff", "#000000"]
"""Text colours on dark and on light cells: one of the two keeps 4.58:1 on any colour."""
LABEL_INK = "#80858f"
"""Text beside the marks (values by bars, token names): legible on light and dark themes."""
# Sizes are those of the data area; axes, labels and titles come on top. FIT_WIDTH also
# stretches the width to the page column. (Streamlit's own default, "fit", squeezes the
# axes into the given height instead, which flattens charts with long labels.)
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")
PAD = alt.AutoSizeParams(type="pad", contains="padding")


def token_labels(tokens: list[str]) -> list[str]:
    """One distinct label per position: repeated tokens get ``#1``, ``#2``… suffixes.

    A WordPiece token never contains a space, so ``"the #2"`` cannot collide with a token.
    """
    counts = Counter(tokens)
    seen: Counter[str] = Counter()
    labels = []
    for tok in tokens:
        seen[tok] += 1
        labels.append(f"{tok} #{seen[tok]}" if counts[tok] > 1 else tok)
    return labels


SPACE_MARK, NEWLINE_MARK, TAB_MARK = "␣", "↵", "⇥"
"""What a byte-level piece's leading space, newline and tab look like on the page."""


def readable(tokens: list[str], byte_level: bool) -> list[str]:
    """Word pieces as a reader reads them. Byte-level BPE (GPT-2, RoBERTa) writes each byte
    as a printable stand-in (``Ġ`` for a space, ``Ã©`` for é): those are decoded, and a
    leading space shows as ``␣``. WordPiece pieces (``##ing``) come back unchanged.

    A piece holding only part of a character shows those bytes as ``\\xc3``.
    """
    if not byte_level:
        return list(tokens)
    decoder = _byte_decoder()
    out = []
    for token in tokens:
        if not all(ch in decoder for ch in token):
            out.append(token)  # an added token, not byte-level
            continue
        text = bytes(decoder[ch] for ch in token).decode("utf-8", errors="backslashreplace")
        body = text.lstrip(" ")
        lead = SPACE_MARK * (len(text) - len(body))  # a word's leading space
        out.append(lead + body.replace("\n", NEWLINE_MARK).replace("\t", TAB_MARK))
    return out


@functools.cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-to-character table, reversed: the printable stand-in of each byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars = {b: chr(b) for b in printable}
    spare = (b for b in range(256) if b not in chars)
    chars |= {b: chr(256 + n) for n, b in enumerate(spare)}
    return {ch: b for b, ch in chars.items()}


def is_raster(shape: tuple[int, int]) -> bool:
    """Whether ``heatmap`` draws a matrix of this shape as one image (no hover, no clicks)."""
    return shape[0] * shape[1] > RASTER_CELLS or shape[1] > RASTER_COLUMNS


def palette_for(kind: str, safe: bool) -> str:
    """The palette of ``kind`` ("weights" or "diverging"), colour-blind-safe if ``safe``."""
    return kind + SAFE if safe else kind


def stops_of(palette: str) -> tuple[str, ...]:
    """The colour stops of a palette named in ``PALETTES``."""
    return PALETTES[check_choice(palette, "palette", sorted(PALETTES))]


def ink_for(rgb: np.ndarray) -> np.ndarray:
    """The ink (``INKS``) that reads best on each colour ``(..., 3)`` bytes: the one with the
    larger WCAG contrast ratio, which is never below 4.58:1."""
    c = np.asarray(rgb, dtype=np.float64) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    luminance = c @ np.array([0.2126, 0.7152, 0.0722])  # (...,)
    on_white = 1.05 / (luminance + 0.05)
    on_black = (luminance + 0.05) / 0.05
    return np.where(on_white >= on_black, INKS[0], INKS[1])


def colour_scale(palette: str) -> alt.Scale:
    """The Altair colour scale for ``palette`` (a name in ``PALETTES``).

    Its domain is the data's: each heatmap sends the two ends of its colour range as an
    invisible ``ends`` data set and its cells' values clipped to that range. The range is
    then data, not structure, so a new text or a stretched range reuses the chart.
    """
    return alt.Scale(range=list(stops_of(palette)), interpolate="rgb", zero=False, nice=False)


def symmetric_domain(matrix: np.ndarray, quantile: float = 1.0) -> tuple[float, float]:
    """``(-m, m)`` around 0, so 0 sits at the white midpoint.

    ``m`` is the largest magnitude, or with ``quantile < 1`` that quantile of the
    magnitudes: embedding tables have a few outlier dimensions that would otherwise wash
    every other cell out to white (the colour scale clamps; hover shows exact values).
    """
    m = float(np.quantile(np.abs(matrix), quantile)) if matrix.size else 1.0
    return (-m, m) if m > 0 else (-1.0, 1.0)


def colours(matrix: np.ndarray, palette: str, domain: tuple[float, float]) -> np.ndarray:
    """RGB bytes ``(R, C, 3)`` of each cell, as ``colour_scale`` draws it (linear RGB)."""
    stops = stops_of(palette)
    rgb = np.array([[int(s[k : k + 2], 16) for k in (1, 3, 5)] for s in stops], dtype=float)
    lo, hi = domain
    t = np.clip((matrix - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)  # (R, C) in [0, 1]
    grid = np.linspace(0.0, 1.0, len(stops))  # (S,)
    channels = [np.interp(t, grid, rgb[:, c]) for c in range(3)]  # 3 x (R, C)
    return np.rint(np.stack(channels, axis=-1)).astype(np.uint8)  # (R, C, 3)


def heading(title: str, note: str) -> str | alt.TitleParams:
    """A chart's title with ``note`` under it in small grey type (alone when no title)."""
    if not note:
        return title
    if not title:  # Vega draws no subtitle under an empty title
        return alt.TitleParams(text=note, fontSize=12, fontWeight="normal", color=LABEL_INK)
    return alt.TitleParams(text=title, subtitle=note)


Table = dict[str, "np.ndarray | list"]
"""A data set: its columns by name, each a list or a 1-D array, all of one length."""
Frames = dict[str, Table]
"""A chart's data sets by name; its layers refer to them by name only."""


def records(table: Table) -> list[dict]:
    """A data set's rows, one dict each, in plain Python values (as JSON holds them)."""
    columns = {name: np.asarray(values).tolist() for name, values in table.items()}
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def builder(parts: Callable[..., tuple[Callable[..., alt.TopLevelMixin], tuple, Frames]]):
    """Make a chart builder from a function that returns a chart in two halves.

    ``parts(*args, **kwargs)`` returns ``(draw, layout, frames, description)``:
    ``draw(*layout)`` makes the chart's structure (marks, encodings, scales, titles) with
    every layer reading a named data set, ``frames`` holds those data sets, and
    ``description`` says in one sentence what the chart shows for these data (its
    ``description``, a screen reader's text: ``charts.summary``). A slider move usually
    changes the numbers but not the layout, so ``spec`` builds each layout's structure once
    and only makes new frames after that; the builder itself returns the whole Altair chart.
    """

    @functools.wraps(parts)
    def build(*args, **kwargs) -> alt.TopLevelMixin:
        draw, layout, frames, description = parts(*args, **kwargs)
        chart = draw(*layout)
        chart.datasets = {name: records(table) for name, table in frames.items()}
        chart.description = description
        return chart

    build.parts = parts
    return build


def spec(build: Callable, *args, **kwargs) -> dict:
    """``build(*args, **kwargs).to_dict()``, quickly: what the page draws on every rerun.

    The structure comes from a cache of one per layout; the data sets stay columns (the
    page sends them to the browser as Arrow; ``json_ready`` makes them records). The
    description is the data's too: a new text keeps the structure.
    """
    draw, layout, frames, description = build.parts(*args, **kwargs)
    structure = json.loads(_structure(draw, layout))
    return {**structure, "description": description, "datasets": dict(frames)}


@functools.lru_cache(maxsize=512)
def _structure(draw: Callable[..., alt.TopLevelMixin], layout: tuple) -> str:
    # Kept as JSON: each call gets its own copy of the nested dicts, which Streamlit edits.
    # Not validated here: the tests validate every builder's whole output.
    return json.dumps(draw(*layout).to_dict(validate=False))


def json_ready(spec: dict) -> dict:
    """A spec from ``spec`` with its data sets as lists of records, as Vega-Lite files hold."""
    datasets = {
        name: records(rows) if isinstance(rows, dict) else rows
        for name, rows in spec.get("datasets", {}).items()
    }
    return {**spec, "datasets": datasets}
