"""Everyone can use it: axe-core's WCAG 2.1 A and AA rules in a real browser, on the pages a
newcomer, a speaker and a phone see, in both themes; and every map that answers the pointer
answers the keyboard too."""

from __future__ import annotations

import re

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


def test_every_chart_is_said_in_words_out_of_sight_and_other_text_stays_in_sight(
    page: Page, server
):
    """Each chart is followed by its sentence: in the page (a screen reader reads it) but
    clipped to nothing on screen. The page's other plain texts (every head's rank changes,
    the tokens that moved most through a layer) stay where a reader sees them."""
    page.goto(f"{server}/?heads=1&through=1&measure=norm&{TEXT}")
    wait_ready(page)
    texts = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=stText]')].map((t) => {
          const box = t.parentElement, before = box.previousElementSibling;
          const style = getComputedStyle(box), rect = box.getBoundingClientRect();
          return {
            afterChart: !!before && !!before.querySelector('[data-testid=stVegaLiteChart]'),
            clipped: style.clip === 'rect(0px, 0px, 0px, 0px)' && rect.height <= 1,
            shown: style.display !== 'none' && style.visibility !== 'hidden',
            text: t.innerText,
          };
        })"""
    )
    charts = page.locator('[data-testid="stVegaLiteChart"]').count()
    said = [t for t in texts if t["afterChart"]]
    assert charts >= 18 and len(said) == charts  # every chart has its sentence, heads and layer too
    assert all(t["clipped"] and t["shown"] and len(t["text"]) > 20 for t in said)
    others = [t for t in texts if not t["afterChart"]]
    assert {t["text"].split(" ", 2)[0] for t in others} == {"Rank", "Moved"}
    assert not any(t["clipped"] for t in others)


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


def test_the_page_walks_by_keyboard_alone(page: Page):
    """Tab, the arrow keys, Space and Enter only: a text, the temperature, a cell of W and
    its arithmetic, a head of the grid, and presentation mode's next step."""
    text = "I sat on the river bank"
    box = page.get_by_label("Text", exact=True)
    tab_to(page, box)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Control+Enter")
    strip = page.locator('[data-testid="stCode"]').first
    expect(strip).to_contain_text("sat  ·  on  ·  the  ·  river", timeout=60_000)
    wait_ready(page)
    # the temperature, one step up, and the server follows
    tau = page.locator(".weights-map input[type=range]")
    tab_to(page, tau)
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('temperature=1.05')")
    wait_ready(page)
    # a cell of W: row 2 ("sat"), column 3 ("on"); Enter shows its arithmetic
    w_map = page.locator(".weights-map canvas")
    tab_to(page, w_map)
    for key in ("ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight", "ArrowRight"):
        page.keyboard.press(key)
    res = attn_core.self_attention(attn_core.embed(text).vectors, temperature=1.05)
    said = page.locator(".weights-map [aria-live=polite]")
    expect(said).to_have_text(
        f"query ‘sat’ attends to key ‘on’ with weight {res.weights[2, 3]:.2f}"
    )
    page.keyboard.press("Enter")
    expect(page.get_by_role("combobox", name="Token focus")).to_have_value("sat", timeout=30_000)
    expect(page.get_by_role("combobox", name=re.compile("Key j, for query i = 2"))).to_have_value(
        "on"
    )
    arithmetic = page.locator('[data-testid="stMarkdownContainer"] .katex').filter(has_text="23")
    expect(arithmetic.first).to_contain_text(f"{res.weights[2, 3]:.4f}")
    wait_ready(page)
    # every head: Space on the switch, then the grid; Enter shows layer 3, head 5 everywhere
    every = page.get_by_role("switch", name=re.compile("Show every head"))
    tab_to(page, every, presses=120)
    page.keyboard.press("Space")
    grid = page.locator(".heads-grid canvas")
    expect(page.locator(".heads-grid canvas[data-drawn]")).to_be_attached(timeout=120_000)
    wait_ready(page)
    tab_to(page, grid)
    for key in ("ArrowDown",) * 3 + ("ArrowRight",) * 5:
        page.keyboard.press(key)
    expect(page.locator(".heads-grid [aria-live=polite]")).to_contain_text("layer 3, head 5: ")
    expect(page.locator(".heads-grid .tip")).to_be_visible()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => ['mode=real', 'layer=3', 'head=5'].every(p => location.search.includes(p))",
        timeout=60_000,
    )
    wait_ready(page)
    expect(page.get_by_text(re.compile(r"^Layer 3, head 5[:,] "))).to_be_visible()
    # presentation mode, from the sidebar's switch; its Next button turns to the next step
    present = page.get_by_role("switch", name="Presentation mode")
    tab_to(page, present, presses=200)
    page.keyboard.press("Space")
    next_step = page.locator(".st-key-next_step button")
    expect(next_step).to_be_visible(timeout=30_000)
    wait_ready(page)
    step = int(re.search(r"step=(\d+)", page.url).group(1)) if "step=" in page.url else 1
    tab_to(page, next_step, presses=200)
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => location.search.includes('step={step + 1}')", timeout=30_000)
    expect(page.get_by_text(f"Step {step + 1} of")).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


@pytest.mark.parametrize("width", [1400, 390])
def test_every_heads_grid_takes_the_keyboard(browser, server, width):
    """Tab enters the grid at layer 0, head 0; End and Home go along the row, the cursor
    kept in sight (on a phone the grid scrolls in its own frame); Escape leaves."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{server}/?heads=1&text=I+sat+on+the+river+bank")
    wait_ready(page)
    expect(page.locator(".heads-grid canvas[data-drawn]")).to_be_attached(timeout=120_000)
    page.get_by_role("switch", name=re.compile("Show every head")).focus()
    grid = page.locator(".heads-grid canvas")
    tab_to(page, grid, presses=5)
    summary = page.locator(".heads-grid #" + grid.get_attribute("aria-describedby"))
    expect(summary).to_contain_text("Every head, 6 layers × 12 heads on 8 tokens: ")
    live = page.locator(".heads-grid [aria-live=polite]")
    expect(live).to_contain_text("layer 0, head 0: the strongest weight is ")
    cursor = page.locator(".heads-grid g.cursor")
    expect(cursor).to_have_attribute("visibility", "visible")
    frame = page.locator(".heads-grid .frame")
    page.keyboard.press("End")
    expect(live).to_contain_text("layer 0, head 11: ")
    in_sight = """f => {
        const [box, cell] = [f, f.querySelector('g.cursor')].map(e => e.getBoundingClientRect());
        return box.left <= cell.left + 1 && cell.right <= box.right + 1;
    }"""
    assert frame.evaluate(in_sight)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Home")
    expect(live).to_contain_text("layer 1, head 0: ")
    assert frame.evaluate(in_sight)
    page.keyboard.press("Escape")
    expect(grid).not_to_be_focused()
    expect(page.locator(".heads-grid .tip")).to_be_hidden()
    expect(cursor).to_have_attribute("visibility", "hidden")
    context.close()


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
