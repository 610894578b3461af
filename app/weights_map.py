"""W, normalised, recomputed in the browser: the temperature, the 1/√d scale, the causal mask
and the colour stretch change it within a frame, with no round trip to the server.

The page sends the raw scores w′ once (``payload``); the component (``weights_map.js``)
applies the settings, takes each row's softmax, and paints the cells, their printed values
and each row's sum, largest weight and entropy. When a control settles it reports all four
settings as its ``settings`` state, and the page's callback reruns only what depends on W.
A click on a cell is reported as a ``pick`` trigger.

A Streamlit component (``st.components.v2``) rather than a Vega-Lite parameter bound to an
input: Vega-Lite would recompute the softmax in its transforms, but draws each of a 256-token
text's 65 536 cells as a mark, where a canvas paints them as one image in about a
millisecond, at every size, with hover and click at every size too.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import streamlit as st

import attn_core
from app import links
from attn_core.charts import base as chart_base
from attn_core.charts.heatmap import axis_labels, thinned_note

HERE = Path(__file__).parent
COMPONENT = st.components.v2.component(
    "attention.weights_map",
    js=(HERE / "weights_map.js").read_text(encoding="utf-8"),
    css=(HERE / "weights_map.css").read_text(encoding="utf-8"),
)
SETTINGS = ("temperature", "scale", "causal", "stretch")
"""What the browser recomputes W for."""
SIDE = (140, 520)
"""Pixels of the map's side: about 40 a token, within these."""
PROJECTOR_FONT = 16
"""On a projector no label, value or title is smaller than this."""


def payload(
    res: attn_core.AttentionResult,
    labels: list[str],
    settings: Mapping[str, object],
    *,
    side: int | None = None,
    present: bool = False,
) -> dict:
    """What the component needs to draw W for ``res`` and recompute it in the browser.

    ``scores`` are the raw scores w′ as little-endian float64, base64, so that the map's
    numbers are the engine's to the last digit: a 256-token text sends 700 kB once, and
    every control after that moves W without the server.
    ``width`` is what 1/√d divides by (the width of the queries).
    """
    t = len(labels)
    if res.scores.shape != (t, t):
        raise ValueError(f"scores {res.scores.shape} do not match {t} labels")
    if side is None:
        side = int(np.clip(40 * t, *SIDE))
    cell = side / t
    x, y = axis_labels(labels, cell), axis_labels(labels, cell, across=False)
    low = PROJECTOR_FONT if present else 0
    scores = np.ascontiguousarray(res.scores, dtype="<f8").tobytes()
    return {
        "t": t,
        "width": int((res.x if res.q is None else res.q).shape[1]),
        "scores": base64.b64encode(scores).decode("ascii"),
        "labels": list(labels),
        "settings": {
            "temperature": float(settings["temperature"]),
            **{key: bool(settings[key]) for key in ("scale", "causal", "stretch")},
        },
        "range": dict(zip(("min", "max", "step"), links.TEMPERATURE, strict=True)),
        "cell": cell,
        "x": {"font": max(x.font, low), "angle": x.angle, "every": max(x.every, y.every)},
        "y": {"font": max(y.font, low), "every": max(x.every, y.every)},
        "note": thinned_note(max(x.every, y.every)),
        "labelLimit": 110 if not present else 160,
        "printValues": t * t <= chart_base.VALUE_CELLS,
        "valueFont": max(int(np.clip(round(cell * 0.38), 8, 18)), low),
        "statsFont": max(int(np.clip(round(cell * 0.5), 11, 14)), low),
        "statsText": cell >= 11,
        "titleFont": max(12, low),
        "xTitle": "key j (attended to)",
        "yTitle": "query i (attending)",
        "valueTitle": "w_ij",
        "stops": list(chart_base.SEQUENTIAL),
        "inks": list(chart_base.INKS),
        "labelInk": chart_base.LABEL_INK,
    }


def settings_from(state: Mapping[str, object] | None) -> dict[str, object]:
    """The settings the component reported, checked: a temperature snapped to the slider's
    step within its range, flags as booleans. Nothing else it may send is read."""
    reported = (state or {}).get("settings") or {}
    out: dict[str, object] = {}
    tau = reported.get("temperature")
    if isinstance(tau, int | float) and not isinstance(tau, bool) and np.isfinite(tau):
        out["temperature"] = links.snap_temperature(float(tau))
    for key in ("scale", "causal", "stretch"):
        if key in reported:
            out[key] = bool(reported[key])
    return out


def show(
    data: dict, *, key: str, on_settings: Callable[[], None], on_pick: Callable[[], None]
) -> None:
    """Mount the component with ``data`` (from ``payload``)."""
    COMPONENT(
        key=key,
        data=data,
        width="stretch",
        on_settings_change=on_settings,
        on_pick_change=on_pick,
    )
