"""attn_core.charts: valid Vega-Lite, the right data, the raster switch, honest colours."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
import vl_convert
from PIL import Image

from attn_core import charts, export, self_attention, to_plane
from attn_core.charts import base, placing

LABELS6 = ["[CLS]", "hi", "how", "are", "you", "[SEP]"]


def data_rows(spec: dict) -> list[dict]:
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


@pytest.mark.parametrize("rows", [1, 6, 60, 256])
def test_every_builder_gives_schema_valid_vega_lite_and_the_fast_spec_equals_it(rng, rows):
    x = rng.normal(size=(rows, 384))
    res = self_attention(x)
    labels = charts.token_labels([f"t{i % 7}" for i in range(rows)])
    calls = [
        (charts.heatmap, (x, labels), {"palette": "diverging", "x_title": "dimension"}),
        (charts.heatmap, (x[:, :8], labels), {"domain": (-1.0, 1.0), "legend": "bottom"}),
        (charts.heatmap, (res.scores, labels, labels), {"x_title": "key", "y_title": "query"}),
        (charts.heatmap, (res.weights, labels, labels), {"palette": "weights", "select": "pick"}),
        (charts.bars, (np.linalg.norm(x, axis=1), labels), {"domain": (0.0, 30.0)}),
        (charts.geometry, (to_plane(x, res.output), labels), {"before_name": "v"}),
        (charts.loss_curve, (np.linspace(2.0, 0.1, rows + 1),), {"at": rows // 2}),
        (charts.loss_curve, (np.linspace(2.0, 0.1, rows + 1),), {}),
    ]
    for build, args, kwargs in calls:
        spec = build(*args, **kwargs).to_dict(validate=True)  # raises on what the schema rejects
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        # the page's fast path: the same spec, down to every number in every data set
        fast = charts.spec(build, *args, **kwargs)
        assert json.loads(json.dumps(charts.json_ready(fast))) == json.loads(json.dumps(spec))
        # what the page sends: compiled and drawn by the real Vega-Lite, not just schema-checked
        svg = vl_convert.vegalite_to_svg(json.dumps(spec))
        assert svg.startswith("<svg") and "<path" in svg


def test_token_labels_are_distinct_and_leave_unique_tokens_alone():
    tokens = ["[CLS]", "the", "cat", "and", "the", "dog", "the", "[SEP]"]
    labels = charts.token_labels(tokens)
    assert labels == ["[CLS]", "the #1", "cat", "and", "the #2", "dog", "the #3", "[SEP]"]
    assert len(set(labels)) == len(labels)


def test_small_heatmap_carries_every_value_and_prints_them(rng):
    m = rng.normal(size=(6, 6))
    spec = charts.heatmap(m, LABELS6, LABELS6).to_dict()
    rows = [r for r in data_rows(spec) if "value" in r]
    assert len(rows) == 36
    got = {(r["row"], r["col"]): r["value"] for r in rows}
    for i, a in enumerate(LABELS6):
        for j, b in enumerate(LABELS6):
            assert got[(a, b)] == m[i, j]
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["rect", "text", "point"]
    # the colour range is data: the largest magnitude both ways, on an invisible mark
    assert spec["layer"][2]["mark"]["opacity"] == 0
    top = np.abs(m).max()
    assert [r["shade"] for r in spec["datasets"]["ends"]] == [-top, top]
    assert spec["width"] == spec["height"]  # token x token is square


def test_a_printed_value_shows_its_cells_tooltip_or_lets_a_click_through(rng):
    """The number lies over its cell: it tells the same three things, never the ink; in a
    chart that takes clicks it has no tooltip, so hover and click reach the cell below."""
    m, labels = rng.normal(size=(3, 3)), ["a", "b", "c"]
    cell, text, _ = charts.heatmap(m, labels, labels).to_dict()["layer"]
    fields = [[t["field"] for t in layer["encoding"]["tooltip"]] for layer in (cell, text)]
    assert fields == [["row", "col", "value"]] * 2
    cell, text, _ = charts.heatmap(m, labels, labels, select="pick").to_dict()["layer"]
    assert [t["field"] for t in cell["encoding"]["tooltip"]] == ["row", "col", "value"]
    assert text["mark"]["tooltip"] is None and "tooltip" not in text["encoding"]


def test_values_are_not_printed_in_crowded_heatmaps(rng):
    labels = charts.token_labels([f"w{i}" for i in range(20)])
    spec = charts.heatmap(rng.random((20, 20)), labels, labels, palette="weights").to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "point"]


def test_large_matrices_become_one_image_with_exact_colours(rng):
    m = rng.normal(size=(256, 384))
    assert charts.is_raster(m.shape)
    # a model's 384 features are one image at any length; token x token up to 50 x 50 is not
    assert charts.is_raster((6, 384)) and not charts.is_raster((6, 64))
    assert not charts.is_raster((50, 50)) and charts.is_raster((51, 51))
    domain = (-2.0, 2.0)
    spec = charts.heatmap(
        m, [f"t{i}" for i in range(256)], domain=domain, x_title="dimension", y_title="token"
    ).to_dict()
    # one image row, two legend rows and the names of every 4th row, not 98 304 cells
    assert len(data_rows(spec)) == 1 + 2 + 64
    # an image answers no hover, so its note promises none; both axes keep their titles
    assert spec["title"]["text"] == "Every 4th token named"
    assert titles(spec) == ("dimension", "token")
    url = next(r["url"] for r in data_rows(spec) if "url" in r)
    png = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert png.size == (384, 256)  # one pixel per cell
    np.testing.assert_array_equal(np.asarray(png), charts.colours(m, "diverging", domain))
    image_layer = spec["layer"][0]
    assert image_layer["mark"]["type"] == "image" and image_layer["mark"]["smooth"] is False
    # no layer of an image shows a tooltip: it would be the image's URL, not a value
    assert all(layer["mark"]["tooltip"] is None for layer in spec["layer"])


def test_a_large_token_by_token_image_says_what_its_axes_hold():
    labels = [f"t{i}" for i in range(60)]
    spec = charts.heatmap(
        np.eye(60), labels, labels, x_title="key j", y_title="query i", palette="weights"
    ).to_dict()
    assert spec["layer"][0]["mark"]["type"] == "image"
    assert spec["title"]["text"] == "Every 2nd token named"
    assert titles(spec) == ("key j (position)", "query i")  # keys numbered, queries named
    names = [r["label"] for r in data_rows(spec) if "label" in r]
    assert names == labels[::2]


def test_colours_hit_the_palette_stops():
    m = np.array([[-1.0, 0.0, 1.0, 5.0]])
    rgb = charts.colours(m, "diverging", (-1.0, 1.0))

    def hex_of(c: np.ndarray) -> str:
        return "#" + "".join(f"{v:02x}" for v in c)

    assert [hex_of(c) for c in rgb[0]] == [
        charts.DIVERGING[0],
        charts.DIVERGING[4],  # 0 is the white midpoint
        charts.DIVERGING[-1],
        charts.DIVERGING[-1],  # beyond the domain: clamped, like the vector scale
    ]
    assert hex_of(charts.colours(np.zeros((1, 1)), "weights", (0.0, 1.0))[0, 0]) == "#f7fbff"


def test_symmetric_domain_centres_zero_and_ignores_outliers():
    m = np.concatenate([np.linspace(-1, 1, 999), [50.0]])[None, :]
    assert charts.symmetric_domain(m) == (-50.0, 50.0)
    lo, hi = charts.symmetric_domain(m, 0.99)
    assert lo == -hi and 0.9 < hi < 1.0
    assert charts.symmetric_domain(np.zeros((2, 2))) == (-1.0, 1.0)


def test_geometry_arrows_point_from_before_to_after():
    before = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    after = np.array([[0.0, 1.0], [1.0, 0.0], [-1.0, -1.0]])
    plane = to_plane(before, after, method="raw")
    spec = charts.geometry(plane, ["up", "right", "down-left"]).to_dict()
    moves = {r["token"]: r for r in data_rows(spec) if "angle" in r}
    # Vega angles run clockwise from "up"
    assert moves["up"]["angle"] == pytest.approx(0.0)
    assert moves["right"]["angle"] == pytest.approx(90.0)
    assert moves["down-left"]["angle"] == pytest.approx(-135.0)
    # the scales span the invisible corners, a square around every point: no distortion
    corners = spec["datasets"]["corners"]
    (x0, x1), (y0, y1) = [sorted(c[axis] for c in corners) for axis in ("x", "y")]
    assert x1 - x0 == pytest.approx(y1 - y0) and x1 - x0 > 2
    points = spec["datasets"]["points"]
    assert all(x0 < p["x"] < x1 and y0 < p["y"] < y1 for p in points)
    assert "domain" not in spec["layer"][0]["encoding"]["x"]["scale"]
    assert spec["layer"][0]["mark"] == {"type": "point", "opacity": 0, "tooltip": None}


def test_geometry_labels_the_chosen_stage():
    plane = to_plane(np.eye(3), np.eye(3) * 0.5)
    for stage, points in (("before", plane.before), ("after", plane.after)):
        spec = charts.geometry(plane, ["a", "b", "c"], label_stage=stage).to_dict()
        marks = [layer["mark"]["type"] for layer in spec["layer"]]
        assert marks[-2:] == ["text", "point"]  # the names, then the note's invisible mark
        names = spec["datasets"]["labels"]
        assert [r["token"] for r in names] == ["a", "b", "c"]
        # each name belongs to a point of that stage
        np.testing.assert_allclose([[r["x"], r["y"]] for r in names], points)


def boxes(placed: placing.Placed, labels, extent, size, font):
    x0, x1, y0, y1 = extent
    px = (placed.x - x0) / (x1 - x0) * size
    py = (y1 - placed.y) / (y1 - y0) * size
    for k, label in enumerate(labels):
        if placed.shown[k]:
            w, h = placing.label_box(label, font)
            yield k, (px[k] - w / 2, py[k] - h / 2, px[k] + w / 2, py[k] + h / 2)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [6, 12, 24, 40])
def test_placed_labels_overlap_no_label_and_no_point(seed, n):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(n, 2))
    points[1] = points[0]  # a repeated static token: two names, one point
    obstacles = np.concatenate([points, points * 0.5])  # every point drawn, after too
    extent = (-4.0, 4.0, -4.0, 4.0)
    size, font = 460, 13
    labels = [f"token{k}" for k in range(n)]
    placed = placing.place_labels(points, labels, obstacles, extent, size, font)
    drawn = list(boxes(placed, labels, extent, size, font))
    for a, (_, (l1, t1, r1, b1)) in enumerate(drawn):
        assert l1 >= 0 and r1 <= size and t1 >= 0 and b1 <= size
        for _, (l2, t2, r2, b2) in drawn[a + 1 :]:
            assert not (l1 < r2 and l2 < r1 and t1 < b2 and t2 < b1)
        for ox, oy in (obstacles - [extent[0], extent[3]]) * [size / 8, -size / 8]:
            nx, ny = min(max(ox, l1), r1), min(max(oy, t1), b1)
            assert np.hypot(ox - nx, oy - ny) >= placing.POINT_RADIUS - 1e-9
    if n <= 12:  # room for (nearly) every name when few, two of them on one point
        assert (~placed.shown).sum() <= (0 if n <= 6 else 1)


def test_a_crowded_map_says_how_many_names_it_left_out():
    plane = to_plane(np.zeros((30, 4)) + np.arange(30)[:, None] * 1e-6, np.zeros((30, 4)))
    labels = [f"word{k}" for k in range(30)]
    spec = charts.geometry(plane, labels, size=300).to_dict()
    shown = len(spec["datasets"]["labels"])
    assert shown < 30
    note = f"{30 - shown} of 30 names left out where points crowd: hover a point for its token"
    assert spec["datasets"]["note"] == [{"text": note}]
    assert spec["title"]["text"] == {"expr": "data('note')[0].text"}  # the title reads it
    # the note is data: a map where every name fits has the same structure, an empty note
    roomy = to_plane(np.eye(30, 4) * np.arange(30)[:, None], np.zeros((30, 4)))
    spread = charts.spec(charts.geometry, roomy, labels[:3] * 10, size=300)
    crowded = charts.spec(charts.geometry, plane, labels, size=300)
    data = ("datasets", "description")  # what a chart says of its data is data too
    assert {k: v for k, v in spread.items() if k not in data} == {
        k: v for k, v in crowded.items() if k not in data
    }


def test_heatmap_rejects_mismatched_labels(rng):
    with pytest.raises(ValueError, match="labels must match"):
        charts.heatmap(rng.random((3, 3)), ["a", "b"], ["a", "b", "c"])


def test_spec_keeps_the_structure_when_only_numbers_change(rng):
    labels = charts.token_labels(["a", "b", "a", "c"])
    first, second = rng.random((4, 4)), rng.random((4, 4))
    a = charts.spec(charts.heatmap, first, labels, labels, palette="weights")
    b = charts.spec(charts.heatmap, second, labels, labels, palette="weights")
    a_data, b_data = a.pop("datasets"), b.pop("datasets")
    assert a.pop("description") != b.pop("description")  # what it says is data too
    assert a == b  # a renderer can swap the data of the chart it already has
    assert a is not b and a["layer"] is not b["layer"]  # each caller gets its own dicts
    np.testing.assert_array_equal(a_data["cells"]["value"], first.ravel())
    np.testing.assert_array_equal(b_data["cells"]["value"], second.ravel())
    # every reference points at a data set that exists
    refs = [layer.get("data", {}).get("name") for layer in a["layer"]] + [a["data"]["name"]]
    assert {r for r in refs if r} <= set(a_data)
    # other tokens of about the same length, or another colour range, are data too
    words = charts.token_labels(["w", "x", "w", "z"])
    other = charts.spec(charts.heatmap, first, words, words, palette="weights", domain=(0.0, 0.3))
    other_data = other.pop("datasets")
    other.pop("description")
    assert other == a
    assert list(other_data["ends"]["shade"]) == [0.0, 0.3]
    # the axes keep the text's order through the data: row i, column j
    cells = other_data["cells"]
    assert cells["row"].tolist() == [words[i] for i in cells["i"]]
    assert cells["col"].tolist() == [words[j] for j in cells["j"]]
    # more tokens are a new structure (label sizes follow the cells)
    more = charts.spec(charts.heatmap, rng.random((9, 9)), list("abcdefghi"), list("abcdefghi"))
    more.pop("datasets")
    more.pop("description")
    assert more != a


def test_loss_curve_carries_every_step_and_marks_the_chosen_one():
    losses = np.array([1.5, 0.9, 0.4, 0.2])
    spec = charts.loss_curve(losses, at=2).to_dict()
    rows = data_rows(spec)
    curve = [r for r in rows if set(r) == {"step", "loss"}]
    assert [r["loss"] for r in curve[:4]] == losses.tolist()
    assert [r["step"] for r in curve[:4]] == [0, 1, 2, 3]
    assert curve[4:] == [{"step": 2, "loss": 0.4}]  # the marked step
    with pytest.raises(ValueError, match="at must be"):
        charts.loss_curve(losses, at=4)


def titles(spec: dict) -> tuple[str, str]:
    """The x and y axes' titles."""
    encoding = spec["layer"][0]["encoding"]
    return encoding["x"]["title"], encoding["y"]["title"]


