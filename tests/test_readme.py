"""The README's notebook example runs as written, with the files the page would save."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

import attn_core
from attn_core import export

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_notebook_example_runs_and_does_what_its_comments_say(tmp_path, monkeypatch, model):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "the README has one notebook example"
    # The two files the example opens, written as the page's download buttons write them.
    text = "I sat on the river bank"
    emb = attn_core.embed(text, model=model)
    snap = export.snapshot({"text": text}, emb, attn_core.self_attention(emb.vectors))
    (tmp_path / "attention-snapshot.json").write_text(json.dumps(snap), encoding="utf-8")
    start = attn_core.random_projections(384, 64, seed=0)
    target = attn_core.previous_token_target(len(emb.tokens))
    saved = attn_core.train_projections(emb.vectors, target, start, steps=5)
    (tmp_path / "trained-projections.npz").write_bytes(export.training_npz(saved, list(emb.tokens)))
    monkeypatch.chdir(tmp_path)
    for name in ("embed", "model_head"):  # share the session's model instead of a reload
        monkeypatch.setattr(attn_core, name, _with_model(getattr(attn_core, name), model))

    names: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), names)

    head, run = names["head"], names["run"]
    recomputed = attn_core.self_attention(head.hidden, head.projections).weights
    np.testing.assert_allclose(recomputed, head.weights, atol=1e-5)
    assert run.steps == 300 and run.losses[-1] < run.losses[0] / 2
    assert names["trained"].w_q.tolist() == saved.trained.w_q.tolist()
    assert names["emb"].tokens == emb.tokens
    np.testing.assert_allclose(names["res"].weights, np.array(snap["results"]["W"]))


def _with_model(function, model):
    """The same function, with the test session's loaded model unless one is given."""
    return lambda *args, **kwargs: function(*args, **{"model": model, **kwargs})


def test_the_readme_is_a_newcomers_five_minutes():
    assert len(README.read_bytes()) <= 12 * 1024
