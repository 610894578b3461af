"""Start the page on a loopback port and wait for it the way Streamlit's own browser tests do.

Shared by the browser tests (``tests/test_browser.py``, ``tests/test_load.py``) and the
benchmarks: a server on a free port, its health check, and a page that is ready when it is
connected, its script is not running and no skeleton (a placeholder for an element still
to come) is left. Nothing waits a fixed time.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
READY = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app !== null
    && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelector('[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]') === null;
}"""
"""True once the page is connected, its script is not running, and no skeleton is left."""
START_SECONDS = 180
"""How long a server may take to answer its health check (a busy machine is slow)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    port: int,
    script: str = "dashboard.py",
    log=None,
    options: Sequence[str] = (),
    script_args: Sequence[str] = (),
) -> subprocess.Popen:
    """``streamlit run script`` on ``127.0.0.1:port``; output to ``log`` (a file) or nowhere;
    ``options`` are more of Streamlit's (``"--server.disconnectedSessionTTL", "5"``), and
    ``script_args`` the page's own (``"--model", folder``)."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port)),
            *("--server.address", "127.0.0.1", "--server.headless", "true", *options),
            *(("--", *script_args) if script_args else ()),
        ],
        cwd=ROOT,
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_healthy(url: str, timeout: float = START_SECONDS, server=None) -> None:
    """Until ``url``'s health check answers; fails early if ``server`` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy within {timeout:.0f} s")


@contextlib.contextmanager
def serving(
    script: str = "dashboard.py",
    log=None,
    options: Sequence[str] = (),
    script_args: Sequence[str] = (),
) -> Iterator[tuple[str, subprocess.Popen]]:
    """A server for the duration of a ``with`` block: ``(url, process)``."""
    port = free_port()
    server = start_server(port, script, log, options, script_args)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, server=server)
        yield url, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(page, timeout_ms: float = 300_000) -> None:
    """Until a Playwright page (sync API) is ready: connected, not running, no skeleton."""
    page.wait_for_function(READY, timeout=timeout_ms, polling=100)


async def wait_ready_async(page, timeout_ms: float = 300_000) -> None:
    """``wait_ready`` for Playwright's async API."""
    await page.wait_for_function(READY, timeout=timeout_ms, polling=100)
