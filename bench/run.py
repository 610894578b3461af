"""How fast the dashboard feels, next to the compute it cannot avoid.

    python bench/run.py            # full run (about 7 minutes on 2 cores)
    python bench/run.py --quick    # fewer repeats, 16 and 256 tokens only

For texts of 16, 64, 128 and 256 word pieces it measures (medians of several runs):
  floor           the model's forward pass + attention, projections and PCA, in-process
  server rerun    the app script finishing a rerun after the temperature changes (AppTest),
                  each time to a value it has not seen, so no cache can answer it
  browser update  in headless Chromium: from moving the temperature slider to the page
                  being idle again with every chart redrawn; on the whole page, and in
                  presentation mode on step 4 (W), as a talk shows it
  training        "watch projections learn": 300 steps on the page's default settings
                  (d_k 64) and at the widest projections (d_k 384), imitating layer 0, head 0
  every head      in the browser, once the network is loaded: from asking for every head
                  (step 9) to its 72 pictures drawn, each time on a text no cache has seen
the t-SNE map's fit at 16 and 256 word pieces (once per text: a move of W does not fit
it again), a real server's memory per viewer (a page open on 256 word pieces at d_k 384,
and once it has trained; ``--memory`` measures only these two), and once: the server's
CPU time per text change (a new text of about 14 word pieces typed
into the default page, beside the 16-piece floor), the cold start (`streamlit run` to the
first complete render) next to its own floor (a fresh process importing torch +
sentence-transformers and loading the model, the heaviest way to open it; the page itself
never imports torch) and next to a bare page's cold start, and the server's peak memory
(RSS high-water mark) after serving the 256-token text, and again after showing a trained
head of it and every head of each text, which run the network the default page does without.
Times drift on shared machines, so each is also given as a ratio to its floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # pagetest: the map's controls as AppTest moves them

from serve import (  # noqa: E402
    CHROMIUM_FLAGS,
    cpu_seconds,
    free_port,
    serving,
    start_server,
    wait_healthy,
    wait_ready,
)
from texts import WORDS, text_with_pieces  # noqa: E402

import attn_core  # noqa: E402

TARGETS = {
    "first": 0.050,
    "settled": {16: 0.150, 256: 0.400},
    "other_settled": 0.300,
    "text_cpu": 0.060,
    "rerun_ratio": 3.0,
    "cold_ratio": 1.3,
    "rss": 700,
    "training": 5.0,
    "heads": {16: 1.0, 256: 3.0},
}
TRAIN_STEPS = 300
TRAIN_WIDTHS = (64, 384)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def floor(text: str, model: attn_core.Model, repeats: int) -> float:
    def work() -> None:
        emb = attn_core.embed(text, kind="contextual", model=model)  # the forward pass
        x = emb.vectors
        free = attn_core.self_attention(x)
        proj = attn_core.random_projections(x.shape[1], 64, seed=0)
        projected = attn_core.self_attention(x, proj)
        attn_core.to_plane(free.x, free.output)
        attn_core.to_plane(projected.v, projected.output)

    work()  # warm-up
    return median_time(work, repeats)


def training(text: str, model: attn_core.Model, d_k: int, repeats: int) -> float:
    """Seconds for the page's training run: static vectors towards layer 0, head 0."""
    emb = attn_core.embed(text, model=model)
    head = attn_core.model_head(text, layer=0, head=0, model=model)
    target = attn_core.pool_attention(head.weights, emb.pieces)
    start = attn_core.random_projections(emb.vectors.shape[1], d_k, seed=0)
    return median_time(
        lambda: attn_core.train_projections(emb.vectors, target, start, steps=TRAIN_STEPS),
        repeats,
    )


def tsne_time(text: str, model: attn_core.Model, repeats: int) -> float:
    """Seconds for the geometry step's t-SNE map of a text (fitted once per text)."""
    res = attn_core.self_attention(attn_core.embed(text, model=model).vectors)
    attn_core.reduce.tsne_map(res.values[:8])  # scikit-learn imported outside the timing
    return median_time(lambda: attn_core.reduce.tsne_map(res.values), repeats)


