"""Steps 5-7: the output and its focus, the geometry map, context awareness."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pagetest import assert_clean, chart_specs, output_sum, points

import attn_core


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
