"""Helpers for the page's AppTest tests: open the page, read what it shows."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pyarrow as pa
from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

TIMEOUT = 180
SCRIPT = "../dashboard.py"  # AppTest resolves it against this file
SECTION_TITLES = [
    "1 · Text and tokens",
    "2 · Embeddings X",
    "3 · Unnormalised W′",
    "4 · Normalised W",
    "5 · Output Y = W X",
    "6 · Geometry",
    "7 · Context awareness",
    "8 · Learnable projections",
    "9 · Every head at once",
    "10 · From the heads to the next layer",
]
"""The steps a presentation walks through, in order."""
SENT = {"rtol": 1e-4, "atol": 1e-9}
"""How near the maps' W, Y and entropies are to the engine's: the page sends them the scores
as float32 (seven significant digits; contextual scores reach tens, and a temperature
divides them), and they work in float64 from there."""


def new_app() -> AppTest:
    return AppTest.from_file(SCRIPT, default_timeout=TIMEOUT)


def open_link(params: dict[str, str | list[str]]) -> AppTest:
    at = new_app()
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def maps_sent(at: AppTest) -> list:
    """The components this run sent that draw a map (the clicker and the page's keyboard
    helper send no data)."""
    return [el for el in at.get("bidi_component") if el.proto.json]


def _component(at: AppTest, kind: str | None = None):
    """The component on the page whose data is of ``kind`` (the map has none)."""
    (found,) = [el for el in maps_sent(at) if json.loads(el.proto.json).get("kind") == kind]
    return found


def weights_map(at: AppTest) -> dict:
    """What the page sent the map of section 4 (``app.weights_map.payload``)."""
    return json.loads(_component(at).proto.json)


def charts_on_screen(at: AppTest) -> int:
    """How many charts the page shows: Vega-Lite charts, the map of W, Y and the lengths of
    its rows, and the comparison's three maps."""
    drawn = [json.loads(el.proto.json).get("kind") for el in maps_sent(at)]
    return len(at.get("vega_lite_chart")) + sum(
        {"output": 2, "comparison": 3}.get(k, 1) for k in drawn
    )


def output_map(at: AppTest) -> dict:
    """What the page sent section 5's Y (``app.weights_map.output_payload``)."""
    return json.loads(_component(at, "output").proto.json)


def output_shown(at: AppTest, **settings) -> np.ndarray:
    """The Y that section 5 draws from what the page sent it, under its settings or
    ``settings`` (the map's, as the page hands them on), worked out here on its own: W from
    the scores, times the vectors it mixes."""
    sent = output_map(at)
    return _softmax(sent, {**sent["settings"], **settings}) @ decoded(sent, "values", sent["d"])


def comparison_maps(at: AppTest) -> dict:
    """What the page sent section 8's comparison (``app.weights_map.comparison_payload``)."""
    return json.loads(_component(at, "comparison").proto.json)


def move_map(at: AppTest, **settings) -> AppTest:
    """Move the map's controls as the browser reports them once they settle: its
    ``settings`` state, all four values (those not given stay as the page sent them)."""
    map_ = _component(at)
    reported = {**weights_map(at)["settings"], **settings}
    return _send(at, WidgetState(id=map_.proto.id, json_value=json.dumps({"settings": reported})))


def click_map(at: AppTest, row: int, col: int) -> AppTest:
    """Click cell (row, col) of the map: its ``pick`` trigger, as the browser sends it."""
    map_ = _component(at)
    payload = [{"event": "pick", "value": {"row": row, "col": col}}]
    trigger = WidgetState(id=_make_trigger_id(map_.proto.id, "events"))
    trigger.json_trigger_value = json.dumps(payload)
    return _send(at, trigger)


def _send(at: AppTest, state: WidgetState) -> AppTest:
    """Run ``at`` with every widget as it is and ``state`` (AppTest has no handle for a
    component's state: this is the message the browser sends)."""
    states = at._tree.get_widget_states()
    states.widgets.append(state)
    return at._run(states)


