"""Session state, the address bar, and the controls that steer the whole page (the sidebar
and the presentation's step bar).

Every setting lives in ``st.session_state`` under its link key (``app.links``). The address
bar is written by hand rather than with widgets' ``bind="query-params"``: a bound widget
resets an out-of-range value to its default without a word (``links`` clamps it to the
nearest allowed value and says so), it keeps its parameter only while it is drawn
(presentation mode draws one step's controls), and its default cannot depend on the mode.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from urllib.parse import urlencode

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

import attn_core
from app import components, data, links, models
from app.view import Exports, Reading, View

MODE_NAMES = {
    "free": "Parameter-free (X Xᵀ)",
    "learnable": "Learnable projections (random)",
    "real": "A trained head of the model",
}
PALETTE_NAMES = {"standard": "Standard", "safe": "Colour-blind safe"}
EXPORTS_KEY = "exports"
"""The export section's fragment key: fragments that change their charts rerun it too."""
LAYERS = "model.layers"
"""Session state: how many layers the model on show has (``fit_to``)."""
ATTENTION_KEY = "attention"
"""The key of the fragment that draws steps 3-10 (``dashboard.attention``)."""


def init() -> None:
    """On a session's first run, and after Back or Forward: the defaults, then whatever the
    address carries, validated.

    On later runs, re-assert every setting: Streamlit forgets the value of a widget that a
    run does not draw, and presentation mode draws only one section's controls.
    """
    if "notices" in st.session_state and not history_navigation():
        # A fragment's run can drop the value of a widget it did not draw: then the default.
        defaults = links.defaults_for(st.session_state.get("mode", links.DEFAULTS["mode"]))
        for key, default in defaults.items():
            st.session_state[key] = st.session_state.get(key, default)
        return
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    values, notices = links.from_query(params)
    if "notices" in st.session_state:  # Back or Forward: keep what no address can carry
        values = {k: v for k, v in current().items() if not links.fits_in_link({k: v})} | values
    mode = values.get("mode", links.DEFAULTS["mode"])
    for key, value in {**links.defaults_for(mode), **values}.items():
        st.session_state[key] = value
    if "notices" not in st.session_state and came_back():
        notices.append(MOVED)
    st.session_state["notices"] = notices


MOVED = (
    "The server this page was on went away, so the page reconnected to another one and "
    "started again from its address: the same view, but a text too long for a link, or a "
    "training run, stayed behind."
)


def came_back() -> bool:
    """Whether this new session's browser had a session before, which this server does not
    hold: a replica that went away, a restart. Its websocket names that old session
    (Streamlit's reconnect: the third entry of ``Sec-WebSocket-Protocol``); a page that is
    opened or reloaded names none."""
    protocols = (st.context.headers.get("Sec-Websocket-Protocol") or "").split(",")
    return len(protocols) >= 3 and bool(protocols[2].strip())


def history_navigation() -> bool:
    """Whether this run follows the browser's Back or Forward: then the address it restored
    is the view to show, read as a link is (instead of written over by the view before)."""
    ctx = get_script_run_ctx()
    return bool(ctx and ctx.is_history_navigation and not ctx.fragment_ids_this_run)


def current() -> dict[str, object]:
    """Every setting's value now."""
    return {key: st.session_state.get(key) for key in links.DEFAULTS}


def linked() -> dict[str, object]:
    """The settings as a link carries them: rollout through the model's last layer is the
    default, whatever the model (``links.MAX_LAYERS``)."""
    values = current()
    if values["up_to"] is not None and values["up_to"] >= st.session_state.get(LAYERS, 0):
        values["up_to"] = links.DEFAULTS["up_to"]
    return values


def sync_url(*, page_end: bool = False) -> None:
    """Keep the address bar equal to the view on screen (defaults left out).

    Called at the end of every fragment (a fragment reruns alone) and, with ``page_end``,
    of the whole page: in a run of the whole page the fragments leave it to the page, which
    writes it once. It writes only when the address would change.
    """
    if not page_end and not fragments_only():
        return
    query = links.to_query(linked())
    if query != st.query_params.to_dict():
        st.query_params.from_dict(query)


def fragments_only() -> bool:
    """Whether this run reruns fragments alone, not the whole page."""
    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def view_now(reading: Reading, exports: Exports | None = None) -> View:
    """Attention of ``reading`` under the settings now, and, given ``exports``, noted there
    as the one on screen: the one way a step gets the view it shows.

    A step that follows W is a fragment that reruns alone when W's settings move, and a
    fragment rerun gets the arguments of the run that first drew it, so it asks anew.
    """
    view = reading.view(current())
    return view if exports is None else exports.showing(view)


def rerun(*keys: str) -> None:
    """A control's callback: rerun the fragments ``keys``, and the export list after them
    (where it is on screen), so the list still names exactly the charts on screen."""
    st.rerun(list(keys) if st.session_state["present"] else [*keys, EXPORTS_KEY])


