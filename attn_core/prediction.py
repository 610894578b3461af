"""What a decoder predicts next: its most likely next tokens and how sure it is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attn_core.model import Model, load_model
from attn_core.validation import check_int, check_text


@dataclass(frozen=True)
class NextToken:
    """A decoder's prediction for the token after a text.

    Attributes
    ----------
    tokens : list of str
        The ``k`` most likely next tokens, most likely first, decoded to text
        (``" bank"``, with its leading space).
    ids : list of int
        Their vocabulary ids.
    probs : ndarray, shape (k,)
        Their probabilities: the softmax of the last position's logits over the whole
        vocabulary (so they sum to at most 1).
    entropy : float
        Entropy of that whole distribution, in bits: 0 when one token is certain,
        ``log2(vocab)`` when every token is equally likely.
    n_dropped : int
        Tokens cut off the end because the text was too long (the prediction follows
        the last token kept).
    model_name : str
    """

    tokens: list[str]
    ids: list[int]
    probs: np.ndarray
    entropy: float
    n_dropped: int
    model_name: str


def next_token(text: str, *, model: Model | str | None = None, k: int = 5) -> NextToken:
    r"""The ``k`` tokens a decoder (GPT-2) finds most likely to follow ``text``.

    .. math:: p = \mathrm{softmax}(h_T E^\top),\qquad H = -\sum_v p_v \log_2 p_v

    where ``h_T`` is the last position's final vector and ``E`` the word-embedding table
    (GPT-2's LM head is tied to it).

    Parameters
    ----------
    text : str
        Any non-blank text.
    model : Model or str
        A decoder (``model.causal``); an encoder such as BERT raises ``ValueError``.
    k : int, default 5
        How many tokens, in [1, vocab].

    Returns
    -------
    NextToken
    """
    check_text(text)
    if not isinstance(model, Model):
        model = load_model(model)
    if not model.causal:
        raise ValueError(
            f"{model.name} is an encoder (it reads the whole text at once): "
            "only a decoder such as GPT-2 predicts a next token"
        )
    ids, _, n_dropped = model.encode(text)
    logits = model.next_logits(ids)  # (V,)
    vocab = logits.shape[0]
    k = check_int(k, "k", 1, vocab)
    z = logits - logits.max()  # (V,): subtract the max so exp cannot overflow
    p = np.exp(z)
    total = p.sum()
    p /= total
    log_p = z - np.log(total)  # (V,): log p without log(0) for the far tail
    entropy = float(-(p * log_p).sum() / np.log(2))
    top = np.argsort(-p, kind="stable")[:k]  # (k,)
    with model.lock:
        tokens = [model.tokenizer.decode([int(i)], skip_special_tokens=False) for i in top]
    return NextToken(
        tokens=tokens,
        ids=[int(i) for i in top],
        probs=p[top],
        entropy=entropy,
        n_dropped=n_dropped,
        model_name=model.name,
    )
