"""An audience without browsers: many viewers speaking Streamlit's own websocket protocol.

    python bench/audience.py --url http://127.0.0.1:8080 --sessions 30 --changes 5
    python bench/audience.py --url http://127.0.0.1:8080 --sessions 300 --think 60
    python bench/audience.py --url http://127.0.0.1:8501 --pids 1234   # + RSS and CPU

Each viewer does what a browser does on the wire: an HTTP request for the page first (its
cookie jar keeps whatever the balancer sets, so its websocket goes to the same replica),
then ``/_stcore/stream`` with the ``streamlit`` subprotocol and the cookies, a BackMsg
``rerun_script`` for the first run, and one more per change carrying the widget states the
page's ForwardMsg deltas named (the text area ``Text``, the switch ``Keep [CLS] and [SEP]``).
Changes alternate: a text of the viewer's own, then a move of the switch; ``--think`` spreads
them (a viewer reads 0 to 2 x think seconds before each; 0: everyone at once). Each change is
timed from its BackMsg to the run's ``script_finished``; every answer's token strip must
carry that viewer's marker and nobody else's. All viewers open the page first (16 at a
time); once all are open and idle, the servers' RSS is read (``--pids``), then the changes
start (the servers' CPU time over them is read too).

Loopback only, bounded in viewers, changes and time; exits 1 on any error or crossed text.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import ipaddress
import random
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve import cpu_seconds

NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
MAX_SESSIONS, MAX_CHANGES, MAX_DURATION = 500, 50, 1800.0
RUN_TIMEOUT = 120.0
"""Seconds one run may take before it counts as an error (a busy server is slow)."""
TEXT, SWITCH = "Text", "Keep [CLS] and [SEP]"
ARRIVING = 16
"""Viewers opening the page at once: a room arrives over a minute, not in one instant."""


@dataclass
class Report:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    crossed: set[int] = field(default_factory=set)
    opened: int = 0

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def marker(viewer: int, change: int) -> str:
    """Words that tokenize to themselves and name one viewer's one change."""
    return "session {} change {}".format(
        " ".join(NUMBERS[int(c)] for c in f"{viewer:03d}"),
        " ".join(NUMBERS[int(c)] for c in f"{change:02d}"),
    )


def viewers_in(strip: str) -> set[int]:
    """The viewers whose markers a token strip (pieces joined by `` · ``) carries."""
    pieces = [p.strip() for p in strip.split("·")]
    found = set()
    for i, piece in enumerate(pieces):
        digits = pieces[i + 1 : i + 4]
        if piece == "session" and len(digits) == 3 and all(d in NUMBERS for d in digits):
            found.add(int("".join(str(NUMBERS.index(d)) for d in digits)))
    return found


def check_loopback(url: str) -> str:
    """``url`` if it names this machine; a ValueError otherwise (the load stays local)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        local = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if parts.scheme not in ("http", "https") or not local:
        raise ValueError(f"url must be http(s) on 127.0.0.1 or localhost, got {url!r}")
    return url.rstrip("/")


def rss_bytes(pids: list[int]) -> int:
    """The resident memory of these processes together."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


class Viewer:
    """One page: its cookies, its websocket, the widget ids and states it knows."""

    def __init__(self, url: str, number: int) -> None:
        self.url, self.number = url, number
        self.jar = http.cookiejar.CookieJar()
        self.ids: dict[str, str] = {}
        self.states: dict[str, object] = {}
        self.query = ""
        self.switch_shown = False
        self.ws = None

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    async def open(self) -> float:
        """The page's HTML (as a browser asks for it first), the websocket, the first run."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        await asyncio.to_thread(lambda: opener.open(f"{self.url}/", timeout=30).read())
        ws_url = "ws" + self.url.removeprefix("http") + "/_stcore/stream"
        self.ws = await connect(
            ws_url,
            subprotocols=["streamlit"],
            additional_headers={"Cookie": self.cookie_header()},
            max_size=None,
            open_timeout=30,
            ping_interval=None,  # as a browser: it answers the server's pings, sends none
        )
        return await self.run()

    async def run(self) -> float:
        """Send ``rerun_script`` with the widget states now; seconds until the run finished.

        Raises RuntimeError if the run shows an exception or this page's text is missing,
        and records in ``self.strip`` the token strip the run drew.
        """
        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        for name, value in self.states.items():
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = self.ids[name]
            if isinstance(value, bool):
                state.bool_value = value
            else:
                state.string_value = value
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        self.strip = ""
        async with asyncio.timeout(RUN_TIMEOUT):
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await self.ws.recv())
                kind = fwd.WhichOneof("type")
                if kind == "delta":
                    self.read_delta(fwd)
                elif kind == "page_info_changed":
                    self.query = fwd.page_info_changed.query_string
                elif kind == "script_finished":
                    status = fwd.script_finished
                    if status == ForwardMsg.FINISHED_SUCCESSFULLY:
                        return time.perf_counter() - started
                    if status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        raise RuntimeError(f"the run finished with status {status}")

    def read_delta(self, fwd: ForwardMsg) -> None:
        """Widget ids by label, the first code block's text (the token strip), exceptions."""
        if fwd.delta.WhichOneof("type") != "new_element":
            return
        element = fwd.delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            raise RuntimeError(f"exception on the page: {element.exception.message[:100]}")
        if kind == "text_area" and element.text_area.label == TEXT:
            self.ids[TEXT] = element.text_area.id
        elif kind == "checkbox" and element.checkbox.label == SWITCH:
            box = element.checkbox
            self.ids[SWITCH] = box.id
            self.switch_shown = box.value if box.set_value else box.default
        elif kind == "code" and not self.strip:
            self.strip = element.code.code_text

    async def change(self, change: int) -> float:
        """An even change types a new text, an odd one flips the switch."""
        if change % 2 == 0 or TEXT not in self.states:
            self.states[TEXT] = f"{marker(self.number, change)} reads about attention"
        else:
            self.states[SWITCH] = not self.switch_shown
        if any(name not in self.ids for name in self.states):
            raise RuntimeError(f"the page drew no widget labelled {TEXT!r} or {SWITCH!r}")
        return await self.run()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


