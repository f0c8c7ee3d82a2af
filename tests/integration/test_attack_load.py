"""ATT&CK (Enterprise, ICS), MISP galaxies and a MISP event in a real Neo4j: they load, reload
changes nothing, bad files write nothing, loading order does not matter, newer releases load.

The module fixture does the session's one full Enterprise load; the tests after it that reset
the graph (`db`) come last in this file.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from graph.store import schema
from app.ingest import load_paths
from tests.conftest import shared_file
from tests.unit.test_stix import newer_release

ATTACK = "src:mitre-attack"
TA = "src:misp-galaxy-threat-actor"


def files() -> dict[str, Path]:
    return {
        "enterprise": shared_file("attack", "enterprise-attack-15.1.json.gz"),
        "ics": shared_file("attack", "ics-attack-15.1.json"),
        "threat-actor": shared_file("misp-galaxy", "threat-actor.json"),
        "microsoft": shared_file("misp-galaxy", "microsoft-activity-group.json"),
        "circl": next(shared_file("misp").glob("circl-*.json")),
    }


@pytest.fixture(scope="module")
def loaded(session_db):
    """Every shared file loaded in turn into one empty graph, each one twice; the stats after
    the first and the second load of each."""
    schema.reset(session_db)
    steps = {}
    for name, path in files().items():
        first = load_paths(session_db, [path])
        assert first.ok, first.refused
        after = schema.stats(session_db)
        again = load_paths(session_db, [path])
        assert again.ok, again.refused
        steps[name] = {"first": first.written[0], "again": again.written[0], "stats": after,
                       "stats_again": schema.stats(session_db)}
        print(f"after {path.name}: {json.dumps(after, sort_keys=True)}")
    return steps


def test_every_file_loads_and_loading_again_changes_nothing(loaded):
    for name, step in loaded.items():
        assert step["stats_again"] == step["stats"], name
        assert step["again"].nodes_created == 0 and step["again"].rels_created == 0, name
        assert step["first"].nodes + step["first"].rels > 0, name
    enterprise = loaded["enterprise"]["stats"]
    assert enterprise["nodes"]["Actor"] == 148 and enterprise["nodes"]["Incident"] == 28
    assert enterprise["nodes"]["Claim"] == 12 and enterprise["nodes"]["Technique"] == 637
    assert enterprise["nodes"]["Tool"] == 677 and enterprise["relationships"]["USES"] == 13275
    ics = loaded["ics"]["stats"]
    # ICS shares groups, campaigns and software with Enterprise (same keys): only its own are new
    assert 148 < ics["nodes"]["Actor"] < 148 + 15 and 28 < ics["nodes"]["Incident"] < 28 + 6
    assert ics["nodes"]["Technique"] == 637 + 83  # ICS techniques (T08xx) are all its own
    assert ics["nodes"]["Source"] == 1  # ICS carries the same source, MITRE ATT&CK
    assert loaded["circl"]["stats"]["nodes"]["Infrastructure"] == 4
    assert loaded["circl"]["first"].skipped["'regkey|value' attributes (not modelled)"] == 1


def test_attack_facts_survive_the_galaxies(loaded, session_db):
    rows = session_db.read(
        "MATCH (a:Actor {key: 'attack:G0032'}) "
        "OPTIONAL MATCH (a)-[s:SPONSORED_BY]->(c:Country) "
        "RETURN a.name AS name, a.description AS description, a.sources AS sources, "
        "a.external_ids AS ids, collect([c.key, s.sources]) AS sponsors")
    lazarus = rows[0]
    assert lazarus["name"] == "Lazarus Group" and lazarus["description"].startswith("[Lazarus Group]")
    assert set(lazarus["sources"]) == {ATTACK, TA}
    assert lazarus["ids"] == ["G0032"]
    assert ["KP", [TA]] in lazarus["sponsors"]
    claim = session_db.read(
        "MATCH (c:Claim)-[:ABOUT]->(:Incident {key: 'attack:C0022'}), (c)-[:NAMES]->(a:Actor), "
        "(c)-[st:STATED_BY]->(s:Source) RETURN a.key AS actor, s.name AS source, c.stance AS stance, "
        "c.confidence AS confidence, c.date AS date, st.stance AS st_stance")
    assert claim == [{"actor": "attack:G0032", "source": "MITRE ATT&CK", "stance": "attributes",
                      "confidence": 90, "date": "2023-03-17", "st_stance": "attributes"}]
    undated = session_db.read(
        "MATCH ()-[r]->() WHERE $src IN coalesce(r.sources, []) AND r.created IS NULL "
        "RETURN type(r) AS t, count(*) AS n", {"src": ATTACK})
    assert undated == []
    # "Lazarus Group" is a name two ATT&CK groups share through the galaxy: one Alias, two actors
    named = session_db.read("MATCH (:Alias {key: 'lazarusgroup'})-[r:NAMES]->(a:Actor) "
                            "RETURN a.key AS key, r.sources AS sources ORDER BY key")
    assert [(r["key"], sorted(r["sources"])) for r in named] == [
        ("attack:G0032", sorted([ATTACK, TA])), ("attack:G0082", [TA])]


def bad_files(tmp_path: Path) -> list[tuple[Path, list[str]]]:
    """(file, words its error must contain) for each kind of wrong file."""
    out = []
    enterprise = files()["enterprise"]
    cut = tmp_path / "truncated-enterprise.json.gz"
    cut.write_bytes(enterprise.read_bytes()[:200_000])
    out.append((cut, ["cannot read"]))
    text = files()["ics"].read_text()
    cut_json = tmp_path / "truncated-ics.json"
    cut_json.write_text(text[: len(text) // 2])
    out.append((cut_json, ["invalid JSON"]))
    other = tmp_path / "not-stix.json"
    other.write_text(json.dumps({"name": "some other JSON", "values": 3}))
    out.append((other, ["not a format this tool reads"]))

    ics = json.loads(text)
    new_group = {"type": "intrusion-set", "spec_version": "2.1", "id": f"intrusion-set--{uuid.UUID(int=42)}",
                 "name": "Should Not Land", "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
                 "external_references": [{"source_name": "mitre-attack", "external_id": "G9042"}]}
    rels = [i for i, o in enumerate(ics["objects"]) if o["type"] == "relationship"]
    broken_at = rels[len(rels) // 2]
    broken = ics["objects"][broken_at]
    broken["target_ref"] = f"malware--{uuid.UUID(int=404)}"
    ics["objects"].append(new_group)
    missing = tmp_path / "ics-missing-object.json"
    missing.write_text(json.dumps(ics))
    out.append((missing, [broken["id"], f"objects[{broken_at}]", "target_ref", f"malware--{uuid.UUID(int=404)}"]))

    galaxy = json.loads(files()["threat-actor"].read_text())
    galaxy["values"][-1]["uuid"] = str(uuid.UUID(int=43))
    galaxy["values"][-1]["value"] = "Should Not Land Either"
    del galaxy["values"][500]["value"]
    bad_galaxy = tmp_path / "threat-actor-broken.json"
    bad_galaxy.write_text(json.dumps(galaxy))
    out.append((bad_galaxy, ["values[500]", galaxy["values"][500]["uuid"], "field 'value'"]))
    return out


def test_bad_files_are_refused_whole_and_named(loaded, session_db, tmp_path):
    before = schema.stats(session_db)
    for path, words in bad_files(tmp_path):
        report = load_paths(session_db, [path])
        assert not report.written and len(report.refused) == 1, path
        message = str(report.refused[0])
        assert str(path) in message, message
        for word in words:
            assert word in message, (word, message)
        assert schema.stats(session_db) == before, path
    assert session_db.read("MATCH (a:Actor) WHERE a.name STARTS WITH 'Should Not Land' RETURN a") == []


# -- tests below reset the graph ---------------------------------------------------------------------
def dump(db) -> tuple[list, list]:
    """Every node and relationship with its properties, lists sorted (list order follows load order)."""
    def norm(props):
        return {k: sorted(v) if isinstance(v, list) else v for k, v in props.items()}
    nodes = db.read("MATCH (n) RETURN labels(n)[0] AS label, properties(n) AS props")
    rels = db.read("MATCH (a)-[r]->(b) RETURN a.key AS a, type(r) AS t, b.key AS b, properties(r) AS props")
    return (sorted((n["label"], json.dumps(norm(n["props"]), sort_keys=True)) for n in nodes),
            sorted((r["a"], r["t"], r["b"], json.dumps(norm(r["props"]), sort_keys=True)) for r in rels))


def test_attack_then_galaxies_equals_galaxies_then_attack(db):
    f = files()
    attack, galaxies = [f["ics"]], [f["threat-actor"], f["microsoft"]]
    results = []
    for order in (attack + galaxies, galaxies + attack):
        schema.reset(db)
        for path in order:
            assert load_paths(db, [path]).ok
        results.append((schema.stats(db), dump(db)))
    (stats_a, dump_a), (stats_b, dump_b) = results
    assert stats_a == stats_b
    assert dump_a == dump_b  # not just the counts: every property of every node and relationship
    assert stats_a["nodes"]["Actor"] > 1000 and stats_a["relationships"]["SPONSORED_BY"] > 500


def test_newer_release_loads_into_the_graph(db, tmp_path):
    ics_path = files()["ics"]
    assert load_paths(db, [ics_path]).ok
    original = schema.stats(db)
    schema.reset(db)
    doc, new_types = newer_release(json.loads(ics_path.read_text()))
    newer = tmp_path / "ics-attack-99.0.json"
    newer.write_text(json.dumps(doc))
    report = load_paths(db, [newer])
    assert report.ok, report.refused
    for kind, n in new_types.items():
        assert report.written[0].skipped[f"{kind} objects (type not modelled)"] == n
    stats = schema.stats(db)
    assert stats["nodes"]["Actor"] == original["nodes"]["Actor"]  # Lazarus revoked, Diamond Sleet new
    assert stats["nodes"]["Technique"] == original["nodes"]["Technique"]
    renamed = db.read("MATCH (al:Alias)-[:NAMES]->(a:Actor {key: 'attack:G9999'}) "
                      "RETURN a.name AS name, a.external_ids AS ids, collect(al.key) AS aliases")[0]
    assert renamed["name"] == "Diamond Sleet" and renamed["ids"] == ["G9999", "G0032"]
    assert {"lazarusgroup", "hiddencobra", "diamondsleet"} <= set(renamed["aliases"])
    assert db.read("MATCH (a:Actor {key: 'attack:G0032'}) RETURN a") == []
