"""The page, driven through streamlit.testing.v1.AppTest with the real model."""

from __future__ import annotations

import base64
import gc
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

import attn_core
from attn_core import charts

LEARNABLE = "learnable"
TIMEOUT = 180
SECTION_TITLES = [
    "1 · Text and tokens",
    "2 · Embeddings X",
    "3 · Unnormalised W′",
    "4 · Normalised W",
    "5 · Output Y = W X",
    "6 · Geometry",
    "7 · Context awareness",
    "8 · Learnable projections",
]


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file("../dashboard.py", default_timeout=TIMEOUT).run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def weights_table(at: AppTest):
    """The per-query table of section 4 (row sum, largest weight, entropy)."""
    return next(df.value for df in at.dataframe if "row sum" in df.value.columns)


def chart_specs(at: AppTest) -> list[dict]:
    """Each chart's Vega-Lite spec, with its data sets back under ``datasets`` as records."""
    specs = []
    for el in at.get("vega_lite_chart"):
        spec = json.loads(el.proto.spec)
        spec.setdefault("datasets", {})  # inline data, or moved by Streamlit into Arrow
        spec["datasets"].update(
            {
                ds.name: pa.ipc.open_stream(ds.data.data).read_all().to_pylist()
                for ds in el.proto.datasets
            }
        )
        specs.append(spec)
    return specs


def tokens_shown(at: AppTest) -> list[str]:
    return at.get("code")[0].value.split("  ·  ")


def test_page_has_the_seeds_sections_in_order(app):
    titles = [h.value for h in app.header]
    assert titles == [*SECTION_TITLES, "9 · Take it with you"]
    # every section has its one-line explanation right under its title
    assert len(app.caption) >= len(titles)
    assert tokens_shown(app) == ["[CLS]", "hi", "how", "are", "you", "[SEP]"]


def test_numbers_on_the_page_match_the_engine(app):
    emb = attn_core.embed("hi how are you")
    res = attn_core.self_attention(emb.vectors)
    table = weights_table(app)
    np.testing.assert_allclose(table["row sum"], 1.0)
    np.testing.assert_allclose(table["entropy (bits)"], res.entropy)
    np.testing.assert_allclose(table["largest weight"], res.weights.max(axis=1))
    spread = attn_core.spread_ratio(res.x, res.output)
    assert app.metric[0].value == f"{spread:.2f}"


def test_heatmaps_hold_the_real_matrices(app):
    emb = attn_core.embed("hi how are you")
    res = attn_core.self_attention(emb.vectors)
    specs = chart_specs(app)
    scores = [s for s in specs if _value_title(s) == "w′_ij"]
    assert len(scores) == 1
    rows = _rows(scores[0])
    assert len(rows) == 36
    got = np.array([r["value"] for r in rows]).reshape(6, 6)
    np.testing.assert_allclose(got, res.scores, rtol=1e-12)


def _value_title(spec: dict) -> str | None:
    for layer in spec.get("layer", []):
        colour = layer.get("encoding", {}).get("color", {})
        if colour.get("field") == "value":
            return colour.get("title")
    return None


def _rows(spec: dict) -> list[dict]:
    return next(rows for rows in spec["datasets"].values() if rows and "value" in rows[0])


@pytest.mark.parametrize(
    ("example", "first", "second"),
    [
        ("Two kinds of bank", "river bank", "bank raised"),
        ("Repeated words", "the cat and the dog", "the dog chased"),
        ("A paragraph", "Self-attention lets every word", "Attention weights"),
        ("The seed's sentence", "hi how are you", "how old are you"),
    ],
)
def test_examples_fill_both_text_boxes(app, example, first, second):
    app.text_area(key="text").set_value("something else").run()
    app.button_group(key="example").set_value(example).run()
    assert_clean(app)
    assert first in app.text_area(key="text").value
    assert second in app.text_input(key="text2").value


