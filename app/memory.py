"""The server's memory: its limit, what heavy work would add, and giving memory back.

One process serves every viewer, so its memory is shared too. It learns its limit from the
container (cgroup v2 ``memory.max``, v1 ``memory.limit_in_bytes``) or from
``ATTN_MEMORY_LIMIT_MB``, which wins when set. Near the limit the shared caches are
emptied first; heavy work that still would not fit (a training run, every head of the
model, a t-SNE map) is declined with a message saying why and what to do, and the page
goes on drawing everything else. A watcher thread, one per process, ends the sessions of
closed pages once Streamlit's ``server.disconnectedSessionTTL`` has passed and hands freed
memory back to the system.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import streamlit as st
from streamlit.logger import get_logger

LIMIT_ENV = "ATTN_MEMORY_LIMIT_MB"
DEFAULT_LIMIT_MB = 1024
"""When neither the container nor the environment says (README, Deploy: what one replica
holds within it)."""
SHRINK_AT = 0.70
"""Share of the limit above which the watcher empties the shared caches."""
HEAVY_UP_TO = 0.90
"""Heavy work starts only if the server stays under this share of the limit with it."""
WATCH_SECONDS = 5.0
"""How often the watcher looks: a closed page's state goes at most this long after its TTL."""
MB = 2**20
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
"""glibc's ``mallopt`` parameters."""
CGROUP_FILES = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # cgroup v1
)
_LOG = get_logger(__name__)  # Streamlit's: the server log shows it


class Declined(Exception):
    """Heavy work not started for want of memory; ``str()`` is the message for the viewer."""


def limit_bytes() -> int:
    """The most memory this server may use: the setting, else the container's, else 1 GB."""
    setting = os.environ.get(LIMIT_ENV, "").strip()
    if setting:
        try:
            mb = float(setting)
        except ValueError:
            mb = 0.0
        if math.isfinite(mb) and mb > 0:
            return int(mb * MB)
        _LOG.warning("%s must be a positive number of MB; using the container's", LIMIT_ENV)
    for path in CGROUP_FILES:
        try:
            value = path.read_text().strip()
        except OSError:
            continue
        if value.isdigit() and int(value) < 2**60:  # "max" or v1's huge number: no limit
            return int(value)
    return DEFAULT_LIMIT_MB * MB


def rss_bytes() -> int:
    """This process's resident memory now (0 where /proc cannot tell)."""
    try:
        resident = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return resident * os.sysconf("SC_PAGE_SIZE")


def training_cost(t: int, d: int, d_k: int) -> int:
    """Bytes a training run adds while it runs: W kept at 41 steps, the trained
    projections, Adam's moments and buffers, and the (T, T) arrays of one step."""
    return 41 * t * t * 4 + 12 * d * d_k * 8 + 4 * t * d_k * 8 + 8 * t * t * 8 + t * d * 8


def heads_cost(pieces: int, layers: int = 6, heads: int = 12) -> int:
    """Bytes for every head of one text: L × H (P, P) maps kept, and one layer's work in
    flight (its heads' scores, weights and their float64 copies)."""
    return layers * heads * pieces * pieces * 4 + 4 * heads * pieces * pieces * 8 + 32 * MB


def tsne_cost(t: int) -> int:
    """Bytes for a t-SNE map of ``t`` points, scikit-learn's import included the first time."""
    first = 0 if "sklearn.manifold" in sys.modules else 120 * MB
    return first + 16 * t * t * 8 + 16 * MB


@contextlib.contextmanager
def heavy(cost: int, work: str, advice: str, shrink: Callable[[], None]) -> Iterator[None]:
    """Run the ``with`` block only if ``cost`` more bytes fit under the limit's headroom.

    When they do not, the shared caches go first (``shrink``) and the memory they held goes
    back to the system; only if that is not enough is the work declined: ``Declined``, with
    why and what to do (``advice``). Running out of memory all the same is declined too.
    """
    limit = limit_bytes()
    if rss_bytes() + cost > HEAVY_UP_TO * limit:
        shrink()
        give_back()
        used = rss_bytes()
        if used + cost > HEAVY_UP_TO * limit:
            raise Declined(
                f"The server is near its memory limit ({used / MB:.0f} of {limit / MB:.0f} "
                f"MB in use), so it does not {work} now: that needs about {cost / MB:.0f} MB "
                f"more. {advice} Or try again in a minute, when pages that were closed have "
                "let go of theirs."
            )
    try:
        yield
    except MemoryError as exc:
        raise Declined(
            f"The server ran out of memory to {work}. {advice} Or try again in a minute."
        ) from exc


def give_back() -> None:
    """Collect garbage and hand the freed memory back to the system, not just to malloc."""
    gc.collect()
    _trim()


@st.cache_resource(show_spinner=False)
def watch(_shrink: Callable[[], None]) -> threading.Thread:
    """Start, once per process, the thread that keeps the server within its memory."""
    _tune_malloc()
    thread = threading.Thread(target=_keep, args=(_shrink,), name="memory-watch", daemon=True)
    thread.start()
    return thread


def _keep(shrink: Callable[[], None]) -> None:
    """Every few seconds: end expired sessions, empty the caches near the limit, trim."""
    while True:
        time.sleep(WATCH_SECONDS)  # a period of its own, not a wait for anything
        try:
            ended = end_expired_sessions()
            shrinking = rss_bytes() > SHRINK_AT * limit_bytes()
            if shrinking:
                shrink()
            if ended or shrinking:
                gc.collect()
            _trim()
            if ended:  # said once their memory has gone back, so the log tells the truth
                _LOG.info(
                    "Released the state of %d closed page(s); %.0f MB resident",
                    ended,
                    rss_bytes() / MB,
                )
        except Exception:  # the watcher must outlive any one failure
            _LOG.exception("memory watch")


def end_expired_sessions() -> int:
    """End sessions whose page closed more than ``server.disconnectedSessionTTL`` ago.

    Streamlit keeps a disconnected session for a reconnect until its TTL passes, but only
    drops it at the next disconnect, so the last pages to close would hold their state for
    good. This asks its session store to drop the expired ones now, under the manager's
    own lock, and shuts them down as ``close_session`` does. Nothing happens where the
    store is not Streamlit's in-memory one.
    """
    from streamlit import runtime

    if not runtime.exists():
        return 0
    manager = getattr(runtime.get_instance(), "_session_mgr", None)
    store = getattr(getattr(manager, "_session_storage", None), "_cache", None)
    lock = getattr(manager, "_storage_lock", None)
    if lock is None or not callable(getattr(store, "expire", None)):
        return 0
    with lock:
        expired = store.expire()
    for _, info in expired:
        info.session.shutdown()
    return len(expired)


def _tune_malloc() -> None:
    """Arrays of a megabyte or more get mappings of their own, unmapped when freed (glibc
    would raise that threshold as large arrays come and go, then keep them in its heaps),
    and two arenas serve every session's thread instead of up to eight per core."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: its own ways
        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, MB)
        libc.mallopt(M_ARENA_MAX, 2)


def _trim() -> None:
    """glibc keeps freed memory in its arenas for reuse; ``malloc_trim`` returns it."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL(None).malloc_trim(0)
