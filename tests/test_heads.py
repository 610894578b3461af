"""attn_core.heads: every head at once, rollout and head scores."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import attn_core
from attn_core import AllHeads, all_heads, head_scores, rollout

HARD_TEXTS = [
    "hi how are you",
    "the cat and the dog chased the cat",
    "Embeddings work, unbelievably: 東京 🙂 cafe\u0301",
    "again " * 300,  # truncated
]


@pytest.mark.parametrize("text", HARD_TEXTS)
def test_all_heads_is_what_the_transformer_reports(model, text):
    """Against the Hugging Face model itself: its own tokenizer, eager attention."""
    network = model.sentence_transformer
    encoded = network.tokenizer(text, truncation=True, max_length=model.max_tokens)
    ids = torch.tensor([encoded["input_ids"]])
    with torch.inference_mode():
        out = model.transformer(
            input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=True
        )
    want = torch.stack(out.attentions)[:, 0].double().numpy()  # (L, H, T, T)
    heads = all_heads(text, model=model)
    assert heads.shape == (6, 12)
    assert heads.tokens == network.tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    np.testing.assert_allclose(heads.weights, want, atol=1e-5)  # numpy vs torch float32
    np.testing.assert_allclose(heads.weights.sum(axis=-1), 1.0, atol=1e-5)
    # the same as one head at a time
    one = attn_core.model_head(text, layer=4, head=9, model=model)
    np.testing.assert_array_equal(heads.weights[4, 9], one.weights)


def test_merged_words_without_special_tokens_are_pooled(model):
    text = "embeddings work"
    pieces = all_heads(text, model=model)
    words = all_heads(text, model=model, special_tokens=False, merge_subwords=True)
    emb = attn_core.embed(text, model=model, special_tokens=False, merge_subwords=True)
    assert words.tokens == emb.tokens == ["embeddings", "work"]
    assert words.special == [False, False]
    want = attn_core.pool_attention(pieces.weights[2, 3], emb.pieces)
    np.testing.assert_allclose(words.weights[2, 3], want, rtol=1e-6)  # kept as float32
    np.testing.assert_allclose(words.weights.sum(axis=-1), 1.0, atol=1e-6)


def test_all_heads_rejects_blank_text(model):
    with pytest.raises(ValueError, match="empty"):
        all_heads("  ", model=model)


def plain_rollout(layers: np.ndarray, residual: float) -> np.ndarray:
    t = layers.shape[1]
    result = [[float(i == j) for j in range(t)] for i in range(t)]
    for a in layers:
        mixed = [
            [residual * (i == j) + (1 - residual) * a[i][j] for j in range(t)] for i in range(t)
        ]
        mixed = [[v / sum(row) for v in row] for row in mixed]
        result = [
            [sum(mixed[i][k] * result[k][j] for k in range(t)) for j in range(t)] for i in range(t)
        ]
    return np.array(result)


def random_attention(rng, layers: int, t: int) -> np.ndarray:
    logits = rng.normal(size=(layers, t, t)) * 2
    return attn_core.softmax(logits)


@pytest.mark.parametrize("residual", [0.0, 0.3, 0.5, 1.0])
def test_rollout_against_a_plain_loop(rng, residual):
    layers = random_attention(rng, 4, 5)
    got = rollout(layers, residual)
    np.testing.assert_allclose(got, plain_rollout(layers, residual), rtol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)
    assert (got >= 0).all()


def test_rollout_properties(rng):
    layers = random_attention(rng, 3, 6)
    np.testing.assert_allclose(rollout(layers, 1.0), np.eye(6))  # all residual: nothing moves
    np.testing.assert_allclose(rollout(layers[:1], 0.0), layers[0])  # one layer, no residual
    # layer by layer: one more layer is that layer (with its residual) after the rest
    mixed = 0.5 * np.eye(6) + 0.5 * layers[2]
    np.testing.assert_allclose(rollout(layers, 0.5), mixed @ rollout(layers[:2], 0.5))


@pytest.mark.parametrize(
    ("layers", "residual", "message"),
    [
        (np.ones((3, 3)), 0.5, "L, T, T"),
        (np.ones((2, 3, 4)), 0.5, "L, T, T"),
        (np.ones((0, 3, 3)), 0.5, "non-empty"),
        (np.full((1, 2, 2), np.nan), 0.5, "finite"),
        (np.ones((1, 2, 2)) / 2, 1.5, "residual"),
        (np.ones((1, 2, 2)) / 2, -0.1, "residual"),
        (np.ones((1, 2, 2)) / 2, "half", "residual"),
    ],
)
def test_rollout_rejects_bad_input(layers, residual, message):
    with pytest.raises(ValueError, match=message):
        rollout(layers, residual)


def synthetic(patterns: list[np.ndarray], tokens: list[str]) -> AllHeads:
    weights = np.stack(patterns)[None]  # (1, H, T, T)
    special = [t in ("[CLS]", "[SEP]") for t in tokens]
    return AllHeads(tokens, weights, special, 0, "synthetic")


def test_head_scores_on_synthetic_patterns():
    tokens = ["[CLS]", "the", "cat", "the", "dog", "[SEP]"]
    t = len(tokens)
    previous = np.eye(t, k=-1)
    previous[0, 0] = 1.0  # the first token has no previous one: itself
    following = np.eye(t, k=1)
    following[-1, -1] = 1.0
    same = np.eye(t)
    same[1], same[3] = np.eye(t)[3], np.eye(t)[1]  # "the" looks at the other "the"
    cls = np.zeros((t, t))
    cls[:, 0] = 1.0
    sep = np.zeros((t, t))
    sep[:, -1] = 1.0
    uniform = np.full((t, t), 1 / t)
    scores = head_scores(synthetic([previous, following, same, cls, sep, uniform], tokens))
    assert set(scores) == set(attn_core.PATTERNS)
    # rows 1..5 look back; only row 1 of the [CLS] head lands on its previous token
    np.testing.assert_allclose(scores["previous"][0], [1, 0, 0, 0.2, 0, 1 / t])
    np.testing.assert_allclose(scores["next"][0], [0, 1, 0, 0, 0.2, 1 / t])
    np.testing.assert_allclose(scores["same"][0], [0, 0, 1, 0, 0, 1 / t])
    # the previous-token head's first two rows land on [CLS]; the next-token head's last two
    np.testing.assert_allclose(scores["cls"][0], [2 / t, 0, 1 / t, 1, 0, 1 / t])
    np.testing.assert_allclose(scores["sep"][0], [0, 2 / t, 1 / t, 0, 1, 1 / t])
    np.testing.assert_allclose(scores["broad"][0], [0, 0, 0, 0, 0, np.log2(t)])


def test_head_scores_without_special_tokens_or_repeats():
    scores = head_scores(synthetic([np.eye(3)], ["a", "b", "c"]))
    assert scores["cls"][0, 0] == scores["sep"][0, 0] == scores["same"][0, 0] == 0.0
