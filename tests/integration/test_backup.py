"""`attrib backup` / `attrib restore` give back the identical graph (every node, relationship and
property, with its type), both ways; a restore goes into an empty database only; `attrib reset`
keeps a backup of hand-loaded work."""
from __future__ import annotations

import gzip
from collections import Counter

import pytest

from app.cli import main
from graph.errors import ValidationError
from graph.settings import SEED_DIR
from app import backup
from graph.store import schema
from app.ingest import load_paths
from tests.conftest import shared_file

# One node with a property of every type Neo4j stores, so the logical format must keep types.
EVERY_TYPE = """
CREATE (:Probe:Extra {key: 'probe:types', text: 'naïve \\u00e9 "q"', int: 9007199254740993, float: 1.5,
        whole_float: 2.0, nan: 0.0/0.0, inf: 1.0/0.0, flag: true, ints: [1, 2], strings: ['a', 'b'],
        floats: [0.5], empty: [], when: date('2020-11-27'),
        at: datetime('2020-11-27T10:15:30.123456789+01:00'),
        at_zone: datetime('2020-11-27T10:15:30[Europe/Berlin]'),
        local_at: localdatetime('2020-11-27T10:15:30'), clock: time('10:15:30+02:00'),
        local_clock: localtime('10:15:30.5'), span: duration('P1Y2M3DT4H5M6.000000007S'),
        spot: point({x: 1.5, y: -2}), spot3: point({longitude: 2.3, latitude: 48.8, height: 35}),
        bytes: $raw})
"""


def _value(v):
    """A property value as comparable text, its type included (1 and 1.0, dates and strings differ)."""
    if isinstance(v, list):
        return ("list", tuple(_value(x) for x in v))
    if isinstance(v, float) and v != v:
        return ("float", "nan")
    return (type(v).__name__, repr(v))


def snapshot(db) -> tuple[Counter, Counter]:
    """Every node (labels, properties) and relationship (ends, type, properties) of the graph."""
    def work(tx):
        nodes = {r["id"]: (tuple(sorted(r["labels"])), tuple(sorted((k, _value(v)) for k, v in r["props"].items())))
                 for r in tx.run("MATCH (n) RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props")}
        rels = Counter((nodes[r["s"]], r["type"], tuple(sorted((k, _value(v)) for k, v in r["props"].items())),
                        nodes[r["e"]])
                       for r in tx.run("MATCH (a)-[r]->(b) RETURN elementId(a) AS s, elementId(b) AS e, "
                                       "type(r) AS type, properties(r) AS props"))
        return Counter(nodes.values()), rels
    return db.execute_read(work)


@pytest.fixture
def curated(db):
    """The seed story, ATT&CK-style feed data (a MISP galaxy) and the every-type probe."""
    report = load_paths(db, [SEED_DIR, shared_file("misp-galaxy", "microsoft-activity-group.json")])
    assert report.ok, report.refused
    db.write(EVERY_TYPE, {"raw": b"\x00\x01\xff"})
    db.write("MATCH (p:Probe), (i:Incident {key: 'seed:astrazeneca-2020'}) "
             "CREATE (p)-[:PROBES {at: datetime('2021-01-01T00:00:00Z'), weights: [0.25, 0.5], note: 'x'}]->(i)")
    before = snapshot(db)
    assert sum(before[0].values()) > 200 and sum(before[1].values()) > 400
    return before


def test_logical_round_trip(curated, db, settings, tmp_path):
    path = tmp_path / "graph.jsonl.gz"
    made = backup.backup(settings, path, "logical")
    assert (made.nodes, made.relationships) == (sum(curated[0].values()), sum(curated[1].values()))
    assert gzip.open(path, "rt").readline().startswith('{"format": "attrib-graph-backup"')

    with pytest.raises(backup.NotEmpty):  # never into a graph that holds data
        backup.restore(settings, path)
    assert snapshot(db) == curated

    schema.reset(db)
    restored = backup.restore(settings, path)
    assert (restored.nodes, restored.relationships) == (made.nodes, made.relationships)
    assert snapshot(db) == curated
    assert not db.read("MATCH (n:AttribRestore) RETURN count(n) AS n")[0]["n"]
    assert not db.read("SHOW INDEXES YIELD name WHERE name = 'attrib_restore_id' RETURN name")


