"""MISP galaxy clusters and MISP events -> rows (no database)."""
from __future__ import annotations

import copy
import json

import pytest

from graph.errors import ValidationError
from graph.model import LIST_PROPS
from graph.store.writer import prepare
from loaders import parse_file
from loaders.misp import attack_group_ids, cluster_names
from tests.conftest import shared_file

THREAT_ACTOR = ("misp-galaxy", "threat-actor.json")
MICROSOFT = ("misp-galaxy", "microsoft-activity-group.json")
TA_SOURCE = "src:misp-galaxy-threat-actor"
MS_SOURCE = "src:misp-galaxy-microsoft-activity-group"


@pytest.fixture(scope="module")
def threat_actor():
    batch = parse_file(shared_file(*THREAT_ACTOR))
    p = prepare(batch)
    nodes, rels, refs = p.nodes, p.rels, p.refs
    assert refs == []
    return nodes, rels, batch


def cluster(doc: dict, value: str) -> dict:
    return next(v for v in doc["values"] if v["value"] == value)


def pairs(rels, *key) -> set:
    return set(rels.get(key, {}))


def test_cluster_naming_an_attack_group_attaches_as_a_list_only_stub(threat_actor):
    nodes, rels, _ = threat_actor
    apt28 = nodes["Actor"]["attack:G0007"]
    # never a scalar: ATT&CK's name, kind and description win whatever the load order
    assert apt28["props"] == {} and set(apt28["lists"]) <= set(LIST_PROPS)
    assert apt28["lists"]["external_ids"] == ["G0007"] and apt28["lists"]["sources"] == [TA_SOURCE]
    assert "https://attack.mitre.org/groups/G0007/" in apt28["lists"]["refs"]
    names = pairs(rels, "NAMES", "Alias", "Actor")
    for alias in ("apt28", "sofacy", "fancybear", "strontium", "pawnstorm"):
        assert (alias, "attack:G0007") in names
    assert rels[("NAMES", "Alias", "Actor")][("sofacy", "attack:G0007")]["lists"]["sources"] == [TA_SOURCE]
    # a cluster naming two ATT&CK groups (Lazarus: G0032 and G0082) links to both: visible, not merged
    assert ("lazarusgroup", "attack:G0032") in names and ("lazarusgroup", "attack:G0082") in names
    assert ("g0032", "attack:G0032") not in names  # an ID among the synonyms is not a name


def test_cluster_without_an_attack_id_is_its_own_actor(threat_actor):
    nodes, rels, _ = threat_actor
    doc = json.loads(shared_file(*THREAT_ACTOR).read_text())
    unlinked = [v for v in doc["values"] if not attack_group_ids(v["value"], v.get("meta", {}))]
    assert len(unlinked) > 900
    for v in unlinked[:50]:
        actor = nodes["Actor"][f"misp:{v['uuid']}"]
        assert actor["props"]["name"] == v["value"] and actor["props"]["kind"] == "group"
    assert len(nodes["Actor"]) == len(unlinked) + len({g for v in doc["values"]
                                                        for g in attack_group_ids(v["value"], v.get("meta", {}))})


def test_sponsors_victims_and_sectors(threat_actor):
    nodes, rels, batch = threat_actor
    sponsored = pairs(rels, "SPONSORED_BY", "Actor", "Country")
    assert ("attack:G0007", "RU") in sponsored      # "Russian Federation" and "RU"
    assert ("attack:G0032", "KP") in sponsored      # "Korea (Democratic People's Republic of)"
    targets = pairs(rels, "TARGETS", "Actor", "Country")
    assert {("attack:G0007", "GE"), ("attack:G0007", "UA"), ("attack:G0007", "US")} <= targets
    assert nodes["Country"]["RU"]["props"]["name"] == "Russia"
    # NATO, OSCE, "European Commission" ... are not countries: counted, not invented
    assert batch.skipped["'cfr-suspected-victims' entries that are not countries"] >= 60
    assert not any(code in nodes["Country"] for code in ("NATO", "OSCE"))
    assert ("attack:G0007", "sector:government") in pairs(rels, "TARGETS", "Actor", "Sector")
    assert nodes["Sector"]["sector:military"]["props"]["name"] == "Military"
    for key in (("SPONSORED_BY", "Actor", "Country"), ("TARGETS", "Actor", "Country"), ("TARGETS", "Actor", "Sector")):
        assert all(row["lists"]["sources"] == [TA_SOURCE] for row in rels[key].values())


