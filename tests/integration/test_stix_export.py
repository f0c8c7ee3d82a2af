"""`attrib export --format stix`: a valid STIX 2.1 bundle (OASIS validator: no errors, no undeclared
custom property) that holds the claims, denials as opinions and the assessment as a note, with
ids that do not change, and that loads back into an empty graph as the same incident, claims and
evidence."""
from __future__ import annotations

import json

from stix2validator import ValidationOptions, validate_string

from app import exports
from app.cli import main
from app.exports.stix import bundle
from graph.reads import explore
from graph.reads.subgraph import incident_subgraph
from graph.settings import SEED_DIR
from graph.store import schema
from app.ingest import load_paths

ROUND_TRIP = ["seed:astrazeneca-2020", "seed:wannacry-2017", "seed:li-dong-intrusions-2020",
              "seed:operation-dream-job-2020", "seed:sony-pictures-2014"]



def validation_errors(data: dict) -> list[str]:
    result = validate_string(json.dumps(data), ValidationOptions(version="2.1"))
    # 401: a custom property not declared by an extension definition (attrib declares its own)
    return [str(e) for e in result.errors] + [str(w) for w in result.warnings if "{401}" in str(w)]


def by_type(data: dict, kind: str) -> list[dict]:
    return [o for o in data["objects"] if o["type"] == kind]


def stix_bundle(db, incident: str, tlp: str | None = "clear") -> dict:
    sub = incident_subgraph(db, incident)
    job = exports.prepare(sub, "stix", exports.Options(tlp=tlp), db=db)
    return bundle(job)


