"""Property-based: mutated record, STIX and MISP files either load or are refused with one
ValidationError naming the file; no other exception ever escapes a loader.

Bounded and seeded in the normal suite; `ATTRIB_FUZZ_EXAMPLES=5000 pytest tests/unit/test_fuzz.py`
runs the long mode (that many examples per test). The database half (the graph unchanged on a
refusal) is tests/integration/test_fuzz_db.py.
"""
from __future__ import annotations

import copy
import csv
import gzip
import io
import json
import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, seed, settings, strategies as st

from graph.errors import ValidationError
from loaders import iter_batches
from tests.conftest import FIXTURES, SHARED_DATA
from tests.unit.test_stix import small_bundle

EXAMPLES = int(os.environ.get("ATTRIB_FUZZ_EXAMPLES", "60"))
SEED = 20201127  # fixed: the normal suite sees the same examples every run
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


def _json_value():
    scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
               | st.text(max_size=30) | st.sampled_from(["", "T1566", "G0032", "2020-13-45", "KP", "\x00",
                                                         "attack-pattern--x", "identity--y"]))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)


def _documents() -> dict[str, object]:
    records = yaml.safe_load((FIXTURES / "small.yaml").read_text())
    docs = {"records": json.loads(json.dumps(records, default=str)), "stix": small_bundle()}  # dates as text
    galaxy = SHARED_DATA / "misp-galaxy" / "microsoft-activity-group.json"
    event = next(iter(sorted((SHARED_DATA / "misp").glob("circl-*.json"))), None)
    if galaxy.exists():
        doc = json.loads(galaxy.read_text())
        doc["values"] = doc["values"][:4]
        docs["misp-galaxy"] = doc
    if event:
        docs["misp-event"] = json.loads(event.read_text())
    return docs


DOCUMENTS = _documents()


def _paths(doc) -> list[tuple]:
    """Every (key, key, ...) path to a value inside a parsed document."""
    out, stack = [], [((), doc)]
    while stack:
        path, node = stack.pop()
        out.append(path)
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        stack.extend((path + (k,), v) for k, v in items)
    return out


@st.composite
def mutated_document(draw, name: str):
    """A valid document with a few values replaced, dropped or retyped."""
    doc = copy.deepcopy(DOCUMENTS[name])
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        action = draw(st.sampled_from(["replace", "delete", "duplicate"]))
        if action == "delete" and isinstance(parent, (dict, list)):
            del parent[path[-1]]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[path[-1]]))
        else:
            parent[path[-1]] = draw(_json_value())
    return doc


@st.composite
def mutated_bytes(draw, data: bytes):
    """Valid file bytes with a few bytes flipped, inserted or cut, or the file truncated."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["flip", "insert", "cut", "truncate"]))
        if action == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8)
                               | st.sampled_from([b"\x00", b"\xff\xfe", b"[[[[", b"{", b"&a", b"*a", b"\"", b"\n"]))
        elif action == "cut":
            del data[at:at + draw(st.integers(1, 20))]
        else:
            del data[at:]
    return bytes(data)


def _to_csv(records: list[dict], kind_columns: list[str]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=kind_columns, extrasaction="ignore")
    w.writeheader()
    for r in records:
        w.writerow({k: ";".join(map(str, v)) if isinstance(v, list) else v for k, v in r.items()
                    if k in kind_columns})
    return out.getvalue().encode()


SERIALISE = {
    "json": lambda doc: json.dumps(doc).encode(),
    "yaml": lambda doc: yaml.safe_dump(doc, allow_unicode=True).encode(),
}


def outcome(path: Path) -> ValidationError | None:
    """None if the file parses, the ValidationError if it is refused; anything else fails."""
    try:
        for _ in iter_batches(path):
            pass
    except ValidationError as exc:
        assert str(path) in str(exc), f"the error does not name the file: {exc}"
        return exc
    return None


def tally(result: ValidationError | None) -> None:
    """Hypothesis statistics (--hypothesis-show-statistics): what the mutations led to."""
    event("loaded" if result is None else "refused: " + result.detail.split(" (")[0][:40])


def write(tmp_path: Path, name: str, data: bytes, gzipped: bool) -> Path:
    path = tmp_path / (name + (".gz" if gzipped else ""))
    path.write_bytes(gzip.compress(data, mtime=0) if gzipped else data)
    return path


@seed(SEED)
@FUZZ
@given(data=st.data())
def test_mutated_documents_load_or_are_refused(tmp_path_factory, data):
    name = data.draw(st.sampled_from(sorted(DOCUMENTS)))
    fmt = data.draw(st.sampled_from(["json", "yaml"] if name == "records" else ["json"]))
    doc = data.draw(mutated_document(name))
    path = write(tmp_path_factory.mktemp("fuzz"), f"{name}.{fmt}", SERIALISE[fmt](doc), data.draw(st.booleans()))
    tally(outcome(path))


@seed(SEED)
@FUZZ
@given(data=st.data())
def test_mutated_bytes_load_or_are_refused(tmp_path_factory, data):
    name = data.draw(st.sampled_from(sorted(DOCUMENTS) + ["records-csv", "records-jsonl"]))
    if name == "records-csv":
        valid, filename = _to_csv(DOCUMENTS["records"]["incidents"] * 3,
                                  ["key", "name", "first_seen", "last_seen", "sectors", "countries",
                                   "tools", "techniques", "sources"]), "incidents.csv"
    elif name == "records-jsonl":
        valid = "".join(json.dumps(r) + "\n" for r in DOCUMENTS["records"]["sources"]).encode()
        filename = "sources.jsonl"
    else:
        fmt = data.draw(st.sampled_from(["json", "yaml"] if name == "records" else ["json"]))
        valid, filename = SERIALISE[fmt](DOCUMENTS[name]), f"{name}.{fmt}"
    gzipped = data.draw(st.booleans())
    raw = data.draw(mutated_bytes(valid))
    if gzipped and data.draw(st.booleans()):  # mutate the compressed bytes instead
        path = write(tmp_path_factory.mktemp("fuzz"), filename + ".gz",
                     data.draw(mutated_bytes(gzip.compress(valid, mtime=0))), False)
    else:
        path = write(tmp_path_factory.mktemp("fuzz"), filename, raw, gzipped)
    tally(outcome(path))


def test_the_valid_files_load(tmp_path):
    """The starting points are valid: mutations are what gets refused."""
    for name, doc in DOCUMENTS.items():
        assert outcome(write(tmp_path, f"{name}.json", SERIALISE["json"](doc), False)) is None, name
