"""Driving the real app (`attrib app` on a free port) in Debian's chromium with Playwright: the
helpers the browser tests share (their fixtures, app_url, browser and page, are in conftest.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from graph.store.server import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = ["workbench", "explore", "compare", "timeline", "load", "draft", "console"]


def start_app(settings, tmp_path_factory):
    """`attrib app` on a free port against the test graph: (process, its URL) once it answers."""
    port = free_port()
    env = dict(os.environ)
    if not settings.external:
        env["ATTRIB_INSTANCE"] = settings.instance
    log = tmp_path_factory.mktemp("app") / "app.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "app", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env,
                                cwd=Path(__file__).resolve().parents[2])
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"attrib app did not start: {log.read_text()[-2000:]}")
        time.sleep(0.3)
    return proc, url


def stop_app(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Recorder:
    """Every URL the page or any of its frames asked for, websockets included."""

    def __init__(self, page):
        self.urls: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("websocket", lambda ws: self.urls.append(ws.url))

    def outside(self) -> list[str]:
        bad = []
        for url in self.urls:
            parsed = urlparse(url)
            if parsed.scheme in ("data", "blob", "about") or url.startswith("about:"):
                continue
            if parsed.hostname != "127.0.0.1":
                bad.append(url)
        return bad


def settle(pg, timeout_ms: int = 30000) -> None:
    """Wait until the Streamlit script run is over (and its elements had a moment to paint)."""
    pg.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout_ms)
    pg.wait_for_timeout(500)
    pg.wait_for_selector('[data-test-script-state="notRunning"]', timeout=timeout_ms)


def graph_frame(pg, timeout_s: float = 30):
    """The frame of the embedded vis-network page once it has drawn (app/exports/html.py marks the body)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in pg.frames:
            try:
                if frame.evaluate("() => !!(document.body && document.body.dataset.drawn === '1'"
                                  " && document.querySelector('#graph canvas'))"):
                    return frame
            except Exception:  # a frame navigating or detached
                pass
        time.sleep(0.1)
    return None


def assert_no_xss(pg) -> None:
    for frame in pg.frames:
        try:
            value = frame.evaluate("() => typeof window.__xss")
        except Exception:
            continue
        assert value == "undefined", f"injected script ran in frame {frame.url}"
