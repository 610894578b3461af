"""Step 10: from the heads to the next layer, every stage drawn from ``attn_core.layer``; and
step 9's switch between a head's weights and what they move, ‖w_ij f(x_j)‖."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from pagetest import assert_clean, chart_specs, open_link, points, rows
from PIL import Image
from test_section_heads import grid_sent, tiles

import attn_core
from app.head_norms import ordinal
from attn_core import charts
from attn_core.charts.base import symmetric_domain
from attn_core.charts.grid import shrink
from attn_core.charts.layer import LENGTH_NAMES

TEXT = "She went to the bank to draw money, then sat on the river bank and watched the water."
TITLE = "10 · From the heads to the next layer"
LINK = {"through": "1", "text": TEXT, "block": "2", "follow": "5"}


@pytest.fixture(scope="module")
def network():
    return attn_core.load_model().load_network()


def by_title(at, title: str) -> dict:
    return next(s for s in chart_specs(at) if s.get("title") == title)


def image(spec: dict) -> np.ndarray:
    """The pixels of a heatmap drawn as one image, (R, C, 3): one per cell."""
    url = spec["datasets"]["image"][0]["url"]
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def assert_map_shows(spec: dict, matrix: np.ndarray) -> None:
    """The heatmap's pixels are ``matrix``'s colours on its default symmetric range (or, for
    a small one drawn a mark a cell, its cells' values are ``matrix``)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if "image" not in spec["datasets"]:
        values = np.array([cell["value"] for cell in rows(spec)])
        np.testing.assert_array_equal(values.reshape(matrix.shape), matrix)
        return
    want = charts.colours(matrix, "diverging", symmetric_domain(matrix, 0.99))
    np.testing.assert_array_equal(image(spec), want)


def texts(at) -> list[str]:
    return [t.value for t in at.text]


def test_the_step_waits_for_its_switch_before_running_the_network(app):
    assert TITLE in [h.value for h in app.header]
    assert app.toggle(key="through").value is False
    assert not any(str(s.get("title", "")).startswith("C = [Z_0") for s in chart_specs(app))


def test_every_stage_drawn_is_the_engines(network):
    at = open_link(LINK)
    assert_clean(at)
    out = attn_core.layer(TEXT, 2, model=network)
    labels = charts.token_labels(out.tokens)
    # the heads side by side, a line between heads
    strip = by_title(at, "C = [Z_0 … Z_11]")
    assert_map_shows(strip, out.concat)
    assert [r["x"] for r in strip["datasets"]["bounds"]] == list(range(32, 384, 32))
    # W_O's product, the residual, LayerNorm: a chain of maps
    assert_map_shows(by_title(at, "Update U = C W_O + b_O"), out.update)
    assert_map_shows(by_title(at, "Residual X + U"), out.hidden_in + out.update)
    assert_map_shows(by_title(at, "After LayerNorm A"), out.attention_out)
    # each token's update beside its residual
    bars = by_title(at, "How long each update is")["datasets"]["lengths"]
    for name, want in zip(LENGTH_NAMES, (out.residual_lengths, out.update_lengths), strict=True):
        got = [r["value"] for r in bars if r["what"] == name]
        np.testing.assert_allclose(got, want, rtol=1e-12)
    moved = np.linalg.norm(
        out.hidden_out.astype(np.float64) - out.hidden_in.astype(np.float64), axis=1
    )
    assert at.selectbox(key="follow").value == 5
    assert [m.value for m in at.metric if "_i" in m.label] == [
        f"{out.residual_lengths[5]:.2f}",
        f"{out.update_lengths[5]:.2f}",
        f"{moved[5]:.2f}",
    ]
    assert (out.update_lengths < out.residual_lengths).all()  # most of x survives
    # the feed-forward and the next layer's X
    assert_map_shows(by_title(at, "Feed-forward change X′ − A"), out.hidden_out - out.attention_out)
    assert_map_shows(by_title(at, "Next layer's input X′"), out.hidden_out)
    # this layer's X and the next on one map
    plane = attn_core.to_plane(out.hidden_in, out.hidden_out)
    spec = next(s for s in chart_specs(at) if "x (into the layer)" in str(s))
    drawn = points(spec)
    np.testing.assert_allclose(
        [(r["x"], r["y"]) for r in drawn if r["stage"] == "x (into the layer)"], plane.before
    )
    np.testing.assert_allclose(
        [(r["x"], r["y"]) for r in drawn if r["stage"] == "x′ (into the next)"], plane.after
    )
    said = "22 tokens entering layer 2 and entering the next, in one plane: each moved"
    assert any(t.startswith(said) for t in texts(at))  # what a screen reader hears
    # which tokens moved most, in all dimensions
    top = np.argsort(-moved)[:3]
    named = ", ".join(f"‘{labels[k]}’ ({moved[k]:.2f})" for k in top)
    assert (
        f"Moved most through layer 2: {named}; the median token moved {np.median(moved):.2f} "
        "(‖x′ − x‖, in all 384 dimensions)."
    ) in texts(at)
    names = at.selectbox(key="export_chart").options
    assert {"Heads side by side", "Update beside residual", "This layer's X and the next"} <= set(
        names
    )


def test_a_new_layer_redraws_the_step_and_the_link_follows(network):
    at = open_link(LINK)
    at.selectbox(key="block").set_value(5).run()
    assert_clean(at)
    out = attn_core.layer(TEXT, 5, model=network)
    assert_map_shows(by_title(at, "C = [Z_0 … Z_11]"), out.concat)
    assert any(t.startswith("Moved most through layer 5: ") for t in texts(at))
    assert at.query_params["block"] == "5" and at.query_params["follow"] == "5"


def test_merged_words_without_special_tokens_are_the_engines_rows(network):
    at = open_link({**LINK, "special": "0", "merge": "1", "block": "0", "follow": "0"})
    assert_clean(at)
    out = attn_core.layer(TEXT, 0, model=network, special_tokens=False, merge_subwords=True)
    bars = by_title(at, "How long each update is")["datasets"]["lengths"]
    assert [r["label"] for r in bars[: len(out.tokens)]] == charts.token_labels(out.tokens)
    np.testing.assert_allclose(
        [r["value"] for r in bars if r["what"] == LENGTH_NAMES[1]], out.update_lengths
    )


def test_a_layer_or_token_past_the_models_is_brought_into_range():
    at = open_link({**LINK, "text": "the river bank", "block": "40", "follow": "200"})
    assert_clean(at)
    assert at.selectbox(key="block").value == 5
    assert at.selectbox(key="follow").value == 4  # [CLS] the river bank [SEP]


def test_in_the_trained_head_mode_the_step_shows_without_asking():
    at = open_link({"mode": "real", "text": "the river bank", "block": "1"})
    assert_clean(at)
    out = attn_core.layer("the river bank", 1)
    assert_map_shows(by_title(at, "C = [Z_0 … Z_11]"), out.concat)
    assert any(t.startswith("Moved most through layer 1: ") for t in texts(at))


def test_a_presentation_has_a_step_for_the_layer():
    at = open_link({**LINK, "present": "1", "step": "10"})
    assert_clean(at)
    assert [h.value for h in at.header] == [TITLE]
    assert at.button(key="next_step").proto.disabled
    assert by_title(at, "C = [Z_0 … Z_11]")["config"]["axis"]["labelFontSize"] == 16


# Step 9's switch: weight, or weight × ‖f(x_j)‖


def shares_of(network) -> tuple[np.ndarray, np.ndarray]:
    """Each layer's norms from ``attn_core.layer`` alone: rows as shares, and row totals."""
    norms = np.stack([attn_core.layer(TEXT, n, model=network).norms for n in range(6)])
    totals = norms.astype(np.float64).sum(axis=-1)  # (L, H, T)
    return norms / totals[..., None], totals


def place(scores: np.ndarray) -> np.ndarray:
    """Each head's place, best first, from 1: a plain sort."""
    flat = sorted(range(scores.size), key=lambda k: -scores.flat[k])
    out = np.empty(scores.size, dtype=int)
    for p, k in enumerate(flat, start=1):
        out[k] = p
    return out.reshape(scores.shape)


@pytest.fixture(scope="module")
def switched():
    at = open_link({"heads": "1", "text": TEXT, "measure": "norm", "pattern": "cls", "layer": "4"})
    assert_clean(at)
    return at


def test_under_the_switch_the_ranking_follows_what_heads_move(network, switched):
    shares, _ = shares_of(network)
    heads = attn_core.all_heads(TEXT, model=network)
    by_norm = attn_core.head_scores(
        attn_core.AllHeads(heads.tokens, shares.astype(np.float32), heads.special, 0, "")
    )["cls"]
    table = next(df.value for df in switched.dataframe if "score" in df.value.columns)
    np.testing.assert_allclose(table["score"], np.sort(by_norm.ravel())[::-1][:8], rtol=1e-5)
    # the grid draws the shares too
    (sent,) = grid_sent(switched)
    w = shares[4, 5]
    want = charts.colours(shrink(w), "weights", (0, w.max()))
    assert np.abs(tiles(sent)[4, 5].astype(int) - want.astype(int)).max() <= 1


def test_the_page_names_the_heads_whose_rank_changes_most(network, switched):
    shares, _ = shares_of(network)
    heads = attn_core.all_heads(TEXT, model=network)
    weight = attn_core.head_scores(heads)
    norm = attn_core.head_scores(
        attn_core.AllHeads(heads.tokens, shares.astype(np.float32), heads.special, 0, "")
    )
    a, b = place(weight["cls"]), place(norm["cls"])
    change = np.abs(a - b)
    most = sorted(range(change.size), key=lambda k: -change.flat[k])[:3]
    said = "; ".join(
        f"layer {k // 12}, head {k % 12} ({ordinal(a.flat[k])} by weight, "
        f"{ordinal(b.flat[k])} by ‖w f(x)‖)"
        for k in most
    )
    assert f"Rank changes most for “[CLS]”: {said}." in texts(switched)
    # where the heads that look most at [CLS] and [SEP] end up
    table = next(df.value for df in switched.dataframe if "looks at" in df.value.columns)
    for token, pattern in (("[CLS]", "cls"), ("[SEP]", "sep")):
        these = table[table["looks at"] == token]
        best = sorted(range(72), key=lambda k: -weight[pattern].flat[k])[:3]
        assert list(zip(these["layer"], these["head"], strict=True)) == [
            (k // 12, k % 12) for k in best
        ]
        np.testing.assert_allclose(these["weight there"], [weight[pattern].flat[k] for k in best])
        assert list(these["place by ‖w f(x)‖"]) == [place(norm[pattern]).flat[k] for k in best]
    # the observation: the heads that weigh [CLS] most move far less from it
    top = table[table["looks at"] == "[CLS]"].iloc[0]
    assert top["share of ‖w f(x)‖ there"] < top["weight there"] / 2


def test_each_heads_share_of_one_update_is_drawn(network, switched):
    _, totals = shares_of(network)
    spec = next(s for s in chart_specs(switched) if "share of the update" in str(s.get("title")))
    assert spec["title"] == "Each head's share of the update to she, layer 4"
    shown = [r["value"] for r in spec["datasets"]["bars"]]
    want = totals[4, :, 1] / totals[4, :, 1].sum()
    np.testing.assert_allclose(shown, want, rtol=1e-5)
    switched.selectbox(key="share_token").set_value(5).run()
    assert_clean(switched)
    spec = next(s for s in chart_specs(switched) if "share of the update" in str(s.get("title")))
    want = totals[4, :, 5] / totals[4, :, 5].sum()
    np.testing.assert_allclose([r["value"] for r in spec["datasets"]["bars"]], want, rtol=1e-5)
    assert switched.query_params["share_token"] == "5"


def test_on_gpt2_the_chain_has_no_layernorm_after_attention(tiny_folders, tmp_path, monkeypatch):
    """GPT-2 normalises before each sub-layer: X + U goes on as it is."""
    import shutil
    import sys

    folder = shutil.copytree(tiny_folders["gpt2"], tmp_path / "tiny-gpt2")
    monkeypatch.setattr(sys, "argv", ["dashboard.py", "--model", str(folder)])
    at = open_link({"model": "tiny-gpt2", "through": "1", "text": "the cat sat", "block": "9"})
    assert_clean(at)
    out = attn_core.layer("the cat sat", 1, model=attn_core.load_model(str(folder)))
    assert at.selectbox(key="block").options == ["0", "1"]  # the model's own 2 layers
    heads = out.shape[0]
    assert_map_shows(by_title(at, f"C = [Z_0 … Z_{heads - 1}]"), out.concat)
    assert_map_shows(by_title(at, "Residual X + U"), out.attention_out)  # A = X + U
    titles = [s.get("title") for s in chart_specs(at)]
    assert "After LayerNorm A" not in titles and "Next layer's input X′" in titles


def test_a_server_near_its_memory_limit_declines_the_layer_and_says_so(monkeypatch):
    monkeypatch.setenv("ATTN_MEMORY_LIMIT_MB", "1")
    at = open_link({**LINK, "text": "a text no cache has seen before, said the river"})
    assert_clean(at)
    said = " ".join(w.value for w in at.warning)
    assert "near its memory limit" in said and "run the model up to this layer" in said
    assert not any(str(s.get("title", "")).startswith("C = [Z_0") for s in chart_specs(at))


def test_places_are_written_as_ordinals():
    numbers = (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 72, 111)
    assert [ordinal(n) for n in numbers] == [
        *("1st", "2nd", "3rd", "4th", "11th", "12th", "13th"),
        *("21st", "22nd", "23rd", "72nd", "111th"),
    ]
