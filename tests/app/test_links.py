"""Issue 27: every Workbench state is in its link, the hypothesis picker follows the incident,
and the claims table says what its verdict means (AppTest against the real test graph)."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.test_pages import ENTRY, app, frames, texts


def test_a_workbench_link_restores_incident_blind_date_and_hypothesis(seeded, app_env):
    at = AppTest.from_file(ENTRY, default_timeout=60)
    for name, value in (("incident", "seed:wannacry-2017"), ("blind", "1"), ("as_of", "2018"),
                        ("hypothesis", "attack:G0032")):
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="wb_incident").value == "seed:wannacry-2017"
    assert at.toggle(key="wb_blind").value is True and at.toggle(key="wb_use_asof").value is True
    assert at.text_input(key="wb_asof_seed:wannacry-2017").value == "2018"
    assert "'2018' counts to its end: as of 2018-12-31." in texts(at).replace("\\", "")  # plain() escapes
    (why,) = [s for s in at.selectbox if str(s.key).startswith("wb_why_")]
    assert why.value == "attack:G0032"
    # and what the page shows goes back into the link
    why.select_index(1).run()
    assert at.query_params["hypothesis"] == at.selectbox(key=why.key).value != "attack:G0032"
    at.toggle(key="wb_blind").set_value(False).run()
    assert "blind" not in at.query_params and at.query_params["as_of"] == "2018"
    at.selectbox(key="wb_incident").set_value("seed:astrazeneca-2020").run()
    assert at.query_params["incident"] == "seed:astrazeneca-2020"
    # a new incident: its own date and its own best fit
    assert at.query_params["as_of"] == "2020-11-01"
    (why,) = [s for s in at.selectbox if str(s.key).startswith("wb_why_")]
    assert why.index == 0 and at.query_params["hypothesis"] == why.value


def test_the_why_picker_is_new_for_another_incident(seeded, app_env):
    """A picker kept across incidents kept the browser's old label ("#2 Magic Hound (score +0.11,
    ...)") over the new numbers: each incident (and blind mode, date) has its own."""
    at = app()
    keys = lambda: [str(s.key) for s in at.selectbox if str(s.key).startswith("wb_why_")]  # noqa: E731
    first = keys()
    at.selectbox(key="wb_incident").set_value("seed:wannacry-2017").run()
    assert keys() != first and len(keys()) == 1
    at.toggle(key="wb_blind").set_value(True).run()
    assert len(keys()) == 1 and keys()[0] not in first


def test_the_blind_verdict_says_what_it_means(seeded, app_env):
    at = app()
    claims = frames(at)[0]
    assert all(p.endswith("%") for p in claims["blind probability"] if p)
    shown = texts(at)
    assert "inconsistent: under 10%" in shown and "not that it contradicts the claim" in shown


def test_compare_and_explore_write_their_state_into_the_link(seeded, app_env):
    at = app("views/compare.py")
    assert at.query_params["actors"] == "attack:G0032,actor:cerium,attack:G0007"
    at.multiselect(key="compare_actors").set_value(["attack:G0032", "actor:cerium"]).run()
    assert at.query_params["actors"] == "attack:G0032,actor:cerium"
    at = app("views/explore.py")
    at.text_input(key="explore_q").input("ZINC").run()
    assert at.query_params["q"] == "ZINC"
