"""STIX bundles and MITRE ATT&CK -> rows (no database): mapping, version independence, errors."""
from __future__ import annotations

import copy
import gzip
import json
import uuid
from collections import Counter
from pathlib import Path

import pytest

from graph.errors import ValidationError
from graph.model import LIST_PROPS, normalise_name
from graph.store.writer import prepare
from loaders import parse_file
from loaders.common import parse_json, read_text
from loaders.stix import (ATTACK_SOURCE, MITRE_IDENTITY, DEFAULT_ATTRIBUTION_CONFIDENCE, KNOWN_AVAILABILITY, availability,
                          bundle_from_document)
from tests.conftest import shared_file

ENTERPRISE = ("attack", "enterprise-attack-15.1.json.gz")
ICS = ("attack", "ics-attack-15.1.json")
DREAM_JOB_ATTRIBUTED = "2023-03-17"  # created date of the C0022 -> G0032 attributed-to relationship


@pytest.fixture(scope="module")
def enterprise_doc() -> dict:
    path = shared_file(*ENTERPRISE)
    return parse_json(path, read_text(path))


@pytest.fixture(scope="module")
def enterprise(enterprise_doc):
    """(nodes by label -> key -> row, rels by (type, start, end) -> rows, batch)."""
    batch = bundle_from_document(shared_file(*ENTERPRISE), enterprise_doc)
    p = prepare(batch)
    nodes, rels, refs = p.nodes, p.rels, p.refs
    assert refs == []  # everything an ATT&CK bundle points at is in the bundle
    return nodes, rels, batch


def attack_ids(doc: dict, kind: str) -> dict[str, dict]:
    """ATT&CK ID -> object, for live (not revoked, not deprecated) objects of one type."""
    out = {}
    for obj in doc["objects"]:
        if obj["type"] == kind and not obj.get("revoked") and not obj.get("x_mitre_deprecated"):
            ext = [r["external_id"] for r in obj["external_references"] if r.get("source_name") == "mitre-attack"]
            out[ext[0]] = obj
    return out


def rel_pairs(rels, rel_type, start, end) -> set[tuple[str, str]]:
    return set(rels.get((rel_type, start, end), {}))


# -- mapping ---------------------------------------------------------------------------------------
def test_enterprise_objects_become_the_documented_nodes(enterprise, enterprise_doc):
    nodes, rels, batch = enterprise
    groups = attack_ids(enterprise_doc, "intrusion-set")
    assert set(nodes["Actor"]) == {f"attack:{g}" for g in groups}
    assert len(groups) == 148
    campaigns = attack_ids(enterprise_doc, "campaign")
    assert set(nodes["Incident"]) == {f"attack:{c}" for c in campaigns}
    software = {**attack_ids(enterprise_doc, "malware"), **attack_ids(enterprise_doc, "tool")}
    assert set(nodes["Tool"]) == {f"attack:{s}" for s in software}
    techniques = attack_ids(enterprise_doc, "attack-pattern")
    assert set(nodes["Technique"]) == set(techniques)
    assert nodes["Source"][ATTACK_SOURCE]["props"] == {
        "name": "MITRE ATT&CK", "kind": "dataset", "reliability": "B", "url": "https://attack.mitre.org/"}

    lazarus = nodes["Actor"]["attack:G0032"]
    assert lazarus["props"]["name"] == "Lazarus Group" and lazarus["props"]["kind"] == "group"
    assert lazarus["lists"]["external_ids"] == ["G0032"]
    assert lazarus["props"]["created"] == "2017-05-31" and len(lazarus["props"]["modified"]) == 10
    assert lazarus["props"]["description"].startswith("[Lazarus Group]")
    names_lazarus = {a for a, actor in rel_pairs(rels, "NAMES", "Alias", "Actor") if actor == "attack:G0032"}
    assert {"lazarusgroup", "zinc", "hiddencobra", "diamondsleet", "guardiansofpeace"} <= names_lazarus
    assert "ZINC" in nodes["Alias"]["zinc"]["lists"]["spellings"]

    dream_job = nodes["Incident"]["attack:C0022"]["props"]
    assert dream_job["name"] == "Operation Dream Job"
    assert (dream_job["first_seen"], dream_job["last_seen"]) == ("2019-09-01", "2020-08-01")
    assert ("attack:C0022", ATTACK_SOURCE) in rel_pairs(rels, "REPORTED_BY", "Incident", "Source")

    tech = nodes["Technique"]["T1566.003"]
    assert tech["props"]["name"] == "Spearphishing via Service"
    assert tech["lists"]["tactics"] == ["initial-access"] and tech["lists"]["external_ids"] == ["T1566.003"]
    assert ("T1566.003", "T1566") in rel_pairs(rels, "SUBTECHNIQUE_OF", "Technique", "Technique")
    subs = [t for t in techniques if "." in t]
    assert rel_pairs(rels, "SUBTECHNIQUE_OF", "Technique", "Technique") == {(t, t.split(".")[0]) for t in subs}


