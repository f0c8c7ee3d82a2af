"""ATT&CK Navigator layers and the matrix data behind them (graph/analysis/matrix.py, app/exports/navigator.py).

Enterprise: the seed story over the ATT&CK v15.1 techniques (a slice of the shared bundle: every
attack-pattern and subtechnique-of link, named like the release file so the version is read);
ICS: the whole shared ICS v15.1 bundle (its x-mitre-collection names the version)."""
from __future__ import annotations

import json
import re

import pytest

from app import exports
from app.cli import main
from app.exports import navigator
from graph.analysis import matrix
from graph.reads.subgraph import incident_subgraph
from app.ingest import load_paths
from tests.conftest import load_seed_over_attack_techniques, shared_file

ICS = ("attack", "ics-attack-15.1.json")
HEX = "#" + "[0-9A-Fa-f]" * 6


def _attack_ids(bundle: dict) -> set[str]:
    return {r["external_id"] for o in bundle["objects"] if o["type"] == "attack-pattern"
            and not o.get("revoked") and not o.get("x_mitre_deprecated")
            for r in o.get("external_references", []) if r.get("source_name") in ("mitre-attack", "mitre-ics-attack")}


@pytest.fixture(scope="module")
def enterprise(session_db, tmp_path_factory):
    return _attack_ids(load_seed_over_attack_techniques(session_db, tmp_path_factory.mktemp("attack")))


def _check_layer(layer: dict, attack_ids: set[str], domain: str) -> None:
    """The fields Navigator's layer format 4.5 requires, with the types it expects."""
    assert isinstance(layer["name"], str) and layer["name"]
    assert layer["domain"] == domain
    assert layer["versions"] == {"attack": "15.1", "navigator": "4.9.1", "layer": "4.5"}
    assert isinstance(layer["techniques"], list) and layer["techniques"]
    for t in layer["techniques"]:
        assert t["techniqueID"] in attack_ids, t["techniqueID"]
        assert "score" not in t or isinstance(t["score"], (int, float))
        assert "color" not in t or re.fullmatch(HEX, t["color"])
        for m in t.get("metadata", []):
            assert isinstance(m["name"], str) and isinstance(m["value"], str)
        if "." in t["techniqueID"] and "color" in t:
            parent = t["techniqueID"].split(".")[0]
            assert any(p["techniqueID"] == parent and p.get("showSubtechniques") for p in layer["techniques"])
    g = layer["gradient"]
    assert len(g["colors"]) >= 2 and g["maxValue"] > g["minValue"]
    assert layer["legendItems"] and all(i["label"] and i["color"] for i in layer["legendItems"])
    for m in layer["metadata"]:
        assert isinstance(m["name"], str) and isinstance(m["value"], str)


def test_astrazeneca_vs_lazarus(enterprise, session_db, tmp_path):
    m = matrix.incident_vs_actor(session_db, "AstraZeneca", "Lazarus Group")
    assert m.domain == "enterprise-attack" and m.attack_version == "15.1" and not m.left_out
    spear = m.cells["T1566.003"]
    assert spear.status == "shared" and spear.parent == "T1566" and spear.tactics == ["initial-access"]
    assert spear.score > 0 and any("Operation Dream Job" in line for line in spear.evidence)
    assert {c.status for c in m.cells.values()} >= {"shared", "actor"}
    # the score of each incident technique is its contribution in the engine's blind hypothesis
    from graph.analysis import engine
    hyp = engine.hypotheses(session_db, "AstraZeneca", blind=True, top=0).get("attack:G0032")
    for cell in m.cells.values():
        if cell.status != "actor":
            assert cell.score == round(hyp.contribution(cell.id).contribution, 3)

    sub = incident_subgraph(session_db, "AstraZeneca")
    out = tmp_path / "layer.json"
    exports.export(sub, "navigator", out, exports.Options(actor="Lazarus Group"), db=session_db)
    layer = json.loads(out.read_text())
    _check_layer(layer, enterprise, "enterprise-attack")
    by_id = {t["techniqueID"]: t for t in layer["techniques"]}
    assert by_id["T1566.003"]["color"] == navigator.STATUS_COLORS["shared"]
    assert "Operation Dream Job" in by_id["T1566.003"]["comment"]
    assert by_id["T1566"]["showSubtechniques"] is True
    assert {i["label"].split(":")[0] for i in layer["legendItems"]} == {"shared", "incident only", "actor only"}


