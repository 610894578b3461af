"""Links: a link restores a view, the address follows the controls, no link breaks the page."""

from __future__ import annotations

import numpy as np
from pagetest import SENT, assert_clean, move_map, open_link, weights_map, weights_table

import attn_core

A_LINK = {
    "text": "the cat and the dog",
    "text2": "the dog barked",
    "kind": "contextual",
    "special": "0",
    "merge": "1",
    "mode": "learnable",
    "scale": "0",
    "temperature": "2.5",
    "causal": "1",
    "stretch": "1",
    "focus": "2",
    "method": "raw",
    "feature_a": "3",
    "feature_b": "5",
    "seed": "7",
    "d_k": "8",
    "init": "kaiming_normal",
    "qkv": "v",
}


def test_a_link_restores_the_whole_view_and_round_trips():
    at = open_link(A_LINK)
    assert_clean(at)
    assert not at.warning
    assert at.text_area(key="text").value == "the cat and the dog"
    assert at.text_input(key="text2").value == "the dog barked"
    assert at.radio(key="mode").value == "learnable"
    assert weights_map(at)["settings"]["scale"] is False
    assert weights_map(at)["settings"]["temperature"] == 2.5
    assert at.selectbox(key="focus").value == 2
    assert at.button_group(key="qkv").value == "v"
    assert at.number_input(key="feature_b").value == 5
    # the numbers on the page are those of the view the link describes
    emb = attn_core.embed(
        "the cat and the dog", kind="contextual", special_tokens=False, merge_subwords=True
    )
    proj = attn_core.random_projections(384, 8, seed=7, init="kaiming_normal")
    res = attn_core.self_attention(emb.vectors, proj, scale=False, temperature=2.5, causal=True)
    np.testing.assert_allclose(weights_table(at)["entropy (bits)"], res.entropy, **SENT)
    # and the address bar says exactly what came in
    assert dict(at.query_params) == A_LINK


def test_a_default_view_has_a_bare_address(app):
    assert dict(app.query_params) == {}
    assert not app.warning  # no notices without a link
    move_map(app, temperature=0.5).run()
    move_map(app, temperature=1.0).run()  # back to the default: bare again
    assert_clean(app)
    assert dict(app.query_params) == {}


def test_a_hostile_link_is_fixed_with_visible_notices():
    at = open_link(
        {
            "temperature": "nan",
            "d_k": "-5",
            "seed": "99999999999999999999",
            "focus": "200",
            "feature_a": "9999",
            "method": "raw",
            "mode": "<script>alert(1)</script>",
            "text": "<img src=x onerror=alert(1)> " + "z" * 5000,
            "model": "some/hub-model",
            "[x](http://evil)": "1",
        }
    )
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    for key in ("temperature", "d_k", "seed", "feature_a", "mode", "text", "model"):
        assert f"“{key}”" in warnings, key
    assert "evil" not in warnings and "onerror" not in warnings and "zzz" not in warnings
    assert weights_map(at)["settings"]["temperature"] == 1.0  # ignored: default
    assert at.select_slider(key="d_k").value == 2  # clamped to the nearest allowed
    assert at.number_input(key="seed").value == attn_core.projections.MAX_SEED
    assert at.selectbox(key="focus").value == 0  # past the last token
    assert at.radio(key="mode").value == "free"
    assert len(at.text_area(key="text").value) == 2000
    assert "model" not in at.query_params  # unknown keys are dropped from the address


def test_repeated_keys_use_the_first():
    at = open_link({"seed": ["3", "9"], "mode": "learnable"})
    assert_clean(at)
    assert at.number_input(key="seed").value == 3
    assert any("appeared 2 times" in w.value for w in at.warning)


def test_the_address_follows_the_controls(app):
    move_map(app, temperature=2.0).run()
    assert app.query_params["temperature"] == "2"
    app.selectbox(key="focus").set_value(3).run()  # a control inside a fragment
    assert app.query_params["focus"] == "3"
    app.run()  # the focus reran its own part of the page only: the rest comes back
    app.radio(key="mode").set_value("learnable").run()
    assert app.query_params["mode"] == "learnable" and "scale" not in app.query_params
    move_map(app, temperature=1.0).run()
    assert "temperature" not in app.query_params


def test_share_button_shows_a_link_to_this_view(app):
    move_map(app, temperature=0.5).run()
    app.button(key="share").click().run()
    assert_clean(app)
    links = [c.value for c in app.get("code") if "temperature=0.5" in c.value]
    assert len(links) == 1
