"""attn_core.validation: each check refuses every bad kind of argument with one message style,
and hands back the accepted forms as the math uses them."""

from __future__ import annotations

import numpy as np
import pytest

from attn_core.validation import (
    check_array,
    check_choice,
    check_index,
    check_int,
    check_number,
    check_positive,
    check_square,
    check_text,
)


@pytest.mark.parametrize(
    "values", [[[1, 2], [3, 4]], np.ones((2, 3), dtype=np.float32), np.arange(6).reshape(3, 2)]
)
def test_an_array_comes_back_as_float64(values):
    arr = check_array(values, "x")
    assert arr.dtype == np.float64 and arr.ndim == 2
    np.testing.assert_array_equal(arr, np.asarray(values, dtype=np.float64))


def test_an_array_of_any_layout():
    assert check_array(np.ones(4), "a", ("d",)).shape == (4,)
    assert check_array(np.ones((2, 3, 3)), "layers", ("L", "T", "T")).shape == (2, 3, 3)
    assert check_array(np.ones((5, 2)), "before", ("T", 2)).shape == (5, 2)
    assert check_array(np.ones((3, 3)), "w", ("T", "T"), T=3).shape == (3, 3)


@pytest.mark.parametrize(
    ("values", "dims", "sizes", "message"),
    [
        (np.ones((3, 4, 5)), ("T", "d"), {}, r"^x must be 2-D \(T, d\), got shape \(3, 4, 5\)$"),
        (np.ones(5), ("T", "d"), {}, r"^x must be 2-D \(T, d\), got shape \(5,\)$"),
        (np.ones((2, 2)), ("d",), {}, r"^x must be 1-D \(d,\), got shape \(2, 2\)$"),
        (np.ones((0, 4)), ("T", "d"), {}, r"^x must be non-empty \(T, d\), got shape \(0, 4\)$"),
        (np.ones((2, 3)), ("T", "T"), {}, r"^x must be square \(T, T\), got shape \(2, 3\)$"),
        (np.ones((2, 3, 4)), ("L", "T", "T"), {}, r"^x must be \(L, T, T\), got shape"),
        (np.ones((3, 3)), ("T", 2), {}, r"^x must be \(T, 2\), got shape \(3, 3\)$"),
        (np.ones((3, 4)), ("T", "d"), {"d": 5}, r"^x must be \(T, d\) with d = 5, got shape"),
        ([[1.0, np.nan]], ("T", "d"), {}, r"^x must be finite, got NaN or inf values$"),
        ([[1.0, -np.inf]], ("T", "d"), {}, "finite"),
        ([["a", "b"]], ("T", "d"), {}, r"^x must be a numeric array \(T, d\), got list$"),
        (None, ("T", "d"), {}, r"^x must be 2-D \(T, d\), got shape \(\)$"),
        ({"a": 1}, ("T", "d"), {}, r"^x must be a numeric array \(T, d\), got dict$"),
    ],
)
def test_a_bad_array_is_refused(values, dims, sizes, message):
    with pytest.raises(ValueError, match=message):
        check_array(values, "x", dims, **sizes)


def test_a_square_matrix():
    np.testing.assert_array_equal(check_square(np.eye(3), "weights"), np.eye(3))
    assert check_square(np.eye(2), "weights", "P", 2).shape == (2, 2)
    with pytest.raises(ValueError, match=r"^weights must be square \(P, P\), got shape \(2, 3\)$"):
        check_square(np.ones((2, 3)), "weights", "P")
    with pytest.raises(ValueError, match=r"^target must be square \(T, T\) with T = 7, got"):
        check_square(np.eye(3), "target", "T", 7)


@pytest.mark.parametrize("value", [0, 3, np.int64(5), np.int32(1)])
def test_an_int_comes_back_as_int(value):
    got = check_int(value, "n", 0, 5)
    assert got == value and type(got) is int


@pytest.mark.parametrize(
    ("value", "low", "high", "message"),
    [
        (True, None, None, r"^n must be an integer, got True$"),
        (np.bool_(False), None, None, "n must be an integer, got"),
        (2.0, None, None, r"^n must be an integer, got 2\.0$"),
        ("3", None, None, r"^n must be an integer, got '3'$"),
        (None, None, None, "n must be an integer, got None"),
        (0, 1, None, r"^n must be an integer >= 1, got 0$"),
        (9, None, 8, r"^n must be an integer <= 8, got 9$"),
        (11, 1, 10, r"^n must be an integer in \[1, 10\], got 11$"),
        (1.5, 1, 10, r"^n must be an integer in \[1, 10\], got 1\.5$"),
    ],
)
def test_a_bad_int_is_refused(value, low, high, message):
    with pytest.raises(ValueError, match=message):
        check_int(value, "n", low, high)


def test_an_index():
    assert check_index(0, "i", 3) == 0 and check_index(np.int64(2), "i", 3) == 2
    for bad in (-1, 3, 1.0, True, "0", None):
        with pytest.raises(ValueError, match=rf"^i must be an integer in \[0, 3\), got {bad!r}$"):
            check_index(bad, "i", 3)


def test_a_number_in_a_range():
    assert check_number(0, "r", 0, 1) == 0.0 and check_number(np.float32(0.5), "r", 0, 1) == 0.5
    assert type(check_number(1, "r", 0, 1)) is float
    for bad in (-0.1, 1.5, np.nan, np.inf, True, "0.5", None):
        with pytest.raises(ValueError, match=r"^r must be a number in \[0, 1\], got"):
            check_number(bad, "r", 0, 1)


def test_a_positive_number():
    assert check_positive(2, "tau") == 2.0 and check_positive(np.float64(1e-9), "tau") == 1e-9
    for bad in (0, -1.0, np.nan, np.inf, True, "hot", None):
        with pytest.raises(ValueError, match=r"^tau must be a positive finite number, got"):
            check_positive(bad, "tau")


def test_a_choice():
    assert check_choice("pca", "method", ("pca", "raw")) == "pca"
    assert check_choice("b", "palette", {"a": 1, "b": 2}) == "b"
    for bad in ("umap", None, ["pca"], 1):
        with pytest.raises(ValueError, match=r"^method must be one of \('pca', 'raw'\), got"):
            check_choice(bad, "method", ("pca", "raw"))


def test_a_text():
    assert check_text(" hi ") == " hi "
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(ValueError, match=r"^text is empty: type some text to begin$"):
            check_text(blank)
    for bad in (42, None, b"hi"):
        with pytest.raises(ValueError, match=r"^text must be a string, got"):
            check_text(bad)