def test_microsoft_galaxy():
    batch = parse_file(shared_file(*MICROSOFT))
    p = prepare(batch)
    nodes, rels, refs = p.nodes, p.rels, p.refs
    assert not refs and set(nodes["Source"]) == {MS_SOURCE}
    assert nodes["Source"][MS_SOURCE]["props"]["kind"] == "community"
    diamond = [k for k, row in nodes["Actor"].items() if row["props"].get("name") == "Diamond Sleet"]
    assert len(diamond) == 1 and diamond[0].startswith("misp:")
    assert ("zinc", diamond[0]) in pairs(rels, "NAMES", "Alias", "Actor")
    assert (diamond[0], "KP") in pairs(rels, "SPONSORED_BY", "Actor", "Country")


def test_linking_rules():
    assert attack_group_ids("APT28 - G0007", {}) == ["G0007"]
    assert attack_group_ids("X", {"refs": ["https://attack.mitre.org/groups/G0016/"]}) == ["G0016"]
    assert attack_group_ids("X", {"name-attribution": ["APT 38:da5c", "G0082:a1ad"]}) == ["G0082"]
    assert attack_group_ids("X", {"refs": ["https://attack.mitre.org/software/S0002/"]}) == []
    assert cluster_names("APT28 - G0007", {"synonyms": ["Sofacy", "G0007"], "name-attribution": ["Pawn Storm:x"]}) \
        == ["APT28", "Sofacy", "Pawn Storm"]


def test_malformed_galaxy_is_refused_naming_the_cluster(tmp_path):
    doc = json.loads(shared_file(*MICROSOFT).read_text())
    bad = copy.deepcopy(doc)
    victim = bad["values"][7]
    del victim["value"]
    path = tmp_path / "galaxy.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ValidationError) as exc:
        parse_file(path)
    message = str(exc.value)
    assert str(path) in message and f"values[7] ({victim['uuid']})" in message and "field 'value'" in message
    bad = copy.deepcopy(doc)
    bad["values"][3]["meta"]["synonyms"] = {"not": "a list"}
    path.write_text(json.dumps(bad))
    with pytest.raises(ValidationError) as exc:
        parse_file(path)
    assert "values[3]" in str(exc.value) and "meta.synonyms" in str(exc.value)


# -- events --------------------------------------------------------------------------------------------
def test_circl_event():
    path = next(shared_file("misp").glob("circl-*.json"))
    batch = parse_file(path)
    p = prepare(batch)
    nodes, refs = p.nodes, p.refs
    assert not refs
    event = json.loads(path.read_text())["Event"]
    incident = nodes["Incident"][f"misp:{event['uuid']}"]
    assert incident["props"]["name"] == "Ransomware - Xorist" and incident["props"]["first_seen"] == "2016-08-29"
    assert incident["props"]["tlp"] == "white" and "tlp:white" in incident["lists"]["tags"]
    assert len(incident["lists"]["refs"]) == 2  # the two 'link' attributes
    assert set(nodes["Source"]) == {"src:misp-org-circl"}
    infra = set(nodes["Infrastructure"])
    hashes = {a["type"]: a["value"] for a in event["Attribute"] if a["type"] in ("md5", "sha1", "sha256")}
    assert {f"{k}:{v.lower()}" for k, v in hashes.items()} <= infra and len(infra) == 4
    assert batch.skipped["'regkey|value' attributes (not modelled)"] == 1


