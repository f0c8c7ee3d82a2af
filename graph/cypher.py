"""Every Cypher statement the library runs (saved user-facing queries live in queries/).

Labels, relationship types and property names are never taken from input: the builders
below accept only names from the allowlists in `graph.model` and refuse anything else.
"""
from __future__ import annotations

import re

from graph.model import LABELS, LIST_PROPS, REL_TYPES


PROPERTY_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _label(label: str) -> str:
    if label not in LABELS:
        raise ValueError(f"label {label!r} is not in the graph model")
    return f"`{label}`"


def _rel_type(rel_type: str) -> str:
    if rel_type not in REL_TYPES:
        raise ValueError(f"relationship type {rel_type!r} is not in the graph model")
    return f"`{rel_type}`"


def _property(name: str) -> str:
    if not PROPERTY_NAME.match(name):
        raise ValueError(f"property name {name!r} cannot be used in Cypher")
    return name


def _sets(var: str, props: list[str], list_props: list[str], first: int, union: bool) -> str:
    """SET clauses for a writer row, a flat list whose cells from `first` on hold `props`
    then `list_props` (graph.store.writer.Statement). On MERGE (union) a null cell keeps the
    stored value and lists are set unions (order-independent, idempotent); on CREATE the cells
    are set as they are (a null sets nothing)."""
    parts = []
    for i, prop in enumerate(props, start=first):
        name = _property(prop)
        parts.append(f"{var}.{name} = coalesce(row[{i}], {var}.{name})" if union else f"{var}.{name} = row[{i}]")
    for i, prop in enumerate(list_props, start=first + len(props)):
        if prop not in LIST_PROPS:
            raise ValueError(f"list property {prop!r} is not in the graph model")
        cell, stored = f"row[{i}]", f"coalesce({var}.{prop}, [])"
        parts.append(f"{var}.{prop} = CASE WHEN {cell} IS NULL THEN {var}.{prop} "
                     f"ELSE {stored} + [x IN {cell} WHERE NOT x IN {stored}] END" if union else
                     f"{var}.{prop} = {cell}")
    return ("SET " + ", ".join(parts)) if parts else ""


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


def merge_nodes(label: str, props: list[str], list_props: list[str]) -> str:
    """Node rows [key, *props, *list_props]."""
    return "\n".join([
        "UNWIND $rows AS row",
        f"MERGE (n:{_label(label)} {{key: row[0]}})",
        _sets("n", props, list_props, 1, union=True),
    ])


def merge_rels(rel_type: str, start_label: str, end_label: str, props: list[str],
               list_props: list[str]) -> str:
    """Relationship rows grouped by start node, [start, [ends], *props, *list_props]: one
    start node lookup for all its ends (see graph.store.writer.Statement)."""
    return "\n".join([
        "UNWIND $rows AS row",
        f"MATCH (a:{_label(start_label)} {{key: row[0]}})",
        "UNWIND row[1] AS end",
        f"MATCH (b:{_label(end_label)} {{key: end}})",
        f"MERGE (a)-[r:{_rel_type(rel_type)}]->(b)",
        _sets("r", props, list_props, 2, union=True),
    ])


def create_nodes(label: str, props: list[str], list_props: list[str]) -> str:
    """For keys the graph does not hold yet: CREATE skips MERGE's lookup-and-lock, and the
    unique constraint still refuses a key another transaction created meanwhile."""
    return "\n".join([
        "UNWIND $rows AS row",
        f"CREATE (n:{_label(label)} {{key: row[0]}})",
        _sets("n", props, list_props, 1, union=False),
    ])


def create_rels(rel_type: str, start_label: str, end_label: str, props: list[str],
                list_props: list[str]) -> str:
    """For relationships with an end node created in the same transaction: no such
    relationship can exist yet, so MERGE's check of the end nodes' relationships is skipped.
    Rows as for merge_rels."""
    return "\n".join([
        "UNWIND $rows AS row",
        f"MATCH (a:{_label(start_label)} {{key: row[0]}})",
        "UNWIND row[1] AS end",
        f"MATCH (b:{_label(end_label)} {{key: end}})",
        f"CREATE (a)-[r:{_rel_type(rel_type)}]->(b)",
        _sets("r", props, list_props, 2, union=False),
    ])


def in_concurrent_transactions(unwind_query: str, concurrency: int, rows_per_tx: int) -> str:
    """`UNWIND $rows AS row <body>` as `CALL (row) { <body> } IN N CONCURRENT TRANSACTIONS`:
    the server spreads the rows over N transactions at a time (Neo4j 5.21 or later)."""
    head, body = unwind_query.split("\n", 1)
    if head != "UNWIND $rows AS row":
        raise ValueError("expected a query of the form UNWIND $rows AS row ...")
    return (f"{head}\nCALL (row) {{\n{body}\n}} IN {int(concurrency)} CONCURRENT TRANSACTIONS "
            f"OF {int(rows_per_tx)} ROWS")