def axis(spec: dict, channel: str) -> dict:
    return spec["layer"][0]["encoding"][channel]["axis"]


@pytest.mark.parametrize("t", [2, 6, 12, 24])
@pytest.mark.parametrize("height", [None, 250, 600])
def test_every_token_is_named_up_to_24(t, height):
    """No label is thinned away, each fits its cell, and the chart says nothing is thinned."""
    labels = charts.token_labels([f"tok{i}" for i in range(t)])
    m = np.eye(t)
    spec = charts.heatmap(m, labels, labels, palette="weights", height=height).to_dict()
    cell = spec["height"] / t
    for channel in ("x", "y"):
        ax = axis(spec, channel)
        assert ax["labelOverlap"] is False and "values" not in ax
        assert 9 <= ax["labelFontSize"] <= 16
        assert ax["labelFontSize"] <= cell  # one label's height per cell
    if height == 600 and t <= 12:  # a projector's main chart: large enough to read
        assert axis(spec, "x")["labelFontSize"] == 16
        assert spec["layer"][1]["mark"]["fontSize"] >= 16  # the printed values
    assert "subtitle" not in json.dumps(spec.get("title", ""))


def test_labels_turn_only_when_they_do_not_fit_across():
    short = charts.heatmap(np.eye(3), ["a", "b", "c"], ["a", "b", "c"], height=300).to_dict()
    assert axis(short, "x")["labelAngle"] == 0
    long = ["extraordinarily", "b", "c"]
    turned = charts.heatmap(np.eye(3), long, long, height=300).to_dict()
    assert axis(turned, "x")["labelAngle"] in (-45, -90)
    crowded = [f"token{i}" for i in range(24)]
    spec = charts.heatmap(np.eye(24), crowded, crowded, height=250).to_dict()
    assert axis(spec, "x")["labelAngle"] == -90  # 10 px columns: upright labels only


