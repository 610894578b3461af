"""What one forward pass computed, and what one layer of it computed, whichever network
ran it."""

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


@dataclass(frozen=True)
class Stages:
    """Every intermediate array of one layer on one text (float32, as computed).

    Attributes
    ----------
    head_input : ndarray, shape (T, d)
        What the heads project: the layer's input (BERT), its LayerNorm (GPT-2).
    values : ndarray, shape (H, T, d_h)
        Each head's values ``v_h = x W_V^h + b_V^h``.
    weights : ndarray, shape (H, T, T)
        Each head's attention.
    heads : ndarray, shape (H, T, d_h)
        Each head's output ``A_h v_h``.
    concat : ndarray, shape (T, d)
        The heads side by side.
    update : ndarray, shape (T, d)
        ``concat W_O + b_O``: what attention adds to the residual stream.
    attention_out : ndarray, shape (T, d)
        The attention sub-layer's output: ``LayerNorm(x + update)`` (BERT), ``x + update``
        (GPT-2, whose LayerNorms come first).
    hidden_out : ndarray, shape (T, d)
        After the feed-forward sub-layer: the next layer's input.
    """

    head_input: np.ndarray
    values: np.ndarray
    weights: np.ndarray
    heads: np.ndarray
    concat: np.ndarray
    update: np.ndarray
    attention_out: np.ndarray
    hidden_out: np.ndarray
