"""Step 10, "From the heads to the next layer": how fast it follows a new layer.

    python bench/layer.py            # about two minutes on 2 cores; writes bench/layer.md
    python bench/layer.py --quick    # fewer repeats
    python bench/layer.py --threads 1   # one BLAS thread here and in the server

Two figures, each beside its floor:
  engine        ``attn_core.layer`` at 256 word pieces with the network open, the
                default layer (2) and the last (which runs every layer before it);
                floor: the bare numpy forward pass (``bench/models.py`` measures the same
                with its full run)
  step settled  in headless Chromium, at 16 word pieces: from Enter on a new layer in the
                step's "Through layer" box to the page settled with every chart of the step
                redrawn (``run.timed_change``: the page's own clock, no fixed waits). Each
                repeat opens a text no cache has seen, at layer 0, then asks for the last
                layer, the most work a layer change can be; floor: ``attn_core.layer`` of
                that layer, in-process
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from models import bundled_timings  # noqa: E402
from run import WATCH_DRAWING, machine, medians, ms, timed_change  # noqa: E402
from serve import CHROMIUM_FLAGS, serving, wait_ready  # noqa: E402
from texts import WORDS, text_with_pieces  # noqa: E402

import attn_core  # noqa: E402

TARGETS = {"engine": 0.150, "settled": 1.0}
PIECES = 16


def fresh_texts(model: attn_core.Model, repeats: int) -> list[str]:
    """``repeats`` texts of ``PIECES`` word pieces, each with another first word."""
    base = text_with_pieces(PIECES, model).split()
    return [" ".join([WORDS[(r + 3) % len(WORDS)], *base[1:]]) for r in range(repeats)]


def step_settled(url: str, texts: list[str]) -> list[tuple[float, float]]:
    """For each text: the step at layer 0, then Enter on the last layer, timed."""
    from playwright.sync_api import sync_playwright

    last = str(attn_core.load_model().layers - 1)
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.add_init_script(WATCH_DRAWING)
        for text in texts:
            page.goto(f"{url}/?{urllib.parse.urlencode({'through': 1, 'text': text})}")
            wait_ready(page)
            box = page.get_by_role("combobox", name="Through layer")
            box.scroll_into_view_if_needed()
            box.click()  # the list open, the last layer typed: not timed
            page.keyboard.type(last)
            times.append(timed_change(page, lambda: page.keyboard.press("Enter")))
            line = f"Moved most through layer {last}: "
            assert page.get_by_text(line).count() == 1, "the step did not show the new layer"
        browser.close()
    return times


def engine_floor(texts: list[str], repeats: int) -> float:
    """Seconds for ``attn_core.layer`` of the last layer at ``PIECES`` word pieces."""
    model = attn_core.load_model().load_network()
    last = model.layers - 1
    attn_core.layer(texts[0], last, model=model)  # warm-up: the weights read from disk
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        attn_core.layer(texts[r % len(texts)], last, model=model)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "layer.md")
    parser.add_argument(
        "--threads", type=int, help="BLAS threads, here and in the server (default: numpy's own)"
    )
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    if args.threads:  # for a machine shared with other work: BLAS threads that wait spin
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.threads)  # the server started below inherits them
    engine = bundled_timings(repeats)
    model = attn_core.load_model()
    texts = fresh_texts(model, repeats)
    floor = engine_floor(texts, repeats)
    with serving() as (url, _):
        first, settled = medians(step_settled(url, texts))
    lines = [
        f"Measured {dt.date.today()} on {machine()}; medians of {repeats} runs; BLAS threads: "
        f"{args.threads or 'numpy default'}. Load average over 5 minutes at the end (other "
        f"work on the machine): {os.getloadavg()[1]:.1f}.",
        "",
        "| measured | time | floor | floor time | ratio | target |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for name, value in engine.items():
        if name != "forward":
            lines.append(
                f"| `layer()`, {name}, 256 word pieces | {ms(value)} | numpy forward | "
                f"{ms(engine['forward'])} | {value / engine['forward']:.2f}× | "
                f"≤ {ms(TARGETS['engine'])} |"
            )
    lines.append(
        f"| step 10 settled after a new layer ({PIECES} word pieces; first change "
        f"{ms(first)}) | {ms(settled)} | `layer()` of that layer | {ms(floor)} | "
        f"{settled / floor:.1f}× | ≤ {ms(TARGETS['settled'])} |"
    )
    met = max(v for k, v in engine.items() if k != "forward") <= TARGETS["engine"]
    lines.append(
        f"\nEngine target {'met' if met else 'missed'}; step target "
        f"{'met' if settled <= TARGETS['settled'] else 'missed'}."
    )
    report = "\n".join(lines)
    print(report)
    args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
