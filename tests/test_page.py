"""The whole page: its steps in order, its caches, and texts of every kind."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
from pagetest import (
    SECTION_TITLES,
    assert_clean,
    chart_specs,
    move_map,
    new_app,
    tokens_shown,
    weights_table,
)

import attn_core
from app import sections

ROOT = Path(__file__).resolve().parents[1]


def test_page_has_the_seeds_sections_in_order(app):
    titles = [h.value for h in app.header]
    after = [s.TITLE for s in sections.ALL[len(SECTION_TITLES) :]]
    assert titles[: len(SECTION_TITLES)] == SECTION_TITLES
    assert titles[len(SECTION_TITLES) :] == [
        f"{n} · {title}" for n, title in enumerate(after, len(SECTION_TITLES) + 1)
    ]
    assert "What comes next" in after and after[-1] == "Take it with you"
    # every step has its one-line explanation right under its title
    main = [el for el in app.main if el.type in ("header", "caption")]
    for step in sections.ALL:
        heading = sections.title(step)
        at = next(i for i, el in enumerate(main) if el.type == "header" and el.value == heading)
        assert main[at + 1].type == "caption" and main[at + 1].value == step.EXPLANATION
    assert tokens_shown(app) == ["[CLS]", "hi", "how", "are", "you", "[SEP]"]
    # the sidebar's contents link to each step's anchor, in the page's order
    contents = next(m.value for m in app.sidebar.markdown if m.value.startswith("[1 · "))
    links = re.findall(r"\[([^\]]+)\]\(#([a-z]+)\)", contents)
    assert links == [(sections.title(s), s.KEY) for s in sections.ALL]


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "Type some text"), ("   \n\t", "Type some text"), ("\x00\u200b", "no tokens")],
)
def test_blank_text_gives_a_message(app, text, message):
    app.text_area(key="text").set_value(text).run()
    assert_clean(app)
    assert any(message in i.value for i in app.info)


@pytest.mark.parametrize(
    "text",
    [
        "🙂🙂 emoji only 🎉",
        "東京は日本の首都です",
        "مرحبا كيف حالك",
        "!!!???...",
        "1234567890",
        "x",
        "שלום עולם",  # right-to-left
        "cafe\u0301 nai\u0308ve",  # combining accents
        "zero\u200bwidth\u200djoiners",
        "nul\x00byte and\x07bell",
        "qzxjvbw kwyjibo flurbification",  # words the vocabulary does not know
        "again " * 300,  # one token repeated 300 times: truncated, never merged
    ],
)
def test_unusual_text_renders(app, text):
    app.text_area(key="text").set_value(text).run()
    assert_clean(app)
    table = weights_table(app)
    assert table["query"].is_unique  # every position keeps its own row


def test_huge_paste_is_truncated_with_a_notice(app):
    app.text_area(key="text").set_value("lorem ipsum dolor sit amet " * 4000).run()
    assert_clean(app)
    assert any("dropped" in w.value for w in app.warning)
    assert len(weights_table(app)) == 256
    # long texts switch to raster heatmaps: no chart carries a mark per matrix cell
    for spec in chart_specs(app):
        assert sum(len(rows) for rows in spec["datasets"].values()) < 4 * 256


def test_changing_a_control_does_not_re_embed(monkeypatch):
    st.cache_data.clear()
    calls: list[str] = []
    real = attn_core.embed

    def counting(text, **kwargs):
        calls.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(attn_core, "embed", counting)
    at = new_app().run()
    assert_clean(at)
    after_first = len(calls)
    assert after_first == 2  # the text and the second sentence
    move_map(at, temperature=0.5).run()
    move_map(at, causal=True).run()
    at.radio(key="mode").set_value("learnable").run()
    at.button_group(key="method").set_value("raw").run()
    assert_clean(at)
    assert len(calls) == after_first
    at.text_area(key="text").set_value("a new text").run()
    assert len(calls) == after_first + 1


def test_the_default_page_never_imports_torch():
    """Static vectors come from the model's files: the first page needs no torch at all."""
    last_line = in_a_fresh_process(
        "import sys;"
        "move_map(at, temperature=0.5).run();"
        "move_map(at, causal=True).run();"
        "assert not at.exception, at.exception;"
        "print([m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules])"
    )
    assert last_line == "[]"


def in_a_fresh_process(code: str) -> str:
    """Open the page in AppTest as ``at`` in a new Python, run ``code``; its last line."""
    opening = (
        "import gc; frozen_before = gc.get_freeze_count();"
        "import sys; sys.path.insert(0, 'tests'); from pagetest import move_map;"
        "from streamlit.testing.v1 import AppTest;"
        "at = AppTest.from_file('dashboard.py', default_timeout=180).run();"
        "assert not at.exception, at.exception;"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            opening + code,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_server_does_numpys_products_on_one_thread():
    """Once the page has run, the process's BLAS runs each product on one thread (its
    default is one per core): in a process of its own, which nothing else has set."""
    blas = (
        "from threadpoolctl import threadpool_info;"
        "print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}))"
    )
    assert in_a_fresh_process(blas) == "[1]"


def test_the_default_page_never_runs_the_transformer(monkeypatch):
    """Static vectors are table rows: only a head target or the trained-head mode runs it."""
    st.cache_data.clear()
    heads: list[tuple] = []
    real = attn_core.model_head

    def counting(text, **kwargs):
        heads.append((text, kwargs["layer"], kwargs["head"]))
        return real(text, **kwargs)

    monkeypatch.setattr(attn_core, "model_head", counting)
    at = new_app().run()
    move_map(at, temperature=0.5).run()
    at.radio(key="mode").set_value("learnable").run()
    assert_clean(at)
    assert heads == []
    at.button_group(key="objective").set_value("imitate").run()
    assert_clean(at)
    assert heads == [("hi how are you", 0, 0)]


def test_reruns_do_not_walk_the_libraries_objects_when_collecting_garbage():
    """A full garbage collection (Streamlit's after every rerun, where it is on; Python's
    own as objects pile up) does not walk what the libraries loaded: it is frozen out.

    In a process of its own, so that no earlier test has frozen (or loaded) anything.
    """
    last_line = in_a_fresh_process(
        "import attn_core;"
        "assert frozen_before == 0;"
        "frozen = gc.get_freeze_count();"
        "move_map(at, temperature=0.5).run();"
        "again = gc.get_freeze_count();"
        "at.button_group(key='kind').set_value('contextual').run();"
        "assert not at.exception, at.exception;"
        "import sys;"
        "print(frozen, again, gc.get_freeze_count(), attn_core.load_model().network_loaded,"
        " 'torch' in sys.modules)"
    )
    frozen, again, with_network, loaded, torch_in = last_line.split()
    assert int(frozen) > 100_000  # Streamlit, Altair, pandas, the model's files: all in by now
    # frozen once, not again on every rerun (a frozen object can still die by refcount)
    assert int(again) <= int(frozen)
    # contextual vectors brought the network in (numpy: no torch), and it was frozen too
    assert loaded == "True" and torch_in == "False" and int(with_network) > int(frozen)


def test_user_text_is_never_markdown(app):
    hostile = "[click](https://example.com) <img src=x onerror=alert(1)> $x^2$ :red[red]"
    app.text_area(key="text").set_value(hostile).run()
    assert_clean(app)
    for element in [*app.markdown, *app.caption]:
        assert "example.com" not in element.value and "onerror" not in element.value
    for latex in app.latex:
        assert not re.search(r"onerror|example\.com", latex.value)
