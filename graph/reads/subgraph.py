"""Subgraphs to draw: an incident's neighbourhood, or the nodes and edges of a query result.

A `Subgraph` is plain data (no driver objects), shared by the app, the console and the
exports in `app.exports`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import neo4j.graph

from graph import cypher
from graph.errors import NotFound
from graph.store.db import GraphDB

# How many edges among the shown nodes a query result may add (keeps big results drawable).
MAX_EXTRA_EDGES = 2000


@dataclass
class SubNode:
    id: str                 # the node's key (its element id if it has none, e.g. virtual nodes)
    label: str              # the node kind: Actor, Incident, Claim, Source, Tool, ...
    key: str | None
    name: str               # what to print next to it
    props: dict = field(default_factory=dict)  # JSON-friendly properties


@dataclass
class SubEdge:
    source: str             # SubNode.id of the start node
    target: str             # SubNode.id of the end node
    type: str               # relationship type
    props: dict = field(default_factory=dict)


@dataclass
class Subgraph:
    nodes: list[SubNode] = field(default_factory=list)
    edges: list[SubEdge] = field(default_factory=list)
    title: str | None = None
    focus: str | None = None                          # id of the centre node, if any
    source_names: dict[str, str] = field(default_factory=dict)  # source key -> name

    def node(self, node_id: str) -> SubNode | None:
        for n in self.nodes:
            if n.id == node_id:
                return n
        return None

    def source_keys(self) -> list[str]:
        """Sources behind what is shown: Source nodes plus every `sources` property (sorted)."""
        keys: set[str] = set()
        for n in self.nodes:
            if n.label == "Source" and n.key:
                keys.add(n.key)
            keys.update(str(s) for s in (n.props.get("sources") or []) if s)
        for e in self.edges:
            keys.update(str(s) for s in (e.props.get("sources") or []) if s)
        return sorted(keys)

    def sources(self) -> list[tuple[str, str]]:
        """(key, name) of the sources behind what is shown, by name."""
        names = dict(self.source_names)
        for n in self.nodes:
            if n.label == "Source" and n.key:
                names.setdefault(n.key, n.name)
        return sorted(((k, names.get(k, k)) for k in self.source_keys()), key=lambda kv: kv[1].lower())

    def to_dict(self) -> dict:
        return {
            "title": self.title, "focus": self.focus,
            "nodes": [vars(n) for n in self.nodes], "edges": [vars(e) for e in self.edges],
            "sources": [{"key": k, "name": v} for k, v in self.sources()],
        }


# -- values -------------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """A driver value made JSON-friendly (temporal -> ISO text, graph objects -> dicts)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, neo4j.graph.Node):
        return {"_labels": sorted(value.labels), **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Relationship):
        return {"_type": value.type, "_start": _node_ref(value.start_node),
                "_end": _node_ref(value.end_node), **{k: plain(v) for k, v in value.items()}}
    if isinstance(value, neo4j.graph.Path):
        return {"_path": [plain(n) for n in value.nodes],
                "_rels": [plain(r) for r in value.relationships]}
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return str(value)


def _node_ref(node: neo4j.graph.Node | None) -> str | None:
    if node is None:
        return None
    return node.get("key") or node.element_id


def node_kind(node: neo4j.graph.Node) -> str:
    labels = sorted(node.labels)
    from graph.model import LABELS
    for label in LABELS:
        if label in labels:
            return label
    return labels[0] if labels else "Node"


def display_name(kind: str, props: dict, fallback: str) -> str:
    if kind == "Claim":
        stance = props.get("stance") or "claim"
        conf = props.get("confidence")
        return f"{stance}" + (f" ({conf}%)" if conf is not None else "") + (
            f" {props['date']}" if props.get("date") else "")
    if kind == "Technique" and props.get("name") and props.get("key"):
        return f"{props['key']} {props['name']}"
    if kind == "Alias" and props.get("spellings"):
        return str(props["spellings"][0])  # the name as a source spells it; the key is its normal form
    for k in ("name", "value", "key"):
        if props.get(k):
            return str(props[k])
    return fallback