def memory_report(texts: dict[int, str], model: attn_core.Model, repeats: int) -> list[str]:
    """The t-SNE map's time, and a real server's memory per viewer, as report lines."""
    from playwright.sync_api import sync_playwright
    from sessions import server_per_viewer

    tsne = {n: tsne_time(texts[n], model, repeats) for n in (16, 256)}
    with serving() as (url, server), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
        idle, trained = server_per_viewer(browser, url, server.pid, texts[256])
        browser.close()
    return [
        "",
        "| once | measured |",
        "|---|---:|",
        f"| t-SNE map at 16 word pieces | {ms(tsne[16])} |",
        f"| t-SNE map at 256 word pieces | {ms(tsne[256])} |",
        f"| server RSS per viewer, page open (256 word pieces, d_k 384) | {idle:.0f} MB |",
        f"| server RSS per viewer, once it has trained there | {trained:.0f} MB more |",
    ]


def server_rerun(text: str, repeats: int) -> float:
    """The server's part of a temperature move: the map reports the settled value and what
    follows from W reruns (AppTest; the map itself has redrawn in the browser)."""
    from pagetest import move_map
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=300).run()
    at.text_area(key="text").set_value(text).run()
    times = []
    for k in range(repeats):
        t0 = time.perf_counter()
        move_map(at, temperature=round(1.05 + 0.05 * k, 2))
        times.append(time.perf_counter() - t0)
        assert not at.exception, [e.value for e in at.exception]
        at.run()  # the whole page again, for the next move
    return statistics.median(times)


WATCH_DRAWING = """(() => {
  window.__last = performance.now();
  window.__first = null;
  window.__input = null;
  // The input: the key or pointer press as it reaches the page (not the driver's call).
  for (const type of ["keydown", "pointerdown"]) {
    window.addEventListener(type, () => {
      if (window.__input === null) window.__input = performance.now();
    }, true);
  }
  const drawn = () => {
    window.__last = performance.now();
    if (window.__first === null && window.__input !== null) window.__first = window.__last;
  };
  // Charts drawn by Vega's canvas renderer and data grids paint into canvases.
  const context = CanvasRenderingContext2D.prototype;
  for (const name of ["fillRect", "fillText", "drawImage", "fill", "stroke"]) {
    const paint = context[name];
    context[name] = function (...args) { drawn(); return paint.apply(this, args); };
  }
  // Everything else is the DOM, except a data grid's accessibility table: it has no size
  // on screen, and the grid rewrites it on a timer some 200 ms after painting its canvas.
  const shown = (record) => {
    const node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
    return !(node && node.closest("[data-testid=stDataFrame] table"));
  };
  new MutationObserver((records) => { if (records.some(shown)) drawn(); })
    .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})()"""
"""Keeps ``window.__last``: the time the page last changed what it shows;
``window.__first``: the first change, and ``window.__input``: the first key or pointer
press, since they were last reset to null. Changes inside a component's shadow root are not
DOM changes seen here; its canvas paints are."""
QUIET_MS = 500


def timed_change(page, act) -> tuple[float, float]:
    """Seconds from the input ``act()`` makes (its key or pointer press reaching the page)
    to the page's first visible change, and to its last once it is quiet and idle.

    Measured on the page's own clock (``WATCH_DRAWING``): the time of the first and last
    change to the DOM or paint into a canvas (charts redrawn, grids, tables and numbers
    rewritten) minus the time of the input, after QUIET_MS with no further change and the
    script no longer running. Anything still changing from before waits out first.
    """
    page.wait_for_function(
        f"() => performance.now() - window.__last > {QUIET_MS}", timeout=60_000, polling=25
    )
    t0 = page.evaluate(
        "() => { window.__first = window.__input = null; return performance.now(); }"
    )
    act()
    page.wait_for_timeout(50)
    page.wait_for_function(
        f"""() => performance.now() - window.__last > {QUIET_MS} &&
            document.querySelector('[data-testid=stApp]')
              .getAttribute('data-test-script-state') === 'notRunning'""",
        timeout=60_000,
        polling=25,
    )
    first, last, pressed = page.evaluate("() => [window.__first, window.__last, window.__input]")
    start = pressed if pressed is not None else t0
    return ((first if first is not None else last) - start) / 1000, (last - start) / 1000


