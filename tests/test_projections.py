"""attn_core.projections: reproducible, correctly shaped and scaled, validated."""

from __future__ import annotations

import numpy as np
import pytest

from attn_core import INITS, random_projections


def test_shapes_and_default_d_v():
    p = random_projections(384, 16)
    assert p.w_q.shape == p.w_k.shape == (384, 16)
    assert p.w_v.shape == (384, 16)
    assert (p.d, p.d_k, p.d_v) == (384, 16, 16)
    assert random_projections(384, 16, d_v=8).w_v.shape == (384, 8)


def test_same_seed_same_weights_different_seed_different():
    a, b = random_projections(50, 7, seed=5), random_projections(50, 7, seed=5)
    c = random_projections(50, 7, seed=6)
    for name in ("w_q", "w_k", "w_v"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert not np.allclose(getattr(a, name), getattr(c, name))
    assert not np.allclose(a.w_q, a.w_k)  # each matrix has its own stream


def test_drawn_once_and_shared_read_only():
    a, b = random_projections(30, 4, seed=3), random_projections(30, 4, seed=3)
    assert a.w_q is b.w_q  # every view of a page gets the same matrices, not a new draw
    with pytest.raises(ValueError, match="read-only"):
        a.w_q[0, 0] = 1.0  # so no caller can change them for the others
    other = random_projections(30, 4, seed=3, init="xavier_uniform")
    assert not np.allclose(other.w_q, a.w_q)  # every argument is part of the key


def test_weights_are_the_same_on_any_machine():
    # PCG64 seeded with [seed, index] and numpy's normal generator are platform-independent,
    # so these values, recorded once, must come out on every machine.
    p = random_projections(4, 2, seed=0)
    std = np.sqrt(2.0 / 6.0)
    expected = np.random.default_rng([0, 0]).normal(size=(4, 2)) * std
    np.testing.assert_allclose(p.w_q, expected, rtol=1e-15)
    recorded = np.array([0.07259037699354177, -0.07627077838249186])
    np.testing.assert_allclose(p.w_q[0], recorded, rtol=1e-12)
    last = random_projections(384, 16, seed=42).w_v[383, 15]
    assert last == pytest.approx(-0.07774108269422994, rel=1e-12)


def test_w_q_does_not_depend_on_d_v():
    np.testing.assert_array_equal(
        random_projections(20, 4, seed=1).w_q, random_projections(20, 4, seed=1, d_v=9).w_q
    )


@pytest.mark.parametrize(
    ("init", "expected_std"),
    [
        ("xavier_normal", np.sqrt(2 / (300 + 200))),
        ("xavier_uniform", np.sqrt(6 / (300 + 200)) / np.sqrt(3)),
        ("kaiming_normal", np.sqrt(2 / 300)),
        ("normal_0.02", 0.02),
    ],
)
def test_each_init_has_its_variance(init, expected_std):
    p = random_projections(300, 200, seed=2, init=init)
    assert p.init == init
    assert p.w_q.std() == pytest.approx(expected_std, rel=0.02)
    assert abs(p.w_q.mean()) < 0.05 * expected_std * 10


def test_inits_are_listed():
    assert set(INITS) == {"xavier_normal", "xavier_uniform", "kaiming_normal", "normal_0.02"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"d": 0, "d_k": 4}, "d must be an integer >= 1, got 0"),
        ({"d": 8, "d_k": 0}, "d_k must be an integer >= 1, got 0"),
        ({"d": 8, "d_k": -3}, "d_k must be an integer >= 1"),
        ({"d": 8, "d_k": 2.5}, "d_k must be an integer >= 1, got 2.5"),
        ({"d": 8, "d_k": True}, "d_k must be an integer >= 1, got True"),
        ({"d": 8, "d_k": 4, "d_v": 0}, "d_v must be an integer >= 1"),
        ({"d": 8, "d_k": 4, "seed": -1}, "seed must be an integer in"),
        ({"d": 8, "d_k": 4, "seed": 2**40}, "seed must be an integer in"),
        ({"d": 8, "d_k": 4, "seed": "1"}, "seed must be an integer"),
        ({"d": 8, "d_k": 4, "init": "zeros"}, "init must be one of"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        random_projections(**kwargs)