def test_uses_relationships_and_provenance(enterprise, enterprise_doc):
    nodes, rels, _ = enterprise
    assert ("attack:G0032", "T1566.001") in rel_pairs(rels, "USES", "Actor", "Technique")
    assert ("attack:G0032", "attack:S0584") in rel_pairs(rels, "USES", "Actor", "Tool")  # AppleJeus
    assert ("attack:S0154", "T1059.001") in rel_pairs(rels, "USES", "Tool", "Technique")
    assert ("attack:C0022", "T1566.003") in rel_pairs(rels, "USED", "Incident", "Technique")
    counts = Counter((o["relationship_type"], o["source_ref"].split("--")[0], o["target_ref"].split("--")[0])
                     for o in enterprise_doc["objects"] if o["type"] == "relationship")
    # nothing from the bundle is lost silently: every live uses relationship of a modelled pair lands
    assert len(rels[("USES", "Actor", "Technique")]) == counts[("uses", "intrusion-set", "attack-pattern")] > 3000
    assert len(rels[("USED", "Incident", "Tool")]) == counts[("uses", "campaign", "malware")] + \
        counts[("uses", "campaign", "tool")]
    for (rel_type, _s, _e), group in rels.items():
        if rel_type in ("REPORTED_BY",):
            continue
        for row in group.values():
            assert row["lists"]["sources"] == [ATTACK_SOURCE], (rel_type, row)
            assert len(row["props"]["created"]) == 10, (rel_type, row)


def test_attributed_to_becomes_a_claim_stated_by_attack(enterprise, enterprise_doc):
    nodes, rels, _ = enterprise
    attributions = [o for o in enterprise_doc["objects"]
                    if o["type"] == "relationship" and o["relationship_type"] == "attributed-to"]
    assert len(nodes["Claim"]) == len(attributions) == 12
    for claim in nodes["Claim"].values():
        assert claim["props"]["stance"] == "attributes"
        assert claim["props"]["confidence"] == DEFAULT_ATTRIBUTION_CONFIDENCE
        assert claim["lists"]["sources"] == [ATTACK_SOURCE]
    about = dict(rel_pairs(rels, "ABOUT", "Claim", "Incident"))
    names = dict(rel_pairs(rels, "NAMES", "Claim", "Actor"))
    dream = [c for c, i in about.items() if i == "attack:C0022"]
    assert len(dream) == 1 and names[dream[0]] == "attack:G0032"
    assert nodes["Claim"][dream[0]]["props"]["date"] == DREAM_JOB_ATTRIBUTED
    stated = rels[("STATED_BY", "Claim", "Source")]
    assert {row["end"] for row in stated.values()} == {ATTACK_SOURCE}
    assert {row["props"]["stance"] for row in stated.values()} == {"attributes"}


