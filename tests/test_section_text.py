"""Steps 1-2: the text, its tokens and their vectors."""

from __future__ import annotations

import numpy as np
import pytest
from pagetest import SENT, assert_clean, tokens_shown, weights_table

import attn_core


@pytest.mark.parametrize(
    ("example", "first", "second"),
    [
        ("Two kinds of bank", "river bank", "bank raised"),
        ("Repeated words", "the cat and the dog", "the dog chased"),
        ("A paragraph", "Self-attention lets every word", "Attention weights"),
        ("The seed's sentence", "hi how are you", "how old are you"),
    ],
)
def test_examples_fill_both_text_boxes(app, example, first, second):
    app.text_area(key="text").set_value("something else").run()
    app.button_group(key="example").set_value(example).run()
    assert_clean(app)
    assert first in app.text_area(key="text").value
    assert second in app.text_input(key="text2").value


def test_an_example_loads_again_after_the_text_was_edited(app):
    """No pill stays selected: a click on a selected pill would only unselect it."""
    examples = app.button_group(key="example")
    examples.set_value("Two kinds of bank").run()
    assert app.button_group(key="example").value is None
    app.text_area(key="text").set_value("my own words").run()
    app.button_group(key="example").set_value("Two kinds of bank").run()
    assert_clean(app)
    assert app.text_area(key="text").value.startswith("I sat on the river bank")


def test_right_to_left_pieces_are_isolated_in_the_strip(app):
    """Each piece holding Hebrew or Arabic letters is wrapped in a
    left-to-right isolate, so the strip keeps the model's order; Latin pieces are not."""
    text = "שלום this مرحبا one"
    app.text_area(key="text").set_value(text).run()
    strip = app.get("code")[0].value
    tokens = attn_core.embed(text).tokens
    assert strip.split("  ·  ") == [
        f"\u2066{t}\u2069" if t not in ("[CLS]", "this", "one", "[SEP]") else t for t in tokens
    ]


def test_repeated_tokens_keep_their_own_rows(app):
    app.text_area(key="text").set_value("the cat and the dog").run()
    assert_clean(app)
    assert list(weights_table(app)["query"]) == [
        "[CLS]",
        "the #1",
        "cat",
        "and",
        "the #2",
        "dog",
        "[SEP]",
    ]


def test_token_options(app):
    app.text_area(key="text").set_value("embeddings work").run()
    assert tokens_shown(app) == ["[CLS]", "em", "##bed", "##ding", "##s", "work", "[SEP]"]
    app.toggle(key="merge").set_value(True).run()
    assert tokens_shown(app) == ["[CLS]", "embeddings", "work", "[SEP]"]
    app.toggle(key="special").set_value(False).run()
    assert_clean(app)
    assert tokens_shown(app) == ["embeddings", "work"]


def test_the_token_table_names_each_piece_where_it_came_from(app):
    app.text_area(key="text").set_value("embeddings work").run()
    table = app.dataframe[0].value
    emb = attn_core.embed("embeddings work")
    assert list(table.columns) == ["position", "token", "characters", "text", "ids"]
    assert list(table["position"]) == list(range(7))
    assert list(table["token"]) == emb.tokens == tokens_shown(app)
    assert list(table["text"]) == ["", "em", "bed", "ding", "s", "work", ""]
    assert list(table["characters"])[1:3] == ["0–2", "2–5"]
    assert list(table["ids"]) == [" ".join(map(str, ids)) for ids in emb.token_ids]


def test_vector_kind_changes_the_numbers(app):
    before = weights_table(app)["entropy (bits)"].to_numpy()
    app.button_group(key="kind").set_value("contextual").run()
    assert_clean(app)
    emb = attn_core.embed("hi how are you", kind="contextual")
    expected = attn_core.self_attention(emb.vectors).entropy
    np.testing.assert_allclose(weights_table(app)["entropy (bits)"], expected, **SENT)
    assert not np.allclose(before, expected)
