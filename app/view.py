"""What one run of the page hands to its sections: the inputs, the results, the exports.

Streamlit imports this module once per process and runs every viewer's session in a
thread of its own, so nothing here is module-level state: each run makes its own
``Reading``, ``View`` and ``Exports`` and passes them down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

import attn_core
from attn_core.charts.base import palette_for

VIEWS_KEPT = 1
"""Attention under the settings now, for every step a run draws: it keeps both kinds of
attention, which grows with the square of the tokens, for as long as the page is open."""
ATTENTION_SETTINGS = ("mode", "scale", "temperature", "causal", "seed", "d_k", "init")
"""What attention reads of a reading's settings (``attn_core.attention_for``)."""


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
    _views: dict = field(default_factory=dict, compare=False, repr=False)

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
        """Attention of this reading under ``settings``, kept for the latest settings.

        The steps that follow W are fragments that rerun alone, each asking for the
        attention under the settings of the moment; a full run asks once per fragment.
        Only the settings attention reads key what is kept: a control that changes what is
        shown (every head, the map, training) makes no new copy of it.
        """
        key = tuple(settings[name] for name in ATTENTION_SETTINGS)
        if key not in self._views:
            while len(self._views) >= VIEWS_KEPT:
                self._views.pop(next(iter(self._views)))
            self._views[key] = View.of(self, settings)
        kept = self._views[key]
        if kept.settings == settings:
            return kept
        return View(self, MappingProxyType(dict(settings)), kept.res_free, kept.res_proj)


@dataclass(frozen=True)
class View:
    """A reading plus attention as the current settings make it, both ways.

    ``res_free`` is the parameter-free attention; ``res_proj`` uses the random projections,
    or in ``real`` mode the head's own. ``res`` is the one the page shows.
    """

    reading: Reading
    settings: Mapping[str, object]
    res_free: attn_core.AttentionResult
    res_proj: attn_core.AttentionResult

    @classmethod
    def of(cls, reading: Reading, settings: Mapping[str, object]) -> View:
        """Attention of ``reading.x`` under ``settings`` (a fragment's fresher copy)."""
        settings = MappingProxyType(dict(settings))
        x, head = reading.x, reading.head
        return cls(
            reading=reading,
            settings=settings,
            res_free=attn_core.attention_for(x, settings, projected=False),
            res_proj=(
                attn_core.attention_for(x, settings, projected=True)
                if head is None
                else attn_core.attention_for(x, settings, head=head.projections)
            ),
        )

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
