"""The models people know, at their real size: GPT-2 small and BERT-base, next to a floor.

    python bench/models.py           # about 3 minutes on 2 cores
    python bench/models.py --quick   # fewer repeats
    python bench/models.py --quick --bundled-only   # one layer on the bundled model, printed

No download: each model is built at random from a transformers config of the real
shape (12 layers, 12 heads, 768 wide, the real vocabulary's 50257 or 30522 rows),
saved with ``save_pretrained`` to a temp folder with a tokenizer trained as the tests
train theirs (tests/tiny_models.py), and opened with ``attn_core.load_model``. At 256
word pieces it measures (medians):
  every head      ``all_heads``: one numpy pass keeping every layer's hidden states and
                  all 144 heads; floor: transformers' own forward pass with
                  ``output_attentions`` (torch, eager attention) on the same ids
  contextual      ``embed(kind="contextual")``; floor: the bare numpy forward pass
                  (``model.forward(ids)``), the compute it cannot avoid
  next token      ``next_token`` (GPT-2 only); floor: the bare numpy forward pass
  one layer       ``layer``, every stage of one layer (the default, 2, and the last,
                  which runs every layer before it), on the bundled all-MiniLM-L6-v2 with
                  its network open; floor: its bare numpy forward pass
  peak RSS        a fresh process that opens the model and runs all of the above once;
                  floor: a fresh process that imports attn_core, plus the weights file
                  (every page of it is read)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tiny_models: models and tokenizers, no download

import attn_core  # noqa: E402

PIECES = 256
SHAPES = {
    "GPT-2 small": dict(kind="gpt2", table_rows=50257, positions=1024),
    "BERT-base": dict(kind="bert", table_rows=30522, positions=512),
}
TARGETS = {"every head": 2.0, "contextual ratio": 1.2, "rss": 1200, "layer": 0.150}
WORDS = ["the", "cat", "sat", "on", "mat", "and", "dog", "by", "door", "bank", "river", "old"]


def build(kind: str, folder: Path, table_rows: int, positions: int) -> Path:
    from tiny_models import build as build_model

    shape = dict(layers=12, heads=12, width=768, positions=positions)
    return build_model(kind, folder, table_rows=table_rows, init=0.02, **shape)


def text_with_pieces(n: int, model: attn_core.Model) -> str:
    """A text the model reads as exactly ``n`` word pieces, special tokens included."""
    words: list[str] = []
    i = 0
    while len(model.encode(" ".join(words) or "the")[0]) < n:
        candidate = [*words, WORDS[i % len(WORDS)]]
        i += 1
        if len(model.encode(" ".join(candidate))[0]) <= n:
            words = candidate
        if i > 50 * n:
            raise RuntimeError(f"no text of exactly {n} pieces")
    return " ".join(words)


def median_times(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each function, run in interleaved rounds so that a neighbour's
    load on a shared machine falls on all of them alike."""
    for fn in fns.values():
        fn()  # warm-up: the first pass also reads the mapped weights from disk
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def timings(folder: Path, kind: str, repeats: int) -> dict[str, float]:
    import torch
    import transformers as tf

    model = attn_core.load_model(str(folder))
    text = text_with_pieces(PIECES, model)
    ids = model.encode(text)[0]
    assert len(ids) == PIECES, len(ids)
    cls = tf.GPT2Model if kind == "gpt2" else tf.BertModel
    reference = cls.from_pretrained(folder, attn_implementation="eager").eval()
    t = torch.tensor([ids])

    def transformers_forward() -> None:
        with torch.inference_mode():
            reference(input_ids=t, attention_mask=torch.ones_like(t), output_attentions=True)

    fns = {
        "forward": lambda: model.forward(ids),
        "every head": lambda: attn_core.all_heads(text, model=model),
        "contextual": lambda: attn_core.embed(text, kind="contextual", model=model),
        "transformers": transformers_forward,
    }
    if model.causal:
        fns["next token"] = lambda: attn_core.next_token(text, model=model)
    return median_times(fns, repeats)


def bundled_timings(repeats: int) -> dict[str, float]:
    """``layer`` on the bundled model at ``PIECES`` word pieces, beside its forward pass."""
    model = attn_core.load_model().load_network()
    text = text_with_pieces(PIECES, model)
    ids = model.encode(text)[0]
    assert len(ids) == PIECES, len(ids)
    last = model.layers - 1
    return median_times(
        {
            "forward": lambda: model.forward(ids),
            "layer 2": lambda: attn_core.layer(text, 2, model=model),
            f"layer {last}": lambda: attn_core.layer(text, last, model=model),
        },
        repeats,
    )


