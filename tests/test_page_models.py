"""The page on the models its operator names: a tiny random GPT-2 given on the command
line (``streamlit run dashboard.py -- --model PATH``), and every way a model can fail to
open, each a message with the bundled model still working."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
from pagetest import assert_clean, chart_specs, new_app, weights_map, weights_shown

import attn_core
from app import models
from attn_core import charts

TEXT = "the cat sat on the mat"


@pytest.fixture
def gpt2(tiny_folders, tmp_path, monkeypatch):
    """The tiny GPT-2, offered as "tiny-gpt2" through the command-line option."""
    folder = shutil.copytree(tiny_folders["gpt2"], tmp_path / "tiny-gpt2")
    monkeypatch.setattr(sys, "argv", ["dashboard.py", "--model", str(folder)])
    return folder


def opened(params: dict[str, str]):
    at = new_app()
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_the_sidebar_offers_the_bundled_model_the_operators_and_the_allow_list(gpt2):
    at = opened({})
    assert_clean(at)
    choice = at.selectbox(key="model")
    assert choice.options == [attn_core.BUNDLED_MODEL, "tiny-gpt2", *attn_core.HUB_MODELS]
    assert choice.value == attn_core.BUNDLED_MODEL  # the default page is unchanged


def test_the_page_reads_the_text_as_gpt2_does(gpt2):
    at = opened({"model": "tiny-gpt2", "text": TEXT})
    assert_clean(at)
    model = attn_core.load_model(str(gpt2))
    tokens = attn_core.embed(TEXT, model=model).tokens
    shown = at.code[0].value.split("  ·  ")
    assert shown == charts.readable(tokens, True)
    assert "Ġ" not in at.code[0].value and shown[1].startswith("␣")
    assert "".join(shown).replace("␣", " ") == TEXT
    # no special tokens to keep or drop; merging words is still offered
    assert [t.key for t in at.toggle if t.key in ("special", "merge")] == ["merge"]
    # the link carries the model's name, never its path
    assert at.query_params["model"] == "tiny-gpt2"
    assert str(gpt2) not in json.dumps(dict(at.query_params))
    # the layer and head ranges are the model's: 2 layers of 4 heads
    assert at.selectbox(key="layer").options == ["0", "1"]
    assert at.selectbox(key="head").options == ["0", "1", "2", "3"]


def test_a_decoders_trained_head_keeps_the_causal_mask(gpt2):
    at = opened({"model": "tiny-gpt2", "text": TEXT, "mode": "real", "layer": "9", "head": "3"})
    assert_clean(at)
    assert (at.session_state["layer"], at.session_state["head"]) == (1, 3)  # fitted
    sent = weights_map(at)
    assert sent["settings"]["causal"] and "decoder" in sent["fixed"]["causal"]
    w = weights_shown(at)
    assert np.all(np.triu(w, 1) == 0)
    head = attn_core.model_head(TEXT, layer=1, head=3, model=attn_core.load_model(str(gpt2)))
    np.testing.assert_allclose(w, head.weights, atol=1e-6)  # the model's own attention
    # the parameter-free mode keeps the switch
    at.sidebar.radio(key="mode").set_value("free").run()
    assert_clean(at)
    assert weights_map(at)["fixed"] == {}


def test_what_comes_next(gpt2):
    at = opened({"model": "tiny-gpt2", "text": TEXT})
    assert_clean(at)
    model = attn_core.load_model(str(gpt2))
    guess = attn_core.next_token(TEXT, model=model, k=10)
    bars = next(s for s in chart_specs(at) if "most likely next tokens" in json.dumps(s))
    rows = next(r for r in bars["datasets"].values() if r and "value" in r[0])
    np.testing.assert_allclose([r["value"] for r in rows], guess.probs, rtol=1e-6)
    assert next(r["label"] for r in rows) == guess.tokens[0].replace(" ", "␣", 1)
    looks = next(s for s in chart_specs(at) if "Where the last token looks" in json.dumps(s))
    cells = next(r for r in looks["datasets"].values() if r and "value" in r[0])
    heads = attn_core.all_heads(TEXT, model=model).weights  # (L, H, T, T)
    want = heads[:, :, -1, :].mean(axis=1)  # (L, T)
    np.testing.assert_allclose(np.array([c["value"] for c in cells]).reshape(want.shape), want)
    assert any("most likely next token" in m.value for m in at.markdown)


def test_an_encoder_says_it_predicts_no_next_token():
    at = opened({"text": TEXT})
    assert any("is an encoder" in i.value for i in at.info)


def test_switching_models_keeps_the_text_and_fits_the_head(gpt2):
    at = opened({"text": TEXT, "mode": "real", "layer": "5", "head": "11"})
    assert_clean(at)
    at.sidebar.selectbox(key="model").set_value("tiny-gpt2").run()
    assert_clean(at)
    assert at.session_state["text"] == TEXT
    assert (at.session_state["layer"], at.session_state["head"]) == (0, 0)


def _broken(tiny_folders, tmp_path, kind: str):
    folder = shutil.copytree(tiny_folders["gpt2"], tmp_path / kind)
    if kind == "empty":
        shutil.rmtree(folder)
        folder.mkdir()
    elif kind == "t5":
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "model_type": "t5"}))
    elif kind == "cut":
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:2000])
    elif kind == "mismatch":  # a tokenizer with more tokens than the weights have rows
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.add_tokens([f"word{i}" for i in range(500)])
        tokenizer.save(str(folder / "tokenizer.json"))
    return folder


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("empty", "holds no model"),
        ("t5", "the models that open are"),
        ("cut", "not a readable safetensors file"),
        ("mismatch", "does not match"),
    ],
)
def test_a_model_that_cannot_open_is_a_message(tiny_folders, tmp_path, monkeypatch, kind, message):
    folder = _broken(tiny_folders, tmp_path, kind)
    monkeypatch.setattr(sys, "argv", ["dashboard.py", "--model", str(folder)])
    at = opened({"model": kind, "text": TEXT})
    assert_clean(at)
    assert any(message in w.value for w in at.warning), [w.value for w in at.warning]
    assert not any(str(tmp_path) in w.value for w in at.warning)  # the name, never the path
    assert at.session_state["model"] == attn_core.BUNDLED_MODEL  # back to the bundled model
    assert at.code[0].value.startswith("[CLS]")  # which still works


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    monkeypatch.setattr(attn_core.model, "_loaded", dict(attn_core.model._loaded))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))


def test_no_network_and_nothing_cached_is_a_message(no_network):
    at = opened({"model": "distilgpt2", "text": TEXT})
    assert_clean(at)
    assert any("no network and nothing cached" in w.value for w in at.warning)
    assert at.code[0].value.startswith("[CLS]")


def test_a_hub_id_off_the_allow_list_is_refused(no_network, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["dashboard.py", "--model", "facebook/opt-125m"])
    at = opened({"model": "facebook/opt-125m", "text": TEXT})
    assert_clean(at)
    assert any("not a model folder, nor one of the hub models" in w.value for w in at.warning)


def test_a_model_too_large_for_the_memory_limit_is_refused(gpt2, monkeypatch):
    from app import memory

    limit_mb = memory.rss_bytes() / memory.MB / memory.HEAVY_UP_TO + 1  # 1 MB of room
    monkeypatch.setenv(memory.LIMIT_ENV, f"{limit_mb:.0f}")
    monkeypatch.setattr(models, "weights_mb", lambda source: 500.0)
    at = opened({"model": "tiny-gpt2", "text": TEXT})
    assert_clean(at)
    assert any(
        "near its memory limit" in w.value and "open tiny-gpt2" in w.value for w in at.warning
    )
    assert at.session_state["model"] == attn_core.BUNDLED_MODEL
