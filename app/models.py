"""The models a server offers: the bundled one, those its operator names, and the hub's
allow-list.

The operator names models on the command line, ``streamlit run dashboard.py -- --model
PATH_OR_ID`` (repeatable), or in ``ATTN_MODELS`` (several separated by commas). Each is
offered under a short name, what a link carries: a folder's own name, a hub id as it is.
A path never travels in a link and never comes from one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from attn_core.pretrained import Model
from attn_core.sources import BUNDLED_MODEL, HUB_MODELS, WEIGHT_FILES

ENV = "ATTN_MODELS"
DOWNLOAD_MB = {"bert-base-uncased": 440, "roberta-base": 499, "distilgpt2": 353, "gpt2": 548}
"""The size of each allow-listed model's weights file on the hub: what a download costs
and about what the model takes in memory."""


def offered(argv: list[str] | None = None, env: str | None = None) -> dict[str, str | None]:
    """Every model the page offers, by name: what ``attn_core.load_model`` opens it from.

    The bundled model first (``None``: it needs no path), then the operator's, then the
    hub's allow-list. Two folders of the same name are told apart by their parent's.
    """
    argv = sys.argv[1:] if argv is None else argv
    env = os.environ.get(ENV, "") if env is None else env
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--model", action="append", default=[])
    named = parser.parse_known_args(argv)[0].model
    named += [part.strip() for part in env.split(",") if part.strip()]
    models: dict[str, str | None] = {BUNDLED_MODEL: None}
    for source in named:
        path = Path(source).expanduser()
        if not path.is_dir():  # a hub id (load_model refuses one off the allow-list)
            models.setdefault(source, source)
            continue
        path = path.resolve()
        name = path.name
        if name in models and models[name] != str(path):
            name = f"{path.parent.name}/{path.name}"
        models.setdefault(name, str(path))
    for hub_id in HUB_MODELS:
        models.setdefault(hub_id, hub_id)
    return models


def weights_mb(source: str | None) -> float | None:
    """About how much memory a model's weights take (MB): its weights file, or for an
    allow-listed hub id its size on the hub; ``None`` where that is not known."""
    if source is None:
        return None
    folder = Path(source)
    if folder.is_dir():
        files = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
        return files[0].stat().st_size / 2**20 if files else None
    return DOWNLOAD_MB.get(source)


def specials(model: Model) -> str:
    """The special tokens the model puts around every text, for a sentence ("[CLS] and
    [SEP]", "<s> and </s>"); "" for a model that adds none (GPT-2)."""
    names = [model.tokenizer.id_to_token(i) for i in (*model.prefix, *model.suffix)]
    return " and ".join(dict.fromkeys(names))
