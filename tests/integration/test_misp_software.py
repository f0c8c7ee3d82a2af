"""MISP software galaxies in a real Neo4j: tools with their names, `uses`/`used-by` links to actors
of another galaxy file, in whichever order the files are loaded, reloads changing nothing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.analysis import engine
from app.ingest import load_paths

UUID = "00000000-0000-4000-8000-{:012d}".format
GROUP, LONELY, EGGS, FOO = UUID(1), UUID(2), UUID(3), UUID(4)


def write_files(directory: Path) -> dict[str, Path]:
    stix = {"type": "bundle", "id": "bundle--" + UUID(9), "spec_version": "2.0", "objects": [
        {"type": "intrusion-set", "id": "intrusion-set--" + UUID(10), "name": "Group One",
         "external_references": [{"source_name": "mitre-attack", "external_id": "G0001"}]},
        {"type": "malware", "id": "malware--" + UUID(11), "name": "More_eggs", "x_mitre_aliases": ["More_eggs", "Terra Loader"],
         "external_references": [{"source_name": "mitre-attack", "external_id": "S0284"}]}]}
    actors = {"type": "threat-actor", "name": "Threat Actor", "values": [
        {"uuid": GROUP, "value": "Group One", "meta": {"refs": ["https://attack.mitre.org/groups/G0001/"]},
         "related": [{"dest-uuid": FOO, "type": "uses"}, {"dest-uuid": LONELY, "type": "similar"}]},
        {"uuid": LONELY, "value": "Lonely Bear", "meta": {"synonyms": ["Solo Bear"]}}]}
    tools = {"type": "tool", "name": "Tool", "values": [
        {"uuid": EGGS, "value": "More_eggs", "meta": {"refs": ["https://attack.mitre.org/software/S0284/"],
                                                      "synonyms": ["SpicyOmelette"]},
         "related": [{"dest-uuid": LONELY, "type": "used-by"}]},
        {"uuid": FOO, "value": "FooRAT", "meta": {"synonyms": ["Foo Loader"]}}]}
    paths = {}
    for name, doc in (("attack", stix), ("threat-actor", actors), ("tool", tools)):
        paths[name] = directory / f"{name}.json"
        paths[name].write_text(json.dumps(doc))
    return paths


def state(db) -> dict:
    tools = db.read("MATCH (t:Tool) RETURN t.key AS key, t.name AS name, t.kind AS kind, "
                    "t.availability AS availability, t.aliases AS aliases, t.sources AS sources ORDER BY key")
    uses = db.read("MATCH (a:Actor)-[r:USES]->(t:Tool) RETURN a.key AS actor, t.key AS tool, r.sources AS sources "
                   "ORDER BY actor, tool")
    actors = db.read("MATCH (a:Actor) RETURN a.key AS key ORDER BY key")
    norm = lambda rows: [{k: sorted(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
    return {"tools": norm(tools), "uses": norm(uses), "actors": [r["key"] for r in actors]}


def load_each(db, paths: list[Path]) -> None:
    for path in paths:  # one file per command: the later file finds the earlier one in the graph
        report = load_paths(db, [path])
        assert report.ok, report.refused


def test_software_galaxy_loads_in_any_order_and_reloads_unchanged(db, tmp_path):
    files = write_files(tmp_path)
    load_each(db, [files["attack"], files["threat-actor"], files["tool"]])
    first = state(db)
    assert first["actors"] == ["attack:G0001", f"misp:{LONELY}"]  # no tool became an actor
    eggs = next(t for t in first["tools"] if t["key"] == "attack:S0284")
    assert eggs["name"] == "More_eggs" and eggs["kind"] == "malware"  # ATT&CK's scalars
    assert eggs["aliases"] == sorted({"More_eggs", "SpicyOmelette", "Terra Loader"})  # ATT&CK's and the galaxy's
    foo = next(t for t in first["tools"] if t["key"] == f"misp:{FOO}")
    assert foo["name"] == "FooRAT" and foo["availability"] == "custom" and "Foo Loader" in foo["aliases"]
    assert first["uses"] == [
        {"actor": "attack:G0001", "tool": f"misp:{FOO}", "sources": ["src:misp-galaxy-threat-actor"]},
        {"actor": f"misp:{LONELY}", "tool": "attack:S0284", "sources": ["src:misp-galaxy-tool"]}]
    counts = db.read("MATCH (n) WITH count(n) AS n MATCH ()-[r]->() RETURN n, count(r) AS r")[0]
    load_each(db, [files["tool"], files["threat-actor"], files["attack"]])  # reload: nothing new
    assert state(db) == first
    assert db.read("MATCH (n) WITH count(n) AS n MATCH ()-[r]->() RETURN n, count(r) AS r")[0] == counts
    db.write("MATCH (n) DETACH DELETE n")
    load_each(db, [files["tool"], files["threat-actor"], files["attack"]])  # the other order
    assert state(db) == first


def test_galaxy_tool_links_are_engine_evidence(db, tmp_path):
    files = write_files(tmp_path)
    load_each(db, [files["tool"], files["threat-actor"]])
    engine.clear_cache()
    snap = engine.snapshot(db)
    assert "attack:S0284" in {r.key for r in snap.actor_items[f"misp:{LONELY}"]}
    assert f"misp:{FOO}" in {r.key for r in snap.actor_items["attack:G0001"]}


def test_a_bad_software_galaxy_writes_nothing(db, tmp_path):
    files = write_files(tmp_path)
    doc = json.loads(files["tool"].read_text())
    doc["values"].append({"uuid": UUID(5), "value": ""})
    files["tool"].write_text(json.dumps(doc))
    report = load_paths(db, [files["tool"]])
    assert not report.ok and "values[2]" in str(report.refused[0])
    assert db.read("MATCH (n) RETURN count(n) AS n")[0]["n"] == 0


@pytest.mark.parametrize("name", ["tool.json", "malpedia.json"])
def test_shared_software_galaxies_load(db, name):
    from tests.conftest import shared_file

    report = load_paths(db, [shared_file("misp-galaxy-software", name)])
    assert report.ok, report.refused
    assert db.read("MATCH (a:Actor) RETURN count(a) AS n")[0]["n"] == 0
    assert db.read("MATCH (t:Tool) RETURN count(t) AS n")[0]["n"] > 500
