"""Graph reads -> plain Python evidence and actor profiles for the attribution engine.

`Snapshot.read(db)` reads the actors' side of the graph in a handful of queries: actors,
aliases, what actors use and target, tool -> technique and sub-technique -> parent links,
victim organisations' sectors and countries, and who each attributing claim names (compact:
actor, incident, two dates). `incident_evidence(db, key)` reads one incident.

`Snapshot.profiles(exclude_incident)` builds each candidate actor's profile from its own
USES/TARGETS plus the incidents attributed to it, never counting the incident under study. The
full profiles are folded from one streamed read of the attributed incidents' items, each
incident's part added to the profiles of the candidates it counts for and then dropped: memory
grows with actors x items, not with incidents. What only an explanation or a benchmark needs
is built or read when asked: where a profile's items come from (`Snapshot.origins`, from the
incident numbers kept per candidate and item while folding), the claims about one incident,
every claim (`Snapshot.claims`) or every attributed incident's items (`Snapshot.incident_items`). `Snapshot.as_of(date)` drops what was not known
on a date (its profiles fold the same stream with the date's filter).

No description or statement text is ever read for scoring (ATT&CK campaign descriptions name
the group); statements are read only to be shown by `explain`.
"""
from __future__ import annotations

import logging
import threading
from array import array
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, NamedTuple

from graph import cypher
from graph.analysis.scoring import FAMILIES, IMPLIED_COUNT, Actor, ClaimInfo, Item, Profile, Stats, Tally, make_item
from graph.store.db import GraphDB

# The engine's queries name relationship types a graph may not hold yet (TARGETS before any
# victim is loaded); the server's "unknown type" notices are not errors.
logging.getLogger("neo4j.notifications").addHandler(logging.NullHandler())

CANDIDATE_KINDS = ("group", "person")   # states are weighed through the groups they sponsor
VICTIM_KINDS = {"Organization": "organization", "Sector": "sector", "Country": "country"}
# Kept per snapshot, the last used first out: incidents' profile parts (small), and the profiles
# without one incident (copies of the profiles it counts for: an explanation asks a few times).
KEPT = {"parts": 256, "without": 4}
_KEPT_LOCK = threading.RLock()


class RawItem(NamedTuple):
    """One USES/USED/TARGETS/TARGETED end point as read from the graph (a named tuple: a million
    incidents are read as some fifteen million of them)."""

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
    member_of: tuple[tuple[str, tuple[str, ...], str | None], ...] = ()  # (group, sources, date) per MEMBER_OF
    motives: tuple[str, ...] = ()       # graph.model.MOTIVES (a MISP cluster's incident types)

    def attributes(self) -> list[Item]:
        """What the actor is, as profile items: its sponsors' countries ("origin:KP"), any sponsor
        at all ("origin:state"), its motives ("motive:financial")."""
        from graph.countries import country_name

        out = [make_item("origin", f"origin:{c}", f"origin {country_name(c) or c}") for c in self.sponsors]
        if self.sponsors:
            out.append(make_item("origin", "origin:state", "origin: a state sponsor"))
        return out + [make_item("motive", f"motive:{m}", f"motive {m}") for m in self.motives]

    def actor(self, same_as: list[str] | None = None, members: list[str] | None = None,
              sponsors: list[str] | None = None) -> Actor:
        """As a hypothesis; `same_as`: the other nodes whose evidence counts for it; `members`,
        `sponsors`: the names of the persons weighed through it and of its sponsoring states."""
        return Actor(self.key, self.name, self.kind or "group", list(self.external_ids), list(self.aliases),
                     list(same_as or []), list(members or []), list(sponsors or []))


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


def _claim(r: dict) -> ClaimInfo:
    return ClaimInfo(r["key"], r["incident"], r["actor"], r["stance"], r["confidence"], _date(r["date"]),
                     r["source"], r["source_name"], r["source_kind"], r["reliability"],
                     _date(r["incident_first_seen"]), r["incident_name"])


def _claim_order(c: ClaimInfo) -> tuple:
    return (c.incident, c.date or "", c.stance, c.source or "", c.actor, c.key)


# -- expansion: raw graph end points -> weighted evidence items --------------------------------------
@dataclass
class Links:
    parents: dict[str, tuple[str, str | None]] = field(default_factory=dict)   # child -> (parent, name)
    tool_techniques: dict[str, list[tuple[str, str | None, str | None]]] = field(default_factory=dict)