def existing_keys(label: str) -> str:
    """One row, the keys among $keys the graph holds (a list: decoding one record per key cost
    the loader more than the lookup cost the server)."""
    return f"UNWIND $keys AS k MATCH (n:{_label(label)} {{key: k}}) RETURN collect(k) AS keys"


def missing_keys(label: str) -> str:
    return (f"UNWIND $keys AS k OPTIONAL MATCH (n:{_label(label)} {{key: k}}) "
            "WITH k, n WHERE n IS NULL RETURN k")


def count_label(label: str) -> str:
    return f"MATCH (n:{_label(label)}) RETURN count(n) AS n"


def count_rel_type(rel_type: str) -> str:
    return f"MATCH ()-[r:{_rel_type(rel_type)}]->() RETURN count(r) AS n"



def _csv_assignments(var: str, columns: list[tuple[str, str]], first: int) -> str:
    """`SET var.p = <row[i] converted>` for positional LOAD CSV rows (columns from bulk files)."""
    parts = []
    for i, (name, type_) in enumerate(columns, start=first):
        _property(name)
        cell = f"row[{i}]"
        expr = (f"split({cell}, $delimiter)" if name in LIST_PROPS else
                f"toInteger({cell})" if type_ == "long" else
                f"toFloat({cell})" if type_ == "double" else
                f"{cell} = 'true'" if type_ == "boolean" else cell)
        parts.append(f"{var}.{name} = {expr}")
    return ("SET " + ", ".join(parts)) if parts else ""


def load_csv_nodes(label: str, columns: list[tuple[str, str]], rows_per_tx: int) -> str:
    """Neo4j's own online import of a bulk node file (benchmark baseline): MERGE on key."""
    return (f"LOAD CSV FROM $url AS row CALL (row) {{ MERGE (n:{_label(label)} {{key: row[0]}}) "
            f"{_csv_assignments('n', columns, 1)} }} IN TRANSACTIONS OF {int(rows_per_tx)} ROWS")


def load_csv_rels(rel_type: str, start_label: str, end_label: str, columns: list[tuple[str, str]],
                  rows_per_tx: int) -> str:
    return (f"LOAD CSV FROM $url AS row CALL (row) {{ MATCH (a:{_label(start_label)} {{key: row[0]}}) "
            f"MATCH (b:{_label(end_label)} {{key: row[1]}}) MERGE (a)-[r:{_rel_type(rel_type)}]->(b) "
            f"{_csv_assignments('r', columns, 2)} }} IN TRANSACTIONS OF {int(rows_per_tx)} ROWS")


HEAP_USED = ("CALL dbms.queryJmx('java.lang:type=Memory') YIELD attributes "
             "RETURN attributes.HeapMemoryUsage.value.properties.used AS used")


LABELS_IN_USE = "CALL db.labels() YIELD label RETURN collect(label) AS names"
TYPES_IN_USE = "CALL db.relationshipTypes() YIELD relationshipType RETURN collect(relationshipType) AS names"
AWAIT_INDEXES = "CALL db.awaitIndexes(300)"
COUNT_ALL_NODES = "MATCH (n) RETURN count(n) AS n"
# Relationships first, so no single row has to detach a dense node's thousands of edges.
DELETE_ALL_RELATIONSHIPS = "MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS"
DELETE_ALL_NODES = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"

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


# -- console and exports (issue 7) --
# The console runs user Cypher prefixed with EXPLAIN first (graph.reads.console checks the plan).
# What the console's editor starts with when no saved query is chosen.
CONSOLE_EXAMPLE = "MATCH (a:Actor) RETURN a.name AS actor ORDER BY actor LIMIT 25"

EXPLAIN_PREFIX = "EXPLAIN "

# The console's watchdog (issue 17): transactions still on the server, with the console's
# metadata tag; the project runs this itself, a console user cannot (SHOW is refused there).
SHOW_TRANSACTIONS = """
SHOW TRANSACTIONS
YIELD transactionId, status, elapsedTime, currentQuery, metaData, username
WHERE $tag IS NULL OR metaData.attrib_console = $tag
RETURN transactionId AS id, status, elapsedTime.seconds AS seconds, currentQuery AS query,
       metaData.attrib_console AS tag, username
ORDER BY seconds DESC
"""

# The watchdog ends a console query's transaction by id, on the project's own connection.
TERMINATE_TRANSACTION = "TERMINATE TRANSACTION $id YIELD transactionId RETURN transactionId"

