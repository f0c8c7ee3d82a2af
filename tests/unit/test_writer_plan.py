"""How the writer splits a batch (no database): rows new to the graph are created, the rest
merged; relationships touching a new node are created; names outside the model are refused."""
from __future__ import annotations

import pytest

from graph import cypher
from graph.model import Batch
from graph.store.writer import plan, prepare


def batch() -> Batch:
    b = Batch("x.yaml")
    b.node("Incident", "inc:new", name="New", sources=["src:a"])
    b.node("Incident", "inc:old", name="Old", sources=["src:a", "src:a"])
    b.node("Technique", "T1566", external_ids=["T1566"])
    b.rel("USED", ("Incident", "inc:new"), ("Technique", "T1566"), sources=["src:a"])
    b.rel("USED", ("Incident", "inc:old"), ("Technique", "T1566"), sources=["src:a"])
    b.rel("REPORTED_BY", ("Incident", "inc:new"), ("Source", "src:a"))
    return b


def test_new_keys_are_created_and_relationships_touching_them_too():
    # inc:old and T1566 are in the graph already
    steps = plan(prepare(batch()), new={"Incident": {"inc:new"}, "Technique": set()}).statements
    pairs = lambda s: [(r[0], end) for r in s.rows for end in r[1]] if s.rels else [r[0] for r in s.rows]
    planned = {(s.query().splitlines()[1].split()[0], s.query().split("`")[1], tuple(sorted(pairs(s))))
               for s in steps}
    assert planned == {
        ("CREATE", "Incident", ("inc:new",)),
        ("MERGE", "Incident", ("inc:old",)),
        ("MERGE", "Technique", ("T1566",)),
        ("MATCH", "Incident", (("inc:new", "T1566"),)),  # created: inc:new is new
        ("MATCH", "Incident", (("inc:old", "T1566"),)),  # merged: both ends existed
        ("MATCH", "Incident", (("inc:new", "src:a"),)),
    }
    created = {pair for s in steps if s.create and s.rels for pair in pairs(s)}
    assert created == {("inc:new", "T1566"), ("inc:new", "src:a")}
    merged_rel = next(s for s in steps if not s.create and "-[r:`USED`]" in s.query())
    assert "MERGE (a)-[r:`USED`]->(b)" in merged_rel.query() and "CASE WHEN" in merged_rel.query()


def test_rows_are_flat_lists_in_the_columns_the_query_reads():
    steps = plan(prepare(batch()), new=None).statements
    incidents = next(s for s in steps if s.group == "Incident")
    assert (incidents.props, incidents.lists) == (["name"], ["sources"])
    assert sorted(incidents.rows) == [["inc:new", "New", ["src:a"]], ["inc:old", "Old", ["src:a"]]]
    assert "n.name = coalesce(row[1], n.name)" in incidents.query()
    assert "row[2] IS NULL" in incidents.query()
    used = next(s for s in steps if s.group == ("USED", "Incident", "Technique"))
    assert sorted(used.rows) == [["inc:new", ["T1566"], ["src:a"]], ["inc:old", ["T1566"], ["src:a"]]]


def test_new_none_merges_everything():
    steps = plan(prepare(batch()), new=None).statements
    assert steps and not any(s.create for s in steps)


def test_prepare_deduplicates_lists_and_names_outside_nodes_once():
    p = prepare(batch())
    assert p.nodes["Incident"]["inc:old"]["lists"] == {"sources": ["src:a"]}
    assert [(r.label, r.key) for r in p.refs] == [("Source", "src:a")]


def test_concurrent_transactions_wrap_only_unwind_queries():
    q = cypher.in_concurrent_transactions(cypher.create_nodes("Tool", ["name"], ["sources"]), 2, 1000)
    assert q.startswith("UNWIND $rows AS row\nCALL (row) {\nCREATE (n:`Tool` {key: row[0]})")
    assert q.endswith("} IN 2 CONCURRENT TRANSACTIONS OF 1000 ROWS")
    with pytest.raises(ValueError):
        cypher.in_concurrent_transactions("MATCH (n) DETACH DELETE n", 2, 1000)


@pytest.mark.parametrize("build", [
    lambda: cypher.create_nodes("Person", [], []),
    lambda: cypher.create_nodes("Tool", [], ["name"]),
    lambda: cypher.create_nodes("Tool", ["name} SET n.x = 1 //"], []),
    lambda: cypher.create_rels("OWNS", "Actor", "Tool", [], []),
])
def test_names_outside_the_model_are_refused(build):
    with pytest.raises(ValueError):
        build()
