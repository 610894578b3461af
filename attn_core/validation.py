"""The checks at the engine's public edge, in one place and one message style.

Each ``check_*`` returns the value in the form the math uses (a float64 array, an ``int``, a
``float``) or raises ``ValueError`` naming the argument, what was expected and what came:
``"x must be 2-D (T, d), got shape (3, 4, 5)"`` (as scikit-learn's ``utils.validation``).
"""

from __future__ import annotations

import numbers
from collections.abc import Collection
from typing import Any

import numpy as np


def check_array(
    values: Any, name: str, dims: tuple[str | int, ...] = ("T", "d"), /, **sizes: int
) -> np.ndarray:
    """``values`` as a finite, non-empty float64 array with one axis per entry of ``dims``.

    Axes that share a name share a size (``("T", "T")`` is square); an int in ``dims``, or
    a name given in ``sizes``, fixes that axis's size (``check_array(w, "weights", ("T",
    "T"), T=7)``).
    """
    layout = _layout(dims, sizes)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a numeric array {layout}, got {type(values).__name__}"
        ) from exc
    if arr.ndim != len(dims):
        raise ValueError(f"{name} must be {len(dims)}-D {layout}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty {layout}, got shape {arr.shape}")
    seen: dict[str | int, int] = {}
    for dim, size in zip(dims, arr.shape, strict=True):
        want = dim if isinstance(dim, int) else sizes.get(dim, seen.setdefault(dim, size))
        if size != want:
            square = "square " if len(dims) == 2 and dims[0] == dims[1] else ""
            raise ValueError(f"{name} must be {square}{layout}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got NaN or inf values")
    return arr


def check_square(values: Any, name: str, dim: str = "T", size: int | None = None) -> np.ndarray:
    """``values`` as a finite float64 ``(dim, dim)`` matrix, ``size`` rows if given."""
    return check_array(values, name, (dim, dim), **({} if size is None else {dim: size}))


def check_int(value: Any, name: str, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (either bound optional); ``bool`` is refused."""
    if low is not None and high is not None:
        expected = f"an integer in [{low}, {high}]"
    elif low is not None:
        expected = f"an integer >= {low}"
    elif high is not None:
        expected = f"an integer <= {high}"
    else:
        expected = "an integer"
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)
    if not is_int or (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_index(value: Any, name: str, n: int) -> int:
    """``value`` as an ``int`` in ``[0, n)``: a position among ``n``."""
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)
    if not is_int or not 0 <= value < n:
        raise ValueError(f"{name} must be an integer in [0, {n}), got {value!r}")
    return int(value)


def check_number(value: Any, name: str, low: float, high: float) -> float:
    """``value`` as a ``float`` in ``[low, high]``; ``bool`` and strings are refused."""
    if not _is_real(value) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


def check_positive(value: Any, name: str) -> float:
    """``value`` as a finite ``float`` above 0; ``bool`` and strings are refused."""
    if not _is_real(value) or not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_choice(value: Any, name: str, choices: Collection) -> Any:
    """``value`` itself, if it is one of ``choices``."""
    if not _hashable(value) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_text(text: Any, name: str = "text") -> str:
    """``text`` if it is a string with something besides white space in it."""
    if not isinstance(text, str):
        raise ValueError(f"{name} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"{name} is empty: type some text to begin")
    return text


def _layout(dims: tuple[str | int, ...], sizes: dict[str, int]) -> str:
    """``(T, d)``, ``(d,)``, or ``(T, T) with T = 7``: the shape as a message states it."""
    inner = ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "")
    fixed = ", ".join(f"{k} = {v}" for k, v in sizes.items())
    return f"({inner})" + (f" with {fixed}" if fixed else "")


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
