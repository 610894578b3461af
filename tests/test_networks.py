"""attn_core.networks: the numpy BERT, RoBERTa and GPT-2 passes, on small random models
saved as save_pretrained writes them, held to transformers (torch, eager attention)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers as tf
from tiny_models import KINDS

import attn_core
from attn_core import all_heads, embed, model_head, next_token, self_attention

TEXTS = [
    "The bank raised its rates.",
    "Attention lets every token look at every other token, unbelievably 🙂 東京!",
]
LONG = " ".join(["the quick brown fox jumps over the lazy dog"] * 12)  # past 64 positions
REFERENCE = {"bert": tf.BertModel, "roberta": tf.RobertaModel, "gpt2": tf.GPT2LMHeadModel}


@pytest.fixture(scope="module")
def reference(tiny_folders):
    """Each folder read back by transformers itself, in float32 and float64."""
    loaded = {}
    for kind, folder in tiny_folders.items():
        cls = REFERENCE["bert" if kind == "bert_bin" else kind.removesuffix("_bin")]
        model = cls.from_pretrained(folder, attn_implementation="eager").eval()
        loaded[kind] = model
    return loaded


def _run(model, ids: list[int]):
    with torch.inference_mode():
        t = torch.tensor([ids])
        return model(
            input_ids=t,
            attention_mask=torch.ones_like(t),
            output_attentions=True,
            output_hidden_states=True,
        )


def _hf_tokenizer(folder):
    return tf.AutoTokenizer.from_pretrained(folder)


@pytest.mark.parametrize("kind", [*KINDS, "roberta_bin"])
@pytest.mark.parametrize("text", [*TEXTS, LONG])
def test_every_head_and_the_last_layer_match_transformers(tiny_folders, reference, kind, text):
    m = attn_core.load_model(str(tiny_folders[kind]))
    ids, _, n_dropped = m.encode(text)
    if text is LONG:  # cut to the last position the model has
        assert n_dropped > 0 and len(ids) == m.max_tokens == 64
    else:  # the same ids, special tokens included, as the model's own tokenizer gives
        assert n_dropped == 0 and ids == _hf_tokenizer(tiny_folders[kind])(text)["input_ids"]
    out = _run(reference[kind], ids)
    theirs = torch.stack(out.attentions)[:, 0].numpy()  # (L, H, T, T)
    heads = all_heads(text, model=m)
    assert heads.weights.shape == (2, 4, len(ids), len(ids)) == theirs.shape
    np.testing.assert_allclose(heads.weights, theirs, atol=1e-5)
    last = out.hidden_states[-1][0].numpy()  # after GPT-2's final LayerNorm
    np.testing.assert_allclose(embed(text, kind="contextual", model=m).vectors, last, atol=1e-5)
    ours = m.forward(ids, every_layer=True)
    np.testing.assert_allclose(ours.hidden, torch.stack(out.hidden_states)[:, 0], atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_a_head_recomputes_from_its_inputs_and_projections(tiny_folders, kind):
    m = attn_core.load_model(str(tiny_folders[kind]))
    for layer, head in ((0, 0), (1, 3)):
        h = model_head(TEXTS[1], layer=layer, head=head, model=m)
        assert h.causal is (kind == "gpt2") and h.projections.w_q.shape == (32, 8)
        again = self_attention(h.hidden, h.projections, causal=h.causal).weights
        np.testing.assert_allclose(again, h.weights, atol=1e-5)
        if h.causal:
            assert np.all(np.triu(h.weights, k=1) == 0)
        np.testing.assert_allclose(h.weights.sum(axis=1), 1, atol=1e-6)


@pytest.mark.parametrize("text", [TEXTS[0], "The", LONG])
def test_next_token_is_gpt2s_own_prediction(tiny_folders, reference, text):
    m = attn_core.load_model(str(tiny_folders["gpt2"]))
    pred = next_token(text, model=m, k=5)
    ids, _, _ = m.encode(text)
    logits = _run(reference["gpt2"], ids).logits[0, -1].double()  # (V,)
    p = torch.softmax(logits, dim=0).numpy()
    top = np.argsort(-p)[:5]
    assert pred.ids == top.tolist()
    np.testing.assert_allclose(pred.probs, p[top], atol=1e-6)
    want = -(p * np.log2(p)).sum()
    assert abs(pred.entropy - want) < 1e-5 and 0 < pred.entropy < np.log2(len(p))
    tokenizer = _hf_tokenizer(tiny_folders["gpt2"])
    assert pred.tokens == [tokenizer.decode([i]) for i in top]


def test_tokens_and_special_tokens_per_family(tiny_folders):
    bert, roberta, gpt2 = (attn_core.load_model(str(tiny_folders[k])) for k in KINDS)
    b, r, g = (embed("The river bank", model=m) for m in (bert, roberta, gpt2))
    assert (b.tokens[0], b.tokens[-1]) == ("[CLS]", "[SEP]")
    assert (r.tokens[0], r.tokens[-1]) == ("<s>", "</s>") and r.special[0] and r.special[-1]
    assert not any(g.special)  # GPT-2's tokenizer adds nothing: every row is the text's
    assert embed("The river bank", model=gpt2, special_tokens=False).tokens == g.tokens
    assert (bert.causal, roberta.causal, gpt2.causal) == (False, False, True)
    assert {(m.layers, m.heads, m.width) for m in (bert, roberta, gpt2)} == {(2, 4, 32)}
    merged = embed("unbelievably quickly", model=gpt2, merge_subwords=True)
    assert len(merged.tokens) == 2 and merged.tokens[1].startswith("Ġ")


def test_an_encoder_predicts_no_next_token(tiny_folders):
    m = attn_core.load_model(str(tiny_folders["bert"]))
    with pytest.raises(ValueError, match="encoder"):
        next_token("the river", model=m)
    gpt2 = attn_core.load_model(str(tiny_folders["gpt2"]))
    with pytest.raises(ValueError, match="k must be"):
        next_token("the river", model=gpt2, k=0)


def test_xlm_roberta_runs_as_roberta(tiny_folders, tmp_path):
    import shutil

    folder = shutil.copytree(tiny_folders["roberta"], tmp_path / "xlmr")
    config = (folder / "config.json").read_text()
    (folder / "config.json").write_text(config.replace('"roberta"', '"xlm-roberta"'))
    m = attn_core.load_model(str(folder))
    reference = tf.XLMRobertaModel.from_pretrained(folder, attn_implementation="eager").eval()
    assert reference.config.model_type == "xlm-roberta"
    ids, _, _ = m.encode(TEXTS[0])
    out = _run(reference, ids)
    np.testing.assert_allclose(
        all_heads(TEXTS[0], model=m).weights, torch.stack(out.attentions)[:, 0], atol=1e-5
    )


def test_an_activation_run_in_blocks_gives_the_same_values():
    from attn_core.networks.numerics import BLOCK, gelu

    rng = np.random.default_rng(0)
    for shape in [(256, 1536), (97, 3 * BLOCK // 96 + 1), (3, 5), (BLOCK + 1,)]:
        x = (3 * rng.standard_normal(shape)).astype(np.float32)
        got = gelu(x)
        assert got.dtype == np.float32 and got.shape == x.shape
        np.testing.assert_array_equal(got, gelu.__wrapped__(x))
