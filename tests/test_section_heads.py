"""Step 9: every head at once, the heads that follow a pattern, attention through the
layers; and step 4's arithmetic of one cell."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from pagetest import _send, assert_clean, chart_specs, maps_sent, open_link
from PIL import Image
from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.proto.WidgetStates_pb2 import WidgetState

import attn_core
from attn_core import charts
from attn_core.charts.grid import shrink

HEADS_LINK = {"heads": "1", "text": "the cat sat on the mat"}


def by_title(at, title: str) -> dict:
    return next(s for s in chart_specs(at) if s.get("title") == title)


def grid_sent(at) -> list[dict]:
    """What the page sent the grid of every head (``app.heads_grid.payload``), if drawn."""
    sent = [json.loads(el.proto.json) for el in maps_sent(at)]
    return [d for d in sent if d.get("kind") == "heads"]


def pick_head(at, pick) -> None:
    """A click, or Enter, on a head of the grid: its ``pick`` trigger, as the browser sends it."""
    (grid,) = [el for el in maps_sent(at) if json.loads(el.proto.json).get("kind") == "heads"]
    trigger = WidgetState(id=_make_trigger_id(grid.proto.id, "events"))
    trigger.json_trigger_value = json.dumps([{"event": "pick", "value": pick}])
    _send(at, trigger)


def tiles(sent: dict) -> np.ndarray:
    """The grid's picture of every head, ``(L, H, s, s, 3)``, cut from the image it was sent."""
    png = base64.b64decode(sent["atlas"].split(",", 1)[1])
    pixels = np.asarray(Image.open(io.BytesIO(png)))  # (L s, H s, 3)
    s, layers, heads = sent["side"], sent["layers"], sent["heads"]
    return pixels.reshape(layers, s, heads, s, 3).transpose(0, 2, 1, 3, 4)


def test_the_step_waits_for_a_click_before_loading_the_network(app):
    assert "9 · Every head at once" in [h.value for h in app.header]
    assert app.toggle(key="heads").value is False
    assert grid_sent(app) == []  # no grid


def test_every_head_is_drawn_from_the_models_own_attention():
    at = open_link(HEADS_LINK)
    assert_clean(at)
    heads = attn_core.all_heads("the cat sat on the mat")
    (sent,) = grid_sent(at)
    assert (sent["layers"], sent["heads"]) == heads.weights.shape[:2] == (6, 12)
    pictures = tiles(sent)
    for layer, head in ((0, 0), (3, 5), (5, 11)):
        w = heads.weights[layer, head]
        want = charts.colours(shrink(w), "weights", (0, w.max()))
        np.testing.assert_array_equal(pictures[layer, head], want)
    assert sent["shown"] == [0, 0]  # the head in the sidebar is outlined
    # each head's sentence: its strongest weight and its rows' mean entropy in bits
    labels = charts.token_labels(heads.tokens)
    w = heads.weights[3, 5].astype(np.float64)
    i, j = np.unravel_index(np.argmax(w), w.shape)
    entropy = np.mean([-sum(p * np.log2(p) for p in row if p > 0) for row in w])
    to = "itself" if i == j else f"‘{labels[j]}’"
    assert sent["says"][3 * 12 + 5] == (
        f"layer 3, head 5: the strongest weight is ‘{labels[i]}’ to {to}, {w[i, j]:.2f}; "
        f"mean entropy {entropy:.2f} bits"
    )
    assert len(sent["says"]) == 72 and sent["summary"].startswith("Every head, 6 layers × 12")


def test_a_head_picked_on_the_grid_shows_in_every_step():
    at = open_link(HEADS_LINK)
    pick_head(at, {"layer": 3, "head": 5})  # a click, or Enter on the keyboard's cursor
    assert_clean(at)
    assert (at.session_state["mode"], at.session_state["layer"], at.session_state["head"]) == (
        "real",
        3,
        5,
    )
    assert at.query_params["layer"] == "3" and at.query_params["head"] == "5"
    (sent,) = grid_sent(at)
    assert sent["shown"] == [3, 5]
    assert "Layer 3, head 5: W recomputed" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize(
    "pick", [{"layer": 6, "head": 0}, {"layer": 0, "head": -1}, {"layer": "3", "head": 5}, {}]
)
def test_a_pick_outside_the_grid_changes_nothing(pick):
    at = open_link(HEADS_LINK)
    pick_head(at, pick)
    assert_clean(at)
    assert at.session_state["mode"] == "free" and grid_sent(at)[0]["shown"] == [0, 0]


