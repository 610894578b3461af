"""Step 10 and step 9's switch in a real browser: Debian's Chromium against `streamlit run`."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import numpy as np
import pytest
from playwright.sync_api import Page, expect
from serve import wait_ready
from test_browser import chart_titled

import attn_core
from attn_core import charts

pytestmark = pytest.mark.browser

TEXT = "She went to the bank to draw money, then sat on the river bank"


def moved_line(layer: int) -> str:
    """The step's line on the tokens that moved most, worked out from the engine here."""
    out = attn_core.layer(TEXT, layer)
    labels = charts.token_labels(out.tokens)
    moved = np.linalg.norm(
        out.hidden_out.astype(np.float64) - out.hidden_in.astype(np.float64), axis=1
    )
    named = ", ".join(f"‘{labels[k]}’ ({moved[k]:.2f})" for k in np.argsort(-moved)[:3])
    return f"Moved most through layer {layer}: {named}"


def test_the_layer_step_follows_a_new_layer(page: Page, server):
    page.goto(f"{server}/?{urlencode({'through': 1, 'text': TEXT, 'block': 2})}")
    wait_ready(page)
    title = "10 · From the heads to the next layer"
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    for name in ("Heads side by side", "Update beside residual", "This layer's X and the next"):
        expect(chart_titled(page, name)).to_have_count(1)
    expect(page.get_by_text(moved_line(2))).to_be_visible()
    layer = page.get_by_role("combobox", name="Through layer")
    layer.scroll_into_view_if_needed()
    layer.click()
    page.get_by_role("option", name="4", exact=True).click()
    expect(page.get_by_text(moved_line(4))).to_be_visible(timeout=60_000)
    wait_ready(page)
    assert "block=4" in page.url
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_the_switch_measures_every_head_by_what_it_moves(page: Page, server):
    page.goto(f"{server}/?{urlencode({'heads': 1, 'text': TEXT, 'layer': 4, 'pattern': 'cls'})}")
    wait_ready(page)
    expect(page.get_by_text(re.compile("^Rank changes most"))).to_have_count(0)
    switch = page.get_by_role("radio", name="Weight × ‖f(x_j)‖", exact=True)
    switch.scroll_into_view_if_needed()
    switch.click()
    expect(page.get_by_text(re.compile("^Rank changes most for “\\[CLS\\]”"))).to_be_visible(
        timeout=60_000
    )
    expect(chart_titled(page, "Heads' shares of one update")).to_have_count(1)
    wait_ready(page)
    assert "measure=norm" in page.url
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
