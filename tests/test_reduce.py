"""attn_core.reduce: one shared basis for before and after, and the contraction figure."""

from __future__ import annotations

import numpy as np
import pytest

import attn_core
from attn_core import reduce, self_attention, spread_ratio, to_plane
from attn_core.reduce import mean_pairwise_distance


def test_pca_is_one_basis_fitted_on_both(x):
    after = self_attention(x).output
    plane = to_plane(x, after)
    both = np.vstack([x, after])
    centred = both - both.mean(axis=0)
    # Coordinates are projections on the top-2 right singular vectors of the joint data.
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    coords = np.vstack([plane.before, plane.after])
    np.testing.assert_allclose(np.abs(coords), np.abs(centred @ vt[:2].T), atol=1e-10)
    assert plane.explained == pytest.approx(tuple((s[:2] ** 2) / (s**2).sum()))
    # Distances shrink (never grow) under an orthogonal projection onto the plane.
    assert np.linalg.norm(plane.after[0] - plane.before[0]) <= np.linalg.norm(after[0] - x[0])


@pytest.mark.parametrize("t, d", [(3, 384), (40, 12), (256, 384), (1, 5), (2, 1)])
def test_pca_equals_an_svd_of_the_centred_points_with_the_fixed_sign(rng, t, d):
    """Fewer points than features, more, a 256-token text, one token, one feature."""
    x = rng.normal(size=(t, d)) * np.linspace(3.0, 0.1, d)  # distinct variances
    after = self_attention(x).output
    plane = to_plane(x, after)
    centred = np.vstack([x, after]) - np.vstack([x, after]).mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    expected = centred @ (vt * signs[:, None])[:2].T  # (2T, ≤2)
    expected = np.hstack([expected, np.zeros((2 * t, 2 - expected.shape[1]))])
    got = np.vstack([plane.before, plane.after])
    np.testing.assert_allclose(got, expected, atol=1e-9 * max(1.0, float(s[0])))
    total = (s**2).sum()  # 0 for one token: its output is its input
    share = (s[:2] ** 2) / total if total > 0 else np.zeros(min(2, s.size))
    assert plane.explained == pytest.approx(tuple(np.pad(share, (0, 2 - share.size))), abs=1e-12)


def test_pca_sign_is_deterministic(x):
    after = self_attention(x).output
    a, b = to_plane(x, after), to_plane(x.copy(), after.copy())
    np.testing.assert_array_equal(a.before, b.before)
    flipped = to_plane(-x, -after)  # a mirror dataset gets the same fixed-sign convention
    np.testing.assert_allclose(np.abs(flipped.before), np.abs(a.before), atol=1e-10)


def test_raw_features_are_the_original_columns(x):
    after = self_attention(x).output
    plane = to_plane(x, after, method="raw", features=(3, 5))
    np.testing.assert_array_equal(plane.before, x[:, [3, 5]])
    np.testing.assert_array_equal(plane.after, after[:, [3, 5]])
    assert plane.axis_titles == ("feature 3", "feature 5")


@pytest.mark.parametrize("t", [1, 2, 3, 7, 40])
def test_tsne_handles_few_points_and_is_seeded(rng, t):
    x = rng.normal(size=(t, 10))
    after = self_attention(x).output
    a = to_plane(x, after, method="tsne", seed=1)
    b = to_plane(x, after, method="tsne", seed=1)
    assert a.before.shape == (t, 2) and a.after.shape == (t, 2)
    assert np.isfinite(a.before).all() and np.isfinite(a.after).all()
    np.testing.assert_allclose(a.before, b.before)