def bundled_report(times: dict[str, float]) -> list[str]:
    """The bundled model's rows: each layer asked for, against the forward pass."""
    lines = [
        "",
        "| model | measured | time | floor | floor time | ratio | target |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    floor = times["forward"]
    for name, value in times.items():
        if name != "forward":
            lines.append(
                f"| {attn_core.BUNDLED_MODEL} | {name}, every stage | {value * 1000:.0f} ms | "
                f"numpy forward | {floor * 1000:.0f} ms | {value / floor:.2f}× | "
                f"≤ {TARGETS['layer'] * 1000:.0f} ms |"
            )
    return lines


RSS_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {bench!r})
from models import PIECES, attn_core, text_with_pieces
if {open_model!r}:
    m = attn_core.load_model({folder!r})
    text = text_with_pieces(PIECES, m)
    attn_core.all_heads(text, model=m)
    attn_core.embed(text, kind="contextual", model=m)
    if m.causal:
        attn_core.next_token(text, model=m)
# VmHWM, not ru_maxrss: Linux carries a forked parent's peak into ru_maxrss across exec
hwm = [line for line in Path("/proc/self/status").read_text().splitlines() if "VmHWM" in line]
print(int(hwm[0].split()[1]) / 1024)
"""


def peak_rss_mb(folder: Path, open_model: bool) -> float:
    """Peak RSS of a fresh process that imports attn_core (and opens the model, runs it)."""
    code = RSS_SCRIPT.format(bench=str(ROOT / "bench"), folder=str(folder), open_model=open_model)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def weights_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.glob("model.safetensors")) / 2**20


def report(
    results: dict[str, dict], repeats: int, threads: int | None, bundled: dict[str, float]
) -> str:
    lines = [
        f"Measured {dt.date.today()} on {attn_core_machine()}; medians of {repeats} runs, "
        f"{PIECES} word pieces, {threads or 'default'} threads; random weights of the real "
        "shapes (tests/tiny_models.py). Load average at the end (other work on the machine): "
        f"{os.getloadavg()[1]:.1f} over 5 minutes.",
        "",
        "| model | measured | time | floor | floor time | ratio | target |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    for name, r in results.items():
        t = r["times"]
        rows = [
            ("every head", t["every head"], "transformers' forward", t["transformers"], "≤ 2 s"),
            ("every head", t["every head"], "numpy forward", t["forward"], ""),
            ("contextual vectors", t["contextual"], "numpy forward", t["forward"], "≤ 1.2×"),
            ("numpy forward", t["forward"], "transformers' forward", t["transformers"], ""),
        ]
        if "next token" in t:
            rows.append(("next token", t["next token"], "numpy forward", t["forward"], ""))
        for what, value, floor_name, floor, target in rows:
            lines.append(
                f"| {name} | {what} | {value * 1000:.0f} ms | {floor_name} | "
                f"{floor * 1000:.0f} ms | {value / floor:.2f}× | {target} |"
            )
    lines += bundled_report(bundled)
    lines += [
        "",
        "| model | peak RSS | floor: import attn_core + weights file | ratio | target |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        floor = r["bare_rss"] + r["weights_mb"]
        lines.append(
            f"| {name} | {r['rss']:.0f} MB | {r['bare_rss']:.0f} + {r['weights_mb']:.0f} = "
            f"{floor:.0f} MB | {r['rss'] / floor:.2f}× | ≤ 1200 MB |"
        )
    return "\n".join(lines) + "\n"


def attn_core_machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument(
        "--out", type=Path, help="where the report goes (default: bench/models.md; printed "
        "only with --bundled-only)"
    )  # fmt: skip
    parser.add_argument(
        "--bundled-only", action="store_true", help="only one layer on the bundled model"
    )
    parser.add_argument(
        "--threads", type=int, help="BLAS and torch threads (default: the libraries' own)"
    )
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    if args.threads:  # numpy's BLAS and torch alike, for a machine shared with other work
        import torch
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)
    bundled = bundled_timings(repeats)
    print(attn_core.BUNDLED_MODEL, json.dumps(bundled), flush=True)
    if args.bundled_only:
        text = "\n".join(
            [
                f"Measured {dt.date.today()} on {attn_core_machine()}; medians of {repeats} "
                f"runs, {PIECES} word pieces, {args.threads or 'default'} threads. Load "
                f"average at the end: {os.getloadavg()[1]:.1f} over 5 minutes.",
                *bundled_report(bundled),
            ]
        )
        print(text)
        if args.out:
            args.out.write_text(text + "\n")
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        bare = peak_rss_mb(Path(tmp), open_model=False)
        for name, shape in SHAPES.items():
            folder = build(shape["kind"], Path(tmp) / shape["kind"], **{
                k: v for k, v in shape.items() if k != "kind"
            })  # fmt: skip
            results[name] = {
                "times": timings(folder, shape["kind"], repeats),
                "rss": peak_rss_mb(folder, open_model=True),
                "bare_rss": bare,
                "weights_mb": weights_mb(folder),
            }
            print(name, json.dumps(results[name]), flush=True)
    text = report(results, repeats, args.threads, bundled)
    print(text)
    (args.out or ROOT / "bench" / "models.md").write_text(text)


if __name__ == "__main__":
    main()