def test_availability_list_and_defaults(enterprise):
    nodes, _, _ = enterprise
    tools = {row["props"]["name"]: row["props"] for row in nodes["Tool"].values()}
    assert tools["Cobalt Strike"]["availability"] == "commodity" and tools["Cobalt Strike"]["kind"] == "malware"
    assert tools["Mimikatz"]["availability"] == "public" and tools["PsExec"]["availability"] == "public"
    assert tools["Net"]["availability"] == "public"        # ATT&CK `tool` default
    assert tools["AppleJeus"]["availability"] == "custom"  # malware default
    assert tools["Conti"]["availability"] == "leaked"
    assert tools["CSPY Downloader"]["availability"] == "custom"  # a tool object that is one group's own
    # every reviewed entry that names ATT&CK software matches one (no typos in the list)
    names = {normalise_name(n) for n in tools}
    unmatched = {k for k in KNOWN_AVAILABILITY if k not in names}
    assert unmatched <= {"metasploit", "eternalblue", "eternalromance", "doublepulsar"}
    assert availability("EternalBlue", "malware") == "leaked"


def test_revoked_group_names_become_aliases_of_its_replacement(enterprise):
    nodes, rels, batch = enterprise
    names = rel_pairs(rels, "NAMES", "Alias", "Actor")
    # UNC2452 (G0118) was revoked by APT29 (G0016); its names live on, the old ID too
    assert ("unc2452", "attack:G0016") in names and ("stellarparticle", "attack:G0016") in names
    assert nodes["Actor"]["attack:G0016"]["lists"]["external_ids"] == ["G0016", "G0118"]
    assert "attack:G0118" not in nodes["Actor"]
    assert batch.skipped["revoked objects"] == 139 and batch.skipped["deprecated objects"] == 250


def test_unmodelled_types_are_counted_not_fatal(enterprise):
    _, _, batch = enterprise
    assert batch.skipped["x-mitre-data-component objects (type not modelled)"] == 106
    assert batch.skipped["course-of-action objects (type not modelled)"] == 43
    assert batch.skipped["'detects' relationships (not modelled)"] == 1987
    assert batch.skipped["'mitigates' relationships (not modelled)"] == 1295


def test_list_properties_are_lists_of_the_model():
    p = prepare(parse_file(shared_file(*ICS)))
    nodes, rels = p.nodes, p.rels
    for group in list(nodes.values()) + list(rels.values()):
        for row in group.values():
            assert set(row["lists"]) <= set(LIST_PROPS)


def test_ics_stix21_bundle():
    batch = parse_file(shared_file(*ICS))
    p = prepare(batch)
    nodes, refs = p.nodes, p.refs
    assert not refs
    assert len(nodes["Actor"]) == 15 and "attack:G0034" in nodes["Actor"]  # Sandworm Team
    assert nodes["Technique"]["T0800"]["lists"]["tactics"] == ["inhibit-response-function"]
    assert len(nodes["Claim"]) == 5
    assert batch.skipped["x-mitre-asset objects (type not modelled)"] == 14
    # ATT&CK for ICS uses the same source as Enterprise
    assert set(nodes["Source"]) == {ATTACK_SOURCE}


# -- version independence -------------------------------------------------------------------------------
def newer_release(doc: dict) -> tuple[dict, dict]:
    """A plausible future ATT&CK release built from v15.1: STIX 2.1 everywhere, new object
    types and properties, and Lazarus Group renamed (revoked by a new group object)."""
    doc = copy.deepcopy(doc)
    doc.pop("spec_version", None)  # STIX 2.1 bundles carry no spec_version
    for obj in doc["objects"]:
        obj["spec_version"] = "2.1"
        obj["x_mitre_new_property"] = {"nested": [1, 2, 3]}
        obj.setdefault("extensions", {})["extension-definition--" + str(uuid.UUID(int=1))] = {
            "extension_type": "property-extension"}
        if obj["type"] == "attack-pattern":
            obj["x_mitre_attack_spec_version"] = "9.0.0"
    # (note is read now: test_stix_opinions.py)
    new_types = {"x-mitre-analytic": 3, "x-mitre-detection-strategy": 2, "grouping": 1, "malware-analysis": 1}
    for kind, n in new_types.items():
        for i in range(n):
            doc["objects"].append({"type": kind, "id": f"{kind}--{uuid.UUID(int=1000 + i)}",
                                   "spec_version": "2.1", "created": "2025-04-01T00:00:00.000Z",
                                   "modified": "2025-04-01T00:00:00.000Z", "name": f"{kind} {i}"})
    lazarus = next(o for o in doc["objects"] if o["type"] == "intrusion-set" and o["name"] == "Lazarus Group")
    renamed = copy.deepcopy(lazarus)
    renamed.update(id=f"intrusion-set--{uuid.UUID(int=77)}", name="Diamond Sleet",
                   aliases=["Diamond Sleet", "Lazarus Group", "HIDDEN COBRA"],
                   created="2025-04-01T00:00:00.000Z", modified="2025-04-01T00:00:00.000Z")
    renamed["external_references"] = [{"source_name": "mitre-attack", "external_id": "G9999",
                                       "url": "https://attack.mitre.org/groups/G9999"}]
    lazarus["revoked"] = True
    doc["objects"].append(renamed)
    doc["objects"].append({"type": "relationship", "id": f"relationship--{uuid.UUID(int=78)}",
                           "spec_version": "2.1", "relationship_type": "revoked-by",
                           "source_ref": lazarus["id"], "target_ref": renamed["id"],
                           "created": "2025-04-01T00:00:00.000Z", "modified": "2025-04-01T00:00:00.000Z"})
    return doc, new_types


