"""Files to take away: charts as PNG and SVG, matrices as CSV and NPZ, a JSON snapshot.

A snapshot holds a view's settings and its results; ``reproduce`` recomputes the same
numbers from the settings alone, so a notebook can pick up where the page left off.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from xml.sax.saxutils import escape

import numpy as np

from attn_core.attention import AttentionResult
from attn_core.embeddings import Embedding, Head, embed, model_head
from attn_core.model import Model
from attn_core.projections import Projections
from attn_core.settings import DEFAULTS, attention_for, defaults_for
from attn_core.training import Training

SNAPSHOT_FORMAT = "attn_core.snapshot/1"
COMPUTE_SETTINGS = (
    *("text", "kind", "special", "merge"),
    *("mode", "scale", "temperature", "causal", "seed", "d_k", "init", "layer", "head"),
)
"""The settings that decide the numbers (the rest only change how they are shown)."""


FILE_WIDTH = 800
"""Width in pixels of a chart that stretches on the page, when drawn into a file."""


def chart_png(spec: Mapping, *, scale: float = 3.0) -> bytes:
    """A Vega-Lite spec drawn as PNG; ``scale`` 3 gives slide-sharp images."""
    import vl_convert

    return vl_convert.vegalite_to_png(json.dumps(_sized(spec)), scale=scale)


def chart_svg(spec: Mapping) -> str:
    """A Vega-Lite spec drawn as SVG, with what the chart shows (its ``description``, one
    sentence) as the SVG's ``<desc>``, where a screen reader finds it."""
    import vl_convert

    svg = vl_convert.vegalite_to_svg(json.dumps(_sized(spec)))
    said = spec.get("description")
    if not said:
        return svg
    opened = svg.index(">", svg.index("<svg")) + 1  # just inside the root element
    return f"{svg[:opened]}<desc>{escape(said)}</desc>{svg[opened:]}"


def _sized(spec: Mapping) -> dict:
    from attn_core.charts import json_ready  # Altair stays out of ``import attn_core``

    # On the page a stretching chart takes the column's width; a file needs a number.
    return {"width": FILE_WIDTH, **json_ready(dict(spec))}


def matrix_csv(matrix: np.ndarray, row_labels: list[str], col_labels: list[str] | None) -> str:
    """A matrix as CSV: a header of column labels (or dimension numbers), one labelled row each.

    Numbers are written with ``repr`` precision, so reading them back gives the same floats.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if len(row_labels) != matrix.shape[0]:
        raise ValueError(f"{len(row_labels)} row labels for a matrix of shape {matrix.shape}")
    header = col_labels if col_labels is not None else [f"dim {j}" for j in range(matrix.shape[1])]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["token", *header])
    for label, row in zip(row_labels, matrix, strict=True):
        writer.writerow([label, *(repr(float(v)) for v in row)])
    return buffer.getvalue()


def matrices_npz(matrices: Mapping[str, np.ndarray], tokens: list[str]) -> bytes:
    """All matrices in one ``.npz``, with the tokens under ``tokens``."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, tokens=np.array(tokens, dtype=str), **dict(matrices))
    return buffer.getvalue()


def result_matrices(res: AttentionResult) -> dict[str, np.ndarray]:
    """The named matrices of a result: X, W', W, Y, and Q, K, V when projected."""
    named = {"X": res.x, "W_prime": res.scores, "W": res.weights, "Y": res.output}
    if res.projected:
        named |= {"Q": res.q, "K": res.k, "V": res.v}
    return named


def snapshot(view: Mapping[str, object], emb: Embedding | Head, res: AttentionResult) -> dict:
    """A JSON-ready record of the settings that decide the numbers, and the numbers.

    ``emb`` gives the tokens: an ``Embedding``, or in ``real`` mode the ``Head``.
    """
    settings = {**defaults_for(view.get("mode", DEFAULTS["mode"])), **view}
    return {
        "format": SNAPSHOT_FORMAT,
        "model": emb.model_name,
        "settings": {key: settings[key] for key in COMPUTE_SETTINGS},
        "tokens": list(emb.tokens),
        "n_dropped": emb.n_dropped,
        "results": {name: m.tolist() for name, m in result_matrices(res).items()},
    }


def reproduce(record: Mapping | str, *, model: Model | str | None = None):
    """Recompute a snapshot's numbers from its settings.

    Parameters
    ----------
    record : dict or str
        A snapshot, or its JSON text.
    model : Model or str, optional
        As for ``embed``; by default the bundled model.

    Returns
    -------
    (Embedding, AttentionResult), or (Head, AttentionResult) for a trained head (``real``)
    """
    if isinstance(record, str):
        record = json.loads(record)
    if record.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"not a snapshot: format must be {SNAPSHOT_FORMAT!r}")
    settings = {**defaults_for(record["settings"].get("mode")), **record["settings"]}
    if settings["mode"] == "real":
        head = model_head(
            settings["text"], layer=int(settings["layer"]), head=int(settings["head"]), model=model
        )
        return head, attention_for(head.hidden, settings, head=head.projections)
    emb = embed(
        settings["text"],
        kind=settings["kind"],
        model=model,
        special_tokens=bool(settings["special"]),
        merge_subwords=bool(settings["merge"]),
    )
    return emb, attention_for(emb.vectors, settings)


def training_npz(run: Training, tokens: list[str]) -> bytes:
    """A training run's projections (start and trained), target, tokens and loss curve.

    ``load_projections`` reads the trained projections back.
    """
    arrays = {
        "w_q": run.trained.w_q,
        "w_k": run.trained.w_k,
        "w_v": run.trained.w_v,
        "w_q_start": run.start.w_q,
        "w_k_start": run.start.w_k,
        "x": run.x,
        "target": run.target,
        "losses": run.losses,
        "saved_steps": np.array(run.saved_steps),
        "learning_rate": np.array(run.learning_rate),
    }
    for name in ("b_q", "b_k", "b_v"):
        if getattr(run.trained, name) is not None:
            arrays[name] = getattr(run.trained, name)
    return matrices_npz(arrays, tokens)


def load_projections(file) -> Projections:
    """Projections from a ``.npz`` with ``w_q``, ``w_k``, ``w_v`` (and optional biases).

    ``file`` is a path or a file object, such as what ``training_npz`` wrote.
    """
    with np.load(file) as data:
        missing = {"w_q", "w_k", "w_v"} - set(data.files)
        if missing:
            raise ValueError(f"not a projections file: {', '.join(sorted(missing))} missing")
        biases = {b: data[b] for b in ("b_q", "b_k", "b_v") if b in data.files}
        return Projections(
            w_q=data["w_q"], w_k=data["w_k"], w_v=data["w_v"], init="loaded", **biases
        )
