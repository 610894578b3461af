"""A new text, typed and sent with Ctrl+Enter, timed in a real browser beside its floor.

    python bench/newtext.py                     # 16 and 256 word pieces, 5 texts each
    python bench/newtext.py --texts 7 --root /tmp/a --root /tmp/b   # interleaved A/B
    python bench/newtext.py --page first-steps  # steps 1 and 4 alone (bench/first_steps.py)

For each size, a first text of that length (untimed), then ``--texts`` more of the same
length, typed into the text area and sent with Ctrl+Enter. On the page's own clock, from
the Enter key to: the message sent; the script running and finished (the page's flag);
**tokens + W**, the token strip showing the new pieces and step 4's map of W laid out and
painted for them (its row names are the new tokens; it paints in the same task); and
**complete**, the page's last visible change (DOM, or a paint into any canvas) once the
script has finished, nothing is stale, no skeleton is left, Y and the comparison are drawn
for the text and nothing has changed for QUIET_MS. Beside them, the floor for the same
texts: the default page's own compute (``attn_core.embed``, static vectors, then
``self_attention`` without and with the random projections) and ``bench/run.py``'s (with
the forward pass and PCA); the server's CPU per text; the renderer's busy time (CDP
``Performance.getMetrics``). Also presentation mode on step 1 (the text and its tokens) and
a 390 px phone (3 device pixels a pixel, touch) with the CPU throttled 4x. Several
``--root`` copies of the repository are served side by side and measured in turn (ABBA).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import serve  # noqa: E402
from run import floor as run_floor  # noqa: E402
from run import median_time  # noqa: E402
from serve import CHROMIUM_FLAGS, cpu_seconds, free_port, start_server, wait_healthy  # noqa: E402
from texts import WORDS  # noqa: E402

import attn_core  # noqa: E402
from attn_core.charts.base import token_labels  # noqa: E402

SIZES, QUIET_MS = (16, 256), 500

WATCH = """(() => {
  const nt = (window.__nt = { expect: null });
  const now = () => performance.now();
  const drawn = () => { window.__last = now(); };
  drawn();
  const context = CanvasRenderingContext2D.prototype;
  for (const name of ["fillRect", "fillText", "drawImage", "fill", "stroke", "putImageData"]) {
    const paint = context[name];
    context[name] = function (...args) { drawn(); return paint.apply(this, args); };
  }
  const unseen = /^(tabindex|role|aria-label|data-scroll-focus)$/; // keyboard access only
  const shown = (r) => {
    if (r.type === "attributes" && unseen.test(r.attributeName)) return false;
    const node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    return !(node && node.closest("[data-testid=stDataFrame] table"));
  };
  new MutationObserver((rs) => { if (rs.some(shown)) drawn(); })
    .observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  window.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !e.ctrlKey || !nt.expect || nt.input != null) return;
    nt.input = now();
    performance.mark("nt-input");
  }, true);
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        if (nt.input == null) return;
        nt.received ??= now();
        nt.messages = (nt.messages || 0) + 1;
        nt.bytes = (nt.bytes || 0) + (e.data.byteLength || e.data.size || 0);
      });
    }
    send(data) { if (nt.input != null) nt.sent ??= now(); return super.send(data); }
  };
  new MutationObserver(() => {
    if (nt.input == null) return;
    const app = document.querySelector("[data-testid=stApp]");
    const state = app?.getAttribute("data-test-script-state");
    if (state === "running") nt.running ??= now();
    else if (nt.running != null) nt.finished ??= now();
  }).observe(document, {
    subtree: true, attributes: true, attributeFilter: ["data-test-script-state"],
  });
  const hosts = "[data-testid=stBidiComponentIsolated]";
  const roots = () => [
    document, ...[...document.querySelectorAll(hosts)].map((h) => h.shadowRoot).filter(Boolean),
  ];
  const rowNames = (selector) => {
    for (const root of roots()) {
      const node = root.querySelector(selector);
      if (node) return [...node.querySelectorAll("g.axis.y text")].map((t) => t.textContent);
    }
    return null;
  };
  // The row names a map shows (every k-th token, maybe cut short with "…") are these labels.
  const names = (shown, labels) => {
    if (!shown || !shown.length) return false;
    for (let every = 1; every <= labels.length; every++) {
      if (Math.ceil(labels.length / every) !== shown.length) continue;
      const fits = (s, k) => s === labels[k * every] ||
        (s.endsWith("…") && labels[k * every].startsWith(s.slice(0, -1)));
      if (shown.every(fits)) return true;
    }
    return false;
  };
  const PARTS = { w: ".weights-map", y: ".w-output", comparison: ".w-comparison .panel" };
  let seen = 0; // the last change looked at: nothing to look for until the page changes
  const frame = () => {
    const e = nt.expect;
    if (e && nt.input != null && window.__last > seen) {
      seen = window.__last;
      const at = now();
      if (nt.tokens == null) {
        const code = document.querySelector("[data-testid=stCode]");
        if (code && code.innerText.replace(/\\s+/g, " ").trim() === e.strip) nt.tokens = at;
      }
      for (const part of e.parts) {
        if (part === "tokens" || nt[part] != null) continue;
        if (names(rowNames(PARTS[part]), e.labels)) nt[part] = at;
      }
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})()"""
"""On the page: ``window.__nt``, the times (``performance.now()``) of one new text's input,
first message sent and received, script running and finished, and of each part drawn for
it; ``window.__last``, the page's last visible change."""