def test_repeated_tokens_keep_their_own_rows(app):
    app.text_area(key="text").set_value("the cat and the dog").run()
    assert_clean(app)
    assert list(weights_table(app)["query"]) == [
        "[CLS]",
        "the #1",
        "cat",
        "and",
        "the #2",
        "dog",
        "[SEP]",
    ]


def test_token_options(app):
    app.text_area(key="text").set_value("embeddings work").run()
    assert tokens_shown(app) == ["[CLS]", "em", "##bed", "##ding", "##s", "work", "[SEP]"]
    app.toggle(key="merge").set_value(True).run()
    assert tokens_shown(app) == ["[CLS]", "embeddings", "work", "[SEP]"]
    app.toggle(key="special").set_value(False).run()
    assert_clean(app)
    assert tokens_shown(app) == ["embeddings", "work"]


def test_vector_kind_changes_the_numbers(app):
    before = weights_table(app)["entropy (bits)"].to_numpy()
    app.button_group(key="kind").set_value("contextual").run()
    assert_clean(app)
    emb = attn_core.embed("hi how are you", kind="contextual")
    expected = attn_core.self_attention(emb.vectors).entropy
    np.testing.assert_allclose(weights_table(app)["entropy (bits)"], expected, rtol=1e-6)
    assert not np.allclose(before, expected)


def test_stretch_colours_keeps_the_weights_and_changes_the_colour_range(app):
    def weight_domain() -> list[float]:
        spec = next(s for s in chart_specs(app) if _value_title(s) == "w_ij")
        return spec["layer"][0]["encoding"]["color"]["scale"]["domain"]

    assert weight_domain() == [0.0, 1.0]
    app.toggle(key="stretch").set_value(True).run()
    assert_clean(app)
    res = attn_core.self_attention(attn_core.embed("hi how are you").vectors)
    assert weight_domain() == pytest.approx([0.0, res.weights.max()])
    np.testing.assert_allclose(weights_table(app)["row sum"], 1.0)


def test_temperature_scale_and_causal_controls(app):
    app.slider(key="temperature").set_value(5.0).run()
    hot = weights_table(app)["entropy (bits)"].to_numpy()
    emb = attn_core.embed("hi how are you")
    np.testing.assert_allclose(hot, attn_core.self_attention(emb.vectors, temperature=5.0).entropy)
    app.toggle(key="scale").set_value(True).run()
    scaled = attn_core.self_attention(emb.vectors, scale=True, temperature=5.0).entropy
    np.testing.assert_allclose(weights_table(app)["entropy (bits)"], scaled)
    app.toggle(key="causal").set_value(True).run()
    assert_clean(app)
    table = weights_table(app)
    assert table["largest weight"].iloc[0] == 1.0  # the first token sees only itself
    assert table["entropy (bits)"].iloc[0] == 0.0
    np.testing.assert_allclose(table["row sum"], 1.0)


def test_token_focus_writes_the_sum_with_real_numbers(app):
    app.selectbox(key="focus").set_value(2).run()
    assert_clean(app)
    emb = attn_core.embed("hi how are you")
    res = attn_core.self_attention(emb.vectors)
    latex = app.latex[0].value
    assert "y_{2}" in latex
    top = int(np.argmax(res.weights[2]))
    assert f"{res.weights[2, top]:.3f}\\,x_{{{top}}}" in latex
    first = ",\\ ".join(f"{a:.2f}" for a in res.output[2, :3])
    assert first in latex


def test_focus_survives_a_shorter_text(app):
    app.selectbox(key="focus").set_value(5).run()
    app.text_area(key="text").set_value("hi").run()
    assert_clean(app)
    assert app.selectbox(key="focus").value == 0


