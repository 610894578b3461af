"""Drawing helpers shared by the sections: section headings, charts, downloads, projector
sizing and the one-of-a-few control."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

import attn_core
from app import data
from attn_core import charts

PAGE_CSS = """<style>
[data-testid="stCaptionContainer"] { color: inherit; opacity: 0.8; }
[data-scroll-focus]:focus-visible { outline: 3px solid #2171b5; outline-offset: 2px; }
[data-testid="stElementContainer"]:has(> * [data-testid="stVegaLiteChart"])
  + [data-testid="stElementContainer"]:has(> [data-testid="stText"]) {
  position: absolute !important; width: 1px; height: 1px; margin: -1px; overflow: hidden;
  clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0;
}
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after {
    animation-duration: 0.01ms !important; animation-iteration-count: 1 !important;
    transition-duration: 0.01ms !important; scroll-behavior: auto !important;
  }
}
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-left: 0.75rem; padding-right: 0.75rem; }
  [data-testid="stVegaLiteChart"] {
    max-width: 100%; overflow-x: auto; overflow-y: hidden;
    border: 1px solid rgba(128, 128, 128, 0.35); border-radius: 0.4rem;
  }
}
</style>"""
"""Captions in the theme's text colour, lightened to keep 4.5:1 in either theme (Streamlit's
own grey is 4.4:1 on white); a scrolling region focused by keyboard shows a ring; what a
chart shows in words (``said_after``) is there for screen readers, out of sight; nothing
moves for a viewer who asked for reduced motion; on a
phone, a chart wider than the screen scrolls inside its own frame (outlined, so it reads as
one) instead of running off the edge. A fixed stylesheet, no user text in it."""
PRESENTATION_CSS = """<style>
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-top: 1.5rem; }
</style>"""
"""Larger type for a projector (Streamlit sizes text in rem): a fixed stylesheet, no user
text in it. Charts are sized in pixels and get larger fonts from PRESENTATION_CHARTS."""
PRESENTATION_CHARTS = {
    "axis": {"labelFontSize": 16, "titleFontSize": 18},
    "legend": {"labelFontSize": 15, "titleFontSize": 16},
    "title": {"fontSize": 20},
}
SMALL_CHART, PRESENTATION_GROWTH = 300, 1.4
"""On a projector, charts drawn at a fixed size under SMALL_CHART pixels (the token x token
squares side by side) grow, so their larger labels still fit one per cell."""
MIME_TYPES = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "csv": "text/csv",
    "npz": "application/octet-stream",
    "json": "application/json",
}


def heading(key: str, title: str, explanation: str, *, large: bool) -> None:
    """A section's title (anchored at ``key``) and its one line."""
    st.header(title, anchor=key)
    if large:  # on a projector the line is read out: body text, not a caption
        st.markdown(explanation)
    else:
        st.caption(explanation)


def for_projector(spec: dict) -> dict:
    """``spec`` with larger type, and small fixed-size charts grown, for presentation mode."""
    config = spec.get("config", {})
    larger = {key: {**config.get(key, {}), **fonts} for key, fonts in PRESENTATION_CHARTS.items()}
    spec = {**spec, "config": {**config, **larger}}
    if isinstance(spec.get("width"), int) and spec["width"] < SMALL_CHART:
        spec["width"] = round(spec["width"] * PRESENTATION_GROWTH)
        spec["height"] = round(spec["height"] * PRESENTATION_GROWTH)
    return spec


def chart(where, name: str, spec: dict, shelf: dict[str, dict], **kwargs):
    """Draw a chart in ``where`` (a container or ``st``) and put it on ``shelf`` for export."""
    if st.session_state.get("present"):
        spec = for_projector(spec)
    shelf[name] = spec
    if kwargs.get("on_select", "ignore") == "ignore":
        # One paint per redraw, where SVG rewrites an element per mark, label and tick (a
        # slider move rewrote some 5,000 of them). A chart that takes clicks stays SVG:
        # each cell is then an element with its own label, for screen readers and tests.
        spec = {**spec, "usermeta": {"embedOptions": {"renderer": "canvas"}}}
    # A canvas has no text of its own: screen readers get the chart's name and title.
    title = spoken_title(spec)
    alt = f"{name}: {title}" if title and title != name else name
    spec = dict(spec)
    said = spec.pop("description", "")
    datasets = {name: arrow(table) for name, table in spec.get("datasets", {}).items()}
    drawn = where.vega_lite_chart(spec={**spec, "datasets": datasets}, alt=alt, **kwargs)
    if said:
        said_after(where, said)
    return drawn


def said_after(where, said: str) -> None:
    """The builder's sentence of what the chart just drawn shows, for a screen reader, right
    after it: plain text, hidden from sight by ``PAGE_CSS`` (which hides a text that directly
    follows a chart). One element, not a keyed box around it: each element costs the
    browser time on every new text.

    Not in the chart's accessible name: Streamlit puts that into the spec, and a spec that
    changed with its data would make the browser build the chart anew instead of swapping
    its data (on every new text, and every move of W for the charts that follow W).
    """
    where.text(said)


