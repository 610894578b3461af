"""Step 6: the geometry map. t-SNE is fitted once per text and vectors; a move of W's
controls only moves the after points, to where attention puts them."""

from __future__ import annotations

import numpy as np
import pytest
from pagetest import assert_clean, chart_specs, move_map, open_link, points, weights_map
from sklearn.manifold import TSNE

import attn_core

TEXT = "the river bank flooded after the storm"


@pytest.fixture
def fits(monkeypatch) -> list[int]:
    """Every t-SNE fit the page makes, by its number of points."""
    made: list[int] = []
    fit = TSNE.fit_transform

    def counted(self, points, *args, **kwargs):
        made.append(len(points))
        return fit(self, points, *args, **kwargs)

    monkeypatch.setattr(TSNE, "fit_transform", counted)
    return made


def drawn(at) -> tuple[np.ndarray, np.ndarray]:
    """The map's before and after points, in token order."""
    spec = next(s for s in chart_specs(at) if "x (before)" in str(s))
    rows = points(spec)
    before = [(r["x"], r["y"]) for r in rows if r["stage"] == "x (before)"]
    after = [(r["x"], r["y"]) for r in rows if r["stage"] == "y (after)"]
    return np.array(before), np.array(after)


def test_a_temperature_move_does_not_fit_tsne_again(fits):
    at = open_link({"text": TEXT, "method": "tsne"})
    assert_clean(at)
    t = len(weights_map(at)["labels"])
    assert fits == [t]  # fitted once, on the before points alone
    before, _ = drawn(at)
    for temperature in (0.5, 2.0, 3.5):
        move_map(at, temperature=temperature)
        assert_clean(at)
        assert fits == [t]  # the move moved the after points only
        moved_before, after = drawn(at)
        np.testing.assert_allclose(moved_before, before)
        emb = attn_core.embed(TEXT)
        res = attn_core.self_attention(emb.vectors, temperature=temperature, scale=False)
        np.testing.assert_allclose(after, res.weights @ before, rtol=1e-9, atol=1e-9)
        at.run()  # the whole page under the new temperature: no fit either
        assert fits == [t]
    at.text_area(key="text").set_value(TEXT + " again").run()  # new vectors: a new fit
    assert_clean(at)
    assert fits == [t, t + 1]