def test_seed_story_holds_reuters_attribution_and_the_denial(seeded, cli_env, tmp_path):
    out = tmp_path / "az.json"
    assert main(["export", "--incident", "AstraZeneca", "--format", "stix", "-o", str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["type"] == "bundle" and validation_errors(written) == []
    objects = {o["id"]: o for o in written["objects"]}
    (campaign,) = by_type(written, "campaign")
    assert campaign["name"] == "AstraZeneca fake-recruiter approach"
    assert campaign["first_seen"].startswith("2020-11-01")
    reuters = next(o for o in by_type(written, "identity") if o["name"] == "Reuters")
    (attribution,) = [o for o in by_type(written, "relationship") if o["relationship_type"] == "attributed-to"]
    assert attribution["created_by_ref"] == reuters["id"] and attribution["confidence"] == 50
    assert attribution["source_ref"] == campaign["id"] and attribution["created"].startswith("2020-11-27")
    north_korea = objects[attribution["target_ref"]]
    assert north_korea["type"] == "identity" and north_korea["name"] == "North Korea"
    (denial,) = by_type(written, "opinion")
    assert denial["opinion"] == "strongly-disagree" and denial["object_refs"] == [attribution["id"]]
    assert objects[denial["created_by_ref"]]["name"].startswith("Government of North Korea")
    assert denial["confidence"] == 80
    # techniques carry their ATT&CK reference; the note ranks hypotheses and explains the claims
    patterns = {o["external_references"][0]["external_id"] for o in by_type(written, "attack-pattern")}
    assert {"T1566.003", "T1585.001"} <= patterns
    (note,) = by_type(written, "note")
    assert set(note["object_refs"]) == {campaign["id"], attribution["id"], denial["id"]}
    assert "1. Lazarus Group" in note["content"] and "supports:" in note["content"] and "weakens:" in note["content"]
    assert "Reuters attributes it to North Korea (confidence 50, 2020-11-27)" in note["content"]
    # TLP: the default is clear, the standard TLP:WHITE marking on every object
    white = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
    assert objects[white]["definition"] == {"tlp": "white"}
    assert all(o.get("object_marking_refs") == [white] for o in written["objects"]
               if o["type"] not in ("marking-definition", "identity") or o.get("x_attrib_key"))


def test_every_seed_incident_validates_with_stable_ids(seeded):
    union = {}
    for row in explore.incidents(seeded):
        first = stix_bundle(seeded, row["key"], tlp="amber+strict")
        assert len({o["id"] for o in first["objects"]}) == len(first["objects"])
        union.update((o["id"], o) for o in first["objects"])
    for key in ROUND_TRIP[:2]:  # the same graph gives the same ids
        first, again = (stix_bundle(seeded, key, tlp="amber+strict") for _ in range(2))
        assert [o["id"] for o in first["objects"]] == [o["id"] for o in again["objects"]]
        assert first["id"] == again["id"]
    # one validator run over every object of every incident's bundle (about 400; ~6 ms each)
    assert validation_errors({"type": "bundle", "id": first["id"], "objects": list(union.values())}) == []
    plain = stix_bundle(seeded, "seed:wannacry-2017", tlp="none")
    assert not by_type(plain, "marking-definition")
    assert not any("object_marking_refs" in o for o in plain["objects"])
    (indicator,) = by_type(plain, "indicator")
    assert indicator["pattern"] == "[domain-name:value = 'iuqerfsodp9ifjaposdfjhgosurijfaewrwergwea.com']"


def summary(db, key: str) -> dict:
    """What the round trip must keep: the incident, its claims, its evidence."""
    sub = incident_subgraph(db, key)
    inc = sub.node(key)
    claims = set()
    for c in (n for n in sub.nodes if n.label == "Claim"):
        ends = {e.type: e.target for e in sub.edges if e.source == c.id}
        claims.add((c.key, ends.get("NAMES"), ends.get("STATED_BY"), c.props.get("stance"),
                    c.props.get("confidence"), c.props.get("date"), c.props.get("statement")))
    evidence = {(e.type, e.target) for e in sub.edges if e.source == key and e.type in ("USED", "TARGETED")}
    return {"incident": {k: inc.props.get(k) for k in ("key", "name", "first_seen", "last_seen", "description")},
            "claims": claims, "evidence": evidence}


def test_round_trip_into_an_empty_graph(seeded, tmp_path):
    before, files = {}, []
    for key in ROUND_TRIP:
        before[key] = summary(seeded, key)
        path = tmp_path / f"{key.split(':')[1]}.json"
        exports.export(incident_subgraph(seeded, key), "stix", path, exports.Options(tlp="green"), db=seeded)
        files.append(path)
    assert any(s["claims"] and any(c[3] == "denies" for c in s["claims"]) for s in before.values())
    assert any(("USED", k) for s in before.values() for (_, k) in s["evidence"] if k.startswith("domain:"))
    try:
        schema.reset(seeded)
        report = load_paths(seeded, files)
        assert report.ok, report.refused
        for key in ROUND_TRIP:
            assert summary(seeded, key) == before[key], key
    finally:
        schema.reset(seeded)
        assert load_paths(seeded, [SEED_DIR]).ok


def test_actor_bundle(seeded, cli_env, tmp_path):
    out = tmp_path / "lazarus.json"
    assert main(["export", "--actor", "Lazarus Group", "--format", "stix", "-o", str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert validation_errors(written) == []
    (group,) = by_type(written, "intrusion-set")
    assert group["name"] == "Lazarus Group" and "ZINC" in group["aliases"]
    attributions = [o for o in by_type(written, "relationship") if o["relationship_type"] == "attributed-to"]
    assert attributions and all(o["target_ref"] == group["id"] for o in attributions)
    assert {o["source_ref"] for o in attributions} <= {o["id"] for o in by_type(written, "campaign")}
    assert any(o["relationship_type"] == "uses" and o["source_ref"] == group["id"] for o in by_type(written, "relationship"))


def test_query_bundle(seeded, cli_env, tmp_path):
    out = tmp_path / "query.json"
    assert main(["export", "--query", "incident_neighbourhood", "--param", "incident=WannaCry",
                 "--format", "stix", "-o", str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert validation_errors(written) == []
    assert [o["name"] for o in by_type(written, "campaign")] == ["WannaCry ransomware outbreak"]
    assert len(by_type(written, "opinion")) == 1 and by_type(written, "note")
