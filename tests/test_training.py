"""Training W_q, W_k: the loss is the KL the docstring states, it falls, and it repeats."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

import attn_core
from attn_core import export
from attn_core.training import MAX_STEPS, kl_rows


def loop_kl(target: np.ndarray, weights: np.ndarray) -> float:
    """The mean row KL written out with plain loops: the reference for ``kl_rows``."""
    total = 0.0
    for p_row, w_row in zip(target, weights, strict=True):
        total += sum(p * np.log(p / w) for p, w in zip(p_row, w_row, strict=True) if p > 0)
    return total / len(target)


@pytest.fixture
def start(x: np.ndarray) -> attn_core.Projections:
    return attn_core.random_projections(x.shape[1], 4, seed=3)


@pytest.fixture
def target(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    logits = rng.normal(size=(len(x), len(x)))  # (T, T)
    return attn_core.softmax(2 * logits)


def test_previous_token_target() -> None:
    expected = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=float)
    np.testing.assert_array_equal(attn_core.previous_token_target(4), expected)
    np.testing.assert_array_equal(attn_core.previous_token_target(1), [[1.0]])
    for bad in (0, -2, 2.0, True):
        with pytest.raises(ValueError, match="t must be an integer >= 1"):
            attn_core.previous_token_target(bad)


def test_pool_attention_by_hand() -> None:
    weights = np.array(
        [
            [0.4, 0.3, 0.2, 0.1],
            [0.1, 0.6, 0.2, 0.1],
            [0.25, 0.25, 0.25, 0.25],
            [0.0, 0.5, 0.5, 0.0],
        ]
    )
    np.testing.assert_allclose(attn_core.pool_attention(weights, [(0,), (1,), (2,), (3,)]), weights)
    # pieces 1 and 2 are one word; 0 and 3 ([CLS], [SEP]) dropped
    pooled = attn_core.pool_attention(weights, [(1, 2)])
    np.testing.assert_allclose(pooled, [[1.0]])
    # keep 0, merge 1+2, drop 3: row "1+2" = mean of rows 1, 2 with columns 1, 2 added
    pooled = attn_core.pool_attention(weights, [(0,), (1, 2)])
    row0 = np.array([0.4, 0.5]) / 0.9
    row12 = np.array([(0.1 + 0.25) / 2, (0.8 + 0.5) / 2])
    np.testing.assert_allclose(pooled, [row0, row12 / row12.sum()])
    np.testing.assert_allclose(pooled.sum(axis=1), 1.0)


def test_pool_attention_rejects_bad_input() -> None:
    square = np.full((3, 3), 1 / 3)
    with pytest.raises(ValueError, match="square"):
        attn_core.pool_attention(np.ones((2, 3)), [(0,)])
    for pieces in ([], [()], [(3,)], [(-1,)]):
        with pytest.raises(ValueError, match="pieces"):
            attn_core.pool_attention(square, pieces)


def test_kl_rows_matches_loops(target: np.ndarray) -> None:
    weights = attn_core.softmax(np.arange(target.size, dtype=float).reshape(target.shape) / 9)
    assert kl_rows(target, weights) == pytest.approx(loop_kl(target, weights), rel=1e-12)
    assert kl_rows(target, target) == pytest.approx(0.0, abs=1e-15)
    one_hot = attn_core.previous_token_target(len(target))
    assert kl_rows(one_hot, weights) == pytest.approx(loop_kl(one_hot, weights), rel=1e-12)


def test_losses_are_the_kl_of_the_saved_weights(x, target, start) -> None:
    run = attn_core.train_projections(x, target, start, steps=60, learning_rate=0.02)
    assert run.steps == 60 and len(run.losses) == 61
    assert run.saved_steps[0] == 0 and run.saved_steps[-1] == 60
    assert run.weights.shape == (len(run.saved_steps), len(x), len(x))
    assert run.weights.dtype == np.float32 and not run.weights.flags.writeable
    for step in run.saved_steps:
        weights = run.weights_at(step).astype(np.float64)  # (T, T)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)
        assert run.losses[step] == pytest.approx(kl_rows(target, weights), rel=1e-5)
    np.testing.assert_array_equal(run.start.w_q, start.w_q)  # step 0 is the random start
    first = attn_core.self_attention(x, start, scale=True).weights  # (T, T), float64
    np.testing.assert_allclose(run.weights_at(0), first, rtol=1e-6, atol=1e-9)
    last = attn_core.self_attention(x, run.trained, scale=True).weights
    np.testing.assert_allclose(run.weights_at(60), last, rtol=1e-6, atol=1e-9)


def test_training_lowers_the_loss_the_same_way_every_time(x, target, start) -> None:
    runs = [
        attn_core.train_projections(x, target, start, steps=200, learning_rate=0.02)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].losses, runs[1].losses)
    np.testing.assert_array_equal(runs[0].trained.w_q, runs[1].trained.w_q)
    losses = runs[0].losses
    assert losses[-1] < 0.2 * losses[0]
    # W_v is not part of the objective: it stays as it started
    np.testing.assert_array_equal(runs[0].trained.w_v, start.w_v)


def test_the_first_adam_step_goes_downhill(x, target, start) -> None:
    """Adam's first step moves each weight by the learning rate against its gradient's sign.

    The gradient here is a finite difference of ``kl_rows`` (numpy), independent of torch.
    """
    lr = 1e-4
    run = attn_core.train_projections(x, target, start, steps=1, learning_rate=lr)
    moved = run.trained.w_q - start.w_q  # (d, d_k)
    eps = 1e-6
    for i, j in [(0, 0), (3, 1), (11, 3), (5, 2)]:
        bumped = start.w_q.copy()
        bumped[i, j] += eps
        pushed = attn_core.Projections(bumped, start.w_k, start.w_v)
        before = kl_rows(target, attn_core.self_attention(x, start).weights)
        after = kl_rows(target, attn_core.self_attention(x, pushed).weights)
        gradient = (after - before) / eps
        assert moved[i, j] == pytest.approx(-lr * np.sign(gradient), rel=1e-3)


def torch_training(x, target, start, steps: int, lr: float) -> tuple[list[float], list, list]:
    """The same objective through torch's autograd and ``torch.optim.Adam``: the reference.

    Returns the loss, ``(W_q, W_k)`` and the attention W before each step and after the last.
    """
    xs, p = torch.from_numpy(x), torch.from_numpy(target)
    w_q = torch.tensor(start.w_q, dtype=torch.float64, requires_grad=True)
    w_k = torch.tensor(start.w_k, dtype=torch.float64, requires_grad=True)
    b_q, b_k = (torch.zeros(start.d_k, dtype=torch.float64) if b is None else torch.from_numpy(b)
                for b in (start.b_q, start.b_k))  # fmt: skip
    optimiser = torch.optim.Adam([w_q, w_k], lr=lr)
    losses, weights, attention = [], [], []
    for step in range(steps + 1):
        logits = (xs @ w_q + b_q) @ (xs @ w_k + b_k).T / math.sqrt(start.d_k)
        loss = (torch.xlogy(p, p) - p * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
        losses.append(loss.item())
        weights.append((w_q.detach().numpy().copy(), w_k.detach().numpy().copy()))
        attention.append(torch.softmax(logits.detach(), dim=1).numpy())
        if step < steps:
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return losses, weights, attention


@pytest.mark.parametrize(("d_k", "biased", "lr"), [(4, False, 0.01), (12, True, 0.05)])
def test_every_step_is_torchs_autograd_and_adam(x, target, d_k, biased, lr) -> None:
    """Losses and weights, step for step, against torch (float64 both: to rounding)."""
    start = attn_core.random_projections(x.shape[1], d_k, seed=5)
    if biased:
        rng = np.random.default_rng(1)
        start = attn_core.Projections(
            start.w_q, start.w_k, start.w_v, b_q=rng.normal(size=d_k), b_k=rng.normal(size=d_k)
        )
    run = attn_core.train_projections(x, target, start, steps=40, learning_rate=lr)
    losses, weights, attention = torch_training(x, target, start, 40, lr)
    np.testing.assert_allclose(run.losses, losses, rtol=1e-12)
    np.testing.assert_allclose(run.trained.w_q, weights[40][0], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(run.trained.w_k, weights[40][1], rtol=1e-10, atol=1e-13)
    for step in run.saved_steps:  # W as kept: float32, so to its rounding
        np.testing.assert_allclose(run.weights_at(step), attention[step], rtol=1e-6, atol=1e-9)
    assert run.losses[-1] < run.losses[0]


def test_progress_is_reported_every_step(x, target, start) -> None:
    seen: list[tuple[int, int]] = []
    attn_core.train_projections(x, target, start, steps=5, on_step=lambda *a: seen.append(a))
    assert seen == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


def test_saved_steps_are_bounded(x, target, start) -> None:
    run = attn_core.train_projections(x, target, start, steps=MAX_STEPS, learning_rate=0.01)
    assert len(run.weights) == len(run.saved_steps) <= attn_core.training.SAVED + 1
    assert run.saved_steps == tuple(sorted(set(run.saved_steps)))
    with pytest.raises(ValueError, match="not saved"):
        run.weights_at(1)


def test_a_run_at_the_widest_projections_keeps_little(rng) -> None:
    """256 tokens at d_k 384: W at 41 steps in float32 and two sets of projections, about
    14 MB, where 41 full sets of float64 projections took over 100 MB."""
    t, d = 256, 384
    x = rng.normal(size=(t, d)) / np.sqrt(d)  # (T, d)
    start = attn_core.random_projections(d, d, seed=0)
    run = attn_core.train_projections(x, attn_core.previous_token_target(t), start, steps=2)
    arrays = [run.x, run.target, run.losses, run.weights, run.trained.w_q, run.trained.w_k]
    kept = sum(a.nbytes for a in arrays)  # start's weights are the shared random draw
    assert run.start.w_q is start.w_q and run.trained.w_v is start.w_v
    assert kept == (t * d + t * t) * 8 + 3 * 8 + 3 * t * t * 4 + 2 * d * d * 8
    np.testing.assert_array_equal(run.weights_at(2), run.weights[-1])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": MAX_STEPS + 1}, "steps"),
        ({"steps": True}, "steps"),
        ({"steps": 10.0}, "steps"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"target": np.full((3, 3), 1 / 3)}, "shape"),
        ({"target": "negative"}, "non-negative"),
        ({"target": "unnormalised"}, "summing to 1"),
        ({"x": np.ones((7, 5))}, "width"),
        ({"x": np.full((7, 12), np.inf)}, "finite"),
    ],
)
def test_bad_arguments(x, target, start, change, message) -> None:
    kwargs = {"x": x, "target": target, "start": start, "steps": 3, **change}
    if isinstance(kwargs["target"], str):
        bent = target.copy()
        bent[0, :2] = (-0.1, 0.1 + bent[0, 0] + bent[0, 1]) if change["target"] == "negative" else 0
        kwargs["target"] = bent
    with pytest.raises(ValueError, match=message):
        attn_core.train_projections(**kwargs)


def test_a_real_head_is_imitated_on_real_vectors(model) -> None:
    """From random projections to the pattern of layer 2, head 3, on the model's own tokens."""
    text = "hi how are you"
    emb = attn_core.embed(text, model=model, kind="contextual")
    head = attn_core.model_head(text, layer=2, head=3, model=model)
    target = attn_core.pool_attention(head.weights, emb.pieces)
    np.testing.assert_allclose(target, head.weights, atol=1e-6)  # every piece kept as it is
    start = attn_core.random_projections(emb.vectors.shape[1], 64, seed=0)
    run = attn_core.train_projections(emb.vectors, target, start, steps=200, learning_rate=0.003)
    assert run.losses[-1] < 0.01 * run.losses[0]
    np.testing.assert_allclose(run.weights_at(200), head.weights, atol=0.02)


