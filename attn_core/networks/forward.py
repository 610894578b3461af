"""What one forward pass computed, whichever network ran it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Forward:
    """What one pass of the network computed for one text.

    Attributes
    ----------
    last : ndarray, shape (T, d)
        Final token vectors (float64): the last layer's output, after GPT-2's final
        LayerNorm.
    hidden : ndarray, shape (L + 1, T, d), optional
        The hidden states entering each layer, and the final vectors (float32, as
        computed; as Hugging Face's ``output_hidden_states`` reports them).
    attentions : ndarray, shape (L, H, T, T), optional
        Every head's attention probabilities (float32, as computed).
    head_inputs : ndarray, shape (L, T, d), optional
        What each layer's heads project: the hidden state itself in BERT (its LayerNorm
        comes after), its LayerNorm in GPT-2 (before).
    """

    last: np.ndarray
    hidden: np.ndarray | None = None
    attentions: np.ndarray | None = None
    head_inputs: np.ndarray | None = None