def test_beyond_24_tokens_every_kth_is_named_and_the_chart_says_so():
    labels = [f"t{i}" for i in range(40)]
    spec = charts.heatmap(np.eye(40), labels, labels, height=250).to_dict()
    ax = axis(spec, "x")
    assert ax["values"] == labels[::2] and axis(spec, "y")["values"] == labels[::2]
    assert spec["title"]["text"] == "Every 2nd token named; hover a cell for its tokens"


def test_a_bars_value_is_printed_past_its_end_never_over_the_bar():
    """As drawn (SVG through vl-convert): each printed value starts where its bar ends and
    runs away from it, to the left of a negative bar, to the right of a positive one."""
    svg = export.chart_svg(charts.spec(charts.bars, np.array([0.5, -0.5]), ["a", "b"]))
    bar = {
        m["v"]: (float(m["x"]), float(m["x"]) + float(m["w"]))
        for m in re.finditer(
            r'aria-label="value: (?P<v>[^;]+);[^"]*" role="graphics-symbol" '
            r'aria-roledescription="bar" d="M(?P<x>[-\d.]+),[-\d.]+h(?P<w>[-\d.]+)',
            svg,
        )
    }
    text = {
        m["v"]: (m["anchor"], float(m["x"]))
        for m in re.finditer(
            r'aria-label="value: (?P<v>[^;]+);[^"]*" role="graphics-symbol" '
            r'aria-roledescription="text mark" text-anchor="(?P<anchor>\w+)" '
            r'transform="translate\((?P<x>[-\d.]+),',
            svg,
        )
    }
    assert text["0.5"] == ("start", pytest.approx(bar["0.5"][1] + 3))
    assert text["−0.5"] == ("end", pytest.approx(bar["−0.5"][0] - 3))


