"""App tests: the Streamlit pages (AppTest, in-process) and the real app in chromium, against the
real test Neo4j (tests/conftest.py starts it)."""
from __future__ import annotations

import pytest
from playwright import sync_api as playwright

from graph.settings import SEED_DIR
from graph.store import schema
from app.ingest import load_paths
from tests.app.browser import CHROMIUM, CHROMIUM_ARGS, Recorder, start_app, stop_app
from tests.conftest import system_tool

# An actor whose name is an HTML injection attempt, with a claim on an incident so that it
# appears on the Workbench, in Explore, Compare and the Timeline.
XSS_NAME = '<img src=x onerror="window.__xss=1">'
XSS_RECORDS = f"""
sources:
  - {{key: "src:xss-test", name: "<script>window.__xss=1</script>", kind: other}}
actors:
  - key: "actor:xss"
    name: '{XSS_NAME}'
    kind: group
    aliases: ['<svg onload=window.__xss=1>']
    description: '[click](javascript:window.__xss=1) <b onmouseover="window.__xss=1">x</b>'
incidents:
  - key: "test:xss-incident"
    name: '<img src=y onerror="window.__xss=1"> incident'
    first_seen: "2021-03"
    description: '<script>window.__xss=1</script>'
    techniques: [T1566.003]
    sources: ["src:xss-test"]
claims:
  - incident: "test:xss-incident"
    actor: "actor:xss"
    source: "src:xss-test"
    stance: attributes
    confidence: 40
    date: "2021-03-05"
    statement: '<img src=z onerror="window.__xss=1"> said so'
  - incident: "seed:astrazeneca-2020"
    actor: "actor:xss"
    source: "src:xss-test"
    stance: disputes
    confidence: 10
    date: "2020-12-01"
"""


def pytest_collection_modifyitems(items):
    for item in items:
        if "/app/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            if "test_browser" in str(item.fspath):
                item.add_marker(pytest.mark.browser)


SEED_MARK = "MATCH (i:Incident {key: 'seed:astrazeneca-2020'}) RETURN count(i) AS n"


@pytest.fixture
def seeded(session_db):
    """A graph holding the seed story (loaded only when it is not there: loads are idempotent
    and the tests here add nothing that changes what they check)."""
    if not session_db.read(SEED_MARK)[0]["n"]:
        schema.reset(session_db)
        report = load_paths(session_db, [SEED_DIR])
        assert report.ok, report.refused
    return session_db


@pytest.fixture
def xss():
    """(the injected actor name, a record file text defining it with two claims)."""
    return XSS_NAME, XSS_RECORDS


@pytest.fixture
def app_env(monkeypatch, settings):
    """Point the in-process app at the test server and start every test with fresh caches."""
    import streamlit as st

    if not settings.external:
        monkeypatch.setenv("ATTRIB_INSTANCE", settings.instance)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield monkeypatch
    st.cache_resource.clear()


# -- the real app in chromium (tests/app/browser.py) -------------------------------------------------
@pytest.fixture(scope="module")
def app_url(settings, session_db, tmp_path_factory):
    """The seed story in the test graph, and `attrib app` serving it on a free port."""
    schema.reset(session_db)
    assert load_paths(session_db, [SEED_DIR]).ok
    proc, url = start_app(settings, tmp_path_factory)
    yield url
    stop_app(proc)
    schema.reset(session_db)


@pytest.fixture(scope="module")
def browser():
    system_tool("chromium", CHROMIUM)
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.recorder = Recorder(pg)
    yield pg
    context.close()