def mode_changed() -> None:
    """Each mode starts from its own defaults: 1/√d scaling and the training target."""
    defaults = links.defaults_for(st.session_state["mode"])
    for key in ("scale", "objective"):
        st.session_state[key] = defaults[key]


def reroll() -> None:
    st.session_state["seed"] = secrets.randbelow(10_000)


def go_to_step(step: int) -> None:
    st.session_state["step"] = min(max(step, 1), links.STEPS)


def turn_page() -> None:
    """The clicker's callback: one step on or back from the step on screen."""
    turn = (st.session_state.get("clicker") or {}).get("turn")
    if turn in ("next", "previous"):
        go_to_step(int(st.session_state["step"]) + (1 if turn == "next" else -1))


def open_model() -> tuple[attn_core.Model, str | None]:
    """The model chosen, opened, and ``None``; or, where it cannot open, the bundled model
    and the message why (the choice goes back to the bundled model)."""
    opened = data.open_model(str(st.session_state["model"]))
    if isinstance(opened, attn_core.Model):
        return opened, None
    st.session_state["model"] = links.DEFAULTS["model"]
    return data.get_model(), opened


def fit_to(model: attn_core.Model) -> None:
    """Settings the model on show cannot take, made ones it can: a layer or head past its
    last, and a decoder's trained head, which always sees only the tokens before each."""
    layers, heads = model.shape
    for key, count in (("layer", layers), ("head", heads)):
        st.session_state[key] = min(int(st.session_state[key]), count - 1)
    st.session_state["up_to"] = min(int(st.session_state["up_to"]), layers)
    st.session_state[LAYERS] = layers
    if model.causal and st.session_state["mode"] == "real":
        st.session_state["causal"] = True


def model_changed() -> None:
    """A new model starts its trained head at layer 0, head 0."""
    st.session_state["layer"] = st.session_state["head"] = 0


def sidebar(contents: Sequence[tuple[str, str]], model: attn_core.Model) -> None:
    """Model, mode, layer and head, colours, presentation mode, the contents (key, title)
    and a link."""
    layers, heads = model.shape
    with st.sidebar:
        st.selectbox(
            "Model",
            list(models.offered()),
            key="model",
            on_change=model_changed,
            help="The bundled model runs with no network. The others are this server's own "
            "folders and the hub's best-known models, downloaded once where a network is.",
        )
        st.radio(
            "Attention",
            list(MODE_NAMES),
            format_func=MODE_NAMES.get,
            key="mode",
            on_change=mode_changed,
        )
        st.caption(
            "Parameter-free: scores are X Xᵀ, as in the walkthrough. Learnable: scores are "
            "Q Kᵀ with random W_q, W_k, W_v (settings in section 8). Trained head: the W_q, "
            f"W_k, W_v that {model.name} learnt, for the layer and head below."
        )
        row = st.container(horizontal=True)
        row.selectbox("Layer", range(layers), key="layer")
        row.selectbox(
            "Head",
            range(heads),
            key="head",
            help="Shown in the trained-head mode, and the pattern that training imitates "
            "in section 8.",
        )
        st.radio(
            "Colours",
            links.PALETTES,
            format_func=PALETTE_NAMES.get,
            key="palette",
            horizontal=True,
            help="Colour-blind safe: cividis for weights and purple-orange for signed values, "
            "which stay apart for every common colour-vision deficiency.",
        )
        st.toggle(
            "Presentation mode",
            key="present",
            help="One step at a time, in large type, for a projector. Page Down and Page Up "
            "(what most presentation clickers send) move between steps.",
        )
        if not st.session_state["present"]:  # one element: a line a step
            st.markdown("  \n".join(f"[{title}](#{key})" for key, title in contents))
        share_link()
        components.PAGE(key="page_keys")  # scrolling regions reachable by keyboard


def share_link() -> None:
    """A button that shows a copyable link to exactly this view."""
    if st.button("Link to this view", icon=":material/link:", key="share"):
        query = links.to_query(linked())
        base = (st.context.url or "").split("?", 1)[0]
        st.code(f"{base}?{urlencode(query)}" if query else base or "/", language=None)
        if not links.fits_in_link(current()):
            st.caption(
                f"A link carries at most {links.MAX_TEXT} characters of text: "
                "this text is too long, so the link leaves it out."
            )


def step_bar(step: int) -> None:
    """Previous / where we are / next, at the top of a presentation."""
    back, here, forward = st.columns([1, 4, 1], vertical_alignment="center")
    back.button(
        "Previous",
        icon=":material/arrow_back:",
        on_click=go_to_step,
        args=(step - 1,),
        disabled=step == 1,
        key="previous_step",
        width="stretch",
    )
    here.progress(step / links.STEPS, text=f"Step {step} of {links.STEPS}")
    forward.button(
        "Next",
        icon=":material/arrow_forward:",
        on_click=go_to_step,
        args=(step + 1,),
        disabled=step == links.STEPS,
        key="next_step",
        width="stretch",
        type="primary",
    )
    components.CLICKER(key="clicker", on_turn_change=turn_page)