def synthetic_event() -> dict:
    return {"Event": {
        "uuid": "11111111-2222-4333-8444-555555555555", "info": "Spearphishing wave", "date": "2020-09-01",
        "threat_level_id": "1", "Orgc": {"name": "Example CERT"},
        "Tag": [{"name": "tlp:amber"}, {"name": 'misp-galaxy:threat-actor="Sofacy"'},
                {"name": 'misp-galaxy:threat-actor="Unknown Crew"'},
                {"name": 'misp-galaxy:mitre-attack-pattern="Spearphishing Attachment - T1566.001"'},
                {"name": 'misp-galaxy:mitre-tool="Mimikatz - S0002"'},
                {"name": 'estimative-language:likelihood-probability="likely"'}],
        "Attribute": [{"type": "domain", "value": "Evil.Example", "uuid": "a1"},
                      {"type": "ip-dst|port", "value": "198.51.100.7|443", "uuid": "a2"},
                      {"type": "filename|sha256", "value": "x.exe|" + "AB" * 32, "uuid": "a3"}],
        "Object": [{"name": "email", "Attribute": [{"type": "email-src", "value": "Bad@Example.org"}]}],
        "Galaxy": [{"type": "threat-actor", "GalaxyCluster": [
            {"uuid": "5b4ee3ea-eee3-4c8e-8323-85ae32658754", "value": "Sofacy", "type": "threat-actor",
             "meta": {"refs": ["https://attack.mitre.org/groups/G0007/"], "synonyms": ["APT28"]}}]}],
    }}


def test_event_tags_and_clusters(tmp_path):
    path = tmp_path / "event.json"
    path.write_text(json.dumps(synthetic_event()))
    batch = parse_file(path)
    p = prepare(batch)
    nodes, rels, refs = p.nodes, p.rels, p.refs
    assert not refs
    incident = "misp:11111111-2222-4333-8444-555555555555"
    assert nodes["Incident"][incident]["props"]["tlp"] == "amber"
    assert set(nodes["Infrastructure"]) == {"domain:evil.example", "ip:198.51.100.7", "filename:x.exe",
                                            "sha256:" + "ab" * 32, "email:bad@example.org"}
    assert (incident, "T1566.001") in pairs(rels, "USED", "Incident", "Technique")
    assert ("T1566.001", "T1566") in pairs(rels, "SUBTECHNIQUE_OF", "Technique", "Technique")
    assert (incident, "attack:S0002") in pairs(rels, "USED", "Incident", "Tool")
    assert nodes["Tool"]["attack:S0002"]["props"] == {}  # a stub: ATT&CK names it
    # the Sofacy cluster (also present as a tag) makes one claim, on the ATT&CK group it names
    named = {actor for _claim, actor in pairs(rels, "NAMES", "Claim", "Actor")}
    assert named == {"attack:G0007", "misp-name:unknowncrew"}
    claims = list(nodes["Claim"].values())
    assert {c["props"]["confidence"] for c in claims} == {70} and {c["props"]["date"] for c in claims} == {"2020-09-01"}
    assert {row["end"] for row in rels[("STATED_BY", "Claim", "Source")].values()} == {"src:misp-org-example-cert"}
    assert nodes["Actor"]["attack:G0007"]["props"] == {}


def test_malformed_event_names_the_attribute(tmp_path):
    event = synthetic_event()
    event["Event"]["Attribute"][1]["value"] = "198.51.100.7"  # ip-dst|port without a port
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    with pytest.raises(ValidationError) as exc:
        parse_file(path)
    assert "Attribute[1] (a2)" in str(exc.value) and "field 'value'" in str(exc.value)
    del event["Event"]["uuid"]
    path.write_text(json.dumps(event))
    with pytest.raises(ValidationError) as exc:
        parse_file(path)
    assert "field 'uuid'" in str(exc.value)


