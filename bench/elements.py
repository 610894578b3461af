"""What one Streamlit element costs the browser on a new text, by kind, in a real browser.

    python bench/elements.py [--count 20] [--texts 7]

Serves itself as a page: a text area, a code block showing the text's words, then
``--count`` elements of one kind (``?kind=``), each as the page uses it: a caption, a header,
two columns, a toggle, a slider, a select box and a segmented control whose options are the
new words, a small Vega-Lite chart of them (same spec, new data), a table, a table in a
closed expander, a formula. For each kind, ``--texts`` new texts of 12 words are typed and
sent with Ctrl+Enter; the time from the Enter key to the words shown in the code block and
to the page's last change (nothing changed for 300 ms after it). The cost of one element is
the difference from the page with none, divided by the count.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
from contextlib import nullcontext
from pathlib import Path

import streamlit as st
from streamlit.runtime import exists

sys.path.insert(0, str(Path(__file__).resolve().parent))

KINDS = (
    "none",
    "caption",
    "header",
    "columns",
    "toggle",
    "slider",
    "selectbox",
    "segmented control",
    "Vega-Lite chart",
    "table",
    "table, closed expander",
    "formula",
)
WATCH = """(() => {
  window.__m = {}; window.__last = performance.now();
  window.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.ctrlKey) window.__m.input = performance.now();
  }, true);
  new MutationObserver(() => {
    const m = window.__m, at = (window.__last = performance.now());
    if (m.input == null || m.shown != null) return;
    const code = document.querySelector("[data-testid=stCode] code");
    if (code && code.textContent.trim() === m.expect) m.shown = at;
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
})()"""
QUIET = "() => performance.now() - window.__last > 300"


def page() -> None:
    """The page served: ``count`` elements of ``kind`` under a text and its words."""
    kind, count = st.query_params.get("kind", "none"), int(st.query_params.get("count", "20"))
    words = st.text_area("Text", "a new text").split() or ["-"]
    st.code(" · ".join(words), language=None)
    for i in range(count):
        draw(kind, i, words)


def draw(kind: str, i: int, words: list[str]) -> None:
    if kind == "caption":
        st.caption(f"A caption that stays the same, number {i}.")
    elif kind == "header":
        st.header(f"Step {i}")
    elif kind == "columns":
        left, right = st.columns([5, 1])
        left.caption("left")
        right.caption("right")
    elif kind == "toggle":
        st.toggle(f"Switch {i}", key=f"toggle{i}")
    elif kind == "slider":
        st.slider(f"Slider {i}", 0.0, 1.0, 0.5, key=f"slider{i}")
    elif kind == "selectbox":
        st.selectbox(f"Token {i}", words, key=f"select{i}")
    elif kind == "segmented control":
        st.segmented_control(f"Token {i}", words[:6], key=f"segment{i}")
    elif kind == "Vega-Lite chart":
        rows = [{"token": w, "k": k} for k, w in enumerate(words)]
        spec = {
            "data": {"values": rows},
            "mark": "bar",
            "encoding": {
                "x": {"field": "token", "type": "nominal", "sort": None},
                "y": {"field": "k", "type": "quantitative"},
            },
            "usermeta": {"embedOptions": {"renderer": "canvas"}},
        }
        st.vega_lite_chart(spec, key=f"chart{i}")
    elif kind.startswith("table"):
        table = {"token": words, "position": list(range(len(words)))}
        with st.expander(f"Table {i}") if kind.endswith("expander") else nullcontext():
            st.dataframe(table, key=f"table{i}")
    elif kind == "formula":
        st.latex(r"W = \mathrm{softmax}\left(X X^\top / \sqrt{d}\right)")


def measure(count: int, texts: int) -> None:
    from playwright.sync_api import sync_playwright
    from serve import CHROMIUM_FLAGS, serving, wait_ready

    with serving("bench/elements.py") as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
        print("| kind | shown (ms) | page's last change (ms) | one element (ms) |")
        print("|---|---:|---:|---:|")
        base = None
        for kind in KINDS:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            tab.add_init_script(WATCH)
            tab.goto(f"{url}/?kind={kind}&count={count}")
            wait_ready(tab)
            shown, last = [], []
            for r in range(texts + 1):
                words = [f"w{r}n{k}" for k in range(12)]
                box = tab.get_by_label("Text", exact=True)
                box.fill(" ".join(words))
                tab.wait_for_function(QUIET, polling=50)
                tab.evaluate("e => { window.__m = { expect: e }; }", " · ".join(words))
                box.press("Control+Enter")
                tab.wait_for_function("() => window.__m.shown != null", polling=20)
                wait_ready(tab)
                tab.wait_for_function(QUIET, polling=50)
                m = tab.evaluate("() => [__m.shown - __m.input, __last - __m.input]")
                if r:  # the first text is untimed
                    shown.append(m[0])
                    last.append(m[1])
            s, t = statistics.median(shown), statistics.median(last)
            base = t if base is None else base
            each = "–" if kind == "none" else f"{(t - base) / count:.1f}"
            print(f"| {kind} | {s:.0f} | {t:.0f} | {each} |", flush=True)
            tab.close()
        browser.close()


if exists():
    page()
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="elements of each kind")
    parser.add_argument("--texts", type=int, default=7, help="timed texts of each kind")
    args = parser.parse_args()
    measure(args.count, args.texts)