def test_on_a_projector_the_grid_is_larger():
    at = open_link({**HEADS_LINK, "present": "1", "step": "9"})
    (sent,) = grid_sent(at)
    assert sent["size"] > grid_sent(open_link(HEADS_LINK))[0]["size"]
    assert min(sent["font"], sent["titleFont"]) >= 16


@pytest.mark.parametrize("pattern", attn_core.PATTERNS)
def test_the_ranking_puts_the_best_head_for_a_pattern_first(pattern):
    at = open_link({**HEADS_LINK, "pattern": pattern})
    assert_clean(at)
    scores = attn_core.head_scores(attn_core.all_heads("the cat sat on the mat"))[pattern]
    table = next(df.value for df in at.dataframe if "score" in df.value.columns)
    best = np.unravel_index(np.argmax(scores), scores.shape)
    assert (table["layer"].iloc[0], table["head"].iloc[0]) == best
    np.testing.assert_allclose(table["score"], np.sort(scores.ravel())[::-1][:8])


def test_head_average_and_rollout_up_to_a_layer():
    at = open_link({**HEADS_LINK, "up_to": "3", "residual": "0.25"})
    assert_clean(at)
    means = attn_core.all_heads("the cat sat on the mat").layer_means()
    average = by_title(at, "Layer 2: the mean of its 12 heads")
    rolled = by_title(at, "Rollout through layers 0-2, r = 0.25")
    t = means.shape[1]
    for spec, want in ((average, means[2]), (rolled, attn_core.rollout(means[:3], 0.25))):
        cells = next(rows for rows in spec["datasets"].values() if rows and "value" in rows[0])
        np.testing.assert_allclose(np.array([c["value"] for c in cells]).reshape(t, t), want)
    assert at.select_slider(key="residual").value == 0.25
    at.select_slider(key="up_to").set_value(6).run()
    assert_clean(at)
    assert "up_to" not in at.query_params and at.query_params["residual"] == "0.25"


def test_in_the_trained_head_mode_every_head_shows_without_asking():
    at = open_link({"mode": "real", "layer": "2", "head": "5"})
    assert_clean(at)
    assert grid_sent(at)[0]["shown"] == [2, 5]
    names = at.selectbox(key="export_chart").options
    assert {"Every head", "Head average", "Rollout"} <= set(names)


def test_a_presentation_has_a_step_for_every_head():
    at = open_link({**HEADS_LINK, "present": "1", "step": "9"})
    assert_clean(at)
    assert [h.value for h in at.header] == ["9 · Every head at once"]
    assert not at.button(key="next_step").proto.disabled  # on to the next layer


@pytest.mark.parametrize("mode", ["free", "learnable", "real"])
def test_one_cells_arithmetic_is_its_weight(mode):
    text = "the river bank"
    at = open_link({"text": text, "mode": mode, "focus": "2", "col": "3", "temperature": "0.5"})
    assert_clean(at)
    settings = {**attn_core.defaults_for(mode), "mode": mode, "temperature": 0.5}
    head = None
    x = attn_core.embed(text).vectors
    if mode == "real":
        trained = attn_core.model_head(text, layer=0, head=0)
        x, head = trained.hidden, trained.projections
    c = attn_core.cell_for(x, 2, 3, settings, head=head)
    res = attn_core.attention_for(x, settings, head=head)
    assert c.weight == res.weights[2, 3]
    latex = next(el.value for el in at.latex if "w'_{23}" in el.value)
    assert f"= {c.score:.4f}" in latex and f"= {c.logit:.4f}" in latex
    assert f"= {c.weight:.4f}" in latex
    a, b = ("x", "x") if mode == "free" else ("q", "k")
    bars = by_title(at, f"{a}_2 · {b}_3: the largest of its {c.products.size} terms")
    shown = [r["value"] for r in next(iter(bars["datasets"].values()))]
    assert sum(shown) == pytest.approx(c.score, rel=1e-9)  # ten terms and the rest
    assert shown[0] == pytest.approx(c.products[np.argmax(np.abs(c.products))])


def test_a_masked_cell_says_so():
    at = open_link({"text": "the river bank", "causal": "1", "focus": "1", "col": "3"})
    assert_clean(at)
    latex = next(el.value for el in at.latex if "w'_{13}" in el.value)
    assert r"-\infty" in latex and "= 0.0000" in latex
