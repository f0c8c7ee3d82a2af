"""Every Cypher statement the library runs (saved user-facing queries live in queries/).

Labels, relationship types and property names are never taken from input: the builders
below accept only names from the allowlists in `graph.model` and refuse anything else.
"""
from __future__ import annotations

from graph.model import LABELS, LIST_PROPS, REL_TYPES


def _label(label: str) -> str:
    if label not in LABELS:
        raise ValueError(f"label {label!r} is not in the graph model")
    return f"`{label}`"


def _rel_type(rel_type: str) -> str:
    if rel_type not in REL_TYPES:
        raise ValueError(f"relationship type {rel_type!r} is not in the graph model")
    return f"`{rel_type}`"


def _union_lists(var: str, list_props: list[str]) -> str:
    """SET clauses that merge list properties as set unions (order-independent, idempotent)."""
    lines = []
    for prop in list_props:
        if prop not in LIST_PROPS:
            raise ValueError(f"list property {prop!r} is not in the graph model")
        lines.append(
            f"SET {var}.{prop} = CASE WHEN row.lists.{prop} IS NULL THEN {var}.{prop} "
            f"ELSE coalesce({var}.{prop}, []) + "
            f"[x IN row.lists.{prop} WHERE NOT x IN coalesce({var}.{prop}, [])] END")
    return "\n".join(lines)


def constraint_statements() -> list[str]:
    return [f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS "
            f"FOR (n:{_label(label)}) REQUIRE n.key IS UNIQUE" for label in LABELS]


INDEX_STATEMENTS = [
    "CREATE INDEX actor_name IF NOT EXISTS FOR (n:Actor) ON (n.name)",
    "CREATE INDEX incident_name IF NOT EXISTS FOR (n:Incident) ON (n.name)",
    "CREATE INDEX incident_first_seen IF NOT EXISTS FOR (n:Incident) ON (n.first_seen)",
    "CREATE INDEX tool_name IF NOT EXISTS FOR (n:Tool) ON (n.name)",
    "CREATE INDEX technique_name IF NOT EXISTS FOR (n:Technique) ON (n.name)",
    "CREATE INDEX claim_stance IF NOT EXISTS FOR (n:Claim) ON (n.stance)",
    "CREATE INDEX claim_date IF NOT EXISTS FOR (n:Claim) ON (n.date)",
    "CREATE INDEX source_name IF NOT EXISTS FOR (n:Source) ON (n.name)",
    "CREATE FULLTEXT INDEX node_search IF NOT EXISTS "
    "FOR (n:Actor|Alias|Incident|Tool|Technique|Organization|Sector|Country|Infrastructure|Source) "
    "ON EACH [n.name, n.key, n.description]",
]


def merge_nodes(label: str, list_props: list[str]) -> str:
    return "\n".join([
        "UNWIND $rows AS row",
        f"MERGE (n:{_label(label)} {{key: row.key}})",
        "SET n += row.props",
        _union_lists("n", list_props),
    ])


def merge_rels(rel_type: str, start_label: str, end_label: str, list_props: list[str]) -> str:
    return "\n".join([
        "UNWIND $rows AS row",
        f"MATCH (a:{_label(start_label)} {{key: row.start}})",
        f"MATCH (b:{_label(end_label)} {{key: row.end}})",
        f"MERGE (a)-[r:{_rel_type(rel_type)}]->(b)",
        "SET r += row.props",
        _union_lists("r", list_props),
    ])


def missing_keys(label: str) -> str:
    return (f"UNWIND $keys AS k OPTIONAL MATCH (n:{_label(label)} {{key: k}}) "
            "WITH k, n WHERE n IS NULL RETURN k")


def count_label(label: str) -> str:
    return f"MATCH (n:{_label(label)}) RETURN count(n) AS n"


def count_rel_type(rel_type: str) -> str:
    return f"MATCH ()-[r:{_rel_type(rel_type)}]->() RETURN count(r) AS n"


LABELS_IN_USE = "CALL db.labels() YIELD label RETURN collect(label) AS names"
TYPES_IN_USE = "CALL db.relationshipTypes() YIELD relationshipType RETURN collect(relationshipType) AS names"
AWAIT_INDEXES = "CALL db.awaitIndexes(300)"
COUNT_ALL_NODES = "MATCH (n) RETURN count(n) AS n"
DELETE_ALL = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"

INCIDENT_CLAIMS = """
MATCH (i:Incident)
OPTIONAL MATCH (c:Claim)-[:ABOUT]->(i)
OPTIONAL MATCH (c)-[:NAMES]->(a:Actor)
OPTIONAL MATCH (c)-[:STATED_BY]->(s:Source)
WITH i, c, a, s ORDER BY c.date, s.name
WITH i, [x IN collect(CASE WHEN c IS NULL THEN NULL ELSE
    {actor: a.name, actor_key: a.key, source: s.name, stance: c.stance,
     confidence: c.confidence, date: c.date} END) WHERE x IS NOT NULL] AS claims
RETURN i.key AS key, i.name AS name, i.first_seen AS first_seen, claims
ORDER BY i.first_seen, i.name
LIMIT $limit
"""
