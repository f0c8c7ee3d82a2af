"""Schema and lifecycle: uniqueness constraints, indexes, counts, reset."""
from __future__ import annotations

from graph import cypher
from graph.model import LABELS, REL_TYPES
from graph.store.db import GraphDB


def init_schema(db: GraphDB) -> int:
    """Create every constraint and index of the graph model (idempotent); returns how many."""
    statements = cypher.constraint_statements() + cypher.INDEX_STATEMENTS
    for statement in statements:
        db.run_autocommit(statement)
    db.run_autocommit(cypher.AWAIT_INDEXES)
    return len(statements)


def stats(db: GraphDB) -> dict:
    """{"nodes": {Label: n}, "relationships": {TYPE: n}} for the labels and types in use."""
    def work(tx):
        # Count only what the database knows, so no query names an unknown label or type.
        labels = tx.run(cypher.LABELS_IN_USE).single()["names"]
        types = tx.run(cypher.TYPES_IN_USE).single()["names"]
        nodes = {label: tx.run(cypher.count_label(label)).single()["n"] for label in LABELS if label in labels}
        rels = {t: tx.run(cypher.count_rel_type(t)).single()["n"] for t in REL_TYPES if t in types}
        return ({k: v for k, v in nodes.items() if v}, {k: v for k, v in rels.items() if v})
    nodes, rels = db.execute_read(work)
    return {"nodes": nodes, "relationships": rels}


def reset(db: GraphDB) -> int:
    """Delete every node and relationship (in batches, so large graphs fit in memory)."""
    before = db.read(cypher.COUNT_ALL_NODES)[0]["n"]
    db.run_autocommit(cypher.DELETE_ALL_RELATIONSHIPS)
    db.run_autocommit(cypher.DELETE_ALL_NODES)
    return before
