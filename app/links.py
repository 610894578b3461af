"""The settings of a view on the page, their widget ranges, and how they travel in a link.

Each setting has a name (the URL key, and the page's widget key), a default, and a parser
that turns one URL value into a valid setting: it returns the value, clamps it into range
(and says so), or rejects it with ``ValueError``. ``from_query`` never raises: whatever a
link holds, the page gets valid settings plus plain-text notices of what was changed.
Defaults are left out of links, so links stay short.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from app import models
from attn_core import settings
from attn_core.embeddings import KINDS
from attn_core.heads import PATTERNS
from attn_core.projections import INITS, MAX_SEED
from attn_core.reduce import METHODS
from attn_core.settings import MODES
from attn_core.sources import BUNDLED_MODEL
from attn_core.training import OBJECTIVES

TRAIN_STEPS = (100, 200, 300, 500)
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03)
D_K_CHOICES = (2, 4, 8, 16, 32, 64, 128, 256, 384)
TEMPERATURE = (0.05, 5.0, 0.05)
"""Lowest, highest, step."""
QKV = ("q", "k", "v")
MAX_TEXT = 2_000
"""Characters of text a link may carry (a URL beyond ~8 000 characters is unreliable)."""
MAX_FEATURE = 4095
"""The widest model a link may name a feature of (the page fits it to the model on show)."""
MAX_FOCUS = 255
MAX_NOTICED_KEYS = 5
STEPS = 10
"""Steps of the walkthrough in presentation mode (the page's sections 1-10)."""
MAX_LAYERS, MAX_HEADS = 48, 64
"""The widest model a link may name a layer or head of: the page fits both to the model
on show (``state.fit_to``), and ``up_to`` at its default means the model's last layer."""
RESIDUALS = tuple(round(0.05 * k, 2) for k in range(21))
"""Rollout's residual weight: 0, 0.05, ... 1."""
MEASURES = ("weight", "norm")
"""What ranks the heads: the weight w_ij, or the length of what it moves, ‖w_ij f(x_j)‖."""
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]{1,30}")


class Clamped(ValueError):
    """A value out of range, replaced by the nearest allowed one (``value``)."""

    def __init__(self, value: object, why: str) -> None:
        super().__init__(why)
        self.value = value


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    parse: Callable[[str], object]
    encode: Callable[[object], str] = str


def _text(raw: str) -> str:
    if len(raw) > MAX_TEXT:
        raise Clamped(raw[:MAX_TEXT], f"cut to its first {MAX_TEXT} characters")
    return raw


def _choice(options: Iterable[str]) -> Callable[[str], str]:
    allowed = tuple(options)

    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return raw

    return parse


def _model(raw: str) -> str:
    offered = models.offered()
    if raw not in offered:
        raise ValueError(f"must name a model this server offers: {', '.join(offered)}")
    return raw


def _flag(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "on", "yes"):
        return True
    if lowered in ("0", "false", "off", "no"):
        return False
    raise ValueError("must be 1 or 0")


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not re.fullmatch(r"[+-]?\d{1,30}", raw.strip()):
            raise ValueError("must be a whole number")
        number = int(raw)
        if not low <= number <= high:
            raise Clamped(min(max(number, low), high), f"must be in {low}..{high}")
        return number

    return parse


def _finite_number(raw: str) -> float:
    try:
        number = float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def snap_temperature(number: float) -> float:
    """A finite temperature as the slider can hold it: within its range, on its steps."""
    low, high, step = TEMPERATURE
    return round(round(min(max(number, low), high) / step) * step, 2)


def _temperature(raw: str) -> float:
    low, high, _ = TEMPERATURE
    number = _finite_number(raw)
    snapped = snap_temperature(number)
    if not low <= number <= high:
        raise Clamped(snapped, f"must be in {low}..{high}")
    return snapped


def _d_k(raw: str) -> int:
    number = _integer(-(10**30), 10**30)(raw)
    if number not in D_K_CHOICES:
        nearest = min(D_K_CHOICES, key=lambda c: (abs(c - number), c))
        raise Clamped(nearest, f"must be one of {', '.join(map(str, D_K_CHOICES))}")
    return number


def _among(choices: tuple) -> Callable[[str], object]:
    """A number that must be one of ``choices``; others snap to the nearest."""

    def parse(raw: str) -> object:
        number = _finite_number(raw)
        nearest = min(choices, key=lambda c: (abs(c - number), c))
        if not math.isclose(nearest, number):
            raise Clamped(nearest, f"must be one of {', '.join(map(str, choices))}")
        return nearest

    return parse


def _encode_flag(value: object) -> str:
    return "1" if value else "0"


def _encode_number(value: object) -> str:
    return f"{float(value):g}"


def _encode_temperature(value: object) -> str:
    return f"{round(float(value), 2):g}"