# Machado, Oliveira and Fernandes (2009), severity 1.0, on linear RGB.
CVD = {
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
}


def linear(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, float) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def contrast(rgb: np.ndarray, ink: str) -> np.ndarray:
    """WCAG 2.1 contrast of colours (..., 3) against an ink "#rrggbb"."""
    weights = np.array([0.2126, 0.7152, 0.0722])
    lum = linear(rgb) @ weights
    ink_lum = linear(np.array([int(ink[k : k + 2], 16) for k in (1, 3, 5)])) @ weights
    return (np.maximum(lum, ink_lum) + 0.05) / (np.minimum(lum, ink_lum) + 0.05)


@pytest.mark.parametrize("palette", sorted(base.PALETTES))
def test_every_colour_of_every_palette_has_an_ink_of_at_least_4_5_to_1(palette):
    """Every colour a scale can produce (a fine sweep of its range), with the ink the page
    prints on it: 4.5:1 or more, in every palette (the same holds on any background)."""
    sweep = np.linspace(0, 1, 2001)[None, :]
    rgb = charts.colours(sweep, palette, (0.0, 1.0))[0]  # (2001, 3)
    inks = base.ink_for(rgb)
    ratios = np.array([contrast(c, ink) for c, ink in zip(rgb, inks, strict=True)])
    assert ratios.min() >= 4.5


