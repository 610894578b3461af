"""Where one new text's time goes: a Chromium performance trace of the browser and the
server's own account of the same rerun, on one clock.

    python bench/newtext_trace.py [--pieces 16] [--profile] [--out /tmp/newtext-trace]

Serves the page from a Streamlit started in a process of this script's own (``--serve``),
which logs, with the wall clock, the BackMsg arriving, the script thread starting, the
script's own first line, each section's ``render`` (perf counters), every ForwardMsg
sent and the run's end; with ``--profile`` it also profiles the script thread (cProfile,
``OUT/run-N.prof``). In the browser, two texts of the length are sent untimed, then one
more under ``browser.start_tracing``: the trace (``OUT/trace.json``) is summed over the
renderer's main thread from the Enter key to the page complete, by kind of work and by
script, and the server's log is put on the same time line.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

KINDS = {
    "script": {
        "FunctionCall",
        "EvaluateScript",
        "v8.compile",
        "v8.compileModule",
        "TimerFire",
        "FireAnimationFrame",
        "EventDispatch",
        "v8.evaluateModule",
        "RunMicrotasks",
        "V8.Execute",
        "v8.run",
        "XHRReadyStateChange",
        "FireIdleCallback",
    },
    "style": {"UpdateLayoutTree", "RecalculateStyles", "ParseAuthorStyleSheet"},
    "layout": {"Layout", "UpdateLayer", "IntersectionObserverController::computeIntersections"},
    "paint": {
        "Paint",
        "PrePaint",
        "Layerize",
        "PaintImage",
        "Commit",
        "RasterTask",
        "CompositeLayers",
        "UpdateLayerTree",
        "Decode Image",
    },
    "gc": {
        "MinorGC",
        "MajorGC",
        "V8.GC_SCAVENGER",
        "BlinkGC.AtomicPhase",
        "V8.GCFinalizeMC",
        "ThreadState::performIdleLazySweep",
        "V8.GCScavenger",
        "V8.GC_MARK_COMPACTOR",
    },
    "parse": {"ParseHTML", "v8.parseOnBackground"},
}


# ---- the server, in a process of its own ----------------------------------------------


def serve(port: int, out: Path, profile: bool) -> None:
    """``streamlit run dashboard.py`` in this process, its rerun path logged to ``out``."""
    import cProfile
    import threading

    from streamlit.runtime import runtime as rt
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.scriptrunner import script_runner as sr
    from streamlit.web import cli

    out.mkdir(parents=True, exist_ok=True)
    log_file = (out / "server.jsonl").open("a", buffering=1)
    lock = threading.Lock()

    def log(what: str, **more) -> None:
        with lock:
            log_file.write(json.dumps({"t": time.time(), "what": what, **more}) + "\n")

    def wrap(owner, name, before):
        original = getattr(owner, name)

        def wrapped(*args, **kwargs):
            before(*args, **kwargs)
            return original(*args, **kwargs)

        setattr(owner, name, wrapped)

    wrap(AppSession, "handle_backmsg", lambda s, m: log("backmsg", type=m.WhichOneof("type")))
    wrap(
        AppSession,
        "_on_scriptrunner_event",
        lambda s, sender, event, **k: log("event", name=str(event.name)),
    )
    wrap(
        rt.Runtime,
        "_send_message",
        lambda s, info, m: log("sent", type=m.WhichOneof("type"), bytes=m.ByteSize()),
    )

    runs = iter(range(10_000))
    original_thread = sr.ScriptRunner._run_script_thread

    def profiled_thread(self):
        n = next(runs)
        log("thread", n=n)
        prof = cProfile.Profile() if profile else None
        if prof:
            prof.enable()
        try:
            return original_thread(self)
        finally:
            if prof:
                prof.disable()
                prof.dump_stats(out / f"run-{n}.prof")
            log("thread end", n=n)

    sr.ScriptRunner._run_script_thread = profiled_thread
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from app import sections, state

    wrap(state, "init", lambda: log("script body"))
    for section in sections.ALL:
        for name in ("controls", "render"):
            if hasattr(section, name):
                timed(section, name, log)
    sys.argv = [
        "streamlit",
        "run",
        "dashboard.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
    ]
    cli.main()


def timed(module, name: str, log) -> None:
    original = getattr(module, name)

    def run(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            log("section", name=f"{module.KEY}.{name}", ms=(time.perf_counter() - t0) * 1000)

    setattr(module, name, run)


# ---- the browser ------------------------------------------------------------------------


def summarise(trace: dict, start_us: float, end_us: float) -> dict:
    """Self time on the busiest renderer main thread in [start, end], by kind and by name,
    and the inclusive time of top-level script calls by script."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M" and e.get("args", {}).get("name") == "CrRendererMain"
    }
    spans = collections.defaultdict(list)
    for e in events:
        where = (e.get("pid"), e.get("tid"))
        inside = "dur" in e and e["ts"] <= end_us and e["ts"] + e["dur"] >= start_us
        if where in mains and e.get("ph") == "X" and inside:
            spans[where].append(e)
    thread = max(spans, key=lambda k: sum(e["dur"] for e in spans[k] if e["name"] == "RunTask"))
    xs = sorted(spans[thread], key=lambda e: (e["ts"], -e["dur"]))
    self_time = collections.Counter()
    by_url = collections.Counter()
    stack: list[dict] = []
    busy = 0.0
    longest = []
    for e in xs:
        while stack and stack[-1]["ts"] + stack[-1]["dur"] <= e["ts"]:
            stack.pop()
        if stack:
            parent = stack[-1]
            self_time[parent["name"]] -= min(e["dur"], parent["ts"] + parent["dur"] - e["ts"])
        else:
            busy += e["dur"]
            longest.append((e["dur"], e["ts"]))
        if e["name"] == "FunctionCall" and not any(s["name"] == "FunctionCall" for s in stack):
            url = e.get("args", {}).get("data", {}).get("url", "") or "(none)"
            by_url[url.rsplit("/", 1)[-1][:40]] += e["dur"]
        self_time[e["name"]] += e["dur"]
        stack.append(e)
    kinds = collections.Counter()
    for name, us in self_time.items():
        kind = next((k for k, names in KINDS.items() if name in names), "other")
        kinds[kind] += us
    return {
        "window_ms": (end_us - start_us) / 1000,
        "busy_ms": busy / 1000,
        "kinds_ms": {k: round(v / 1000, 1) for k, v in kinds.most_common()},
        "names_ms": {k: round(v / 1000, 1) for k, v in self_time.most_common(16)},
        "scripts_ms": {k: round(v / 1000, 1) for k, v in by_url.most_common(8)},
        "longest_tasks": [
            (round(d / 1000, 1), round((ts - start_us) / 1000))
            for d, ts in sorted(longest, reverse=True)[:8]
        ],
    }