PALETTES = ("standard", "safe")
"""The page's colours: the standard palettes, or their colour-blind-safe counterparts."""
ENGINE = settings.DEFAULTS
SETTINGS = (
    Setting("text", ENGINE["text"], _text),
    Setting("text2", "hey, how old are you?", _text),
    Setting("model", BUNDLED_MODEL, _model),
    Setting("kind", ENGINE["kind"], _choice(KINDS)),
    Setting("special", ENGINE["special"], _flag, _encode_flag),
    Setting("merge", ENGINE["merge"], _flag, _encode_flag),
    Setting("mode", ENGINE["mode"], _choice(MODES)),
    Setting("scale", ENGINE["scale"], _flag, _encode_flag),
    Setting("temperature", ENGINE["temperature"], _temperature, _encode_temperature),
    Setting("causal", ENGINE["causal"], _flag, _encode_flag),
    Setting("stretch", False, _flag, _encode_flag),
    Setting("focus", 0, _integer(0, MAX_FOCUS)),
    Setting("method", "pca", _choice(METHODS)),
    Setting("feature_a", 0, _integer(0, MAX_FEATURE)),
    Setting("feature_b", 1, _integer(0, MAX_FEATURE)),
    Setting("seed", ENGINE["seed"], _integer(0, MAX_SEED)),
    Setting("d_k", ENGINE["d_k"], _d_k),
    Setting("init", ENGINE["init"], _choice(INITS)),
    Setting("qkv", "q", _choice(QKV)),
    Setting("layer", ENGINE["layer"], _integer(0, MAX_LAYERS - 1)),
    Setting("head", ENGINE["head"], _integer(0, MAX_HEADS - 1)),
    Setting("objective", ENGINE["objective"], _choice(OBJECTIVES)),
    Setting("train_steps", 300, _among(TRAIN_STEPS)),
    Setting("rate", 0.003, _among(LEARNING_RATES), _encode_number),
    Setting("heads", False, _flag, _encode_flag),
    Setting("pattern", "previous", _choice(PATTERNS)),
    Setting("up_to", MAX_LAYERS, _integer(1, MAX_LAYERS)),
    Setting("residual", 0.5, _among(RESIDUALS), _encode_number),
    Setting("measure", "weight", _choice(MEASURES)),
    Setting("share_token", 1, _integer(0, MAX_FOCUS)),
    Setting("through", False, _flag, _encode_flag),
    Setting("block", ENGINE["layer"], _integer(0, MAX_LAYERS - 1)),
    Setting("follow", 1, _integer(0, MAX_FOCUS)),
    Setting("col", 0, _integer(0, MAX_FOCUS)),
    Setting("present", False, _flag, _encode_flag),
    Setting("palette", "standard", _choice(PALETTES)),
    Setting("step", 1, _integer(1, STEPS)),
)
BY_NAME = {s.name: s for s in SETTINGS}
DEFAULTS = {s.name: s.default for s in SETTINGS}


def from_query(params: Mapping[str, str | list[str]]) -> tuple[dict[str, object], list[str]]:
    """Settings found in URL query parameters, and notices of what was fixed or ignored.

    Parameters
    ----------
    params : mapping of str to str or list of str
        As a web framework gives them; a repeated key may come as a list.

    Returns
    -------
    values : dict
        Only the settings the link set, each valid (parsed or clamped).
    notices : list of str
        Plain sentences, one per problem. They name a key only when it is a plain word
        and never repeat a value, so they are safe to show as text.
    """
    values: dict[str, object] = {}
    notices: list[str] = []
    unknown: list[str] = []
    for key, raw in params.items():
        setting = BY_NAME.get(key)
        if setting is None:
            unknown.append(key if _PLAIN_KEY.fullmatch(key) else "(unreadable name)")
            continue
        if isinstance(raw, list | tuple):
            if not raw:
                continue
            if len(raw) > 1:
                notices.append(f"“{key}” appeared {len(raw)} times; the first one was used.")
            raw = raw[0]
        try:
            values[key] = setting.parse(str(raw))
        except Clamped as fix:
            values[key] = fix.value
            # Texts are the viewer's own words: never repeat them, not even in a notice.
            now = "" if setting.parse is _text else f": it was set to {setting.encode(fix.value)}"
            notices.append(f"“{key}” {fix}{now}.")
        except ValueError as why:
            notices.append(f"“{key}” was ignored: it {why}.")
    if unknown:
        shown = ", ".join(f"“{k}”" for k in unknown[:MAX_NOTICED_KEYS])
        hidden = len(unknown) - MAX_NOTICED_KEYS
        more = f" and {hidden} more" if hidden > 0 else ""
        notices.append(f"Unknown link settings were ignored: {shown}{more}.")
    return values, notices


def defaults_for(mode: object) -> dict[str, object]:
    """Every setting's default for ``mode`` (the engine says which depend on the mode)."""
    return {**DEFAULTS, **settings.defaults_for(mode)}


def to_query(values: Mapping[str, object]) -> dict[str, str]:
    """The URL query parameters for ``values``: known settings that differ from defaults.

    A text longer than ``MAX_TEXT`` is left out (see ``fits_in_link``).
    """
    defaults = defaults_for(values.get("mode", DEFAULTS["mode"]))
    return {
        name: BY_NAME[name].encode(value)
        for name, value in values.items()
        if name in BY_NAME
        and BY_NAME[name].encode(value) != BY_NAME[name].encode(defaults[name])
        and _fits(name, value)
    }


def fits_in_link(values: Mapping[str, object]) -> bool:
    """Whether a link can carry every setting in ``values`` (texts up to ``MAX_TEXT``)."""
    return all(_fits(name, value) for name, value in values.items())


def _fits(name: str, value: object) -> bool:
    return not (name in BY_NAME and BY_NAME[name].parse is _text and len(str(value)) > MAX_TEXT)