def _sub_node(node: neo4j.graph.Node) -> SubNode:
    props = {k: plain(v) for k, v in node.items()}
    kind = node_kind(node)
    node_id = str(props.get("key") or node.element_id)
    return SubNode(node_id, kind, props.get("key"), display_name(kind, props, node_id), props)


class _Builder:
    def __init__(self) -> None:
        self.nodes: dict[str, SubNode] = {}          # element id -> node
        self.edges: dict[str, SubEdge] = {}          # element id -> edge
        self.pending: list[neo4j.graph.Relationship] = []

    def add_node(self, node: neo4j.graph.Node) -> None:
        if node.element_id not in self.nodes:
            self.nodes[node.element_id] = _sub_node(node)

    def add_rel(self, rel: neo4j.graph.Relationship) -> None:
        if rel.element_id in self.edges:
            return
        for end in (rel.start_node, rel.end_node):
            if end is not None and (end.labels or end.element_id in self.nodes):
                self.add_node(end)
        self.pending.append(rel)

    def add_value(self, value: Any) -> None:
        if isinstance(value, neo4j.graph.Node):
            self.add_node(value)
        elif isinstance(value, neo4j.graph.Relationship):
            self.add_rel(value)
        elif isinstance(value, neo4j.graph.Path):
            for n in value.nodes:
                self.add_node(n)
            for r in value.relationships:
                self.add_rel(r)
        elif isinstance(value, (list, tuple)):
            for v in value:
                self.add_value(v)
        elif isinstance(value, dict):
            for v in value.values():
                self.add_value(v)

    def missing_endpoints(self) -> list[str]:
        ids = {e.element_id for r in self.pending for e in (r.start_node, r.end_node) if e is not None}
        return sorted(ids - set(self.nodes))

    def finish(self, title: str | None = None, focus: str | None = None) -> Subgraph:
        for rel in self.pending:
            start, end = self.nodes.get(rel.start_node.element_id), self.nodes.get(rel.end_node.element_id)
            if start is None or end is None:
                continue
            self.edges.setdefault(rel.element_id, SubEdge(start.id, end.id, rel.type,
                                                          {k: plain(v) for k, v in rel.items()}))
        self.pending = []
        return Subgraph(list(self.nodes.values()), list(self.edges.values()), title, focus)


# -- reads -------------------------------------------------------------------------------------
def resolve_incident(db: GraphDB, text: str) -> dict:
    """{key, name} of the incident a user means: a key, an external id, or an unambiguous
    case-insensitive piece of its name. NotFound lists the candidates otherwise."""
    text = (text or "").strip()
    if not text:
        raise NotFound("no incident given", hint="give an incident key or part of its name")
    # The key (an index seek) first: the other two read every incident.
    rows = (db.read(cypher.INCIDENT_BY_KEY, {"text": text})
            or db.read(cypher.INCIDENT_BY_EXTERNAL_ID, {"text": text}))
    if len(rows) == 1:
        return rows[0]
    rows = rows or db.read(cypher.INCIDENT_BY_NAME, {"text": text})
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise NotFound(f"no incident matches '{text}'",
                       hint="give an incident key (attrib query incident_claims lists them) or part of its name")
    exact = [r for r in rows if (r["name"] or "").lower() == text.lower()]
    if len(exact) == 1:
        return exact[0]
    listing = "; ".join(f"{r['key']} ({r['name']})" for r in rows[:10])
    raise NotFound(f"'{text}' matches {len(rows)} incidents: {listing}", hint="give the key instead")