@pytest.mark.parametrize("method", ["pca", "tsne", "raw"])
def test_geometry_methods(app, method):
    app.button_group(key="method").set_value(method).run()
    assert_clean(app)
    if method == "raw":
        app.number_input(key="feature_a").set_value(5).run()
        app.number_input(key="feature_b").set_value(200).run()
        assert_clean(app)
        emb = attn_core.embed("hi how are you")
        spec = next(s for s in chart_specs(app) if "x (before)" in json.dumps(s))
        titles = json.dumps(spec)
        assert "feature 5" in titles and "feature 200" in titles
        xs = sorted({round(r["x"], 9) for r in _points(spec) if r.get("stage") == "x (before)"})
        assert xs == sorted({round(v, 9) for v in emb.vectors[:, 5]})


def _points(spec: dict) -> list[dict]:
    return [r for rows in spec["datasets"].values() for r in rows if "stage" in r]


def test_context_awareness_same_before_different_after(app):
    app.text_area(key="text").set_value("I sat by the river bank").run()
    app.text_input(key="text2").set_value("the bank raised interest rates").run()
    app.selectbox(key="shared_word").set_value("bank").run()
    assert_clean(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Cosine similarity before attention"] == "1.000"
    a = attn_core.self_attention(attn_core.embed("I sat by the river bank").vectors)
    b = attn_core.self_attention(attn_core.embed("the bank raised interest rates").vectors)
    ya, yb = a.output[6], b.output[2]
    cos = ya @ yb / np.linalg.norm(ya) / np.linalg.norm(yb)
    assert metrics["Cosine similarity after attention"] == f"{cos:.3f}"
    assert cos < 0.999


def test_context_without_shared_words_says_so(app):
    app.text_area(key="text").set_value("alpha").run()
    app.text_input(key="text2").set_value("omega").run()
    assert_clean(app)
    # [CLS] and [SEP] are in both, but they are not words the texts share
    assert any("share no word" in i.value for i in app.info)


def test_learnable_mode_shows_q_k_v_and_switches_the_scores(app):
    app.radio(key="mode").set_value(LEARNABLE).run()
    assert_clean(app)
    assert app.toggle(key="scale").value is True  # projections default to 1/√d_k
    assert any("Q Kᵀ" in m.value for m in app.markdown)
    emb = attn_core.embed("hi how are you")
    proj = attn_core.random_projections(384, 64, seed=0)
    res = attn_core.self_attention(emb.vectors, proj)
    np.testing.assert_allclose(weights_table(app)["entropy (bits)"], res.entropy)
    qkv = app.button_group(key="qkv")
    for name, matrix in (("k", res.k), ("v", res.v), ("q", res.q)):
        qkv.set_value(name).run()
        assert_clean(app)
        shown = next(s for s in chart_specs(app) if _value_title(s) == name)
        got = np.array([r["value"] for r in _rows(shown)]).reshape(matrix.shape)
        np.testing.assert_allclose(got, matrix, rtol=1e-12)
    titles = [s.get("title") for s in chart_specs(app)]
    assert {"W, parameter-free", "W, random projections", "difference"} <= set(titles)
    # back to parameter-free: scale goes back to that mode's default
    app.radio(key="mode").set_value("free").run()
    assert app.toggle(key="scale").value is False


def test_projection_settings(app):
    app.radio(key="mode").set_value(LEARNABLE).run()
    app.number_input(key="seed").set_value(7).run()
    app.select_slider(key="d_k").set_value(8).run()
    app.selectbox(key="init").set_value("kaiming_normal").run()
    assert_clean(app)
    emb = attn_core.embed("hi how are you")
    proj = attn_core.random_projections(384, 8, seed=7, init="kaiming_normal")
    res = attn_core.self_attention(emb.vectors, proj)
    np.testing.assert_allclose(weights_table(app)["entropy (bits)"], res.entropy)
    app.button(key="reroll").click().run()
    assert_clean(app)
    assert app.number_input(key="seed").value != 7


def test_real_head_mode_shows_the_models_own_attention(app):
    app.selectbox(key="layer").set_value(2).run()
    app.selectbox(key="head").set_value(3).run()
    app.radio(key="mode").set_value("real").run()
    assert_clean(app)
    assert app.toggle(key="scale").value is True  # the model scales by 1/√d_head
    head = attn_core.model_head("hi how are you", layer=2, head=3)
    table = weights_table(app)
    np.testing.assert_allclose(table["largest weight"], head.weights.max(axis=1), atol=1e-5)
    np.testing.assert_allclose(
        table["entropy (bits)"], attn_core.row_entropy(head.weights), atol=1e-4
    )
    # W' = Q Kᵀ of the head's own projections applied to the hidden states entering layer 2
    res = attn_core.self_attention(head.hidden, head.projections)
    scores = next(s for s in chart_specs(app) if _value_title(s) == "w′_ij")
    got = np.array([r["value"] for r in _rows(scores)]).reshape(6, 6)
    np.testing.assert_allclose(got, res.scores, rtol=1e-9)
    # X, 384 wide, is one image: one pixel per cell, coloured from the hidden states
    x_chart = next(s for s in chart_specs(app) if _value_title(s) == "x")
    url = next(r["url"] for rows in x_chart["datasets"].values() for r in rows if "url" in r)
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    domain = charts.symmetric_domain(head.hidden, 0.99)
    np.testing.assert_array_equal(pixels, charts.colours(head.hidden, "diverging", domain))
    check = next(c.value for c in app.caption if "Largest difference" in c.value)
    assert float(check.rsplit(": ", 1)[1].rstrip(".")) < 1e-5
    titles = [s.get("title") for s in chart_specs(app)]
    assert "W, layer 2, head 3" in titles
    # the head sees every word piece: the token options are not offered
    assert not [t for t in app.toggle if t.key in ("special", "merge")]
    assert not app.get("button_group") or all(b.key != "kind" for b in app.button_group)
    # a control that changes the head says the model does not do that
    app.toggle(key="causal").set_value(True).run()
    assert any("changed by the controls" in c.value for c in app.caption)


def test_real_head_mode_in_the_context_section(app):
    app.radio(key="mode").set_value("real").run()
    assert_clean(app)
    a = attn_core.model_head("hi how are you", layer=0, head=0)
    b = attn_core.model_head("hey, how old are you?", layer=0, head=0)
    ya = attn_core.self_attention(a.hidden, a.projections).output[a.tokens.index("how")]
    yb = attn_core.self_attention(b.hidden, b.projections).output[b.tokens.index("how")]
    cosine = ya @ yb / np.linalg.norm(ya) / np.linalg.norm(yb)
    after = next(m for m in app.metric if m.label == "Cosine similarity after attention")
    assert after.value == f"{cosine:.3f}"


@pytest.mark.parametrize("mode", ["free", LEARNABLE, "real"])
def test_training_learns_and_replays_every_saved_step(app, mode):
    app.radio(key="mode").set_value(mode).run()
    # the head on show is the natural target in real mode; elsewhere the previous token
    assert app.button_group(key="objective").value == ("imitate" if mode == "real" else "previous")
    app.button_group(key="objective").set_value("imitate").run()
    app.select_slider(key="train_steps").set_value(100).run()
    assert any("Press Train to learn to imitate layer 0, head 0" in i.value for i in app.info)
    app.button(key="train").click().run()
    assert_clean(app)
    emb = attn_core.embed("hi how are you")
    head = attn_core.model_head("hi how are you", layer=0, head=0)
    x = head.hidden if mode == "real" else emb.vectors
    target = attn_core.pool_attention(head.weights, emb.pieces)
    start = attn_core.random_projections(384, 64, seed=0)
    run = attn_core.train_projections(x, target, start, steps=100, learning_rate=0.003)
    curve = next(s for s in chart_specs(app) if s.get("title") == "Loss")
    shown = [r["loss"] for r in next(iter(curve["datasets"].values()))]
    np.testing.assert_allclose(shown, run.losses, rtol=1e-9)  # same seed, same losses
    assert run.losses[-1] < 0.5 * run.losses[0]
    at_step = app.select_slider(key="train_at")
    assert at_step.value == 100
    for step in (0, run.saved_steps[3]):
        at_step.set_value(step).run()
        assert_clean(app)
        now = next(s for s in chart_specs(app) if s.get("title") == f"W after step {step}")
        got = np.array([r["value"] for r in _rows(now)]).reshape(6, 6)
        np.testing.assert_allclose(got, run.at(step).weights, rtol=1e-9)
    # another target: the run is for other inputs, so the page asks for a new one
    app.button_group(key="objective").set_value("previous").run()
    assert any("Press Train" in i.value for i in app.info)
    target = next(s for s in chart_specs(app) if s.get("title") == "Target")
    got = np.array([r["value"] for r in _rows(target)]).reshape(6, 6)
    np.testing.assert_array_equal(got, attn_core.previous_token_target(6))
    # in the link only where it is not the mode's default
    assert app.query_params.get("objective") == ("previous" if mode == "real" else None)


def test_previous_token_on_repeated_static_words_explains_the_floor():
    at = open_link({"text": "the cat and the dog", "objective": "previous"})
    assert_clean(at)
    assert any("repeated token has one static vector" in c.value for c in at.caption)
    at.button_group(key="kind").set_value("contextual").run()
    assert not any("repeated token has one static vector" in c.value for c in at.caption)


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
    np.testing.assert_allclose(table["row sum"], 1.0)
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
    at = AppTest.from_file("../dashboard.py", default_timeout=TIMEOUT).run()
    assert_clean(at)
    after_first = len(calls)
    assert after_first == 2  # the text and the second sentence
    at.slider(key="temperature").set_value(0.5).run()
    at.toggle(key="causal").set_value(True).run()
    at.radio(key="mode").set_value(LEARNABLE).run()
    at.button_group(key="method").set_value("raw").run()
    assert_clean(at)
    assert len(calls) == after_first
    at.text_area(key="text").set_value("a new text").run()
    assert len(calls) == after_first + 1


def test_the_default_page_never_imports_torch():
    """Static vectors come from the model's files: the first page needs no torch at all."""
    code = (
        "import sys; from streamlit.testing.v1 import AppTest;"
        "at = AppTest.from_file('dashboard.py', default_timeout=180).run();"
        "at.slider(key='temperature').set_value(0.5).run();"
        "at.toggle(key='causal').set_value(True).run();"
        "assert not at.exception, at.exception;"
        "print([m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules])"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_default_page_never_runs_the_transformer(monkeypatch):
    """Static vectors are table rows: only a head target or the trained-head mode runs it."""
    st.cache_data.clear()
    heads: list[tuple] = []
    real = attn_core.model_head

    def counting(text, **kwargs):
        heads.append((text, kwargs["layer"], kwargs["head"]))
        return real(text, **kwargs)

    monkeypatch.setattr(attn_core, "model_head", counting)
    at = AppTest.from_file("../dashboard.py", default_timeout=TIMEOUT).run()
    at.slider(key="temperature").set_value(0.5).run()
    at.radio(key="mode").set_value(LEARNABLE).run()
    assert_clean(at)
    assert heads == []
    at.button_group(key="objective").set_value("imitate").run()
    assert_clean(at)
    assert heads == [("hi how are you", 0, 0)]


def test_reruns_do_not_walk_the_libraries_objects_when_collecting_garbage():
    """Streamlit collects garbage after every rerun; what the libraries loaded is frozen out."""
    at = AppTest.from_file("../dashboard.py", default_timeout=TIMEOUT).run()
    assert_clean(at)
    frozen = gc.get_freeze_count()
    assert frozen > 100_000  # Streamlit, Altair, pandas, the model's files: all in by now
    at.slider(key="temperature").set_value(0.5).run()
    # frozen once, not again on every rerun (a frozen object can still die by refcount)
    assert gc.get_freeze_count() <= frozen
    at.button_group(key="kind").set_value("contextual").run()
    assert_clean(at)
    assert attn_core.load_model().network_loaded  # contextual vectors brought the network in


def test_user_text_is_never_markdown(app):
    hostile = "[click](https://example.com) <img src=x onerror=alert(1)> $x^2$ :red[red]"
    app.text_area(key="text").set_value(hostile).run()
    assert_clean(app)
    for element in [*app.markdown, *app.caption]:
        assert "example.com" not in element.value and "onerror" not in element.value
    assert not re.search(r"onerror|example\.com", app.latex[0].value)


def open_link(params: dict[str, str | list[str]]) -> AppTest:
    at = AppTest.from_file("../dashboard.py", default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


A_LINK = {
    "text": "the cat and the dog",
    "text2": "the dog barked",
    "kind": "contextual",
    "special": "0",
    "merge": "1",
    "mode": "learnable",
    "scale": "0",
    "temperature": "2.5",
    "causal": "1",
    "stretch": "1",
    "focus": "2",
    "method": "raw",
    "feature_a": "3",
    "feature_b": "5",
    "seed": "7",
    "d_k": "8",
    "init": "kaiming_normal",
    "qkv": "v",
}


def test_a_link_restores_the_whole_view_and_round_trips():
    at = open_link(A_LINK)
    assert_clean(at)
    assert not at.warning
    assert at.text_area(key="text").value == "the cat and the dog"
    assert at.text_input(key="text2").value == "the dog barked"
    assert at.radio(key="mode").value == "learnable"
    assert at.toggle(key="scale").value is False
    assert at.slider(key="temperature").value == 2.5
    assert at.selectbox(key="focus").value == 2
    assert at.button_group(key="qkv").value == "v"
    assert at.number_input(key="feature_b").value == 5
    # the numbers on the page are those of the view the link describes
    emb = attn_core.embed(
        "the cat and the dog", kind="contextual", special_tokens=False, merge_subwords=True
    )
    proj = attn_core.random_projections(384, 8, seed=7, init="kaiming_normal")
    res = attn_core.self_attention(emb.vectors, proj, scale=False, temperature=2.5, causal=True)
    np.testing.assert_allclose(weights_table(at)["entropy (bits)"], res.entropy, rtol=1e-6)
    # and the address bar says exactly what came in
    assert dict(at.query_params) == A_LINK


def test_a_default_view_has_a_bare_address():
    at = AppTest.from_file("../dashboard.py", default_timeout=TIMEOUT).run()
    assert dict(at.query_params) == {}


def test_a_hostile_link_is_fixed_with_visible_notices():
    at = open_link(
        {
            "temperature": "nan",
            "d_k": "-5",
            "seed": "99999999999999999999",
            "focus": "200",
            "feature_a": "9999",
            "method": "raw",
            "mode": "<script>alert(1)</script>",
            "text": "<img src=x onerror=alert(1)> " + "z" * 5000,
            "model": "some/hub-model",
            "[x](http://evil)": "1",
        }
    )
    assert_clean(at)
    warnings = " ".join(w.value for w in at.warning)
    for key in ("temperature", "d_k", "seed", "feature_a", "mode", "text", "model"):
        assert f"“{key}”" in warnings, key
    assert "evil" not in warnings and "onerror" not in warnings and "zzz" not in warnings
    assert at.slider(key="temperature").value == 1.0  # ignored: default
    assert at.select_slider(key="d_k").value == 2  # clamped to the nearest allowed
    assert at.number_input(key="seed").value == attn_core.projections.MAX_SEED
    assert at.selectbox(key="focus").value == 0  # past the last token
    assert at.radio(key="mode").value == "free"
    assert len(at.text_area(key="text").value) == 2000
    np.testing.assert_allclose(weights_table(at)["row sum"], 1.0)
    assert "model" not in at.query_params  # unknown keys are dropped from the address


def test_repeated_keys_use_the_first():
    at = open_link({"seed": ["3", "9"], "mode": "learnable"})
    assert_clean(at)
    assert at.number_input(key="seed").value == 3
    assert any("appeared 2 times" in w.value for w in at.warning)


def test_the_address_follows_the_controls(app):
    app.slider(key="temperature").set_value(2.0).run()
    assert app.query_params["temperature"] == "2"
    app.selectbox(key="focus").set_value(3).run()  # a control inside a fragment
    assert app.query_params["focus"] == "3"
    app.radio(key="mode").set_value(LEARNABLE).run()
    assert app.query_params["mode"] == "learnable" and "scale" not in app.query_params
    app.slider(key="temperature").set_value(1.0).run()
    assert "temperature" not in app.query_params


def test_share_button_shows_a_link_to_this_view(app):
    app.slider(key="temperature").set_value(0.5).run()
    app.button(key="share").click().run()
    assert_clean(app)
    links = [c.value for c in app.get("code") if "temperature=0.5" in c.value]
    assert len(links) == 1


def test_export_section_offers_every_chart_and_matrix(app):
    app.radio(key="mode").set_value(LEARNABLE).run()
    assert_clean(app)
    chart_names = app.selectbox(key="export_chart").options
    assert len(chart_names) == len(app.get("vega_lite_chart"))  # every chart on the page
    assert "W, normalised" in chart_names and "Geometry" in chart_names
    assert app.selectbox(key="export_matrix").options == ["X", "W_prime", "W", "Y", "Q", "K", "V"]
    buttons = {b.proto.label for b in app.get("download_button")}
    assert buttons == {"PNG", "SVG", "CSV", "All (.npz)", "Snapshot (.json)"}


def test_presentation_walks_through_every_step_one_at_a_time(app):
    app.toggle(key="present").set_value(True).run()
    assert_clean(app)
    for step, title in enumerate(SECTION_TITLES, start=1):
        assert [h.value for h in app.header] == [title], step
        assert app.query_params["step"] == str(step) if step > 1 else "step" not in app.query_params
        assert app.button(key="previous_step").proto.disabled == (step == 1)
        assert app.button(key="next_step").proto.disabled == (step == 8)
        if step < 8:
            app.button(key="next_step").click().run()
            assert_clean(app)
    app.button(key="previous_step").click().run()
    assert [h.value for h in app.header] == [SECTION_TITLES[6]]


def test_settings_survive_while_their_controls_are_off_screen(app):
    app.slider(key="temperature").set_value(3.0).run()
    app.toggle(key="causal").set_value(True).run()
    app.toggle(key="present").set_value(True).run()  # step 1: no temperature slider drawn
    app.button(key="next_step").click().run()
    app.button(key="next_step").click().run()
    app.button(key="next_step").click().run()  # step 4, where the slider lives
    assert_clean(app)
    assert app.slider(key="temperature").value == 3.0
    assert app.toggle(key="causal").value is True
    assert weights_table(app)["largest weight"].iloc[0] == 1.0  # causal still applied
    app.toggle(key="present").set_value(False).run()
    assert len(app.header) == 9 and app.slider(key="temperature").value == 3.0


def test_on_a_projector_small_charts_grow_and_their_type_is_larger():
    def comparison(at: AppTest) -> dict:
        return next(s for s in chart_specs(at) if s.get("title") == "W, parameter-free")

    at = open_link({"step": "8"})
    small = comparison(at)
    at = open_link({"present": "1", "step": "8"})
    assert_clean(at)
    large = comparison(at)
    assert large["width"] == round(small["width"] * 1.4) > small["width"]
    assert large["height"] == round(small["height"] * 1.4)
    assert large["config"]["axis"]["labelFontSize"] == 16


def test_a_link_can_open_a_presentation_on_any_step():
    at = open_link({"present": "1", "step": "6", "text": "the river bank"})
    assert_clean(at)
    assert [h.value for h in at.header] == ["6 · Geometry"]
    assert at.metric[0].label == "Spread after ÷ before"