COMPLETE = """(quiet) => {
  const nt = window.__nt;
  const app = document.querySelector("[data-testid=stApp]");
  const ran = nt.finished != null || (nt.running == null && nt.received != null);
  return ran && nt.expect.parts.every((p) => nt[p] != null)
    && app.getAttribute("data-test-script-state") === "notRunning"
    && !document.querySelector(
      '[data-stale="true"], [data-testid=stSkeleton], [data-testid=stAppSkeleton]')
    && performance.now() - window.__last > quiet;
}"""
METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def texts_of(n: int, count: int, model) -> list[str]:
    """``count`` different texts of exactly ``n`` word pieces, [CLS] and [SEP] included."""
    texts = []
    for r in range(count):
        text = " ".join(WORDS[(i + 3 * r) % len(WORDS)] for i in range(n - 2))
        emb = attn_core.embed(text, model=model)
        assert len(emb.tokens) == n and not emb.truncated, (n, len(emb.tokens))
        texts.append(text)
    return texts


def page_floor(text: str, model, repeats: int = 7) -> float:
    """The default page's own compute for a text: static vectors, W without and with the
    random projections (d_k 64, seed 0)."""

    def work() -> None:
        x = attn_core.embed(text, kind="static", model=model).vectors
        attn_core.self_attention(x)
        attn_core.self_attention(x, attn_core.random_projections(x.shape[1], 64, seed=0))

    work()
    return median_time(work, repeats)


def expectation(text: str, model, parts: tuple[str, ...]) -> dict:
    tokens = attn_core.embed(text, model=model).tokens
    return {"strip": " · ".join(tokens), "labels": token_labels(tokens), "parts": list(parts)}


def new_text(page, pid: int, text: str, expect: dict, cdp) -> dict:
    """Type ``text``, send it with Ctrl+Enter, wait for the page complete: the times (s)
    from the Enter key to each mark, the server's CPU and the renderer's busy time."""
    quiet = f"() => performance.now() - window.__last > {QUIET_MS}"
    page.wait_for_function(quiet, timeout=120_000, polling=50)
    box = page.get_by_label("Text", exact=True)
    box.fill(text)
    page.wait_for_function(quiet, timeout=120_000, polling=50)
    page.evaluate("e => { for (const k in __nt) delete __nt[k]; __nt.expect = e; }", expect)
    before = metrics(cdp)
    cpu = cpu_seconds(pid)
    box.press("Control+Enter")
    page.wait_for_function(COMPLETE, arg=QUIET_MS, timeout=300_000, polling=25)
    spent = cpu_seconds(pid) - cpu
    after = metrics(cdp)
    nt = page.evaluate("() => ({ ...window.__nt, last: window.__last })")
    start = nt["input"]
    out = {p: (nt[p] - start) / 1000 for p in expect["parts"]}
    out["first"] = max(out[p] for p in ("tokens", "w") if p in out)
    out["complete"] = max((nt["last"] - start) / 1000, *out.values())
    for k in ("sent", "received", "running", "finished"):  # a short run may never show these
        out[k] = (nt[k] - start) / 1000 if nt.get(k) is not None else out["complete"]
    out["cpu"] = round(spent, 3)
    out["messages"], out["bytes"] = nt.get("messages", 0), nt.get("bytes", 0)
    out.update({k: after[k] - before[k] for k in before})
    return out


def metrics(cdp) -> dict:
    return {
        m["name"]: m["value"]
        for m in cdp.send("Performance.getMetrics")["metrics"]
        if m["name"] in METRICS
    }


def open_page(browser, url: str, query: dict | None = None, phone: bool = False):
    """A fresh page on ``url`` watched by ``WATCH``, ready, and its CDP session."""
    phone_size = {"device_scale_factor": 3, "is_mobile": True, "has_touch": True}
    context = browser.new_context(
        viewport={"width": 390, "height": 844} if phone else {"width": 1400, "height": 1000},
        **(phone_size if phone else {}),
    )
    page = context.new_page()
    page.add_init_script(WATCH)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    if phone:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    page.goto(url + ("/?" + urllib.parse.urlencode(query) if query else ""))
    page.get_by_label("Text", exact=True).wait_for(timeout=300_000)
    page.locator("[data-testid=stCode]").first.wait_for(timeout=300_000)
    return page, cdp