def browser_updates(page, texts: dict[int, str], repeats: int) -> dict[int, dict]:
    """For each text: ``control_timings``, every control at 16 and 256 word pieces and the
    temperature alone at the sizes between."""
    results = {}
    for n, text in texts.items():
        box = page.get_by_label("Text", exact=True)
        box.fill(text)
        box.press("Control+Enter")
        page.wait_for_function(
            "n => { const c = document.querySelector('[data-testid=stCode]');"
            " return c !== null && c.innerText.split('·').length === n; }",
            arg=n,
            timeout=120_000,
        )
        wait_ready(page)
        every = n in EVERY_CONTROL_AT
        results[n] = control_timings(page, repeats, None if every else ["temperature"])
    return results


EVERY_CONTROL_AT = (16, 256)


def control_timings(page, repeats: int, names=None) -> dict[str, tuple[float, float]]:
    """Each control of steps 3-9 moved ``repeats`` times: median seconds to the first
    visible change and to the page settled. Each move goes to a value not seen just before
    (a temperature +0.05 each time, a switch back and forth, seeds counting up)."""

    def switch(name):
        return lambda k: page.get_by_role("switch", name=name).click()

    def then_enter(box, prepare):
        """``prepare(box, k)`` first (not timed), then Enter (timed)."""
        return (lambda k: prepare(box(), k), lambda k: box().press("Enter"))

    def next_option(box, k):  # the list opened and its next option highlighted
        box.focus()
        box.press("ArrowDown")
        box.press("ArrowDown")

    def d_k(k):
        page.get_by_role("slider", name="d_k (query/key width)").press(
            "ArrowLeft" if k % 2 else "ArrowRight"
        )

    def method(k):
        name = "Two raw features" if k % 2 == 0 else "PCA"
        page.get_by_role("radio", name=name, exact=True).click()

    controls = {
        "temperature": lambda k: page.get_by_role("slider", name="Temperature τ").press(
            "ArrowRight"
        ),
        "scale": switch("Scale by 1/√d"),
        "mask": switch("Causal mask"),
        "stretch": switch("Stretch colours"),
        "d_k": d_k,
        "seed": then_enter(
            lambda: page.get_by_label("Seed", exact=True), lambda box, k: box.fill(str(100 + k))
        ),
        "token focus": then_enter(
            lambda: page.get_by_role("combobox", name="Token focus"), next_option
        ),
        "map method": method,
    }
    results = {}
    for name, act in controls.items():
        if names is not None and name not in names:
            continue
        prepare, act = act if isinstance(act, tuple) else (None, act)
        times = []
        for k in range(repeats):
            if prepare is not None:
                prepare(k)
            times.append(timed_change(page, lambda k=k, act=act: act(k)))
        results[name] = medians(times)
        # each switch back to its default for the next control, and the page settled
        if name in ("scale", "mask", "stretch") and repeats % 2:
            timed_change(page, lambda act=act: act(repeats))
    return results


NOUNS = ["river", "bank", "water", "light", "stone", "cloud", "bird", "tree", "wind", "field"]


def text_cpu(page, pid: int, repeats: int) -> tuple[float, int]:
    """The server's CPU seconds per text change on the default page (median), and the text's
    word pieces: each text is new, about 14 word pieces, typed and sent as a viewer would."""
    spent = []
    for r in range(repeats):
        a, b, c = (NOUNS[(r + k) % len(NOUNS)] for k in (0, 3, 7))
        text = f"The {a} and the {b} sat quietly by the old {c} today"
        box = page.get_by_label("Text", exact=True)
        box.fill(text)
        cpu = cpu_seconds(pid)
        box.press("Control+Enter")
        page.wait_for_function(
            "s => { const c = document.querySelector('[data-testid=stCode]');"
            " return c !== null && c.innerText.includes(s); }",
            arg=f"old  ·  {c}",
            timeout=120_000,
        )
        wait_ready(page)
        spent.append(cpu_seconds(pid) - cpu)
    pieces = int(page.evaluate(
        "() => document.querySelector('[data-testid=stCode]').innerText.split('·').length"
    ))  # fmt: skip
    # The process clock ticks every 10 ms: round off the float noise of subtracting ticks
    # (6 ticks are 0.06000000000000005 s), which would otherwise decide the target.
    return round(statistics.median(spent), 3), pieces