def test_newer_release_loads_with_the_same_code(enterprise_doc, enterprise, tmp_path):
    doc, new_types = newer_release(enterprise_doc)
    path = tmp_path / "enterprise-attack-99.0.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode(), compresslevel=1))
    batch = parse_file(path)
    p = prepare(batch)
    nodes, rels, refs = p.nodes, p.rels, p.refs
    assert not refs
    for kind, n in new_types.items():
        assert batch.skipped[f"{kind} objects (type not modelled)"] == n
    old_nodes, old_rels, _ = enterprise
    assert set(nodes["Technique"]) == set(old_nodes["Technique"])
    assert set(nodes["Tool"]) == set(old_nodes["Tool"])
    assert set(nodes["Actor"]) == set(old_nodes["Actor"]) - {"attack:G0032"} | {"attack:G9999"}
    assert nodes["Actor"]["attack:G9999"]["lists"]["external_ids"] == ["G9999", "G0032"]
    names = rel_pairs(rels, "NAMES", "Alias", "Actor")
    for old_name in ("zinc", "lazarusgroup", "nickelacademy", "guardiansofpeace"):
        assert (old_name, "attack:G9999") in names
    # Lazarus' own relationships went with the revoked object; ATT&CK moves them in a real release
    assert batch.skipped["relationships to revoked, deprecated or unmodelled objects"] > 100
    assert len(rels[("USES", "Tool", "Technique")]) == len(old_rels[("USES", "Tool", "Technique")])


# -- errors: refused whole, named ----------------------------------------------------------------------
def small_bundle() -> dict:
    return {"type": "bundle", "id": f"bundle--{uuid.UUID(int=5)}", "objects": [
        {"type": "intrusion-set", "id": f"intrusion-set--{uuid.UUID(int=1)}", "name": "Red Panda",
         "aliases": ["Red Panda", "RP1"], "created": "2020-01-01T00:00:00Z", "created_by_ref": f"identity--{uuid.UUID(int=9)}"},
        {"type": "malware", "id": f"malware--{uuid.UUID(int=2)}", "name": "PandaRAT", "is_family": True},
        {"type": "identity", "id": f"identity--{uuid.UUID(int=9)}", "name": "Example Vendor",
         "identity_class": "organization"},
        {"type": "relationship", "id": f"relationship--{uuid.UUID(int=3)}", "relationship_type": "uses",
         "source_ref": f"intrusion-set--{uuid.UUID(int=1)}", "target_ref": f"malware--{uuid.UUID(int=2)}",
         "created": "2021-02-03T00:00:00Z"},
    ]}


