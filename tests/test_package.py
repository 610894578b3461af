"""Layering: the math imports fast and without torch, transformers or streamlit."""

from __future__ import annotations

import subprocess
import sys


def test_import_attn_core_leaves_heavy_modules_out():
    code = (
        "import sys, attn_core, attn_core.attention, attn_core.reduce, attn_core.projections;"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'streamlit',"
        " 'sklearn', 'altair') if m in sys.modules];"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_engine_never_imports_streamlit():
    from pathlib import Path

    for path in Path(__file__).parents[1].joinpath("attn_core").glob("*.py"):
        assert "import streamlit" not in path.read_text(), path


def test_only_the_adapters_import_torch():
    """The model adapter reads the model; training borrows torch's autograd. Nothing else."""
    from pathlib import Path

    for path in Path(__file__).parents[1].joinpath("attn_core").glob("*.py"):
        text = path.read_text()
        if path.name != "embeddings.py":
            assert "import sentence_transformers" not in text, path
            assert "from transformers" not in text and "import transformers" not in text, path
        if path.name not in ("embeddings.py", "training.py"):
            assert "import torch" not in text, path
