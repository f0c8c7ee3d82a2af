"""The database half of the property-based test (tests/unit/test_fuzz.py): a mutated record, STIX
or MISP file either loads, or is refused with one error naming it and the graph exactly as it was
(every node, relationship and property). Fewer examples than the parse-only half: each is a load."""
from __future__ import annotations

import os

import pytest
from hypothesis import given, seed, settings, strategies as st

from graph.store import schema
from app.ingest import load_paths
from tests.conftest import FIXTURES
from tests.integration.test_backup import snapshot
from tests.unit.test_fuzz import DOCUMENTS, FUZZ, SEED, SERIALISE, mutated_bytes, mutated_document, write

EXAMPLES = max(int(os.environ.get("ATTRIB_FUZZ_EXAMPLES", "150")) // 10, 5)


@pytest.fixture(scope="module")
def db_with_records(session_db):
    """A graph holding the small record file, which the mutated records point into."""
    schema.reset(session_db)
    assert load_paths(session_db, [FIXTURES / "small.yaml"]).ok
    yield session_db
    schema.reset(session_db)


@seed(SEED)
@settings(FUZZ, max_examples=EXAMPLES)
@given(data=st.data())
def test_refused_files_leave_the_graph_unchanged(db_with_records, tmp_path_factory, data):
    db = db_with_records
    name = data.draw(st.sampled_from(sorted(DOCUMENTS)))
    text = SERIALISE["json"](data.draw(mutated_document(name)))
    if data.draw(st.booleans()):
        text = data.draw(mutated_bytes(text))
    path = write(tmp_path_factory.mktemp("fuzz-db"), f"{name}.json", text, data.draw(st.booleans()))
    before = snapshot(db)
    report = load_paths(db, [path])
    if report.refused:
        assert len(report.refused) == 1 and str(path) in str(report.refused[0])
        assert not report.written
        assert snapshot(db) == before


def test_a_file_that_vanishes_mid_load_is_refused(db, tmp_path):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("sources: [{key: 'src:a', name: A, kind: news}]\n")
    second.write_text("sources: [{key: 'src:b', name: B, kind: news}]\n")

    def on_file(path):
        if path == first:
            second.unlink()  # gone after the directory was listed, before its turn

    report = load_paths(db, [tmp_path], on_file=on_file)
    assert [r.file for r in report.written] == [str(first)]
    assert len(report.refused) == 1 and str(second) in str(report.refused[0])
    assert "not found" in report.refused[0].message
    assert db.read("MATCH (s:Source) RETURN collect(s.key) AS k")[0]["k"] == ["src:a"]