def _expansion(r: RawItem, links: Links, as_of: str | None) -> tuple[list[Item], list[Item]]:
    """What one end point brings: (its own items: itself, an organisation's sectors and
    countries; what it implies: a sub-technique's parent, a tool's known techniques)."""
    own: list[Item] = []
    if r.label == "Tool":
        own.append(make_item("tool", r.key, r.name, r.availability))
    elif r.label == "Technique":
        own.append(make_item("technique", r.key, r.name))
    elif r.label == "Infrastructure":
        own.append(make_item("infrastructure", r.key, r.name))
    elif r.label in VICTIM_KINDS:
        own.append(make_item(VICTIM_KINDS[r.label], r.key, r.name))
        own.extend(make_item("sector", key, name) for key, name in r.sectors)
        own.extend(make_item("country", key, name) for key, name in r.countries)
    implied: list[Item] = []
    if r.label == "Technique" and r.key in links.parents:
        parent, name = links.parents[r.key]
        implied.append(make_item("technique-parent", parent, name))
    if r.label == "Tool":
        for key, name, created in links.tool_techniques.get(r.key, ()):
            if known(created, as_of):
                implied.append(make_item("technique-implied", key, name))
                if key in links.parents:
                    implied.append(make_item("technique-implied", *links.parents[key]))
    return own, implied


def expand(raw: Iterable[RawItem], links: Links, as_of: str | None = None,
           memo: dict | None = None) -> list[Item]:
    """Evidence items of one incident: its tools, techniques (plus each sub-technique's parent,
    weaker), techniques its tools are known to use (weaker still), infrastructure, victim
    organisations and their sectors and countries. Each key appears once, as its strongest kind.
    `memo` (one per links, date and read) keeps each end point's expansion for the next incident."""
    items: dict[str, Item] = {}

    def put(item: Item) -> None:
        old = items.get(item.key)
        if old is None or item.weight > old.weight:
            items[item.key] = item

    memo = {} if memo is None else memo
    parts = []
    for r in raw:
        if as_of is None or (known(r.created, as_of) and known(r.item_created, as_of)):
            part = memo.get((r.label, r.key))
            if part is None:
                part = memo[(r.label, r.key)] = _expansion(r, links, as_of)
            parts.append(part)
    for own, _ in parts:
        for item in own:
            put(item)
    for _, implied in parts:
        for item in implied:
            put(item)
    return sorted(items.values(), key=lambda i: (-i.weight, i.kind, i.key))


def counted(items: Iterable[Item]) -> list[tuple[Item, float]]:
    """One profile source's items with what each counts: 1, a technique only the source's tools
    imply IMPLIED_COUNT (named ones first)."""
    items = list(items)
    return ([(i, 1.0) for i in items if i.kind != "technique-implied"]
            + [(i, IMPLIED_COUNT) for i in items if i.kind == "technique-implied"])


def profile_part(raw: Iterable[RawItem], links: Links, origin: str, as_of: str | None) -> Profile:
    """One source of an actor's profile (its own USES/TARGETS, or one attributed incident):
    each item counts 1, a technique the source's tools imply counts IMPLIED_COUNT if the
    source does not name it itself."""
    p = Profile()
    for item, count in counted(expand(raw, links, as_of)):
        p.add(item.key, count, origin, item.kind)
    return p


def merge(parts: Iterable[Profile]) -> Profile:
    out = Profile()
    for part in parts:
        for key, count in part.counts.items():
            out.counts[key] += count
            out.origins.setdefault(key, set()).update(part.origins.get(key, ()))
            if key in part.families:
                out.families.setdefault(key, part.families[key])
    return out


@dataclass
class Reduced(Profile):
    """A full profile less one incident's part (`Snapshot.profiles(exclude_incident)`)."""

    base: Profile | None = field(default=None, repr=False, compare=False)
    removed: tuple[str, ...] = field(default=(), repr=False, compare=False)   # keys no longer held


