"""app.links: links carry exactly the view, and no link can break the page."""

from __future__ import annotations

import pytest

from app import links
from app.links import DEFAULTS, MAX_TEXT, from_query, to_query

A_VIEW = {
    "text": "the cat and the dog",
    "text2": "the dog chased the cat",
    "model": "gpt2",
    "kind": "contextual",
    "special": False,
    "merge": True,
    "mode": "learnable",
    "scale": False,  # learnable's default is True
    "temperature": 2.35,
    "causal": True,
    "stretch": True,
    "focus": 3,
    "method": "raw",
    "feature_a": 17,
    "feature_b": 250,
    "seed": 4_000_000_000,
    "d_k": 16,
    "init": "kaiming_normal",
    "qkv": "v",
    "layer": 4,
    "head": 11,
    "objective": "imitate",
    "train_steps": 500,
    "rate": 0.03,
    "heads": True,
    "pattern": "sep",
    "up_to": 3,
    "residual": 0.35,
    "measure": "norm",
    "share_token": 4,
    "through": True,
    "block": 3,
    "follow": 2,
    "col": 4,
    "present": True,
    "step": 5,
    "palette": "safe",
}


def test_every_setting_is_covered_by_the_example_view():
    assert set(A_VIEW) == set(DEFAULTS)
    defaults = links.defaults_for(A_VIEW["mode"])
    assert all(A_VIEW[k] != defaults[k] for k in DEFAULTS)


def test_round_trip_restores_every_setting():
    query = to_query(A_VIEW)
    assert set(query) == set(A_VIEW)
    values, notices = from_query(query)
    assert values == A_VIEW
    assert notices == []


def test_a_link_names_a_model_never_a_path(tmp_path, monkeypatch):
    folder = tmp_path / "my-model"
    folder.mkdir()
    monkeypatch.setenv("ATTN_MODELS", str(folder))
    assert from_query({"model": "my-model"}) == ({"model": "my-model"}, [])
    assert to_query({"model": "my-model"}) == {"model": "my-model"}
    for raw in (str(folder), "/etc", "../my-model", "bert-large-cased", "gpt2 "):
        values, notices = from_query({"model": raw})
        assert values == {} and len(notices) == 1 and "model" in notices[0]
        assert raw not in notices[0].replace("my-model", "")  # the value is never repeated


def test_defaults_are_left_out_of_links():
    assert to_query(DEFAULTS) == {}
    assert to_query({**DEFAULTS, "temperature": 0.5}) == {"temperature": "0.5"}
    assert to_query({"not_a_setting": 1}) == {}


def test_scale_is_compared_with_its_modes_default():
    assert to_query({"mode": "learnable", "scale": True}) == {"mode": "learnable"}
    assert to_query({"mode": "learnable", "scale": False}) == {"mode": "learnable", "scale": "0"}
    assert links.defaults_for("learnable")["scale"] is True
    assert links.defaults_for("free")["scale"] is False
    assert links.defaults_for("real")["scale"] is True


def test_training_imitates_the_head_on_show_in_real_mode_by_default():
    assert [links.defaults_for(m)["objective"] for m in links.MODES] == [
        "imitate" if m == "real" else "previous" for m in links.MODES
    ]
    assert to_query({"mode": "real", "objective": "imitate"}) == {"mode": "real"}
    assert to_query({"mode": "real", "objective": "previous"}) == {
        "mode": "real",
        "objective": "previous",
    }


def test_slider_floats_are_written_cleanly():
    assert to_query({"temperature": 1.0500000000000003}) == {"temperature": "1.05"}
    assert to_query({"temperature": 1.0000000000000002}) == {}


def test_texts_too_long_for_a_link_are_left_out():
    long = "word " * (MAX_TEXT // 5 + 1)
    assert not links.fits_in_link({"text": long})
    assert "text" not in to_query({"text": long, "seed": 3})
    assert to_query({"text": long, "seed": 3}) == {"seed": "3"}


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("temperature", "9", 5.0),
        ("temperature", "-1", 0.05),
        ("temperature", "1e308", 5.0),
        ("seed", "-5", 0),
        ("seed", "99999999999999999999999", links.MAX_SEED),
        ("d_k", "-3", 2),
        ("d_k", "1000000", 384),
        ("d_k", "50", 64),
        ("feature_b", "9999", links.MAX_FEATURE),
        ("focus", "100000", links.MAX_FOCUS),
        ("layer", "99", links.MAX_LAYERS - 1),
        ("head", "-1", 0),
        ("train_steps", "100000", 500),
        ("train_steps", "120", 100),
        ("rate", "1", 0.03),
        ("rate", "0.002", 0.001),
    ],
)
def test_out_of_range_numbers_are_clamped_with_a_notice(key, raw, expected):
    values, notices = from_query({key: raw})
    assert values == {key: expected}
    assert len(notices) == 1 and key in notices[0] and "set to" in notices[0]


def test_in_range_temperature_snaps_to_the_slider_step_quietly():
    assert from_query({"temperature": "0.333"}) == ({"temperature": 0.35}, [])


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("temperature", "nan"),
        ("temperature", "inf"),
        ("temperature", "-inf"),
        ("temperature", "hot"),
        ("temperature", ""),
        ("seed", "1.5"),
        ("seed", "0x10"),
        ("seed", "1" * 40),
        ("d_k", "abc"),
        ("kind", "dynamic"),
        ("mode", "<script>"),
        ("method", "umap"),
        ("init", "zeros"),
        ("causal", "maybe"),
        ("qkv", "x"),
        ("layer", "two"),
        ("objective", "import os"),
        ("train_steps", "nan"),
        ("rate", "fast"),
        ("rate", "inf"),
    ],
)
def test_malformed_values_are_ignored_with_a_notice(key, raw):
    values, notices = from_query({key: raw})
    assert values == {}
    assert len(notices) == 1 and f"“{key}” was ignored" in notices[0]
    assert raw not in notices[0] or raw in ("", "x")  # values are never repeated back


def test_long_text_is_cut_and_not_repeated():
    raw = "<img src=x onerror=alert(1)> " + "a" * 10_000
    values, notices = from_query({"text": raw})
    assert values["text"] == raw[:MAX_TEXT]
    assert len(notices) == 1 and "cut" in notices[0]
    assert "onerror" not in notices[0] and "aaaa" not in notices[0]


def test_unknown_and_repeated_keys():
    values, notices = from_query(
        {"seed": ["7", "8"], "bogus": "1", "[evil](http://x)": "1", "weights": "gpt2"}
    )
    assert values == {"seed": 7}
    assert any("appeared 2 times" in n for n in notices)
    unknown = next(n for n in notices if "Unknown" in n)
    assert "“bogus”" in unknown and "“weights”" in unknown
    assert "evil" not in unknown and "http" not in unknown  # odd names are not echoed


def test_many_unknown_keys_are_summarised():
    _, notices = from_query({f"k{i}": "1" for i in range(40)})
    assert len(notices) == 1 and "and 35 more" in notices[0]


def test_flags_accept_the_usual_spellings():
    for raw, expected in (("1", True), ("true", True), ("On", True), ("0", False), ("no", False)):
        assert from_query({"causal": raw})[0] == {"causal": expected}
