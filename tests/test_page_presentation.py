"""Presentation mode: one step at a time, large type, steps by link and by clicker."""

from __future__ import annotations

import pytest
from pagetest import (
    SECTION_TITLES,
    assert_clean,
    chart_specs,
    comparison_maps,
    move_map,
    open_link,
    weights_map,
    weights_table,
)

from app import sections


def test_presentation_walks_through_every_step_one_at_a_time(app):
    app.toggle(key="present").set_value(True).run()
    assert_clean(app)
    for step, title in enumerate(SECTION_TITLES, start=1):
        assert [h.value for h in app.header] == [title], step
        assert app.query_params["step"] == str(step) if step > 1 else "step" not in app.query_params
        assert app.button(key="previous_step").proto.disabled == (step == 1)
        assert app.button(key="next_step").proto.disabled == (step == len(SECTION_TITLES))
        if step < len(SECTION_TITLES):
            app.button(key="next_step").click().run()
            assert_clean(app)
    app.button(key="previous_step").click().run()
    assert [h.value for h in app.header] == [SECTION_TITLES[-2]]


def test_settings_survive_while_their_controls_are_off_screen(app):
    move_map(app, temperature=3.0).run()
    move_map(app, causal=True).run()
    app.toggle(key="present").set_value(True).run()  # step 1: no temperature slider drawn
    app.button(key="next_step").click().run()
    app.button(key="next_step").click().run()
    app.button(key="next_step").click().run()  # step 4, where the slider lives
    assert_clean(app)
    assert weights_map(app)["settings"]["temperature"] == 3.0
    assert weights_map(app)["settings"]["causal"] is True
    assert weights_table(app)["largest weight"].iloc[0] == 1.0  # causal still applied
    app.toggle(key="present").set_value(False).run()
    assert len(app.header) == len(sections.ALL)
    assert weights_map(app)["settings"]["temperature"] == 3.0


def test_on_a_projector_small_charts_grow_and_their_type_is_larger():
    def target(at) -> dict:
        return next(s for s in chart_specs(at) if s.get("title") == "Target")

    at = open_link({"step": "8"})
    small, small_maps = target(at), comparison_maps(at)
    at = open_link({"present": "1", "step": "8"})
    assert_clean(at)
    large, large_maps = target(at), comparison_maps(at)
    assert large["width"] == round(small["width"] * 1.4) > small["width"]
    assert large["height"] == round(small["height"] * 1.4)
    assert large["config"]["axis"]["labelFontSize"] == 16
    # the comparison's three maps, drawn in the page, grow the same way
    side = small_maps["cell"] * small_maps["t"]
    assert large_maps["cell"] * large_maps["t"] == pytest.approx(round(side * 1.4))
    assert min(large_maps["x"]["font"], large_maps["y"]["font"], large_maps["legendFont"]) >= 16


def test_a_link_can_open_a_presentation_on_any_step():
    at = open_link({"present": "1", "step": "6", "text": "the river bank"})
    assert_clean(at)
    assert [h.value for h in at.header] == ["6 · Geometry"]
    assert at.metric[0].label == "Spread after ÷ before"