def without(full: Profile, part: Profile) -> Reduced:
    """`full` less one of the parts it was merged from: the same profile as merging the other
    parts (counts are sums of 1 and 1/4, exact in floating point; an item's family follows
    from its kind), at the cost of the part instead of all the others. Its origins are the
    caller's to set."""
    counts, families, sizes = Counter(full.counts), dict(full.families), Counter(full.family_sizes)
    removed = []
    for key, count in part.counts.items():
        left = counts[key] - count
        if left > 0:
            counts[key] = left
        else:
            del counts[key]
            family = families.pop(key, None)
            removed.append(key)
            sizes[family or "other"] -= 1
            if not sizes[family or "other"]:
                del sizes[family or "other"]
    return Reduced(counts, {}, families, sizes, base=full, removed=tuple(removed))


@dataclass
class Seen:
    """Where the full profiles' items were seen: the attributed incidents in the order they were
    read (key, name), and per candidate and item the numbers of those holding it."""

    incidents: list[str]
    names: list[str]
    where: dict[str, dict[str, array]]


class _Df(Mapping):
    """A tally's item frequencies with a few changed: what Tally.stats gives after swapping
    profiles, without copying every item's count."""

    def __init__(self, base: Counter, delta: dict[str, int]):
        self.base, self.delta = base, delta

    def __getitem__(self, key: str) -> int:
        return self.base.get(key, 0) + self.delta.get(key, 0)

    def get(self, key: str, default=None):
        if key in self.delta:
            return self.base.get(key, 0) + self.delta[key]
        return self.base.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.base.keys() | self.delta.keys())

    def __len__(self) -> int:
        return len(self.base.keys() | self.delta.keys())


class Origins(Mapping):
    """Item -> where a snapshot profile holds it ("USES", "USES <member>", incident keys), found
    when asked (`Snapshot.origins`): a profile built from a million incidents keeps no sets of
    them. `values()` and `items()` ask for every item at once."""

    def __init__(self, snap: "Snapshot", actor: str, profile: Profile, exclude: str | None = None):
        self.snap, self.actor, self.profile, self.exclude = snap, actor, profile, exclude

    def __getitem__(self, key: str) -> set[str]:
        if key not in self.profile.counts:
            raise KeyError(key)
        return self.snap.origins(self.actor, [key], self.exclude)[0][key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.profile.counts)

    def __len__(self) -> int:
        return len(self.profile.counts)

    def items(self):
        return self.snap.origins(self.actor, list(self.profile.counts), self.exclude)[0].items()

    def values(self):
        return self.snap.origins(self.actor, list(self.profile.counts), self.exclude)[0].values()


# -- where incidents and claims come from --------------------------------------------------------------
class MemorySource:
    """Attributed incidents' items and claims given in memory (tests, callers that build a
    snapshot themselves)."""

    def __init__(self, incident_items: Mapping[str, list[RawItem]], claims: Sequence[ClaimInfo]):
        self.incident_items, self.claims = incident_items, claims

    def incidents(self, consume: Callable[[Iterator[tuple[str, str | None, list[RawItem]]]], object]):
        names = {c.incident: c.incident_name for c in self.claims}
        return consume((k, names.get(k), raw) for k, raw in sorted(self.incident_items.items()))

    def incident(self, key: str) -> list[RawItem]:
        return list(self.incident_items.get(key, ()))

    def all_claims(self) -> list[ClaimInfo]:
        return list(self.claims)

    def claims_about(self, key: str) -> list[ClaimInfo]:
        return [c for c in self.claims if c.incident == key]


class GraphSource:
    """The same, read from the graph when asked: the attributed incidents streamed one row each,
    one incident, the claims about one incident, every claim. `db` is the connection the engine
    was last called with."""

    def __init__(self, db: GraphDB, orgs: dict[str, tuple[tuple, tuple]]):
        self.db, self.orgs = db, orgs

    def incidents(self, consume: Callable[[Iterator[tuple[str, str | None, list[RawItem]]]], object]):
        """consume((key, name, raw items) per attributed incident) inside one read transaction
        (run again from the start if the driver retries it: `consume` keeps its state to itself)."""
        def work(tx):
            rows = tx.run(cypher.ENGINE_ATTRIBUTED_ITEMS)
            return consume((r["owner"], r["name"], [_raw(x, self.orgs) for x in r["items"]]) for r in rows)
        return self.db.execute_read(work)

    def incident(self, key: str) -> list[RawItem]:
        rows = self.db.read(cypher.ENGINE_ATTRIBUTED_INCIDENT, {"key": key})
        return [_raw(x, self.orgs) for x in rows[0]["items"]] if rows else []

    def all_claims(self) -> list[ClaimInfo]:
        def work(tx):
            return [_claim(r) for r in tx.run(cypher.ENGINE_CLAIMS)]
        return self.db.execute_read(work)

    def claims_about(self, key: str) -> list[ClaimInfo]:
        return [_claim(r) for r in self.db.read(cypher.ENGINE_CLAIMS_ABOUT, {"key": key})]


