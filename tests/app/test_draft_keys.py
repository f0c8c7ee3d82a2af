"""The Draft page never merges a draft silently into another incident: pasted texts without a key
load as incidents of their own, and loading onto a key the graph holds asks first."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.test_pages import ENTRY
from tests.integration.test_extract_keys import INCIDENT, RAIL, WATER


def draft(at: AppTest, text: str, key: str = "") -> None:
    at.text_area(key="draft_text").input(text)
    at.text_input(key="draft_key").input(key)
    at.run()
    next(b for b in at.button if b.label == "Draft").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]


def click(at: AppTest, key: str) -> None:
    next(b for b in at.button if b.key == key).click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]


def test_two_pastes_load_as_two_incidents_and_a_known_key_asks_first(db, app_env):
    at = AppTest.from_file(ENTRY, default_timeout=300)
    at.run()
    at.switch_page("views/draft.py")
    at.run()
    draft(at, WATER)
    click(at, "draft_load")
    draft(at, RAIL)
    click(at, "draft_load")
    assert not at.warning, [w.value for w in at.warning]
    keys = [r["key"] for r in db.read("MATCH (i:Incident) RETURN i.key AS key ORDER BY i.first_seen")]
    assert len(keys) == 2, keys

    draft(at, RAIL, key=keys[0])  # onto the water utility's incident
    before = db.read(INCIDENT, {"key": keys[0]})
    click(at, "draft_load")
    assert any("already holds the incident" in w.value for w in at.warning), [w.value for w in at.warning]
    assert db.read(INCIDENT, {"key": keys[0]}) == before  # asked, nothing written
    click(at, "draft_merge")
    assert not at.warning and any("Loaded" in s.value for s in at.success)
    after = db.read(INCIDENT, {"key": keys[0]})[0]
    assert "ip:45.77.12.9" in after["infrastructure"] and after["links"] > before[0]["links"]
    assert db.read("MATCH (i:Incident) RETURN count(i) AS n")[0]["n"] == 2
