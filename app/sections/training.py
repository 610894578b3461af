"""Learnable projections, continued: watch them learn. From the random W_q, W_k above,
gradient steps make W more like a target pattern; a slider replays every saved step."""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import streamlit as st

import attn_core
from app import data, draw, links, memory, state
from app.view import Exports, View
from attn_core import charts, export

KEY = "training"
OBJECTIVE_NAMES = {"previous": "Previous token", "imitate": "Imitate the head"}
LATEST = "latest_training"
"""This viewer's ``(inputs' digest, Replay)``: the latest run only, on the viewer's own
shelf (``data.viewer_shelf``), released when the browser goes."""


@dataclasses.dataclass(frozen=True)
class Replay(attn_core.Training):
    """A training run as a viewer's shelf keeps it, the same numbers in fewer bytes.

    W at each saved step is packed without loss: its float32 bytes grouped by their place
    in the number, then deflated (most weights lie near 0, so their high bytes repeat):
    about a third of the 41 x T x T floats on 256 word pieces of prose, less on repeated
    words. X, the target and the start are not kept: the page has its own at hand, equal
    to them whenever it shows the run (the inputs' digest says so), and ``on`` puts them
    back. ``weights_at`` unpacks one step, the same float32 array as the run's.
    """

    packed: tuple[bytes, ...] = ()

    @classmethod
    def of(cls, run: attn_core.Training) -> Replay:
        t = run.weights.shape[1]
        packed = tuple(
            zlib.compress(np.ascontiguousarray(w.view(np.uint8).reshape(t * t, 4).T), 1)
            for w in run.weights  # (T, T) float32 each
        )
        kept = {f.name: getattr(run, f.name) for f in dataclasses.fields(run)}
        kept.update(x=None, target=None, start=None, weights=np.empty((0, t, t), np.float32))
        return cls(**kept, packed=packed)

    def on(self, x: np.ndarray, target: np.ndarray, start: attn_core.Projections) -> Replay:
        """The run with the page's own X, target and start (those it was trained on)."""
        return dataclasses.replace(self, x=x, target=target, start=start)

    def weights_at(self, step: int) -> np.ndarray:
        if step not in self.saved_steps:
            return super().weights_at(step)  # its message
        t = self.weights.shape[1]
        grouped = zlib.decompress(self.packed[self.saved_steps.index(step)])
        weights = np.frombuffer(grouped, np.uint8).reshape(4, t * t).T.copy()  # (T·T, 4)
        weights = weights.view(np.float32).reshape(t, t)  # (T, T)
        weights.flags.writeable = False
        return weights


def render(view: View, exports: Exports) -> None:
    training(view.emb, view.x, view.labels, exports, view.palette("weights"))


def target_for(settings, emb: attn_core.Embedding, n: int) -> np.ndarray:
    """The pattern training aims for, on the page's tokens."""
    if settings["objective"] == "previous":
        return attn_core.previous_token_target(n)
    layer, head = int(settings["layer"]), int(settings["head"])
    head = data.get_head(emb.text, layer, head, str(settings["model"]))
    return attn_core.pool_attention(head.weights, emb.pieces)


