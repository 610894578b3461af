"""The page in a real browser: Debian's Chromium driven by Playwright against `streamlit run`."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import OUTPUT
from playwright.sync_api import Page, expect
from serve import wait_ready

import attn_core
from app import sections
from attn_core import charts

pytestmark = pytest.mark.browser


@contextmanager
def server_paused(process: subprocess.Popen) -> Iterator[None]:
    """The server stopped (SIGSTOP): whatever the page does meanwhile, it does alone."""
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def set_text(page: Page, text: str) -> None:
    """Type into the main text box and submit it as a person would (Ctrl+Enter)."""
    box = page.get_by_label("Text", exact=True)
    box.fill(text)
    box.press("Control+Enter")


def press_clicker(page: Page, key: str, then: str) -> None:
    """Press a presentation clicker's key and wait for the heading it leads to.

    Streamlit registers button shortcuts in a React effect after the element mounts, so a key
    sent in the same instant the page turns idle can land before the listener exists. A person
    presses again; so does this helper, but only while the page is idle and still unchanged,
    so one press never turns into two steps.
    """
    expect(page.get_by_role("button", name=re.compile("Next"))).to_be_enabled()
    target = page.get_by_role("heading", name=then)
    for _ in range(3):
        page.keyboard.press(key)
        try:
            expect(target).to_be_visible(timeout=15_000)
            return
        except AssertionError:
            wait_ready(page)
            if target.count():
                return
    expect(target).to_be_visible()


def settle(page: Page) -> None:
    """Two animation frames (a resize or a chart's redraw is painted), then ready."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    wait_ready(page)


def until(page: Page, condition, timeout: float = 120) -> None:
    """Poll ``condition()``, something only Python sees (websocket frames), while the page
    runs: Playwright's sync API delivers events only inside its own calls."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)


def chart_titled(page: Page, title: str):
    """The chart with this title, found by its accessible name (canvas charts hold no text)."""
    chart = '[data-testid="stVegaLiteChart"]'
    return page.locator(
        f'{chart}[aria-label="{title}"], {chart}[aria-label$=": {title}"],'
        f' {chart}[aria-label^="{title}: "]'
    )


MAP = ".weights-map"
"""Step 4's map of W (``app/web/weights_map.mjs``), inside its component's shadow root."""
COMPARISON = ".w-comparison"
"""Step 8's three maps: both W and their difference, drawn by the same script."""
OUTPUT_MAP = ".w-output"
"""Step 5's Y = W X and the length of each row, drawn by the same script."""
GRID = ".heads-grid"
"""Step 9's grid of every head (``app/web/heads_grid.mjs``)."""


def map_values(page: Page) -> list[str]:
    """The weights printed in the map's cells, row by row."""
    return page.locator(f"{MAP} g.values text").evaluate_all("ts => ts.map(t => t.textContent)")


def map_colour(page: Page, i: int, j: int, t: int) -> list[int]:
    """The colour painted at the centre of cell (i, j) of a t x t map."""
    return page.locator(f"{MAP} canvas").evaluate(
        """(c, [i, j, t]) => [...c.getContext('2d').getImageData(
            Math.floor((j + 0.5) * c.width / t), Math.floor((i + 0.5) * c.height / t), 1, 1
        ).data].slice(0, 3)""",
        [i, j, t],
    )


def map_cell(page: Page, i: int, j: int, t: int) -> tuple[float, float]:
    """Page coordinates of the centre of cell (i, j) of a t x t map."""
    box = page.locator(f"{MAP} canvas").bounding_box()
    return box["x"] + (j + 0.5) * box["width"] / t, box["y"] + (i + 0.5) * box["height"] / t


def assert_map_shows(page: Page, weights, t: int) -> None:
    """The map's printed values and painted colours are ``weights`` (on 0-1)."""
    assert map_values(page) == [f"{w:.2f}" for w in weights.ravel()]
    expected = charts.colours(weights, "weights", (0.0, 1.0))
    for i, j in [(0, 0), (1, 2), (t - 1, t - 1), (t // 2, 0)]:
        got = map_colour(page, i, j, t)
        assert max(abs(a - int(b)) for a, b in zip(got, expected[i, j], strict=True)) <= 2


def assert_comparison_shows(page: Page, x, **settings) -> None:
    """Step 8's three maps print the two W of ``x`` under ``settings`` and their difference
    (the page's default: parameter-free beside random projections, seed 0, d_k 64, and
    both unscaled as the parameter-free mode has it)."""
    settings = {"scale": False, **settings}
    free = attn_core.self_attention(x, **settings).weights
    proj = attn_core.random_projections(x.shape[1], 64, seed=0)
    projected = attn_core.self_attention(x, proj, **settings).weights
    for name, matrix in (
        ("W, parameter-free", free),
        ("W, random projections", projected),
        ("difference", projected - free),
    ):
        shown = page.locator(f'{COMPARISON} .panel[data-name="{name}"] g.values text')
        texts = shown.evaluate_all("ts => ts.map(t => t.textContent)")
        assert texts == [f"{w:.2f}" for w in matrix.ravel()], name


def eventually(check, timeout: float = 30) -> None:
    """``check()`` until it passes: what follows in the page may take a frame or two."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


def assert_output_shows(page: Page, res: attn_core.AttentionResult) -> None:
    """Step 5 shows ``res``'s Y: each row's printed length, and the colours of a few cells
    on the colour range of the vectors mixed."""
    want = np.linalg.norm(res.output, axis=1)
    t, d = res.output.shape
    expected = charts.colours(res.output, "diverging", charts.symmetric_domain(res.values, 0.99))
    canvas = page.locator(f"{OUTPUT_MAP} canvas")

    def check() -> None:
        shown = page.locator(f"{OUTPUT_MAP} text.stat").evaluate_all(
            "ts => ts.map(t => t.textContent)"
        )
        assert len(shown) == t
        np.testing.assert_allclose([float(v) for v in shown], want, atol=0.005 + 1e-9)
        for i, k in [(0, 0), (1, 100), (t - 1, d - 1), (t // 2, 200)]:
            got = canvas.evaluate(
                """(c, [i, k, t, d]) => [...c.getContext('2d').getImageData(
                    Math.floor((k + 0.5) * c.width / d), Math.floor((i + 0.5) * c.height / t),
                    1, 1).data].slice(0, 3)""",
                [i, k, t, d],
            )
            assert max(abs(a - int(b)) for a, b in zip(got, expected[i, k], strict=True)) <= 2

    eventually(check)


def full_page_screenshot(page: Page, path: Path) -> None:
    """Streamlit scrolls inside its own container: grow the viewport to the content first."""
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": int(height) + 40})
    settle(page)  # the charts re-layout at the new size
    page.screenshot(path=str(path), full_page=True)


def test_type_text_switch_mode_and_screenshot(page: Page):
    tokens = page.locator('[data-testid="stCode"]').first
    expect(tokens).to_contain_text("[CLS]  ·  hi  ·  how  ·  are  ·  you  ·  [SEP]")

    set_text(page, "the cat sat on the mat")
    expect(tokens).to_contain_text("the  ·  cat  ·  sat  ·  on  ·  the  ·  mat", timeout=60_000)
    wait_ready(page)

    page.get_by_text("Learnable projections (random)").click()
    expect(page.get_by_text("W′ = Q Kᵀ", exact=False)).to_be_visible(timeout=60_000)
    wait_ready(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

    for title in ("1 · Text and tokens", "6 · Geometry", "8 · Learnable projections"):
        expect(page.get_by_role("heading", name=title)).to_be_visible()
    # every visible chart actually drew something (K and V wait in hidden tabs)
    charts = page.locator('[data-testid="stVegaLiteChart"]:visible')
    assert charts.count() >= 8
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 60, (i, box)
    # so did the map of W, Y and the comparison's three maps, painted by the page itself
    painted = page.locator(f"{MAP} canvas, {OUTPUT_MAP} canvas, {COMPARISON} canvas")
    expect(painted).to_have_count(5)
    for i in range(5):
        box = painted.nth(i).bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, (i, box)

    OUTPUT.mkdir(exist_ok=True)
    full_page_screenshot(page, OUTPUT / "dashboard.png")
    assert (OUTPUT / "dashboard.png").stat().st_size > 50_000


def test_clicking_a_cell_of_w_focuses_its_row_and_shows_its_arithmetic(page: Page):
    page.locator(MAP).scroll_into_view_if_needed()
    page.mouse.click(*map_cell(page, 2, 3, 6))  # row 2 ("how"), column 3 ("are")
    focus = page.get_by_role("combobox", name="Token focus")
    expect(focus).to_have_value("how", timeout=30_000)
    key = page.get_by_role("combobox", name=re.compile("Key j, for query i = 2"))
    expect(key).to_have_value("are")
    wait_ready(page)
    res = attn_core.self_attention(attn_core.embed("hi how are you").vectors)
    arithmetic = page.locator('[data-testid="stMarkdownContainer"] .katex').filter(has_text="23")
    expect(arithmetic.first).to_contain_text(f"{res.weights[2, 3]:.4f}")
    expect(chart_titled(page, "x_2 · x_3: the largest of its 384 terms")).to_be_attached()
    # hovering a cell names its tokens and its numbers
    page.mouse.move(*map_cell(page, 4, 1, 6))
    tip = page.locator(f"{MAP} .tip")
    expect(tip).to_contain_text("query i = 4: you")
    expect(tip).to_contain_text(f"w_ij = {res.weights[4, 1]:.4f}")
    # and a cell of Y, its token, its dimension, its value and its row's length
    page.locator(OUTPUT_MAP).scroll_into_view_if_needed()
    box = page.locator(f"{OUTPUT_MAP} canvas").bounding_box()
    page.mouse.move(box["x"] + 100.5 * box["width"] / 384, box["y"] + 2.5 * box["height"] / 6)
    tip = page.locator(f"{OUTPUT_MAP} .tip")
    expect(tip).to_contain_text("token i = 2: how")
    expect(tip).to_contain_text(f"dimension 100\ny = {res.output[2, 100]:.4f}")
    expect(tip).to_contain_text(f"‖y_2‖ = {np.linalg.norm(res.output[2]):.4f}")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_the_map_of_w_works_by_keyboard(page: Page):
    """Tab enters W at a cell, the arrows move a visible cursor, End goes to the row's end,
    the focused cell shows its tooltip and is said aloud, Enter picks it, Escape leaves."""
    res = attn_core.self_attention(attn_core.embed("hi how are you").vectors)
    causal = page.get_by_role("switch", name="Causal mask")
    causal.scroll_into_view_if_needed()
    causal.focus()
    page.keyboard.press("Tab")
    canvas = page.locator(f"{MAP} canvas")
    expect(canvas).to_be_focused()
    cursor = page.locator(f"{MAP} g.cursor")
    expect(cursor).to_have_attribute("visibility", "visible")
    # what the map shows, in one sentence read with its name
    summary = page.locator(f"{MAP} #" + canvas.get_attribute("aria-describedby"))
    i, j = np.unravel_index(np.argmax(res.weights), res.weights.shape)
    tokens = ["[CLS]", "hi", "how", "are", "you", "[SEP]"]
    strongest = "itself" if i == j else f"‘{tokens[j]}’"
    expect(summary).to_have_text(
        f"W, 6 tokens: the strongest weight is ‘{tokens[i]}’ to {strongest}, "
        f"{res.weights[i, j]:.2f}; mean entropy {res.entropy.mean():.1f} bits of at most "
        f"{np.log2(6):.1f}"
    )
    live = page.locator(f"{MAP} [aria-live=polite]")
    expect(live).to_have_text(
        f"query ‘[CLS]’ attends to key ‘[CLS]’ with weight {res.weights[0, 0]:.2f}"
    )
    for key in ("ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight", "ArrowRight"):
        page.keyboard.press(key)
    expect(live).to_have_text(
        f"query ‘how’ attends to key ‘are’ with weight {res.weights[2, 3]:.2f}"
    )
    tip = page.locator(f"{MAP} .tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text(f"query i = 2: how\nkey j = 3: are\nw_ij = {res.weights[2, 3]:.4f}")
    page.keyboard.press("End")
    expect(live).to_have_text(
        f"query ‘how’ attends to key ‘[SEP]’ with weight {res.weights[2, 5]:.2f}"
    )
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # as a click on the cell: its row in focus, its key chosen
    expect(page.get_by_role("combobox", name="Token focus")).to_have_value("how", timeout=30_000)
    key = page.get_by_role("combobox", name=re.compile("Key j, for query i = 2"))
    expect(key).to_have_value("hi")
    wait_ready(page)
    canvas.focus()
    page.keyboard.press("Escape")
    expect(canvas).not_to_be_focused()
    expect(tip).to_be_hidden()
    expect(cursor).to_have_attribute("visibility", "hidden")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_cells_of_w_sit_in_text_order_and_take_their_weights_colour(page: Page):
    """The map paints cell (i, j) in row i, column j with w_ij's colour on 0-1, prints it,
    and puts each row's largest weight and entropy beside it."""
    page.locator(MAP).scroll_into_view_if_needed()
    res = attn_core.self_attention(attn_core.embed("hi how are you").vectors)
    assert_map_shows(page, res.weights, 6)
    names = page.locator(f"{MAP} g.axis.y text").evaluate_all("ts => ts.map(t => t.textContent)")
    assert names == ["[CLS]", "hi", "how", "are", "you", "[SEP]"]
    stats = page.locator(f"{MAP} text.stat").evaluate_all("ts => ts.map(t => t.textContent)")
    assert stats == [
        *(["1.000"] * 6),
        *(f"{w:.2f}" for w in res.weights.max(axis=1)),
        *(f"{h:.2f}" for h in res.entropy),
    ]


def test_w_follows_the_temperature_in_the_browser_then_the_server_follows(browser, served):
    """Keys and a drag move W with the server stopped; once it runs again it redraws only
    what depends on W (not the text, X, W′ or the map) and writes the link."""
    server, process = served
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    frames: list[bytes] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(bytes(f))))
    page.goto(server)
    wait_ready(page)
    x = attn_core.embed("hi how are you").vectors
    slider = page.get_by_role("slider", name="Temperature τ")
    slider.scroll_into_view_if_needed()
    assert_map_shows(page, attn_core.self_attention(x).weights, 6)
    with server_paused(process):
        slider.focus()
        slider.press("End")  # τ = 5: W flattens at once
        expect(slider).to_have_value("5")
        assert_map_shows(page, attn_core.self_attention(x, temperature=5.0).weights, 6)
        assert_comparison_shows(page, x, temperature=5.0)
        assert_output_shows(page, attn_core.self_attention(x, temperature=5.0))
        slider.press("ArrowLeft")
        assert_map_shows(page, attn_core.self_attention(x, temperature=4.95).weights, 6)
        box = slider.bounding_box()  # dragging: W follows the thumb before it is let go
        page.mouse.move(box["x"] + box["width"] - 6, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2, steps=8)
        tau = float(slider.input_value())
        assert tau < 0.5
        assert_map_shows(page, attn_core.self_attention(x, temperature=tau).weights, 6)
        page.mouse.up()
        page.get_by_role("switch", name="Causal mask").check()
        causal = attn_core.self_attention(x, temperature=tau, causal=True)
        assert_map_shows(page, causal.weights, 6)
        # step 5's Y and step 8's comparison followed every move too, in the page
        assert_comparison_shows(page, x, temperature=tau, causal=True)
        assert_output_shows(page, causal)
        frames.clear()
        assert page.evaluate(MARKED_WAITING) == 1  # the observer sees a mark
    page.wait_for_function(
        "() => location.search.includes('causal=1') && location.search.includes('temperature=')",
        timeout=60_000,
    )
    wait_ready(page)
    assert f"temperature={tau:g}" in page.url
    # what depends on W was redrawn for the new settings: the arithmetic of w_00
    logit = attn_core.cell(x, 0, 0, None, temperature=tau, causal=True).logit
    expect(page.locator(".katex").filter(has_text=f"{logit:.4f}").first).to_be_visible()
    sent = b"".join(frames)
    assert b"Output Y = W X" not in sent  # no heading: no step redrawn whole
    for unchanged in (b"Type any text and watch", b"Keep [CLS] and [SEP]", b"weights_map"):
        assert unchanged not in sent, unchanged
    assert_map_shows(page, causal.weights, 6)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    # while the server followed, only what it reran was marked as waiting: not the steps'
    # titles (each move once marked every element of steps 3-10, and unmarked them)
    # (on a busy machine React may draw the rerun's start and its end at once, so no element
    # is ever drawn marked: the observer proved at its start that it sees a mark)
    marked = page.evaluate("() => window.markedWaiting")
    titles = [sections.title(s) for s in sections.ATTENTION]
    assert not [text for text in marked if any(t in text for t in titles)], marked
    context.close()


MARKED_WAITING = """() => {
  window.markedWaiting = [];
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.target.getAttribute('data-stale') === 'true') {
        window.markedWaiting.push(r.target.innerText.slice(0, 80));
      }
    }
  }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-stale'] });
  const probe = document.createElement('div');
  probe.innerText = 'probe';
  document.body.append(probe);
  probe.setAttribute('data-stale', 'true');
  return new Promise((seen) => setTimeout(() => {
    probe.remove();
    seen(window.markedWaiting.splice(0).length);
  }));
}"""
"""Record the text of every element Streamlit marks as waiting for its rerun; say how many
marks the observer saw on a probe of its own (one, if it sees marks at all)."""


def test_hostile_text_stays_inert(page: Page):
    marker = "document.title='pwned'"
    set_text(
        page,
        f'<img src=x onerror="{marker}"> <script>{marker}</script> '
        "[a link](https://example.com) ![img](https://example.com/x.png) $x^2$ :red[red]",
    )
    expect(page.locator('[data-testid="stCode"]').first).to_contain_text("script", timeout=60_000)
    wait_ready(page)
    assert page.title() != "pwned"
    assert page.locator("a[href*='example.com']").count() == 0
    assert page.locator("img[src='x'], img[src*='example.com']").count() == 0
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


PIECE_PLACES = """(code) => {
  // Where each piece of the strip is drawn: the left edge of its whole range and of its
  // "##" (when it has one), and the top of its line.
  const nodes = [];
  const walk = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) nodes.push(walk.currentNode);
  const text = nodes.map((n) => n.data).join('');
  const at = (offset) => {
    for (const n of nodes) {
      if (offset <= n.data.length) return [n, offset];
      offset -= n.data.length;
    }
  };
  const rect = (start, end) => {
    const range = document.createRange();
    range.setStart(...at(start));
    range.setEnd(...at(end));
    return range.getBoundingClientRect();
  };
  const places = [];
  let start = 0;
  for (const piece of text.split('  ·  ')) {
    const bare = piece.replace(/[\\u2066\\u2069]/g, '');
    const skip = piece.indexOf(bare);
    const box = rect(start + skip, start + skip + bare.length);
    const place = { piece: bare, left: box.left, top: box.top };
    if (bare.startsWith('##') && bare.length > 2) {
      place.hashes = rect(start + skip, start + skip + 2).left;
      place.letters = rect(start + skip + 2, start + skip + bare.length).left;
    }
    places.push(place);
    start += piece.length + 5;
  }
  return places;
}"""
"""Each piece of the token strip as the browser lays it out."""


@pytest.mark.parametrize(
    "text", ["שלום עולם this is mixed עברית and English", "مرحبا بالعالم and العربية ١٢٣ too"]
)
def test_the_token_strip_keeps_the_models_order_in_any_script(page: Page, text):
    set_text(page, text)
    tokens = page.locator('[data-testid="stCode"]').first
    expect(tokens).to_contain_text("mixed" if "mixed" in text else "too", timeout=60_000)
    wait_ready(page)
    places = tokens.locator("code").evaluate(PIECE_PLACES)
    assert [p["piece"] for p in places] == attn_core.embed(text).tokens
    assert any(p["piece"].startswith("##") for p in places)
    for before, after in itertools.pairwise(places):
        if before["top"] == after["top"]:  # on one line, the next piece is to the right
            assert before["left"] < after["left"], (before, after)
    for p in places:
        if "hashes" in p:  # "##" stays on the side the tokenizer put it: first
            assert p["hashes"] < p["letters"], p


LONG_TEXT = "attention mixes the words of a sentence together. " * 40
"""Longer than the 256 word pieces the model reads."""


def set_long_text(page: Page) -> None:
    """Send ``LONG_TEXT`` and wait for a sign of it: the notice of the pieces dropped (the
    page may be idle on the old text while the new text's rerun is about to start)."""
    set_text(page, LONG_TEXT)
    expect(page.locator('[data-testid="stAlert"]').filter(has_text="dropped")).to_be_visible(
        timeout=60_000
    )


def test_long_text_renders_every_panel(page: Page):
    set_long_text(page)
    wait_ready(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    assert charts.count() >= 8
    # the comparison's three maps name every k-th of 256 tokens, and say so
    expect(page.locator(f"{COMPARISON} canvas")).to_have_count(3)
    notes = page.locator(f"{COMPARISON} text.note").evaluate_all("ts => ts.map(t => t.textContent)")
    assert len(notes) == 3 and all(re.match(r"Every \d+th token named", n) for n in notes)
    OUTPUT.mkdir(exist_ok=True)
    full_page_screenshot(page, OUTPUT / "dashboard-256-tokens.png")


def test_at_256_word_pieces_every_switch_repaints_the_comparison_without_an_error(page: Page):
    """Stretch, the mask and the scale at 256 word pieces: the comparison's colour range is
    the largest of 2·256² weights, which a spread into ``Math.max`` could not take."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    set_long_text(page)  # the default text's comparison also has three canvases
    expect(page.locator(f"{COMPARISON} canvas")).to_have_count(3, timeout=60_000)
    wait_ready(page)
    panel = page.locator(f'{COMPARISON} .panel[data-name="W, parameter-free"] canvas')
    before = panel.evaluate("c => c.toDataURL()")
    for name in ("Stretch colours to the largest weight", "Causal mask", "Scale by 1/√d"):
        page.get_by_role("switch", name=name).click()

        def repainted(previous=before) -> None:
            assert panel.evaluate("c => c.toDataURL()") != previous

        eventually(repainted)
        before = panel.evaluate("c => c.toDataURL()")
    wait_ready(page)
    assert errors == []
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_links_restore_a_view_and_the_address_bar_follows(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{server}/?text=the+dog+barked&mode=learnable&temperature=2.5&d_k=8")
    wait_ready(page)
    expect(page.locator('[data-testid="stCode"]').first).to_contain_text("dog  ·  barked")
    expect(page.get_by_text("W′ = Q Kᵀ", exact=False)).to_be_visible()
    expect(page.get_by_role("slider", name="Temperature τ")).to_have_value("2.5")
    page.get_by_text("Causal mask (see only earlier tokens)").click()
    page.wait_for_function("() => location.search.includes('causal=1')", timeout=30_000)
    assert "temperature=2.5" in page.url and "d_k=8" in page.url
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    context.close()


def test_back_and_forward_restore_the_earlier_views(browser, server):
    """Each change is an entry in the history; Back shows the view before it (and the page
    does not write the later view over it), Forward the view after."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{server}/?text=the+dog+barked")
    wait_ready(page)
    tokens = page.locator('[data-testid="stCode"]').first
    expect(tokens).to_contain_text("dog  ·  barked")
    set_text(page, "cats sleep all day")
    page.wait_for_function("() => location.search.includes('cats')", timeout=60_000)
    wait_ready(page)
    page.get_by_role("radio", name="Learnable projections (random)").check(force=True)
    page.wait_for_function("() => location.search.includes('mode=learnable')", timeout=60_000)
    wait_ready(page)

    def shows(text: str, mode: str) -> None:
        page.wait_for_function("t => location.search.includes(t)", arg=text, timeout=60_000)
        wait_ready(page)
        expect(tokens).to_contain_text(text.replace("+", "  ·  "))
        expect(page.get_by_role("radio", name=mode)).to_be_checked()
        assert ("mode=learnable" in page.url) == mode.startswith("Learnable")

    page.go_back()
    shows("cats+sleep", "Parameter-free (X Xᵀ)")
    page.go_back()
    shows("dog+barked", "Parameter-free (X Xᵀ)")
    page.go_forward()
    shows("cats+sleep", "Parameter-free (X Xᵀ)")
    page.go_forward()
    shows("cats+sleep", "Learnable projections (random)")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    context.close()


def test_every_export_downloads_a_valid_file(page: Page, tmp_path):
    import csv
    import io
    import json
    import xml.etree.ElementTree as ET

    import numpy as np
    from PIL import Image

    import attn_core

    def download(label: str) -> Path:
        with page.expect_download(timeout=60_000) as info:
            buttons = page.locator('[data-testid="stDownloadButton"]')
            buttons.filter(has_text=re.compile(rf"{re.escape(label)}$")).click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        return path

    exports = sections.title(sections.exports)
    page.get_by_role("heading", name=exports).scroll_into_view_if_needed()
    png = Image.open(download("PNG"))
    png.load()
    assert png.format == "PNG" and png.width > 600
    assert ET.parse(download("SVG")).getroot().tag.endswith("svg")

    emb = attn_core.embed("hi how are you")
    res = attn_core.self_attention(emb.vectors)
    rows = list(csv.reader(io.StringIO(download("CSV").read_text())))
    assert rows[0][0] == "token" and [r[0] for r in rows[1:]] == emb.tokens
    np.testing.assert_allclose(np.array([[float(v) for v in r[1:]] for r in rows[1:]]), res.x)

    data = np.load(download("All (.npz)"))
    np.testing.assert_allclose(data["W"], res.weights, rtol=1e-12)

    record = json.loads(download("Snapshot (.json)").read_text())
    _, again = attn_core.reproduce(record)
    np.testing.assert_allclose(again.weights, np.array(record["results"]["W"]), rtol=1e-9)


def test_presentation_on_a_projector_needs_no_network(browser, server):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((server, "data:", "blob:")) else elsewhere.append(r.url),
    )
    page.goto(f"{server}/?present=1&step=4")
    wait_ready(page)
    expect(page.get_by_role("heading", name="4 · Normalised W")).to_be_visible()
    press_clicker(page, "PageDown", then="5 · Output Y = W X")
    wait_ready(page)
    page.wait_for_function("() => location.search.includes('step=5')", timeout=30_000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    # Y, drawn in the page: every token named, no text under 16 px, all of it on screen
    names = page.locator(f"{OUTPUT_MAP} g.axis.y text")
    expect(names).to_have_count(6)
    assert min(computed_font_sizes(page.locator(f"{OUTPUT_MAP} svg text"))) >= 16
    box = page.locator(f"{OUTPUT_MAP} .plot").bounding_box()
    assert box["width"] > 1000 and box["x"] + box["width"] <= 1920
    OUTPUT.mkdir(exist_ok=True)
    settle(page)
    page.screenshot(path=str(OUTPUT / "presentation-step-5.png"))
    assert elsewhere == [], elsewhere  # every file the page needs came from the local server
    context.close()


def test_the_clicker_turns_the_page_whatever_control_has_focus(browser, server):
    """A remote's Page Down after touching a slider or a switch turns the page and changes
    nothing else: not τ, not d_k, not the switch."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()

    def open_step(step: int, title: str) -> None:
        page.goto(f"{server}/?present=1&step={step}")
        wait_ready(page)
        expect(page.get_by_role("heading", name=title)).to_be_visible(timeout=60_000)

    # step 4: the temperature slider in W's map, then one of its switches
    open_step(4, "4 · Normalised W")
    tau = page.locator(f"{MAP} input[type=range]")
    tau.click()  # a click on the track also sets τ: wait until the server has it
    page.wait_for_function(
        "v => location.search.includes('temperature=' + v)", arg=tau.input_value()
    )
    wait_ready(page)
    before = re.search(r"temperature=[^&]+", page.url).group()
    press_clicker(page, "PageDown", then="5 · Output Y = W X")
    page.wait_for_function("() => location.search.includes('step=5')", timeout=30_000)
    assert re.search(r"temperature=[^&]+", page.url).group() == before
    open_step(4, "4 · Normalised W")
    causal = page.get_by_role("switch", name="Causal mask")
    causal.focus()
    expect(causal).not_to_be_checked()
    press_clicker(page, "PageDown", then="5 · Output Y = W X")
    assert "causal" not in page.url
    # step 1: the special-tokens toggle; arrow keys on a switch turn the page too
    open_step(1, "1 · Text")
    page.get_by_role("switch", name="Keep [CLS] and [SEP]").focus()
    press_clicker(page, "PageDown", then="2 · Embeddings X")
    assert "special" not in page.url
    press_clicker(page, "ArrowLeft", then="1 · Text")
    # step 8: the d_k slider keeps 64; Page Up goes back a step
    open_step(8, "8 · Learnable projections")
    slider = page.get_by_role("slider", name="d_k")
    slider.focus()
    press_clicker(page, "PageUp", then="7 · Context awareness")
    wait_ready(page)
    assert "step=7" in page.url and "d_k" not in page.url
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    context.close()


STAT_COLOURS = """(stats) => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const paint = (...layers) => {
    g.clearRect(0, 0, 1, 1);
    for (const colour of layers) { g.fillStyle = colour; g.fillRect(0, 0, 1, 1); }
    return [...g.getImageData(0, 0, 1, 1).data].slice(0, 3);
  };
  const fill = (selector) => getComputedStyle(stats.querySelector(selector)).fill;
  const page = getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor;
  return {
    ink: paint(page, fill('text.stat')),
    bar: paint(page, fill('rect.bar')),
    track: paint(page, fill('rect.track')),
    page: paint(page),
  };
}"""
"""The colours at a row statistic's spot: its ink, and the bar, the track and the page
behind it, each as the browser resolves and composites it (RGB)."""


def contrast(a, b) -> float:
    """WCAG 2.1's contrast ratio of two sRGB colours (0-255)."""

    def luminance(rgb) -> float:
        c = np.asarray(rgb, float) / 255
        c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(c @ [0.2126, 0.7152, 0.0722])

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_row_statistics_are_legible_on_their_bars_in_either_theme(browser, server, scheme):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme=scheme)
    page = context.new_page()
    page.goto(f"{server}/?text=the+bank+of+the+river")
    wait_ready(page)
    stats = page.locator(f"{MAP} g.stats")
    expect(stats.locator("text.stat").first).not_to_have_text("")
    colours = stats.evaluate(STAT_COLOURS)
    assert (contrast(colours["page"], [0, 0, 0]) < 4.5) == (scheme == "dark"), colours
    for behind in ("bar", "track", "page"):  # a value sits on its bar, or past its end
        assert contrast(colours["ink"], colours[behind]) >= 4.5, (behind, colours)
    context.close()


