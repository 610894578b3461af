"""One layer of the model, from its heads to the next layer's input, every stage kept.

For the hidden states ``X`` (T, d) entering a layer of H heads of width ``d_h = d / H``:

    Z_h = A_h V_h,   A_h = softmax(Q_h K_hᵀ / √d_h)        each head's output (T, d_h)
    C   = [Z_1 … Z_H]                                       the heads side by side (T, d)
    U   = C W_O + b_O                                       what attention adds (T, d)
    BERT:   A = LayerNorm(X + U)     X' = LayerNorm(A + FFN(A))
    GPT-2:  A = X + U                X' = A + FFN(LayerNorm₂(A))

GPT-2 normalises before each sub-layer (its heads read ``LayerNorm₁(X)``), so its ``A``
is the residual stream after attention, not normalised. Because
``C W_O = Σ_h Z_h W_O^h``, token i's update is a sum over heads h and tokens j of
``w_ij^h f_h(x_j)`` with ``f_h(x) = (x W_V^h + b_V^h) W_O^h``; the lengths of those
vectors say how much each token really moves another (Kobayashi et al., 2020, "Attention
is not only a weight"): a large weight on a short vector moves little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attn_core.embeddings import join_pieces, reading_rows
from attn_core.model import Model, load_model
from attn_core.networks import GPT2, Bert
from attn_core.training import pool_attention
from attn_core.validation import check_index, check_int, check_text


@dataclass(frozen=True)
class Layer:
    """One layer of the model on one text, every stage kept (float32, as computed).

    With merged words or no special tokens, the network still reads every word piece;
    the stages are read on the chosen rows: attention as ``all_heads`` pools it
    (``pool_attention``), ``norms`` the same way but not renormalised (a word's column
    is the sum of its pieces' columns, its row the mean of its pieces' rows), and every
    per-token vector is the mean of its word's pieces.

    Attributes
    ----------
    tokens : list of str
        T labels, as ``all_heads`` gives them.
    special : list of bool
        Whether each token is one the tokenizer added ([CLS], [SEP]; <s>, </s>).
    layer : int
    hidden_in : ndarray, shape (T, d)
        The hidden states entering the layer.
    head_input : ndarray, shape (T, d)
        What the heads project: ``hidden_in`` itself (BERT), its LayerNorm (GPT-2).
    weights : ndarray, shape (H, T, T)
        Each head's attention; every row sums to 1.
    heads : ndarray, shape (H, T, d_h)
        Each head's output ``A_h V_h``.
    concat : ndarray, shape (T, d)
        The heads side by side.
    update : ndarray, shape (T, d)
        ``concat W_O + b_O``: what attention adds to the residual stream.
    attention_out : ndarray, shape (T, d)
        The attention sub-layer's output: ``LayerNorm(hidden_in + update)`` for the BERT
        family; for GPT-2 (LayerNorm first) ``hidden_in + update``, the residual stream
        after attention.
    hidden_out : ndarray, shape (T, d)
        After the feed-forward sub-layer: the next layer's input (for GPT-2's last
        block, before the final LayerNorm).
    norms : ndarray, shape (H, T, T)
        ``‖w_ij^h f_h(x_j)‖``, with ``f_h(x) = (x W_V^h + b_V^h) W_O^h`` head h's share of
        the output projection and ``x_j`` row j of ``head_input``.
    n_dropped : int
        Word pieces cut off because the text was too long.
    model_name : str
    causal : bool
        Whether each token sees only itself and the tokens before it (GPT-2).
    """

    tokens: list[str]
    special: list[bool]
    layer: int
    hidden_in: np.ndarray
    head_input: np.ndarray
    weights: np.ndarray
    heads: np.ndarray
    concat: np.ndarray
    update: np.ndarray
    attention_out: np.ndarray
    hidden_out: np.ndarray
    norms: np.ndarray
    n_dropped: int
    model_name: str
    causal: bool

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(H, T, d)``."""
        return self.heads.shape[0], self.heads.shape[1], self.concat.shape[1]

    @property
    def update_lengths(self) -> np.ndarray:
        """``(T,)``: how far attention moves each token, ``‖update_i‖`` (float64)."""
        return np.linalg.norm(self.update.astype(np.float64), axis=1)

    @property
    def residual_lengths(self) -> np.ndarray:
        """``(T,)``: the length of what it moves, ``‖hidden_in_i‖`` (float64)."""
        return np.linalg.norm(self.hidden_in.astype(np.float64), axis=1)