def test_merged_words_pool_the_heads_pieces(model) -> None:
    text = "embeddings are unbelievable"
    merged = attn_core.embed(text, model=model, merge_subwords=True, special_tokens=False)
    head = attn_core.model_head(text, layer=0, head=0, model=model)
    assert [p for group in merged.pieces for p in group] == list(range(1, len(head.tokens) - 1))
    target = attn_core.pool_attention(head.weights, merged.pieces)
    assert target.shape == (len(merged.tokens),) * 2
    np.testing.assert_allclose(target.sum(axis=1), 1.0)


def test_trained_projections_round_trip_through_a_file(x, target, start) -> None:
    run = attn_core.train_projections(x, target, start, steps=20)
    data = export.training_npz(run, [f"t{i}" for i in range(len(x))])
    loaded = attn_core.load_projections(io.BytesIO(data))
    np.testing.assert_array_equal(loaded.w_q, run.trained.w_q)
    np.testing.assert_array_equal(loaded.w_k, run.trained.w_k)
    np.testing.assert_array_equal(loaded.w_v, run.trained.w_v)
    again = attn_core.self_attention(x, loaded)
    np.testing.assert_allclose(again.weights, run.weights_at(20), rtol=1e-6, atol=1e-9)
    with np.load(io.BytesIO(data)) as saved:
        np.testing.assert_array_equal(saved["losses"], run.losses)
        np.testing.assert_array_equal(saved["target"], target)
    with pytest.raises(ValueError, match="w_v missing"):
        attn_core.load_projections(io.BytesIO(export.matrices_npz({"w_q": x, "w_k": x}, [])))