def test_a_trained_head_and_training_in_the_browser(browser, server, tmp_path):
    """Open a trained head by link, train towards it, replay a step, take the weights home."""
    import numpy as np

    import attn_core

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server}/?mode=real&layer=3&head=5")
    wait_ready(page)
    expect(page.get_by_text("Layer 3, head 5: W recomputed")).to_be_visible()
    expect(page.locator(f'{COMPARISON} .panel[data-name="W, layer 3, head 5"]')).to_be_attached()
    train = page.get_by_role("button", name=re.compile(r"Train$"))
    train.scroll_into_view_if_needed()
    train.click()
    expect(chart_titled(page, "W after step 300")).to_be_attached(timeout=60_000)
    wait_ready(page)
    expect(page.get_by_text(re.compile(r"Learning to imitate layer 3, head 5"))).to_be_visible()
    # the step slider: Home goes back to the random start
    page.get_by_role("slider", name="Show W after step").press("Home")
    expect(chart_titled(page, "W after step 0")).to_be_attached(timeout=30_000)
    wait_ready(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    full_page_screenshot(page, OUTPUT / "trained-head.png")

    with page.expect_download(timeout=60_000) as info:
        page.locator('[data-testid="stDownloadButton"]').filter(has_text="Trained W_q").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    trained = attn_core.load_projections(path)
    head = attn_core.model_head("hi how are you", layer=3, head=5)
    start = attn_core.random_projections(384, 64, seed=0)
    target = attn_core.pool_attention(head.weights, [(i,) for i in range(len(head.tokens))])
    run = attn_core.train_projections(head.hidden, target, start, steps=300, learning_rate=0.003)
    np.testing.assert_allclose(trained.w_q, run.trained.w_q, rtol=1e-12)
    again = attn_core.self_attention(head.hidden, trained)
    np.testing.assert_allclose(again.weights, run.weights_at(300), rtol=1e-6, atol=1e-9)
    context.close()


def test_after_training_the_export_list_is_what_is_on_screen(page: Page):
    """Training redraws its part of the page alone; the export list follows it."""
    train = page.get_by_role("button", name=re.compile(r"Train$"))
    train.scroll_into_view_if_needed()
    train.click()
    expect(chart_titled(page, "Loss")).to_be_attached(timeout=120_000)
    wait_ready(page)
    chart_list = page.get_by_role("combobox", name="Chart")
    chart_list.scroll_into_view_if_needed()
    chart_list.click()
    names = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    assert {"Training loss", "W during training", "Training target"} <= set(names)
    # W, Y (and its rows' lengths) and the comparison's three maps are drawn by the page
    drawn = page.locator(f'[data-testid="stVegaLiteChart"], {MAP}, {COMPARISON} .panel')
    assert len(names) == drawn.count() + 2
    expect(page.locator(OUTPUT_MAP)).to_have_count(1)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def head_point(page: Page, layer: int, head: int, at: tuple[float, float] = (0.5, 0.5)):
    """Page coordinates of a point of head (layer, head)'s picture in the grid (by default
    its centre), and the same point in the canvas's own pixels."""
    canvas = page.locator(f"{GRID} canvas")
    box = canvas.bounding_box()
    pitch = box["width"] / 12
    size = pitch - 8  # the pictures are 8 px apart
    x = head * pitch + 4 + at[0] * size
    y = layer * pitch + 4 + at[1] * size
    ratio = canvas.evaluate("c => c.width / c.getBoundingClientRect().width")
    return (box["x"] + x, box["y"] + y), (int(x * ratio), int(y * ratio))


def test_clicking_a_head_shows_it_in_every_step(page: Page, tmp_path):
    page.get_by_text("Show every head").click()
    canvas = page.locator(f"{GRID} canvas[data-drawn]")
    expect(canvas).to_be_attached(timeout=120_000)
    wait_ready(page)
    canvas.scroll_into_view_if_needed()
    full_page_screenshot(page, OUTPUT / "every-head.png")
    # each picture is its head's W, from 0 to its largest weight, one pixel a token pair
    heads = attn_core.all_heads("hi how are you")
    t = heads.weights.shape[-1]
    for layer, head, i, j in ((0, 0, 0, 0), (3, 5, 2, 4), (5, 11, 5, 1)):
        w = heads.weights[layer, head]
        want = charts.colours(w, "weights", (0.0, float(w.max())))[i, j]
        _, (x, y) = head_point(page, layer, head, ((j + 0.5) / t, (i + 0.5) / t))
        got = canvas.evaluate(
            "(c, [x, y]) => [...c.getContext('2d').getImageData(x, y, 1, 1).data].slice(0, 3)",
            [x, y],
        )
        assert max(abs(a - int(b)) for a, b in zip(got, want, strict=True)) <= 2, (layer, head)
    # hovering a head names it; a click shows it in every step
    where, _ = head_point(page, 3, 5)
    page.mouse.move(*where)
    expect(page.locator(f"{GRID} .tip")).to_contain_text("layer 3, head 5\nthe strongest weight")
    page.mouse.click(*where)
    page.wait_for_function("() => location.search.includes('head=5')", timeout=60_000)
    wait_ready(page)
    assert "layer=3" in page.url and "mode=real" in page.url
    expect(page.get_by_text("Layer 3, head 5: W recomputed")).to_be_visible()
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_role("combobox", name="Head")).to_have_value("5")
    expect(sidebar.get_by_role("combobox", name="Layer")).to_have_value("3")
    expect(page.locator(f"{GRID} rect.edge")).to_have_count(1)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


