"""The "Draft from a report" page in AppTest: paste, draft, review (untick, edit, add), load, and
switch to the Workbench on the new incident."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from graph.settings import SEED_DIR
from graph.store import schema
from app.ingest import load_paths
from tests.app.test_pages import ENTRY
from tests.conftest import REPO

ARTICLE = REPO.parent / "shared" / "seed-article.txt"


@pytest.fixture
def seed_then_clean(db):
    """The seed story; afterwards an empty graph (the draft adds an incident other tests do not expect)."""
    assert load_paths(db, [SEED_DIR]).ok
    yield db
    schema.reset(db)


def checkbox(at: AppTest, label: str, value: str):
    """The tick box of the evidence item `label` whose text field holds `value`."""
    for box in at.checkbox:
        if box.label == label and at.text_input(key=box.key.replace("_use_", "_val_")).value == value:
            return box
    raise AssertionError(f"no {label} item {value}")


def test_paste_review_load_and_open_the_workbench(seed_then_clean, app_env):
    if not ARTICLE.exists():
        pytest.skip(f"{ARTICLE} is not present")
    at = AppTest.from_file(ENTRY, default_timeout=300)
    at.run()
    at.switch_page("views/draft.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    at.text_area(key="draft_text").input(ARTICLE.read_text())
    at.text_input(key="draft_source").input("Reuters")
    at.text_input(key="draft_date").input("2020-11-27")
    at.text_input(key="draft_key").input("report:app-astrazeneca")
    at.run()
    next(b for b in at.button if b.label == "Draft").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]

    assert checkbox(at, "organization", "AstraZeneca").value is True
    assert checkbox(at, "country", "GB").value is True
    assert checkbox(at, "sector", "defense").value is False  # "had previously targeted": earlier events
    captions = "\n".join(c.value for c in at.caption)
    assert "British pharmaceutical company AstraZeneca" in captions.replace("\\", "")

    # review: untick healthcare, retype the organisation, add an infrastructure item
    checkbox(at, "sector", "healthcare").uncheck()
    org = checkbox(at, "organization", "AstraZeneca")
    at.text_input(key=org.key.replace("_use_", "_val_")).input("AstraZeneca plc")
    at.run()
    kind = next(s for s in at.selectbox if s.label == "Kind")
    kind.select("infrastructure")
    at.text_input(key=kind.key.replace("_kind", "_value")).input("account:linkedin/fake-recruiter")
    next(b for b in at.button if b.label == "Add").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    record_file = at.code[0].value
    assert "account:linkedin/fake-recruiter" not in record_file  # as kind/value, not a string
    assert "value: linkedin/fake-recruiter" in record_file and "AstraZeneca plc" in record_file

    next(b for b in at.button if b.key == "draft_load").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("report" in s.value and "app" in s.value for s in at.success)
    rows = seed_then_clean.read(
        "MATCH (i:Incident {key: 'report:app-astrazeneca'})-[:TARGETED]->(v) RETURN v.name AS name")
    names = {r["name"] for r in rows}
    assert "AstraZeneca plc" in names and "pharmaceuticals" in names and "healthcare" not in names
    claims = seed_then_clean.read(
        "MATCH (c:Claim)-[:ABOUT]->(:Incident {key: 'report:app-astrazeneca'}) "
        "MATCH (c)-[:NAMES]->(a:Actor) RETURN c.stance AS stance, a.key AS actor")
    assert {("attributes", "state:KP"), ("denies", "state:KP")} <= {(r["stance"], r["actor"]) for r in claims}

    next(b for b in at.button if b.key == "draft_open").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="wb_incident").value == "report:app-astrazeneca"


def test_a_binary_upload_is_one_clear_error(db, app_env):
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.switch_page("views/draft.py")
    at.run()
    at.text_area(key="draft_text").input("\x00\x01\x02 not text")
    at.run()
    next(b for b in at.button if b.label == "Draft").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("binary" in e.value for e in at.error)