def test_a_claimed_state_is_no_technique_profile(enterprise, session_db):
    # North Korea (a state) is weighed through its groups: no profile of its own, so every
    # technique of the incident is "incident only", unscored by a hypothesis
    m = matrix.incident_vs_actor(session_db, "AstraZeneca", "state:KP")
    assert m.cells and {c.status for c in m.cells.values()} == {"incident"} and m.score is None


def test_comparison_layer(enterprise, session_db, tmp_path):
    sub = incident_subgraph(session_db, "AstraZeneca")  # the comparison ignores the subgraph's focus
    out = tmp_path / "compare.json"
    exports.export(sub, "navigator", out, exports.Options(actors=("Lazarus Group", "APT28", "ZINC")),
                   db=session_db)
    layer = json.loads(out.read_text())
    _check_layer(layer, enterprise, "enterprise-attack")
    assert "Lazarus Group" in layer["description"] and len(layer["legendItems"]) == 2  # ZINC is Lazarus
    scored = [t for t in layer["techniques"] if "score" in t]
    assert {t["score"] for t in scored} <= {1.0, 2.0}
    both = [t for t in scored if t["score"] == 2.0]
    assert both and all(t["metadata"][0]["value"] == "Lazarus Group, APT28" for t in both)


def test_cli_layers(enterprise, cli_env, tmp_path, capsys):
    out = tmp_path / "layer.json"
    assert main(["export", "--incident", "AstraZeneca", "--actor", "Lazarus Group", "--format", "navigator",
                 "-o", str(out)]) == 0
    layer = json.loads(out.read_text())
    _check_layer(layer, enterprise, "enterprise-attack")
    assert layer["name"] == "AstraZeneca fake-recruiter approach vs Lazarus Group"
    assert main(["export", "--actors", "Lazarus Group,APT28", "--format", "navigator", "-o", str(out)]) == 0
    layer = json.loads(out.read_text())
    _check_layer(layer, enterprise, "enterprise-attack")
    assert [m["value"] for m in layer["metadata"] if m["name"] == "actors"] == \
        ["Lazarus Group (attack:G0032), APT28 (attack:G0007)"]
    capsys.readouterr()
    assert main(["export", "--incident", "AstraZeneca", "--format", "navigator", "-o", str(out)]) == 1
    assert "--incident X --actor NAME" in capsys.readouterr().err
    assert main(["export", "--actors", "Lazarus Group,No Such Group", "--format", "navigator", "-o", str(out)]) == 1
    assert "no actor is called 'No Such Group'" in capsys.readouterr().err


def test_a_layer_needs_an_actor(enterprise, session_db, tmp_path):
    sub = incident_subgraph(session_db, "AstraZeneca")
    with pytest.raises(exports.ExportError, match="--incident X --actor NAME"):
        exports.export(sub, "navigator", tmp_path / "x.json", exports.Options(), db=session_db)


def test_ics_layer(db, tmp_path):
    path = shared_file(*ICS)
    report = load_paths(db, [path])
    assert report.ok, report.refused
    m = matrix.incident_vs_actor(db, "C0025", "Sandworm Team")
    assert m.domain == "ics-attack" and m.attack_version == "15.1"
    assert [t for t, _ in m.tactics()][:2] == ["initial-access", "execution"]
    layer = navigator.layer(m)
    _check_layer(layer, _attack_ids(json.loads(path.read_text())), "ics-attack")
    assert any(t.get("color") == navigator.STATUS_COLORS["shared"] for t in layer["techniques"])
