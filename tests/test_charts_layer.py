"""attn_core.charts.layer: the heads side by side and each token's update beside its residual."""

from __future__ import annotations

import json

import numpy as np
import pytest
import vl_convert

from attn_core import charts
from attn_core.charts.layer import LENGTH_NAMES, head_strip, update_lengths


@pytest.mark.parametrize(("rows", "width", "heads"), [(1, 384, 12), (6, 384, 12), (5, 32, 4)])
def test_the_builders_give_valid_vega_lite_and_the_fast_spec_equals_it(rng, rows, width, heads):
    labels = charts.token_labels([f"t{i % 3}" for i in range(rows)])
    concat = rng.normal(size=(rows, width))
    calls = [
        (head_strip, (concat, labels, heads), {"title": "heads"}),
        (update_lengths, (rng.random(rows), rng.random(rows) + 1, labels), {}),
    ]
    for build, args, kwargs in calls:
        spec = build(*args, **kwargs).to_dict(validate=True)
        fast = charts.spec(build, *args, **kwargs)
        assert json.loads(json.dumps(charts.json_ready(fast))) == json.loads(json.dumps(spec))
        svg = vl_convert.vegalite_to_svg(json.dumps(spec))
        assert svg.startswith("<svg") and "<path" in svg


def test_the_strip_marks_every_boundary_between_heads(rng):
    spec = charts.spec(head_strip, rng.normal(size=(3, 384)), ["a", "b", "c"], 12)
    np.testing.assert_array_equal(spec["datasets"]["bounds"]["x"], np.arange(32, 384, 32))
    assert spec["datasets"]["heads"]["head"] == [f"h{h}" for h in range(12)]
    assert spec["description"].startswith("The 12 heads' outputs side by side. 3 tokens × 384")


def test_each_token_has_its_update_beside_its_residual():
    spec = charts.spec(update_lengths, np.array([0.5, 2.0]), np.array([4.0, 4.0]), ["a", "b"])
    table = spec["datasets"]["lengths"]
    assert list(zip(table["label"], table["what"], table["value"], strict=True)) == [
        ("a", LENGTH_NAMES[0], 4.0),
        ("b", LENGTH_NAMES[0], 4.0),
        ("a", LENGTH_NAMES[1], 0.5),
        ("b", LENGTH_NAMES[1], 2.0),
    ]
    assert "0.31 times" in spec["description"] and "‘b’, 0.50" in spec["description"]


@pytest.mark.parametrize(("width", "heads"), [(384, 5), (384, 0), (384, 2.0)])
def test_heads_that_do_not_divide_the_width_are_refused(width, heads):
    with pytest.raises(ValueError, match="heads must"):
        head_strip(np.zeros((2, width)), ["a", "b"], heads)


def test_lengths_must_match_the_labels():
    with pytest.raises(ValueError, match=r"must be \(2,\) for 2 labels"):
        update_lengths(np.ones(3), np.ones(2), ["a", "b"])
