"""Step 8: random and trained projections, and a trained head of the model."""

from __future__ import annotations

import base64
import io

import numpy as np
from pagetest import (
    SENT,
    assert_clean,
    chart_specs,
    colour_range,
    comparison_maps,
    comparison_shown,
    move_map,
    rows,
    value_title,
    weights_map,
    weights_table,
)
from PIL import Image

import attn_core
from app.sections import learnable
from app.view import Reading, View
from attn_core import charts


def test_learnable_mode_shows_q_k_v_and_switches_the_scores(app, hi):
    app.radio(key="mode").set_value("learnable").run()
    assert_clean(app)
    assert weights_map(app)["settings"]["scale"] is True  # projections default to 1/√d_k
    assert any("Q Kᵀ" in m.value for m in app.markdown)
    emb = hi
    proj = attn_core.random_projections(384, 64, seed=0)
    res = attn_core.self_attention(emb.vectors, proj)
    np.testing.assert_allclose(weights_table(app)["entropy (bits)"], res.entropy, **SENT)
    qkv = app.button_group(key="qkv")
    for name, matrix in (("k", res.k), ("v", res.v), ("q", res.q)):
        qkv.set_value(name).run()
        assert_clean(app)
        shown = next(s for s in chart_specs(app) if value_title(s) == name)
        got = np.array([r["value"] for r in rows(shown)]).reshape(matrix.shape)
        np.testing.assert_allclose(got, matrix, rtol=1e-12)
    # picking Q, K or V redrew that chart alone (and the export list), nothing else
    assert [h.value for h in app.header] == []
    assert app.selectbox(key="export_chart").options.count("Q, projected") == 1
    app.run()
    # the comparison gets both kinds of raw scores and draws both W
    sent = comparison_maps(app)
    assert [p["name"] for p in sent["panels"]] == ["W, parameter-free", "W, random projections"]
    assert [p["width"] for p in sent["panels"]] == [384, 64]  # what each 1/√d divides by
    free = attn_core.self_attention(emb.vectors, scale=True)
    for shown, want in zip(comparison_shown(app), (free, res), strict=True):
        np.testing.assert_allclose(shown, want.weights, **SENT)
    # back to parameter-free: scale goes back to that mode's default
    app.radio(key="mode").set_value("free").run()
    assert weights_map(app)["settings"]["scale"] is False


def test_projection_settings(app, hi):
    app.radio(key="mode").set_value("learnable").run()
    app.number_input(key="seed").set_value(7).run()
    app.select_slider(key="d_k").set_value(8).run()
    app.selectbox(key="init").set_value("kaiming_normal").run()
    assert_clean(app)
    emb = hi
    proj = attn_core.random_projections(384, 8, seed=7, init="kaiming_normal")
    res = attn_core.self_attention(emb.vectors, proj)
    np.testing.assert_allclose(weights_table(app)["entropy (bits)"], res.entropy, **SENT)
    app.button(key="reroll").click().run()
    assert_clean(app)
    assert app.number_input(key="seed").value != 7


def test_real_head_mode_shows_the_models_own_attention(app):
    app.selectbox(key="layer").set_value(2).run()
    app.selectbox(key="head").set_value(3).run()
    app.radio(key="mode").set_value("real").run()
    assert_clean(app)
    assert weights_map(app)["settings"]["scale"] is True  # the model scales by 1/√d_head
    head = attn_core.model_head("hi how are you", layer=2, head=3)
    table = weights_table(app)
    np.testing.assert_allclose(table["largest weight"], head.weights.max(axis=1), atol=1e-5)
    np.testing.assert_allclose(
        table["entropy (bits)"], attn_core.row_entropy(head.weights), atol=1e-4
    )
    # W' = Q Kᵀ of the head's own projections applied to the hidden states entering layer 2
    res = attn_core.self_attention(head.hidden, head.projections)
    scores = next(s for s in chart_specs(app) if value_title(s) == "w′_ij")
    got = np.array([r["value"] for r in rows(scores)]).reshape(6, 6)
    np.testing.assert_allclose(got, res.scores, rtol=1e-9)
    # X, 384 wide, is one image: one pixel per cell, coloured from the hidden states
    x_chart = next(s for s in chart_specs(app) if value_title(s) == "x")
    url = next(r["url"] for rows in x_chart["datasets"].values() for r in rows if "url" in r)
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    domain = charts.symmetric_domain(head.hidden, 0.99)
    np.testing.assert_array_equal(pixels, charts.colours(head.hidden, "diverging", domain))
    check = next(c.value for c in app.caption if "Largest difference" in c.value)
    assert float(check.rsplit(": ", 1)[1].rstrip(".")) < 1e-5
    assert comparison_maps(app)["panels"][1]["name"] == "W, layer 2, head 3"
    np.testing.assert_allclose(comparison_shown(app)[1], res.weights, **SENT)
    # the head sees every word piece: the token options are not offered
    assert not [t for t in app.toggle if t.key in ("special", "merge")]
    assert not app.get("button_group") or all(b.key != "kind" for b in app.button_group)
    # a control that changes the head says the model does not do that
    move_map(app, causal=True).run()
    assert any("changed by the controls" in c.value for c in app.caption)


def test_the_comparison_exports_what_the_page_draws(hi):
    """The export list's three comparison charts, made when asked for, hold the two W and
    their difference under the settings of the moment, in the page's colour ranges."""
    settings = {
        **attn_core.defaults_for("learnable"),
        "mode": "learnable",
        "temperature": 0.5,
        "stretch": True,
    }
    view = View.of(Reading(settings, hi, hi.vectors, None, list(hi.tokens)), settings)
    made = {name: make() for name, make in learnable.comparison_charts(view, False).items()}
    assert list(made) == ["W, parameter-free", "W, random projections", "difference"]
    free = attn_core.self_attention(hi.vectors, scale=True, temperature=0.5)
    proj = attn_core.random_projections(384, 64, seed=0)
    projected = attn_core.self_attention(hi.vectors, proj, scale=True, temperature=0.5)
    expected = [free.weights, projected.weights, projected.weights - free.weights]
    for spec, want in zip(made.values(), expected, strict=True):
        cells = charts.json_ready(spec)["datasets"]["cells"]
        np.testing.assert_allclose(
            np.array([r["value"] for r in cells]).reshape(6, 6), want, rtol=1e-12
        )
    top = max(free.weights.max(), projected.weights.max())
    reach = np.abs(expected[2]).max()
    assert colour_range(charts.json_ready(made["W, parameter-free"])) == [0.0, top]
    assert colour_range(charts.json_ready(made["difference"])) == [-reach, reach]
    large = learnable.comparison_charts(view, True)["difference"]()  # on a projector
    assert large["width"] == round(made["difference"]["width"] * 1.4)
