"""Steps 5-7: the output and its focus, the geometry map, context awareness."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from pagetest import (
    SENT,
    assert_clean,
    chart_specs,
    decoded,
    maps_sent,
    move_map,
    output_map,
    output_shown,
    output_sum,
    points,
    weights_map,
)
from PIL import Image

import attn_core
from app.sections import geometry, output
from app.view import Reading, View
from attn_core import charts


def test_token_focus_writes_the_sum_with_real_numbers(app, hi):
    app.selectbox(key="focus").set_value(2).run()
    assert_clean(app)
    emb = hi
    res = attn_core.self_attention(emb.vectors)
    latex = output_sum(app)
    assert "y_{2}" in latex
    top = int(np.argmax(res.weights[2]))
    assert f"{res.weights[2, top]:.3f}\\,x_{{{top}}}" in latex
    first = ",\\ ".join(f"{a:.2f}" for a in res.output[2, :3])
    assert first in latex


def test_y_is_drawn_in_the_page_from_the_scores_and_the_vectors_w_mixes(app, hi):
    """The page sends Y's component the raw scores and X (float32, as the model gives it):
    from those alone, W and then Y = W X come out as the engine's, under any settings."""
    res = attn_core.self_attention(hi.vectors)
    sent = output_map(app)
    assert (sent["t"], sent["d"], sent["width"]) == (6, 384, 384)
    np.testing.assert_array_equal(decoded(sent, "scores", 6), res.scores.astype(np.float32))
    np.testing.assert_array_equal(decoded(sent, "values", 384), hi.vectors)  # to the bit
    assert sent["domain"] == list(charts.symmetric_domain(hi.vectors, 0.99))
    assert sent["mixed"] == "x" and sent["labels"] == weights_labels(app)
    np.testing.assert_allclose(output_shown(app), res.output, **SENT)
    moved = attn_core.self_attention(hi.vectors, temperature=0.3, causal=True, scale=True)
    shown = output_shown(app, temperature=0.3, causal=True, scale=True)
    np.testing.assert_allclose(shown, moved.output, **SENT)


def weights_labels(at) -> list[str]:
    return weights_map(at)["labels"]


def test_with_projections_y_mixes_v(app, hi):
    app.radio(key="mode").set_value("learnable").run()
    assert_clean(app)
    proj = attn_core.random_projections(384, 64, seed=0)
    res = attn_core.self_attention(hi.vectors, proj, scale=True)
    sent = output_map(app)
    assert sent["mixed"] == "v" and sent["d"] == res.v.shape[1]
    assert sent["settings"]["scale"] is True
    np.testing.assert_allclose(output_shown(app), res.output, **SENT)


def test_with_a_trained_head_y_mixes_its_values(app):
    app.radio(key="mode").set_value("real").run()
    assert_clean(app)
    head = attn_core.model_head("hi how are you", layer=0, head=0)
    res = attn_core.self_attention(head.hidden, head.projections, scale=True)
    sent = output_map(app)
    assert sent["mixed"] == "v" and (sent["t"], sent["d"]) == res.v.shape
    assert sent["width"] == res.q.shape[1]  # 1/√d divides by the head's width
    np.testing.assert_allclose(output_shown(app), res.output, **SENT)


def test_y_exports_what_the_page_draws_under_the_settings_now(app, hi):
    """A move of the map sends Y nothing (it follows in the page) and puts Y under the new
    settings in the export list: the image's colours and each row's length."""
    move_map(app, temperature=0.5)
    assert_clean(app)
    assert maps_sent(app) == []
    names = app.run().selectbox(key="export_chart").options
    assert {"Y, token by dimension", "Lengths of the rows of Y"} <= set(names)
    res = attn_core.self_attention(hi.vectors, temperature=0.5)
    settings = {**attn_core.defaults_for("free"), "mode": "free", "temperature": 0.5}
    view = View.of(Reading(settings, hi, hi.vectors, None, list(hi.tokens)), settings)
    made = {name: make() for name, make in output.output_charts(view).items()}
    url = made["Y, token by dimension"]["datasets"]["image"]["url"][0]
    png = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    domain = charts.symmetric_domain(hi.vectors, 0.99)
    np.testing.assert_array_equal(np.asarray(png), charts.colours(res.output, "diverging", domain))
    lengths = made["Lengths of the rows of Y"]["datasets"]
    (bars,) = lengths.values()
    np.testing.assert_allclose(bars["value"], np.linalg.norm(res.output, axis=1), rtol=1e-12)


