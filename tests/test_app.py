"""The page package's helpers, imported and tested without running the page."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

import attn_core
from app import data, draw
from app.sections import output
from app.view import Exports, Reading, View
from attn_core import charts


def test_exports_keep_page_order_and_a_redrawn_section_replaces_its_own():
    exports = Exports()
    exports.shelf("x")["X"] = {"n": 1}
    above = exports
    exports = Exports.following(above)
    weights = exports.shelf("weights")
    weights["W"] = {"n": 2}
    training = exports.shelf("training")
    training["Target"] = {"n": 3}
    exports.shelf("export")
    assert exports.names() == ["X", "W", "Target"]
    # training redraws alone: what it drew before goes, what it draws now comes, in place
    again = exports.shelf("training")
    again["Loss"], again["Target"] = {"n": 4}, {"n": 5}
    assert exports.names() == ["X", "W", "Loss", "Target"]
    assert exports["Target"] == {"n": 5}
    assert above.names() == ["X"]  # the registry of the run above is its own


def test_a_chart_drawn_in_the_page_is_made_from_the_attention_on_screen_when_asked(hi):
    """W's settings move Y and the comparison in the page alone: their export charts are
    named when the page is drawn, and made from whatever attention is on screen when asked."""
    exports = Exports()
    settings = {**attn_core.defaults_for("free"), "mode": "free"}
    reading = Reading(settings, hi, hi.vectors, None, list(hi.tokens))
    exports.showing(reading.view(settings))
    exports.drawn_in_page("output", output.output_charts)
    assert exports.names() == ["Y, token by dimension", "Lengths of the rows of Y"]
    exports.showing(reading.view({**settings, "temperature": 0.2, "causal": True}))  # it moved
    (lengths,) = exports["Lengths of the rows of Y"]["datasets"].values()
    moved = attn_core.self_attention(hi.vectors, temperature=0.2, causal=True)
    np.testing.assert_allclose(lengths["value"], np.linalg.norm(moved.output, axis=1))


def test_digest_depends_on_contents_only(rng):
    a = rng.normal(size=(4, 3))
    assert data.digest(a, a) == data.digest(a.copy(), a.copy())  # shared objects or copies
    assert data.digest(a, 1) != data.digest(a, 2)
    assert data.digest(a) != data.digest(a.reshape(3, 4))  # same bytes, another shape
    assert data.digest(a) != data.digest(a.astype(np.float32))
    assert data.digest("ab", "c") != data.digest("a", "bc")


def test_a_view_computes_both_attentions_from_a_reading(hi):
    from app.view import Reading

    settings = {**attn_core.defaults_for("learnable"), "mode": "learnable", "temperature": 2.0}
    reading = Reading(settings, hi, hi.vectors, None, list(hi.tokens))
    view = View.of(reading, settings)
    proj = attn_core.random_projections(384, 64, seed=0)
    want = attn_core.self_attention(hi.vectors, proj, scale=True, temperature=2.0)
    np.testing.assert_allclose(view.res.weights, want.weights, rtol=1e-12)
    free = attn_core.self_attention(hi.vectors, scale=True, temperature=2.0)
    np.testing.assert_allclose(view.res_free.weights, free.weights, rtol=1e-12)
    assert view.proj_name == "random projections" and view.labels == list(hi.tokens)


def test_chart_data_reach_the_browser_as_the_records_a_file_holds(rng):
    labels = charts.token_labels(["[CLS]", "the", "cat", "the", "[SEP]"])
    plane = attn_core.to_plane(rng.normal(size=(5, 8)), rng.normal(size=(5, 8)), method="pca")
    for spec in (
        charts.spec(charts.heatmap, rng.random((5, 5)), labels, labels),
        charts.spec(charts.geometry, plane, labels),  # strings, bools
    ):
        for name, table in spec["datasets"].items():
            sent = pa.ipc.open_stream(draw.arrow(table)).read_all()
            assert sent.to_pylist() == charts.json_ready(spec)["datasets"][name]
            assert sent.num_rows == len(next(iter(table.values())))


def test_a_chart_is_named_aloud_by_its_title_subtitle_or_note(rng):
    labels = charts.token_labels([f"t{k}" for k in range(60)])
    thinned = charts.spec(charts.heatmap, rng.random((60, 60)), labels, labels, title="W")
    assert draw.spoken_title(thinned) == "W: Every 2nd token named"  # an image: no hover
    crowded = attn_core.to_plane(
        np.zeros((30, 4)) + np.arange(30)[:, None] * 1e-6, np.zeros((30, 4))
    )
    # the geometry map's note is data its title reads: not part of the chart's fixed name
    geometry = charts.spec(charts.geometry, crowded, labels[:30], size=300)
    assert geometry["datasets"]["note"]["text"][0] and draw.spoken_title(geometry) == ""
    assert draw.spoken_title({"title": "Loss"}) == "Loss"


def test_file_stems_and_projector_sizes():
    assert draw.file_stem("W′, unnormalised") == "w-unnormalised"
    assert draw.file_stem("‖ ‖") == "chart"
    small = {"width": 200, "height": 200, "config": {"axis": {"grid": False}}}
    large = draw.for_projector(small)
    assert (large["width"], large["height"]) == (280, 280)
    assert large["config"]["axis"] == {"grid": False, "labelFontSize": 16, "titleFontSize": 18}
    assert small["width"] == 200  # the original is left as it was
    assert draw.for_projector({"width": 460})["width"] == 460  # large enough already


def test_the_written_out_sum_holds_the_results_numbers(hi):
    res = attn_core.self_attention(hi.vectors, temperature=0.5)
    latex = output.sum_latex(res, 2)
    top = np.argsort(-res.weights[2])[:3]
    for j in top:
        assert f"{res.weights[2, j]:.3f}\\,x_{{{j}}}" in latex
    assert "(\\text{3 smaller terms})" in latex  # 6 tokens: 3 shown, 3 left
    assert ",\\ ".join(f"{v:.2f}" for v in res.output[2, :3]) in latex
