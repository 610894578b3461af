"""Token vectors and trained heads of a text: what the page's X and its trained head are.

Reads the model through ``attn_core.model`` (its files, and its network when contextual
vectors or a head need it); nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from attn_core.model import Model, load_model
from attn_core.projections import Projections
from attn_core.validation import check_choice, check_text

KINDS = ("static", "contextual")
"""``static``: rows of the input word-embedding table (context-free, the seed's X);
``contextual``: the model's final-layer token vectors."""


@dataclass(frozen=True)
class Embedding:
    """Token vectors of one text.

    Attributes
    ----------
    text : str
        The text as given.
    tokens : list of str
        One label per row of ``vectors``, as the tokenizer wrote it (``[CLS]``, ``##ing``);
        with merged sub-words, the whole word.
    vectors : ndarray, shape (T, d)
        One row per token.
    offsets : list of (int, int)
        Character span ``text[start:end]`` of each token; ``(0, 0)`` for special tokens.
    token_ids : list of tuple of int
        The vocabulary ids behind each row (several when sub-words were merged).
    special : list of bool
        Whether each row is a special token (``[CLS]``, ``[SEP]``).
    pieces : list of tuple of int
        Which of the model's word pieces (positions, ``[CLS]`` = 0) each row stands for:
        how a head's attention over word pieces maps onto these rows.
    kind : str
        ``"static"`` or ``"contextual"``.
    n_dropped : int
        Word pieces cut off because the text was longer than the model allows.
    max_tokens : int
        The model's maximum sequence length, special tokens included.
    model_name : str
    """

    text: str
    tokens: list[str]
    vectors: np.ndarray
    offsets: list[tuple[int, int]]
    token_ids: list[tuple[int, ...]]
    special: list[bool]
    pieces: list[tuple[int, ...]]
    kind: str
    n_dropped: int
    max_tokens: int
    model_name: str

    @property
    def truncated(self) -> bool:
        """True when part of the text did not fit and was dropped."""
        return self.n_dropped > 0


def embed(
    text: str,
    *,
    kind: str = "static",
    model: Model | str | None = None,
    special_tokens: bool = True,
    merge_subwords: bool = False,
) -> Embedding:
    """Token vectors of ``text``, one row per token the model sees.

    Parameters
    ----------
    text : str
        Any non-blank text. Beyond the model's maximum (256 word pieces for MiniLM,
        ``[CLS]`` and ``[SEP]`` included) it is truncated, and ``n_dropped`` says by how much.
    kind : {"static", "contextual"}, default "static"
        ``static``: the model's input word-embedding rows for the token ids, the same for a
        word in any sentence. ``contextual``: the final-layer vectors, which depend on the
        whole sentence.
    model : Model or str, optional
        A loaded ``Model``, a name/path for ``load_model``, or ``None`` for the bundled one.
    special_tokens : bool, default True
        Keep the rows of the special tokens the model's tokenizer puts around a text
        (``[CLS]`` and ``[SEP]``; RoBERTa's ``<s>`` and ``</s>``). The model always sees
        them; contextual vectors are computed with them either way. GPT-2's tokenizer
        adds none, so for GPT-2 this changes nothing: every row is a piece of the text.
    merge_subwords : bool, default False
        Merge a word's pieces (WordPiece's ``em ##bed ##ding ##s``; byte-level BPE's
        ``Ġem bed dings``, where ``Ġ`` starts a word) into one row per word, whose vector
        is the mean of its pieces' vectors.

    Returns
    -------
    Embedding
    """
    check_text(text)
    check_choice(kind, "kind", KINDS)
    if not isinstance(model, Model):
        model = load_model(model)

    ids, offsets, n_dropped = model.encode(text)
    # static: rows of the table (no network, no torch); contextual: the network's last layer
    static = kind == "static"
    vectors = model.table[ids].astype(np.float64) if static else model.forward(ids).last  # (T, d)

    tokens, special, rows = reading_rows(model, ids, special_tokens, merge_subwords)
    return Embedding(
        text=text,
        tokens=[join_pieces([tokens[i] for i in r]) for r in rows],
        vectors=np.stack([vectors[r].mean(axis=0) for r in rows]),  # (T', d)
        offsets=[(offsets[r[0]][0], offsets[r[-1]][1]) for r in rows],
        token_ids=[tuple(ids[i] for i in r) for r in rows],
        special=[special[r[0]] for r in rows],
        pieces=[tuple(r) for r in rows],
        kind=kind,
        n_dropped=n_dropped,
        max_tokens=model.max_tokens,
        model_name=model.name,
    )


@dataclass(frozen=True)
class Head:
    """One attention head of the model, on one text, as the model itself computed it.

    Attributes
    ----------
    tokens : list of str
        Every word piece the model saw, special tokens included.
    layer, head : int
    hidden : ndarray, shape (T, d)
        What the head projects: the hidden states entering that layer (BERT), or their
        LayerNorm (GPT-2 normalises before attention).
    projections : Projections
        The head's trained ``W_q``, ``W_k``, ``W_v`` (``(d, d_head)``) and biases.
    weights : ndarray, shape (T, T)
        The attention probabilities the model reported for this head.
    n_dropped : int
        Word pieces cut off because the text was too long.
    model_name : str
    causal : bool
        Whether the head sees only earlier tokens (GPT-2): recompute it with ``causal=True``.
    """

    tokens: list[str]
    layer: int
    head: int
    hidden: np.ndarray
    projections: Projections
    weights: np.ndarray
    n_dropped: int
    model_name: str
    causal: bool = False


def model_head(text: str, *, layer: int, head: int, model: Model | str | None = None) -> Head:
    """A trained head's inputs, projections and attention weights for ``text``.

    ``self_attention(h.hidden, h.projections, causal=h.causal)`` recomputes ``h.weights``
    (scaled by ``1/√d_head``, as the model does): the seed's learnable projections, as
    they ended up.

    Parameters
    ----------
    text : str
        Any non-blank text (truncated as ``embed`` does).
    layer, head : int
        Which head, counting from 0 (MiniLM-L6: 6 layers of 12 heads of width 32).
    model : Model or str, optional
        As for ``embed``.
    """
    check_text(text)
    if not isinstance(model, Model):
        model = load_model(model)
    projections = model.head_projections(layer, head)  # checks layer and head
    ids, _, n_dropped = model.encode(text)
    out = model.forward(ids, every_layer=True)
    return Head(
        tokens=[model.tokenizer.id_to_token(i) for i in ids],
        layer=layer,
        head=head,
        hidden=out.head_inputs[layer].astype(np.float64),  # (T, d)
        projections=projections,
        weights=out.attentions[layer, head].astype(np.float64),  # (T, T)
        n_dropped=n_dropped,
        model_name=model.name,
        causal=model.causal,
    )


def reading_rows(
    model: Model, ids: list[int], special_tokens: bool, merge_subwords: bool
) -> tuple[list[str], list[bool], list[list[int]]]:
    """Each id's word piece and whether it is special, and the pieces each row reads:
    one row per piece, or per word, without the special tokens if asked."""
    pieces = [model.tokenizer.id_to_token(i) for i in ids]
    special = model.special(len(ids))
    rows = (
        _word_groups(pieces, special, model.continues)
        if merge_subwords
        else [[i] for i in range(len(ids))]
    )
    if not special_tokens:
        rows = [r for r in rows if not special[r[0]]]
    return pieces, special, rows


def _word_groups(
    tokens: list[str], special: list[bool], continues: Callable[[str], bool] | None = None
) -> list[list[int]]:
    """Group row indices so each continuing piece (``##ing`` by default) joins the word
    before it."""
    continues = continues or (lambda piece: piece.startswith("##"))
    groups: list[list[int]] = []
    for i, tok in enumerate(tokens):
        joins = continues(tok) and groups and not special[groups[-1][0]] and not special[i]
        if joins:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def join_pieces(pieces: list[str]) -> str:
    """One label for a word's pieces: ``em ##bed`` -> ``embed`` (byte-level pieces as they are)."""
    return pieces[0] + "".join(p.removeprefix("##") for p in pieces[1:])


def shared_words(a: Embedding, b: Embedding) -> list[str]:
    """The tokens of ``a`` that ``b`` also has, in ``a``'s order, once each.

    Special tokens ([CLS], [SEP]) are in every text, so they are never shared words.
    """
    special_b = {t for t, special in zip(b.tokens, b.special, strict=True) if special}
    words_b = set(b.tokens) - special_b
    found = [
        t for t, special in zip(a.tokens, a.special, strict=True) if not special and t in words_b
    ]
    return list(dict.fromkeys(found))
