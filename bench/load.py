"""Many viewers at once: concurrent browser sessions against one local server.

    python bench/load.py                         # 30 sessions x 10 changes (a few minutes)
    python bench/load.py --sessions 4 --changes 3

Starts `streamlit run dashboard.py` on a free loopback port and opens ``--sessions`` pages
in one headless Chromium. Every session types ``--changes`` texts of its own, each carrying
a marker no other session uses, and waits for the page to show that text's tokens. It
counts errors (a traceback on the page, a timeout, another session's marker showing up),
and reports the median and 95th percentile time from submitting a text to seeing its
tokens, and the server's CPU time per text change (the whole run's CPU over the changes,
page loads included), from which the changes per second one core serves follow. Local
only, bounded in sessions, changes and time; exits 1 on any error.

The browsers run at low CPU priority (``nice``): twenty Chromium renderers on the server's
own two cores would otherwise take nearly all of its CPU, which says more about the test
machine than about the server. Real viewers render on their own machines.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve import CHROMIUM_FLAGS, cpu_seconds, serving, wait_ready_async

NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
MAX_SESSIONS, MAX_CHANGES = 50, 50
ACTION_TIMEOUT_MS = 600_000


@dataclass
class Report:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def marker(session: int, change: int) -> str:
    """Words that tokenize to themselves and name one session's one change."""
    digits = [NUMBERS[int(c)] for c in f"{session:02d}{change:02d}"]
    return "session " + " ".join(digits)


async def one_session(browser, url: str, session: int, changes: int, report: Report) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    # Many pages share two cores: an action may wait long for its element to be ready.
    # The bound is the whole run's (main's --timeout); readiness is what is waited for.
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = await context.new_page()
    try:
        await page.goto(url)
        await wait_ready_async(page)
        box = page.get_by_label("Text", exact=True)
        tokens = page.locator('[data-testid="stCode"]').first
        for change in range(changes):
            mine = marker(session, change)
            await box.fill(f"{mine} reads about attention")
            t0 = time.perf_counter()
            await box.press("Control+Enter")
            expected = "  ·  ".join(mine.split())
            await page.wait_for_function(
                "s => { const c = document.querySelector('[data-testid=stCode]');"
                " return c !== null && c.innerText.includes(s); }",
                arg=expected,
                timeout=ACTION_TIMEOUT_MS,
                polling=100,  # "raf" polling stalls in pages the browser deems hidden
            )
            report.latencies.append(time.perf_counter() - t0)
            await wait_ready_async(page)  # the rest of the page too, before the next text
            shown = await tokens.inner_text()
            others = [
                marker(s, c)
                for s in range(MAX_SESSIONS)
                for c in range(changes)
                if (s, c) != (session, change) and "  ·  ".join(marker(s, c).split()) in shown
            ]
            if others:
                report.errors.append(f"session {session} saw another session's text: {others}")
            if await page.locator('[data-testid="stException"]').count():
                report.errors.append(f"session {session}, change {change}: exception on page")
    except Exception as exc:  # a timeout or a crash counts as an error for this session
        report.errors.append(f"session {session}: {type(exc).__name__}: {exc}"[:300])
    finally:
        await context.close()


def niced_chromium(folder: Path) -> str:
    """A launcher that starts Debian's Chromium at the lowest CPU priority."""
    launcher = folder / "chromium-nice"
    launcher.write_text(f'#!/bin/sh\nexec nice -n 19 {shutil.which("chromium")} "$@"\n')
    launcher.chmod(0o755)
    return str(launcher)


async def run_load(url: str, sessions: int, changes: int) -> Report:
    from playwright.async_api import async_playwright

    report = Report()
    with tempfile.TemporaryDirectory() as folder:
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=niced_chromium(Path(folder)), args=CHROMIUM_FLAGS
            )
            await asyncio.gather(
                *(one_session(browser, url, s, changes, report) for s in range(sessions))
            )
            await browser.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the whole run")
    args = parser.parse_args(argv)
    if not (1 <= args.sessions <= MAX_SESSIONS and 1 <= args.changes <= MAX_CHANGES):
        parser.error(f"sessions and changes must be in 1..{MAX_SESSIONS} and 1..{MAX_CHANGES}")

    started = time.perf_counter()
    with serving() as (url, server):
        cpu = cpu_seconds(server.pid)
        report = asyncio.run(
            asyncio.wait_for(run_load(url, args.sessions, args.changes), args.timeout)
        )
        cpu = cpu_seconds(server.pid) - cpu
    expected = args.sessions * args.changes
    per_change = cpu / max(len(report.latencies), 1)
    print(
        f"{args.sessions} sessions x {args.changes} changes in "
        f"{time.perf_counter() - started:.0f} s: {len(report.latencies)}/{expected} answered, "
        f"{len(report.errors)} errors; text -> its tokens: median "
        f"{statistics.median(report.latencies or [0]):.2f} s, p95 {report.p(0.95):.2f} s; "
        f"server CPU {per_change * 1000:.0f} ms per change (page loads included), "
        f"about {1 / per_change:.0f} changes a second per core"
    )
    for error in report.errors[:20]:
        print("  error:", error)
    return 0 if not report.errors and len(report.latencies) == expected else 1


if __name__ == "__main__":
    sys.exit(main())
