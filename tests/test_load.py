"""Many viewers at once, in a small configuration (full size: python bench/load.py)."""

from __future__ import annotations

import load
import pytest

pytestmark = pytest.mark.load


def test_concurrent_sessions_each_see_their_own_text(capsys):
    assert load.marker(3, 7) == "session zero three zero seven"
    assert load.main(["--sessions", "4", "--changes", "3", "--timeout", "600"]) == 0
    out = capsys.readouterr().out
    assert "12/12 answered, 0 errors" in out