# An incident's neighbourhood: what it used and targeted, who reported it, every claim about
# it with the actor it names and the source that stated it.
INCIDENT_NEIGHBOURHOOD = """
MATCH (i:Incident {key: $key})
CALL (i) {
  MATCH (i)-[r:USED|TARGETED|REPORTED_BY]->(x) RETURN r AS rel, x AS node
  UNION
  MATCH (c:Claim)-[r:ABOUT]->(i) RETURN r AS rel, c AS node
  UNION
  MATCH (c:Claim)-[:ABOUT]->(i)
  MATCH (c)-[r:NAMES|STATED_BY]->(x) RETURN r AS rel, x AS node
}
RETURN i, collect(rel) AS rels, collect(node) AS nodes
"""

# An actor's neighbourhood (`attrib export --actor`): what it uses and targets, who sponsors it,
# its aliases, every claim that names it with the incident it is about and the source.
ACTOR_NEIGHBOURHOOD = """
MATCH (a:Actor {key: $key})
CALL (a) {
  MATCH (a)-[r:USES|TARGETS|SPONSORED_BY|STATE_OF]->(x) RETURN r AS rel, x AS node
  UNION
  MATCH (x:Alias)-[r:NAMES]->(a) RETURN r AS rel, x AS node
  UNION
  MATCH (c:Claim)-[r:NAMES]->(a) RETURN r AS rel, c AS node
  UNION
  MATCH (c:Claim)-[:NAMES]->(a)
  MATCH (c)-[r:ABOUT|STATED_BY]->(x) RETURN r AS rel, x AS node
}
RETURN a, collect(rel) AS rels, collect(node) AS nodes
"""

# Relationships among a set of nodes (by element id): the edges a result does not name.
RELS_AMONG = """
MATCH (a)-[r]->(b)
WHERE elementId(a) IN $ids AND elementId(b) IN $ids
RETURN r LIMIT $limit
"""

# Nodes by element id (endpoints of relationships a result returned without their nodes).
NODES_BY_ID = "MATCH (n) WHERE elementId(n) IN $ids RETURN n"

# Display names of sources, for export footnotes.
SOURCE_NAMES = "MATCH (s:Source) WHERE s.key IN $keys RETURN s.key AS key, s.name AS name"

# Incident lookup: exact key or external id first, then case-insensitive name/key substring.
INCIDENT_BY_KEY = "MATCH (i:Incident {key: $text}) RETURN i.key AS key, i.name AS name"
INCIDENT_BY_EXTERNAL_ID = """
MATCH (i:Incident) WHERE toUpper($text) IN coalesce(i.external_ids, [])
RETURN i.key AS key, i.name AS name
"""
INCIDENT_BY_NAME = """
MATCH (i:Incident)
WHERE toLower(i.name) CONTAINS toLower($text) OR toLower(i.key) CONTAINS toLower($text)
RETURN i.key AS key, i.name AS name ORDER BY i.name LIMIT 20
"""


# -- app reads (issue 6) --------------------------------------------------------------------------
# Used by graph/reads/explore.py (Workbench, Explore, Compare, Timeline pages). Node identities between
# queries travel as elementId() strings, so follow-up lookups never scan a label.

APP_INCIDENTS = """
MATCH (i:Incident)
OPTIONAL MATCH (c:Claim)-[:ABOUT]->(i)
WITH i, count(c) AS claims
RETURN i.key AS key, coalesce(i.name, i.key) AS name, i.first_seen AS first_seen, claims
ORDER BY claims DESC, i.first_seen DESC, name
LIMIT $limit
"""

APP_INCIDENT_KEYS = "MATCH (i:Incident) RETURN i.key AS key, coalesce(i.name, i.key) AS name"

APP_INCIDENT_CLAIMS = """
MATCH (i:Incident {key: $key})<-[:ABOUT]-(c:Claim)
OPTIONAL MATCH (c)-[:NAMES]->(a:Actor)
OPTIONAL MATCH (c)-[:STATED_BY]->(s:Source)
RETURN c.key AS claim, a.key AS actor_key, coalesce(a.name, a.key) AS actor,
       s.key AS source_key, coalesce(s.name, s.key) AS source, s.kind AS source_kind,
       s.reliability AS reliability, c.stance AS stance, c.confidence AS confidence,
       c.date AS date, c.statement AS statement, c.url AS url
ORDER BY c.date, source
"""

APP_SEARCH_FULLTEXT = """
CALL db.index.fulltext.queryNodes('node_search', $query) YIELD node, score
WITH node, score LIMIT $limit
RETURN elementId(node) AS id, node.key AS key, labels(node)[0] AS label,
       coalesce(node.name, node.spellings[0], node.key) AS name, score
"""