def known_on(sub: Subgraph, as_of: str) -> Subgraph:
    """The subgraph as known on `as_of` (YYYY-MM-DD), by the engine's rule (graph.analysis.evidence.known;
    undated counts as known): claims dated later, nodes created later and relationships created
    (else first seen) later are left out, then every node left without a relationship but the focus."""
    from graph.analysis.evidence import known

    def node_known(n: SubNode) -> bool:
        return n.id == sub.focus or (known(n.props.get("created"), as_of)
                                     and (n.label != "Claim" or known(n.props.get("date"), as_of)))

    nodes = {n.id: n for n in sub.nodes if node_known(n)}
    edges = [e for e in sub.edges if e.source in nodes and e.target in nodes
             and known(e.props.get("created") or e.props.get("first_seen"), as_of)]
    linked = {sub.focus} | {e.source for e in edges} | {e.target for e in edges}
    return Subgraph([n for n in nodes.values() if n.id in linked], edges, sub.title, sub.focus,
                    dict(sub.source_names))


def incident_subgraph(db: GraphDB, text: str, as_of: str | None = None) -> Subgraph:
    """The neighbourhood of an incident: its claims, the actors they name and the sources that
    state them, what it used (tools, techniques, infrastructure), its victims and reporters,
    plus the edges among those (organisation -> sector, actor -> sponsor, ...); with `as_of`
    (YYYY-MM-DD), only what was known on that day (`known_on`)."""
    found = resolve_incident(db, text)

    def work(tx):
        record = tx.run(cypher.INCIDENT_NEIGHBOURHOOD, {"key": found["key"]}).single()
        b = _Builder()
        if record is None:
            return b
        b.add_node(record["i"])
        for n in record["nodes"]:
            b.add_node(n)
        for r in record["rels"]:
            b.add_rel(r)
        _add_connecting(tx, b)
        return b

    builder = db.execute_read(work)
    sub = builder.finish(title=found["name"], focus=found["key"])
    if as_of:
        sub = known_on(sub, as_of)
    _name_sources(db, sub)
    return sub


def actor_subgraph(db: GraphDB, text: str) -> Subgraph:
    """An actor's neighbourhood: its aliases, what it uses and targets, its sponsor, and every
    claim naming it with the incident and the source (the actor a name resolves to, best first)."""
    from graph.analysis.resolve import resolve_actor

    key = resolve_actor(db, text)

    def work(tx):
        record = tx.run(cypher.ACTOR_NEIGHBOURHOOD, {"key": key}).single()
        b = _Builder()
        if record is not None:
            b.add_node(record["a"])
            for n in record["nodes"]:
                b.add_node(n)
            for r in record["rels"]:
                b.add_rel(r)
        return b

    builder = db.execute_read(work)
    actor = next((n for n in builder.nodes.values() if n.key == key), None)
    sub = builder.finish(title=actor.name if actor else key, focus=key)
    _name_sources(db, sub)
    return sub


def result_subgraph(db: GraphDB, values: Iterable[Any], title: str | None = None,
                    connect: bool = True) -> Subgraph:
    """The nodes and relationships found in query result values (rows of driver objects);
    with `connect`, also the relationships among those nodes the result did not return."""
    b = _Builder()
    for v in values:
        b.add_value(v)

    def work(tx):
        missing = b.missing_endpoints()
        if missing:
            for rec in tx.run(cypher.NODES_BY_ID, {"ids": missing}):
                b.add_node(rec["n"])
        if connect:
            _add_connecting(tx, b)
        return b

    if b.nodes or b.pending:
        db.execute_read(work)
    sub = b.finish(title=title)
    _name_sources(db, sub)
    return sub


def _add_connecting(tx, b: _Builder) -> None:
    ids = [i for i in b.nodes if not i.startswith("-")]  # skip virtual nodes
    if len(ids) < 2:
        return
    for rec in tx.run(cypher.RELS_AMONG, {"ids": ids, "limit": MAX_EXTRA_EDGES}):
        b.add_rel(rec["r"])


def _name_sources(db: GraphDB, sub: Subgraph) -> None:
    keys = [k for k in sub.source_keys() if k not in sub.source_names]
    if keys:
        for row in db.read(cypher.SOURCE_NAMES, {"keys": keys}):
            sub.source_names[row["key"]] = row["name"] or row["key"]
