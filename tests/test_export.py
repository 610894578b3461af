"""attn_core.export: files that open, hold the exact numbers, and reproduce."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

import attn_core
from attn_core import charts, export


def test_chart_png_and_svg_are_valid_files(rng):
    labels = charts.token_labels(["[CLS]", "hi", "how", "[SEP]"])
    res = attn_core.self_attention(rng.normal(size=(4, 8)))
    for spec in (
        charts.heatmap(res.weights, labels, labels, palette="weights").to_dict(),  # fixed size
        charts.spec(charts.heatmap, res.x, labels),  # stretches (gets a file width); columns
    ):
        png = Image.open(io.BytesIO(export.chart_png(spec, scale=2)))
        png.load()
        assert png.format == "PNG" and png.width >= 300 and png.height >= 150
        svg = ET.fromstring(export.chart_svg(spec))
        assert svg.tag.endswith("svg") and len(list(svg.iter())) > 20


def test_an_svg_says_what_its_chart_shows_even_with_hostile_tokens():
    labels = ["<b>&amp;", "]]>", "ok"]
    spec = charts.spec(charts.bars, np.array([0.5, -0.25, 0.0]), labels, value_title="w")
    svg = ET.fromstring(export.chart_svg(spec))
    (desc,) = [e for e in svg if e.tag.endswith("desc")]
    assert desc.text == "3 bars of w: the largest ‘<b>&amp;’, 0.50; the smallest ‘]]>’, −0.25"
    assert spec["description"] == desc.text


def test_matrix_csv_holds_the_exact_numbers(rng):
    m = rng.normal(size=(3, 5))
    text = export.matrix_csv(m, ["a", "b", "a #2"], None)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["token", "dim 0", "dim 1", "dim 2", "dim 3", "dim 4"]
    assert [r[0] for r in rows[1:]] == ["a", "b", "a #2"]
    np.testing.assert_array_equal(np.array([[float(v) for v in r[1:]] for r in rows[1:]]), m)
    square = export.matrix_csv(np.eye(2), ["x", "y"], ["x", "y"])
    assert square.splitlines()[0] == "token,x,y"
    with pytest.raises(ValueError, match="row labels"):
        export.matrix_csv(m, ["a"], None)


def test_npz_holds_every_matrix_and_the_tokens(rng):
    x = rng.normal(size=(4, 6))
    res = attn_core.self_attention(x, attn_core.random_projections(6, 3, seed=2))
    named = export.result_matrices(res)
    assert set(named) == {"X", "W_prime", "W", "Y", "Q", "K", "V"}
    data = np.load(io.BytesIO(export.matrices_npz(named, ["a", "b", "c", "d"])))
    assert list(data["tokens"]) == ["a", "b", "c", "d"]
    for key, matrix in named.items():
        np.testing.assert_array_equal(data[key], matrix)
    assert set(export.result_matrices(attn_core.self_attention(x))) == {"X", "W_prime", "W", "Y"}


@pytest.mark.parametrize(
    "view",
    [
        {"text": "hi how are you"},
        {
            "text": "the bank raised its rates",
            "kind": "contextual",
            "merge": True,
            "special": False,
            "mode": "learnable",
            "temperature": 0.7,
            "causal": True,
            "seed": 11,
            "d_k": 16,
            "init": "xavier_uniform",
        },
    ],
)
def test_a_snapshot_reproduces_its_numbers(model, view):
    settings = {**attn_core.defaults_for(view.get("mode", "free")), **view}
    emb = attn_core.embed(
        settings["text"],
        kind=settings["kind"],
        model=model,
        special_tokens=settings["special"],
        merge_subwords=settings["merge"],
    )
    res = attn_core.attention_for(emb.vectors, settings)
    record = json.loads(json.dumps(attn_core.snapshot(view, emb, res)))  # through JSON text
    assert record["tokens"] == emb.tokens and record["settings"]["text"] == view["text"]
    emb2, res2 = attn_core.reproduce(json.dumps(record), model=model)
    assert emb2.tokens == emb.tokens
    for name, matrix in export.result_matrices(res2).items():
        np.testing.assert_allclose(matrix, np.array(record["results"][name]), rtol=1e-6, atol=1e-9)


def test_a_real_head_snapshot_reproduces_the_models_attention(model):
    view = {**attn_core.defaults_for("real"), "mode": "real", "layer": 3, "head": 7}
    head = attn_core.model_head(view["text"], layer=3, head=7, model=model)
    res = attn_core.attention_for(head.hidden, view, head=head.projections)
    record = json.loads(json.dumps(attn_core.snapshot(view, head, res)))
    assert record["settings"]["layer"] == 3 and record["settings"]["head"] == 7
    again_head, again = attn_core.reproduce(record, model=model)
    assert again_head.tokens == head.tokens == record["tokens"]
    np.testing.assert_allclose(again.weights, head.weights, atol=1e-5)
    np.testing.assert_allclose(again.weights, np.array(record["results"]["W"]), rtol=1e-9)
    with pytest.raises(ValueError, match="head's projections"):
        attn_core.attention_for(head.hidden, view)


def test_reproduce_rejects_what_is_not_a_snapshot():
    with pytest.raises(ValueError, match="not a snapshot"):
        attn_core.reproduce({"format": "something else"})