def test_incomplete_backup_is_refused_and_nothing_written(curated, db, settings, tmp_path):
    path = tmp_path / "graph.jsonl.gz"
    backup.backup(settings, path, "logical")
    lines = gzip.open(path, "rt").read().splitlines()
    for name, kept in (("cut.jsonl.gz", lines[: len(lines) // 2]),  # no end marker
                       ("orphan.jsonl.gz", lines[:1] + [line for line in lines if '"rel"' in line[:8]])):
        broken = tmp_path / name
        broken.write_bytes(gzip.compress("\n".join(kept).encode() + b"\n"))
        schema.reset(db)
        with pytest.raises(ValidationError) as info:
            backup.restore(settings, broken)
        assert str(broken) in str(info.value)
        assert db.read("MATCH (n) RETURN count(n) AS n")[0]["n"] == 0


def test_dump_round_trip(curated, db, settings, tmp_path):
    if settings.external:
        pytest.skip("NEO4J_URI is set: neo4j-admin dump needs the local instance")
    path = tmp_path / "graph.dump"
    made = backup.backup(settings, path, "dump", log=lambda msg: None)
    assert made.format == "dump" and path.stat().st_size > 0
    assert (made.nodes, made.relationships) == (sum(curated[0].values()), sum(curated[1].values()))
    db.check()  # the server is back after the dump
    with pytest.raises(backup.NotEmpty):
        backup.restore(settings, path, log=lambda msg: None)
    schema.reset(db)
    backup.restore(settings, path, log=lambda msg: None)
    assert snapshot(db) == curated
    # The other way: the dump's graph backed up logically and restored gives it again.
    logical = tmp_path / "graph.jsonl.gz"
    backup.backup(settings, logical, "logical")
    schema.reset(db)
    backup.restore(settings, logical)
    assert snapshot(db) == curated


def test_reset_asks_for_yes_and_says_how_to_back_up(db, cli_env, capsys):
    db.write("CREATE (:Source {key: 'src:x', name: 'X', kind: 'news'})")
    assert main(["reset"]) == 1
    err = capsys.readouterr().err
    assert "--yes" in err and "attrib backup FILE" in err
    assert db.read("MATCH (n) RETURN count(n) AS n")[0]["n"] == 1


def _automatic(settings) -> set:
    return set(settings.backup_dir.glob(f"before-reset-{settings.instance}-*"))


def test_reset_backs_up_hand_loaded_records(curated, db, settings, cli_env, capsys):
    if settings.external:
        pytest.skip("NEO4J_URI is set: the automatic backups are named after the local instance")
    settings.backup_dir.mkdir(parents=True, exist_ok=True)
    before = _automatic(settings)
    # Older automatic backups (names sort by time): only the newest five stay.
    old = [settings.backup_dir / f"before-reset-{settings.instance}-2000010{i}T000000000000Z.jsonl.gz"
           for i in range(1, 7)]
    for p in old:
        p.write_bytes(b"")
    try:
        assert main(["reset", "--yes"]) == 0
        err = capsys.readouterr().err
        made = _automatic(settings) - before - set(old)
        assert len(made) == 1 and "records loaded by hand" in err, err
        assert db.read("MATCH (n) RETURN count(n) AS n")[0]["n"] == 0
        kept = sorted(_automatic(settings))
        assert len(kept) == backup.KEEP_AUTOMATIC and kept[-1] in made
        assert main(["restore", str(next(iter(made)))]) == 0
        assert snapshot(db) == curated

        assert main(["reset", "--yes", "--no-backup"]) == 0
        assert _automatic(settings) == set(kept)
    finally:
        for p in _automatic(settings) - before:
            p.unlink()


def test_reset_of_feed_data_only_makes_no_backup(db, settings, cli_env, capsys, tmp_path):
    report = load_paths(db, [shared_file("misp-galaxy", "microsoft-activity-group.json")])
    assert report.ok, report.refused
    assert not backup.has_hand_curated(db)
    before = _automatic(settings) if settings.backup_dir.exists() else set()
    assert main(["reset", "--yes"]) == 0
    assert "loaded by hand" not in capsys.readouterr().err
    assert (_automatic(settings) if settings.backup_dir.exists() else set()) == before
    # A record-file claim about feed data is hand-made work too.
    db.write("CREATE (:Incident {key: 'attack:C9999', name: 'c'}), (:Actor {key: 'attack:G9999', name: 'g'})")
    assert not backup.has_hand_curated(db)
    claim = tmp_path / "claim.yaml"
    claim.write_text("sources: [{key: 'src:me', name: Me, kind: researcher}]\n"
                     "claims: [{incident: 'attack:C9999', actor: 'attack:G9999', source: 'src:me', "
                     "stance: attributes, confidence: 50, date: '2024-01-01'}]\n")
    assert load_paths(db, [claim]).ok
    assert backup.has_hand_curated(db)