def write_json(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_vendor_bundle_without_attack_ids(tmp_path):
    batch = parse_file(write_json(tmp_path, "vendor.json", small_bundle()))
    p = prepare(batch)
    nodes, rels = p.nodes, p.rels
    actor = f"stix:intrusion-set--{uuid.UUID(int=1)}"
    assert nodes["Actor"][actor]["props"]["name"] == "Red Panda"
    assert set(nodes["Source"]) == {"src:example-vendor"}
    assert rels[("USES", "Actor", "Tool")][(actor, f"stix:malware--{uuid.UUID(int=2)}")]["props"]["created"] == "2021-02-03"
    assert {"redpanda", "rp1"} <= set(nodes["Alias"])



def test_vendor_bundle_citing_attack_techniques_stays_the_vendors(tmp_path):
    """A vendor's feed that references ATT&CK techniques is the vendor's word, not MITRE's."""
    bundle = small_bundle()
    vendor = f"identity--{uuid.UUID(int=9)}"
    pattern = f"attack-pattern--{uuid.UUID(int=4)}"
    bundle["objects"][1]["created_by_ref"] = vendor
    bundle["objects"] += [
        {"type": "attack-pattern", "id": pattern, "name": "Spearphishing via Service", "created_by_ref": vendor,
         "external_references": [{"source_name": "mitre-attack", "external_id": "T1566.003"}]},
        {"type": "relationship", "id": f"relationship--{uuid.UUID(int=6)}", "relationship_type": "uses",
         "source_ref": f"intrusion-set--{uuid.UUID(int=1)}", "target_ref": pattern, "created_by_ref": vendor,
         "created": "2021-02-03T00:00:00Z"}]
    p = prepare(parse_file(write_json(tmp_path, "vendor.json", bundle)))
    assert set(p.nodes["Source"]) == {"src:example-vendor"}
    assert "T1566.003" in p.nodes["Technique"]
    # The same objects authored by MITRE's identity are an ATT&CK bundle.
    for obj in bundle["objects"]:
        if obj.get("created_by_ref") == vendor:
            obj["created_by_ref"] = MITRE_IDENTITY
    assert set(prepare(parse_file(write_json(tmp_path, "mitre.json", bundle))).nodes["Source"]) == {ATTACK_SOURCE}

def refused(path: Path) -> str:
    with pytest.raises(ValidationError) as exc:
        parse_file(path)
    message = str(exc.value)
    assert str(path) in message
    return message


def test_truncated_json_is_refused(tmp_path):
    text = json.dumps(small_bundle())
    cut = tmp_path / "cut.json"
    cut.write_text(text[:-40])
    assert "invalid JSON" in refused(cut)
    gz = tmp_path / "cut.json.gz"
    gz.write_bytes(gzip.compress(text.encode())[:-30])
    assert "cannot read" in refused(gz)


def test_non_stix_json_is_refused(tmp_path):
    assert "not a format this tool reads" in refused(write_json(tmp_path, "x.json", {"hello": "world"}))
    message = refused(write_json(tmp_path, "y.json", {"type": "bundle", "objects": {"not": "a list"}}))
    assert "'objects' list" in message


def test_relationship_to_missing_object_names_it(tmp_path):
    bundle = small_bundle()
    missing = f"malware--{uuid.UUID(int=404)}"
    bundle["objects"][3]["target_ref"] = missing
    message = refused(write_json(tmp_path, "broken.json", bundle))
    assert f"relationship--{uuid.UUID(int=3)}" in message and "objects[3]" in message
    assert missing in message and "field 'target_ref'" in message


@pytest.mark.parametrize("change,field,words", [
    (lambda b: b["objects"][1].pop("type"), "type", "missing"),
    (lambda b: b["objects"][1].update(id="malware-without-uuid"), "id", "expected an id"),
    (lambda b: b["objects"][0].update(name=["not", "text"]), "name", "expected text"),
    (lambda b: b["objects"][0].update(created="yesterday"), "created", "STIX timestamp"),
    (lambda b: b["objects"][3].update(confidence=300), "confidence", "0 to 100"),
    (lambda b: b["objects"][3].pop("relationship_type"), "relationship_type", "missing"),
])
def test_malformed_objects_name_object_and_field(tmp_path, change, field, words):
    bundle = small_bundle()
    change(bundle)
    message = refused(write_json(tmp_path, "bad.json", bundle))
    assert f"field '{field}'" in message and words in message and "objects[" in message


def test_vendor_bundle_victims_indicators_and_claims(tmp_path):
    u = lambda n: str(uuid.UUID(int=n))  # noqa: E731
    bundle = small_bundle()
    bundle["objects"] += [
        {"type": "campaign", "id": f"campaign--{u(10)}", "name": "Vaccine Lure", "first_seen": "2020-06",
         "created": "2020-07-01T00:00:00Z"},
        {"type": "indicator", "id": f"indicator--{u(11)}", "pattern_type": "stix",
         "pattern": "[domain-name:value = 'Evil.Example'] OR [ipv4-addr:value = '198.51.100.1']"},
        {"type": "indicator", "id": f"indicator--{u(12)}", "pattern_type": "sigma", "pattern": "title: x"},
        {"type": "identity", "id": f"identity--{u(13)}", "name": "Health sector", "identity_class": "class",
         "sectors": ["healthcare", "pharmaceuticals"]},
        {"type": "identity", "id": f"identity--{u(14)}", "name": "AstraZeneca", "identity_class": "organization",
         "sectors": ["pharmaceuticals"]},
        {"type": "location", "id": f"location--{u(15)}", "country": "gb"},
        {"type": "location", "id": f"location--{u(16)}", "region": "europe"},
        {"type": "infrastructure", "id": f"infrastructure--{u(17)}", "name": "Fake recruiter profiles"},
    ]
    rel = lambda n, t, s, d, **kw: {"type": "relationship", "id": f"relationship--{u(n)}",  # noqa: E731
                                    "relationship_type": t, "source_ref": s, "target_ref": d,
                                    "created": "2020-11-27T00:00:00Z", **kw}
    camp, actor = f"campaign--{u(10)}", f"intrusion-set--{u(1)}"
    bundle["objects"] += [
        rel(20, "indicates", f"indicator--{u(11)}", camp), rel(21, "indicates", f"indicator--{u(12)}", camp),
        rel(22, "targets", camp, f"identity--{u(13)}"), rel(23, "targets", camp, f"identity--{u(14)}"),
        rel(24, "targets", camp, f"location--{u(15)}"), rel(25, "targets", camp, f"location--{u(16)}"),
        rel(26, "targets", actor, f"location--{u(15)}"), rel(27, "uses", camp, f"infrastructure--{u(17)}"),
        rel(28, "attributed-to", camp, actor, confidence=60),
    ]
    batch = parse_file(write_json(tmp_path, "vendor.json", bundle))
    p = prepare(batch)
    nodes, rels, refs = p.nodes, p.rels, p.refs
    assert not refs
    incident, actor_key = f"stix:{camp}", f"stix:{actor}"
    assert nodes["Incident"][incident]["props"]["first_seen"] == "2020-06-01"
    assert pairs_of(rels, "USED", "Incident", "Infrastructure") == {
        (incident, "domain:evil.example"), (incident, "ip:198.51.100.1"), (incident, f"other:infrastructure--{u(17)}")}
    assert pairs_of(rels, "TARGETED", "Incident", "Sector") == {
        (incident, "sector:healthcare"), (incident, "sector:pharmaceuticals")}
    assert pairs_of(rels, "TARGETED", "Incident", "Organization") == {(incident, "org:astrazeneca")}
    assert ("org:astrazeneca", "sector:pharmaceuticals") in pairs_of(rels, "IN_SECTOR", "Organization", "Sector")
    assert pairs_of(rels, "TARGETED", "Incident", "Country") == {(incident, "GB")}
    assert pairs_of(rels, "TARGETS", "Actor", "Country") == {(actor_key, "GB")}
    assert batch.skipped["'targets' relationships to locations that are not countries"] == 1
    assert batch.skipped["indicators with patterns this tool does not read"] == 1
    assert batch.skipped["relationships to revoked, deprecated or unmodelled objects"] == 1
    (claim,) = nodes["Claim"].values()
    assert claim["props"] == {"stance": "attributes", "date": "2020-11-27", "confidence": 60}
    assert claim["lists"]["sources"] == ["src:example-vendor"]


def pairs_of(rels, *key) -> set:
    return set(rels.get(key, {}))
