"""A model the operator names, in a real browser: `streamlit run dashboard.py -- --model
PATH` with a tiny random GPT-2, driven by Chromium."""

from __future__ import annotations

import shutil
from urllib.parse import urlencode

import pytest
from conftest import OUTPUT
from playwright.sync_api import expect
from serve import serving, wait_ready

import attn_core
from attn_core import charts

pytestmark = pytest.mark.browser
TEXT = "the cat sat on the mat"


@pytest.fixture(scope="module")
def gpt2_server(tiny_folders, tmp_path_factory):
    folder = shutil.copytree(tiny_folders["gpt2"], tmp_path_factory.mktemp("m") / "tiny-gpt2")
    OUTPUT.mkdir(exist_ok=True)
    with (
        (OUTPUT / "streamlit-models.log").open("w") as log,
        serving(log=log, script_args=("--model", str(folder))) as (url, _),
    ):
        yield url, folder


def test_a_decoder_on_the_page(browser, gpt2_server):
    url, folder = gpt2_server
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    query = {"model": "tiny-gpt2", "text": TEXT, "mode": "real"}
    page.goto(f"{url}/?{urlencode(query)}")
    wait_ready(page)

    # the pieces as a reader reads them: a leading space is ␣, never Ġ
    tokens = attn_core.embed(TEXT, model=attn_core.load_model(str(folder))).tokens
    strip = page.locator("[data-testid='stCode']").first
    expect(strip).to_contain_text("  ·  ".join(charts.readable(tokens, True)))
    assert "Ġ" not in strip.inner_text()

    # a decoder's trained head keeps the causal mask on, and says why
    causal = page.get_by_role("switch", name="Causal mask")
    expect(causal).to_be_checked()
    expect(causal).to_be_disabled()
    expect(page.get_by_text("tiny-gpt2 is a decoder")).to_be_visible()

    # what comes next, and the model in the sidebar and in the address
    heading = page.get_by_role("heading", name="What comes next")
    heading.scroll_into_view_if_needed()
    expect(page.get_by_text("is the most likely next token")).to_be_visible()
    assert "model=tiny-gpt2" in page.url and str(folder) not in page.url
    page.screenshot(path=str(OUTPUT / "decoder.png"), full_page=False)
    heading.screenshot(path=str(OUTPUT / "decoder-next-heading.png"))
    page.get_by_text("is the most likely next token").scroll_into_view_if_needed()
    page.screenshot(path=str(OUTPUT / "decoder-next.png"))
    assert not errors, errors
    context.close()