def test_the_printed_values_of_a_heatmap_take_the_ink_of_their_own_cell(rng):
    m = rng.random((6, 6))
    for palette in base.PALETTES:
        spec = charts.spec(charts.heatmap, m, list("abcdef"), list("abcdef"), palette=palette)
        cells = spec["datasets"]["cells"]
        weights = palette.startswith("weights")
        domain = (0.0, 1.0) if weights else charts.symmetric_domain(m)
        rgb = charts.colours(np.array([cells["value"]]), palette, domain)[0]
        assert list(cells["ink"]) == list(base.ink_for(rgb))


@pytest.mark.parametrize("vision", sorted(CVD))
def test_the_safe_palettes_stay_readable_without_red_or_green(vision):
    """Simulated deuteranopia and protanopia: cividis still rises in lightness step by step,
    and purple-orange's two sides stay apart at every distance from 0."""

    def seen(stops) -> np.ndarray:  # each stop as that viewer sees it, linear RGB
        rgb = np.array([[int(s[k : k + 2], 16) for k in (1, 3, 5)] for s in stops])
        return linear(rgb) @ CVD[vision].T

    weights = np.array([0.2126, 0.7152, 0.0722])
    lightness = seen(base.PALETTES["weights-safe"]) @ weights
    assert np.all(np.diff(lightness) > 0)
    diverging = seen(base.PALETTES["diverging-safe"])
    for k in range(4):  # the k-th stop from each end
        assert np.linalg.norm(diverging[k] - diverging[-1 - k]) > 0.1


