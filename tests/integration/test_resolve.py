"""Alias resolution against a real Neo4j: every ATT&CK alias, vendor names, IDs, ambiguity, CLI.

To keep the session to one full Enterprise load (test_attack_load.py), this module loads the
Enterprise groups only (every intrusion-set and the revoked-by links between them, through
the same loader) plus both MISP galaxies.
"""
from __future__ import annotations

import json

import pytest

from app.cli import main
from graph.analysis.resolve import resolve
from graph.store import schema
from app.ingest import load_paths
from loaders.common import parse_json, read_text
from tests.conftest import shared_file

ATTACK = "src:mitre-attack"
TA = "src:misp-galaxy-threat-actor"


@pytest.fixture(scope="module")
def groups(session_db, tmp_path_factory):
    """ATT&CK ID -> (name, aliases) of every live Enterprise group, with the graph loaded."""
    path = shared_file("attack", "enterprise-attack-15.1.json.gz")
    doc = parse_json(path, read_text(path))
    sets = {o["id"] for o in doc["objects"] if o["type"] == "intrusion-set"}
    kept = [o for o in doc["objects"]
            if o["type"] in ("intrusion-set", "identity", "marking-definition")
            or (o["type"] == "relationship" and o["source_ref"] in sets and o["target_ref"] in sets)]
    bundle = tmp_path_factory.mktemp("attack") / "enterprise-groups.json"
    bundle.write_text(json.dumps({**doc, "objects": kept}))
    schema.reset(session_db)
    report = load_paths(session_db, [bundle, shared_file("misp-galaxy", "threat-actor.json"),
                                     shared_file("misp-galaxy", "microsoft-activity-group.json")])
    assert report.ok, report.refused
    out = {}
    for obj in kept:
        if obj["type"] == "intrusion-set" and not obj.get("revoked") and not obj.get("x_mitre_deprecated"):
            gid = next(r["external_id"] for r in obj["external_references"] if r.get("source_name") == "mitre-attack")
            out[gid] = (obj["name"], obj.get("aliases") or [])
    assert len(out) == 148
    return out


def keys(result: dict) -> list[str]:
    return [a["key"] for a in result["actors"]]


def test_every_attack_alias_resolves_to_its_group(groups, session_db):
    checked = 0
    for gid, (name, aliases) in groups.items():
        for alias in dict.fromkeys([name] + aliases):
            result = resolve(session_db, alias)
            assert f"attack:{gid}" in keys(result), (alias, gid, keys(result))
            actor = next(a for a in result["actors"] if a["key"] == f"attack:{gid}")
            assert gid in actor["external_ids"] and {"alias": alias, "source": ATTACK} in actor["via"], actor
            checked += 1
        # a group's own name puts the group first
        assert keys(resolve(session_db, name))[0] == f"attack:{gid}", name
    assert checked > 450  # 481 distinct (group, name) pairs in v15.1


@pytest.mark.parametrize("query,gid", [
    ("ZINC", "G0032"), ("zinc", "G0032"), ("Hidden Cobra", "G0032"), ("STRONTIUM", "G0007"),
    ("apt 28", "G0007"), ("Fancy-Bear", "G0007"), ("  FANCY   bear ", "G0007"), ("APT-28", "G0007"),
    ("g0032", "G0032"), ("attack:G0007", "G0007"), ("nobelium", "G0016"),
])
def test_names_reach_the_group_first(groups, session_db, query, gid):
    result = resolve(session_db, query)
    assert result["query"] == query
    assert keys(result)[0] == f"attack:{gid}", result
    assert gid in result["actors"][0]["external_ids"]


