"""STIX opinions and notes -> rows (no database): an opinion on an attribution is its author's
claim; a note is counted, not loaded; attrib's own bundle keeps what STIX has no property for."""
from __future__ import annotations

import json
import uuid

import pytest

from app.exports import Job, Options
from app.exports.stix import bundle
from graph.errors import ValidationError
from graph.model import claim_key
from graph.reads.subgraph import SubEdge, SubNode, Subgraph
from graph.store.writer import prepare
from loaders import parse_file
from loaders.stix import DEFAULT_OPINION_CONFIDENCE


def sid(kind: str, n: int) -> str:
    return f"{kind}--{uuid.UUID(int=n)}"


VENDOR, GOV = sid("identity", 1), sid("identity", 2)
CAMPAIGN, GROUP, ATTRIBUTION = sid("campaign", 3), sid("intrusion-set", 4), sid("relationship", 5)


def vendor_bundle(*extra: dict) -> dict:
    return {"type": "bundle", "id": sid("bundle", 99), "objects": [
        {"type": "identity", "id": VENDOR, "name": "Example Vendor", "identity_class": "organization"},
        {"type": "identity", "id": GOV, "name": "Some Government", "identity_class": "organization"},
        {"type": "campaign", "id": CAMPAIGN, "name": "Operation Test", "created_by_ref": VENDOR},
        {"type": "intrusion-set", "id": GROUP, "name": "Red Panda", "created_by_ref": VENDOR},
        {"type": "relationship", "id": ATTRIBUTION, "relationship_type": "attributed-to", "confidence": 60,
         "source_ref": CAMPAIGN, "target_ref": GROUP, "created": "2021-02-03T00:00:00Z",
         "created_by_ref": VENDOR, "description": "the vendor says so"},
        *extra]}


def load(tmp_path, data):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(data))
    batch = parse_file(path)
    return batch, prepare(batch).nodes


def opinion(n: int, value: str, refs: list[str], **props) -> dict:
    return {"type": "opinion", "id": sid("opinion", n), "opinion": value, "object_refs": refs,
            "created": "2021-03-04T00:00:00Z", **props}


def test_opinions_become_claims_and_notes_are_counted(tmp_path):
    batch, nodes = load(tmp_path, vendor_bundle(
        opinion(10, "strongly-disagree", [ATTRIBUTION], confidence=90, explanation="we deny it"),
        opinion(11, "disagree", [CAMPAIGN, GROUP]),
        opinion(12, "neutral", [ATTRIBUTION]),
        opinion(13, "agree", [sid("report", 77)]),   # points outside the bundle: nothing to attach to
        {"type": "note", "id": sid("note", 20), "content": "analysis", "object_refs": [CAMPAIGN]}))
    incident, actor = f"stix:{CAMPAIGN}", f"stix:{GROUP}"
    claims = {row["props"]["stance"]: (key, row["props"]) for key, row in nodes["Claim"].items()}
    assert set(claims) == {"attributes", "denies", "disputes"}
    key, denial = claims["denies"]
    # a vendor bundle has one source (its main author); the opinion is dated by its creation
    assert key == claim_key(incident, actor, "src:example-vendor", "denies", "2021-03-04")
    assert denial["confidence"] == 90 and denial["statement"] == "we deny it"
    assert claims["disputes"][1]["confidence"] == DEFAULT_OPINION_CONFIDENCE
    assert claims["attributes"][1]["statement"] == "the vendor says so"
    assert batch.skipped["neutral opinions"] == 1
    assert batch.skipped["opinions on anything but an attribution (not modelled)"] == 1
    assert batch.skipped["notes (analysis text; attrib computes its own assessment)"] == 1


def test_a_bad_opinion_is_refused_with_its_field(tmp_path):
    with pytest.raises(ValidationError) as exc:
        load(tmp_path, vendor_bundle(opinion(10, "disagree", [ATTRIBUTION], confidence=101)))
    assert exc.value.field == "confidence" and sid("opinion", 10) in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        load(tmp_path, vendor_bundle(opinion(10, "disagree", "not a list")))
    assert exc.value.field == "object_refs"


def test_an_undated_claim_comes_back_undated(tmp_path):
    """attrib's own bundle: a claim without a date is written with the export date as `created`
    and x_attrib_undated, and read back without a date (the same claim key); the keys hold."""
    key = claim_key("seed:x", "actor:y", "src:z", "disputes", None)
    sub = Subgraph([SubNode("seed:x", "Incident", "seed:x", "X", {"name": "X", "key": "seed:x"}),
                    SubNode("actor:y", "Actor", "actor:y", "Y", {"name": "Y", "kind": "group"}),
                    SubNode("src:z", "Source", "src:z", "Z", {"name": "Z", "kind": "researcher", "reliability": "C"}),
                    SubNode(key, "Claim", key, "disputes", {"stance": "disputes", "confidence": 40}),
                    SubNode("hostname:mail.example.org", "Infrastructure", "hostname:mail.example.org",
                            "mail.example.org", {"kind": "hostname", "value": "mail.example.org"})],
                   [SubEdge(key, "seed:x", "ABOUT"), SubEdge(key, "actor:y", "NAMES"), SubEdge(key, "src:z", "STATED_BY"),
                    SubEdge("seed:x", "hostname:mail.example.org", "USED")],
                   focus="seed:x")
    data = bundle(Job(sub, Options(tlp="none")))
    (op,) = [o for o in data["objects"] if o["type"] == "opinion"]
    assert op["x_attrib_undated"] is True and op["object_refs"] == sorted(
        o["id"] for o in data["objects"] if o.get("x_attrib_key") in ("seed:x", "actor:y"))
    _, nodes = load(tmp_path, data)
    (claim,) = nodes["Claim"].items()
    assert claim[0] == key and "date" not in claim[1]["props"] and claim[1]["props"]["confidence"] == 40
    assert nodes["Source"]["src:z"]["props"] == {"name": "Z", "kind": "researcher", "reliability": "C"}
    # a hostname is written as a domain-name pattern and read back as the hostname it was
    assert set(nodes["Infrastructure"]) == {"hostname:mail.example.org"}