# Techniques, tools and incidents by external ID (actors come from graph.analysis.resolve, ranked).
APP_SEARCH_EXACT = """
OPTIONAL MATCH (t:Technique {key: $upper})
OPTIONAL MATCH (n:Tool|Incident {key: 'attack:' + $upper})
UNWIND [x IN [t, n] WHERE x IS NOT NULL] AS hit
RETURN elementId(hit) AS id, hit.key AS key, labels(hit)[0] AS label,
       coalesce(hit.name, hit.key) AS name, 'external ID ' + $upper AS via
"""

APP_ACTOR_IDS = """
UNWIND $keys AS k
MATCH (a:Actor {key: k})
RETURN a.key AS key, elementId(a) AS id
"""

APP_NODES_BY_ID = """
UNWIND $ids AS id
MATCH (n) WHERE elementId(n) = id
RETURN elementId(n) AS id, n.key AS key, labels(n)[0] AS label,
       coalesce(n.name, n.spellings[0], n.key) AS name, properties(n) AS props
"""

def app_node_by_key(label: str | None) -> str:
    """elementId of the node with this key (a label makes it an index lookup)."""
    match = f"MATCH (n:{_label(label)} {{key: $key}})" if label else "MATCH (n) WHERE n.key = $key"
    return match + " RETURN elementId(n) AS id, labels(n)[0] AS label LIMIT 1"

# Neighbours of one node, with optional label / source / time filters; $limit caps the rows
# returned, and the counts of everything that matched come back separately (APP_NEIGHBOUR_COUNTS).
APP_NEIGHBOURS = """
MATCH (n) WHERE elementId(n) = $id
MATCH (n)-[r]-(m)
WITH n, r, m, labels(m)[0] AS label,
     coalesce(r.first_seen, m.first_seen, m.date) AS t0, coalesce(r.last_seen, m.last_seen, r.first_seen, m.first_seen, m.date) AS t1,
     coalesce(r.sources, []) + coalesce(m.sources, []) AS srcs
WHERE ($labels IS NULL OR label IN $labels)
  AND ($sources IS NULL OR any(s IN srcs WHERE s IN $sources)
       OR EXISTS { MATCH (m)-[:STATED_BY|REPORTED_BY]->(src:Source) WHERE src.key IN $sources })
  AND ($since IS NULL OR (t1 IS NOT NULL AND t1 >= $since) OR (t1 IS NULL AND $undated))
  AND ($until IS NULL OR (t0 IS NOT NULL AND left(t0, size($until)) <= $until) OR (t0 IS NULL AND $undated))
WITH n, r, m, label, count { (m)--() } AS degree
ORDER BY label, degree DESC
WITH label, collect({rel: r, m: m, degree: degree}) AS rows
RETURN label, size(rows) AS total,
       [x IN rows[0..$per_label] | {id: elementId(x.m), key: x.m.key, label: label,
         name: coalesce(x.m.name, x.m.spellings[0], x.m.key), props: properties(x.m), degree: x.degree,
         rel_type: type(x.rel), rel_start: elementId(startNode(x.rel)), rel_props: properties(x.rel)}] AS items
"""

# Relationships among a set of nodes (so expanded neighbourhoods show their interconnections).
APP_EDGES_AMONG = """
UNWIND $ids AS id
MATCH (a) WHERE elementId(a) = id
MATCH (a)-[r]->(b) WHERE elementId(b) IN $ids
RETURN elementId(a) AS start, elementId(b) AS end, type(r) AS type, properties(r) AS props
LIMIT $limit
"""

APP_SHORTEST_PATH = """
MATCH (a) WHERE elementId(a) = $a
MATCH (b) WHERE elementId(b) = $b
MATCH p = shortestPath((a)-[*..8]-(b))
WHERE all(x IN nodes(p)[1..-1] WHERE NOT labels(x)[0] IN $avoid)
RETURN [x IN nodes(p) | elementId(x)] AS ids,
       [r IN relationships(p) | {start: elementId(startNode(r)), end: elementId(endNode(r)),
          type: type(r), props: properties(r)}] AS rels
"""

APP_ACTORS = """
MATCH (a:Actor)
OPTIONAL MATCH (a)<-[:NAMES]-(c:Claim)
WITH a, count(c) AS claims
RETURN a.key AS key, coalesce(a.name, a.key) AS name, a.kind AS kind, claims
ORDER BY claims DESC, name
LIMIT $limit
"""

