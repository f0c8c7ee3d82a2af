"""Reads behind the app's Workbench, Explore, Compare and Timeline pages, as plain Python.

Every function takes a `GraphDB` and returns dataclasses or lists of dicts; no Streamlit here.
Nodes are identified between calls by their Neo4j `elementId` (`id`), and shown by `key`/`name`.
Graphs are capped: a `GraphView` says how many neighbours of each label it left out.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import date

from graph import cypher
from graph.analysis.resolve import resolve
from graph.model import LABELS
from graph.store.db import GraphDB

DEFAULT_NODE_CAP = 300
DEFAULT_PER_LABEL = 60


# -- graph views -------------------------------------------------------------------------------
@dataclass
class GNode:
    id: str
    key: str | None
    label: str
    name: str
    props: dict = field(default_factory=dict)


@dataclass
class GEdge:
    start: str
    end: str
    type: str
    props: dict = field(default_factory=dict)


@dataclass
class GraphView:
    """A capped piece of the graph: nodes, edges, and what was left out (label -> count)."""

    nodes: dict[str, GNode] = field(default_factory=dict)
    edges: list[GEdge] = field(default_factory=list)
    omitted: dict[str, int] = field(default_factory=dict)
    focus: list[str] = field(default_factory=list)
    # Of `omitted`, what the per-label limit left out (label -> count); the rest is the node cap's.
    omitted_by_limit: dict[str, int] = field(default_factory=dict)
    per_label: int | None = None
    cap: int | None = None

    def add_node(self, node: GNode) -> None:
        self.nodes.setdefault(node.id, node)

    def add_edge(self, edge: GEdge) -> None:
        if edge.start in self.nodes and edge.end in self.nodes and not any(
                e.start == edge.start and e.end == edge.end and e.type == edge.type for e in self.edges):
            self.edges.append(edge)

    def omit(self, label: str, n: int, by_limit: bool = False) -> None:
        """Count `n` neighbours of `label` left out, by the per-label limit or by the node cap."""
        if n > 0:
            self.omitted[label] = self.omitted.get(label, 0) + n
            if by_limit:
                self.omitted_by_limit[label] = self.omitted_by_limit.get(label, 0) + n

    @property
    def omitted_total(self) -> int:
        return sum(self.omitted.values())

    @property
    def omitted_by_cap(self) -> int:
        return self.omitted_total - sum(self.omitted_by_limit.values())

    def omitted_text(self) -> str:
        """Plain-text notice of what was left out and which limit left it out ('' when nothing was)."""
        if not self.omitted:
            return ""
        parts = ", ".join(f"{n} {label}" for label, n in sorted(self.omitted.items(), key=lambda kv: -kv[1]))
        why = []
        by_limit = sum(self.omitted_by_limit.values())
        if by_limit:
            per = f"{self.per_label} " if self.per_label else ""
            why.append(f"{by_limit} by the limit of {per}neighbours per label of each expanded node")
        if self.omitted_by_cap:
            cap = f" of {self.cap} nodes" if self.cap else ""
            why.append(f"{self.omitted_by_cap} by the node cap{cap}")
        return f"{self.omitted_total} more neighbours not shown: {parts} ({'; '.join(why)})"

    def to_subgraph(self, title: str | None = None):
        """As a `graph.reads.subgraph.Subgraph` (what `app.exports` draws); ids become node keys."""
        from graph.reads.subgraph import SubEdge, SubNode, Subgraph, display_name

        ident = {n.id: (n.key or n.id) for n in self.nodes.values()}
        nodes = [SubNode(ident[n.id], n.label, n.key,
                         display_name(n.label, {**n.props, "key": n.key}, n.name), dict(n.props))
                 for n in self.nodes.values()]
        edges = [SubEdge(ident[e.start], ident[e.end], e.type, dict(e.props)) for e in self.edges]
        focus = ident.get(self.focus[0]) if self.focus else None
        return Subgraph(nodes, edges, title=title, focus=focus)

    def to_dict(self) -> dict:
        return {"nodes": [asdict(n) for n in self.nodes.values()],
                "edges": [asdict(e) for e in self.edges],
                "omitted": dict(self.omitted), "focus": list(self.focus)}


def _gnode(row: dict) -> GNode:
    return GNode(id=row["id"], key=row.get("key"), label=row.get("label") or "?",
                 name=str(row.get("name") or row.get("key") or "?"), props=dict(row.get("props") or {}))


# -- incidents and claims (Workbench) ----------------------------------------------------------
SEED_INCIDENT = "seed:astrazeneca-2020"


def incidents(db: GraphDB, limit: int = 2000) -> list[dict]:
    """Incidents for a picker: key, name, first_seen, number of claims (most-claimed first)."""
    return db.read(cypher.APP_INCIDENTS, {"limit": limit})


def incident_names(db: GraphDB) -> dict[str, str]:
    """Every incident's key -> name (to tell which ones a load added)."""
    return {r["key"]: r["name"] for r in db.read(cypher.APP_INCIDENT_KEYS)}