def by_function(profile: dict) -> dict:
    """Self time (ms) of a CDP CPU profile by script file and by function (file:name)."""
    nodes = {n["id"]: n["callFrame"] for n in profile["nodes"]}
    files, functions = collections.Counter(), collections.Counter()
    for node, dt in zip(profile["samples"], profile["timeDeltas"], strict=True):
        frame = nodes[node]
        where = frame["url"].rsplit("/", 1)[-1][:40] or f"({frame['functionName'] or 'program'})"
        files[where] += dt / 1000
        functions[f"{where}:{frame['functionName'] or '?'}:{frame['lineNumber']}"] += dt / 1000
    return {
        "files_ms": {k: round(v) for k, v in files.most_common(12)},
        "functions_ms": {k: round(v) for k, v in functions.most_common(25)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="cProfile the script thread")
    parser.add_argument("--out", type=Path, default=Path("/tmp/newtext-trace"))
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.out, args.profile)
        return

    from newtext import expectation, new_text, open_page, texts_of
    from playwright.sync_api import sync_playwright
    from serve import CHROMIUM_FLAGS, free_port, wait_healthy

    import attn_core

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "server.jsonl").unlink(missing_ok=True)
    model = attn_core.load_model()
    texts = texts_of(args.pieces, 4, model)
    port = free_port()
    command = [sys.executable, __file__, "--serve", str(port), "--out", str(args.out)]
    server = subprocess.Popen(
        command + (["--profile"] if args.profile else []),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, server=server)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS
            )
            page, cdp = open_page(browser, url)
            parts = ("tokens", "w", "y", "comparison")
            for text in texts[:2]:
                new_text(page, server.pid, text, expectation(text, model, parts), cdp)
            origin = page.evaluate("() => performance.timeOrigin")
            page.evaluate("() => { window.__marks = true; }")
            browser.start_tracing(
                page=page,
                path=str(args.out / "trace.json"),
                categories=[
                    "devtools.timeline",
                    "disabled-by-default-devtools.timeline",
                    "v8.execute",
                    "blink.user_timing",
                    "toplevel",
                    "loading",
                    "v8",
                ],
            )
            result = new_text(page, server.pid, texts[2], expectation(texts[2], model, parts), cdp)
            page.evaluate("() => performance.mark('nt-done')")
            browser.stop_tracing()
            entered = page.evaluate("() => window.__nt.input")
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 500})
            cdp.send("Profiler.start")
            new_text(page, server.pid, texts[3], expectation(texts[3], model, parts), cdp)
            profile = cdp.send("Profiler.stop")["profile"]
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    trace = json.loads((args.out / "trace.json").read_text())
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    marks = {e["name"]: e["ts"] for e in events if e.get("name") in ("nt-input", "nt-done")}
    start_us = marks["nt-input"]
    summary = summarise(trace, start_us, start_us + result["complete"] * 1e6)
    print(json.dumps({k: round(v, 3) for k, v in result.items()}))
    print(json.dumps(summary))
    print(json.dumps(by_function(profile)))
    wall0 = origin + entered  # the Enter key on the wall clock (ms)
    lines = [json.loads(line) for line in (args.out / "server.jsonl").read_text().splitlines()]
    first = next(
        k for k, e in enumerate(lines) if e["what"] == "backmsg" and e["t"] * 1000 > wall0 - 50
    )
    for e in lines[first:]:
        at = e["t"] * 1000 - wall0
        if at > result["complete"] * 1000 + 100:
            break
        more = {k: v for k, v in e.items() if k not in ("t", "what")}
        print(f"{at:8.1f} ms  {e['what']:12s} {more}")


if __name__ == "__main__":
    main()