def spoken_title(spec: dict) -> str:
    """A chart's title in words: its text and subtitle. A title that an expression reads from
    the chart's data (``charts.geometry``'s note) is left out: a name that changed with the
    data would make the browser build the chart anew instead of updating it."""
    title = spec.get("title") or ""
    if not isinstance(title, dict):
        return str(title)
    text = title.get("text")
    words = (text if isinstance(text, str | list) else "", title.get("subtitle"))
    return ": ".join(str(part) for part in words if part)


def arrow(table: dict) -> bytes:
    """A chart's data set (columns by name) as the Arrow stream Streamlit sends as it is.

    Made from the columns' arrays directly: through DataFrames, building and converting
    them took over a third of the server's CPU for a new text.
    """
    columns = pa.table({name: np.asarray(values) for name, values in table.items()})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, columns.schema) as stream:
        stream.write_table(columns)
    return sink.getvalue().to_pybytes()


def offer(
    where, label: str, make: Callable[[], object], file_name: str, icon: str, key: str | None = None
) -> None:
    """A download button whose file ``make()`` builds only when it is clicked."""
    kind = file_name.rsplit(".", 1)[-1]
    where.download_button(
        label,
        data=make,
        file_name=file_name,
        mime=MIME_TYPES[kind],
        icon=f":material/{icon}:",
        on_click="ignore",
        key=key or f"export_{kind}",
    )


def file_stem(name: str) -> str:
    """A chart's name as a file name: ``"W′, unnormalised"`` -> ``"w-unnormalised"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "chart"


def as_table(
    where, matrix, rows: list[str], columns: list[str] | None = None, *, name: str, key: str
):
    """A switch that also shows ``matrix`` (named ``name``) as a table, under its picture:
    rows named by their tokens, columns by theirs or by their number, values to 3 decimals.
    For a screen reader, and for anyone who wants the numbers."""
    if not where.toggle(f"Show {name} as a table", key=key):
        return
    matrix = np.asarray(matrix)  # (R, C)
    columns = [str(k) for k in range(matrix.shape[1])] if columns is None else list(columns)
    table = pd.DataFrame(np.round(matrix, 3), index=list(rows), columns=columns)
    where.dataframe(table, width="stretch")


def pick_one(label: str, names: dict[str, str], *, key: str, **kwargs) -> str:
    """A segmented control over ``names`` (value -> what it shows); its value is in state."""
    return st.segmented_control(
        label, list(names), format_func=names.get, key=key, required=True, **kwargs
    )


def matrix_with_norms(
    matrix,
    labels: list[str],
    shelf: dict[str, dict],
    *,
    name: str,
    domain: tuple[float, float] | None = None,
    palette: str = "diverging",
) -> None:
    """A token x feature heatmap (X) with each row's length beside it."""
    left, right = st.columns([5, 1])
    parts = _matrix_and_norms(matrix, labels, name, domain, palette)
    for where, (title, (builder, args, kwargs)) in zip((left, right), parts.items(), strict=True):
        chart(where, title, data.chart(builder, *args, **kwargs), shelf, width="stretch")


def lazy_matrix_with_norms(
    matrix,
    labels: list[str],
    *,
    name: str,
    domain: tuple[float, float] | None = None,
    present: bool = False,
    palette: str = "diverging",
) -> dict[str, Callable[[], dict]]:
    """The two charts of ``matrix_with_norms`` for the export list, not drawn: each is made
    when asked for (larger on a projector, as drawn charts are)."""
    made = {}
    parts = _matrix_and_norms(matrix, labels, name, domain, palette)
    for title, (builder, args, kwargs) in parts.items():
        made[title] = when_asked(partial(charts.spec, builder, *args, **kwargs), present)
    return made


def when_asked(make: Callable[[], dict], present: bool) -> Callable[[], dict]:
    """A chart for the export list that is made only when asked for (``make()``), larger on
    a projector as the drawn charts are."""
    return (lambda: for_projector(make())) if present else make


def _matrix_and_norms(
    matrix, labels, name, domain, palette
) -> dict[str, tuple[Callable, tuple, dict]]:
    """Title -> (builder, its arguments, its options) of a matrix and its rows' lengths."""
    heatmap = {
        "palette": palette,
        "domain": domain,
        "x_title": f"dimension ({matrix.shape[1]})",
        "value_title": name,
    }
    lengths = {"value_title": f"‖{name}ᵢ‖", "fmt": ".2f"}
    return {
        f"{name.upper()}, token by dimension": (charts.heatmap, (matrix, labels), heatmap),
        f"Lengths of the rows of {name.upper()}": (
            charts.bars,
            (attn_core.row_norms(matrix), labels),
            lengths,
        ),
    }


STAGE = 540
"""Pixels of a step's main chart on a projector: most of a 1080-line screen's height."""


def main_height() -> int | None:
    """The height of a step's main chart: the builder's own, or a projector's ``STAGE``."""
    return STAGE if st.session_state.get("present") else None


def token_square(labels: list[str]) -> int:
    """Side in pixels of a token x token heatmap set three to a row."""
    return int(np.clip(36 * len(labels), 160, 250))