# -- software galaxies (tool.json, malpedia.json) --------------------------------------------------------
TOOL = ("misp-galaxy-software", "tool.json")
MALPEDIA = ("misp-galaxy-software", "malpedia.json")


def test_software_galaxies_make_tools_never_actors():
    for parts, source in ((TOOL, "src:misp-galaxy-tool"), (MALPEDIA, "src:misp-galaxy-malpedia")):
        doc = json.loads(shared_file(*parts).read_text())
        p = prepare(parse_file(shared_file(*parts)))
        assert set(p.nodes) == {"Tool", "Source"} and not p.refs  # no Actor, no Alias
        assert len(p.nodes["Tool"]) == len(doc["values"])
        assert all(source in t["lists"]["sources"] for t in p.nodes["Tool"].values())
    tools = prepare(parse_file(shared_file(*TOOL))).nodes["Tool"]
    plugx = cluster(json.loads(shared_file(*TOOL).read_text()), "PlugX")
    row = tools[f"misp:{plugx['uuid']}"]
    assert row["props"]["name"] == "PlugX" and row["props"]["kind"] == "malware"
    assert {"PlugX", "Korplug"} <= set(row["lists"]["aliases"]) and row["lists"]["clusters"] == [plugx["uuid"]]


def test_software_cluster_naming_an_attack_id_attaches_as_a_list_only_stub():
    doc = json.loads(shared_file(*MALPEDIA).read_text())
    tools = prepare(parse_file(shared_file(*MALPEDIA))).nodes["Tool"]
    eggs = cluster(doc, "More_eggs")
    stub = tools["attack:S0284"]
    assert stub["props"] == {}  # ATT&CK's name, kind and availability win whatever the order
    assert stub["lists"]["external_ids"] == ["S0284"] and "SpicyOmelette" in stub["lists"]["aliases"]
    assert stub["lists"]["clusters"] == [eggs["uuid"]] and f"misp:{eggs['uuid']}" not in tools


def test_uses_and_used_by_links_are_kept_pending_by_cluster_uuid():
    tool_doc = json.loads(shared_file(*TOOL).read_text())
    tools = prepare(parse_file(shared_file(*TOOL))).nodes["Tool"]
    with_used_by = [v for v in tool_doc["values"] if any(r["type"] == "used-by" for r in v.get("related", []))]
    assert len(with_used_by) > 30
    v = with_used_by[0]
    row = tools[f"misp:{v['uuid']}"]
    expected = {f"src:misp-galaxy-tool|{r['dest-uuid']}" for r in v["related"] if r["type"] == "used-by"}
    assert set(row["lists"]["used_by_clusters"]) == expected
    actors = prepare(parse_file(shared_file(*THREAT_ACTOR))).nodes["Actor"]
    pending = [a for a in actors.values() if a["lists"].get("uses_clusters")]
    assert len(pending) > 20 and all(e.startswith(TA_SOURCE + "|") for a in pending for e in a["lists"]["uses_clusters"])
    assert "clusters" in actors["attack:G0007"]["lists"]  # a linked cluster carries its uuid to the ATT&CK group


def test_malformed_software_galaxy_is_refused_whole(tmp_path):
    doc = {"type": "tool", "name": "Tool", "values": [
        {"uuid": "00000000-0000-4000-8000-000000000001", "value": "GoodRAT", "meta": {"synonyms": ["GR"]}},
        {"uuid": "00000000-0000-4000-8000-000000000002", "value": "BadRAT", "related": [{"type": "used-by"}]}]}
    path = tmp_path / "tool.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValidationError) as exc:
        parse_file(path)
    assert "values[1]" in str(exc.value) and "related[0]" in str(exc.value)
    doc["values"][1] = {"uuid": "00000000-0000-4000-8000-000000000001", "value": "Again"}
    path.write_text(json.dumps(doc))
    with pytest.raises(ValidationError, match="duplicate uuid"):
        parse_file(path)