def test_an_unknown_palette_is_a_value_error():
    with pytest.raises(ValueError, match="palette must be one of"):
        charts.colours(np.zeros((1, 1)), "rainbow", (0.0, 1.0))


def test_byte_level_pieces_read_as_the_tokenizer_decodes_them(tiny_folders):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tiny_folders["gpt2"] / "tokenizer.json"))
    text = "The café\nopened  at nine, naïve\tdoors"
    ids = tokenizer.encode(text).ids
    pieces = [tokenizer.id_to_token(i) for i in ids]
    shown = charts.readable(pieces, byte_level=True)
    for piece, i in zip(shown, ids, strict=True):
        decoded = tokenizer.decode([i])
        if "\ufffd" in decoded:  # part of a character: its bytes, as \xc3
            assert re.fullmatch(r"[^\\]*(\\x[0-9a-f]{2})+[^\\]*", piece), piece
            continue
        want = decoded.replace("\n", "↵").replace("\t", "⇥")
        assert piece == "␣" * (len(want) - len(want.lstrip(" "))) + want.lstrip(" ")
    # every byte of the text is on screen, in order: whole characters and \xNN bytes
    whole = "".join(shown).replace("␣", " ").replace("↵", "\n").replace("⇥", "\t")
    parts = re.split(r"(\\x[0-9a-f]{2})", whole)
    raw = b"".join(
        bytes([int(p[2:], 16)]) if re.fullmatch(r"\\x[0-9a-f]{2}", p) else p.encode() for p in parts
    )
    assert raw == text.encode()
    assert not any("Ġ" in p or "Ċ" in p for p in shown)


def test_wordpiece_tokens_stay_as_they_are():
    tokens = ["[CLS]", "em", "##bed", "Ġx", "[SEP]"]
    assert charts.readable(tokens, byte_level=False) == tokens