def presentation_updates(
    page, url: str, texts: dict[int, str], repeats: int
) -> dict[int, tuple[float, float]]:
    """The same temperature move in presentation mode, on step 4 (W), as a talk would show
    it: seconds to W's first change and to the page settled (medians)."""
    results = {}
    for n, text in texts.items():
        page.goto(f"{url}/?{urllib.parse.urlencode({'present': 1, 'step': 4, 'text': text})}")
        wait_ready(page)
        thumb = page.get_by_role("slider", name="Temperature τ")
        times = [timed_change(page, lambda t=thumb: t.press("ArrowRight")) for _ in range(repeats)]
        results[n] = medians(times)
    return results


def medians(times: list[tuple[float, float]]) -> tuple[float, float]:
    """The median first change and the median settled time of ``timed_change`` results."""
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


BARE_PAGE = """
import altair as alt
import streamlit as st

import attn_core

emb = attn_core.embed("hi how are you", model=attn_core.load_model())
st.title("A bare page")
st.altair_chart(alt.Chart(alt.Data(values=[{"x": len(emb.tokens)}])).mark_point().encode(x="x:Q"))
"""
"""The least a Streamlit page with this model can do: open it, embed a text, draw a chart."""


def cold_start(browser, repeats: int) -> tuple[float, float, float]:
    """Medians of: ``streamlit run`` -> first complete render; the import-and-load floor
    (a fresh process importing torch and sentence-transformers and loading the model, the
    heaviest way to open it); and a bare page's cold start, the same way."""
    starts, floors, bare = [], [], []
    load = "import attn_core; attn_core.load_model().sentence_transformer"
    with tempfile.TemporaryDirectory() as folder:
        bare_page = Path(folder) / "bare.py"
        bare_page.write_text(BARE_PAGE)
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", load], check=True, capture_output=True, cwd=ROOT)
            floors.append(time.perf_counter() - t0)
            starts.append(_first_render(browser, "dashboard.py", charts=9, maps=True))
            bare.append(_first_render(browser, str(bare_page), charts=1, maps=False))
    return statistics.median(starts), statistics.median(floors), statistics.median(bare)


