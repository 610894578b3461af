"""Many viewers at once, in a small configuration (full size: python bench/load.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_module(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_concurrent_sessions_each_see_their_own_text(capsys):
    load = load_module("load")
    assert load.marker(3, 7) == "session zero three zero seven"
    assert load.main(["--sessions", "4", "--changes", "3", "--timeout", "600"]) == 0
    out = capsys.readouterr().out
    assert "12/12 answered, 0 errors" in out
