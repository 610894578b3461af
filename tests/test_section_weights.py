"""Steps 3-4: W′ and W on the page hold the engine's numbers; the softmax controls."""

from __future__ import annotations

import numpy as np
from pagetest import (
    SENT,
    assert_clean,
    chart_specs,
    click_map,
    comparison_maps,
    decoded,
    maps_sent,
    move_map,
    open_link,
    rows,
    value_title,
    weights_map,
    weights_table,
)

import attn_core
from app import weights_map as weights_map_module
from attn_core import charts


def test_numbers_on_the_page_match_the_engine(app, hi):
    emb = hi
    res = attn_core.self_attention(emb.vectors)
    table = weights_table(app)
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


def test_the_map_gets_the_raw_scores_and_the_settings(app, hi):
    res = attn_core.self_attention(hi.vectors)
    sent = weights_map(app)
    assert sent["labels"] == ["[CLS]", "hi", "how", "are", "you", "[SEP]"]
    scores = decoded(sent, "scores", 6)
    np.testing.assert_array_equal(scores, res.scores.astype(np.float32))  # rounded once
    assert sent["width"] == 384  # 1/√d divides by the width of the queries
    assert sent["settings"] == {
        "temperature": 1.0,
        "scale": False,
        "causal": False,
        "stretch": False,
    }
    assert sent["printValues"] and sent["statsText"]  # few cells: numbers printed


def test_moving_the_map_reruns_only_what_follows_from_w(app, hi):
    """W itself moved in the browser: the server redraws what depends on W (steps 4-8),
    not the map, W′, X, Q/K/V, training or the export buttons, and writes the link."""
    move_map(app, temperature=0.5)
    assert_clean(app)
    # neither the map nor step 8's comparison is sent again: both follow in the page
    assert maps_sent(app) == []
    redrawn = [el.value for el in app.latex]
    res = attn_core.self_attention(hi.vectors, temperature=0.5)
    assert any(f"{res.weights[0, 0]:.4f}" in latex for latex in redrawn)  # one weight, w_00
    assert [h.value for h in app.header] == []  # no step redrawn whole
    # nor what W does not change: the select boxes, the second sentence, the words around
    assert not app.selectbox and not app.text_input and not app.subheader
    assert [c.value[:10] for c in app.caption] == ["PC 1 keeps"]  # the map's share: it moved
    assert not app.get("download_button")  # the export buttons stay as they are
    assert all(value_title(s) not in ("w′_ij", "x") for s in chart_specs(app))
    assert app.query_params["temperature"] == "0.5"
    app.run()
    assert weights_map(app)["settings"]["temperature"] == 0.5
    np.testing.assert_allclose(weights_table(app)["entropy (bits)"], res.entropy, **SENT)


def structures(at) -> dict[bytes, bytes]:
    """Each chart without its data (its spec, name and options: what the browser builds a
    chart from, and builds anew when any of it changes) -> its data."""
    found = {}
    for el in at.get("vega_lite_chart"):
        shape = type(el.proto)()
        shape.CopyFrom(el.proto)
        del shape.datasets[:]
        found[shape.SerializeToString(deterministic=True)] = b"".join(
            d.data.data for d in el.proto.datasets
        )
    return found


def test_a_temperature_move_changes_the_charts_numbers_not_their_structure(app):
    """The browser updates a chart in place when only its data sets change, and builds it
    anew when anything else in its spec does: W's settings change numbers only."""
    before = structures(app)
    move_map(app, temperature=0.35)
    assert_clean(app)
    after = structures(app)
    assert len(after) == 3  # the focus, the geometry and context (Y is drawn in the page)
    assert set(after) <= set(before)  # every redrawn chart keeps its structure
    assert all(after[spec] != before[spec] for spec in after)  # and takes new numbers


def test_a_name_left_out_of_the_geometry_map_is_data_not_a_new_chart(app):
    """With 1/√d on, one of this text's 16 names finds no place on the geometry map, which
    says so in its title: from data, so that chart too is updated, not built anew."""
    app.text_area(key="text").set_value("the cat sat on a mat and we saw it run to the old")
    before = structures(app.run())

    def notes() -> list[str]:
        maps = [s for s in chart_specs(app) if "note" in s["datasets"]]
        return [s["datasets"]["note"][0]["text"] for s in maps]

    assert notes()[0] == ""
    move_map(app, scale=True)
    assert_clean(app)
    assert notes()[0].startswith("1 of 16 names left out")
    assert set(structures(app)) <= set(before)


