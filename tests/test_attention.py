"""attn_core.attention against independent references, by its properties, and at its edges."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import attn_core
from attn_core import Cell, cell, random_projections, row_entropy, self_attention, softmax


def loop_attention(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The seed's parameter-free attention written as plain loops, as on a blackboard."""
    t = len(x)
    w_raw = [[sum(x[i][n] * x[j][n] for n in range(len(x[i]))) for j in range(t)] for i in range(t)]
    w = []
    for row in w_raw:
        m = max(row)
        e = [np.exp(v - m) for v in row]
        w.append([v / sum(e) for v in e])
    y = [[sum(w[i][j] * x[j][n] for j in range(t)) for n in range(len(x[0]))] for i in range(t)]
    return np.array(w), np.array(y)


def test_parameter_free_matches_plain_loops(x):
    weights, output = loop_attention(x.tolist())
    res = self_attention(x)
    np.testing.assert_allclose(res.scores, x @ x.T)
    np.testing.assert_allclose(res.weights, weights, rtol=1e-12)
    np.testing.assert_allclose(res.output, output, rtol=1e-12, atol=1e-12)
    assert res.scale == 1.0 and not res.projected
    assert res.q is None and res.k is None and res.v is None


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_projected_matches_torch_sdpa(x, causal, temperature):
    proj = random_projections(x.shape[1], 5, seed=3, d_v=4)
    res = self_attention(x, proj, temperature=temperature, causal=causal)
    q, k, v = (torch.from_numpy(x @ w) for w in (proj.w_q, proj.w_k, proj.w_v))
    expected = torch.nn.functional.scaled_dot_product_attention(
        q[None], k[None], v[None], is_causal=causal, scale=1.0 / (np.sqrt(5) * temperature)
    )[0]
    np.testing.assert_allclose(res.output, expected.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.q, q.numpy())
    np.testing.assert_allclose(res.scores, (q @ k.T).numpy(), rtol=1e-12)
    assert res.output.shape == (7, 4)
    assert res.scale == pytest.approx(1 / np.sqrt(5))


def test_scale_defaults_follow_the_mode(x):
    proj = random_projections(12, 6, seed=0)
    assert self_attention(x).scale == 1.0
    assert self_attention(x, scale=True).scale == pytest.approx(1 / np.sqrt(12))
    assert self_attention(x, proj).scale == pytest.approx(1 / np.sqrt(6))
    assert self_attention(x, proj, scale=False).scale == 1.0
    assert self_attention(x, scale=0.25).scale == 0.25
    res = self_attention(x, scale=True, temperature=2.0)
    np.testing.assert_allclose(res.logits, res.scores / np.sqrt(12) / 2.0)


def test_rows_sum_to_one_and_output_in_convex_hull(x):
    for res in (self_attention(x), self_attention(x, random_projections(12, 3, seed=9))):
        np.testing.assert_allclose(res.weights.sum(axis=1), 1.0, rtol=1e-12)
        assert (res.weights >= 0).all()
        values = res.values
        # Each output row is Σ_j w_ij v_j with w_ij >= 0 summing to 1: inside the hull,
        # hence inside the per-feature bounding box of the values.
        assert (res.output >= values.min(axis=0) - 1e-12).all()
        assert (res.output <= values.max(axis=0) + 1e-12).all()
        np.testing.assert_allclose(res.output, res.weights @ values)


def test_causal_mask_zeroes_the_future(x):
    res = self_attention(x, causal=True)
    assert np.all(np.triu(res.weights, k=1) == 0.0)
    assert np.isneginf(res.logits[np.triu_indices(7, k=1)]).all()
    assert res.weights[0, 0] == 1.0  # the first token can only see itself
    np.testing.assert_allclose(res.output[0], x[0])


def test_large_temperature_gives_uniform_rows(x):
    res = self_attention(x, temperature=1e9)
    np.testing.assert_allclose(res.weights, 1 / 7, rtol=1e-6)
    np.testing.assert_allclose(res.entropy, np.log2(7), rtol=1e-6)


def test_small_temperature_gives_one_hot_rows(x):
    res = self_attention(x, temperature=1e-6)
    np.testing.assert_allclose(res.weights.max(axis=1), 1.0)
    assert res.entropy.max() < 1e-6


def test_single_token():
    res = self_attention(np.array([[0.3, -2.0, 1.0]]))
    assert res.weights.shape == (1, 1) and res.weights[0, 0] == 1.0
    np.testing.assert_allclose(res.output, [[0.3, -2.0, 1.0]])
    causal = self_attention(np.array([[0.3, -2.0, 1.0]]), random_projections(3, 2), causal=True)
    assert causal.weights[0, 0] == 1.0


