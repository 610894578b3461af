"""The pieces every network shares: softmax, LayerNorm, the GELUs, and weights mapped
from a ``.safetensors`` file. numpy only."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in place; the row max is subtracted first so ``exp``
    cannot overflow (a row of ``-inf`` but one still works: the mask's zeros stay exact)."""
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis with the biased variance, as torch computes it."""
    mean = x.mean(axis=-1, keepdims=True)  # (T, 1)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)  # (T, 1)
    return (x - mean) / np.sqrt(var + np.float32(eps)) * weight + bias  # (T, d)


BLOCK = 1 << 15
"""Elements GELU works on at a time: small enough that its dozen passes over them stay in
the CPU's cache rather than going out to memory each time. The values are the same."""


def in_blocks(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """``fn``, an elementwise function, run on ``BLOCK``-sized runs of rows of a 2-D array."""

    @functools.wraps(fn)
    def blocked(x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.size <= BLOCK:
            return fn(x)
        rows = max(1, BLOCK // x.shape[1])
        out = np.empty_like(x)  # (T, n)
        for start in range(0, len(x), rows):
            out[start : start + rows] = fn(x[start : start + rows])
        return out

    return blocked


@in_blocks
def gelu(x: np.ndarray) -> np.ndarray:
    """The exact GELU, ``x Φ(x) = x erfc(-x/√2) / 2`` (numpy has no ``erf``)."""
    return x * (np.float32(0.5) * erfc(x * np.float32(-1 / math.sqrt(2.0))))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GPT-2's GELU ("gelu_new"): ``x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2``."""
    inner = x * x
    inner *= np.float32(0.044715)
    inner += 1
    inner *= x
    inner *= np.float32(math.sqrt(2.0 / math.pi))
    np.tanh(inner, out=inner)
    inner += 1
    inner *= np.float32(0.5)
    return x * inner


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)``."""
    return np.maximum(x, 0)


ACTIVATIONS = {"gelu": gelu, "gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh, "relu": relu}
"""The activations the networks run, by their name in a ``config.json``."""


ERFC_FIT = (
    0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807,
    -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223,
)  # fmt: skip
"""Numerical Recipes' Chebyshev fit of ``erfc`` (``erfcc``), highest power first."""


def erfc(z: np.ndarray) -> np.ndarray:
    """Complementary error function of a float32 array, in place where it can: GELU runs
    it on every hidden unit of every layer. The fit's own relative error is below 1.2e-7;
    in float32 it stays within 3e-6 of ``erfc`` down to erfc(4) = 1.5e-8, where GELU
    multiplies it by a value near 0."""
    a = np.abs(z)
    s = np.float32(0.5) * a
    s += 1
    np.reciprocal(s, out=s)  # s = 1 / (1 + |z| / 2)
    poly = np.full_like(s, ERFC_FIT[0])
    for c in ERFC_FIT[1:]:  # Horner: poly = (...(c0 s + c1) s + ...) s + c9
        poly *= s
        poly += np.float32(c)
    a *= a
    poly -= a  # -z² + poly(s)
    np.exp(poly, out=poly)
    poly *= s  # erfc(|z|)
    return np.where(z >= 0, poly, 2 - poly)


FLOATS = {"F32": "<f4", "F16": "<f2", "BF16": "<u2"}


@functools.lru_cache(maxsize=4)
def mapped_tensors(path: Path) -> Mapping[str, np.ndarray]:
    """Every float tensor of a ``.safetensors`` file, mapped from disk rather than read.

    Once per file and process, shared read-only: a model's word-embedding table and its
    network are views of one mapping. Half-precision tensors (rare in these folders) are
    widened to float32 copies.

    The format is an 8-byte little-endian header length, a JSON header giving each
    tensor's dtype, shape and byte range, then the data. Mapped, a tensor costs memory
    only for the pages a computation touches (a text reads a few rows of the
    word-embedding table), and the page cache shares them between processes.

    Raises ``ValueError`` for a file that is not safetensors or is cut short.
    """
    size_on_disk = path.stat().st_size
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        try:
            if not 0 < size <= size_on_disk - 8:
                raise ValueError(f"header of {size} bytes")
            header = json.loads(f.read(size))
        except ValueError as err:
            raise ValueError(f"{path} is not a readable safetensors file ({err})") from None
    ends = [e["data_offsets"][1] for name, e in header.items() if name != "__metadata__"]
    if 8 + size + max(ends, default=0) > size_on_disk:
        raise ValueError(
            f"{path} is truncated: its header promises {8 + size + max(ends)} bytes, "
            f"the file has {size_on_disk}"
        )
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] not in FLOATS:
            continue
        start, end = entry["data_offsets"]
        shape = tuple(entry["shape"])
        raw = data[start:end].view(FLOATS[entry["dtype"]]).reshape(shape)
        if entry["dtype"] == "BF16":  # the top half of a float32
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = raw if raw.dtype == np.float32 else raw.astype(np.float32)
    return MappingProxyType(tensors)
