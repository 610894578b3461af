"""The page's own scripts: their numbers held to attn_core under Node, and their modules
linked as the browser links them (every import names an export)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import attn_core
from app import components
from attn_core import charts

WEB = Path(__file__).resolve().parents[1] / "app" / "web"
NODE = shutil.which("node")

RUN = """
import * as numeric from "%s";
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const { calls } = JSON.parse(input);
  const out = calls.map(([name, args]) => {
    const result = numeric[name](...args.map((a) => (a && a.f64 ? Float64Array.from(a.f64) : a)));
    return JSON.parse(JSON.stringify(result, (k, v) => (ArrayBuffer.isView(v) ? [...v] : v)));
  });
  process.stdout.write(JSON.stringify(out));
});
"""


def run(*calls: tuple[str, list]) -> list:
    """Call ``numeric.mjs``'s functions under Node; typed arrays come back as lists."""
    assert NODE, "Node.js is required (Debian's nodejs): tests/run.sh installs it"
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", RUN % (WEB / "numeric.mjs").as_uri()],
        input=json.dumps({"calls": calls}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def f64(array: np.ndarray) -> dict:
    return {"f64": np.asarray(array, dtype=np.float64).ravel().tolist()}


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("temperature", [0.25, 1.0, 5.0])
def test_the_page_softmax_and_row_statistics_are_attn_cores(rng, causal, temperature):
    x = rng.normal(size=(9, 16))
    res = attn_core.self_attention(x, temperature=temperature, causal=causal)
    t = len(x)
    ((out,),) = [run(("softmaxRows", [f64(res.scores), t, 1 / temperature, causal]))]
    np.testing.assert_allclose(np.reshape(out["w"], (t, t)), res.weights, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out["rows"]["entropy"], res.entropy, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["rows"]["largest"], res.weights.max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(out["rows"]["sum"], 1.0, rtol=1e-12)


def test_the_page_colour_scale_is_the_charts(rng):
    values = np.concatenate([[0.0, 1.0, 0.5, -0.2, 1.7], rng.random(40)])
    for palette, stops, domain in (
        ("weights", charts.SEQUENTIAL, (0.0, 1.0)),
        ("diverging", charts.DIVERGING, (-1.0, 1.0)),
    ):
        (rgb,) = run(("rgb", [stops[0]]))
        assert rgb == [int(stops[0][k : k + 2], 16) for k in (1, 3, 5)]
        stops_rgb = [[int(s[k : k + 2], 16) for k in (1, 3, 5)] for s in stops]
        low, high = domain
        got = run(*[("colourAt", [stops_rgb, (v - low) / (high - low)]) for v in values])
        expected = charts.colours(values[None, :], palette, domain)[0]
        np.testing.assert_array_equal(np.array(got), expected)


def test_the_page_inks_a_value_as_the_charts_do(rng):
    colours = np.concatenate(
        [rng.integers(0, 256, size=(200, 3)), np.array([[0, 0, 0], [255, 255, 255], [118] * 3])]
    )
    inks = list(charts.base.INKS)
    got = run(*[("inkFor", [c.tolist(), inks]) for c in colours])
    assert got == list(charts.base.ink_for(colours))


def test_the_page_row_lengths_and_largest_value(rng):
    y = rng.normal(size=(7, 5))
    lengths, top, floor = run(
        ("rowLengths", [f64(y), 7, 5]),
        ("largestOf", [f64(y)]),
        ("largestOf", [f64(np.full(3, -2.0)), -1.0]),
    )
    np.testing.assert_allclose(lengths, np.linalg.norm(y, axis=1), rtol=1e-13)
    assert top == y.max() and floor == -1.0


def test_the_strongest_cell_and_the_mean_that_summaries_name(rng):
    w = rng.random((6, 9)) - 0.7
    (plain, absolute, mean) = run(
        ("strongestCell", [f64(w), 6, 9]),
        ("strongestCell", [f64(w), 6, 9, True]),
        ("meanOf", [f64(w)]),
    )
    i, j = np.unravel_index(np.argmax(w), w.shape)
    assert plain == [int(i), int(j), w[i, j]]
    i, j = np.unravel_index(np.argmax(np.abs(w)), w.shape)
    assert absolute == [int(i), int(j), w[i, j]]
    assert mean == pytest.approx(w.mean(), rel=1e-13)


def test_largest_of_takes_more_values_than_an_engine_takes_arguments():
    """2·256² weights: past V8's argument limit, which a spread into Math.max would hit."""
    big = np.zeros(2 * 256 * 256)
    big[-1] = 0.75
    assert run(("largestOf", [f64(big)])) == [0.75]


def test_each_component_links_as_a_module_and_as_its_bundle(tmp_path):
    """Every import names an export (Node links the modules as the browser would), and the
    bundle Streamlit is sent is one valid module with a single default export."""
    assert NODE, "Node.js is required (Debian's nodejs): tests/run.sh installs it"
    names = sorted(p.name for p in WEB.glob("*.mjs"))
    linked = f"Promise.all({json.dumps(names)}.map((m) => import('./' + m)))"
    subprocess.run([NODE, "-e", linked], cwd=WEB, check=True, timeout=60)
    for name in (
        "weights_map.mjs",
        "output_map.mjs",
        "comparison.mjs",
        "heads_grid.mjs",
        "clicker.mjs",
    ):
        script = components.bundle(name)
        assert script.count("export default") == 1 and "import " not in script
        path = tmp_path / name
        path.write_text(script, encoding="utf-8")
        subprocess.run([NODE, "--check", str(path)], check=True, timeout=60)
