"""What one run of the page hands to its sections: the inputs, the results, the exports.

Streamlit imports this module once per process and runs every viewer's session in a
thread of its own: each run makes its own ``Reading``, ``View`` and ``Exports`` and passes
them down. The one thing shared is attention itself (``kept_attention``), kept by what it is
computed from, as a cache is, never by whose page asked.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import streamlit as st

import attn_core
from attn_core.charts.base import palette_for

ATTENTION_SETTINGS = ("mode", "scale", "temperature", "causal", "seed", "d_k", "init")
"""What attention reads of a reading's settings (``attn_core.attention_for``)."""
ATTENTION_KEPT_BYTES = 32 * 2**20
"""Attention kept for every viewer together, the most recently used first: both kinds for
about five pages at 256 tokens and d_k 384, for hundreds at a sentence's length."""


class Kept:
    """Both kinds of attention by what they are computed from (X, the projections and the
    settings attention reads), shared by every session and bounded in bytes.

    Streamlit keeps each fragment's arguments for as long as its page is open, so a view
    held there keeps no attention of its own: it asks here, and finds it computed once for
    every step of a run and for a rerun that changes only what is shown (every head, the
    map, training). A page whose attention went to make room computes it again on its next
    run, the same numbers.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._kept: OrderedDict[tuple, tuple[tuple, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple, make: Callable[[], tuple]) -> tuple:
        """What ``key`` names: kept, or ``make()`` now (and kept while there is room)."""
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key][0]
        made = make()  # outside the lock: other pages do not wait for this one
        size = sum(
            array.nbytes
            for res in made
            for name, array in vars(res).items()
            if name != "x" and isinstance(array, np.ndarray)  # X is the reading's
        )
        with self._lock:
            if key not in self._kept:
                self._kept[key] = (made, size)
                self._bytes += size
                while self._bytes > self.budget and len(self._kept) > 1:
                    _, (_, gone) = self._kept.popitem(last=False)
                    self._bytes -= gone
        return made

    @property
    def nbytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._bytes = 0


@st.cache_resource(show_spinner=False)
def kept_attention() -> Kept:
    """This process's one ``Kept``: a resource every session shares, as the model is."""
    return Kept(ATTENTION_KEPT_BYTES)


@dataclass(frozen=True)
class Reading:
    """The text as the model read it: what sections 1-2 show and everything after uses.

    ``x`` is ``(T, d)``: the token vectors, or in ``real`` mode the hidden states entering
    the head's layer (``head`` is then that head).
    """

    settings: Mapping[str, object]
    emb: attn_core.Embedding
    x: np.ndarray
    head: attn_core.Head | None
    labels: list[str]
    follows_w: tuple[str, ...] = ()
    """The keys of the fragments on screen that show what W makes: what a move of W's
    controls reruns (``sections.following_w``)."""
    model: attn_core.Model | None = None
    """The model that read the text (``None``: the bundled one)."""
    _memo: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def real(self) -> bool:
        return self.settings["mode"] == "real"

    @property
    def present(self) -> bool:
        """Presentation mode: one step in large type, for a projector."""
        return bool(self.settings["present"])

    @property
    def decoder(self) -> bool:
        """Whether the model is a decoder (GPT-2): each token sees only those before it."""
        return self.model is not None and self.model.causal

    @property
    def fixed(self) -> dict[str, str]:
        """W's settings the page holds still, each with the one line that says why."""
        if self.real and self.decoder:
            return {
                "causal": f"{self.model.name} is a decoder: every head it learnt sees only the "
                "tokens before each one, so its trained heads keep the causal mask on."
            }
        return {}

    def palette(self, kind: str) -> str:
        """The palette for ``kind`` ("weights" or "diverging") in the colours chosen."""
        return palette_for(kind, self.settings.get("palette") == "safe")

    def view(self, settings: Mapping[str, object]) -> View:
        """Attention of this reading under ``settings``.

        The steps that follow W are fragments that rerun alone, each asking for the
        attention under the settings of the moment; a full run asks once per fragment.
        Only the settings attention reads key what is computed (``kept_attention``): a control
        that changes what is shown (every head, the map, training) computes nothing again.
        """
        return View(self, MappingProxyType(dict(settings)))

    def attention_key(self, settings: Mapping[str, object]) -> tuple:
        """What attention under ``settings`` is computed from: X and the head's projections
        (by their bytes, read once per reading), and the settings attention reads."""
        if "inputs" not in self._memo:
            arrays = [self.x]
            if self.head is not None:
                parts = vars(self.head.projections).values()
                arrays += [a for a in parts if isinstance(a, np.ndarray)]
            h = hashlib.blake2b(digest_size=16)
            for a in arrays:
                h.update(f"{a.dtype}{a.shape}".encode() + np.ascontiguousarray(a).tobytes())
            self._memo["inputs"] = h.hexdigest()
        return (self._memo["inputs"], *(settings[name] for name in ATTENTION_SETTINGS))