def weights_shown(at: AppTest) -> np.ndarray:
    """The W that the map draws from what the page sent it, worked out here on its own:
    each row of the scores times 1/√width (when scaled) over τ, masked, through a softmax."""
    sent = weights_map(at)
    return _softmax(sent, sent["settings"])


def comparison_shown(at: AppTest, **settings) -> list[np.ndarray]:
    """The two W the comparison draws from what the page sent it, under its settings or
    ``settings`` (the map's, as the page hands them on), worked out here on its own."""
    sent = comparison_maps(at)
    return [_softmax(panel, {**sent["settings"], **settings}) for panel in sent["panels"]]


def decoded(sent: dict, key: str, columns: int) -> np.ndarray:
    """``sent[key]``, a map's matrix as the page sends it (base64 of little-endian float32,
    ``app.weights_map``), as a ``(t, columns)`` array, read as the page's ``decode`` reads it."""
    raw = np.frombuffer(base64.b64decode(sent[key]), dtype="<f4")
    return raw.reshape(sent["t"], columns)


def _softmax(sent: dict, settings: dict) -> np.ndarray:
    t = sent["t"]
    scores = decoded(sent, "scores", t).astype(np.float64)  # as the page works from them
    logits = scores / settings["temperature"]
    if settings["scale"]:
        logits /= np.sqrt(sent["width"])
    if settings["causal"]:
        logits[np.triu_indices(t, 1)] = -np.inf
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def weights_table(at: AppTest) -> pd.DataFrame:
    """Each query's largest weight and entropy, as the map shows them beside W (worked out
    here from what the page sent; the browser's own arithmetic is held to attn_core in
    tests/test_web.py, row sums included)."""
    w = weights_shown(at)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(w > 0, w * np.log2(w), 0.0).sum(axis=1)
    return pd.DataFrame(
        {
            "query": weights_map(at)["labels"],
            "largest weight": w.max(axis=1),
            "entropy (bits)": entropy,
        }
    )


def chart_specs(at: AppTest) -> list[dict]:
    """Each chart's Vega-Lite spec, with its data sets back under ``datasets`` as records."""
    specs = []
    for el in at.get("vega_lite_chart"):
        spec = json.loads(el.proto.spec)
        spec.setdefault("datasets", {})  # inline data, or moved by Streamlit into Arrow
        spec["datasets"].update(
            {
                ds.name: pa.ipc.open_stream(ds.data.data).read_all().to_pylist()
                for ds in el.proto.datasets
            }
        )
        specs.append(spec)
    return specs


def tokens_shown(at: AppTest) -> list[str]:
    """The token strip's pieces, without the marks that keep right-to-left pieces in order."""
    strip = at.get("code")[0].value.replace("\u2066", "").replace("\u2069", "")
    return strip.split("  ·  ")


def value_title(spec: dict) -> str | None:
    """The title of a heatmap's colour legend ("w_ij", "x"...): which matrix it shows."""
    for layer in spec.get("layer", []):
        colour = layer.get("encoding", {}).get("color", {})
        if colour.get("field") == "shade":
            return colour.get("title")
    return None


def colour_range(spec: dict) -> list[float]:
    """A heatmap's colour range: the two ends it sends as data (``charts.heatmap``)."""
    return [row["shade"] for row in spec["datasets"]["ends"]]


def rows(spec: dict) -> list[dict]:
    """A heatmap's cells, one record each."""
    return next(rows for rows in spec["datasets"].values() if rows and "value" in rows[0])


def points(spec: dict) -> list[dict]:
    """A geometry map's points, before and after."""
    return [r for rows in spec["datasets"].values() for r in rows if "stage" in r]


def output_sum(at) -> str:
    """The LaTeX of step 5's written-out sum y_i = Σ_j w_ij v_j."""
    return next(el.value for el in at.latex if "y_{" in el.value)