# An actor's profile: what it is known to use and target, plus the evidence of incidents
# that some source attributes to it.
APP_ACTOR_PROFILE = """
UNWIND $keys AS k
MATCH (a:Actor {key: k})
CALL (a) {
  MATCH (a)-[:USES|TARGETS]->(x) WHERE NOT x:Actor
  RETURN x, null AS incident
  UNION
  MATCH (a)<-[:NAMES]-(:Claim {stance: 'attributes'})-[:ABOUT]->(i:Incident)-[:USED|TARGETED]->(x)
  RETURN x, coalesce(i.name, i.key) AS incident
}
RETURN a.key AS actor, elementId(x) AS id, x.key AS key, labels(x)[0] AS label,
       coalesce(x.name, x.key) AS name, x.availability AS availability,
       [i IN collect(DISTINCT incident) WHERE i IS NOT NULL] AS incidents
"""

APP_ACTOR_NAMES = """
UNWIND $keys AS k
MATCH (a:Actor {key: k})
RETURN a.key AS key, coalesce(a.name, a.key) AS name
"""

APP_TIMELINE_CLAIMS = """
MATCH (c:Claim)-[:ABOUT]->(i:Incident)
MATCH (c)-[:NAMES]->(a:Actor)
OPTIONAL MATCH (c)-[:STATED_BY]->(s:Source)
WITH c, i, a, s
WHERE ($actors IS NULL OR a.key IN $actors) AND ($sources IS NULL OR s.key IN $sources)
RETURN c.date AS date, i.key AS incident_key, coalesce(i.name, i.key) AS incident,
       i.first_seen AS first_seen, i.last_seen AS last_seen,
       a.key AS actor_key, coalesce(a.name, a.key) AS actor,
       s.key AS source_key, coalesce(s.name, s.key) AS source, c.stance AS stance,
       c.confidence AS confidence
ORDER BY date
LIMIT $limit
"""

APP_TIMELINE_INCIDENTS = """
MATCH (i:Incident) WHERE i.first_seen IS NOT NULL
  AND ($actors IS NULL OR EXISTS { MATCH (i)<-[:ABOUT]-(:Claim)-[:NAMES]->(a:Actor) WHERE a.key IN $actors })
  AND ($sources IS NULL OR EXISTS { MATCH (i)-[:REPORTED_BY]->(s:Source) WHERE s.key IN $sources }
       OR EXISTS { MATCH (i)<-[:ABOUT]-(:Claim)-[:STATED_BY]->(s:Source) WHERE s.key IN $sources })
RETURN i.key AS key, coalesce(i.name, i.key) AS name, i.first_seen AS first_seen, i.last_seen AS last_seen
ORDER BY first_seen
LIMIT $limit
"""

APP_SOURCES = """
MATCH (s:Source)
RETURN s.key AS key, coalesce(s.name, s.key) AS name, s.kind AS kind, s.reliability AS reliability
ORDER BY name
"""

# -- resolve (issue 4) --
# Every actor an alias key names, with the sources behind each NAMES link.
RESOLVE_BY_ALIAS = """
MATCH (al:Alias {key: $alias})-[r:NAMES]->(a:Actor)
RETURN a.key AS key, a.name AS name, coalesce(a.external_ids, []) AS external_ids,
       coalesce(al.spellings, []) AS spellings, coalesce(r.sources, []) AS sources
"""

# Actors whose own name contains a text (lower case): the resolver keeps those where it is a
# whole word or words of the name ("Lazarus" in "Lazarus Group").
RESOLVE_BY_NAME_PART = """
MATCH (a:Actor) WHERE toLower(a.name) CONTAINS $part
RETURN a.key AS key, a.name AS name, coalesce(a.external_ids, []) AS external_ids,
       coalesce(a.sources, []) AS sources
"""

# The actor with this key, and every actor that carries this external ID (G0032).
RESOLVE_BY_KEY_OR_ID = """
MATCH (a:Actor {key: $key})
RETURN a.key AS key, a.name AS name, coalesce(a.external_ids, []) AS external_ids,
       coalesce(a.sources, []) AS sources, true AS by_key
UNION
MATCH (a:Actor) WHERE $external_id IN a.external_ids
RETURN a.key AS key, a.name AS name, coalesce(a.external_ids, []) AS external_ids,
       coalesce(a.sources, []) AS sources, false AS by_key
"""

# Nameless actors are stubs another source made for an ATT&CK ID (a galaxy naming G0086). If
# a loaded actor carries that ID too (ATT&CK revoked G0086 in favour of G0094, whose
# external_ids keep G0086), the stub stands for that actor.
ACTOR_REPLACEMENTS = """
UNWIND $stubs AS s
MATCH (a:Actor) WHERE a.key <> s.key AND a.name IS NOT NULL
  AND any(x IN s.external_ids WHERE x IN coalesce(a.external_ids, []))
RETURN s.key AS stub, a.key AS key, a.name AS name, coalesce(a.external_ids, []) AS external_ids
"""