@dataclass(frozen=True)
class View:
    """A reading plus attention as the current settings make it, both ways.

    ``res_free`` is the parameter-free attention; ``res_proj`` uses the random projections,
    or in ``real`` mode the head's own. ``res`` is the one the page shows. The view holds
    neither: each is looked up in ``kept_attention`` (computed again if it went), so a view kept
    between runs, as a fragment's argument or on the exports, keeps no attention alive.
    """

    reading: Reading
    settings: Mapping[str, object]

    @classmethod
    def of(cls, reading: Reading, settings: Mapping[str, object]) -> View:
        """Attention of ``reading.x`` under ``settings``, computed now unless kept."""
        view = cls(reading, MappingProxyType(dict(settings)))
        view.both()
        return view

    def both(self) -> tuple[attn_core.AttentionResult, attn_core.AttentionResult]:
        """``(res_free, res_proj)``, kept or computed now."""
        return kept_attention().get(self.reading.attention_key(self.settings), self._compute)

    def _compute(self) -> tuple[attn_core.AttentionResult, attn_core.AttentionResult]:
        x, head, settings = self.reading.x, self.reading.head, self.settings
        return (
            attn_core.attention_for(x, settings, projected=False),
            attn_core.attention_for(x, settings, projected=True)
            if head is None
            else attn_core.attention_for(x, settings, head=head.projections),
        )

    res_free = property(lambda self: self.both()[0])
    res_proj = property(lambda self: self.both()[1])

    emb = property(lambda self: self.reading.emb)
    x = property(lambda self: self.reading.x)
    head = property(lambda self: self.reading.head)
    labels = property(lambda self: self.reading.labels)
    real = property(lambda self: self.settings["mode"] == "real")
    present = property(lambda self: self.reading.present)
    palette = property(lambda self: self.reading.palette)
    model = property(lambda self: self.reading.model)
    decoder = property(lambda self: self.reading.decoder)

    @property
    def res(self) -> attn_core.AttentionResult:
        return self.res_free if self.settings["mode"] == "free" else self.res_proj

    @property
    def proj_name(self) -> str:
        """What made ``res_proj``: "random projections" or "layer 3, head 5"."""
        if self.head is None:
            return "random projections"
        return f"layer {self.head.layer}, head {self.head.head}"


@dataclass
class Exports:
    """The charts on screen, by section and name: what the export section offers.

    A section that redraws alone (a fragment) takes a fresh ``shelf`` for what it draws, so the
    list is always what is on screen. Made anew by each run that draws the sections.
    """

    _by_section: dict[str, dict[str, dict | Callable[[], dict]]] = field(default_factory=dict)
    view: View | None = None
    """The attention on screen, for the matrices and the snapshot: whatever step last drew
    it under new settings says so (``showing``)."""

    @classmethod
    def following(cls, above: Exports) -> Exports:
        """A new registry that starts with the charts of ``above`` (drawn outside a fragment)."""
        return cls({key: dict(drawn) for key, drawn in above._by_section.items()})

    def showing(self, view: View) -> View:
        """Note that ``view`` is the attention on screen now; returns it."""
        self.view = view
        return view

    def shelf(self, section: str) -> dict[str, dict]:
        """``section``'s charts, emptied: it is about to draw them (again)."""
        self._by_section[section] = {}
        return self._by_section[section]

    def drawn_in_page(
        self, section: str, charts: Callable[[View], Mapping[str, Callable[[], dict]]]
    ) -> None:
        """Put on ``section``'s shelf charts the page draws itself, which W's settings move
        without the server: named now, each made when asked for (``charts(view)[name]()``)
        from the attention on screen then."""
        shelf = self.shelf(section)
        for name in charts(self.view):
            shelf[name] = lambda name=name: charts(self.view)[name]()

    def names(self) -> list[str]:
        return [name for name, _ in self._specs()]

    def __getitem__(self, name: str) -> dict:
        """A chart's Vega-Lite spec (one drawn in the browser is made now, when asked for)."""
        spec = dict(self._specs())[name]
        return spec() if callable(spec) else spec

    def _specs(self) -> Iterator[tuple[str, dict]]:
        for drawn in self._by_section.values():
            yield from drawn.items()
