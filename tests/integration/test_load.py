"""Loading record files into a real Neo4j: atomic, idempotent, refusing unknown references."""
from __future__ import annotations

import json
from pathlib import Path

from app.cli import main
from graph.settings import SEED_DIR
from graph.store import schema
from app.ingest import load_paths

DATA = Path(__file__).resolve().parent.parent / "data"


def test_load_twice_changes_nothing(db):
    first = load_paths(db, [DATA / "small.yaml"])
    assert first.ok, first.refused
    after_first = schema.stats(db)
    assert after_first["nodes"]["Claim"] == 2 and after_first["nodes"]["Actor"] == 2
    assert after_first["relationships"]["USED"] == 6
    second = load_paths(db, [DATA / "small.yaml"])
    assert second.ok
    assert second.written[0].nodes_created == 0 and second.written[0].rels_created == 0
    assert schema.stats(db) == after_first


def test_list_properties_union_across_loads(db, tmp_path):
    (tmp_path / "a.yaml").write_text(
        "sources: [{key: src:a, name: A, kind: news}, {key: src:b, name: B, kind: vendor}]\n"
        "actors: [{key: actor:x, name: X, kind: group, aliases: [Ex], sources: [src:a]}]\n")
    (tmp_path / "b.yaml").write_text(
        "actors: [{key: actor:x, name: X, kind: group, aliases: [Ex], sources: [src:b]}]\n")
    assert load_paths(db, [tmp_path]).ok
    rows = db.read("MATCH (a:Actor {key: 'actor:x'})<-[r:NAMES]-(:Alias {key: 'ex'}) "
                   "RETURN a.sources AS s, r.sources AS rs")
    assert sorted(rows[0]["s"]) == ["src:a", "src:b"] and sorted(rows[0]["rs"]) == ["src:a", "src:b"]


def test_bad_file_is_refused_whole_and_others_load(db, tmp_path):
    good = tmp_path / "1-good.yaml"
    good.write_text("sources: [{key: src:ok, name: OK, kind: news}]\n")
    bad = tmp_path / "2-bad.yaml"
    # valid sources first, then a wrong claim: nothing of this file may land
    bad.write_text("sources: [{key: src:partial, name: Partial, kind: news}]\n"
                   "claims: [{incident: x, actor: y, source: src:partial, stance: attributes, "
                   "confidence: 101, date: 2020}]\n")
    report = load_paths(db, [tmp_path])
    assert [w.file for w in report.written] == [str(good)]
    assert len(report.refused) == 1 and "field 'confidence'" in str(report.refused[0])
    assert db.read("MATCH (s:Source) RETURN collect(s.key) AS k")[0]["k"] == ["src:ok"]


def test_unknown_reference_is_an_error_and_writes_nothing(db, tmp_path):
    assert load_paths(db, [DATA / "small.yaml"]).ok
    before = schema.stats(db)
    path = tmp_path / "claims.yaml"
    path.write_text("sources: [{key: src:new, name: New, kind: news}]\n"
                    "claims:\n"
                    "  - {incident: test:intrusion-1, actor: actor:red-panda, source: src:new,"
                    " stance: disputes, confidence: 40, date: 2021-06-01}\n"
                    "  - {incident: test:no-such-incident, actor: actor:red-panda, source: src:new,"
                    " stance: attributes, confidence: 40, date: 2021-06-01}\n")
    report = load_paths(db, [path])
    assert not report.written
    message = str(report.refused[0])
    assert str(path) in message and "claims[1]" in message and "field 'incident'" in message
    assert "test:no-such-incident" in message
    assert schema.stats(db) == before


def test_cli_reset_init_load_twice_same_stats(db, cli_env, capsys):
    def stats_json():
        capsys.readouterr()
        assert main(["stats", "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    runs = []
    for _ in range(2):
        assert main(["reset", "--yes"]) == 0
        assert main(["init"]) == 0
        assert main(["load", str(SEED_DIR)]) == 0
        runs.append(stats_json())
    assert main(["load", str(SEED_DIR)]) == 0
    runs.append(stats_json())
    assert runs[0] == runs[1] == runs[2]
    assert set(runs[0]) == {"nodes", "relationships"}
    assert runs[0]["nodes"]["Incident"] >= 8 and runs[0]["nodes"]["Claim"] >= 10


def test_cli_bad_yaml_exit_status_and_graph_unchanged(db, cli_env, capsys, tmp_path):
    assert main(["load", str(DATA / "small.yaml")]) == 0
    before = schema.stats(db)
    bad = tmp_path / "broken.yaml"
    bad.write_text("incidents:\n  - key: x\n    name: [oops\n")
    assert main(["load", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"REFUSED {bad}: invalid YAML at line" in err
    assert schema.stats(db) == before


def test_reset_refuses_without_yes(db, cli_env, capsys):
    assert main(["load", str(DATA / "small.yaml")]) == 0
    assert main(["reset"]) == 1
    assert "--yes" in capsys.readouterr().err
    assert schema.stats(db)["nodes"]


def test_demo_tells_the_seed_story(db, cli_env, capsys):
    assert main(["demo", "--no-app"]) == 0
    out = capsys.readouterr().out
    assert "AstraZeneca fake-recruiter approach" in out
    astra = out.split("AstraZeneca fake-recruiter approach")[1].split("\n20")[0]
    assert "Reuters attributes North Korea" in astra and "denies North Korea" in astra
    blind = out.split("Blind mode, AstraZeneca")[1].splitlines()
    assert blind[1].strip().startswith("#1") and "Lazarus Group" in blind[1]


def test_directory_order_does_not_matter(db, tmp_path):
    (tmp_path / "a-claims.yaml").write_text(
        "claims: [{incident: i:1, actor: actor:x, source: src:s, stance: attributes, "
        "confidence: 50, date: 2020-01-02}]\n")
    (tmp_path / "b-incidents.yaml").write_text(
        "incidents: [{key: i:1, name: One, first_seen: 2020, sources: [src:s]}]\n")
    (tmp_path / "c-sources.yaml").write_text(
        "sources: [{key: src:s, name: S, kind: news}]\n"
        "actors: [{key: actor:x, name: X, kind: group}]\n")
    report = load_paths(db, [tmp_path])
    assert report.ok, report.refused
    assert [Path(w.file).name for w in report.written] == ["c-sources.yaml", "b-incidents.yaml",
                                                           "a-claims.yaml"]
    assert db.read("MATCH (:Claim)-[:ABOUT]->(i:Incident) RETURN i.key AS k") == [{"k": "i:1"}]


def test_a_first_load_on_an_empty_graph_words_its_matches_truthfully(db, cli_env, capsys):
    """Issue 27: a first seed load said "60 rows already present" of rows that matched what
    earlier files of the same load had written."""
    capsys.readouterr()
    assert main(["load", str(SEED_DIR)]) == 0
    err = capsys.readouterr().err
    assert "already present" not in err
    assert "rows matched what the graph held or this load wrote before" in err
