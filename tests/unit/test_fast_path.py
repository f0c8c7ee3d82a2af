"""The column-at-a-time check of streamed record files (loaders.records.iter_prepared) against
the record-by-record builder: the same rows for good files, the same refusal, word for word,
for bad ones."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from synthetic import Generator  # noqa: E402

from graph.errors import ValidationError  # noqa: E402
from graph.store.writer import prepare  # noqa: E402
from loaders import records  # noqa: E402
from loaders.records import iter_prepared, iter_record_batches  # noqa: E402

CHUNK = 16


def by_record(path: Path) -> list:
    return [prepare(b) for b in iter_record_batches(path, chunk_records=CHUNK)]


def pairs(prepared) -> dict:
    """Every relationship row of a Prepared keyed by its two ends, those made one per start
    node (`by_start`) too; a pair in both, or twice, fails."""
    rels = {group: dict(rows) for group, rows in prepared.rels.items() if rows}
    for group, rows in prepared.by_start.items():
        for start, ends, props, lists in rows:
            for end in ends:
                assert (start, end) not in rels.get(group, {}), (group, start, end)
                rels.setdefault(group, {})[(start, end)] = {"start": start, "end": end, "props": props,
                                                            "lists": lists}
    return rels


def same(a, b) -> bool:
    nonempty = lambda groups: {k: g for k, g in groups.items() if g}
    return ((nonempty(a.nodes), pairs(a), a.refs, a.skipped)
            == (nonempty(b.nodes), pairs(b), b.refs, b.skipped))


def as_jsonl(path: Path, out: Path) -> Path:
    """A generated CSV record file as JSON Lines (lists as lists, victims as a mapping)."""
    lines = []
    for row in csv.DictReader(path.open()):
        record = {k: (v.split(";") if k in ("tools", "techniques", "infrastructure", "sources",
                                            "organizations", "sectors", "countries") else v)
                  for k, v in row.items() if v}
        victims = {k: record.pop(k) for k in ("organizations", "sectors", "countries") if k in record}
        if victims:
            record["victims"] = victims
        lines.append(json.dumps(record))
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    Generator(seed=9, actors=20, tools=60, techniques=60).write(out, 150)
    as_jsonl(out / "incidents.csv", out / "incidents.jsonl")
    as_jsonl(out / "claims.csv", out / "claims.jsonl")
    return out


@pytest.mark.parametrize("name", ["sources.csv", "actors.csv", "incidents.csv", "claims.csv",
                                  "incidents.jsonl", "claims.jsonl"])
def test_good_files_give_the_same_rows(generated, name):
    fast = list(iter_prepared(generated / name, chunk_records=CHUNK))
    slow = by_record(generated / name)
    assert len(fast) == len(slow) > 1
    assert all(same(a, b) for a, b in zip(fast, slow))


@pytest.mark.parametrize("name", ["incidents.csv", "claims.csv", "incidents.jsonl", "claims.jsonl"])
def test_good_chunks_are_checked_by_columns(generated, name, monkeypatch):
    def record_by_record(*args):
        raise AssertionError("a good chunk went record by record")
    monkeypatch.setattr(records._Builder, "build", record_by_record)
    assert list(iter_prepared(generated / name, chunk_records=CHUNK))


@pytest.mark.parametrize("name", ["actors.csv", "incidents.csv", "claims.csv", "incidents.jsonl"])
def test_each_chunk_names_the_keys_no_earlier_chunk_named(generated, name):
    chunks = list(iter_prepared(generated / name, chunk_records=CHUNK))
    seen: dict[str, set] = {}
    for chunk in chunks:
        assert set(chunk.fresh) == set(chunk.nodes)
        for label, keys in chunk.nodes.items():
            assert chunk.fresh[label] == set(keys) - seen.get(label, set()), label
            seen.setdefault(label, set()).update(keys)
    shared = [label for label in seen
              if any(set(c.nodes.get(label, ())) - c.fresh.get(label, set()) for c in chunks)]
    assert shared or name == "claims.csv"  # tools, techniques, countries recur across chunks


INCIDENT = "key,name,first_seen,last_seen,tools,techniques,infrastructure,organizations,sectors,countries,sources"
GOOD_INCIDENT = "i:{n},Incident {n},2020-01-0{d},,Tool A;S0366,T1566.001;T1059,domain:x{n}.example,Org {n},finance,US,src:a"
BAD_INCIDENTS = [  # one bad line, by what is wrong with it
    ",No key,2020,,,,,,,,src:a",
    "i:bad,,2020,,,,,,,,src:a",
    "i:bad,Bad,spring,,,,,,,,src:a",
    "i:bad,Bad,2020-05,2020-04,,,,,,,src:a",
    "i:bad,Bad,2020,,,,,,,,",
    "i:bad,Bad,2020,,,,,,,, ; ",
    "i:bad,Bad,2020,,,T15666,,,,,src:a",
    "i:bad,Bad,2020,,,,domain:,,,,src:a",
    "i:bad,Bad,2020,,,,gopher:x,,,,src:a",
    "i:bad,Bad,2020,,,,,,,Atlantis,src:a",
    "i:bad,Bad,2020,,,,,,!!!,,src:a",
    "i:3,Again,2020,,,,,,,,src:a",  # the key of an earlier line (same chunk)
    "i:1,Again,2020,,,,,,,,src:a",  # the key of a line in the chunk before
    "i:bad,Bad,2020,,,,,,,,src:a,extra",
    "i:bad,Bad,2020-13-01,,,,,,,,src:a",
]
CLAIM = "incident,actor,source,stance,confidence,date,statement"
GOOD_CLAIM = "i:{n},a:1,src:a,attributes,{c},2020-02-0{d},said"
BAD_CLAIMS = [
    ",a:1,src:a,attributes,50,2020,",
    "i:1,,src:a,attributes,50,2020,",
    "i:1,a:1,,attributes,50,2020,",
    "i:1,a:1,src:a,blames,50,2020,",
    "i:1,a:1,src:a,,50,2020,",
    "i:1,a:1,src:a,attributes,fifty,2020,",
    "i:1,a:1,src:a,attributes,170,2020,",
    "i:1,a:1,src:a,attributes,,2020,",
    "i:1,a:1,src:a,attributes,50,,",
    "i:1,a:1,src:a,attributes,50,someday,",
    "i:3,a:1,src:a,attributes,40,2020-02-04,said",  # the same claim as an earlier line
    "i:20,a:1,src:a,attributes,40,2020-02-03,said",  # ... as a line in the chunk before
]


def with_bad_line(header: str, good: str, bad: str, at: int, lines: int = 40) -> str:
    rows = [good.format(n=n, d=1 + n % 9, c=40 + n % 50) for n in range(lines)]
    rows.insert(at, bad)
    return "\n".join([header] + rows) + "\n"


def refusal(load, path: Path) -> str:
    with pytest.raises(ValidationError) as exc:
        for _ in load(path):
            pass
    return str(exc.value)


def assert_same_refusal(path: Path) -> None:
    fast = refusal(lambda p: iter_prepared(p, chunk_records=CHUNK), path)
    assert fast == refusal(lambda p: iter_record_batches(p, chunk_records=CHUNK), path)
    assert str(path) in fast and "record line" in fast


@pytest.mark.parametrize("bad", BAD_INCIDENTS)
@pytest.mark.parametrize("at", [5, 30])
def test_bad_incident_lines_are_refused_alike(tmp_path, bad, at):
    path = tmp_path / "incidents.csv"
    path.write_text(with_bad_line(INCIDENT, GOOD_INCIDENT, bad, at))
    assert_same_refusal(path)


@pytest.mark.parametrize("bad", BAD_CLAIMS)
@pytest.mark.parametrize("at", [5, 30])
def test_bad_claim_lines_are_refused_alike(tmp_path, bad, at):
    path = tmp_path / "claims.csv"
    path.write_text(with_bad_line(CLAIM, GOOD_CLAIM, bad, at))
    assert_same_refusal(path)


def jsonl(text: str) -> str:
    rows = list(csv.DictReader(io.StringIO(text)))
    return "\n".join(json.dumps({k: v for k, v in row.items() if v}) for row in rows) + "\n"


BAD_JSON_LINES = [
    '{"key": "i:bad", "name": "Bad", "first_seen": 2020, "sources": ["src:a"]}',  # a number: fine
    '{"key": "i:bad", "name": "Bad", "first_seen": "2020", "sources": "src:a"}',  # one item: fine
    '{"key": "i:bad", "name": "Bad", "first_seen": "2020", "sources": [""]}',
    '{"key": "i:bad", "name": "Bad", "first_seen": "2020", "sources": ["src:a"], "tools": [{"name": ""}]}',
    '{"key": "i:bad", "name": "Bad", "first_seen": "2020", "sources": ["src:a"], "tools": [7]}',
    '{"key": "i:bad", "name": "Bad", "first_seen": "2020", "sources": ["src:a"], "colour": "red"}',
    '{"key": "i:bad", "name": "Bad", "first_seen": "2020", "sources": ["src:a"], "victims": ["US"]}',
    '{"key": "i:bad", "name": "Bad", "first_seen": "2020", "sources": ["src:a"], "victims": {"people": 1}}',
    '{"key": true, "name": "Bad", "first_seen": "2020", "sources": ["src:a"]}',
    '["not", "a", "mapping"]',
    '{"key": "i:bad", "name": "Bad", "first_seen": "2020", "sources": ["src:a"], "last_seen": "2019"}',
]


@pytest.mark.parametrize("bad", BAD_JSON_LINES)
def test_bad_json_lines_are_refused_alike(tmp_path, bad):
    good = jsonl(with_bad_line(INCIDENT, GOOD_INCIDENT, "", 0, lines=40)).splitlines()[1:]
    path = tmp_path / "incidents.jsonl"
    path.write_text("\n".join(good[:20] + ['{"key": "i:bad", "name": "Bad", "first_seen": "2020", '
                                           '"sources": ["src:a"]}'.replace("i:bad", "i:bad0")]
                              + [bad] + good[20:]) + "\n")
    fast_result, slow_result = (_outcome(lambda p: iter_prepared(p, chunk_records=CHUNK), path),
                                _outcome(lambda p: iter_record_batches(p, chunk_records=CHUNK), path))
    if isinstance(slow_result, str):
        assert fast_result == slow_result
    else:
        assert len(fast_result) == len(slow_result)
        assert all(same(a, prepare(b)) for a, b in zip(fast_result, slow_result))


def _outcome(load, path: Path):
    try:
        return list(load(path))
    except ValidationError as exc:
        return str(exc)


def test_a_wrong_record_before_an_unreadable_line_is_named_first(tmp_path):
    text = with_bad_line(CLAIM, GOOD_CLAIM, "i:1,a:1,src:a,blames,50,2020,", 3)
    path = tmp_path / "claims.csv"
    path.write_text(text + 'i:9,a:1,src:a,"attributes\n')  # an unclosed quote at the end
    assert_same_refusal(path)
    assert "blames" in refusal(lambda p: iter_prepared(p, chunk_records=CHUNK), path)
