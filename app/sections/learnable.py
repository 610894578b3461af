"""Learnable projections. Q, K, V from W_q, W_k, W_v (random, or a trained head's),
the W they make beside the parameter-free W, and training them towards a pattern."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import streamlit as st

import attn_core
from app import data, draw, links, state, weights_map
from app.sections import training
from app.view import Exports, View
from attn_core import charts

KEY = "learnable"
TITLE = "Learnable projections"
EXPLANATION = (
    "Real transformers learn W_q, W_k, W_v. Random ones are the starting point; training "
    "moves them towards a pattern."
)
IN_A_HEAD = "This head's own W_q, W_k, W_v, as training left them, applied to your text."
QKV_NAMES = {"q": "Q = X W_q", "k": "K = X W_k", "v": "V = X W_v"}
VECTORS = "learnable.vectors"
"""Q, K or V redraws alone (a fragment of this key) when another is picked."""
COMPARISON_MAPS = "w_comparison"
"""The key of the component that draws them."""


def controls(real: bool) -> None:
    row = st.container(horizontal=True, vertical_alignment="bottom")
    row.number_input("Seed", 0, attn_core.projections.MAX_SEED, key="seed")
    row.button("Re-roll", icon=":material/casino:", on_click=state.reroll, key="reroll")
    row.select_slider("d_k (query/key width)", links.D_K_CHOICES, key="d_k")
    row.selectbox("Initialisation", attn_core.INITS, key="init")


def render(view: View, exports: Exports) -> None:
    projected_vectors(view, exports)
    comparison(view, exports)
    training.render(view, exports)


@st.fragment(key=VECTORS)
def projected_vectors(view: View, exports: Exports) -> None:
    """Q, K or V. Streamlit keeps a fragment's arguments while the page is open: the view,
    which holds no attention of its own (``View``), not the projected vectors."""
    res, labels, palette = view.res_proj, view.labels, view.palette("diverging")
    matrices = {"q": res.q, "k": res.k, "v": res.v}
    shown = draw.pick_one(
        "Projected vectors", QKV_NAMES, key="qkv", on_change=state.rerun, args=(VECTORS,)
    )
    draw.chart(
        st,
        f"{shown.upper()}, projected",  # a new name: the export list follows (state.rerun)
        data.chart(
            charts.heatmap,
            matrices[shown],
            labels,
            palette=palette,
            x_title=f"dimension ({res.q.shape[1]})",
            value_title=shown,
        ),
        exports.shelf(VECTORS),
        width="stretch",
    )
    state.sync_url()


def comparison(view: View, exports: Exports) -> None:
    """The parameter-free W, the projections' W, and their difference, side by side.

    Drawn in the page from both kinds of raw scores (``weights_map``), so they follow W's
    settings as the map in step 4 moves, in the same frame; the export list makes them
    from the attention on screen when asked for.
    """
    st.subheader("The two W side by side", anchor=False)
    st.caption("Same tokens, same temperature and mask: only the way the scores are made differs.")
    present = view.present
    weights_map.show_following(
        weights_map.comparison_payload(
            view.res_free,
            view.res_proj,
            view.labels,
            view.settings,
            projected_name=view.proj_name,
            side=comparison_side(view.labels, present),
            present=present,
        ),
        key=COMPARISON_MAPS,
    )
    exports.drawn_in_page(KEY, partial(comparison_charts, present=present))


def comparison_side(labels: list[str], present: bool) -> int:
    """Pixels of each of the three maps: set three to a row, larger on a projector."""
    side = draw.token_square(labels)
    return round(side * draw.PRESENTATION_GROWTH) if present else side


def comparison_charts(view: View, present: bool = False) -> dict[str, Callable[[], dict]]:
    """The three maps as Vega-Lite charts (for the export files), each made when asked for.

    The colour ranges are the page's: 0-1 and ±1, or with the stretch on, 0 to the larger
    of the two W's largest weights and ± the largest difference.
    """
    free, projected = view.res_free.weights, view.res_proj.weights
    difference = projected - free  # (T, T)
    top, reach = 1.0, 1.0
    if view.settings["stretch"]:
        top = float(max(free.max(), projected.max()))
        reach = max(float(np.abs(difference).max()), 1e-12)
    panels = (
        (free, view.palette("weights"), "W, parameter-free", "w_ij", (0.0, top)),
        (projected, view.palette("weights"), f"W, {view.proj_name}", "w_ij", (0.0, top)),
        (difference, view.palette("diverging"), "difference", "Δw", (-reach, reach)),
    )
    side = draw.token_square(view.labels)
    made = {}
    for matrix, palette, title, value_title, domain in panels:
        spec = partial(
            charts.spec,
            charts.heatmap,
            matrix,
            view.labels,
            view.labels,
            palette=palette,
            domain=domain,
            title=title,
            value_title=value_title,
            height=side,
            legend="bottom",
        )
        made[title] = draw.when_asked(spec, present)
    return made