def default_incident(rows: list[dict]) -> str | None:
    """The seed story's AstraZeneca incident when loaded, else the most-claimed incident."""
    keys = [r["key"] for r in rows]
    if SEED_INCIDENT in keys:
        return SEED_INCIDENT
    return keys[0] if keys else None


def incident_claims(db: GraphDB, incident_key: str) -> list[dict]:
    """Every claim about an incident: actor, source (kind, reliability), stance, confidence, date."""
    return db.read(cypher.APP_INCIDENT_CLAIMS, {"key": incident_key})


# -- search ------------------------------------------------------------------------------------
_LUCENE_SPECIAL = re.compile(r'([+\-!(){}\[\]^"~*?:\\/&|])')


def lucene_escape(text: str) -> str:
    return _LUCENE_SPECIAL.sub(r"\\\1", text)


def fulltext_query(text: str) -> str | None:
    """A Lucene query for free text: the exact phrase (boosted) or every word as a prefix."""
    words = [w for w in re.split(r"\s+", text.strip()) if w]
    if not words:
        return None
    phrase = lucene_escape(" ".join(words))
    prefixes = " AND ".join(f"{lucene_escape(w.lower())}*" for w in words)
    return f'"{phrase}"^4 OR ({prefixes})'


def search(db: GraphDB, text: str, labels: list[str] | None = None, limit: int = 25) -> list[dict]:
    """Nodes matching a name, an alias (any vendor spelling) or an external ID (G0032, T1566.003).

    Rows: id, key, label, name, via (why it matched), resolved (an actor the name may denote).
    Actors come first in the resolver's order (graph.analysis.resolve: key and external ID, then the
    actor more sources give that name, its own name, a curated ID), then techniques, tools and
    incidents by external ID, then full-text matches on names, keys and descriptions.
    """
    text = (text or "").strip()
    if not text:
        return []
    hits: dict[str, dict] = {}
    resolved = resolve(db, text)["actors"]
    ids = {r["key"]: r["id"] for r in db.read(cypher.APP_ACTOR_IDS, {"keys": [a["key"] for a in resolved]})}
    for actor in resolved:
        if actor["key"] in ids:
            hits[ids[actor["key"]]] = {"id": ids[actor["key"]], "key": actor["key"], "label": "Actor",
                                       "name": actor["name"], "via": _via_text(actor), "resolved": True}
    for row in db.read(cypher.APP_SEARCH_EXACT, {"upper": text.upper()}):
        hits.setdefault(row["id"], {**row, "resolved": False})
    query = fulltext_query(text)
    if query:
        rows = db.read(cypher.APP_SEARCH_FULLTEXT, {"query": query, "limit": limit * 3})
        words = text.casefold().split()
        # a node whose name holds every word before one only its description mentions
        rows.sort(key=lambda r: not all(w in str(r["name"]).casefold() for w in words))
        for row in rows:
            if row["label"] == "Alias":
                continue  # aliases are reached through the resolver above, as their actor
            hits.setdefault(row["id"], {**row, "via": "name, key or description", "resolved": False})
    rows = [h for h in hits.values() if not labels or h["label"] in labels]
    return rows[:limit]


