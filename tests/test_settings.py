"""attn_core.settings: the defaults that decide the numbers, and attention from a view."""

from __future__ import annotations

import numpy as np
import pytest

import attn_core
from attn_core import settings


def test_projections_scale_by_default_and_a_real_head_is_imitated():
    assert [settings.defaults_for(m)["scale"] for m in settings.MODES] == [False, True, True]
    assert [settings.defaults_for(m)["objective"] for m in settings.MODES] == [
        "previous",
        "previous",
        "imitate",
    ]
    # everything else is the same in every mode
    for mode in settings.MODES:
        rest = {
            k: v for k, v in settings.defaults_for(mode).items() if k not in ("scale", "objective")
        }
        assert rest == {
            k: v for k, v in settings.DEFAULTS.items() if k not in ("scale", "objective")
        }


def test_attention_for_follows_the_view(x):
    view = {**settings.defaults_for("learnable"), "mode": "learnable", "d_k": 4, "seed": 3}
    view |= {"temperature": 0.5, "causal": True}
    got = settings.attention_for(x, view)
    proj = attn_core.random_projections(x.shape[1], 4, seed=3)
    want = attn_core.self_attention(x, proj, scale=True, temperature=0.5, causal=True)
    np.testing.assert_allclose(got.weights, want.weights, rtol=1e-12)
    free = settings.attention_for(x, view, projected=False)
    np.testing.assert_allclose(
        free.weights, attn_core.self_attention(x, scale=True, temperature=0.5, causal=True).weights
    )


def test_d_k_is_capped_at_the_input_width(x):
    start = settings.start_projections(x.shape[1], {"d_k": 384, "seed": 0, "init": "normal_0.02"})
    assert start.w_q.shape == (x.shape[1], x.shape[1])


def test_real_mode_needs_the_heads_projections(x):
    with pytest.raises(ValueError, match="head"):
        settings.attention_for(x, {**settings.DEFAULTS, "mode": "real"})
