"""W, normalised, recomputed in the browser: the temperature, the 1/√d scale, the causal mask
and the colour stretch change it within a frame, with no round trip to the server. Step 4's
map has those controls; step 5's output Y = W V and step 8's comparison (both W and their
difference) follow them in the page.

The page sends the raw scores w′ once (``payload``); the component (``web/weights_map.mjs``)
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

import numpy as np

import attn_core
from app import components, links
from attn_core.charts import base as chart_base
from attn_core.charts.heatmap import axis_labels, thinned_note

SETTINGS = ("temperature", "scale", "causal", "stretch")
"""What the browser recomputes W for."""
SIDE = (140, 520)
"""Pixels of the map's side: about 40 a token, within these."""
PROJECTOR_FONT = 16
"""On a projector no label, value or title is smaller than this."""
ROW, HEIGHT = 28, (140, 640)
"""Y's rows: about 28 pixels each, the whole between these (as ``charts.heatmap`` sizes it)."""


def payload(
    res: attn_core.AttentionResult,
    labels: list[str],
    settings: Mapping[str, object],
    *,
    side: int | None = None,
    present: bool = False,
    fixed: Mapping[str, str] | None = None,
) -> dict:
    """What the component needs to draw W for ``res`` and recompute it in the browser.

    ``fixed``: switches the page holds still (``"causal"``), each with the line why, shown
    beside the switch; the map keeps them as the settings say.

    ``scores`` are the raw scores w′ as little-endian float32, base64: a text sends them
    once, and every control after that moves W without the server.
    ``width`` is what 1/√d divides by (the width of the queries).
    """
    t = len(labels)
    if side is None:
        side = int(np.clip(40 * t, *SIDE))
    shared = _cells_and_labels(labels, side, present)
    cell, low = shared["cell"], PROJECTOR_FONT if present else 0
    return {
        **shared,
        **_scores(res, t),
        "range": dict(zip(("min", "max", "step"), links.TEMPERATURE, strict=True)),
        "settings": _settings(settings),
        "statsFont": max(int(np.clip(round(cell * 0.5), 11, 14)), low),
        "statsText": cell >= 11,
        "xTitle": "key j (attended to)",
        "yTitle": "query i (attending)",
        "valueTitle": "w_ij",
        "stops": stops("weights", settings),
        "fixed": dict(fixed or {}),
    }


def comparison_payload(
    free: attn_core.AttentionResult,
    projected: attn_core.AttentionResult,
    labels: list[str],
    settings: Mapping[str, object],
    *,
    projected_name: str,
    side: int,
    present: bool = False,
) -> dict:
    """What step 8's comparison needs: both kinds of raw scores, to follow the map's settings
    in the page (``kind`` "comparison"), each panel ``side`` pixels square."""
    t = len(labels)
    return {
        "kind": "comparison",
        **_cells_and_labels(labels, side, present),
        "panels": [
            {**_scores(free, t), "name": "W, parameter-free", "valueTitle": "w_ij"},
            {**_scores(projected, t), "name": f"W, {projected_name}", "valueTitle": "w_ij"},
        ],
        "difference": {"name": "difference", "valueTitle": "Δw"},
        "settings": _settings(settings),
        "legendFont": max(11, PROJECTOR_FONT if present else 0),
        "stops": {kind: stops(kind, settings) for kind in ("weights", "diverging")},
    }


