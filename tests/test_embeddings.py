"""attn_core.embeddings with the real bundled all-MiniLM-L6-v2 (no mocks)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import attn_core
from attn_core import embed, model_head, self_attention


def test_static_vectors_are_the_embedding_table_rows(model):
    emb = embed("hi how are you", model=model)
    assert emb.tokens == ["[CLS]", "hi", "how", "are", "you", "[SEP]"]
    assert emb.special == [True, False, False, False, False, True]
    table = model.transformer.embeddings.word_embeddings.weight.detach().numpy()
    ids = [i for (i,) in emb.token_ids]
    assert ids == model.sentence_transformer.tokenizer("hi how are you")["input_ids"]
    np.testing.assert_array_equal(emb.vectors, table[ids])
    assert emb.vectors.shape == (6, 384) and emb.kind == "static"
    assert emb.model_name == "all-MiniLM-L6-v2" and emb.max_tokens == 256


TEXTS = [
    "hi how are you",
    "Embeddings of the bank: naïve café, 東京 and 🙂!",
    "  spaces,\ttabs\nand NEWLINES; CamelCase don't co-operate 3.14 ",
    "attention " * 300,  # truncated
]


@pytest.mark.parametrize("text", TEXTS)
def test_files_read_without_torch_match_the_loaded_network(model, text):
    """Tokens, ids, spans, the length limit and the table, against the model's own stack."""
    emb = embed(text, model=model)
    hf = model.sentence_transformer.tokenizer  # the network's Hugging Face tokenizer
    reference = hf(text, truncation=True, max_length=model.sentence_transformer.max_seq_length)
    assert [i for (i,) in emb.token_ids] == reference["input_ids"]
    assert emb.tokens == hf.convert_ids_to_tokens(reference["input_ids"])
    spans = hf(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    assert emb.offsets[1:-1] == [tuple(o) for o in spans[: len(emb.tokens) - 2]]
    assert model.max_tokens == model.sentence_transformer.max_seq_length == 256
    table = model.transformer.get_input_embeddings().weight.detach().numpy()
    np.testing.assert_array_equal(model.table, table)


def test_static_vectors_never_load_the_network():
    code = textwrap.dedent(
        """
        import sys
        import attn_core
        model = attn_core.load_model()
        emb = attn_core.embed("hi how are you", model=model, merge_subwords=True)
        heavy = [m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules]
        print(emb.vectors.shape, model.network_loaded, heavy)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "(6, 384) False []"


def test_a_folder_without_tokenizer_json_loads_through_the_network(model, tmp_path):
    """Other layouts take the long way; the numbers are the same."""
    from attn_core import load_model

    for item in Path(model.source).iterdir():
        if item.name != "tokenizer.json":
            (tmp_path / item.name).symlink_to(item)
    other = load_model(str(tmp_path))
    assert other.network_loaded and other is not model
    for text in TEXTS:
        a, b = embed(text, model=other), embed(text, model=model)
        assert a.tokens == b.tokens and a.offsets == b.offsets and a.n_dropped == b.n_dropped
        np.testing.assert_array_equal(a.vectors, b.vectors)


def test_contextual_vectors_are_the_model_token_embeddings(model):
    emb = embed("hi how are you", kind="contextual", model=model)
    features = model.sentence_transformer.tokenize(["hi how are you"])
    with torch.inference_mode():
        reference = model.sentence_transformer.forward(features)["token_embeddings"][0]
    # two float32 passes (numpy's, torch's) round differently; test_encoder bounds both
    np.testing.assert_allclose(emb.vectors, reference.numpy(), rtol=1e-5, atol=1e-5)


def test_same_word_same_static_vector_different_contextual(model):
    a = embed("I sat by the river bank", model=model)
    b = embed("the bank raised interest rates", model=model)
    ia, ib = a.tokens.index("bank"), b.tokens.index("bank")
    np.testing.assert_array_equal(a.vectors[ia], b.vectors[ib])
    ca = embed("I sat by the river bank", kind="contextual", model=model)
    cb = embed("the bank raised interest rates", kind="contextual", model=model)
    cos = (
        ca.vectors[ia]
        @ cb.vectors[ib]
        / np.linalg.norm(ca.vectors[ia])
        / np.linalg.norm(cb.vectors[ib])
    )
    assert cos < 0.95


def test_tokens_map_back_to_text_through_offsets(model):
    text = "Embeddings of the bank: naïve café, 東京 and 🙂!"
    emb = embed(text, model=model, special_tokens=False)
    for tok, (start, end) in zip(emb.tokens, emb.offsets, strict=True):
        piece = text[start:end].lower()
        if tok != "[UNK]":
            assert tok.removeprefix("##") in (piece, _strip_accents(piece)), (tok, piece)


def _strip_accents(s: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


def test_special_tokens_can_be_dropped(model):
    emb = embed("hi how are you", model=model, special_tokens=False)
    assert emb.tokens == ["hi", "how", "are", "you"] and not any(emb.special)
    ctx_all = embed("hi how are you", kind="contextual", model=model)
    ctx = embed("hi how are you", kind="contextual", model=model, special_tokens=False)
    # Dropping the rows does not change what the model computed for the others.
    np.testing.assert_allclose(ctx.vectors, ctx_all.vectors[1:-1])


def test_subwords_merge_into_words_with_mean_vectors(model):
    pieces = embed("embeddings work", model=model)
    assert pieces.tokens == ["[CLS]", "em", "##bed", "##ding", "##s", "work", "[SEP]"]
    words = embed("embeddings work", model=model, merge_subwords=True)
    assert words.tokens == ["[CLS]", "embeddings", "work", "[SEP]"]
    np.testing.assert_allclose(words.vectors[1], pieces.vectors[1:5].mean(axis=0))
    assert words.offsets[1] == (0, 10)
    assert (
        words.token_ids[1]
        == pieces.token_ids[1] + pieces.token_ids[2] + pieces.token_ids[3] + pieces.token_ids[4]
    )
    assert pieces.pieces == [(i,) for i in range(7)]
    assert words.pieces == [(0,), (1, 2, 3, 4), (5,), (6,)]
    bare = embed("embeddings work", model=model, merge_subwords=True, special_tokens=False)
    assert bare.pieces == [(1, 2, 3, 4), (5,)]


def test_repeated_tokens_keep_their_own_rows(model):
    emb = embed("the cat and the dog", model=model, special_tokens=False)
    assert emb.tokens == ["the", "cat", "and", "the", "dog"]
    assert emb.offsets[0] != emb.offsets[3]


def test_long_text_is_truncated_and_says_so(model):
    emb = embed("word " * 300, model=model)
    assert len(emb.tokens) == 256 and emb.truncated and emb.n_dropped == 300 - 254
    short = embed("word " * 10, model=model)
    assert not short.truncated and short.n_dropped == 0
    ctx = embed("word " * 300, kind="contextual", model=model)
    assert ctx.vectors.shape == (256, 384) and ctx.n_dropped == 46


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_raises(model, text):
    with pytest.raises(ValueError, match="empty"):
        embed(text, model=model)


def test_control_characters_only_raise(model):
    with pytest.raises(ValueError, match="no tokens"):
        embed("\x00\x01\u200b", model=model)


@pytest.mark.parametrize(("kwargs", "message"), [({"kind": "dynamic"}, "kind must be one of")])
def test_bad_kind_raises(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        embed("hi", model=model, **kwargs)


def test_non_string_raises(model):
    with pytest.raises(ValueError, match="string"):
        embed(42, model=model)  # type: ignore[arg-type]


def test_shared_model_is_thread_safe(model):
    texts = [f"sentence number {i} about the river bank" for i in range(8)]
    expected = {t: embed(t, kind="contextual", model=model).vectors for t in texts}
    errors: list[BaseException] = []

    def work(t: str) -> None:
        try:
            for _ in range(3):
                got = embed(t, kind="contextual", model=model).vectors
                np.testing.assert_allclose(got, expected[t], rtol=1e-5, atol=1e-6)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in texts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[0]


def test_the_network_loads_once_when_threads_ask_together(model):
    """Sessions that first need contextual vectors at the same moment share one load."""
    from attn_core import load_model

    fresh = load_model(model.source)  # the same files by path: a model of its own
    assert fresh is not model and not fresh.network_loaded
    texts = [f"the river bank, take {i}" for i in range(6)]
    got: dict[str, np.ndarray] = {}
    start = threading.Barrier(len(texts))

    def work(t: str) -> None:
        start.wait()
        got[t] = embed(t, kind="contextual", model=fresh).vectors

    threads = [threading.Thread(target=work, args=(t,)) for t in texts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(fresh._network) == 1  # one network, loaded once
    for t in texts:
        np.testing.assert_allclose(got[t], embed(t, kind="contextual", model=model).vectors)


def test_bundled_model_loads_with_the_network_unavailable(tmp_path):
    script = textwrap.dedent(
        """
        import socket
        attempts = []
        def refuse(self, address, *args, **kwargs):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                attempts.append(address)
                raise OSError("network disabled for this test")
            return real_connect(self, address, *args, **kwargs)
        real_connect = socket.socket.connect
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        import attn_core
        emb = attn_core.embed("hi how are you", kind="contextual")
        assert emb.vectors.shape == (6, 384), emb.vectors.shape
        assert not attempts, attempts
        print("OK", len(attempts))
        """
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "OK 0" in done.stdout


@pytest.mark.parametrize(("layer", "head"), [(0, 0), (2, 5), (5, 11)])
def test_a_trained_head_recomputed_from_its_weights_equals_the_models_attention(model, layer, head):
    h = model_head("The bank raised its interest rates again.", layer=layer, head=head, model=model)
    assert h.tokens[0] == "[CLS]" and h.tokens[-1] == "[SEP]"
    assert h.projections.w_q.shape == (384, 32) and h.projections.b_v.shape == (32,)
    res = self_attention(h.hidden, h.projections)  # scaled by 1/√32 by default, as BERT does
    np.testing.assert_allclose(res.weights, h.weights, atol=1e-5)
    np.testing.assert_allclose(h.weights.sum(axis=1), 1.0, rtol=1e-5)


def test_the_first_layer_reads_the_embedding_layer_output(model):
    h = model_head("hi how are you", layer=0, head=0, model=model)
    emb = model.transformer.embeddings
    with torch.inference_mode():
        expected = emb(input_ids=torch.tensor([[101, 7632, 2129, 2024, 2017, 102]]))[0]
    np.testing.assert_allclose(h.hidden, expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layer": 6, "head": 0}, "layer must be"),
        ({"layer": -1, "head": 0}, "layer must be"),
        ({"layer": 0, "head": 12}, "head must be"),
        ({"layer": 0, "head": 1.5}, "head must be"),
    ],
)
def test_model_head_validates_its_arguments(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model_head("hi", model=model, **kwargs)


def test_shared_words_are_the_words_both_texts_use_in_the_first_texts_order(model):
    a = attn_core.embed("the cat and the dog", model=model)
    b = attn_core.embed("a dog chased the cat", model=model)
    assert attn_core.shared_words(a, b) == ["the", "cat", "dog"]
    # [CLS] and [SEP] are in every text, so they are never words two texts share
    assert attn_core.shared_words(a, attn_core.embed("zebra", model=model)) == []
    merged = attn_core.embed("embeddings work", model=model, merge_subwords=True)
    assert attn_core.shared_words(merged, attn_core.embed("embeddings", model=model)) == []
    both = attn_core.embed("embeddings", model=model, merge_subwords=True)
    assert attn_core.shared_words(merged, both) == ["embeddings"]


def test_one_forward_pass_gives_every_layer_and_head(model):
    ids, _, _ = model.encode("the river bank")
    out = model.forward(ids, every_layer=True)
    layers, heads = model.shape
    t = len(ids)
    assert out.hidden.shape == (layers + 1, t, model.width)
    assert out.attentions.shape == (layers, heads, t, t)
    np.testing.assert_allclose(out.attentions.sum(axis=-1), 1.0, atol=1e-5)
    contextual = attn_core.embed("the river bank", kind="contextual", model=model).vectors
    np.testing.assert_allclose(out.last, contextual, rtol=1e-12)
    np.testing.assert_allclose(out.hidden[-1], contextual, atol=1e-6)
    head = attn_core.model_head("the river bank", layer=2, head=7, model=model)
    np.testing.assert_array_equal(head.weights, out.attentions[2, 7])
