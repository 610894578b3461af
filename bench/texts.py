"""The benchmarks' texts: plain words the bundled model reads as one word piece each."""

from __future__ import annotations

import attn_core

WORDS = [
    *["the", "cat", "sat", "on", "a", "mat", "and", "we", "saw", "it", "run"],
    *["to", "the", "old", "red", "car", "by", "his", "new", "big", "dog"],
]


def text_with_pieces(n: int, model: attn_core.Model) -> str:
    """A text the model reads as exactly ``n`` word pieces, [CLS] and [SEP] included."""
    text = " ".join(WORDS[i % len(WORDS)] for i in range(n - 2))
    emb = attn_core.embed(text, model=model)
    assert len(emb.tokens) == n and not emb.truncated, (n, len(emb.tokens))
    return text
