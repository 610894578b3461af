"""Step 8, continued: training the projections, and the export list that follows it."""

from __future__ import annotations

import numpy as np
import pytest
from pagetest import assert_clean, chart_specs, charts_on_screen, open_link, rows

import attn_core


@pytest.mark.parametrize("mode", ["free", "learnable", "real"])
def test_training_learns_and_replays_every_saved_step(app, mode, hi):
    app.radio(key="mode").set_value(mode).run()
    # the head on show is the natural target in real mode; elsewhere the previous token
    assert app.button_group(key="objective").value == ("imitate" if mode == "real" else "previous")
    app.button_group(key="objective").set_value("imitate").run()
    app.select_slider(key="train_steps").set_value(100).run()
    assert any("Press Train to learn to imitate layer 0, head 0" in i.value for i in app.info)
    app.button(key="train").click().run()
    assert_clean(app)
    emb = hi
    head = attn_core.model_head("hi how are you", layer=0, head=0)
    x = head.hidden if mode == "real" else emb.vectors
    target = attn_core.pool_attention(head.weights, emb.pieces)
    start = attn_core.random_projections(384, 64, seed=0)
    run = attn_core.train_projections(x, target, start, steps=100, learning_rate=0.003)
    curve = next(s for s in chart_specs(app) if s.get("title") == "Loss")
    shown = [r["loss"] for r in next(iter(curve["datasets"].values()))]
    np.testing.assert_allclose(shown, run.losses, rtol=1e-9)  # same seed, same losses
    assert run.losses[-1] < 0.5 * run.losses[0]
    at_step = app.select_slider(key="train_at")
    assert at_step.value == 100
    for step in (0, run.saved_steps[3]):
        at_step.set_value(step).run()
        assert_clean(app)
        now = next(s for s in chart_specs(app) if s.get("title") == f"W after step {step}")
        got = np.array([r["value"] for r in rows(now)]).reshape(6, 6)
        np.testing.assert_allclose(got, run.weights_at(step), rtol=1e-6, atol=1e-9)
    # another target: the run is for other inputs, so the page asks for a new one
    app.button_group(key="objective").set_value("previous").run()
    assert any("Press Train" in i.value for i in app.info)
    target = next(s for s in chart_specs(app) if s.get("title") == "Target")
    got = np.array([r["value"] for r in rows(target)]).reshape(6, 6)
    np.testing.assert_array_equal(got, attn_core.previous_token_target(6))
    # in the link only where it is not the mode's default
    assert app.query_params.get("objective") == ("previous" if mode == "real" else None)


def test_previous_token_on_repeated_static_words_explains_the_floor():
    at = open_link({"text": "the cat and the dog", "objective": "previous"})
    assert_clean(at)
    assert any("repeated token has one static vector" in c.value for c in at.caption)
    at.button_group(key="kind").set_value("contextual").run()
    assert not any("repeated token has one static vector" in c.value for c in at.caption)


def test_export_section_offers_every_chart_and_matrix(app):
    app.radio(key="mode").set_value("learnable").run()
    assert_clean(app)
    chart_names = app.selectbox(key="export_chart").options
    assert len(chart_names) == charts_on_screen(app)  # every chart on the page
    assert {"W, parameter-free", "W, random projections", "difference"} <= set(chart_names)
    assert "W, normalised" in chart_names and "Geometry" in chart_names
    assert app.selectbox(key="export_matrix").options == ["X", "W_prime", "W", "Y", "Q", "K", "V"]
    buttons = {b.proto.label for b in app.get("download_button")}
    assert buttons == {"PNG", "SVG", "CSV", "All (.npz)", "Snapshot (.json)"}
