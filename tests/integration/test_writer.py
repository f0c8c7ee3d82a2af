"""The writer's fast paths against a real Neo4j: rows new to the graph are CREATEd (in
concurrent server transactions for chunks of a validated file), the rest MERGEd; the graph
must come out the same as writing everything in one transaction, and a key another client
creates meanwhile must not be doubled."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.cli import main
from graph.model import Batch
from graph.store import schema
from app.ingest import load_paths
from graph.store.writer import prepare, write_prepared

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from synthetic import Generator  # noqa: E402

DUMP = """
MATCH (n) WITH n ORDER BY labels(n)[0], n.key
OPTIONAL MATCH (n)-[r]->(m)
WITH n, r, m ORDER BY type(r), m.key
RETURN labels(n) AS labels, properties(n) AS props,
       collect([type(r), m.key, properties(r)]) AS out
"""


def dump(db) -> list[dict]:
    rows = db.read(DUMP)
    for row in rows:  # list properties are sets: compare them in a stable order
        row["props"] = {k: sorted(v) if isinstance(v, list) else v for k, v in row["props"].items()}
        row["out"] = [[t, k, {p: sorted(v) if isinstance(v, list) else v for p, v in (props or {}).items()}]
                      for t, k, props in row["out"]]
    return rows


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> Path:
    # 4,500 incidents: three chunks of the streamed files, shared tools and techniques
    # across chunks, competing claims and denials.
    out = tmp_path_factory.mktemp("synthetic")
    Generator(seed=5, actors=40, tools=150, techniques=120).write(out, 4500)
    return out


def test_concurrent_chunks_build_the_same_graph_as_one_transaction_each(db, records):
    report = load_paths(db, [records], concurrency=2)
    assert report.ok, report.refused
    # The counters of the concurrent transactions add up to what is in the graph.
    counts = schema.stats(db)
    assert sum(r.nodes_created for r in report.written) == sum(counts["nodes"].values())
    assert sum(r.rels_created for r in report.written) == sum(counts["relationships"].values())
    assert counts["nodes"]["Incident"] == 4500
    concurrent = dump(db)
    schema.reset(db)
    assert load_paths(db, [records], concurrency=0).ok
    assert dump(db) == concurrent
    # Loading again takes the MERGE path for every row and changes nothing.
    again = load_paths(db, [records], concurrency=2)
    assert again.ok
    assert sum(r.nodes_created + r.rels_created for r in again.written) == 0
    assert dump(db) == concurrent


def _batch() -> Batch:
    batch = Batch("race.yaml")
    batch.node("Source", "src:race", name="Race Source", kind="news", sources=["src:race"])
    batch.node("Incident", "inc:race", name="Race", first_seen="2020-01-01", sources=["src:race"])
    batch.rel("REPORTED_BY", ("Incident", "inc:race"), ("Source", "src:race"))
    return batch


@pytest.mark.parametrize("concurrency", [0, 2])
def test_key_created_meanwhile_by_another_client_is_merged_not_doubled(db, concurrency):
    prepared = prepare(_batch())
    with db.driver.session(database=db.database) as session:
        other = session.begin_transaction()
        other.run("CREATE (:Source {key: 'src:race', kind: 'vendor', reliability: 'B'})").consume()
        # Our writer does not see the uncommitted node, so it CREATEs the key and waits on
        # the unique constraint's lock until the other transaction commits.
        outcome: dict = {}
        writer = threading.Thread(target=lambda: outcome.update(
            result=write_prepared(db, prepared, concurrency=concurrency)))
        writer.start()
        time.sleep(1.5)
        assert writer.is_alive(), "the writer should be waiting on the other transaction's key"
        other.commit()
        writer.join(timeout=60)
    assert not writer.is_alive() and "result" in outcome
    rows = db.read("MATCH (s:Source {key: 'src:race'}) "
                   "OPTIONAL MATCH (s)<-[r:REPORTED_BY]-(i:Incident) "
                   "RETURN s.name AS name, s.kind AS kind, s.reliability AS reliability, count(r) AS reports")
    assert rows == [{"name": "Race Source", "kind": "news", "reliability": "B", "reports": 1}]
    assert outcome["result"].nodes_created == 1  # the incident; the source was the other client's


def test_a_streamed_load_killed_midway_is_marked_and_the_next_load_finishes_it(db, records, settings, cli_env,
                                                                                 capsys, tmp_path):
    """`kill -9` of the loader while it writes the chunks of a streamed file: the graph holds part
    of the file and says so (the marker), and `attrib load` with no path completes it."""
    assert load_paths(db, [records / "sources.csv", records / "actors.csv"]).ok
    incidents = tmp_path / "incidents.csv"
    incidents.write_bytes((records / "incidents.csv").read_bytes())
    env = {**os.environ, "ATTRIB_WRITE_CONCURRENCY": "0"}  # one transaction per chunk: slower, easy to catch
    if not settings.external:
        env["ATTRIB_INSTANCE"] = settings.instance
    loader = subprocess.Popen([sys.executable, "-m", "app.cli", "load", str(incidents)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    count = "MATCH (i:Incident) RETURN count(i) AS n"
    try:
        deadline = time.monotonic() + 300
        while not db.read(count)[0]["n"] and loader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        loader.kill()
    finally:
        loader.wait()
    written = db.read(count)[0]["n"]
    assert 0 < written < 4500, written  # the first chunk of three is in, not the whole file
    marker = db.read("MATCH (m:AttribLoad) RETURN m.file AS file, m.done AS done, m.chunks AS chunks")
    assert marker == [{"file": str(incidents.resolve()), "done": marker[0]["done"], "chunks": 3}]
    assert marker[0]["done"] < 3

    assert main(["load"]) == 0
    err = capsys.readouterr().err
    assert f"finished {incidents.resolve()} (its last load stopped after" in err
    assert db.read(count)[0]["n"] == 4500
    assert not db.read("MATCH (m:AttribLoad) RETURN m")
    finished = dump(db)
    schema.reset(db)
    assert load_paths(db, [records / "sources.csv", records / "actors.csv", incidents]).ok
    assert dump(db) == finished  # the same graph as a load never interrupted

    # A file changed since its load stopped: not loaded, but every load says the graph holds part of it.
    db.write("CREATE (:AttribLoad {file: $file, size: 1, mtime_ns: 1, chunks: 3, done: 1})",
             {"file": str(incidents.resolve())})
    assert main(["load"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {incidents.resolve()}: its last load stopped after 1 of 3 chunks, so the graph holds part" in err
    assert main(["load", str(incidents)]) == 0  # loading it again completes it and clears the marker
    assert not db.read("MATCH (m:AttribLoad) RETURN m")