def test_focus_survives_a_shorter_text(app):
    app.selectbox(key="focus").set_value(5).run()
    # the focus reran its part and the cell of step 4 (its query): nothing else
    assert [h.value for h in app.header] == []
    assert "w'_{5" in next(el.value for el in app.latex if "w'_{" in el.value)
    app.run()
    app.selectbox(key="col").set_value(4).run()
    app.text_area(key="text").set_value("hi").run()
    assert_clean(app)
    assert app.selectbox(key="focus").value == 0
    assert app.selectbox(key="col").value == 0


@pytest.mark.parametrize(
    ("ratio", "said"),
    [(0.39, "end up 39% as spread"), (0.002, "end up under 1% as spread"), (2.5, "2.5 times")],
)
def test_the_map_says_how_far_the_tokens_moved_together(ratio, said):
    assert said in geometry.reading_the_map(ratio, projected=False)


@pytest.mark.parametrize("method", ["pca", "tsne", "raw"])
def test_geometry_methods(app, method, hi):
    app.button_group(key="method").set_value(method).run()
    assert_clean(app)
    if method == "pca":  # the share of the variance each axis keeps, beside the map
        res = attn_core.self_attention(hi.vectors)
        plane = attn_core.to_plane(hi.vectors, res.output, method="pca")
        shares = f"PC 1 keeps {plane.explained[0]:.0%}", f"PC 2 {plane.explained[1]:.0%}"
        caption = next(c.value for c in app.caption if c.value.startswith("PC 1 keeps"))
        assert all(share in caption for share in shares)
    if method == "raw":
        app.number_input(key="feature_a").set_value(5).run()
        app.number_input(key="feature_b").set_value(200).run()
        assert_clean(app)
        emb = hi
        spec = next(s for s in chart_specs(app) if "x (before)" in json.dumps(s))
        titles = json.dumps(spec)
        assert "feature 5" in titles and "feature 200" in titles
        xs = sorted({round(r["x"], 9) for r in points(spec) if r.get("stage") == "x (before)"})
        assert xs == sorted({round(v, 9) for v in emb.vectors[:, 5]})


def test_context_awareness_same_before_different_after(app):
    app.text_area(key="text").set_value("I sat by the river bank").run()
    app.text_input(key="text2").set_value("the bank raised interest rates").run()
    app.selectbox(key="shared_word").set_value("bank").run()
    assert_clean(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Cosine similarity before attention"] == "1.000"
    a = attn_core.self_attention(attn_core.embed("I sat by the river bank").vectors)
    b = attn_core.self_attention(attn_core.embed("the bank raised interest rates").vectors)
    ya, yb = a.output[6], b.output[2]
    cos = ya @ yb / np.linalg.norm(ya) / np.linalg.norm(yb)
    assert metrics["Cosine similarity after attention"] == f"{cos:.3f}"
    assert cos < 0.999


def test_context_without_shared_words_says_so(app):
    app.text_area(key="text").set_value("alpha").run()
    app.text_input(key="text2").set_value("omega").run()
    assert_clean(app)
    # [CLS] and [SEP] are in both, but they are not words the texts share
    assert any("share no word" in i.value for i in app.info)
    assert "Context: the shared word" not in app.selectbox(key="export_chart").options
    move_map(app.run(), temperature=2.0)  # what follows W reruns, with nothing to compare
    assert_clean(app)
    assert app.query_params["temperature"] == "2"


def test_real_head_mode_in_the_context_section(app):
    app.radio(key="mode").set_value("real").run()
    assert_clean(app)
    a = attn_core.model_head("hi how are you", layer=0, head=0)
    b = attn_core.model_head("hey, how old are you?", layer=0, head=0)
    ya = attn_core.self_attention(a.hidden, a.projections).output[a.tokens.index("how")]
    yb = attn_core.self_attention(b.hidden, b.projections).output[b.tokens.index("how")]
    cosine = ya @ yb / np.linalg.norm(ya) / np.linalg.norm(yb)
    after = next(m for m in app.metric if m.label == "Cosine similarity after attention")
    assert after.value == f"{cosine:.3f}"


def test_y_shows_as_a_table_that_follows_w(app, hi):
    app.toggle(key="output_table").set_value(True).run()
    move_map(app, temperature=0.5)  # W moved in the browser: the table follows
    assert_clean(app)
    res = attn_core.self_attention(hi.vectors, temperature=0.5)
    (table,) = [df.value for df in app.dataframe]
    assert list(table.index) == charts.token_labels(hi.tokens)
    assert list(table.columns) == [str(k) for k in range(384)]
    np.testing.assert_array_equal(table.to_numpy(), np.round(res.output, 3))