@st.fragment(key=KEY)
def training(
    emb: attn_core.Embedding, x: np.ndarray, labels: list[str], exports: Exports, palette: str
) -> None:
    """Train W_q, W_k from the random start towards a target; replay it step by step."""
    shelf = exports.shelf(KEY)
    st.subheader("Watch projections learn", anchor=False)
    st.caption(
        "Start from the random W_q and W_k set above (seed, d_k, initialisation) and take "
        "gradient steps that make W more like a target, measured by the KL divergence of "
        "each row. W_v is not trained: neither target looks at the output."
    )
    # Each control changes which charts are on screen: the export list follows.
    follow = {"on_change": state.rerun, "args": (KEY,)}
    row = st.container(horizontal=True, vertical_alignment="bottom")
    with row:
        objective = draw.pick_one("Target", OBJECTIVE_NAMES, key="objective", **follow)
    row.select_slider("Steps", links.TRAIN_STEPS, key="train_steps", **follow)
    row.select_slider("Learning rate", links.LEARNING_RATES, key="rate", **follow)
    settings = state.current()  # this fragment reruns alone when its own controls move
    target = target_for(settings, emb, len(labels))
    start = attn_core.start_projections(x.shape[1], settings)
    steps, rate = int(settings["train_steps"]), float(settings["rate"])
    key = data.digest(x, target, start.w_q, start.w_k, steps, rate)
    train = row.button(
        "Train",
        icon=":material/play_arrow:",
        type="primary",
        key="train",
        on_click=state.rerun,
        args=(KEY,),
    )
    if train:
        try:
            run = Replay.of(train_now(x, target, start, steps, rate))
            data.viewer_shelf()[LATEST] = (key, run)
        except memory.Declined as declined:
            st.warning(str(declined), icon=":material/memory:")
    what = "look at the previous token"
    if objective == "imitate":
        what = f"imitate layer {settings['layer']}, head {settings['head']}"
    last_key, run = data.viewer_shelf().get(LATEST, (None, None))
    if last_key != key:
        st.info(f"Press Train to learn to {what}, from the random start.", icon=":material/school:")
        chart = target_chart(target, labels, palette)
        draw.chart(st, "Training target", chart, shelf, width="content")
    else:
        show_run(run.on(x, target, start), labels, what, shelf, palette)
    repeats = len(set(emb.token_ids)) < len(emb.token_ids)
    static = settings["kind"] == "static" and settings["mode"] != "real"
    if objective == "previous" and static and repeats:
        st.caption(
            "A repeated token has one static vector, so its copies cannot look at "
            "different previous tokens: the loss stops above 0. Contextual vectors, or a "
            "trained head's input, carry each token's position."
        )
    state.sync_url()


def train_now(
    x: np.ndarray, target: np.ndarray, start: attn_core.Projections, steps: int, rate: float
) -> attn_core.Training:
    """One training run with a progress bar, if the server has the memory for it."""
    t, d = x.shape
    with memory.heavy(
        memory.training_cost(t, d, start.d_k),
        f"train projections at d_k {start.d_k}",
        "A smaller d_k or a shorter text needs less.",
        data.shrink_caches,
    ):
        bar = st.progress(0.0, text="Training…")

        def on_step(done: int, total: int) -> None:
            if done % 10 == 0 or done == total:
                bar.progress(done / total, text=f"Training: step {done} of {total}")

        run = attn_core.train_projections(
            x, target, start, steps=steps, learning_rate=rate, on_step=on_step
        )
        bar.empty()
    return run


def show_run(
    run: attn_core.Training, labels: list[str], what: str, shelf: dict, palette: str
) -> None:
    """The loss curve, and W at any saved step beside the target."""
    if st.session_state.get("train_at") not in run.saved_steps:
        st.session_state["train_at"] = run.steps
    at = st.select_slider(
        "Show W after step", run.saved_steps, key="train_at", help="Drag back to step 0."
    )
    st.caption(
        f"Learning to {what}: the loss went from {run.losses[0]:.3f} at the random start to "
        f"{run.losses[-1]:.3f} after {run.steps} steps (0 would be the target exactly)."
    )
    curve, now, goal = st.columns(3)
    draw.chart(
        curve,
        "Training loss",
        data.chart(charts.loss_curve, run.losses, at=at, title="Loss", height=250),
        shelf,
        width="stretch",
    )
    size = draw.token_square(labels)
    draw.chart(
        now,
        "W during training",
        data.chart(
            charts.heatmap,
            run.weights_at(at),
            labels,
            labels,
            palette=palette,
            domain=(0.0, 1.0),
            title=f"W after step {at}",
            value_title="w_ij",
            height=size,
            legend="bottom",
        ),
        shelf,
        width="content",
    )
    chart = target_chart(run.target, labels, palette, size)
    draw.chart(goal, "Training target", chart, shelf, width="content")
    draw.offer(
        st,
        "Trained W_q, W_k, W_v (.npz)",
        lambda: export.training_npz(run, labels),
        "trained-projections.npz",
        "model_training",
        key="export_trained",
    )
    st.caption(
        "In a notebook: `p = attn_core.load_projections(path)`, then "
        "`attn_core.self_attention(x, p)`; the file also holds the loss curve and the target."
    )


def target_chart(target: np.ndarray, labels: list[str], palette: str, size: int = 250) -> dict:
    return data.chart(
        charts.heatmap,
        target,
        labels,
        labels,
        palette=palette,
        domain=(0.0, 1.0),
        title="Target",
        value_title="p_ij",
        height=size,
        legend="bottom",
    )
