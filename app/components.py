"""The page's own scripts (``app/web``) as Streamlit components.

Each component's script is one ES module file that imports the shared ones
(``numeric.mjs``: the numbers; ``drawing.mjs``: elements, axes, tooltips). Streamlit loads
a component's script as one module, so each is sent as a bundle: the shared modules' code
first, their ``export`` and ``import`` lines dropped, then the component's own.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

WEB = Path(__file__).parent / "web"
SHARED = ("numeric.mjs", "drawing.mjs")
_IMPORT = re.compile(r"^import\b[^;]*;\n", re.MULTILINE)
_EXPORT = re.compile(r"^export (?=function|const|let|class)", re.MULTILINE)


def bundle(name: str) -> str:
    """The script of component ``name`` with the shared modules it imports, as one module."""
    own = (WEB / name).read_text(encoding="utf-8")
    if not _IMPORT.search(own):
        return own
    shared = [(WEB / s).read_text(encoding="utf-8") for s in SHARED]
    return "\n".join([*(_EXPORT.sub("", _IMPORT.sub("", s)) for s in shared), _IMPORT.sub("", own)])


CSS = (WEB / "maps.css").read_text(encoding="utf-8")
WEIGHTS_MAP = st.components.v2.component(
    "attention.weights_map", js=bundle("weights_map.mjs"), css=CSS
)
"""Step 4's map of W, with the temperature, scale, mask and stretch controls."""
OUTPUT = st.components.v2.component("attention.w_output", js=bundle("output_map.mjs"), css=CSS)
"""Step 5's Y = W V, following the map."""
COMPARISON = st.components.v2.component(
    "attention.w_comparison", js=bundle("comparison.mjs"), css=CSS
)
"""Step 8's two W and their difference, following the map."""
HEADS_GRID = st.components.v2.component(
    "attention.heads_grid", js=bundle("heads_grid.mjs"), css=CSS
)
"""Step 9's grid of every head: a click or the keyboard picks one."""
CLICKER = st.components.v2.component("attention.clicker", js=bundle("clicker.mjs"))
"""Presentation mode's keys: a remote's Page Down / Page Up turn the page whatever has
focus, before a focused slider or switch can take them."""
PAGE = st.components.v2.component("attention.page", js=bundle("page.mjs"))
"""The page's scrolling regions (long formulas, code, a chart's frame on a phone) made
reachable by keyboard."""
