"""attn_core: self-attention, stage by stage, on real token vectors.

The math (``self_attention``, ``random_projections``, ``to_plane``) is numpy only;
``embed`` loads the pretrained model lazily, so importing this package does not import
torch, transformers or streamlit. Chart builders live in ``attn_core.charts``.

``load_model`` opens the bundled all-MiniLM-L6-v2 (the default), a ``save_pretrained``
folder of a BERT, RoBERTa, XLM-RoBERTa or GPT-2 model, or one of ``HUB_MODELS``; all run
in numpy. ``all_heads`` keeps every head's attention, ``layer`` one layer from its heads to
the next layer's input; ``next_token`` asks a decoder (GPT-2) what comes next.

>>> import attn_core
>>> emb = attn_core.embed("hi how are you")            # static vectors, (T, 384)
>>> res = attn_core.self_attention(emb.vectors)        # W' = X Xᵀ, W, Y = W X
>>> res.weights.sum(axis=1)                             # every row sums to 1
"""

from attn_core.attention import AttentionResult, Cell, cell, row_entropy, self_attention, softmax
from attn_core.embeddings import KINDS, Embedding, Head, embed, model_head, shared_words
from attn_core.export import load_projections, reproduce, snapshot
from attn_core.heads import PATTERNS, AllHeads, all_heads, head_scores, rollout
from attn_core.layer import Layer, layer
from attn_core.model import BUNDLED_MODEL, Model, is_loaded, load_model
from attn_core.networks import SUPPORTED
from attn_core.prediction import NextToken, next_token
from attn_core.projections import INITS, Projections, random_projections
from attn_core.reduce import METHODS, Plane, cosine, row_norms, spread_ratio, to_plane
from attn_core.settings import MODES, attention_for, cell_for, defaults_for, start_projections
from attn_core.sources import HUB_MODELS
from attn_core.training import (
    OBJECTIVES,
    Training,
    pool_attention,
    previous_token_target,
    train_projections,
)

__all__ = [
    "BUNDLED_MODEL",
    "HUB_MODELS",
    "INITS",
    "KINDS",
    "METHODS",
    "MODES",
    "OBJECTIVES",
    "PATTERNS",
    "SUPPORTED",
    "AllHeads",
    "AttentionResult",
    "Cell",
    "Embedding",
    "Head",
    "Layer",
    "Model",
    "NextToken",
    "Plane",
    "Projections",
    "Training",
    "all_heads",
    "attention_for",
    "cell",
    "cell_for",
    "cosine",
    "defaults_for",
    "embed",
    "head_scores",
    "is_loaded",
    "layer",
    "load_model",
    "load_projections",
    "model_head",
    "next_token",
    "pool_attention",
    "previous_token_target",
    "random_projections",
    "reproduce",
    "rollout",
    "row_entropy",
    "row_norms",
    "self_attention",
    "shared_words",
    "snapshot",
    "softmax",
    "spread_ratio",
    "start_projections",
    "to_plane",
    "train_projections",
]