def test_json_shape(groups, session_db):
    result = resolve(session_db, "Fancy Bear")
    assert set(result) == {"query", "actors"}
    for actor in result["actors"]:
        assert set(actor) == {"key", "name", "external_ids", "via"}
        assert isinstance(actor["name"], str) and actor["name"]
        assert all(set(v) == {"alias", "source"} for v in actor["via"])
    top = result["actors"][0]
    assert top["name"] == "APT28" and top["external_ids"] == ["G0007"]
    assert {"alias": "Fancy Bear", "source": ATTACK} in top["via"] and {"alias": "Fancy Bear", "source": TA} in top["via"]


def test_ambiguous_names_list_every_actor_with_its_sources(groups, session_db):
    # the threat-actor galaxy puts Lazarus Group and APT38 in one cluster: the name stays with
    # both groups, and the group ATT&CK and the galaxy agree on comes first
    result = resolve(session_db, "Lazarus Group")
    assert keys(result)[:2] == ["attack:G0032", "attack:G0082"]
    apt38 = result["actors"][1]
    assert apt38["via"] == [{"alias": "Lazarus Group", "source": TA}]
    # Microsoft's galaxy has its own cluster for ZINC; it is listed, after the ATT&CK group
    zinc = resolve(session_db, "ZINC")
    ms = [a for a in zinc["actors"] if a["key"].startswith("misp:")]
    assert ms and ms[0]["name"] == "Diamond Sleet"
    assert ms[0]["via"] == [{"alias": "ZINC", "source": "src:misp-galaxy-microsoft-activity-group"}]


def test_revoked_attack_id_in_a_galaxy_points_at_the_replacement(groups, session_db):
    # the galaxy's Kimsuky cluster names G0086 (Stolen Pencil), which ATT&CK revoked for G0094
    result = resolve(session_db, "Kimsuky")
    assert keys(result)[0] == "attack:G0094" and "attack:G0086" not in keys(result)
    assert {"alias": "Kimsuky", "source": TA} in result["actors"][0]["via"]
    assert keys(resolve(session_db, "G0086"))[0] == "attack:G0094"


def test_unknown_name_resolves_to_nothing(groups, session_db):
    assert resolve(session_db, "No Such Group 4711") == {"query": "No Such Group 4711", "actors": []}
    assert resolve(session_db, "  -- ")["actors"] == []


def test_cli_resolve(groups, cli_env, capsys):
    assert main(["resolve", "apt", "28", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["query"] == "apt 28" and result["actors"][0]["key"] == "attack:G0007"
    assert main(["resolve", "Fancy-Bear"]) == 0
    out = capsys.readouterr().out
    assert "ambiguous" in out and "APT28  [attack:G0007]  G0007" in out.splitlines()[1]
    assert "via 'Fancy Bear' (src:mitre-attack, src:misp-galaxy-threat-actor)" in out
    assert main(["resolve", "No Such Group 4711"]) == 1
    assert "names no actor" in capsys.readouterr().err
    assert main(["resolve", "--json", "No Such Group 4711"]) == 1
    assert json.loads(capsys.readouterr().out)["actors"] == []


def test_a_word_of_exactly_one_name_reaches_that_actor_first(groups, session_db, cli_env, capsys):
    # "Lazarus" is an alias only of Microsoft's Diamond Sleet cluster, and a word of one
    # canonical name, Lazarus Group's: the group comes first, the alias's actor stays listed
    result = resolve(session_db, "Lazarus")
    assert keys(result)[0] == "attack:G0032"
    assert {"alias": "Lazarus (a word of its name)", "source": ATTACK} in result["actors"][0]["via"]
    assert any(a["name"] == "Diamond Sleet" for a in result["actors"][1:])
    assert main(["resolve", "Lazarus"]) == 0
    out = capsys.readouterr().out
    assert "is ambiguous" in out and out.splitlines()[1].startswith(" 1. Lazarus Group")
    # a word of several names (Sandworm Team, Lotus Blossom Team, ...) reaches none of them first
    team = resolve(session_db, "Team")
    assert all("(a word of its name)" not in v["alias"] for a in team["actors"] for v in a["via"])
