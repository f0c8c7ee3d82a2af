"""The real app (`attrib app` on a free port) in Debian's chromium, driven by Playwright.

- the Workbench draws its graph canvas;
- no request (page, script, font, websocket, iframe) goes anywhere but 127.0.0.1;
- a record file uploaded through the Load page with an actor named like an HTML injection shows
  that name as text, and its scripts never run (`window.__xss` stays undefined) on every page.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.browser import PAGES, assert_no_xss, graph_frame, settle

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


def _why_label(db, incident: str, rank: int) -> str:
    from graph.analysis import engine, scoring

    h = engine.hypotheses(db, incident, blind=True, top=10).hypotheses[rank - 1]
    return f"#{h.rank} {h.actor.name} (score {h.score:+.2f}, {scoring.percent(h.probability)}, {h.verdict})"


def test_a_workbench_link_survives_a_reload_and_another_browser(app_url, page, browser, session_db):
    """Issue 27: /workbench?incident= opened "Page not found"; blind mode and the hypothesis were
    not in the link; after another incident the why picker still read the old one's numbers."""
    import re

    from tests.app.test_browser_truth import choose, combo

    page.goto(app_url + "workbench?incident=seed:wannacry-2017&blind=1")
    settle(page)
    assert "Page not found" not in page.inner_text("body")
    assert combo(page, "Incident").input_value().startswith("WannaCry")
    assert page.get_by_role("switch", name="Blind mode").is_checked()
    assert combo(page, "Hypothesis").input_value() == _why_label(session_db, "seed:wannacry-2017", 1)
    choose(page, "Hypothesis", re.compile(r"^#2 "))
    page.wait_for_url(re.compile(r"hypothesis="), timeout=10000)
    second = combo(page, "Hypothesis").input_value()
    assert second == _why_label(session_db, "seed:wannacry-2017", 2)
    link = page.url
    page.reload()
    settle(page)
    assert combo(page, "Hypothesis").input_value() == second and "blind=1" in page.url
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        pg = other.new_page()
        pg.goto(link)
        settle(pg)
        assert combo(pg, "Incident").input_value().startswith("WannaCry")
        assert pg.get_by_role("switch", name="Blind mode").is_checked()
        assert combo(pg, "Hypothesis").input_value() == second
    finally:
        other.close()
    choose(page, "Incident", re.compile("AstraZeneca"))
    shown = combo(page, "Hypothesis").input_value()
    assert shown == _why_label(session_db, "seed:astrazeneca-2020", int(shown[1:].split()[0])), shown