def test_stretch_reaches_the_comparison_and_keeps_the_weights(app):
    move_map(app, stretch=True)
    assert_clean(app)
    app.run()
    assert weights_map(app)["settings"]["stretch"] is True
    assert comparison_maps(app)["settings"]["stretch"] is True  # what the page starts from


def test_a_click_on_the_map_focuses_its_row_and_shows_that_weight(app, hi):
    click_map(app, 2, 3)
    assert_clean(app)
    assert (app.session_state["focus"], app.session_state["col"]) == (2, 3)
    res = attn_core.self_attention(hi.vectors)
    assert any(f"{res.weights[2, 3]:.4f}" in latex.value for latex in app.latex)
    click_map(app.run(), 99, 0)  # not a cell (a stale click after a shorter text): ignored
    assert_clean(app)
    assert (app.session_state["focus"], app.session_state["col"]) == (2, 3)


def test_the_settings_the_map_reports_are_checked():
    read = weights_map_module.settings_from
    assert read({"settings": {"temperature": 0.333, "scale": 1}}) == {
        "temperature": 0.35,
        "scale": True,
    }
    assert read({"settings": {"temperature": 99}}) == {"temperature": 5.0}
    for bad in (float("nan"), "hot", True, None):
        assert read({"settings": {"temperature": bad}}) == {}
    assert read(None) == {} and read({"pick": {"row": 1}}) == {}
    assert read({"settings": {"text": "other", "mode": "real"}}) == {}  # only W's own four


def test_temperature_scale_and_causal_controls(app, hi):
    move_map(app, temperature=5.0).run()
    hot = weights_table(app)["entropy (bits)"].to_numpy()
    emb = hi
    np.testing.assert_allclose(
        hot, attn_core.self_attention(emb.vectors, temperature=5.0).entropy, **SENT
    )
    move_map(app, scale=True).run()
    scaled = attn_core.self_attention(emb.vectors, scale=True, temperature=5.0).entropy
    np.testing.assert_allclose(weights_table(app)["entropy (bits)"], scaled, **SENT)
    move_map(app, causal=True).run()
    assert_clean(app)
    table = weights_table(app)
    assert table["largest weight"].iloc[0] == 1.0  # the first token sees only itself
    assert table["entropy (bits)"].iloc[0] == 0.0


def test_the_colour_blind_safe_palettes_reach_every_map_and_the_link(app):
    app.radio(key="palette").set_value("safe").run()
    assert_clean(app)
    assert weights_map(app)["stops"] == list(charts.base.CIVIDIS)
    assert comparison_maps(app)["stops"] == {
        "weights": list(charts.base.CIVIDIS),
        "diverging": list(charts.base.PURPLE_ORANGE),
    }
    scales = {
        value_title(spec): layer["encoding"]["color"]["scale"]["range"]
        for spec in chart_specs(app)
        for layer in spec.get("layer", [])
        if "color" in layer.get("encoding", {}) and "scale" in layer["encoding"]["color"]
    }
    assert scales["x"] == list(charts.base.PURPLE_ORANGE)  # X: signed values
    assert app.query_params["palette"] == "safe"


def test_w_prime_and_w_show_as_tables_named_by_their_tokens():
    at = open_link({"text": "the river bank", "temperature": "0.5"})
    for key in ("scores_table", "weights_table"):
        at.toggle(key=key).set_value(True).run()
    assert_clean(at)
    emb = attn_core.embed("the river bank")
    res = attn_core.self_attention(emb.vectors, temperature=0.5)
    labels = charts.token_labels(emb.tokens)
    tables = [df.value for df in at.dataframe if list(df.value.columns) == labels]
    assert len(tables) == 2 and all(list(t.index) == labels for t in tables)
    for table, matrix in zip(tables, (res.scores, res.weights), strict=True):  # W′, then W
        np.testing.assert_array_equal(table.to_numpy(), np.round(matrix, 3))