def layer(
    text: str,
    layer: int = 2,
    *,
    model: Model | str | None = None,
    special_tokens: bool = True,
    merge_subwords: bool = False,
) -> Layer:
    """One layer of the model on ``text``, from its heads to the next layer's input.

    Runs the layers up to ``layer`` (not the ones after it).

    Parameters
    ----------
    text : str
        Any non-blank text (truncated as ``embed`` does).
    layer : int, default 2
        Which layer, counting from 0.
    model : Model or str, optional
        As for ``embed``.
    special_tokens, merge_subwords : bool
        As for ``all_heads``: the network always sees every word piece; these only choose
        the rows the stages are read on.

    Returns
    -------
    Layer

    Raises
    ------
    ValueError
        For a blank text, a ``layer`` that is not an integer in ``[0, L)``, or a model
        whose network runs through torch (a sentence-transformers folder of an
        architecture the numpy networks do not read).
    """
    check_text(text)
    check_int(layer, "layer")
    if not isinstance(model, Model):
        model = load_model(model)
    network = model.network
    if not isinstance(network, Bert | GPT2):
        raise ValueError(f"{model.name} runs through torch: its layers' stages are not kept")
    layer = check_index(layer, "layer", network.layers)
    ids, _, n_dropped = model.encode(text)
    x = network.embeddings(ids)  # (P, d)
    for i in range(layer):
        x = network.stages(x, i).hidden_out  # (P, d)
    s = network.stages(x, layer)
    norms = _norms(s.weights, s.values, network.output_weights(layer)[0])  # (H, P, P)
    pieces, special, rows = reading_rows(model, ids, special_tokens, merge_subwords)
    vectors = dict(
        hidden_in=x,
        head_input=s.head_input,
        heads=s.heads,
        concat=s.concat,
        update=s.update,
        attention_out=s.attention_out,
        hidden_out=s.hidden_out,
    )
    weights = s.weights  # (H, P, P)
    if rows != [[i] for i in range(len(ids))]:
        mean, total = _pooling(rows, len(ids))  # (T, P), (P, T)
        vectors = {name: mean @ a for name, a in vectors.items()}  # (T, P) @ (.., P, n)
        groups = [tuple(r) for r in rows]
        weights = np.stack([pool_attention(w, groups) for w in weights]).astype(np.float32)
        norms = mean @ norms @ total  # (T, P) @ (H, P, P) @ (P, T) -> (H, T, T)
    return Layer(
        tokens=[join_pieces([pieces[i] for i in r]) for r in rows],
        special=[special[r[0]] for r in rows],
        layer=layer,
        weights=weights,
        norms=norms,
        n_dropped=n_dropped,
        model_name=model.name,
        causal=model.causal,
        **vectors,
    )


def every_layer_norms(
    text: str,
    *,
    model: Model | str | None = None,
    special_tokens: bool = True,
    merge_subwords: bool = False,
) -> np.ndarray:
    """``layer(text, l).norms`` for every layer ``l``, from one pass of the network.

    Parameters
    ----------
    text, model, special_tokens, merge_subwords
        As for ``layer``.

    Returns
    -------
    ndarray, shape (L, H, T, T), float32
        ``‖w_ij^h f_h(x_j)‖`` of every layer, head, row and column.
    """
    check_text(text)
    if not isinstance(model, Model):
        model = load_model(model)
    network = model.network
    if not isinstance(network, Bert | GPT2):
        raise ValueError(f"{model.name} runs through torch: its layers' stages are not kept")
    ids, _, _ = model.encode(text)
    _, _, rows = reading_rows(model, ids, special_tokens, merge_subwords)
    pooled = rows != [[i] for i in range(len(ids))]
    mean, total = _pooling(rows, len(ids))  # (T, P), (P, T)
    x = network.embeddings(ids)  # (P, d)
    out = []
    for i in range(network.layers):
        s = network.stages(x, i)
        norms = _norms(s.weights, s.values, network.output_weights(i)[0])  # (H, P, P)
        out.append(mean @ norms @ total if pooled else norms)  # (H, T, T)
        x = s.hidden_out  # (P, d)
    return np.stack(out).astype(np.float32)  # (L, H, T, T)


def _norms(weights: np.ndarray, values: np.ndarray, w_o: np.ndarray) -> np.ndarray:
    """``‖w_ij^h f_h(x_j)‖`` for every head, row and column: ``(H, T, T)``.

    ``w_ij^h >= 0``, so each length is ``w_ij^h ‖f_h(x_j)‖``: one length per head and
    column, not one vector per cell.
    """
    h, _, d_h = values.shape
    w_o_heads = w_o.reshape(h, d_h, -1)  # (d, d) -> (H, d_h, d): head h's rows of W_O
    f = values @ w_o_heads  # (H, T, d_h) @ (H, d_h, d) -> (H, T, d)
    lengths = np.linalg.norm(f, axis=-1)  # (H, T)
    return weights * lengths[:, None, :]  # (H, T, T) * (H, 1, T)


def _pooling(rows: list[list[int]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The matrices that read P word pieces on T rows: the mean of each row's pieces
    ``(T, P)``, and the sum of each row's pieces as a column ``(P, T)``."""
    mean = np.zeros((len(rows), n), dtype=np.float32)  # (T, P)
    for r, group in enumerate(rows):
        mean[r, group] = 1 / len(group)
    return mean, (mean > 0).T.astype(np.float32)  # (P, T)