def output_payload(
    res: attn_core.AttentionResult,
    labels: list[str],
    settings: Mapping[str, object],
    *,
    present: bool = False,
) -> dict:
    """What step 5 needs to draw Y = W V in the page (``kind`` "output") and follow the map's
    settings there: the raw scores, and the vectors that W mixes (V, or X without
    projections) as little-endian float32, base64, with the colour range of those vectors.

    Y keeps the colour range of what was mixed: a weighted mean visibly shrinks values.
    """
    t = len(labels)
    values = np.asarray(res.values)
    if values.shape[0] != t:
        raise ValueError(f"values {values.shape} do not match {t} labels")
    height = int(np.clip(ROW * t, *HEIGHT))
    rows = axis_labels(labels, height / t, across=False)
    low = PROJECTOR_FONT if present else 0
    mixed = "v" if res.projected else "x"
    return {
        "kind": "output",
        **_scores(res, t),
        "labels": list(labels),
        "d": int(values.shape[1]),
        "values": base64.b64encode(np.ascontiguousarray(values, dtype="<f4").tobytes()).decode(
            "ascii"
        ),
        "domain": list(chart_base.symmetric_domain(values, 0.99)),
        "height": height,
        "y": {"font": max(rows.font, low), "every": rows.every},
        "note": thinned_note(rows.every),
        "labelLimit": 110 if not present else 160,
        "font": max(11, low),
        "titleFont": max(12, low),
        "xTitle": f"dimension ({values.shape[1]})",
        "valueTitle": "y",
        "normTitle": "‖yᵢ‖",
        "mixed": mixed,
        "settings": _settings(settings),
        "stops": stops("diverging", settings),
        "labelInk": chart_base.LABEL_INK,
    }


def stops(kind: str, settings: Mapping[str, object]) -> list[str]:
    """The colour stops of ``kind`` ("weights" or "diverging") in the colours ``settings``
    chose (the standard palettes, or their colour-blind-safe counterparts)."""
    safe = settings.get("palette") == "safe"
    return list(chart_base.stops_of(chart_base.palette_for(kind, safe)))


def _scores(res: attn_core.AttentionResult, t: int) -> dict:
    """The raw scores w′ as little-endian float32, base64, and the width that 1/√d divides
    by: that of the queries.

    Float32 keeps seven significant digits, more than any label, tooltip or colour shows,
    in half the bytes of float64: at 256 tokens the three maps that take scores (W, Y and
    the comparison's two panels) send 1.4 MB less for each new text, on every viewer's
    network and through the server's socket."""
    if res.scores.shape != (t, t):
        raise ValueError(f"scores {res.scores.shape} do not match {t} labels")
    scores = np.ascontiguousarray(res.scores, dtype="<f4").tobytes()
    return {
        "t": t,
        "width": int((res.x if res.q is None else res.q).shape[1]),
        "scores": base64.b64encode(scores).decode("ascii"),
    }


def _settings(settings: Mapping[str, object]) -> dict:
    return {
        "temperature": float(settings["temperature"]),
        **{key: bool(settings[key]) for key in ("scale", "causal", "stretch")},
    }


def _cells_and_labels(labels: list[str], side: int, present: bool) -> dict:
    """Cell size, token labels on both axes (sized as ``charts.heatmap`` sizes them) and the
    fonts of a t x t map ``side`` pixels square; on a projector nothing under 16 px."""
    t = len(labels)
    cell = side / t
    x, y = axis_labels(labels, cell), axis_labels(labels, cell, across=False)
    low = PROJECTOR_FONT if present else 0
    every = max(x.every, y.every)
    return {
        "t": t,
        "labels": list(labels),
        "cell": cell,
        "x": {"font": max(x.font, low), "angle": x.angle, "every": every},
        "y": {"font": max(y.font, low), "every": every},
        "note": thinned_note(every),
        "labelLimit": 110 if not present else 160,
        "printValues": t * t <= chart_base.VALUE_CELLS,
        "valueFont": max(int(np.clip(round(cell * 0.38), 8, 18)), low),
        "titleFont": max(12, low),
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
    components.WEIGHTS_MAP(
        key=key,
        data=data,
        width="stretch",
        on_settings_change=on_settings,
        on_pick_change=on_pick,
    )


def show_following(data: dict, *, key: str) -> None:
    """Mount step 5's Y (``output_payload``) or step 8's comparison (``comparison_payload``),
    as ``data["kind"]`` says: they report nothing, they follow the map."""
    component = {"output": components.OUTPUT, "comparison": components.COMPARISON}[data["kind"]]
    component(key=key, data=data, width="stretch")
