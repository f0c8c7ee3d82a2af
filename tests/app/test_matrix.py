"""The ATT&CK matrix view on the Workbench and on Compare actors (AppTest, real Neo4j), and its
HTML (escaping, colours, folding)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.exports import navigator
from app.web.matrix_view import matrix_html
from graph.analysis import matrix
from graph.store import schema
from tests.conftest import load_seed_over_attack_techniques

ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "web" / "streamlit_app.py")


@pytest.fixture(scope="module")
def techniques(session_db, tmp_path_factory):
    """The seed story over ATT&CK's techniques; reset afterwards so `seeded` loads the plain seed."""
    load_seed_over_attack_techniques(session_db, tmp_path_factory.mktemp("attack"))
    yield session_db
    schema.reset(session_db)


def _frames(at: AppTest) -> list[str]:
    """The HTML of every st.iframe on the page."""
    return [e.proto.srcdoc for e in at.get("iframe") if getattr(e.proto, "srcdoc", "")]


def _matrix_frame(at: AppTest) -> str:
    found = [h for h in _frames(at) if 'class="m"' in h]
    assert len(found) == 1, "no matrix on the page"
    return found[0]


def test_workbench_matrix_against_a_chosen_hypothesis(techniques, app_env):
    at = AppTest.from_file(ENTRY, default_timeout=90)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "ATT&CK matrix" in [s.value for s in at.subheader]
    box = at.selectbox(key="wb_matrix_actor")
    lazarus = next(i for i, o in enumerate(box.options) if "Lazarus Group" in o)
    box.set_value(lazarus).run()
    assert not at.exception, [e.message for e in at.exception]
    page = _matrix_frame(at)
    assert "Initial Access" in page and "T1566.003" in page and "Spearphishing via Service" in page
    assert page.index("Reconnaissance") < page.index("Initial Access") < page.index("Impact")
    assert navigator.STATUS_COLORS["shared"] in page and "Operation Dream Job" in page   # hover text
    assert "<details open><summary>" in page    # T1566.003 folded under T1566
    assert any("Navigator layer" in b.proto.label for b in at.get("download_button"))
    at.toggle(key="wb_matrix_only").set_value(True).run()
    only = _matrix_frame(at)
    assert "T1566.003" in only and navigator.STATUS_COLORS["actor"] not in only.split('class="m"')[1]
    at.button(key="wb_matrix_stix_make").click().run()
    assert not at.exception, [e.message for e in at.exception]
    data, name, mime = at.session_state["wb_matrix_stix"]
    assert name.endswith(".json") and json.loads(data)["type"] == "bundle"


def test_compare_page_matrix(techniques, app_env):
    at = AppTest.from_file(ENTRY, default_timeout=90)
    at.run()
    at.switch_page("views/compare.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    page = _matrix_frame(at)
    assert "Techniques of Lazarus Group, CERIUM, APT28" in page and "used by 1 of 3" in page


def test_matrix_html_escapes_data_and_folds_sub_techniques():
    evil = '<img src=x onerror="window.__xss=1">'
    cells = {"T1566.003": matrix.Cell("T1566.003", evil, ["initial-access"], "T1566", "shared", 1.5,
                                      [f"{evil}: seen in {evil}"]),
             "T1078": matrix.Cell("T1078", "Valid Accounts", ["initial-access"], None, "actor", None, ["x"])}
    m = matrix.TechniqueMatrix(evil, "incident", "enterprise-attack", "15.1", cells,
                               {"T1566": evil, "T1566.003": evil, "T1078": "Valid Accounts"},
                               incident=("k", evil), actors=[("a", evil)], score=1.5)
    page = matrix_html(m)
    assert "<img" not in page and "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in page
    assert page.count("<details open>") == 1 and "+1.50" in page
    assert navigator.STATUS_COLORS["actor"] in page and "ATT&amp;CK v15.1" in page
    layer = json.loads(navigator.layer_bytes(m))
    assert [t["techniqueID"] for t in layer["techniques"]] == ["T1078", "T1566", "T1566.003"]
