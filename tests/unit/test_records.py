"""Validation of the incident-record format (no database)."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from graph.errors import ValidationError
from loaders import expand_paths, parse_file

DATA = Path(__file__).resolve().parent.parent / "data"
SMALL = (DATA / "small.yaml").read_text()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def by_label(batch, label):
    return {n.key: n for n in batch.nodes if n.label == label}


def test_valid_file_becomes_rows():
    batch = parse_file(DATA / "small.yaml")
    assert set(by_label(batch, "Actor")) == {"actor:red-panda", "state:CN"}
    assert set(by_label(batch, "Alias")) >= {"redpanda", "rp1", "redpandateam", "china"}
    assert by_label(batch, "Incident")["test:intrusion-1"].props["first_seen"] == "2021-03-01"
    assert "domain:bad.example" in by_label(batch, "Infrastructure")
    assert {"T1566.001", "T1566", "T1059"} <= set(by_label(batch, "Technique"))
    assert by_label(batch, "Tool")["tool:cobalt-strike"].props["availability"] == "commodity"
    stances = sorted(n.props["stance"] for n in batch.nodes if n.label == "Claim")
    assert stances == ["attributes", "denies"]
    types = {(r.type, r.start_label, r.end_label) for r in batch.rels}
    assert ("SUBTECHNIQUE_OF", "Technique", "Technique") in types
    assert ("SPONSORED_BY", "Actor", "Country") in types
    assert ("STATE_OF", "Actor", "Country") in types


def test_same_file_as_json_and_gzip_gives_same_rows(tmp_path):
    import json
    import yaml
    data = yaml.safe_load(SMALL)
    js = write(tmp_path, "small.json", json.dumps(data, default=str))
    gz = tmp_path / "small.yaml.gz"
    gz.write_bytes(gzip.compress(SMALL.encode()))
    keys = lambda b: sorted((n.label, n.key) for n in b.nodes)
    assert keys(parse_file(js)) == keys(parse_file(gz)) == keys(parse_file(DATA / "small.yaml"))


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "bad.yaml", "sources:\n  - name: [unclosed\n    kind: news\n")
    with pytest.raises(ValidationError) as exc:
        parse_file(path)
    assert str(path) in str(exc.value) and "invalid YAML at line" in str(exc.value)


@pytest.mark.parametrize("old,new,field,words", [
    ("    stance: denies\n", "", "stance", "missing"),
    ("    confidence: 70\n", "    confidence: high\n", "confidence", "whole number"),
    ("    confidence: 70\n", "    confidence: 170\n", "confidence", "outside 0-100"),
    ("    stance: denies\n", "    stance: blames\n", "stance", "not one of"),
    ("    first_seen: 2021-03\n", "    first_seen: spring\n", "first_seen", "expected a date"),
    ("    kind: vendor\n", "    kind: [vendor]\n", "kind", "expected text"),
    ("    techniques: [T1566.001, T1059]\n", "    techniques: [T1566.001, 1059]\n", "techniques",
     "technique ID"),
    ("    country: CN\n", "    country: Atlantis\n", "country", "country code"),
    ("    date: 2021-05-03\n", "    date: 2021-05-03\n    dated: 2021\n", "dated", "unknown field"),
])
def test_wrong_record_names_file_record_and_field(tmp_path, old, new, field, words):
    assert old in SMALL
    # Replace the last occurrence so the error is in a later record, not the first.
    head, _, tail = SMALL.rpartition(old)
    path = write(tmp_path, "records.yaml", head + new + tail)
    with pytest.raises(ValidationError) as exc:
        parse_file(path)
    message = str(exc.value)
    assert str(path) in message and f"field '{field}'" in message and "record " in message
    assert words in message



def test_same_as_names_who_says_so_and_refuses_otherwise(tmp_path):
    """`same_as` on an actor: a SAME_AS relationship with the record's sources; the other actor
    must exist (a reference, checked against the file and the graph); never without a source."""
    same = SMALL.replace("    techniques: [T1566.001]\n", "    techniques: [T1566.001]\n    same_as: [attack:G0032]\n", 1)
    batch = parse_file(write(tmp_path, "same.yaml", same))
    (rel,) = [r for r in batch.rels if r.type == "SAME_AS"]
    assert (rel.start_key, rel.end_key, rel.props["sources"]) == ("actor:red-panda", "attack:G0032",
                                                                   ["src:example-vendor"])
    assert any(r.label == "Actor" and r.key == "attack:G0032" and r.field == "same_as" for r in batch.refs)
    for text, words in ((same.replace("    sources: [src:example-vendor]\n    tools", "    tools", 1), "says who"),
                        (same.replace("same_as: [attack:G0032]", "same_as: [actor:red-panda]"), "another actor")):
        with pytest.raises(ValidationError) as exc:
            parse_file(write(tmp_path, "bad.yaml", text))
        assert "field 'same_as'" in str(exc.value) and words in str(exc.value)

def test_duplicate_key_is_refused(tmp_path):
    text = SMALL.replace("key: src:example-vendor", "key: src:example-news")
    with pytest.raises(ValidationError, match="duplicate key 'src:example-news'"):
        parse_file(write(tmp_path, "dup.yaml", text))


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(ValidationError, match="unknown top-level key 'victims'"):
        parse_file(write(tmp_path, "x.yaml", SMALL + "victims: []\n"))


def test_unrecognised_json_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="not a format this tool reads"):
        parse_file(write(tmp_path, "x.json", '{"hello": 1}'))


def test_truncated_json_and_gzip(tmp_path):
    with pytest.raises(ValidationError, match="invalid JSON at line 1"):
        parse_file(write(tmp_path, "t.json", '{"sources": [{"name": "x"'))
    gz = tmp_path / "t.yaml.gz"
    gz.write_bytes(gzip.compress(SMALL.encode())[:-20])
    with pytest.raises(ValidationError, match="cannot read"):
        parse_file(gz)


def test_csv_records(tmp_path):
    write(tmp_path, "incidents.csv",
          "key,name,first_seen,sectors,countries,tools,techniques,infrastructure,sources\n"
          "csv:1,CSV incident,2019,finance;banking,US;GB,S0366;Mimikatz,T1486,domain:x.example,src:a\n")
    batch = parse_file(tmp_path / "incidents.csv")
    assert {"sector:finance", "sector:banking"} == set(by_label(batch, "Sector"))
    assert {"attack:S0366", "tool:mimikatz"} == set(by_label(batch, "Tool"))
    assert {"US", "GB"} == set(by_label(batch, "Country"))


def test_csv_errors_name_the_line(tmp_path):
    path = write(tmp_path, "claims.csv",
                 "incident,actor,source,stance,confidence,date\n"
                 "i:1,a:1,s:1,attributes,50,2020-01-01\n"
                 "i:1,a:1,s:1,attributes,fifty,2020-01-02\n")
    with pytest.raises(ValidationError) as exc:
        parse_file(path)
    assert "record line 3" in str(exc.value) and "field 'confidence'" in str(exc.value)
    with pytest.raises(ValidationError, match="cannot tell which records"):
        parse_file(write(tmp_path, "people.csv", "name\nx\n"))
    with pytest.raises(ValidationError, match="unknown column 'colour'"):
        parse_file(write(tmp_path, "sources.csv", "name,kind,colour\nx,news,red\n"))


def test_a_claim_keeps_likelihood_and_confidence_level_apart(tmp_path):
    """ICD 203: the likelihood term and the confidence level are two optional fields, each checked."""
    path = write(tmp_path, "claims.csv",
                 "incident,actor,source,stance,confidence,date,likelihood,confidence_level\n"
                 "i:1,a:1,s:1,attributes,88,2020-01-01,very likely,moderate\n")
    claim = next(n for n in parse_file(path).nodes if n.label == "Claim")
    assert (claim.props["likelihood"], claim.props["confidence_level"]) == ("very likely", "moderate")
    bad = write(tmp_path, "claims.csv", "incident,actor,source,stance,confidence,date,confidence_level\n"
                                        "i:1,a:1,s:1,attributes,88,2020-01-01,likely\n")
    with pytest.raises(ValidationError, match="field 'confidence_level'"):
        parse_file(bad)


def test_expand_paths_sorted_and_missing(tmp_path):
    write(tmp_path, "b.yaml", "sources: []\n")
    write(tmp_path, "a.json", "{}")
    write(tmp_path, "notes.txt", "x")
    assert [p.name for p in expand_paths([tmp_path])] == ["a.json", "b.yaml"]
    with pytest.raises(ValidationError, match="no such file"):
        expand_paths([tmp_path / "nope.yaml"])


def test_partial_dates():
    from loaders.common import normalise_date
    assert normalise_date("2017-05") == "2017-05-01"
    assert normalise_date("2017-05", end=True) == "2017-05-31"
    assert normalise_date("2016", end=True) == "2016-12-31"
    assert normalise_date("2020-02", end=True) == "2020-02-29"
    assert normalise_date("2019-09-01T04:00:00.000Z") == "2019-09-01"
    assert normalise_date("2020-13") is None and normalise_date("soon") is None


def test_hints_and_member_of_are_validated(tmp_path):
    """An incident's `hints` (origin/motive, with the sentence that gave them) are stored as
    "kind:value<TAB>text"; a wrong one names the record and field. `member_of` is a person's only."""
    hinted = SMALL.replace("    first_seen: 2021-03\n", "    first_seen: 2021-03\n    hints: [origin:pakistan, "
                           "{kind: motive, value: Financial, text: 'A financially  motivated crew.'}]\n", 1)
    batch = parse_file(write(tmp_path, "hints.yaml", hinted))
    assert by_label(batch, "Incident")["test:intrusion-1"].props["hints"] == [
        "origin:PK", "motive:financial\tA financially motivated crew."]
    for bad, words in (("origin:Atlantis", "'Atlantis' is not a country"), ("motive:boredom", "not a motive"),
                       ("sponsor:PK", "not a hint kind"), ("{kind: origin, value: PK, why: x}", "unknown field")):
        with pytest.raises(ValidationError) as exc:
            parse_file(write(tmp_path, "bad.yaml", hinted.replace("origin:pakistan", bad)))
        assert "field 'hints[0]'" in str(exc.value) and words in str(exc.value), str(exc.value)
    member = SMALL.replace("    kind: group\n", "    kind: group\n    member_of: [attack:G0032]\n", 1)
    with pytest.raises(ValidationError) as exc:
        parse_file(write(tmp_path, "member.yaml", member))
    assert "field 'member_of'" in str(exc.value) and "only a person" in str(exc.value)
