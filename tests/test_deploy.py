"""Replicas behind HAProxy (``deploy/replicas.sh``): viewers spread out and keep to one
replica, the audience benchmark speaks the page's protocol through the balancer, and a page
whose replica is killed comes back from another one as it was."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import audience
import pytest
from conftest import OUTPUT
from playwright.sync_api import Page, expect
from serve import START_SECONDS, free_port, wait_ready

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.load

COOKIE = "replica"
"""The balancer's affinity cookie (deploy/haproxy.cfg.in)."""


@dataclass
class Deployment:
    url: str
    replicas: dict[str, int]
    """Each replica's pid by the name the balancer's cookie gives it."""
    pids: list[int]
    """Every process the script started, the balancer included."""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def replica_named(url: str, cookie: str | None = None) -> str | None:
    """The replica the balancer names in its cookie for one request (None: no new cookie)."""
    request = urllib.request.Request(f"{url}/_stcore/health")
    if cookie:
        request.add_header("Cookie", f"{COOKIE}={cookie}")
    with urllib.request.urlopen(request, timeout=10) as answer:
        jar = SimpleCookie()
        for header in answer.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    return jar[COOKIE].value if COOKIE in jar else None


def wait_in_rotation(url: str, names: set[str], timeout: float = 60) -> None:
    """Until requests without a cookie are spread over exactly ``names``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if {replica_named(url) for _ in range(2 * len(names) + 2)} == names:
                return
        except OSError:  # 503 while the balancer's health checks find no replica up yet
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not spread requests over {sorted(names)} in {timeout:.0f} s")


@contextlib.contextmanager
def deployed(count: int, log_name: str) -> Iterator[Deployment]:
    """``bash deploy/replicas.sh count PORT`` until every replica is in the rotation; stopped
    with SIGTERM afterwards, and then none of its processes may be left."""
    OUTPUT.mkdir(exist_ok=True)
    port = free_port()
    with (OUTPUT / log_name).open("w") as log:
        script = subprocess.Popen(
            ["bash", "deploy/replicas.sh", str(count), str(port)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        replicas, pids = {}, []
        try:
            for line in script.stdout:  # one line per replica, then the balancer's
                log.write(line)
                found = re.match(r"(replica\d+): 127\.0\.0\.1:\d+ pid (\d+)", line)
                if found:
                    replicas[found[1]] = int(found[2])
                    pids.append(int(found[2]))
                elif line.startswith("balancer:"):
                    pids.append(int(re.search(r"pid (\d+)", line)[1]))
                    break
            assert len(replicas) == count and len(pids) == count + 1, "the script stopped early"
            url = f"http://127.0.0.1:{port}"
            wait_in_rotation(url, set(replicas), timeout=START_SECONDS)
            yield Deployment(url, replicas, pids)
        finally:
            script.terminate()
            try:
                script.wait(timeout=60)
            finally:
                left = [pid for pid in pids if alive(pid)]
                for pid in left:
                    os.kill(pid, signal.SIGKILL)
        assert script.returncode == 143  # bash's exit on SIGTERM, after its trap ran
        assert left == [], f"processes left running after SIGTERM: {left}"


@pytest.fixture(scope="module")
def two() -> Iterator[Deployment]:
    """Two replicas behind the balancer, shared by the tests that leave them running."""
    with deployed(2, "replicas.log") as deployment:
        yield deployment


def test_the_script_refuses_a_wrong_call():
    for args in ([], ["2"], ["0", "8080"], ["two", "8080"], ["2", "70000"]):
        done = subprocess.run(
            ["bash", "deploy/replicas.sh", *args], cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 2 and "usage: bash deploy/replicas.sh N PORT" in done.stderr


def test_viewers_from_one_address_spread_out_and_keep_to_their_replica(two):
    """Affinity by the balancer's cookie, not the client's address: one address's requests
    go to both replicas, and a request that carries the cookie stays where it names."""
    assert {replica_named(two.url) for _ in range(6)} == {"replica1", "replica2"}
    for name in two.replicas:
        assert replica_named(two.url, cookie=name) is None  # kept: no new cookie


def test_the_audience_refuses_other_hosts_and_tells_viewers_apart():
    for url in ("http://10.0.0.1:8501", "http://example.com", "ftp://127.0.0.1/"):
        with pytest.raises(ValueError, match=r"127\.0\.0\.1 or localhost"):
            audience.check_loopback(url)
    assert audience.check_loopback("http://localhost:8080/") == "http://localhost:8080"
    strip = "[CLS]  ·  " + "  ·  ".join(audience.marker(207, 3).split()) + "  ·  reads"
    assert audience.viewers_in(strip) == {207}
    assert audience.viewers_in("hi  ·  how  ·  are  ·  you") == set()


def test_an_audience_through_the_balancer_sees_only_its_own_texts(two, capsys):
    """Viewers over Streamlit's websocket protocol, each on the replica its cookie names."""
    pids = [str(pid) for pid in two.replicas.values()]
    args = ["--url", two.url, "--sessions", "6", "--changes", "3", "--duration", "240"]
    assert audience.main([*args, "--pids", *pids]) == 0
    out = capsys.readouterr().out
    assert "18/18 answered" in out and "0 errors; 0 viewers saw another's text" in out
    assert "MB per idle session" in out


