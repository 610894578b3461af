"""Steps 3-4: W′ and W on the page hold the engine's numbers; the softmax controls."""

from __future__ import annotations

import numpy as np
import pytest
from pagetest import assert_clean, chart_specs, colour_range, rows, value_title, weights_table

import attn_core


def test_numbers_on_the_page_match_the_engine(app, hi):
    emb = hi
    res = attn_core.self_attention(emb.vectors)
    table = weights_table(app)
    np.testing.assert_allclose(table["row sum"], 1.0)
    np.testing.assert_allclose(table["entropy (bits)"], res.entropy)
    np.testing.assert_allclose(table["largest weight"], res.weights.max(axis=1))
    spread = attn_core.spread_ratio(res.x, res.output)
    assert app.metric[0].value == f"{spread:.2f}"


def test_heatmaps_hold_the_real_matrices(app, hi):
    emb = hi
    res = attn_core.self_attention(emb.vectors)
    specs = chart_specs(app)
    scores = [s for s in specs if value_title(s) == "w′_ij"]
    assert len(scores) == 1
    cells = rows(scores[0])
    assert len(cells) == 36
    got = np.array([r["value"] for r in cells]).reshape(6, 6)
    np.testing.assert_allclose(got, res.scores, rtol=1e-12)


def test_stretch_colours_keeps_the_weights_and_changes_the_colour_range(app, hi):
    def weight_domain() -> list[float]:
        spec = next(s for s in chart_specs(app) if value_title(s) == "w_ij")
        return colour_range(spec)

    assert weight_domain() == [0.0, 1.0]
    app.toggle(key="stretch").set_value(True).run()
    assert_clean(app)
    res = attn_core.self_attention(hi.vectors)
    assert weight_domain() == pytest.approx([0.0, res.weights.max()])
    np.testing.assert_allclose(weights_table(app)["row sum"], 1.0)


def test_temperature_scale_and_causal_controls(app, hi):
    app.slider(key="temperature").set_value(5.0).run()
    hot = weights_table(app)["entropy (bits)"].to_numpy()
    emb = hi
    np.testing.assert_allclose(hot, attn_core.self_attention(emb.vectors, temperature=5.0).entropy)
    app.toggle(key="scale").set_value(True).run()
    scaled = attn_core.self_attention(emb.vectors, scale=True, temperature=5.0).entropy
    np.testing.assert_allclose(weights_table(app)["entropy (bits)"], scaled)
    app.toggle(key="causal").set_value(True).run()
    assert_clean(app)
    table = weights_table(app)
    assert table["largest weight"].iloc[0] == 1.0  # the first token sees only itself
    assert table["entropy (bits)"].iloc[0] == 0.0
    np.testing.assert_allclose(table["row sum"], 1.0)