# A display name for the other stubs (the ATT&CK group is not loaded): the alias that names
# the fewest actors, then the one most sources give.
ACTOR_ALIAS_NAMES = """
UNWIND $keys AS k
MATCH (a:Actor {key: k})<-[r:NAMES]-(al:Alias)
WITH k, al, r, COUNT { (al)-[:NAMES]->(:Actor) } AS named
ORDER BY named, size(coalesce(r.sources, [])) DESC, al.key
RETURN k AS key, collect(al.spellings[0])[0] AS name
"""


# -- attribution engine (issue 5) -----------------------------------------------------------------
# Used by graph/analysis/evidence.py. The engine reads the actors' side of the graph once per graph state
# (ENGINE_GRAPH_VERSION is the cheap change signal: count-store lookups) and one incident per call.
# Rows are collected per actor / tool / incident: far fewer records to ship than one per edge; the
# attributed incidents are streamed, never collected over the whole graph in one row set.
ENGINE_GRAPH_VERSION = """
CALL () { MATCH (n) RETURN count(n) AS nodes }
CALL () { MATCH ()-[r]->() RETURN count(r) AS rels }
RETURN nodes, rels
"""

ENGINE_ACTORS = """
MATCH (a:Actor)
RETURN a.key AS key, coalesce(a.name, a.key) AS name, a.kind AS kind,
       coalesce(a.external_ids, []) AS external_ids, a.created AS created,
       coalesce(a.motives, []) AS motives,
       [(a)-[:SPONSORED_BY]->(c:Country) | c.key] AS sponsors,
       [(a)-[:STATE_OF]->(c:Country) | c.key] AS state_of,
       [(a)-[r:SAME_AS]-(b:Actor) | [b.key, coalesce(r.sources, []), coalesce(r.created, r.first_seen)]] AS same_as,
       [(a)-[r:MEMBER_OF]->(b:Actor) | [b.key, coalesce(r.sources, []), coalesce(r.created, r.first_seen)]] AS member_of,
       [(al:Alias)-[r:NAMES]->(a) | [al.key, coalesce(al.spellings, [al.key]),
                                     size(coalesce(r.sources, []))]] AS aliases
"""

# What actors are known to use and target: [label, key, name, availability, node created,
# relationship created (else first_seen)].
ENGINE_ACTOR_ITEMS = """
MATCH (a:Actor)-[r:USES|TARGETS]->(x)
RETURN a.key AS owner, collect([labels(x)[0], x.key, x.name, x.availability, x.created,
                                coalesce(r.created, r.first_seen)]) AS items
"""

# The victim organisations' sectors and countries.
ENGINE_ORGANIZATIONS = """
MATCH (o:Organization)
RETURN o.key AS key, [(o)-[:IN_SECTOR]->(s:Sector) | [s.key, s.name]] AS sectors,
       [(o)-[:LOCATED_IN]->(c:Country) | [c.key, c.name]] AS countries
"""

ENGINE_TOOL_TECHNIQUES = """
MATCH (t:Tool)-[r:USES]->(q:Technique)
RETURN t.key AS tool, collect([q.key, q.name, coalesce(r.created, r.first_seen)]) AS techniques
"""

ENGINE_SUBTECHNIQUES = """
MATCH (s:Technique)-[:SUBTECHNIQUE_OF]->(p:Technique)
RETURN s.key AS child, p.key AS key, p.name AS name
"""

# Every claim with its incident's dates and its source; no free text. Read whole only when a
# caller asks for every claim (Snapshot.claims); the engine reads the claims about one incident.
_CLAIM_ROW = """
MATCH (c)-[:NAMES]->(a:Actor)
OPTIONAL MATCH (c)-[st:STATED_BY]->(s:Source)
RETURN c.key AS key, i.key AS incident, i.name AS incident_name, i.first_seen AS incident_first_seen,
       a.key AS actor, coalesce(c.stance, st.stance) AS stance, c.confidence AS confidence,
       c.date AS date, s.key AS source, coalesce(s.name, s.key) AS source_name, s.kind AS source_kind,
       s.reliability AS reliability
"""
ENGINE_CLAIMS = "MATCH (c:Claim)-[:ABOUT]->(i:Incident)" + _CLAIM_ROW
ENGINE_CLAIMS_ABOUT = "MATCH (c:Claim)-[:ABOUT]->(i:Incident {key: $key})" + _CLAIM_ROW

# Who each attributing claim names, with the dates `as_of` filters on: the compact form of the
# claims the snapshot keeps (the same rows as ENGINE_CLAIMS with stance 'attributes').
ENGINE_ATTRIBUTIONS = """
MATCH (c:Claim)-[:ABOUT]->(i:Incident)
MATCH (c)-[:NAMES]->(a:Actor)
OPTIONAL MATCH (c)-[st:STATED_BY]->(s:Source)
WITH a, i, c, coalesce(c.stance, st.stance) AS stance
WHERE stance = 'attributes'
RETURN a.key AS actor, i.key AS incident, c.date AS date, i.first_seen AS incident_first_seen
"""