@pytest.mark.parametrize("magnitude", [1e3, 1e150, 1e300])
def test_no_nan_for_huge_finite_inputs(rng, magnitude):
    x = rng.normal(size=(6, 8)) * magnitude
    for causal in (False, True):
        res = self_attention(x, causal=causal)
        assert np.isfinite(res.weights).all()
        np.testing.assert_allclose(res.weights.sum(axis=1), 1.0)
        assert not np.isnan(res.output).any()


def test_softmax_is_shift_invariant_and_stable():
    logits = np.array([[1000.0, 1001.0, 999.0], [-np.inf, 0.0, 0.0]])
    w = softmax(logits)
    np.testing.assert_allclose(w[0], softmax(logits[:1] - 1000.0)[0])
    np.testing.assert_allclose(w[1], [0.0, 0.5, 0.5])


def test_row_entropy_in_bits():
    w = np.array([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0.0, 0.0]])
    np.testing.assert_allclose(row_entropy(w), [0.0, 2.0, 1.0])


def test_result_is_frozen(x):
    res = self_attention(x)
    with pytest.raises(AttributeError):
        res.weights = None  # type: ignore[misc]


@pytest.mark.parametrize(
    ("bad_x", "message"),
    [
        (np.ones(5), "2-D"),
        (np.ones((2, 3, 4)), "2-D"),
        (np.ones((0, 4)), "non-empty"),
        (np.array([[1.0, np.nan]]), "finite"),
        (np.array([[1.0, np.inf]]), "finite"),
        ([["a", "b"]], "numeric"),
    ],
)
def test_bad_inputs_raise_value_error(bad_x, message):
    with pytest.raises(ValueError, match=message):
        self_attention(bad_x)


@pytest.mark.parametrize("temperature", [0, -1.0, np.nan, np.inf, "hot"])
def test_bad_temperature_raises(x, temperature):
    with pytest.raises(ValueError, match="temperature"):
        self_attention(x, temperature=temperature)


@pytest.mark.parametrize("scale", [0.0, -2.0, np.nan])
def test_bad_scale_raises(x, scale):
    with pytest.raises(ValueError, match="scale"):
        self_attention(x, scale=scale)


def test_projection_width_mismatch_raises(x):
    with pytest.raises(
        ValueError, match=r"with d = 10 \(the projections' input width\), got d = 12"
    ):
        self_attention(x, random_projections(10, 4))


@pytest.mark.parametrize("mode", ["free", "learnable", "real"])
@pytest.mark.parametrize(
    ("scale", "temperature", "causal"), [(None, 1.0, False), (True, 0.3, True)]
)
def test_a_cells_arithmetic_is_read_from_the_result(model, mode, scale, temperature, causal):
    """``Cell.of`` reads the stages a result holds; a fresh pass gives the same numbers."""
    x, projections = attn_core.embed("the river bank was wet", model=model).vectors, None
    if mode == "learnable":
        projections = random_projections(384, 16, seed=3)
    elif mode == "real":
        head = attn_core.model_head("the river bank was wet", layer=1, head=2, model=model)
        x, projections = head.hidden, head.projections
    res = self_attention(x, projections, scale=scale, temperature=temperature, causal=causal)
    for i, j in [(0, 0), (2, 4), (4, 2), (6, 1)]:
        c = Cell.of(res, i, j)
        queries = res.q if res.projected else res.x
        keys = res.k if res.projected else res.x
        np.testing.assert_array_equal(c.left, queries[i])
        np.testing.assert_array_equal(c.right, keys[j])
        assert c.products.sum() == pytest.approx(res.scores[i, j], rel=1e-9, abs=1e-9)
        assert c.score == res.scores[i, j]
        assert c.masked == (causal and j > i)
        if c.masked:
            assert c.logit == -np.inf and c.weight == 0.0
        else:
            assert c.logit == pytest.approx(c.score * c.scale / c.temperature, rel=1e-12)
            assert np.exp(c.logit - c.row_max) / c.row_sum == pytest.approx(c.weight, rel=1e-12)
        assert c.weight == res.weights[i, j]
        again = cell(x, i, j, projections, scale=scale, temperature=temperature, causal=causal)
        for field in dataclasses.fields(Cell):  # exactly, not approximately
            np.testing.assert_array_equal(getattr(c, field.name), getattr(again, field.name))


@pytest.mark.parametrize(
    ("i", "j", "name"),
    [(-1, 0, "i"), (0, 7, "j"), (1.5, 0, "i"), (True, 0, "i"), (0, "1", "j"), (0, None, "j")],
)
def test_a_cell_outside_the_matrix_is_refused(x, i, j, name):
    with pytest.raises(ValueError, match=rf"{name} must be an integer in \[0, 7\), got"):
        Cell.of(self_attention(x), i, j)
    with pytest.raises(ValueError, match=rf"{name} must be an integer in \[0, 7\), got"):
        cell(x, i, j)
