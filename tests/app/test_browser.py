"""The real app (`attrib app` on a free port) in Debian's chromium, driven by Playwright.

- the Workbench draws its graph canvas;
- no request (page, script, font, websocket, iframe) goes anywhere but 127.0.0.1;
- a record file uploaded through the Load page with an actor named like an HTML injection shows
  that name as text, and its scripts never run (`window.__xss` stays undefined) on every page.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import system_tool

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = ["workbench", "explore", "compare", "timeline", "load", "draft", "console"]

playwright = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(settings, session_db, tmp_path_factory):
    """The seed story in the test graph, and `attrib app` serving it on a free port."""
    from graph import schema
    from graph.ingest import load_paths
    from graph.settings import SEED_DIR

    schema.reset(session_db)
    assert load_paths(session_db, [SEED_DIR]).ok
    proc, url = start_app(settings, tmp_path_factory)
    yield url
    stop_app(proc)
    schema.reset(session_db)


def start_app(settings, tmp_path_factory):
    """`attrib app` on a free port against the test graph: (process, its URL) once it answers."""
    port = _free_port()
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


@pytest.fixture(scope="module")
def browser():
    system_tool("chromium", CHROMIUM)
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


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


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.recorder = Recorder(pg)
    yield pg
    context.close()


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


def test_workbench_draws_the_graph_canvas(app_url, page):
    page.goto(app_url)
    settle(page)
    frame = graph_frame(page)
    assert frame is not None, "the workbench graph was not drawn"
    size = frame.evaluate("() => { const c = document.querySelector('#graph canvas');"
                          " return [c.width, c.height]; }")
    assert size[0] > 300 and size[1] > 300
    assert frame.inner_text("h1") == "AstraZeneca fake-recruiter approach"
    assert "Reuters attributes North Korea" in page.inner_text("body")
    assert page.recorder.outside() == []


def test_every_page_stays_on_localhost(app_url, page):
    for name in PAGES:
        page.goto(app_url + ("" if name == "workbench" else name))
        settle(page)
        assert "Traceback" not in page.inner_text("body"), name
    assert page.recorder.urls, "no request was recorded"
    assert page.recorder.outside() == [], page.recorder.outside()


def test_injected_names_show_as_text_and_never_run(app_url, page, tmp_path, xss):
    XSS_NAME, text = xss
    records = tmp_path / "xss-actor.yaml"
    records.write_text(text)
    page.goto(app_url + "load")
    settle(page)
    page.set_input_files('[data-testid="stFileUploaderDropzoneInput"]', str(records))
    page.get_by_role("button", name="Load uploaded files").wait_for(state="visible")
    page.wait_for_function("() => [...document.querySelectorAll('button')].some("
                           "b => b.innerText.includes('Load uploaded files') && !b.disabled)")
    page.get_by_role("button", name="Load uploaded files").click()
    page.wait_for_function("() => document.body.innerText.includes('file(s) loaded')"
                           " || document.body.innerText.includes('refused')", timeout=30000)
    settle(page)
    body = page.inner_text("body")
    assert "1 file(s) loaded" in body and "refused" not in body, body[-1500:]
    assert_no_xss(page)

    # Workbench on AstraZeneca: the injected actor disputes the claim; its name is plain text.
    page.goto(app_url + "?incident=seed:astrazeneca-2020")
    settle(page)
    assert graph_frame(page) is not None
    assert XSS_NAME in page.inner_text("body")
    assert_no_xss(page)

    # Workbench on the injected incident (its name, description and statement are markup).
    page.goto(app_url + "?incident=test:xss-incident")
    settle(page)
    assert graph_frame(page) is not None
    assert XSS_NAME in page.inner_text("body")
    assert_no_xss(page)

    # Explore: search finds it, its neighbourhood is drawn.
    page.goto(app_url + "explore?q=onerror")
    settle(page)
    assert XSS_NAME in page.get_by_role("combobox", name="Matches").input_value()
    page.get_by_role("button", name="Show neighbours").click()
    settle(page)
    assert graph_frame(page) is not None
    for frame in page.frames:  # hover every node so tooltips (escaped HTML) are built and shown
        if frame.evaluate("() => !!document.querySelector('#graph canvas')"):
            box = frame.frame_element().bounding_box()
            for dx in range(0, int(box["width"]), 60):
                page.mouse.move(box["x"] + dx, box["y"] + box["height"] / 2)
    assert_no_xss(page)

    # Compare (link with the actors to compare), Timeline, Console.
    page.goto(app_url + "compare?actors=actor:xss,attack:G0032")
    settle(page)
    assert XSS_NAME in page.inner_text("body")
    assert_no_xss(page)
    for name in ("timeline", "console", "load"):
        page.goto(app_url + name)
        settle(page)
        assert_no_xss(page)
    assert page.recorder.outside() == []


def test_draft_from_a_report_paste_review_load_open_workbench(app_url, page):
    article = Path(__file__).resolve().parents[3] / "shared" / "seed-article.txt"
    if not article.exists():
        pytest.skip(f"{article} is not present")
    page.goto(app_url + "draft")
    settle(page)
    page.get_by_role("textbox", name="Report text").fill(article.read_text())
    page.get_by_role("textbox", name="Source (key or name)").fill("Reuters")
    page.get_by_role("textbox", name="Report date (YYYY[-MM[-DD]])").fill("2020-11-27")
    page.get_by_role("textbox", name="Incident key (optional)").fill("report:browser-astrazeneca")
    page.get_by_role("textbox", name="Incident key (optional)").press("Enter")
    settle(page)
    page.get_by_role("button", name="Draft", exact=True).click()
    page.wait_for_function("() => document.body.innerText.includes('Claims')", timeout=120000)
    settle(page)
    body = page.inner_text("body")
    assert "British pharmaceutical company AstraZeneca" in body and "Pyongyang described the allegations" in body
    # review: untick the first sector the draft proposes
    first_sector = page.get_by_role("checkbox", name="sector").first
    first_sector.uncheck(force=True)
    settle(page)
    assert not first_sector.is_checked()
    page.get_by_role("button", name="Load", exact=True).click()
    page.wait_for_function("() => document.body.innerText.includes('Loaded: incident')", timeout=60000)
    settle(page)
    page.get_by_role("button", name="Open in the Workbench").click()
    page.wait_for_url(lambda url: "incident=report%3Abrowser-astrazeneca" in url and "/draft" not in url,
                      timeout=30000)
    settle(page)
    assert graph_frame(page) is not None
    body = page.inner_text("body")
    assert "Reuters" in body and "North Korea" in body and "Traceback" not in body
    assert page.recorder.outside() == [], page.recorder.outside()