# The structured evidence of the incidents some claim attributes to an actor: one row per
# incident, streamed (a pattern comprehension per row, no aggregation over the whole graph).
_ITEM_ROW = "[labels(x)[0], x.key, x.name, x.availability, x.created, coalesce(r.created, r.first_seen)]"
_ATTRIBUTED = "EXISTS { MATCH (:Claim {stance: 'attributes'})-[:ABOUT]->(i) }"
ENGINE_ATTRIBUTED_ITEMS = f"""
MATCH (i:Incident) WHERE {_ATTRIBUTED}
RETURN i.key AS owner, i.name AS name, [(i)-[r:USED|TARGETED]->(x) | {_ITEM_ROW}] AS items
"""
ENGINE_ATTRIBUTED_INCIDENT = f"""
MATCH (i:Incident {{key: $key}}) WHERE {_ATTRIBUTED}
RETURN [(i)-[r:USED|TARGETED]->(x) | {_ITEM_ROW}] AS items
"""

# One incident: its dates and structured evidence (never its description).
ENGINE_INCIDENT = """
MATCH (i:Incident {key: $key})
RETURN i.key AS key, coalesce(i.name, i.key) AS name, coalesce(i.external_ids, []) AS external_ids,
       i.first_seen AS first_seen, i.last_seen AS last_seen, coalesce(i.hints, []) AS hints,
       [(i)-[r:USED|TARGETED]->(x) | """ + _ITEM_ROW + """] AS items
"""

# The claims about one incident, with their statements (for explain).
ENGINE_INCIDENT_CLAIMS = """
MATCH (c:Claim)-[:ABOUT]->(i:Incident {key: $key})
MATCH (c)-[:NAMES]->(a:Actor)
OPTIONAL MATCH (c)-[st:STATED_BY]->(s:Source)
RETURN c.key AS key, i.key AS incident, a.key AS actor, coalesce(c.stance, st.stance) AS stance,
       c.confidence AS confidence, c.date AS date, c.statement AS statement, c.url AS url,
       s.key AS source, coalesce(s.name, s.key) AS source_name, s.kind AS source_kind,
       s.reliability AS reliability
ORDER BY c.date, s.name, a.key
"""

# -- ATT&CK matrix (graph/analysis/matrix.py) ------------------------------------------------------------------
# The techniques of a matrix view or Navigator layer: name, tactics, parent, ATT&CK domain and release.
MATRIX_TECHNIQUES = """
UNWIND $keys AS k
MATCH (t:Technique {key: k})
OPTIONAL MATCH (t)-[:SUBTECHNIQUE_OF]->(p:Technique)
RETURN t.key AS key, coalesce(t.name, t.key) AS name, coalesce(t.tactics, []) AS tactics,
       t.domain AS domain, t.attack_version AS attack_version, p.key AS parent,
       coalesce(p.tactics, []) AS parent_tactics, coalesce(p.name, p.key) AS parent_name
"""

# -- backup and restore (app/backup.py, issue 15) ---------------------------------------------------------
# A logical backup streams every node and relationship with all its labels/type and properties;
# element ids only pair relationships with their nodes inside one file.
BACKUP_NODES = "MATCH (n) RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props"
BACKUP_RELS = """
MATCH (a)-[r]->(b)
RETURN elementId(a) AS start, elementId(b) AS end, type(r) AS type, properties(r) AS props
"""
ANY_NODE = "MATCH (n) RETURN count(n) > 0 AS found LIMIT 1"
# The marker of a streamed file being written (app/ingest.py): there from before its
# first chunk is written until its last one is; `attrib load` finishes the files it names.
LOAD_MARKER_SET = """
MERGE (m:AttribLoad {file: $file})
SET m.size = $size, m.mtime_ns = $mtime_ns, m.chunks = $chunks, m.done = $done
"""
LOAD_MARKER_DONE = "MATCH (m:AttribLoad {file: $file}) DELETE m"
LOAD_MARKERS = ("MATCH (m:AttribLoad) RETURN m.file AS file, m.size AS size, m.mtime_ns AS mtime_ns, "
                "m.chunks AS chunks, m.done AS done ORDER BY file")
COUNT_EVERYTHING = """
CALL () { MATCH (n) RETURN count(n) AS nodes }
CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships }
RETURN nodes, relationships
"""
# Restored nodes carry a temporary label and file id until their relationships are in; labels and
# types come from the backup as data (dynamic labels, Neo4j 5.26), never into the query text.
RESTORE_LABEL_INDEX = ("CREATE INDEX attrib_restore_id IF NOT EXISTS "
                       "FOR (n:AttribRestore) ON (n.attrib_restore_id)")
