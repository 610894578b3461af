"""attn_core.charts.summary: each chart's one sentence for a screen reader, for this text; and
every builder carries it as its chart's description."""

from __future__ import annotations

import numpy as np
import pytest
from pagetest import open_link

import attn_core
from attn_core import charts
from attn_core.charts import summary
from attn_core.reduce import Plane


def test_a_heatmap_names_its_size_and_where_its_extremes_are():
    x = np.array([[0.1, -2.5, 0.0], [3.25, 0.0, 1.0]])
    assert summary.heatmap(x, ["sat", "on"], None, "x") == (
        "2 tokens × 3 dimensions: x runs from −2.50 (‘sat’, dimension 1) "
        "to 3.25 (‘on’, dimension 0)"
    )
    w = np.array([[0.7, 0.3], [0.01, 0.99]])
    assert summary.heatmap(w, ["a", "b"], ["a", "b"], "w_ij") == (
        "2 tokens × 2 tokens: w_ij runs from 0.01 (‘b’, ‘a’) to 0.99 (‘b’, ‘b’)"
    )


def test_bars_a_loss_and_a_plane_in_words():
    assert summary.bars(np.array([0.2, -0.125, 0.41]), ["x", "y", "z"], "w_2j") == (
        "3 bars of w_2j: the largest ‘z’, 0.41; the smallest ‘y’, −0.12"
    )
    losses = np.array([1.2, 0.5, 0.25, 0.3])
    assert summary.loss_curve(losses, None) == (
        "The loss over 4 steps, from 1.20 to 0.30; the lowest 0.25 at step 2"
    )
    assert summary.loss_curve(losses, 1).endswith("; marked: step 1, 0.50")
    before = np.array([[0.0, 0.0], [1.0, 1.0]])
    after = np.array([[3.0, 4.0], [1.0, 2.0]])  # moved 5 and 1
    assert summary.geometry(before, after, ["river", "bank"]) == (
        "2 tokens before and after attention in one plane: each moved 3.00 on average; "
        "the most, ‘river’, 5.00"
    )
    assert summary.number(-123.456) == "−123.5"


def test_every_head_in_words():
    t = 4
    weights = np.empty((2, 2, t, t))
    weights[0, 0] = np.eye(t)  # each token to itself: 0 bits
    weights[0, 1] = np.full((t, t), 1 / t)  # even: log2 4 = 2 bits
    weights[1, 0] = np.roll(np.eye(t), 1, axis=1)  # the next token (wrapping)
    weights[1, 1] = np.full((t, t), 1 / t)
    weights[1, 1, :, 0] += 0.5  # mostly the first token
    weights[1, 1] /= weights[1, 1].sum(axis=1, keepdims=True)
    labels = ["[CLS]", "sat", "on", "[SEP]"]
    said = summary.each_head(weights, labels)
    head = "the strongest weight is ‘[CLS]’ to"
    assert said[0] == f"layer 0, head 0: {head} itself, 1.00; mean entropy 0.00 bits"
    assert said[2] == f"layer 1, head 0: {head} ‘sat’, 1.00; mean entropy 0.00 bits"
    p = np.array([0.75, 0.25, 0.25, 0.25]) / 1.5  # every row alike
    bits = -(p * np.log2(p)).sum()
    assert said[3] == f"layer 1, head 1: {head} itself, 0.50; mean entropy {bits:.2f} bits"
    assert summary.head_grid(weights, (1, 0)) == (
        "2 layers × 2 heads on 4 tokens: the most focused is layer 0, head 0 (mean entropy 0.00 "
        "bits of at most 2.00); the broadest, layer 0, head 1 (2.00 bits); "
        "outlined: layer 1, head 0"
    )


@pytest.mark.parametrize(
    ("build", "args", "kwargs", "want"),
    [
        (charts.heatmap, "matrix", {"value_title": "x"}, "heatmap"),
        (charts.bars, "bars", {"value_title": "w"}, "bars"),
        (charts.loss_curve, "losses", {"at": 2}, "loss_curve"),
        (charts.geometry, "plane", {}, "geometry"),
        (charts.head_grid, "heads", {"on_show": (0, 1)}, "head_grid"),
    ],
)
def test_every_builder_carries_its_sentence_as_its_description(rng, build, args, kwargs, want):
    labels = ["the", "river", "bank"]
    x = rng.normal(size=(3, 5))
    heads = rng.random((2, 3, 3, 3))
    heads /= heads.sum(axis=-1, keepdims=True)
    plane = Plane(before=x[:, :2], after=x[:, 2:4], method="features", axis_titles=("a", "b"))
    inputs = {
        "matrix": ((x, labels), (x, labels, None, "x")),
        "bars": ((x[:, 0], labels), (x[:, 0], labels, "w")),
        "losses": ((np.abs(x[:, 0]),), (np.abs(x[:, 0]), 2)),
        "plane": ((plane, labels), (plane.before, plane.after, labels)),
        "heads": ((heads,), (heads, (0, 1))),
    }
    built, words = inputs[args]
    sentence = getattr(summary, want)(*words)
    assert charts.spec(build, *built, **kwargs)["description"] == sentence
    assert build(*built, **kwargs).to_dict()["description"] == sentence  # validated by Altair


def test_the_page_names_each_chart_and_says_what_it_shows():
    """A chart's accessible name is its name and title; its builder's sentence follows it,
    as plain text out of sight, once for every chart."""
    at = open_link({"text": "the cat sat on the mat"})
    alts = [el.proto.alt for el in at.get("vega_lite_chart")]
    assert "W′, unnormalised" in alts
    emb = attn_core.embed("the cat sat on the mat")
    res = attn_core.self_attention(emb.vectors)
    labels = charts.token_labels(emb.tokens)
    said = [el.value for el in at.text]
    assert summary.heatmap(res.scores, labels, labels, "w′_ij") in said
    x = summary.heatmap(emb.vectors, labels, None, "x")
    assert x in said and x.startswith("8 tokens × 384 dimensions: x runs from")
    assert len([s for s in said if "tokens" in s or "bars of" in s]) == len(alts)