def serving_replica(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE)


def test_a_killed_replica_leaves_the_rotation_and_its_page_comes_back_elsewhere(browser, two):
    """Kill the replica serving a page: the balancer stops sending anyone there, the page
    reconnects to the other replica (its cookie names a dead one: the balancer redispatches),
    whose new session reads the address bar and shows the same text and temperature.

    Last in this file: it kills one of the module's two replicas."""
    text = "the river bank was steep"
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws))
    page.goto(two.url)
    wait_ready(page)
    box = page.get_by_label("Text", exact=True)
    box.fill(text)
    box.press("Control+Enter")
    page.wait_for_function("() => location.search.includes('river')")
    tau = page.get_by_role("slider", name="Temperature τ")
    tau.scroll_into_view_if_needed()
    tau.focus()
    tau.press("End")  # τ = 5
    page.wait_for_function("() => location.search.includes('temperature=5')")
    wait_ready(page)
    address = page.url
    moved = page.get_by_text("reconnected to another one")
    expect(moved).to_have_count(0)  # a page that was opened says nothing of it
    dead = serving_replica(page)
    (survivor,) = set(two.replicas) - {dead}
    frames = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))

    os.kill(two.replicas[dead], signal.SIGKILL)
    # The page's next websocket is on the survivor, and its new session has run the page.
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')"
        ".getAttribute('data-test-connection-state') !== 'CONNECTED'"
    )
    deadline = time.monotonic() + 120
    while not frames:
        assert time.monotonic() < deadline, "no run on the surviving replica"
        page.wait_for_timeout(50)
    wait_ready(page)
    assert len(sockets) == 2 and serving_replica(page) == survivor
    assert page.url == address
    expect(box).to_have_value(text)
    expect(tau).to_have_value("5")
    strip = page.locator('[data-testid="stCode"]').first
    expect(strip).to_have_text("[CLS]  ·  the  ·  river  ·  bank  ·  was  ·  steep  ·  [SEP]")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(moved).to_be_visible()  # and the page says what happened

    # Out of the rotation: new viewers go to the survivor, and so does a dead cookie.
    wait_in_rotation(two.url, {survivor})
    assert replica_named(two.url, cookie=dead) == survivor
    # The page keeps working on its new replica, from the same settings.
    page.get_by_text("Keep [CLS] and [SEP]").click()
    page.wait_for_function("() => location.search.includes('special=0')")
    wait_ready(page)
    expect(strip).to_have_text("the  ·  river  ·  bank  ·  was  ·  steep")
    expect(tau).to_have_value("5")
    assert serving_replica(page) == survivor
