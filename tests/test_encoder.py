"""attn_core.encoder: the bundled network in numpy, held to the Hugging Face model (torch)."""

from __future__ import annotations

import copy
import math
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from attn_core.encoder import Encoder, mapped_tensors
from attn_core.model import TorchNetwork
from attn_core.networks import numerics

TEXTS = [
    "hi how are you",
    "Embeddings work, unbelievably: 東京 🙂 cafe\u0301",
    "The bank raised its interest rates again, and the river flooded. " * 20,  # 256, cut
]


@pytest.fixture(scope="module")
def exact(model):
    """The same network in float64 with torch: the truth both float32 passes round."""
    return copy.deepcopy(model.transformer).double().eval()


def _exact_forward(network, ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with torch.inference_mode():
        t = torch.tensor([ids])
        out = network(
            input_ids=t,
            attention_mask=torch.ones_like(t),
            output_attentions=True,
            output_hidden_states=True,
        )
    hidden = torch.stack(out.hidden_states)[:, 0].numpy()  # (L + 1, T, d)
    return out.last_hidden_state[0].numpy(), hidden, torch.stack(out.attentions)[:, 0].numpy()


@pytest.mark.parametrize("text", TEXTS)
def test_the_numpy_pass_is_as_close_to_the_exact_network_as_torchs_own(model, exact, text):
    """Every output, against float64: within twice torch's float32 error, and within 1e-5."""
    assert isinstance(model.network, Encoder)
    ids, _, _ = model.encode(text)
    ours = model.forward(ids, every_layer=True)
    theirs = TorchNetwork(model.sentence_transformer).forward(ids, every_layer=True)
    last, hidden, attentions = _exact_forward(exact, ids)
    assert ours.hidden.shape == (7, len(ids), 384) and ours.attentions.shape[:2] == (6, 12)
    for name, truth in (("last", last), ("hidden", hidden), ("attentions", attentions)):
        ours_err = np.abs(getattr(ours, name) - truth).max()
        torch_err = np.abs(getattr(theirs, name) - truth).max()
        assert ours_err <= max(2 * torch_err, 1e-6), (name, ours_err, torch_err)
        assert ours_err < 1e-5, (name, ours_err)
    assert ours.hidden.dtype == ours.attentions.dtype == np.float32
    assert ours.last.dtype == np.float64


def test_a_heads_projections_are_the_networks_query_key_and_value(model):
    attention = model.transformer.encoder.layer[3].attention.self
    h = model.head_projections(3, 7)
    rows = slice(7 * 32, 8 * 32)
    for ours, bias, linear in (
        (h.w_q, h.b_q, attention.query),
        (h.w_k, h.b_k, attention.key),
        (h.w_v, h.b_v, attention.value),
    ):
        np.testing.assert_array_equal(ours, linear.weight.detach().double().numpy()[rows].T)
        np.testing.assert_array_equal(bias, linear.bias.detach().double().numpy()[rows])


def test_every_tensor_mapped_is_what_the_safetensors_library_reads(model):
    from safetensors.numpy import load_file

    path = Path(model.source) / "model.safetensors"
    ours, reference = mapped_tensors(path), load_file(path)
    floats = {name for name, value in reference.items() if value.dtype == np.float32}
    assert set(ours) == floats and len(floats) > 100
    for name in floats:
        np.testing.assert_array_equal(ours[name], reference[name])
        assert not ours[name].flags.writeable


def test_erfc_and_gelu_against_the_math_library():
    z = np.linspace(-4, 4, 40_001).astype(np.float32)
    want = np.array([math.erfc(v) for v in z.astype(np.float64)])
    got = numerics.erfc(z).astype(np.float64)
    # relative, everywhere down to erfc(4) = 1.5e-8: float32's rounding of -z² (16 at z = 4)
    # is 1e-6 of exp's argument there; GELU multiplies that by a value near 0
    assert np.max(np.abs(got - want) / want) < 3e-6
    assert np.max(np.abs(got - want)[np.abs(z) < 2] / want[np.abs(z) < 2]) < 5e-7
    x = np.linspace(-12, 12, 40_001)
    gelu = x * 0.5 * np.array([math.erfc(-v / math.sqrt(2)) for v in x])
    got = numerics.gelu(x.astype(np.float32)).astype(np.float64)
    np.testing.assert_allclose(got, gelu, rtol=1e-6, atol=1e-7)


def test_threads_share_one_encoder(model):
    """No lock: passes from several sessions at once give each its own, exact answer."""
    texts = [f"sentence number {i} about a river bank" for i in range(6)]
    ids = [model.encode(t)[0] for t in texts]
    alone = [model.forward(i, every_layer=True).attentions for i in ids]
    together: dict[int, np.ndarray] = {}

    def run(k: int) -> None:
        for _ in range(3):
            together[k] = model.forward(ids[k], every_layer=True).attentions

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(ids))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, want in enumerate(alone):
        np.testing.assert_array_equal(together[k], want)


def test_other_architectures_are_left_to_torch(model, tmp_path):
    for item in Path(model.source).iterdir():
        if item.name != "config.json":
            (tmp_path / item.name).symlink_to(item)
    config = (Path(model.source) / "config.json").read_text()
    assert Encoder.from_folder(Path(model.source)) is not None
    for old, new in (('"gelu"', '"gelu_new"'), ('"bert"', '"roberta"')):
        (tmp_path / "config.json").write_text(config.replace(old, new))
        assert Encoder.from_folder(tmp_path) is None
    (tmp_path / "config.json").unlink()
    assert Encoder.from_folder(tmp_path) is None
