"""`attrib export --format misp`: a MISP event JSON that PyMISP loads back and that our own MISP
loader reads into the incident's infrastructure, ATT&CK techniques and software and one
attribution claim per threat-actor tag."""
from __future__ import annotations

import json

from pymisp import MISPEvent

from app.cli import main
from graph.reads.subgraph import incident_subgraph
from graph.settings import SEED_DIR
from graph.store import schema
from app.ingest import load_paths



def export(tmp_path, incident: str, *extra: str):
    out = tmp_path / f"{incident.split()[0].lower()}.misp.json"   # the suffix picks the format
    assert main(["export", "--incident", incident, "-o", str(out), *extra]) == 0
    return out


def test_pymisp_loads_the_event_back(seeded, cli_env, tmp_path):
    path = export(tmp_path, "WannaCry", "--tlp", "amber")
    ev = MISPEvent()
    ev.load_file(str(path))
    assert ev.info == "WannaCry ransomware outbreak" and ev.date.isoformat() == "2017-05-12"
    assert ev.Orgc.name == "attrib"
    by_type = {}
    for a in ev.attributes:
        by_type.setdefault(a.type, []).append(a)
    assert [a.value for a in by_type["domain"]] == ["iuqerfsodp9ifjaposdfjhgosurijfaewrwergwea.com"]
    assert by_type["domain"][0].to_ids is True
    assert {a.value for a in by_type["target-location"]} == {"United Kingdom", "Spain", "Germany"}
    assert {a.value for a in by_type["threat-actor"]} == {"Lazarus Group", "North Korea", "Park Jin Hyok"}
    tags = {t.name for t in ev.tags}
    assert "tlp:amber" in tags and 'misp-galaxy:mitre-malware="WannaCry - S0366"' in tags
    assert {'misp-galaxy:threat-actor="Lazarus Group"', 'misp-galaxy:threat-actor="North Korea"'} <= tags
    assert any(t.startswith("misp-galaxy:mitre-attack-pattern=") and t.endswith(' - T1486"') for t in tags)
    # the denial is text in the Attribution category, the assessment an event report
    assert any("denies" in a.value for a in by_type["text"])
    assert ev.event_reports and "Ranked hypotheses" in ev.event_reports[0].content
    # the same graph gives the same file (uuids are uuid5 over keys)
    (tmp_path / "again").mkdir()
    assert export(tmp_path / "again", "WannaCry", "--tlp", "amber").read_bytes() == path.read_bytes()


def test_tlp_none_sets_no_tag(seeded, cli_env, tmp_path):
    data = json.loads(export(tmp_path, "AstraZeneca", "--tlp", "none").read_text(encoding="utf-8"))
    tags = [t["name"] for t in data["Event"]["Tag"]]
    assert not any(t.startswith("tlp:") for t in tags)
    assert 'misp-galaxy:threat-actor="North Korea"' in tags


def test_our_misp_loader_reads_the_event(seeded, cli_env, tmp_path):
    path = export(tmp_path, "WannaCry")
    uuid = json.loads(path.read_text(encoding="utf-8"))["Event"]["uuid"]
    try:
        schema.reset(seeded)
        report = load_paths(seeded, [path])
        assert report.ok, report.refused
        sub = incident_subgraph(seeded, f"misp:{uuid}")
        used = {e.target for e in sub.edges if e.source == f"misp:{uuid}" and e.type == "USED"}
        assert {"domain:iuqerfsodp9ifjaposdfjhgosurijfaewrwergwea.com", "T1210", "T1486", "T1570",
                "attack:S0366"} <= used
        claims = [n for n in sub.nodes if n.label == "Claim"]
        named = {sub.node(e.target).name for e in sub.edges if e.type == "NAMES" and sub.node(e.source).label == "Claim"}
        assert len(claims) == 3 and named == {"Lazarus Group", "North Korea", "Park Jin Hyok"}
        assert all(c.props["stance"] == "attributes" and c.props["date"] == "2017-05-12" for c in claims)
    finally:
        schema.reset(seeded)
        assert load_paths(seeded, [SEED_DIR]).ok
