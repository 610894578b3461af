"""app.models: which models a server offers, under which names."""

from __future__ import annotations

import pytest

import attn_core
from app import models


def test_the_bundled_model_first_then_the_operators_then_the_allow_list(tmp_path):
    (tmp_path / "a" / "mine").mkdir(parents=True)
    (tmp_path / "b" / "mine").mkdir(parents=True)
    argv = ["--model", str(tmp_path / "a" / "mine"), "--other", "x", "--model", "gpt2"]
    offered = models.offered(argv, env=f" {tmp_path / 'b' / 'mine'} , ")
    assert list(offered) == [
        attn_core.BUNDLED_MODEL,
        "mine",
        "gpt2",
        "b/mine",  # two folders of one name, told apart by their parents
        *(h for h in attn_core.HUB_MODELS if h != "gpt2"),
    ]
    assert offered[attn_core.BUNDLED_MODEL] is None
    assert offered["mine"] == str((tmp_path / "a" / "mine").resolve())
    assert offered["gpt2"] == "gpt2"


def test_nothing_named_offers_the_bundled_model_and_the_allow_list():
    assert list(models.offered([], env="")) == [attn_core.BUNDLED_MODEL, *attn_core.HUB_MODELS]


def test_the_size_of_a_models_weights(tiny_folders, tmp_path):
    folder = tiny_folders["gpt2"]
    size = (folder / "model.safetensors").stat().st_size / 2**20
    assert models.weights_mb(str(folder)) == pytest.approx(size)
    assert models.weights_mb("gpt2") == models.DOWNLOAD_MB["gpt2"]
    assert models.weights_mb(str(tmp_path)) is None  # an empty folder: nothing to weigh
    assert models.weights_mb(None) is None


@pytest.mark.parametrize(
    ("kind", "around"), [("bert", "[CLS] and [SEP]"), ("roberta", "<s> and </s>"), ("gpt2", "")]
)
def test_the_special_tokens_around_a_text(tiny_folders, kind, around):
    assert models.specials(attn_core.load_model(str(tiny_folders[kind]))) == around


def test_the_bundled_models_special_tokens():
    assert models.specials(attn_core.load_model()) == "[CLS] and [SEP]"