def _first_render(browser, script: str, charts: int, maps: bool) -> float:
    """Seconds from ``streamlit run script`` to ``charts`` charts drawn, the script idle."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = start_server(port, script)
    try:
        wait_healthy(url)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_function(
            f"() => document.querySelectorAll('[data-testid=stVegaLiteChart]').length >= {charts}"
            " && document.querySelector('[data-testid=stApp]')"
            ".getAttribute('data-test-script-state') === 'notRunning'",
            timeout=180_000,
            polling=20,
        )
        if maps:  # and the maps the page paints itself: W, Y and the comparison's three
            page.locator(".weights-map canvas").wait_for(timeout=180_000)
            page.locator(".w-output canvas").wait_for(timeout=180_000)
            page.locator(".w-comparison canvas").nth(2).wait_for(timeout=180_000)
        seconds = time.perf_counter() - t0
        page.close()
        return seconds
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def show_trained_head(page, url: str, text: str) -> None:
    """Show a trained head of ``text`` (this loads the network) and wait until it is drawn."""
    page.goto(f"{url}/?{urllib.parse.urlencode({'mode': 'real', 'text': text})}")
    wait_ready(page)
    page.get_by_text("Largest difference from the attention").wait_for(timeout=180_000)


def model_view(page, url: str, texts: dict[int, str], repeats: int) -> dict[int, float]:
    """Seconds from asking for every head to all 72 pictures drawn, the network loaded.

    Each repeat puts another word in front of the text, so no cache has seen it.
    """
    results = {}
    for n, text in texts.items():
        times = []
        for r in range(repeats):
            fresh = f"{WORDS[r % len(WORDS)]} {' '.join(text.split()[1:])}"
            page.goto(f"{url}/?{urllib.parse.urlencode({'text': fresh})}")
            wait_ready(page)
            toggle = page.get_by_text("Show every head")
            toggle.scroll_into_view_if_needed()
            t0 = time.perf_counter()
            toggle.click()
            # every picture painted (the grid marks its canvas once its image has loaded)
            page.locator(".heads-grid canvas[data-drawn]").wait_for(
                state="attached", timeout=120_000
            )
            times.append(time.perf_counter() - t0)
        results[n] = statistics.median(times)
    return results


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 16 and 256 only")
    parser.add_argument(
        "--memory", action="store_true", help="only t-SNE's time and the memory per viewer"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.md")
    args = parser.parse_args()
    sizes = (16, 256) if args.quick else (16, 64, 128, 256)
    repeats = 3 if args.quick else 7

    from playwright.sync_api import sync_playwright

    model = attn_core.load_model()
    texts = {n: text_with_pieces(n, model) for n in sizes}
    if args.memory:
        print("\n".join(memory_report(texts, model, repeats)))
        return
    floors = {n: floor(texts[n], model, repeats) for n in sizes}
    reruns = {n: server_rerun(texts[n], repeats) for n in sizes}
    trainings = {
        (n, d_k): training(texts[n], model, d_k, min(repeats, 3))
        for n in sizes
        for d_k in TRAIN_WIDTHS
    }

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port)
    try:
        wait_healthy(url)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script(WATCH_DRAWING)
            page.goto(url)
            wait_ready(page)
            per_text, pieces = text_cpu(page, server.pid, max(repeats, 9))
            updates = browser_updates(page, texts, repeats)
            on_stage = presentation_updates(page, url, texts, repeats)
            rss = peak_rss_mb(server.pid)  # the default page, after every size, 256 included
            show_trained_head(page, url, texts[max(texts)])
            heads = model_view(page, url, texts, min(repeats, 5))
            rss_head = peak_rss_mb(server.pid)  # and a trained head, every head of every size
            cold, cold_floor, cold_bare = cold_start(browser, 3 if args.quick else 5)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)

    lines = [
        f"Measured {dt.date.today().isoformat()} on {machine()}; medians of {repeats} runs.",
        "",
        "A temperature step (the arrow key): the first visible change of W, and the page"
        " settled with everything that depends on W redrawn.",
        "",
        "| word pieces | floor | server rerun | rerun ÷ floor | W changes | settled"
        " | settled ÷ floor | presentation mode: W changes | settled |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        first, settled = updates[n]["temperature"]
        lines.append(
            f"| {n} | {ms(floors[n])} | {ms(reruns[n])} | {reruns[n] / floors[n]:.1f}× | "
            f"{ms(first)} | {ms(settled)} | {settled / floors[n]:.1f}× | "
            f"{ms(on_stage[n][0])} | {ms(on_stage[n][1])} |"
        )
    lines += [
        "",
        "Every control of steps 3-9: the first visible change, and the page settled.",
        "",
        "| control | "
        + " | ".join(f"{n}: first change | {n}: settled" for n in EVERY_CONTROL_AT)
        + " |",
        "|---|" + "---:|---:|" * len(EVERY_CONTROL_AT),
    ]
    for name in updates[EVERY_CONTROL_AT[0]]:
        cells = [ms(t) for n in EVERY_CONTROL_AT for t in updates[n][name]]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"| word pieces | training, {TRAIN_STEPS} steps, d_k {TRAIN_WIDTHS[0]} | "
        f"training, {TRAIN_STEPS} steps, d_k {TRAIN_WIDTHS[1]} |",
        "|---:|---:|---:|",
    ]
    for n in sizes:
        lines.append(
            f"| {n} | " + " | ".join(f"{trainings[n, d]:.2f} s" for d in TRAIN_WIDTHS) + " |"
        )
    lines += [
        "",
        "| word pieces | every head at once (72 pictures), the network loaded |",
        "|---:|---:|",
    ]
    lines += [f"| {n} | {heads[n]:.2f} s |" for n in sizes]
    lines += [
        "",
        "| once | measured | floor | ratio |",
        "|---|---:|---:|---:|",
        f"| cold start to first complete render | {cold:.1f} s | {cold_floor:.1f} s | "
        f"{cold / cold_floor:.2f}× |",
        "| the same, next to a bare Streamlit page that opens the model and draws one chart"
        f" | {cold:.1f} s | {cold_bare:.1f} s | {cold / cold_bare:.2f}× |",
        f"| server CPU per text change ({pieces} word pieces, default page) |"
        f" {per_text * 1000:.0f} ms | {floors[min(floors)] * 1000:.0f} ms |"
        f" {per_text / floors[min(floors)]:.1f}× |",
        f"| peak server RSS after the 256-token text | {rss:.0f} MB | | |",
        "| the same, then a trained head of it and every head of each text (the network loaded)"
        f" | {rss_head:.0f} MB | | |",
        *memory_report(texts, model, repeats),
        "",
        "Targets: W's first change after a temperature, scale or mask input ≤ 50 ms at 16 and"
        " at 256 word pieces; the page settled ≤ 150 ms at 16 and ≤ 400 ms at 256; any other"
        " control settled ≤ 300 ms at 16; server rerun ≤ 3× floor at 256;"
        " server CPU per text change ≤ 60 ms; cold start ≤ 1.3× its floor;"
        " peak RSS ≤ 700 MB;"
        f" training ≤ {TARGETS['training']:.0f} s at 256 word pieces and d_k {TRAIN_WIDTHS[-1]};"
        " every head at once ≤ 1 s at 16 and ≤ 3 s at 256 word pieces.",
    ]
    in_map = ("temperature", "scale", "mask")
    checks = {
        "W's first change": all(
            updates[n][c][0] <= TARGETS["first"] for n in EVERY_CONTROL_AT for c in in_map
        ),
        "settled at 16": all(updates[16][c][1] <= TARGETS["settled"][16] for c in in_map),
        "settled at 256": all(updates[256][c][1] <= TARGETS["settled"][256] for c in in_map),
        "other controls settled at 16": all(
            t[1] <= TARGETS["other_settled"] for c, t in updates[16].items() if c not in in_map
        ),
        "server rerun at 256": reruns[256] / floors[256] <= TARGETS["rerun_ratio"],
        "server CPU per text change": per_text <= TARGETS["text_cpu"],
        "cold start": cold / cold_floor <= TARGETS["cold_ratio"],
        "peak RSS": max(rss, rss_head) <= TARGETS["rss"],
        "training": trainings[256, TRAIN_WIDTHS[-1]] <= TARGETS["training"],
        "every head at 16": heads[16] <= TARGETS["heads"][16],
        "every head at 256": heads[256] <= TARGETS["heads"][256],
    }
    lines.append(
        "Met: " + ", ".join(k for k, ok in checks.items() if ok) + ". Missed: "
        + (", ".join(k for k, ok in checks.items() if not ok) or "none") + "."
    )  # fmt: skip
    report = "\n".join(lines)
    print(report)
    args.out.write_text(with_other_sections(args.out, report))


def with_other_sections(path: Path, report: str) -> str:
    """``report``, then every ``## `` section of ``path`` that another bench wrote (the
    audience's, a new text's): a run rewrites its own figures only."""
    old = path.read_text() if path.exists() else ""
    others = re.split(r"(?m)^(?=## )", old)[1:]
    return "".join(
        [report.rstrip("\n") + "\n", *("\n" + part.strip("\n") + "\n" for part in others)]
    )


if __name__ == "__main__":
    main()
