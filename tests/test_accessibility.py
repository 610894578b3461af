"""Everyone can use it: axe-core's WCAG 2.1 A and AA rules in a real browser, on the pages a
newcomer, a speaker and a phone see, in both themes; and every map that answers the pointer
answers the keyboard too."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from serve import wait_ready

import attn_core

pytestmark = pytest.mark.browser

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
"""axe-core's rules for WCAG 2.1 levels A and AA."""
TEXT = "text=I+sat+on+the+river+bank+and+watched+the+water"


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


@pytest.mark.parametrize(
    ("query", "width", "scheme"),
    [
        (TEXT, 1400, "light"),  # the default page with a text
        (f"{TEXT}&mode=real", 1400, "light"),  # a trained head: every head open
        ("present=1&step=4", 1920, "light"),  # presentation mode
        ("present=1&step=9", 1920, "light"),
        (TEXT, 1400, "dark"),
        (f"{TEXT}&palette=safe&mode=learnable", 1400, "dark"),  # colour-blind-safe palettes
        (f"{TEXT}&mode=learnable", 390, "light"),  # a phone
        (TEXT, 390, "dark"),
    ],
)
def test_no_serious_or_critical_wcag_violation(browser, server, axe, query, width, scheme):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.goto(f"{server}/?{query}")
    wait_ready(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    found = axe.run(page, options=WCAG_21_AA).response["violations"]
    serious = [
        f"{v['id']} ({v['impact']}): {node['target']}"
        for v in found
        if v["impact"] in ("serious", "critical")
        for node in v["nodes"]
    ]
    assert serious == [], "\n".join(serious)
    context.close()


def tab_to(page: Page, target, presses: int = 40) -> None:
    """Press Tab until ``target`` has focus, as a keyboard user walks down the page."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("node => node.matches(':focus')"):
            return
    expect(target).to_be_focused()


def test_y_and_the_comparison_take_the_keyboard_too(page: Page):
    """Tab from W's map reaches Y, then the comparison's three maps; each focused cell is
    said aloud with its value."""
    res = attn_core.self_attention(attn_core.embed("hi how are you").vectors)
    canvas = page.locator(".weights-map canvas")
    canvas.scroll_into_view_if_needed()
    canvas.focus()
    y = page.locator(".w-output canvas")
    tab_to(page, y)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    said = page.locator(".w-output [aria-live=polite]")
    value, length = res.output[1, -1], (res.output[1] ** 2).sum() ** 0.5
    expect(said).to_have_text(
        f"token ‘hi’, dimension 383: {value:.2f}; the row's length {length:.2f}"
    )
    expect(page.locator(".w-output .tip")).to_be_visible()
    for name in ("W, parameter-free", "W, random projections", "difference"):
        panel = page.locator(f'.w-comparison .panel[data-name="{name}"]')
        tab_to(page, panel.locator("canvas"))
        expect(panel.locator("[aria-live=polite]")).to_contain_text(f"{name}: query ‘[CLS]’")


def test_nothing_moves_for_a_viewer_who_asked_for_reduced_motion(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, reduced_motion="reduce")
    page = context.new_page()
    page.goto(server)
    wait_ready(page)
    durations = page.evaluate(
        """() => [...document.querySelectorAll('button, [data-testid="stSidebar"], a')]
             .map(e => getComputedStyle(e))
             .flatMap(s => [s.transitionDuration, s.animationDuration])
             .flatMap(d => d.split(',').map(v => parseFloat(v)))"""
    )
    assert durations and max(durations) <= 0.001
    context.close()
