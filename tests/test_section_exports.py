"""Step 9: the export list is always the charts on screen, whichever part of the page redrew."""

from __future__ import annotations

from pagetest import assert_clean, charts_on_screen


def test_after_training_the_export_list_offers_the_training_charts(app):
    assert "Training target" in app.selectbox(key="export_chart").options
    app.select_slider(key="train_steps").set_value(100).run()
    app.button(key="train").click().run()
    assert_clean(app)
    names = app.selectbox(key="export_chart").options
    assert {"Training loss", "W during training", "Training target"} <= set(names)
    assert len(names) == len(set(names))
    app.run()  # a full rerun keeps the run on screen, and so in the list
    names = app.selectbox(key="export_chart").options
    assert len(names) == charts_on_screen(app)
    assert "Training loss" in names
    # another target: the run is for other inputs, so its charts leave the screen and the list
    app.button_group(key="objective").set_value("imitate").run()
    names = app.selectbox(key="export_chart").options
    assert "Training target" in names
    assert "Training loss" not in names and "W during training" not in names


def test_a_chart_that_leaves_the_screen_leaves_the_list(app):
    assert "Context: the shared word" in app.selectbox(key="export_chart").options
    app.text_input(key="text2").set_value("omega").run()  # no word in common: no chart
    assert_clean(app)
    assert "Context: the shared word" not in app.selectbox(key="export_chart").options
    app.text_input(key="text2").set_value("how are things").run()
    assert "Context: the shared word" in app.selectbox(key="export_chart").options


def test_picking_k_renames_the_projected_chart_in_the_list(app):
    app.button_group(key="qkv").set_value("k").run()
    names = app.selectbox(key="export_chart").options
    assert "K, projected" in names and "Q, projected" not in names