class Lazy:
    """A sequence or mapping read when first used (`load()`), then kept: every claim, every
    attributed incident's items, for callers that want them all (benchmarks on small graphs);
    the engine itself reads neither whole."""

    def __init__(self, load: Callable[[], list | dict]):
        self._load, self._value = load, None

    @property
    def value(self):
        if self._value is None:
            self._value = self._load()
        return self._value

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self):
        return iter(self.value)

    def __getitem__(self, index):
        return self.value[index]

    def __contains__(self, item) -> bool:
        return item in self.value


class LazyClaims(Lazy, Sequence):
    pass


class LazyIncidents(Lazy, Mapping):
    pass


# -- the snapshot -------------------------------------------------------------------------------------
@dataclass
class Snapshot:
    version: tuple
    actors: dict[str, ActorInfo]
    aliases: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]   # alias key -> (spellings, actor keys)
    actor_items: dict[str, list[RawItem]]
    incident_items: Mapping[str, list[RawItem]]   # attributed incidents (from the graph: read when first used)
    claims: Sequence[ClaimInfo]                   # known claims, sorted (from the graph: read when first used)
    links: Links
    orgs: dict[str, tuple[tuple, tuple]] = field(default_factory=dict)
    as_of_date: str | None = None
    source: MemorySource | GraphSource | None = None   # None: the two fields above
    # (actor, incident, claim date, incident first_seen) per attributing claim, as of no date
    attributing: list[tuple[str, str, str | None, str | None]] | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.source is None:
            self.source = MemorySource(self.incident_items, self.claims)
        if self.attributing is None:
            self.attributing = [(c.actor, c.incident, c.date, c.incident_first_seen) for c in self.claims
                                if c.stance == "attributes"]

    @classmethod
    def read(cls, db: GraphDB, version: tuple | None = None) -> "Snapshot":
        def work(tx):
            def rows(q):
                return [r.data() for r in tx.run(q)]
            attributing = [(r["actor"], r["incident"], _date(r["date"]), _date(r["incident_first_seen"]))
                           for r in tx.run(cypher.ENGINE_ATTRIBUTIONS)]
            return (rows(cypher.ENGINE_ACTORS), rows(cypher.ENGINE_ACTOR_ITEMS), rows(cypher.ENGINE_ORGANIZATIONS),
                    rows(cypher.ENGINE_TOOL_TECHNIQUES), rows(cypher.ENGINE_SUBTECHNIQUES), attributing)
        actors_r, actor_items_r, orgs_r, tool_tech_r, subtech_r, attributing = db.execute_read(work)

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
            # a stub another source made for an ID the graph's ATT&CK lacks has no name: its best alias
            name = r["name"] if r["name"] != r["key"] or not names else names[0]
            actors[r["key"]] = ActorInfo(
                r["key"], name, r["kind"], tuple(r["external_ids"]), _date(r["created"]),
                tuple(sorted(set(r["sponsors"]))), tuple(sorted(set(r["state_of"]))),
                tuple(sorted((k, tuple(src), _date(created)) for k, src, created in r["same_as"])), tuple(names),
                tuple(sorted((k, tuple(src), _date(created)) for k, src, created in r.get("member_of") or ())),
                tuple(sorted(set(r.get("motives") or ()))))
        victims: dict[tuple, tuple] = {}    # organisations share few (sectors, countries) pairs: keep one of each
        orgs = {}
        for r in orgs_r:
            pair = (tuple(tuple(x) for x in r["sectors"]), tuple(tuple(x) for x in r["countries"]))
            orgs[r["key"]] = victims.setdefault(pair, pair)
        actor_items = {r["owner"]: [_raw(x, orgs) for x in r["items"]] for r in actor_items_r}
        links = Links()
        for r in subtech_r:
            links.parents[r["child"]] = (r["key"], r["name"])
        for r in tool_tech_r:
            links.tool_techniques[r["tool"]] = [(k, n, _date(c)) for k, n, c in r["techniques"]]
        source = GraphSource(db, orgs)
        claims = LazyClaims(lambda: sorted(source.all_claims(), key=_claim_order))
        incident_items = LazyIncidents(lambda: source.incidents(lambda rows: {k: raw for k, _, raw in rows}))
        return cls(version or (), actors, {k: (sp, tuple(sorted(a))) for k, (sp, a) in aliases.items()},
                   actor_items, incident_items, claims, links, orgs, None, source, attributing)

    # -- time ---------------------------------------------------------------------------------------
    def _known_claim(self, actor: str, date: str | None, first_seen: str | None) -> bool:
        """A claim counts on the snapshot's date if its actor existed, it was made, and its
        incident had been seen by then (without a date: every claim)."""
        return self.as_of_date is None or (actor in self.actors and known(date, self.as_of_date)
                                           and known(first_seen, self.as_of_date))

    def as_of(self, date: str | None) -> "Snapshot":
        """Only what was known on `date`: claims by their date, incidents by first_seen, actors
        and items by `created`, relationships by `created` (else first_seen) where they have one.
        Cached per date."""
        if date is None or date == self.as_of_date:
            return self
        views = self._cache.setdefault("as_of", {})
        if date not in views:
            actors = {k: a for k, a in self.actors.items() if known(a.created, date)}
            view = Snapshot(self.version, actors, self.aliases, self.actor_items, self.incident_items, [],
                            self.links, self.orgs, date, self.source, self.attributing)
            view.claims = LazyClaims(lambda: [c for c in self.claims if view._known_claim(
                c.actor, c.date, c.incident_first_seen)])
            views[date] = view
        return views[date]

    # -- profiles -----------------------------------------------------------------------------------
    def _part(self, origin: str, actor: str | None = None) -> Profile:
        """One profile source: an actor's own USES/TARGETS (actor given; `origin` labels its
        items) or one attributed incident."""
        if actor:
            parts = self._cache.setdefault("own", {})
            if origin not in parts.setdefault(actor, {}):
                part = profile_part(self.actor_items.get(actor, ()), self.links, origin, self.as_of_date)
                for item in self.actors[actor].attributes() if actor in self.actors else ():
                    part.add(item.key, 1.0, origin, item.kind)
                parts[actor][origin] = part
            return parts[actor][origin]
        return self._kept("parts", origin, lambda: profile_part(self.source.incident(origin), self.links, origin,
                                                                 self.as_of_date))

    def _kept(self, name: str, key: str, make: Callable[[], object]):
        with _KEPT_LOCK:    # the app's threads share one snapshot
            kept = self._cache.setdefault(name, OrderedDict())
            if key in kept:
                kept.move_to_end(key)
            else:
                kept[key] = make()
                if len(kept) > KEPT[name]:
                    kept.popitem(last=False)
            return kept[key]

    def attributions(self) -> dict[str, set[str]]:
        """actor -> incidents some (known) claim attributes to it."""
        if "attributions" not in self._cache:
            out: dict[str, set[str]] = defaultdict(set)
            for actor, incident, date, first_seen in self.attributing:
                if self.as_of_date is None or self._known_claim(actor, date, first_seen):
                    out[actor].add(incident)
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
            # a person a source says is a member of a candidate group is weighed through that group
            # (the first such group, by key, if sources name several)
            for key in sorted(candidates):
                if self.actors[key].kind != "person" or key in out:
                    continue
                groups = sorted(out.get(g, g) for g, _sources, date in self.actors[key].member_of
                                if g in candidates and self.actors[g].kind != "person" and known(date, self.as_of_date))
                if groups:
                    out[key] = groups[0]
                    out.setdefault(groups[0], groups[0])
            self._cache["same_group"] = out
        return self._cache["same_group"]

    def hypothesis_actor(self, actor: str) -> Actor:
        """A candidate as a hypothesis: the other nodes of its group, its members and sponsors."""
        others = self.members(actor)[1:]
        return self.actors[actor].actor([k for k in others if self.actors[k].kind != "person"],
                                        self.member_names(actor), self.sponsor_names(actor))

    def member_names(self, actor: str) -> list[str]:
        """The persons weighed through this candidate (MEMBER_OF its group), by name."""
        return sorted(self.actors[k].name for k in self.members(actor)[1:] if self.actors[k].kind == "person")

    def sponsor_names(self, actor: str) -> list[str]:
        """The states that sponsor this candidate, by name (a country without a state actor by its code)."""
        from graph.countries import country_name

        states = {c: self.actors[s].name for s in self.states_of(actor) for c in self.actors[s].state_of}
        return sorted(states.get(c) or country_name(c) or c for c in self.actors[actor].sponsors) \
            if actor in self.actors else []

    def members(self, actor: str) -> list[str]:
        """The actors whose evidence counts for this candidate: itself first, then the others a
        source says are the same group."""
        group = self.same_group()
        return [actor] + sorted(k for k, head in group.items() if head == actor and k != actor)

    def _own(self, actor: str) -> list[tuple[str, Profile]]:
        """(origin, part) of the own USES/TARGETS of the actors a candidate stands for: its own
        labelled "USES", the others' "USES <key>" (so an explanation can say which node each came
        from)."""
        origins = [("USES" if m == actor else f"USES {m}", m) for m in self.members(actor)]
        return [(origin, self._part(origin, m)) for origin, m in origins]

    def _incidents_of(self, actor: str) -> set[str]:
        attributed = self.attributions()
        return set().union(*(attributed.get(m, ()) for m in self.members(actor)))

    def profiles(self, exclude_incident: str | None = None) -> dict[str, Profile]:
        """Each candidate actor's profile (groups and persons with any evidence), never counting
        `exclude_incident` (the incident under study) nor any claim about it. The full profiles
        are built once per snapshot; the incident's own part is taken out of the profiles of the
        candidates it is attributed to (through any member of their group)."""
        full = self._full_profiles()
        if not exclude_incident:
            return {k: p for k, p in full.items() if p.size}
        return dict(self._kept("without", exclude_incident, lambda: self._without(full, exclude_incident)))

    def _without(self, full: dict[str, Profile], incident: str) -> dict[str, Profile]:
        out = dict(full)
        group = self.same_group()
        heads = {group.get(k, k) for k, incidents in self.attributions().items() if incident in incidents}
        for key in sorted(heads & full.keys()):
            out[key] = without(full[key], self._part(incident))
            out[key].origins = Origins(self, key, out[key], incident)
        return {k: p for k, p in out.items() if p.size}

    def _full_profiles(self) -> dict[str, Profile]:
        """Every candidate's own parts merged, then every incident attributed to it folded in as the
        stream of attributed incidents goes by. Where each item was seen is kept compact: per
        candidate and item, the numbers of the incidents (`_seen`)."""
        if "profiles" not in self._cache:
            group = self.same_group()
            heads = [key for key, actor in self.actors.items()
                     if (actor.kind or "group") in CANDIDATE_KINDS and group.get(key, key) == key]
            owners: dict[str, list[str]] = defaultdict(list)
            for head in heads:
                for incident in self._incidents_of(head):
                    owners[incident].append(head)

            def fold(rows: Iterator[tuple[str, str | None, list[RawItem]]]) -> tuple[dict, Seen]:
                out = {head: merge(part for _, part in self._own(head)) for head in heads}
                seen = Seen([], [], {head: defaultdict(lambda: array("I")) for head in heads})
                memo: dict = {}
                for incident, name, raw in rows:
                    targets = [(out[h], seen.where[h]) for h in owners.get(incident, ())]
                    if not targets:
                        continue
                    number = len(seen.incidents)
                    seen.incidents.append(incident)
                    seen.names.append(name or incident)
                    for item, count in counted(expand(raw, self.links, self.as_of_date, memo)):
                        family = FAMILIES.get(item.kind, item.kind)
                        for p, where in targets:
                            p.counts[item.key] += count
                            p.families.setdefault(item.key, family)
                            where[item.key].append(number)
                return out, seen
            profiles, self._cache["seen"] = self.source.incidents(fold)
            for head, p in profiles.items():
                p.origins = Origins(self, head, p)
            self._cache["profiles"] = profiles
        return self._cache["profiles"]

    def origins(self, actor: str, keys: Iterable[str], exclude: str | None = None
                ) -> tuple[dict[str, set[str]], dict[str, str]]:
        """({item: where this candidate's full profile holds it}, {incident: its name}) for `keys`:
        "USES" (its own USES/TARGETS), "USES <key>" (another node of its group), or the key of an
        attributed incident (never `exclude`) whose evidence holds it."""
        keys = set(keys)
        out: dict[str, set[str]] = {k: set() for k in keys}
        for origin, part in self._own(actor):
            for key in keys & part.counts.keys():
                out[key].add(origin)
        self._full_profiles()
        seen: Seen = self._cache["seen"]
        where = seen.where.get(actor, {})
        names: dict[str, str] = {}
        for key in keys:
            for number in where.get(key, ()):
                incident = seen.incidents[number]
                if incident != exclude:
                    out[key].add(incident)
                    names[incident] = seen.names[number]
        return {k: v for k, v in out.items() if v}, names

    def stats(self, profiles: dict[str, Profile]) -> Stats:
        """Stats.of(profiles) for profiles this snapshot gave out: from a tally of the full
        profiles, kept per snapshot, with the few that differ swapped (their differences only:
        the integer sums come out the same)."""
        full = self._full_profiles()
        if "tally" not in self._cache:
            self._cache["tally"] = Tally()
            for p in full.values():
                self._cache["tally"].add(p)
        base = self._cache["tally"]
        # a person weighed through his group is still one of the actors the evidence could have come
        # from: N counts him (the group's items are not diluted: df counts the group's profile once)
        persons = sum(1 for k, head in self.same_group().items()
                      if k != head and self.actors[k].kind == "person" and self._part("USES", k).size)
        n, df, totals, holders = base.n + persons, {}, base.totals.copy(), base.holders.copy()
        for key, p in full.items():
            q = profiles.get(key)
            if q is p:
                continue
            q = q if q is not None and q.size else Profile()
            if isinstance(q, Reduced) and q.base is p:
                gone, new = q.removed, ()
            else:
                gone, new = p.counts.keys() - q.counts.keys(), q.counts.keys() - p.counts.keys()
            for k in gone:
                df[k] = df.get(k, 0) - 1
            for k in new:
                df[k] = df.get(k, 0) + 1
            for sign, r in ((-1, p), (1, q)):
                if r.size:
                    n += sign
                    for family, size in r.family_sizes.items():
                        totals[family] += sign * size
                        holders[family] += sign
        return Stats(n, _Df(base.df, df), {f: totals[f] / holders[f] for f in totals if holders[f]})

    # -- claims and actors ---------------------------------------------------------------------------
    def claims_about(self, incident: str) -> list[ClaimInfo]:
        """The claims about one incident known on the snapshot's date, in the snapshot's order."""
        return sorted((c for c in self.source.claims_about(incident)
                       if self._known_claim(c.actor, c.date, c.incident_first_seen)), key=_claim_order)

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
    items = expand(raw, snap.links, as_of)
    return IncidentEvidence(r["key"], r["name"], list(r["external_ids"]), _date(r["first_seen"]),
                            _date(r["last_seen"]), items + hint_items(r.get("hints") or ()))


def hint_items(hints: Iterable[str]) -> list[Item]:
    """An incident's origin and motive hints ("origin:PK<TAB>the sentence that gave it", the
    record's `hints`) as evidence items about what the actor is, each named with its sentence."""
    from graph.countries import country_name

    out: dict[str, Item] = {}
    for hint in sorted(hints):
        key, _, text = str(hint).partition("\t")
        kind, _, value = key.partition(":")
        if kind not in ("origin", "motive") or not value or key in out:
            continue
        what = ("a state sponsor" if value == "state" else country_name(value) or value) if kind == "origin" else value
        said = f' (the report: "{text.strip()}")' if text.strip() else ""
        out[key] = make_item(kind, key, f"{kind} {what}{said}")
    return list(out.values())


def incident_claims(db: GraphDB, key: str) -> list[ClaimInfo]:
    return [ClaimInfo(r["key"], r["incident"], r["actor"], r["stance"], r["confidence"], _date(r["date"]),
                      r["source"], r["source_name"], r["source_kind"], r["reliability"],
                      statement=r["statement"], url=r["url"])
            for r in db.read(cypher.ENGINE_INCIDENT_CLAIMS, {"key": key})]