def test_tsne_with_weights_fits_the_before_points_once_and_mixes_their_places(rng):
    """Given W, after point i is Σ_j w_ij (before point j), in the map as in full width."""
    x = rng.normal(size=(12, 10))
    res = self_attention(x, temperature=0.7)
    plane = to_plane(x, res.output, method="tsne", weights=res.weights, seed=2)
    np.testing.assert_allclose(plane.before, reduce.tsne_map(x, seed=2))
    np.testing.assert_allclose(plane.after, res.weights @ plane.before, rtol=1e-12)
    # another W moves the after points only, through the same map
    sharper = self_attention(x, temperature=0.1).weights
    moved = reduce.mixed_plane(plane.before, sharper)
    np.testing.assert_array_equal(moved.before, plane.before)
    np.testing.assert_allclose(moved.after[3], sharper[3] @ plane.before)
    lo, hi = plane.before.min(axis=0), plane.before.max(axis=0)  # a weighted mean stays inside
    assert ((moved.after >= lo - 1e-12) & (moved.after <= hi + 1e-12)).all()


def test_mixed_plane_rejects_bad_shapes():
    with pytest.raises(ValueError, match="before must be"):
        reduce.mixed_plane(np.zeros((3, 3)), np.full((3, 3), 1 / 3))
    with pytest.raises(ValueError, match="weights"):
        reduce.mixed_plane(np.zeros((3, 2)), np.full((2, 2), 1 / 2))
    with pytest.raises(ValueError, match="finite"):
        reduce.mixed_plane(np.full((2, 2), np.nan), np.full((2, 2), 1 / 2))


def test_one_token_and_identical_points():
    one = np.array([[1.0, 2.0, 3.0]])
    plane = to_plane(one, one)
    assert plane.before.shape == (1, 2)
    assert np.isfinite(plane.before).all()
    same = np.ones((4, 3))
    assert np.isfinite(to_plane(same, same).after).all()


def test_spread_ratio_against_brute_force(x):
    after = self_attention(x).output
    brute = np.mean([np.linalg.norm(a - b) for i, a in enumerate(x) for b in x[i + 1 :]])
    assert mean_pairwise_distance(x) == pytest.approx(brute)
    brute_after = np.mean(
        [np.linalg.norm(a - b) for i, a in enumerate(after) for b in after[i + 1 :]]
    )
    assert spread_ratio(x, after) == pytest.approx(brute_after / brute)


def test_attention_pulls_points_together(x):
    # Every output is a convex mix of the inputs, so the outputs are never more spread.
    for temperature in (0.5, 1.0, 10.0):
        assert spread_ratio(x, self_attention(x, temperature=temperature).output) < 1.0
    assert np.isnan(spread_ratio(x[:1], x[:1]))


@pytest.mark.parametrize(
    ("before", "after", "kwargs", "message"),
    [
        (np.ones((3, 4)), np.ones((3, 5)), {}, "after must be"),
        (np.ones(3), np.ones(3), {}, "2-D"),
        (np.ones((3, 4)), np.full((3, 4), np.nan), {}, "finite"),
        (np.ones((3, 4)), np.ones((3, 4)), {"method": "umap"}, "method must be one of"),
        (np.ones((3, 4)), np.ones((3, 4)), {"method": "raw", "features": (0, 9)}, "features"),
    ],
)
def test_bad_arguments_raise(before, after, kwargs, message):
    with pytest.raises(ValueError, match=message):
        to_plane(before, after, **kwargs)


def test_cosine_against_its_definition(rng):
    a, b = rng.normal(size=9), rng.normal(size=9)
    want = float(np.dot(a, b) / np.sqrt(np.dot(a, a) * np.dot(b, b)))
    assert attn_core.cosine(a, b) == pytest.approx(want, rel=1e-12)
    assert attn_core.cosine(a, 3 * a) == pytest.approx(1.0)
    assert attn_core.cosine(a, -a) == pytest.approx(-1.0)
    assert np.isnan(attn_core.cosine(a, np.zeros(9)))
    with pytest.raises(ValueError, match=r"b must be \(d,\) with d = 9, got shape \(4,\)"):
        attn_core.cosine(a, b[:4])


def test_row_norms_are_each_rows_length(x):
    want = [np.sqrt(sum(v * v for v in row)) for row in x]
    np.testing.assert_allclose(attn_core.row_norms(x), want, rtol=1e-12)
    with pytest.raises(ValueError, match="2-D"):
        attn_core.row_norms(x[0])