def run_texts(pages: dict, texts: list[str], model, parts) -> dict[str, list[dict]]:
    """The first text untimed, then each of the rest on every page in turn (ABBA)."""
    results = {name: [] for name in pages}
    names = list(pages)
    for name in names:
        page, cdp, pid = pages[name]
        new_text(page, pid, texts[0], expectation(texts[0], model, parts), cdp)
    for r, text in enumerate(texts[1:]):
        expect = expectation(text, model, parts)
        for name in names if r % 2 == 0 else names[::-1]:
            page, cdp, pid = pages[name]
            results[name].append(new_text(page, pid, text, expect, cdp))
    return results


def med(rows: list[dict], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def table(label: str, rows: list[dict], floors: tuple[float, float], n: int) -> str:
    """The table's line for ``rows`` (each text's times printed first)."""
    for row in rows:
        print("   ", {k: round(v, 3) for k, v in row.items()})
    page_f, run_f = floors
    cells = [label, str(n), f"{page_f * 1000:.1f}", ms(run_f)]
    cells += [ms(med(rows, key)) for key in ("sent", "running", "finished")]
    for key in ("first", "complete"):
        t = med(rows, key)
        cells += [ms(t), f"{t / page_f:.0f}×", f"{t / run_f:.1f}×"] if key in rows[0] else ["–"] * 3
    cells.append(ms(med(rows, "cpu")))
    cells += [f"{med(rows, k) * 1000:.0f}" if k in rows[0] else "–" for k in METRICS]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| page | pieces | floor: page (ms) | floor: run.py (ms) | sent | script running"
    " | script finished | tokens + W | ÷ page floor | ÷ run.py floor | complete"
    " | ÷ page floor | ÷ run.py floor | server CPU | renderer busy | script | layout"
    " | style |\n" + "|---|" + "---:|" * 18
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5, help="timed texts of each size")
    parser.add_argument("--root", action="append", type=Path, help="a copy to serve (repeat)")
    parser.add_argument("--skip", nargs="*", default=(), choices=("present", "phone"))
    parser.add_argument(
        "--page",
        choices=("whole", "first-steps"),
        default="whole",
        help="first-steps: steps 1 and 4 alone (bench/first_steps.py), tokens + W only",
    )
    args = parser.parse_args()
    first_steps = args.page == "first-steps"
    roots = args.root or [ROOT]
    from playwright.sync_api import sync_playwright

    model = attn_core.load_model()
    texts = {n: texts_of(n, args.texts + 1, model) for n in SIZES}
    load, servers, urls, lines = [os.getloadavg()[0]], {}, {}, [HEADER]
    for k, root in enumerate(roots):
        name = f"{chr(65 + k)}:{root.name}" if len(roots) > 1 else "page"
        script = "bench/first_steps.py" if first_steps else "dashboard.py"
        servers[name] = start_server_in(root, port := free_port(), script)
        urls[name] = f"http://127.0.0.1:{port}"
    try:
        for name, url in urls.items():
            wait_healthy(url, server=servers[name])
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS
            )
            whole = ("tokens", "w", "y", "comparison")
            runs = [("whole page", {}, False, whole)]
            if first_steps:
                runs = [("steps 1 and 4 alone", {}, False, ("tokens", "w"))]
            elif "present" not in args.skip:
                runs.append(("presentation, step 1", {"present": 1, "step": 1}, False, ("tokens",)))
            if "phone" not in args.skip and not first_steps:
                runs.append(("phone, CPU ÷4", {}, True, whole))
            for label, query, phone, parts in runs:
                pages = {}
                for name, url in urls.items():
                    page, cdp = open_page(browser, url, query, phone)
                    pages[name] = (page, cdp, servers[name].pid)
                for n in SIZES if not phone else SIZES[:1]:
                    got = run_texts(pages, texts[n], model, parts)
                    floors = (
                        statistics.median(page_floor(t, model) for t in texts[n][1:]),
                        statistics.median(run_floor(t, model, 3) for t in texts[n][1:]),
                    )
                    load.append(os.getloadavg()[0])
                    for name, rows in got.items():
                        where = label if len(roots) == 1 else f"{label}, {name}"
                        lines.append(table(where, rows, floors, n))
                        print(lines[-1], flush=True)
                for page, _, _ in pages.values():
                    page.context.close()
            browser.close()
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=30)
    print()
    print(
        f"Load average (1 min) during the run: {min(load):.1f}-{max(load):.1f} on "
        f"{os.cpu_count()} cores; medians of {args.texts} texts; times in ms from the Enter key."
    )
    print("\n".join(lines))


def start_server_in(root: Path, port: int, script: str = "dashboard.py"):
    """``serve.start_server`` for ``script`` in the copy of the repository at ``root``."""
    serve.ROOT, old = root, serve.ROOT  # start_server runs the page where serve.ROOT says
    try:
        return start_server(port, script)
    finally:
        serve.ROOT = old


if __name__ == "__main__":
    main()