def _via_text(actor: dict) -> str:
    """Why the resolver matched an actor: 'alias ZINC (2 sources)', 'external ID G0032', ..."""
    by_alias: dict[str, set] = {}
    for via in actor["via"]:
        by_alias.setdefault(via["alias"], set()).update([via["source"]] if via["source"] else [])
    parts = []
    for alias, sources in by_alias.items():
        kind = "key" if alias == actor["key"] else ("external ID" if alias in actor["external_ids"] else "alias")
        parts.append(f"{kind} {alias}" + (f" ({len(sources)} source{'s' * (len(sources) != 1)})" if sources else ""))
    return "; ".join(parts)


def ambiguity(text: str, hits: list[dict]) -> str | None:
    """'ZINC may denote 3 actors: ...' when a name resolves to more than one actor, else None."""
    actors = [h["name"] for h in hits if h.get("resolved")]
    if len(actors) < 2:
        return None
    return (f"'{text.strip()}' is ambiguous: it may denote {len(actors)} actors, most likely first "
            f"(key or ID, then the one more sources give that name): {', '.join(actors)}")


def node_id(db: GraphDB, key: str, label: str | None = None) -> str | None:
    rows = db.read(cypher.app_node_by_key(label), {"key": key})
    return rows[0]["id"] if rows else None


def nodes_by_id(db: GraphDB, ids: list[str]) -> list[GNode]:
    return [_gnode(r) for r in db.read(cypher.APP_NODES_BY_ID, {"ids": list(ids)})]