BANK = "I sat on the river bank and watched the water"


def computed_font_sizes(locator) -> list[float]:
    return locator.evaluate_all("els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")


def test_on_a_projector_every_token_is_named_and_the_main_chart_fills_the_screen(browser, server):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.goto(f"{server}/?present=1&step=4&text={BANK.replace(' ', '+')}")
    wait_ready(page)
    chart = page.locator(f"{MAP} .plot")
    expect(chart).to_be_visible()
    cells = page.locator(f"{MAP} canvas").bounding_box()
    box = chart.bounding_box()
    assert cells["height"] >= 540 and box["y"] + box["height"] <= 1080  # large, all on screen
    names = chart.locator("g.axis text")
    expect(names).to_have_count(2 * 12)  # all 12 tokens on both axes, none thinned away
    assert min(computed_font_sizes(names)) >= 16
    values = chart.locator("g.values text")
    expect(values).to_have_count(12 * 12)
    assert min(computed_font_sizes(values)) >= 16
    assert min(computed_font_sizes(chart.locator("g.stats text, g.titles text"))) >= 16
    OUTPUT.mkdir(exist_ok=True)
    settle(page)
    page.screenshot(path=str(OUTPUT / "projector-step-4.png"))

    page.goto(f"{server}/?present=1&step=6&text={BANK.replace(' ', '+')}")
    wait_ready(page)
    geometry = chart_titled(page, "Geometry")
    expect(geometry).to_be_visible()
    box = geometry.bounding_box()
    assert box["height"] >= 540 and box["y"] + box["height"] <= 1080
    expect(page.get_by_text("Grey: the token vectors x before attention")).to_be_visible()
    settle(page)
    page.screenshot(path=str(OUTPUT / "projector-step-6.png"))
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    context.close()