@dataclass
class Start:
    """When viewers may open the page (``ARRIVING`` at once) and start their changes."""

    arriving: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(ARRIVING))
    changes: asyncio.Event = field(default_factory=asyncio.Event)


async def one_viewer(
    viewer: Viewer, changes: int, think: float, deadline: float, report: Report, start: Start
) -> None:
    try:
        async with start.arriving:
            await viewer.open()
        report.opened += 1
    except Exception as exc:  # a refused connection or a timeout counts against the run
        report.errors.append(f"viewer {viewer.number} opening: {type(exc).__name__}: {exc}")
    try:
        await start.changes.wait()
        reading = random.Random(viewer.number)
        for change in range(changes if viewer.ws is not None else 0):
            await asyncio.sleep(reading.uniform(0, 2 * think))
            if time.monotonic() > deadline:
                break
            seconds = await viewer.change(change)
            seen = viewers_in(viewer.strip)
            if seen - {viewer.number}:
                report.crossed.add(viewer.number)
                report.errors.append(f"viewer {viewer.number} saw {sorted(seen)}")
            elif viewer.number not in seen:
                report.errors.append(f"viewer {viewer.number}: its text missing: {viewer.strip}")
            report.latencies.append(seconds)
    except Exception as exc:
        report.errors.append(f"viewer {viewer.number}: {type(exc).__name__}: {exc}"[:300])
    finally:
        await viewer.close()


async def audience(
    url: str, sessions: int, changes: int, think: float, duration: float, pids: list[int]
) -> dict[str, float]:
    """Open ``sessions`` viewers, then let each make ``changes``, each after reading the page
    for a random 0 to 2 x ``think`` seconds; the figures of the run."""
    deadline = time.monotonic() + duration
    report, start = Report(), Start()
    viewers = [Viewer(url, n) for n in range(sessions)]
    # The first viewer alone fills the caches every later one shares.
    first = asyncio.create_task(one_viewer(viewers[0], changes, think, deadline, report, start))
    while report.opened == 0 and not report.errors and not first.done():
        await asyncio.sleep(0.05)
    rss_one = rss_bytes(pids)
    rest = [
        asyncio.create_task(one_viewer(v, changes, think, deadline, report, start))
        for v in viewers[1:]
    ]
    while report.opened + len(report.errors) < sessions and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    rss_all = rss_bytes(pids)
    cpu, started = sum(map(cpu_seconds, pids)), time.perf_counter()
    start.changes.set()
    async with asyncio.timeout(max(deadline - time.monotonic(), 0) + RUN_TIMEOUT):
        await asyncio.gather(first, *rest)
    seconds = time.perf_counter() - started
    return {
        "report": report,
        "seconds": seconds,
        "cpu": sum(map(cpu_seconds, pids)) - cpu,
        "rss_per_session": (rss_all - rss_one) / max(report.opened - 1, 1),
        "rss": rss_all,
    }


def summary(result: dict, sessions: int, changes: int) -> str:
    report = result["report"]
    done = len(report.latencies)
    lines = [
        f"{sessions} viewers x {changes} changes: {done}/{sessions * changes} answered in "
        f"{result['seconds']:.1f} s, {done / max(result['seconds'], 1e-9):.1f} changes/s; "
        f"per change p50 {report.p(0.5):.2f} s, p95 {report.p(0.95):.2f} s, "
        f"p99 {report.p(0.99):.2f} s; {len(report.errors)} errors; "
        f"{len(report.crossed)} viewers saw another's text"
    ]
    if result["rss"]:
        lines.append(
            f"server RSS {result['rss'] / 2**20:.0f} MB with every viewer open, "
            f"{result['rss_per_session'] / 2**20:.2f} MB per idle session; server CPU "
            f"{result['cpu'] / max(done, 1) * 1000:.0f} ms per change"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8501", help="the page (loopback)")
    parser.add_argument("--sessions", type=int, default=30, help=f"viewers, 1..{MAX_SESSIONS}")
    parser.add_argument("--changes", type=int, default=5, help=f"per viewer, 1..{MAX_CHANGES}")
    parser.add_argument(
        "--think", type=float, default=0, help="mean seconds between a viewer's changes"
    )
    parser.add_argument("--duration", type=float, default=600, help="seconds, at most 1800")
    parser.add_argument("--pids", type=int, nargs="*", default=[], help="the servers' pids")
    args = parser.parse_args(argv)
    try:
        url = check_loopback(args.url)
    except ValueError as exc:
        parser.error(str(exc))
    if not (1 <= args.sessions <= MAX_SESSIONS and 1 <= args.changes <= MAX_CHANGES):
        parser.error(f"sessions and changes must be in 1..{MAX_SESSIONS} and 1..{MAX_CHANGES}")
    if not 0 <= args.think <= args.duration:
        parser.error("think must be in 0..duration seconds")
    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"duration must be in (0, {MAX_DURATION:.0f}] seconds")
    figures = (args.sessions, args.changes, args.think, args.duration, args.pids)
    result = asyncio.run(audience(url, *figures))
    print(summary(result, args.sessions, args.changes))
    for error in result["report"].errors[:20]:
        print("  error:", error)
    report = result["report"]
    complete = len(report.latencies) == args.sessions * args.changes
    return 0 if complete and not report.errors else 1


if __name__ == "__main__":
    sys.exit(main())