RESTORE_NODES = """
UNWIND $rows AS row
CREATE (n:$(row.labels))
SET n = row.props, n:AttribRestore, n.attrib_restore_id = row.id
"""
RESTORE_RELS = """
UNWIND $rows AS row
MATCH (a:AttribRestore {attrib_restore_id: row.start}), (b:AttribRestore {attrib_restore_id: row.end})
CREATE (a)-[r:$(row.type)]->(b)
SET r = row.props
"""
RESTORE_CLEANUP = """
MATCH (n:AttribRestore)
CALL (n) { REMOVE n:AttribRestore, n.attrib_restore_id } IN TRANSACTIONS OF 10000 ROWS
"""
RESTORE_DROP_INDEX = "DROP INDEX attrib_restore_id IF EXISTS"
# Work a user made by hand: an incident no feed loader keyed (they key attack:, stix:, misp:),
# or a claim from a record file (the STIX and MISP loaders put `sources` on every ABOUT).
HAND_CURATED = """
RETURN EXISTS { MATCH (i:Incident) WHERE NOT any(p IN $feed_prefixes WHERE i.key STARTS WITH p) }
    OR EXISTS { MATCH (:Claim)-[r:ABOUT]->(:Incident) WHERE r.sources IS NULL } AS found
"""

# -- attrib extract: the names the graph knows (graph.reads.gazetteer_rows) ---------------------------
GAZETTEER_TOOLS = """
MATCH (t:Tool)
RETURN t.key AS key, t.name AS name, coalesce(t.external_ids, []) AS external_ids,
       coalesce(properties(t)['aliases'], []) AS aliases
"""
GAZETTEER_ACTORS = """
MATCH (a:Actor)
OPTIONAL MATCH (al:Alias)-[:NAMES]->(a)
WITH a, collect(al.spellings) AS spellings
RETURN a.key AS key, a.name AS name, a.kind AS kind, a.country AS country,
       coalesce(a.external_ids, []) AS external_ids,
       reduce(names = [], s IN spellings | names + s) AS aliases
"""
GAZETTEER_SOURCES = "MATCH (s:Source) RETURN s.key AS key, s.name AS name, s.kind AS kind"

# Which of $keys are incidents already (a draft loaded onto one would merge into it).
INCIDENTS_PRESENT = """
UNWIND $keys AS k
MATCH (i:Incident {key: k})
RETURN i.key AS key, i.name AS name, i.first_seen AS first_seen
"""
# The ATT&CK bundles the graph's techniques came from (loaders/stix.py sets attack_bundle): Enterprise
# first, then by how many techniques each still names (a later release of a domain overwrites most).
ATTACK_BUNDLES = """
MATCH (t:Technique) WHERE t.attack_bundle IS NOT NULL
WITH t.attack_bundle AS bundle, t.domain AS domain, t.attack_version AS version, count(*) AS n
WITH bundle, sum(n) AS techniques, head(collect(domain)) AS domain, head(collect(version)) AS version
RETURN bundle, domain, version, techniques
ORDER BY CASE domain WHEN 'enterprise-attack' THEN 0 ELSE 1 END, techniques DESC, bundle
"""

# -- MISP galaxy links between clusters of different files (app.ingest.link_clusters) ----------------------
# A pending entry is "<source key>|<cluster uuid>" (loaders/misp.py); it becomes (Actor)-[:USES]->(Tool)
# once both clusters are in the graph, with the entry's source added to the relationship's sources.
LINK_CLUSTER_USES = """
MATCH (a:Actor) WHERE a.uses_clusters IS NOT NULL
UNWIND a.uses_clusters AS entry
WITH a, split(entry, '|') AS parts
MATCH (t:Tool) WHERE parts[1] IN t.clusters
MERGE (a)-[r:USES]->(t)
SET r.sources = CASE WHEN parts[0] IN coalesce(r.sources, []) THEN r.sources
                     ELSE coalesce(r.sources, []) + parts[0] END
"""
LINK_CLUSTER_USED_BY = """
MATCH (t:Tool) WHERE t.used_by_clusters IS NOT NULL
UNWIND t.used_by_clusters AS entry
WITH t, split(entry, '|') AS parts
MATCH (a:Actor) WHERE parts[1] IN a.clusters
MERGE (a)-[r:USES]->(t)
SET r.sources = CASE WHEN parts[0] IN coalesce(r.sources, []) THEN r.sources
                     ELSE coalesce(r.sources, []) + parts[0] END
"""