# -- neighbours and paths (Explore) ------------------------------------------------------------
@dataclass
class NeighbourFilter:
    labels: list[str] | None = None      # neighbour labels to keep (None = all)
    sources: list[str] | None = None     # source keys: keep facts some of these sources state
    since: str | None = None             # YYYY[-MM[-DD]]: keep facts seen on or after
    until: str | None = None             # YYYY[-MM[-DD]]: keep facts seen on or before
    undated: bool = True                 # with since/until: keep facts that carry no date

    def params(self) -> dict:
        for value in (self.since, self.until):
            if value and not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
                raise ValueError(f"date {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        if self.labels:
            unknown = [lab for lab in self.labels if lab not in LABELS]
            if unknown:
                raise ValueError(f"unknown labels {unknown}")
        return {"labels": self.labels or None, "sources": self.sources or None,
                "since": self.since or None, "until": self.until or None, "undated": self.undated}


def neighbours(db: GraphDB, ids: list[str], filt: NeighbourFilter | None = None,
               cap: int = DEFAULT_NODE_CAP, per_label: int = DEFAULT_PER_LABEL) -> GraphView:
    """The nodes `ids` and their neighbours (filtered), at most `cap` nodes in all.

    Per expanded node and label at most `per_label` neighbours (best connected first); what
    the caps leave out is counted per label in `GraphView.omitted`.
    """
    params = (filt or NeighbourFilter()).params()
    view = GraphView(focus=list(ids), per_label=per_label, cap=cap)
    for n in nodes_by_id(db, ids):
        view.add_node(n)
    pending: list[tuple[str, dict]] = []
    for nid in ids:
        for group in db.read(cypher.APP_NEIGHBOURS, {**params, "id": nid, "per_label": per_label}):
            view.omit(group["label"], group["total"] - len(group["items"]), by_limit=True)
            for item in group["items"]:
                pending.append((nid, item))
    for nid, item in pending:
        if item["id"] not in view.nodes and len(view.nodes) >= cap:
            view.omit(item["label"], 1)
            continue
        view.add_node(_gnode(item))
        start, end = (nid, item["id"]) if item["rel_start"] == nid else (item["id"], nid)
        view.add_edge(GEdge(start, end, item["rel_type"], dict(item.get("rel_props") or {})))
    _add_edges_among(db, view)
    return view


def _add_edges_among(db: GraphDB, view: GraphView, limit: int = 3000) -> None:
    ids = list(view.nodes)
    if len(ids) < 2:
        return
    for row in db.read(cypher.APP_EDGES_AMONG, {"ids": ids, "limit": limit}):
        view.add_edge(GEdge(row["start"], row["end"], row["type"], dict(row.get("props") or {})))


def shortest_path(db: GraphDB, a: str, b: str, avoid: tuple[str, ...] = ("Source", "Alias")) -> GraphView | None:
    """One shortest path (up to 8 hops) between two nodes, not passing through `avoid` labels
    (sources and aliases join everything to everything and would make every path trivial)."""
    rows = db.read(cypher.APP_SHORTEST_PATH, {"a": a, "b": b, "avoid": list(avoid)}, timeout=15)
    if not rows:
        return None
    view = GraphView(focus=[a, b])
    for n in nodes_by_id(db, rows[0]["ids"]):
        view.add_node(n)
    for r in rows[0]["rels"]:
        view.add_edge(GEdge(r["start"], r["end"], r["type"], dict(r.get("props") or {})))
    return view


# -- actor comparison (Compare) ----------------------------------------------------------------
CATEGORIES = {"Tool": "tools", "Technique": "techniques", "Infrastructure": "infrastructure",
              "Organization": "victims", "Sector": "victims", "Country": "victims"}
# Tools anyone can get say little about who used them (DESIGN.md: public and leaked tools are weak).
AVAILABILITY_FACTOR = {"public": 0.25, "leaked": 0.25, "commodity": 0.5}


def actors(db: GraphDB, limit: int = 5000) -> list[dict]:
    """Actors for a picker: key, name, kind, number of claims naming them (most-claimed first)."""
    return db.read(cypher.APP_ACTORS, {"limit": limit})


def specificity(n_actors_with_item: int, n_actors: int, availability: str | None = None) -> float:
    """How much sharing this item says, 0..1: inverse actor frequency, scaled down for tools
    anyone can obtain. An item only one actor has weighs 1; one every actor has weighs 0."""
    n = max(n_actors, 2)
    df = min(max(n_actors_with_item, 1), n)
    idf = math.log(n / df) / math.log(n)
    return round(idf * AVAILABILITY_FACTOR.get(availability or "", 1.0), 4)


@dataclass
class CompareItem:
    id: str
    key: str
    label: str
    category: str
    name: str
    availability: str | None
    actors_with_item: int            # candidates whose profile holds it (the engine's count)
    weight: float                    # specificity 0..1
    held_by: dict[str, list[str]]    # compared actor key -> incidents it comes from ([] = direct)

    @property
    def shared(self) -> bool:
        return len(self.held_by) > 1

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Comparison:
    actors: list[dict]               # key, name, in the order asked
    items: list[CompareItem]
    n_actors: int                    # candidates with a profile (the base of the specificity weights)

    def similarity(self) -> list[list[float]]:
        """Pairwise weighted Jaccard: shared weight / union weight (1.0 on the diagonal)."""
        keys = [a["key"] for a in self.actors]
        out = []
        for a in keys:
            row = []
            for b in keys:
                both = sum(i.weight for i in self.items if a in i.held_by and b in i.held_by)
                either = sum(i.weight for i in self.items if a in i.held_by or b in i.held_by)
                row.append(round(both / either, 3) if either else 0.0)
            out.append(row)
        return out

    def shared_items(self) -> list[CompareItem]:
        return sorted((i for i in self.items if i.shared), key=lambda i: (-i.weight, i.name))

    def distinctive(self, actor_key: str) -> list[CompareItem]:
        return sorted((i for i in self.items if list(i.held_by) == [actor_key]),
                      key=lambda i: (-i.weight, i.name))

    def category_scores(self) -> list[dict]:
        """Per actor and category: total specificity weight it holds (for the heatmap)."""
        rows = []
        for a in self.actors:
            for cat in sorted(set(CATEGORIES.values())):
                held = [i for i in self.items if i.category == cat and a["key"] in i.held_by]
                shared = [i for i in held if i.shared]
                rows.append({"actor": a["name"], "category": cat, "items": len(held),
                             "weight": round(sum(i.weight for i in held), 3),
                             "shared_weight": round(sum(i.weight for i in shared), 3)})
        return rows


def compare_actors(db: GraphDB, actor_keys: list[str]) -> Comparison:
    """Tools, techniques, infrastructure and victims of 2-5 actors, each weighted by specificity."""
    if not 2 <= len(actor_keys) <= 5:
        raise ValueError("compare two to five actors")
    names = _actor_names(db, actor_keys)
    rows = db.read(cypher.APP_ACTOR_PROFILE, {"keys": actor_keys})
    by_id: dict[str, dict] = {}
    for r in rows:
        if r["label"] not in CATEGORIES:
            continue
        item = by_id.setdefault(r["id"], {"row": r, "held_by": {}})
        item["held_by"].setdefault(r["actor"], set()).update(r["incidents"])
    # One count for every page: the engine's candidates with a profile (groups and persons with
    # evidence; a state counts through the groups it sponsors), as the Workbench's "in 3 of N
    # actors' profiles" says.
    from graph.analysis import engine

    snap = engine.snapshot(db)
    stats = snap.stats(snap.profiles())
    n_actors = stats.n
    items = []
    for iid, entry in by_id.items():
        r = entry["row"]
        df = stats.df.get(r["key"], 0)
        items.append(CompareItem(
            id=iid, key=r["key"], label=r["label"], category=CATEGORIES[r["label"]], name=_item_name(r),
            availability=r.get("availability"), actors_with_item=df,
            weight=specificity(df, n_actors, r.get("availability")),
            held_by={k: sorted(v) for k, v in sorted(entry["held_by"].items(),
                                                        key=lambda kv: actor_keys.index(kv[0]))}))
    items.sort(key=lambda i: (-i.weight, i.category, i.name))
    return Comparison(actors=[{"key": k, "name": names.get(k, k)} for k in actor_keys],
                      items=items, n_actors=n_actors)


def _item_name(row: dict) -> str:
    name = str(row.get("name") or row.get("key"))
    if row.get("label") == "Technique" and row.get("key") and name != row["key"]:
        return f"{row['key']} {name}"
    return name


def _actor_names(db: GraphDB, keys: list[str]) -> dict[str, str]:
    rows = db.read(cypher.APP_ACTOR_NAMES, {"keys": keys})
    missing = [k for k in keys if k not in {r["key"] for r in rows}]
    if missing:
        from graph.errors import NotFound
        raise NotFound(f"no actor with key {', '.join(missing)}", hint="pick actors from the list")
    return {r["key"]: r["name"] for r in rows}


# -- timeline ----------------------------------------------------------------------------------
def parse_partial_date(text: str | None, end: bool = False) -> date | None:
    """'2020' -> 2020-01-01 (or 2020-12-31 with end), '2020-11' -> 2020-11-01 (or -30), else None."""
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", str(text)[:10])
    if not m:
        return None
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    try:
        if d:
            return date(y, int(mo), int(d))
        if mo:
            if not end:
                return date(y, int(mo), 1)
            nxt = date(y + (int(mo) == 12), int(mo) % 12 + 1, 1)
            return date.fromordinal(nxt.toordinal() - 1)
        return date(y, 12, 31) if end else date(y, 1, 1)
    except ValueError:
        return None


def timeline(db: GraphDB, actors: list[str] | None = None, sources: list[str] | None = None,
             limit: int = 5000) -> dict[str, list[dict]]:
    """{"claims": [...], "incidents": [...]} over time, optionally only for some actors/sources.

    Claims: date, incident, actor, source, stance, confidence (+ parsed `day`). Incidents:
    key, name, first_seen, last_seen (+ parsed `start`, `end`). Undated rows are dropped.
    """
    params = {"actors": actors or None, "sources": sources or None, "limit": limit}
    claims = []
    for r in db.read(cypher.APP_TIMELINE_CLAIMS, params):
        r["day"] = parse_partial_date(r["date"])
        if r["day"]:
            claims.append(r)
    incs = []
    for r in db.read(cypher.APP_TIMELINE_INCIDENTS, params):
        r["start"] = parse_partial_date(r["first_seen"])
        r["end"] = parse_partial_date(r["last_seen"] or r["first_seen"], end=True)
        if r["start"]:
            if r["end"] is None or r["end"] < r["start"]:
                r["end"] = r["start"]
            incs.append(r)
    return {"claims": claims, "incidents": incs}


def sources(db: GraphDB) -> list[dict]:
    return db.read(cypher.APP_SOURCES)
