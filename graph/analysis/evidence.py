"""Graph reads -> plain Python evidence and actor profiles for the attribution engine.

`Snapshot.read(db)` reads the actors' side of the graph in a handful of queries: actors,
aliases, what actors use and target, tool -> technique and sub-technique -> parent links,
every claim (no free text), and the structured evidence of every incident some claim
attributes to an actor. `incident_evidence(db, key)` reads one incident. Everything after
that is Python: `Snapshot.as_of(date)` drops what was not known on a date, and
`Snapshot.profiles(exclude_incident)` builds each candidate actor's profile from its own
USES/TARGETS plus the incidents attributed to it, never counting the incident under study.

No description or statement text is ever read for scoring (ATT&CK campaign descriptions name
the group); statements are read only to be shown by `explain`.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from graph import cypher
from graph.analysis.scoring import IMPLIED_COUNT, Actor, ClaimInfo, Item, Profile, Stats, Tally, make_item
from graph.store.db import GraphDB

# The engine's queries name relationship types a graph may not hold yet (TARGETS before any
# victim is loaded); the server's "unknown type" notices are not errors.
logging.getLogger("neo4j.notifications").addHandler(logging.NullHandler())

CANDIDATE_KINDS = ("group", "person")   # states are weighed through the groups they sponsor
VICTIM_KINDS = {"Organization": "organization", "Sector": "sector", "Country": "country"}


@dataclass(frozen=True)
class RawItem:
    """One USES/USED/TARGETS/TARGETED end point as read from the graph."""

    label: str
    key: str
    name: str | None
    availability: str | None = None
    created: str | None = None          # the relationship's date (created, else first_seen)
    item_created: str | None = None     # the node's own date, where it has one
    sectors: tuple = ()
    countries: tuple = ()


@dataclass(frozen=True)
class ActorInfo:
    key: str
    name: str
    kind: str | None
    external_ids: tuple[str, ...] = ()
    created: str | None = None
    sponsors: tuple[str, ...] = ()      # countries (SPONSORED_BY)
    state_of: tuple[str, ...] = ()      # countries (STATE_OF), for kind "state"
    same_as: tuple[tuple[str, tuple[str, ...], str | None], ...] = ()   # (actor, sources, date) per SAME_AS
    aliases: tuple[str, ...] = ()       # spellings

    def actor(self, same_as: list[str] | None = None) -> Actor:
        """As a hypothesis; `same_as`: the other nodes whose evidence counts for it."""
        return Actor(self.key, self.name, self.kind or "group", list(self.external_ids), list(self.aliases),
                     list(same_as or []))


@dataclass
class IncidentEvidence:
    key: str
    name: str
    external_ids: list[str]
    first_seen: str | None
    last_seen: str | None
    items: list[Item]

    def to_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "external_ids": self.external_ids,
                "first_seen": self.first_seen, "last_seen": self.last_seen,
                "items": [i.to_dict() for i in self.items]}


def known(date: str | None, as_of: str | None) -> bool:
    """Was something dated `date` known on `as_of`? Undated things count as always known."""
    return as_of is None or date is None or str(date)[:10] <= as_of


def _raw(row: list, orgs: dict[str, tuple[tuple, tuple]] | None = None) -> RawItem:
    """[label, key, name, availability, node created, relationship created] -> RawItem."""
    label, key, name, availability, item_created, created = row
    sectors, countries = (orgs or {}).get(key, ((), ())) if label == "Organization" else ((), ())
    return RawItem(label, key, name, availability, _date(created), _date(item_created), sectors, countries)


def _date(value) -> str | None:
    return str(value)[:10] if value not in (None, "") else None


# -- expansion: raw graph end points -> weighted evidence items --------------------------------------
@dataclass
class Links:
    parents: dict[str, tuple[str, str | None]] = field(default_factory=dict)   # child -> (parent, name)
    tool_techniques: dict[str, list[tuple[str, str | None, str | None]]] = field(default_factory=dict)


def expand(raw: Iterable[RawItem], links: Links, as_of: str | None = None) -> list[Item]:
    """Evidence items of one incident: its tools, techniques (plus each sub-technique's parent,
    weaker), techniques its tools are known to use (weaker still), infrastructure, victim
    organisations and their sectors and countries. Each key appears once, as its strongest kind."""
    items: dict[str, Item] = {}

    def put(item: Item) -> None:
        old = items.get(item.key)
        if old is None or item.weight > old.weight:
            items[item.key] = item

    raw = [r for r in raw if known(r.created, as_of) and known(r.item_created, as_of)]
    for r in raw:
        if r.label == "Tool":
            put(make_item("tool", r.key, r.name, r.availability))
        elif r.label == "Technique":
            put(make_item("technique", r.key, r.name))
        elif r.label == "Infrastructure":
            put(make_item("infrastructure", r.key, r.name))
        elif r.label in VICTIM_KINDS:
            put(make_item(VICTIM_KINDS[r.label], r.key, r.name))
            for key, name in r.sectors:
                put(make_item("sector", key, name))
            for key, name in r.countries:
                put(make_item("country", key, name))
    for r in raw:
        if r.label == "Technique" and r.key in links.parents:
            parent, name = links.parents[r.key]
            put(make_item("technique-parent", parent, name))
        if r.label == "Tool":
            for key, name, created in links.tool_techniques.get(r.key, ()):
                if known(created, as_of):
                    put(make_item("technique-implied", key, name))
                    if key in links.parents:
                        put(make_item("technique-implied", *links.parents[key]))
    return sorted(items.values(), key=lambda i: (-i.weight, i.kind, i.key))


def profile_part(raw: Iterable[RawItem], links: Links, origin: str, as_of: str | None) -> Profile:
    """One source of an actor's profile (its own USES/TARGETS, or one attributed incident):
    each item counts 1, a technique the source's tools imply counts IMPLIED_COUNT if the
    source does not name it itself."""
    p = Profile()
    implied: dict[str, float] = {}
    for item in expand(raw, links, as_of):
        if item.kind == "technique-implied":
            implied[item.key] = IMPLIED_COUNT
        else:
            p.add(item.key, 1.0, origin, item.kind)
    for key, count in implied.items():
        p.add(key, count, origin, "technique-implied")
    return p


def without(full: Profile, part: Profile, origin: str) -> Profile:
    """`full` less one of the parts it was merged from: the same profile as merging the other
    parts (counts are sums of 1 and 1/4, exact in floating point; an item's family follows
    from its kind), at the cost of the part instead of all the others."""
    out = Profile(Counter(full.counts), dict(full.origins), dict(full.families))
    for key, count in part.counts.items():
        left = out.counts[key] - count
        if left > 0:
            out.counts[key] = left
            out.origins[key] = full.origins[key] - {origin}
        else:
            del out.counts[key]
            out.origins.pop(key, None)
            out.families.pop(key, None)
    return out


def merge(parts: Iterable[Profile]) -> Profile:
    out = Profile()
    for part in parts:
        for key, count in part.counts.items():
            out.counts[key] += count
            out.origins.setdefault(key, set()).update(part.origins.get(key, ()))
            if key in part.families:
                out.families.setdefault(key, part.families[key])
    return out


# -- the snapshot -------------------------------------------------------------------------------------
@dataclass
class Snapshot:
    version: tuple
    actors: dict[str, ActorInfo]
    aliases: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]   # alias key -> (spellings, actor keys)
    actor_items: dict[str, list[RawItem]]
    incident_items: dict[str, list[RawItem]]                       # attributed incidents only
    claims: list[ClaimInfo]
    links: Links
    orgs: dict[str, tuple[tuple, tuple]] = field(default_factory=dict)
    as_of_date: str | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, db: GraphDB, version: tuple | None = None) -> "Snapshot":
        def work(tx):
            def rows(q):
                return [r.data() for r in tx.run(q)]
            return (rows(cypher.ENGINE_ACTORS), rows(cypher.ENGINE_ACTOR_ITEMS), rows(cypher.ENGINE_ORGANIZATIONS),
                    rows(cypher.ENGINE_TOOL_TECHNIQUES), rows(cypher.ENGINE_SUBTECHNIQUES),
                    rows(cypher.ENGINE_CLAIMS), rows(cypher.ENGINE_ATTRIBUTED_ITEMS))
        actors_r, actor_items_r, orgs_r, tool_tech_r, subtech_r, claims_r, attributed_r = db.execute_read(work)

        aliases: dict[str, tuple[tuple[str, ...], set]] = {}
        actors = {}
        for r in actors_r:
            # aliases most sources give first; one spelling per case-insensitive name
            seen = {r["name"].casefold()}
            names = []
            for alias_key, spellings, _sources in sorted(r["aliases"], key=lambda x: (-x[2], x[0])):
                for sp in spellings:
                    if sp.casefold() not in seen:
                        seen.add(sp.casefold())
                        names.append(sp)
                entry = aliases.setdefault(alias_key, (tuple(spellings), set()))
                entry[1].add(r["key"])
            actors[r["key"]] = ActorInfo(
                r["key"], r["name"], r["kind"], tuple(r["external_ids"]), _date(r["created"]),
                tuple(sorted(set(r["sponsors"]))), tuple(sorted(set(r["state_of"]))),
                tuple(sorted((k, tuple(src), _date(created)) for k, src, created in r["same_as"])), tuple(names))
        orgs = {r["key"]: (tuple(tuple(x) for x in r["sectors"]), tuple(tuple(x) for x in r["countries"]))
                for r in orgs_r}
        actor_items = {r["owner"]: [_raw(x, orgs) for x in r["items"]] for r in actor_items_r}
        incident_items = {r["owner"]: [_raw(x, orgs) for x in r["items"]] for r in attributed_r}
        links = Links()
        for r in subtech_r:
            links.parents[r["child"]] = (r["key"], r["name"])
        for r in tool_tech_r:
            links.tool_techniques[r["tool"]] = [(k, n, _date(c)) for k, n, c in r["techniques"]]
        claims = [ClaimInfo(r["key"], r["incident"], r["actor"], r["stance"], r["confidence"], _date(r["date"]),
                            r["source"], r["source_name"], r["source_kind"], r["reliability"],
                            _date(r["incident_first_seen"]), r["incident_name"])
                  for r in claims_r]
        claims.sort(key=lambda c: (c.incident, c.date or "", c.stance, c.source or "", c.actor, c.key))
        return cls(version or (), actors, {k: (sp, tuple(sorted(a))) for k, (sp, a) in aliases.items()},
                   actor_items, incident_items, claims, links, orgs)

    # -- time ---------------------------------------------------------------------------------------
    def as_of(self, date: str | None) -> "Snapshot":
        """Only what was known on `date`: claims by their date, incidents by first_seen, actors
        and items by `created`, relationships by `created` (else first_seen) where they have one.
        Cached per date."""
        if date is None or date == self.as_of_date:
            return self
        views = self._cache.setdefault("as_of", {})
        if date not in views:
            actors = {k: a for k, a in self.actors.items() if known(a.created, date)}
            claims = [c for c in self.claims if c.actor in actors and known(c.date, date)
                      and known(c.incident_first_seen, date)]
            views[date] = Snapshot(self.version, actors, self.aliases, self.actor_items, self.incident_items,
                                   claims, self.links, self.orgs, date)
        return views[date]

    # -- profiles -----------------------------------------------------------------------------------
    def _part(self, origin: str, actor: str | None = None) -> Profile:
        """One profile source: an actor's own USES/TARGETS (actor given; `origin` labels its
        items) or one incident."""
        parts = self._cache.setdefault("parts", {})
        key = ("own", actor, origin) if actor else origin
        if key not in parts:
            raw = self.actor_items.get(actor, ()) if actor else self.incident_items.get(origin, ())
            parts[key] = profile_part(raw, self.links, origin, self.as_of_date)
        return parts[key]

    def attributions(self) -> dict[str, set[str]]:
        """actor -> incidents some (known) claim attributes to it."""
        if "attributions" not in self._cache:
            out: dict[str, set[str]] = defaultdict(set)
            for c in self.claims:
                if c.stance == "attributes":
                    out[c.actor].add(c.incident)
            self._cache["attributions"] = dict(out)
        return self._cache["attributions"]

    def same_group(self) -> dict[str, str]:
        """Candidate actor -> the candidate that stands for its group, for actors a source says are
        the same group (SAME_AS, known on the snapshot's date; chains join): the member with the
        largest own profile, then the smallest key, stands for all of them, and their evidence
        counts for it. The nodes stay distinct; actors without SAME_AS are not in the map."""
        if "same_group" not in self._cache:
            candidates = {k for k, a in self.actors.items() if (a.kind or "group") in CANDIDATE_KINDS}
            links: dict[str, set[str]] = defaultdict(set)
            for key in sorted(candidates):
                for other, _sources, date in self.actors[key].same_as:
                    if other in candidates and other != key and known(date, self.as_of_date):
                        links[key].add(other)
                        links[other].add(key)
            out: dict[str, str] = {}
            for start in sorted(links):
                if start in out:
                    continue
                group, todo = set(), [start]
                while todo:
                    key = todo.pop()
                    if key not in group:
                        group.add(key)
                        todo.extend(links[key] - group)
                head = min(group, key=lambda k: (-self._part("USES", k).size, k))
                out.update({k: head for k in group})
            self._cache["same_group"] = out
        return self._cache["same_group"]

    def members(self, actor: str) -> list[str]:
        """The actors whose evidence counts for this candidate: itself first, then the others a
        source says are the same group."""
        group = self.same_group()
        return [actor] + sorted(k for k, head in group.items() if head == actor and k != actor)

    def _profile(self, actor: str) -> Profile:
        """Its own USES/TARGETS and attributed incidents, and those of the actors it stands for
        (their own items labelled "USES <key>", so an explanation can say which node each came
        from)."""
        members = self.members(actor)
        attributed = self.attributions()
        incidents = sorted(set().union(*(attributed.get(m, ()) for m in members)))
        own = [self._part("USES" if m == actor else f"USES {m}", m) for m in members]
        return merge(own + [self._part(i) for i in incidents])

    def profiles(self, exclude_incident: str | None = None) -> dict[str, Profile]:
        """Each candidate actor's profile (groups and persons with any evidence), never counting
        `exclude_incident` (the incident under study) nor any claim about it. The full profiles
        are built once per snapshot; the incident's own part is taken out of the profiles of the
        candidates it is attributed to (through any member of their group)."""
        full = self._full_profiles()
        out = dict(full)
        if exclude_incident:
            group = self.same_group()
            heads = {group.get(k, k) for k, incidents in self.attributions().items() if exclude_incident in incidents}
            for key in sorted(heads & full.keys()):
                out[key] = without(full[key], self._part(exclude_incident), exclude_incident)
        return {k: p for k, p in out.items() if p.size}

    def _full_profiles(self) -> dict[str, Profile]:
        if "profiles" not in self._cache:
            group = self.same_group()
            self._cache["profiles"] = {key: self._profile(key) for key, actor in self.actors.items()
                                       if (actor.kind or "group") in CANDIDATE_KINDS and group.get(key, key) == key}
        return self._cache["profiles"]

    def stats(self, profiles: dict[str, Profile]) -> Stats:
        """Stats.of(profiles) for profiles this snapshot gave out: from a tally of the full
        profiles, kept per snapshot, with the few that differ swapped."""
        full = self._full_profiles()
        if "tally" not in self._cache:
            self._cache["tally"] = Tally()
            for p in full.values():
                self._cache["tally"].add(p)
        tally = self._cache["tally"].copy()
        for key, p in full.items():
            if profiles.get(key) is not p:
                tally.add(p, -1)
                tally.add(profiles.get(key, Profile()))
        return tally.stats()

    # -- claims and actors ---------------------------------------------------------------------------
    def claims_about(self, incident: str) -> list[ClaimInfo]:
        return [c for c in self.claims if c.incident == incident]

    def sponsored(self, state_key: str) -> list[str]:
        """The groups and persons a state actor sponsors (SPONSORED_BY its STATE_OF country)."""
        countries = set(self.actors[state_key].state_of) if state_key in self.actors else set()
        return sorted(k for k, a in self.actors.items()
                      if k != state_key and countries & set(a.sponsors))

    def states_of(self, actor_key: str) -> list[str]:
        """The state actors whose country sponsors this actor."""
        sponsors = set(self.actors[actor_key].sponsors) if actor_key in self.actors else set()
        return sorted(k for k, a in self.actors.items() if a.kind == "state" and sponsors & set(a.state_of))

    def ambiguous_aliases(self, actor_key: str) -> list[tuple[str, list[str]]]:
        """(spelling, other actors) for every alias of this actor that also names other actors."""
        out = []
        for spellings, actor_keys in self.aliases.values():
            if actor_key in actor_keys and len(actor_keys) > 1:
                out.append((spellings[0], [a for a in actor_keys if a != actor_key]))
        return sorted(out)


def read_version(db: GraphDB) -> tuple:
    row = db.read(cypher.ENGINE_GRAPH_VERSION)[0]
    return (row["nodes"], row["rels"])


def incident_evidence(db: GraphDB, key: str, snap: "Snapshot", as_of: str | None = None) -> IncidentEvidence | None:
    rows = db.read(cypher.ENGINE_INCIDENT, {"key": key})
    if not rows:
        return None
    r = rows[0]
    raw = [_raw(x, snap.orgs) for x in r["items"]]
    return IncidentEvidence(r["key"], r["name"], list(r["external_ids"]), _date(r["first_seen"]),
                            _date(r["last_seen"]), expand(raw, snap.links, as_of))


def incident_claims(db: GraphDB, key: str) -> list[ClaimInfo]:
    return [ClaimInfo(r["key"], r["incident"], r["actor"], r["stance"], r["confidence"], _date(r["date"]),
                      r["source"], r["source_name"], r["source_kind"], r["reliability"],
                      statement=r["statement"], url=r["url"])
            for r in db.read(cypher.ENGINE_INCIDENT_CLAIMS, {"key": key})]