def test_on_a_phone_nothing_runs_off_the_screen_and_touch_works(browser, server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(f"{server}/?text={BANK.replace(' ', '+')}")
    wait_ready(page)
    # the sidebar waits behind its button; the page never scrolls sideways
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert (
        sidebar.count() == 0 or sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"] <= 1
    )
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth,"
        " document.querySelector('[data-testid=stMain]').scrollWidth]"
    )
    assert max(widths) <= 390, widths
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=stMain] [data-testid]')]
            .filter(e => e.getBoundingClientRect().right > 391)
            .map(e => e.getAttribute('data-testid'))"""
    )
    assert overflowing == []
    # a chart wider than the screen scrolls inside its own outlined frame
    frames = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=stVegaLiteChart]')]
            .filter(e => e.scrollWidth > e.clientWidth + 1)
            .map(e => [getComputedStyle(e).overflowX, getComputedStyle(e).borderTopStyle])"""
    )
    assert frames and all(f == ["auto", "solid"] for f in frames), frames
    # so does the map of W, whose controls wrap to the screen's width
    frame = page.locator(f"{MAP} .frame")
    style = frame.evaluate(
        "e => [e.scrollWidth > e.clientWidth, getComputedStyle(e).overflowX,"
        " getComputedStyle(e).borderTopStyle, e.getBoundingClientRect().right]"
    )
    assert style[:3] == [True, "auto", "solid"] and style[3] <= 391, style
    # Y and its rows' lengths fit the screen (their frame scrolls if they ever do not)
    frame = page.locator(f"{OUTPUT_MAP} .frame")
    right = frame.evaluate("e => [e.getBoundingClientRect().right, getComputedStyle(e).overflowX]")
    assert right[0] <= 391 and right[1] == "auto", right
    expect(page.locator(f"{OUTPUT_MAP} text.stat")).to_have_count(12)  # every row's length
    # touch: a tap on a cell of W focuses its row; a tap on the slider's track moves it
    page.locator(f"{MAP} canvas").evaluate("e => e.scrollIntoView({block: 'center'})")
    page.touchscreen.tap(*map_cell(page, 2, 1, 12))  # row 2: "sat"
    expect(page.get_by_role("combobox", name="Token focus")).to_have_value("sat", timeout=30_000)
    wait_ready(page)
    slider = page.get_by_role("slider", name="Temperature τ")
    slider.evaluate("e => e.scrollIntoView({block: 'center'})")  # clear of the header
    track = slider.bounding_box()
    page.touchscreen.tap(track["x"] + track["width"] * 0.6, track["y"] + track["height"] / 2)
    page.wait_for_function("() => location.search.includes('temperature=')", timeout=30_000)
    wait_ready(page)
    page.get_by_role("heading", name="4 · Normalised W").scroll_into_view_if_needed()
    settle(page)
    page.screenshot(path=str(OUTPUT / "phone.png"))
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    context.close()
