"""A classroom in one process: N viewers of the page, each training and showing every head.

    python bench/sessions.py                      # 30 viewers, 256 word pieces, d_k 384
    python bench/sessions.py --sessions 6 --max-rss-mb 1024
    python bench/sessions.py --results bench/results.md   # also writes its section there
    python bench/sessions.py --server --results bench/results.md   # a real server, Chromium

Each viewer is a session of the page run by Streamlit's ``AppTest`` in this process, as a
server runs them: it opens the page on a 256-word-piece text of its own, switches to
learnable projections at d_k 384, presses Train, and shows every head of the model. All
of them stay open. The process's resident memory is read after each stage, and its
high-water mark (transients included) at the end; the run fails (exit code 1) if any
session shows an error or a memory notice, or if either passes ``--max-rss-mb``.
``AppTest`` keeps each page's elements, which a server sends on and forgets, so this is an
upper bound on what a server holds per viewer. ``--server`` runs the same classroom on a
real server with its limit at ``--max-rss-mb``, each viewer a Chromium page
(``server_classroom``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import statistics
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from texts import WORDS, text_with_pieces  # noqa: E402

import attn_core  # noqa: E402
from app import memory  # noqa: E402

MB = 2**20


def viewer_text(k: int, pieces: int, model: attn_core.Model) -> str:
    """Viewer ``k``'s own text of ``pieces`` word pieces: its first two words are its own."""
    words = text_with_pieces(pieces, model).split()
    vocabulary = sorted(set(WORDS))  # each one word piece
    own = [vocabulary[k % len(vocabulary)], vocabulary[k // len(vocabulary) % len(vocabulary)]]
    return " ".join([*own, *words[2:]])


def open_viewer(text: str, d_k: int):
    """A new session on ``text``, in learnable mode at ``d_k``: the page as first drawn."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
    at.query_params.update({"text": text, "mode": "learnable", "d_k": str(d_k)})
    return at.run()


def problems(at) -> list[str]:
    """What went wrong on the page: errors, or work declined for want of memory."""
    found = [e.value for e in at.exception] + [e.value for e in at.error]
    return found + [w.value for w in at.warning if "memory" in w.value]


def resident(pid: int | str, field: str = "VmRSS") -> int:
    """A process's resident memory now (``VmHWM``: the most it ever held), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


SECTION = "## A classroom in one process (`bench/sessions.py`)"


SERVER_SECTION = "## A classroom on a real server (`bench/sessions.py --server`)"


def write_section(path: Path, body: str, section: str = SECTION) -> None:
    """Put this bench's ``section`` in ``path`` (bench/results.md), in place of its last
    one; every other section stays as it was."""
    old = path.read_text() if path.exists() else ""
    parts = re.split(r"(?m)^(?=## )", old)
    kept = [part for part in parts if not part.startswith(section)]
    new = f"{section}\n\n{body.strip()}\n"
    path.write_text("\n".join(part.strip("\n") + "\n" for part in [*kept, new] if part.strip()))


def server_per_viewer(browser, url: str, pid: int, text: str, viewers: int = 4) -> tuple:
    """MB a real server's memory grows by per page open on ``text`` in learnable mode at
    d_k 384 (idle), and again per page once it has trained: ``(idle, trained)``, means."""
    import re
    import urllib.parse

    from serve import wait_ready

    link = urllib.parse.urlencode({"text": text, "mode": "learnable", "d_k": "384"})
    pages, idle, trained = [], [], []
    for _ in range(viewers):
        before = resident(pid)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/?{link}")
        wait_ready(page)
        opened = resident(pid)
        train = page.get_by_role("button", name=re.compile(r"Train$"))
        train.scroll_into_view_if_needed()
        train.click()
        page.get_by_text("Learning to look at the previous token").wait_for(timeout=900_000)
        wait_ready(page)
        idle.append(opened - before)
        trained.append(resident(pid) - opened)
        pages.append(page)
    for page in pages:
        page.close()
    # the first page also loads what every later one shares: it is left out
    return (sum(idle[1:]) / (viewers - 1) / MB, sum(trained[1:]) / (viewers - 1) / MB)


def trained_page(browser, url: str, query: dict[str, str]):
    """A new Chromium page on ``url`` with ``query``, once Train has been pressed and the run
    is on screen (no other waiting than for the page to be ready)."""
    import urllib.parse

    from serve import wait_ready

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?{urllib.parse.urlencode(query)}")
    wait_ready(page)
    train = page.get_by_role("button", name=re.compile(r"Train$"))
    train.scroll_into_view_if_needed()
    train.click()
    # a run at d_k 384 on 256 word pieces, with other pages open on a busy machine
    page.get_by_text("Learning to look at the previous token").wait_for(timeout=900_000)
    wait_ready(page)
    return page


def server_classroom(browser, url: str, pid: int, texts: list[str], d_k: int = 384) -> list:
    """A real server as each of ``texts``' viewers opens the page in Chromium in learnable
    mode at ``d_k`` with every head shown and presses Train, every page staying open:
    ``(server MB after that viewer, what went wrong on its page)`` for each viewer."""
    pages, rows = [], []
    for text in texts:
        query = {"text": text, "mode": "learnable", "d_k": str(d_k), "heads": "1"}
        page = trained_page(browser, url, query)
        found = [
            f"{count} {what}"
            for what, count in (
                ("errors", page.locator("[data-testid='stException']").count()),
                ("memory notices", page.get_by_text("near its memory limit").count()),
                ("missing every head", 1 - min(page.get_by_text("Attention through").count(), 1)),
            )
            if count
        ]
        rows.append((resident(pid) / MB, found))
        pages.append(page)
    for page in pages:
        page.close()
    return rows


def on_a_server(texts: list[str], args) -> int:
    """``server_classroom`` on a server of its own with its limit at ``--max-rss-mb``."""
    import shutil

    from playwright.sync_api import sync_playwright
    from serve import CHROMIUM_FLAGS, serving

    os.environ[memory.LIMIT_ENV] = f"{args.max_rss_mb:g}"  # the server's own, as deployed
    with serving() as (url, server), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
        rows = server_classroom(browser, url, server.pid, texts, args.d_k)
        high = resident(server.pid, "VmHWM") / MB
        browser.close()
    for k, (mb, found) in enumerate(rows):
        print(f"viewer {k + 1:2d}: server {mb:.0f} MB" + (f"  PROBLEM: {found}" if found else ""))
    n, failed = len(rows), sum(bool(found) for _, found in rows)
    half = n // 2
    steady = (rows[-1][0] - rows[half][0]) / (n - 1 - half) if n - 1 > half else float("nan")
    lines = [
        f"{n} viewers open, {failed} with a problem; server {rows[-1][0]:.0f} MB, high-water "
        f"mark {high:.0f} MB (limit {args.max_rss_mb:.0f})",
        f"server after the first viewer {rows[0][0]:.0f} MB; each of the last {n - 1 - half} "
        f"viewers (the shared caches full) {steady:.1f} MB",
    ]
    print("\n".join(reversed(lines)))
    if args.results:
        intro = (
            f"Measured {datetime.date.today()} on 2 cores: a "
            f"`streamlit run` server with its limit at {args.max_rss_mb:.0f} MB and {n} "
            f"Chromium pages, each on a {args.pieces}-word-piece text of its own, learnable "
            f"projections at d_k {args.d_k}, every head shown, Train pressed once, all open."
        )
        body = textwrap.fill(intro, 92) + "\n\n" + "".join(f"- {line}\n" for line in lines)
        write_section(args.results, body, SERVER_SECTION)
    worst = max(max(mb for mb, _ in rows), high)
    return 0 if failed == 0 and worst <= args.max_rss_mb else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--pieces", type=int, default=256)
    parser.add_argument("--d-k", type=int, default=384)
    parser.add_argument("--max-rss-mb", type=float, default=1024.0)
    parser.add_argument("--results", type=Path, help="write the figures in this file's section")
    parser.add_argument("--server", action="store_true", help="a real server, Chromium pages")
    args = parser.parse_args(argv)
    model = attn_core.load_model()
    texts = [viewer_text(k, args.pieces, model) for k in range(args.sessions)]
    if args.server:
        return on_a_server(texts, args)
    viewers, failed = [], 0
    start = peak = memory.rss_bytes()
    idle, trained, heads, after = [], [], [], []
    print(f"process before any viewer: {start / MB:.0f} MB")
    for k, text in enumerate(texts):
        before = memory.rss_bytes()
        at = open_viewer(text, args.d_k)
        opened = memory.rss_bytes()
        at.button(key="train").click().run()
        at.run()  # the whole page, as the next rerun draws it
        done = memory.rss_bytes()
        at.toggle(key="heads").set_value(True).run()
        shown = memory.rss_bytes()
        ok = any(c.value.startswith("Learning to") for c in at.caption)
        ok = ok and any("heads" in (el.proto.spec or "") for el in at.get("vega_lite_chart"))
        found = problems(at) + ([] if ok else ["no training run or no heads on the page"])
        failed += bool(found)
        viewers.append(at)  # every viewer stays open
        idle.append(opened - before)
        trained.append(done - opened)
        heads.append(shown - done)
        after.append(shown)
        peak = max(peak, shown)
        print(
            f"viewer {k + 1:2d}: opened +{(opened - before) / MB:.0f} MB, trained "
            f"+{(done - opened) / MB:.0f} MB, every head +{(shown - done) / MB:.0f} MB, "
            f"process {shown / MB:.0f} MB" + (f"  PROBLEM: {found}" if found else ""),
            flush=True,
        )
    n = len(viewers)
    later = slice(1, None) if n > 1 else slice(None)  # the first also loads what all share
    high = resident("self", "VmHWM")  # transients included: a training run, every head
    half = n // 2  # by then the caches every viewer shares are full: what each viewer adds
    steady = (after[-1] - after[half]) / (n - 1 - half) if n - 1 > half else float("nan")
    lines = [
        f"{n} viewers open, {failed} with a problem; process peak {peak / MB:.0f} MB, "
        f"high-water mark {high / MB:.0f} MB (limit {args.max_rss_mb:.0f})",
        f"per viewer after the first: opened {statistics.mean(idle[later]) / MB:.1f} MB, "
        f"trained {statistics.mean(trained[later]) / MB:.1f} MB, every head "
        f"{statistics.mean(heads[later]) / MB:.1f} MB; each of the last {n - 1 - half} "
        f"viewers (the shared caches full) {steady / MB:.1f} MB",
    ]
    print("\n".join(reversed(lines)))
    if args.results:
        write_section(
            args.results,
            textwrap.fill(
                f"Measured {datetime.date.today()} on 2 cores: "
                f"{n} viewers in one process (Streamlit's `AppTest`, which also keeps every page's "
                f"elements), each on a {args.pieces}-word-piece text of its own, learnable "
                f"projections at d_k {args.d_k}, Train pressed once, every head shown, all "
                "open.",
                92,
            )
            + f"\n\n- before any viewer {start / MB:.0f} MB; after the first "
            f"{after[0] / MB:.0f} MB (the network, its first every-head pass)\n"
            + "".join(f"- {line}\n" for line in lines),
        )
    return 0 if failed == 0 and max(peak, high) <= args.max_rss_mb * MB else 1


if __name__ == "__main__":
    os.environ.setdefault(memory.LIMIT_ENV, "4096")  # measure, do not decline: 4 GB
    sys.exit(main())
