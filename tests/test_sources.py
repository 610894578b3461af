"""Opening models: folders, the hub allow-list from a cache with no network, and every
bad input a clear ValueError."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import attn_core
from attn_core import load_model, sources

REVISION = "0123456789abcdef0123456789abcdef01234567"


def _hub_cache(root: Path, repo_id: str, files: Path) -> Path:
    """A hub cache holding ``files`` as ``repo_id``'s main revision, laid out as
    huggingface_hub lays it out."""
    repo = root / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / REVISION
    shutil.copytree(files, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    return root


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network: HF_HUB_OFFLINE and an empty hub cache of the test's own."""
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(attn_core.model, "_loaded", {})  # hub ids open afresh from this cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache


@pytest.mark.parametrize("hub_id", ["gpt2", "openai-community/gpt2"])
def test_an_allow_listed_hub_id_opens_from_the_cache(tiny_folders, offline, hub_id):
    _hub_cache(offline, "openai-community/gpt2", tiny_folders["gpt2"])
    m = load_model(hub_id)
    assert m.causal and m.name == hub_id
    assert Path(m.source).parts[-2:] == ("snapshots", REVISION)
    by_folder = load_model(str(tiny_folders["gpt2"]))
    np.testing.assert_array_equal(
        attn_core.next_token("The bank", model=m).probs,
        attn_core.next_token("The bank", model=by_folder).probs,
    )


def test_a_cache_under_the_short_id_is_found_too(tiny_folders, offline):
    _hub_cache(offline, "roberta-base", tiny_folders["roberta"])
    assert load_model("roberta-base").prefix == (0,)


def test_no_network_and_nothing_cached(offline):
    with pytest.raises(ValueError, match="no network and nothing cached"):
        load_model("distilgpt2")


def test_a_hub_id_outside_the_allow_list(offline):
    with pytest.raises(ValueError, match="bert-base-uncased, roberta-base, distilgpt2, gpt2"):
        load_model("facebook/opt-125m")


def test_a_folder_with_no_model(tmp_path):
    (tmp_path / "README.md").write_text("notes")
    with pytest.raises(ValueError, match=r"holds no model: expected config\.json and"):
        load_model(str(tmp_path))


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def test_an_unsupported_architecture(tiny_folders, tmp_path):
    folder = _copy(tiny_folders["bert"], tmp_path / "t5")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "t5"}))
    with pytest.raises(ValueError, match="'t5' model; the models that open are bert, roberta"):
        load_model(str(folder))


def test_an_unsupported_activation(tiny_folders, tmp_path):
    folder = _copy(tiny_folders["bert"], tmp_path / "swish")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "hidden_act": "swish"}))
    with pytest.raises(ValueError, match="activation must be one of"):
        load_model(str(folder))


def test_a_truncated_safetensors_file(tiny_folders, tmp_path):
    folder = _copy(tiny_folders["gpt2"], tmp_path / "cut")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="is truncated: its header promises"):
        load_model(str(folder))
    weights.write_bytes(data[:5])  # not even a header
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_model(str(folder))


def test_a_truncated_bin_file(tiny_folders, tmp_path):
    folder = _copy(tiny_folders["roberta_bin"], tmp_path / "cut_bin")
    weights = folder / "pytorch_model.bin"
    weights.write_bytes(weights.read_bytes()[:3000])
    with pytest.raises(ValueError, match="not a readable PyTorch weights file"):
        load_model(str(folder))


def test_weights_missing_a_layer(tiny_folders, tmp_path):
    folder = _copy(tiny_folders["roberta"], tmp_path / "deeper")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))
    with pytest.raises(ValueError, match="do not hold a 3-layer roberta network"):
        load_model(str(folder))


def test_a_tokenizer_larger_than_the_embedding_table(tiny_folders, tmp_path):
    from tokenizers import Tokenizer

    folder = _copy(tiny_folders["bert"], tmp_path / "big_vocab")
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.add_tokens([f"word{i}" for i in range(500)])
    tokenizer.save(str(folder / "tokenizer.json"))
    with pytest.raises(ValueError, match=r"tokenizer .* does not match the weights"):
        load_model(str(folder))


def test_a_download_reports_its_bytes(tiny_folders, offline, monkeypatch):
    """``hub_folder`` hands huggingface_hub a progress bar that reports bytes, as its
    ``snapshot_download`` drives one (created with ``unit="B"``, then ``update(n)``)."""
    import huggingface_hub

    size = (tiny_folders["gpt2"] / "model.safetensors").stat().st_size

    def download(repo_id, *, tqdm_class, local_files_only, **_):
        assert repo_id == "openai-community/gpt2" and not local_files_only
        files = tqdm_class(total=3, desc="Fetching 3 files")  # counts files: not reported
        files.update(1)
        with tqdm_class(total=0, initial=0, unit="B", unit_scale=True) as written:
            written.total = size
            for start in range(0, size, 4096):
                written.update(min(4096, size - start))
        return str(tiny_folders["gpt2"])

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", download)
    heard = []
    assert sources.hub_folder("gpt2", lambda done, total: heard.append((done, total)))
    assert heard[-1] == (size, size) and len(heard) == -(-size // 4096)
    assert [done for done, _ in heard] == sorted(done for done, _ in heard)
