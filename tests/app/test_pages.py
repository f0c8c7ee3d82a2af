"""Every page of the Streamlit app, run in-process with AppTest against the real test Neo4j."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from graph.store import schema

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "web" / "streamlit_app.py")
PAGES = ["views/workbench.py", "views/explore.py", "views/compare.py", "views/timeline.py",
         "views/load.py", "views/draft.py", "views/console.py"]


def app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "text", "info", "warning", "error", "success", "subheader", "title"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def frames(at: AppTest):
    return [d.value for d in at.dataframe]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_seed_graph(seeded, app_env, page):
    at = app(page)
    assert at.title, f"{page} shows no title"


def test_workbench_opens_on_astrazeneca_with_claims(seeded, app_env):
    at = app()
    assert at.selectbox(key="wb_incident").value == "seed:astrazeneca-2020"
    claims = frames(at)[0]
    rows = {(r.source, r.stance, r.actor) for r in claims.itertuples()}
    assert ("Reuters", "attributes", "North Korea") in rows
    assert any(stance == "denies" and actor == "North Korea" for _, stance, actor in rows)
    assert {"date", "source", "reliability", "stance", "confidence", "blind rank", "blind verdict"} <= set(claims.columns)
    assert all(v in ("strong", "moderate", "weak", "inconsistent", "cannot be weighed") for v in claims["blind verdict"])
    assert "Hypotheses" in texts(at)
    hyps = frames(at)[1]
    assert hyps["actor"].iloc[-1].startswith("an unknown actor")
    assert any(a.startswith("Lazarus Group") for a in hyps["actor"])
    assert {"rank", "score", "probability", "verdict"} <= set(hyps.columns)
    assert all(p.endswith("%") for p in hyps["probability"])
    ach = at.dataframe[2].value  # the ACH matrix (a Styler's data)
    ach = getattr(ach, "data", ach)
    assert "an unknown actor" in ach.columns and "weight" in ach.columns
    why = frames(at)[3]
    assert abs(why["contribution"].sum() - hyps["score"].iloc[0]) < 0.01  # the score is the sum shown


def test_workbench_follows_the_incident_query_parameter(seeded, app_env):
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.query_params["incident"] = "seed:wannacry-2017"
    at.run()
    assert not at.exception
    assert at.selectbox(key="wb_incident").value == "seed:wannacry-2017"


def test_workbench_blind_mode_and_as_of_run(seeded, app_env):
    at = app()
    at.toggle(key="wb_blind").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    assert "blind: claims ignored" in texts(at)
    at.toggle(key="wb_use_asof").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]


def test_empty_graph_says_what_to_do(db, app_env):
    at = app()
    assert "Load page" in texts(at)


def test_explore_search_by_alias_shows_the_actor_and_a_capped_graph(seeded, app_env):
    at = app("views/explore.py")
    at.text_input(key="explore_q").input("ZINC").run()
    pick = at.selectbox(key="explore_pick")
    assert any("Lazarus Group" in o for o in pick.options), pick.options
    [b for b in at.button if b.label == "Show neighbours"][0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Showing" in texts(at)
    # a small cap leaves things out, and the page says so
    at.slider(key="explore_cap").set_value(50).run()
    at.text_input(key="explore_since").input("2020").run()
    assert not at.exception
    table = frames(at)[-1]
    assert "Lazarus Group" in set(table["name"])


def test_explore_shortest_path(seeded, app_env):
    at = app("views/explore.py")
    at.text_input(key="path_a").input("AstraZeneca").run()
    at.text_input(key="path_b").input("APT29").run()
    [b for b in at.button if b.label == "Find shortest path"][0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Showing" in texts(at)


def test_explore_refuses_a_bad_date_filter(seeded, app_env):
    at = app("views/explore.py")
    at.text_input(key="explore_q").input("Lazarus").run()
    [b for b in at.button if b.label == "Show neighbours"][0].click().run()
    at.text_input(key="explore_since").input("last year").run()
    assert not at.exception
    assert "YYYY" in "\n".join(str(e.value) for e in at.error)


def test_compare_shows_shared_and_distinctive(seeded, app_env):
    at = app("views/compare.py")
    assert at.multiselect(key="compare_actors").value == ["attack:G0032", "actor:cerium", "attack:G0007"]
    shared = frames(at)[0]
    assert {"item", "weight", "Lazarus Group", "CERIUM"} <= set(shared.columns)
    assert shared["weight"].between(0, 1).all()
    at.radio(key="compare_cat").set_value("tools").run()
    assert not at.exception


def test_timeline_per_source(seeded, app_env):
    at = app("views/timeline.py")
    at.radio(key="timeline_per").set_value("source").run()
    assert not at.exception
    claims = frames(at)[0]
    assert "Reuters" in set(claims["source"])


def test_load_refuses_a_bad_file_with_the_named_error(seeded, app_env):
    at = app("views/load.py")
    good = b"sources: [{key: src:app-test, name: App test, kind: news}]\n"
    bad = (b"claims: [{incident: seed:astrazeneca-2020, actor: state:KP, source: src:reuters, "
           b"stance: attributes, confidence: 101, date: 2020}]\n")
    at.file_uploader(key="load_files").set_value([("good.yaml", good, "application/yaml"),
                                                  ("bad-claims.yaml", bad, "application/yaml")]).run()
    [b for b in at.button if b.label == "Load uploaded files"][0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    shown = texts(at)
    assert "1 file(s) refused" in shown
    refused = frames(at)[-1]
    assert len(refused) == 1  # one row per refused file, and the error is shown once (the table)
    row = refused.iloc[0]
    # the upload's own name: neither the temporary folder nor the per-upload sub-folder ("001/")
    assert row["file"] == "bad-claims.yaml"
    assert row["field"] == "confidence" and row["record"].startswith("claims[0]") and row["what to do"]
    assert "attrib-upload" not in shown + refused.to_string()
    assert "confidence" not in shown  # not repeated below the table
    assert "1 file(s) loaded" in shown
    assert seeded.read("MATCH (s:Source {key: 'src:app-test'}) RETURN count(s) AS n")[0]["n"] == 1


def test_console_runs_a_saved_query_and_refuses_a_write(seeded, app_env):
    at = app("views/console.py")
    at.selectbox(key="console_saved").set_value("incident_claims").run()
    at.button(key="console_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    result = frames(at)[0]
    assert "Reuters" in result.to_string() and len(result) >= 2
    at.selectbox(key="console_saved").set_value("(write your own)").run()
    at.text_area(key="console_text_(write your own)").set_value("MATCH (n) DETACH DELETE n").run()
    at.button(key="console_run").click().run()
    assert at.error and "refused" in at.error[0].value.lower()
    assert schema.stats(seeded)["nodes"]["Incident"] >= 8


def test_workbench_exports_an_svg_for_download(seeded, app_env):
    at = app()
    at.selectbox(key="wb_export_fmt").set_value("svg").run()
    at.button(key="wb_export_make").click().run()
    assert not at.exception, [e.message for e in at.exception]
    data, name, mime = at.session_state["wb_export_file"]
    assert name.endswith(".svg") and mime == "image/svg+xml" and data.startswith(b"<")
    assert b"AstraZeneca" in data


def _title_input(at: AppTest, prefix: str):
    (box,) = [t for t in at.text_input if str(t.key).startswith(f"{prefix}_title_")]
    return box


def test_workbench_export_follows_the_incident_and_the_options(seeded, app_env):
    """Issue 18 item 1: what is prepared belongs to the incident, format, TLP and title chosen."""
    at = app()
    at.selectbox(key="wb_export_fmt").set_value("svg").run()
    at.button(key="wb_export_make").click().run()
    data, name, _ = at.session_state["wb_export_file"]
    assert name == "astrazeneca-fake-recruiter-approach.svg" and b"AstraZeneca fake-recruiter approach" in data
    at.selectbox(key="wb_incident").set_value("seed:wannacry-2017").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "wb_export_file" not in at.session_state        # the AstraZeneca file is gone
    assert _title_input(at, "wb_export").value == "WannaCry ransomware outbreak"
    at.button(key="wb_export_make").click().run()
    data, name, _ = at.session_state["wb_export_file"]
    assert name == "wannacry-ransomware-outbreak.svg"
    assert b"WannaCry ransomware outbreak" in data and b"AstraZeneca fake-recruiter" not in data
    for widget, value in (("wb_export_fmt", "html"), ("wb_export_tlp", "red")):
        at.button(key="wb_export_make").click().run()
        assert "wb_export_file" in at.session_state
        at.selectbox(key=widget).set_value(value).run()
        assert "wb_export_file" not in at.session_state, widget
    at.button(key="wb_export_make").click().run()
    _title_input(at, "wb_export").set_value("Briefing 7").run()
    assert "wb_export_file" not in at.session_state
    at.selectbox(key="wb_export_fmt").set_value("stix").run()   # formats that read the graph too
    at.button(key="wb_export_make").click().run()
    data, name, mime = at.session_state["wb_export_file"]
    assert name == "briefing-7.json" and mime.startswith("application/stix+json")
    assert b'"attributed-to"' in data and b'"type": "note"' in data


def test_export_tlp_none_prints_no_marking(seeded, app_env):
    """Issue 18 item 2: the default is clear (as the README says); "none" prints no banner."""
    at = app()
    assert at.selectbox(key="wb_export_tlp").value == "clear"
    at.selectbox(key="wb_export_fmt").set_value("svg").run()
    at.button(key="wb_export_make").click().run()
    assert b"TLP:CLEAR" in at.session_state["wb_export_file"][0]
    at.selectbox(key="wb_export_tlp").set_value("none").run()
    at.button(key="wb_export_make").click().run()
    assert b"TLP:" not in at.session_state["wb_export_file"][0]


def test_console_export_follows_the_query(seeded, app_env):
    at = app("views/console.py")
    at.selectbox(key="console_saved").set_value("incident_claims").run()
    at.button(key="console_run").click().run()
    first = _title_input(at, "console_export").value
    at.selectbox(key="console_export_fmt").set_value("svg").run()
    at.button(key="console_export_make").click().run()
    assert at.session_state["console_export_file"][1].endswith(".svg")
    at.selectbox(key="console_saved").set_value("(write your own)").run()
    at.text_area(key="console_text_(write your own)").set_value("MATCH (i:Incident) RETURN i LIMIT 3").run()
    at.button(key="console_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "console_export_file" not in at.session_state
    assert first == "Claims about an incident" and _title_input(at, "console_export").value == "Query result"


def test_workbench_as_of_starts_at_first_seen_and_says_why(seeded, app_env):
    """Issue 18 item 5: the as-of date starts at the incident's first-seen day, every claim left
    out says why, and a date before the incident is explained next to the control."""
    at = app()
    at.toggle(key="wb_use_asof").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    box = at.text_input(key="wb_asof_seed:astrazeneca-2020")
    assert box.value == "2020-11-01"
    claims = frames(at)[0]
    assert all(v.startswith("not scored: made 2020-11-27, after the as-of date 2020-11-01")
               for v in claims["blind verdict"]), list(claims["blind verdict"])
    box.input("2019-01-01").run()
    assert not at.exception
    assert any("first seen 2020-11-01" in e.value.replace("\\", "") for e in at.error)  # plain() escapes
    assert "--as-of" not in texts(at) and "Hypotheses" not in [s.value for s in at.subheader]
    at.text_input(key="wb_asof_seed:astrazeneca-2020").input("2020-12-31").run()
    claims, hyps = frames(at)[0], frames(at)[1]
    assert not any(str(v).startswith("not scored") for v in claims["blind verdict"])
    unknown = hyps.iloc[-1]
    assert unknown["actor"] == "an unknown actor" and unknown.notna().all()  # a meaning, not None
    assert "baseline" in unknown["also known as"]
