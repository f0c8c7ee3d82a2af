"""The attribution engine's API (the CLI and the Streamlit app call these):

    find_incident(db, text)                          -> IncidentRef      key, external ID or unambiguous name
    hypotheses(db, incident, blind, as_of, top)      -> HypothesesResult ranked actors + the unknown actor
    explain(db, incident, actor=None, as_of=None)    -> Explanation      each claim: supports / weakens
    ach_matrix(db, incident, actors, blind, top)     -> AchMatrix        evidence rows x hypothesis columns
    clear_cache()                                    after changing properties without adding/removing anything

All results are dataclasses with `to_dict()`. The actors' side of the graph, with every
candidate's full profile, is read once per graph state (node and relationship counts are the
change signal) and cached per database; each call then reads only the incident (its evidence,
its claims) and scores in Python.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from graph.analysis import scoring
from graph.analysis.resolve import resolve_actor
from graph.dates import normalise_date
from graph.errors import AttribError, NotFound
from graph.store.db import GraphDB
from graph.analysis.evidence import (CANDIDATE_KINDS, ClaimInfo, IncidentEvidence, Snapshot, incident_claims,
                            incident_evidence, read_version)
from graph.analysis.scoring import (Actor, ClaimAssessment, Contribution, Hypothesis, Point, Profile, Unknown, ach_rows,
                           assess_claim, claim_contribution, rank_hypotheses)

_CACHE: dict[tuple, tuple[tuple, float, float, Snapshot]] = {}
_LOCK = threading.Lock()
# Node and relationship counts catch every load that adds something; a change that keeps both
# counts (a property edited in place, a reset and a load of exactly as many rows) is caught
# by clear_cache() or, at the latest, after this many seconds, or after KEEP_FACTOR times as
# long as the snapshot took to build if that is longer (a million incidents take a minute or
# two: rebuilding them every five minutes on an unchanged graph would cost more than it catches).
CACHE_SECONDS = 300.0
KEEP_FACTOR = 100
DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def snapshot(db: GraphDB, as_of: str | None = None) -> Snapshot:
    """The actors' side of the graph with every candidate's full profile (cached while the
    graph's node and relationship counts stay the same), as known on `as_of`."""
    version = read_version(db)
    where = (db.uri, db.database)
    now = time.monotonic()
    with _LOCK:
        cached = _CACHE.get(where)
    if cached is None or cached[0] != version or now - cached[1] > max(CACHE_SECONDS, KEEP_FACTOR * cached[2]):
        snap = Snapshot.read(db, version)
        snap.stats(snap.profiles())     # the full profiles and their tally: here, not in the first call
        with _LOCK:
            _CACHE[where] = (version, now, time.monotonic() - now, snap)
    else:
        snap = cached[3]
        snap.source.db = db     # what it reads when asked (origins, claims) goes through a live connection
    return snap.as_of(as_of)


def normalise_as_of(as_of: str | None) -> str | None:
    """'2020' -> '2020-12-31', '2020-02' -> '2020-02-29': a partial date means its end, so
    "as of 2020" includes everything dated in 2020."""
    if as_of is None or as_of == "":
        return None
    text = str(as_of).strip()
    date = normalise_date(text, end=True) if DATE.match(text) else None
    if date is None:
        raise AttribError(f"--as-of '{as_of}' is not a date", hint="use YYYY, YYYY-MM or YYYY-MM-DD")
    return date


# -- incidents ---------------------------------------------------------------------------------------
@dataclass
class IncidentRef:
    key: str
    name: str

    def to_dict(self) -> dict:
        return {"key": self.key, "name": self.name}


def find_incident(db: GraphDB, text: str) -> IncidentRef:
    """An incident by key, external ID (C0022) or an unambiguous piece of its name; NotFound
    (listing the candidates) if nothing or several match."""
    from graph.reads.subgraph import resolve_incident

    row = resolve_incident(db, text)
    return IncidentRef(row["key"], row["name"] or row["key"])


def _evidence(db: GraphDB, snap: Snapshot, incident: str) -> IncidentEvidence:
    ref = find_incident(db, incident)
    ev = incident_evidence(db, ref.key, snap, snap.as_of_date)
    if ev is None:
        raise NotFound(f"incident '{ref.key}' disappeared while reading it")
    if snap.as_of_date and ev.first_seen and ev.first_seen > snap.as_of_date:
        raise NotFound(f"'{ev.name}' was first seen {ev.first_seen}, after {snap.as_of_date}",
                       hint="choose a later --as-of date")
    return ev


# -- hypotheses --------------------------------------------------------------------------------------
@dataclass
class HypothesesResult:
    incident: IncidentEvidence
    ranking: list[Hypothesis]          # every candidate, best first
    unknown: Unknown
    blind: bool
    as_of: str | None
    top: int = 10
    claims: list[ClaimInfo] = field(default_factory=list)   # the claims about the incident that were used

    @property
    def hypotheses(self) -> list[Hypothesis]:
        return self.ranking[:self.top]

    def rank(self, actor_key: str) -> int | None:
        for h in self.ranking:
            if h.actor.key == actor_key:
                return h.rank
        return None

    def get(self, actor_key: str) -> Hypothesis | None:
        for h in self.ranking:
            if h.actor.key == actor_key:
                return h
        return None

    @property
    def headline(self) -> str:
        """'Lazarus Group 62%, an unknown actor 21%'."""
        return scoring.headline(self.ranking, self.unknown)

    def to_dict(self) -> dict:
        """The shown hypotheses, the unknown actor and `others` (the candidates not shown):
        their probabilities sum to 1."""
        rest = self.ranking[len(self.hypotheses):]
        return {"incident": {"key": self.incident.key, "name": self.incident.name},
                "blind": self.blind, "as_of": self.as_of, "candidates": len(self.ranking),
                "headline": self.headline,
                "hypotheses": [h.to_dict() for h in self.hypotheses],
                "unknown": self.unknown.to_dict(),
                "others": {"count": len(rest), "probability": sum(h.probability for h in rest)}}


def _claim_targets(snap: Snapshot, actor_key: str, candidates: set[str], fallback: bool = False) -> list[str]:
    """The candidates a claim naming this actor is weighed through: a state through the groups
    it sponsors; a group or person through itself; a person the graph knows nothing about
    through the candidates its sponsor sponsors. With `fallback`, a group or person without a
    profile still stands for itself (it is then scored on the claims alone)."""
    actor = snap.actors.get(actor_key)
    if actor is None:
        return []
    if actor.kind == "state":
        return sorted({snap.same_group().get(k, k) for k in snap.sponsored(actor_key)} & candidates)
    head = snap.same_group().get(actor_key, actor_key)
    if head in candidates:
        return [head]
    if actor.kind == "person":
        sponsored = sorted({k for s in snap.states_of(actor_key) for k in snap.sponsored(s)
                            if k in candidates and k != actor_key})
        if sponsored:
            return sponsored
    return [actor_key] if fallback and (actor.kind or "group") in CANDIDATE_KINDS else []


def _claim_items(snap: Snapshot, claims: list[ClaimInfo], candidates: set[str]) -> dict[str, list[Contribution]]:
    out: dict[str, list[Contribution]] = {}
    for c in claims:
        weight, value = claim_contribution(c.stance, c.reliability, c.confidence)
        named = snap.actors[c.actor].name if c.actor in snap.actors else c.actor
        text = f"{c.source_name or c.source} {scoring.STANCE_VERBS.get(c.stance, c.stance)} {named} ({c.date})"
        for target in _claim_targets(snap, c.actor, candidates, fallback=True):
            out.setdefault(target, []).append(Contribution("claim", c.key, text, weight, value, True))
    return out


def rank(snap: Snapshot, evidence: IncidentEvidence, claims: list[ClaimInfo] | None = None,
         leave_out: set[str] | frozenset = frozenset()) -> tuple[list[Hypothesis], Unknown]:
    """Score every candidate for this evidence (profiles never count the incident itself).
    Outside blind mode an actor a claim names is a hypothesis even without a profile.
    `leave_out`: actors removed from the candidates (the open-set benchmark)."""
    profiles = snap.profiles(exclude_incident=evidence.key)
    for key in leave_out:
        profiles.pop(key, None)
    extra = _claim_items(snap, claims, set(profiles)) if claims else None
    for key in extra or {}:
        profiles.setdefault(key, Profile())
    actors = {k: snap.hypothesis_actor(k) for k in profiles}
    return rank_hypotheses(evidence.items, profiles, actors, extra, stats=snap.stats(profiles))


def hypotheses(db: GraphDB, incident: str, blind: bool = False, as_of: str | None = None,
               top: int = 10) -> HypothesesResult:
    """Ranked hypotheses for an incident. Blind: structured evidence only, no claim about the
    incident. Otherwise the claims about it are items too (weighted by source reliability and
    stated confidence; a claim naming a state counts for the groups it sponsors)."""
    as_of = normalise_as_of(as_of)
    snap = snapshot(db, as_of)
    ev = _evidence(db, snap, incident)
    claims = [] if blind else snap.claims_about(ev.key)
    ranking, unknown = rank(snap, ev, claims)
    return HypothesesResult(ev, ranking, unknown, blind, as_of, max(0, top), claims)


# -- explain -----------------------------------------------------------------------------------------
@dataclass
class Explanation:
    incident: IncidentEvidence
    blind: HypothesesResult
    assessments: list[ClaimAssessment]
    hypothetical: ClaimAssessment | None = None     # --actor that no claim names
    alternatives: int = 5

    def to_dict(self) -> dict:
        return {"incident": self.incident.to_dict(),
                "claims": [a.to_dict() for a in self.assessments],
                "hypothetical": self.hypothetical.to_dict() if self.hypothetical else None,
                "headline": self.blind.headline,
                "alternatives": [{"rank": h.rank, "actor": h.actor.to_dict(), "aliases": h.actor.aliases[:5],
                                  "score": round(h.score, 4), "probability": h.probability, "verdict": h.verdict}
                                 for h in self.blind.ranking[:self.alternatives]],
                "unknown": self.blind.unknown.to_dict(),
                "candidates": len(self.blind.ranking)}


def family(snap: Snapshot, actor_key: str) -> set[str]:
    """The actor, the states that sponsor it (or, for a state, itself), the groups those states
    sponsor, and the actors a source says it is the same as (and the rest of their group)."""
    group = snap.same_group()
    out = {actor_key} | {k for k, head in group.items() if head == group.get(actor_key)}
    states = set(snap.states_of(actor_key))
    actor = snap.actors.get(actor_key)
    if actor and actor.kind == "state":
        states.add(actor_key)
    for s in states:
        out.add(s)
        out.update(snap.sponsored(s))
    if actor:
        out.update(k for k, *_ in actor.same_as)
    return out


class OriginNames(Mapping):
    """Item -> where a hypothesis's profile holds it: "known to use or target it", "seen in
    <incident>"; for evidence recorded on another node of the same group (SAME_AS), which node:
    "recorded on HIDDEN COBRA (misp:...), the same group per src:...". Each item's list is made
    when asked for (an explanation shows a few; a big actor's profile holds many thousands)."""

    def __init__(self, snap: Snapshot, actor: str, profile: Profile, exclude: str):
        self.snap, self.actor, self.profile, self.exclude = snap, actor, profile, exclude

    def __iter__(self) -> Iterator[str]:
        return iter(self.profile.counts)

    def __len__(self) -> int:
        return len(self.profile.counts)

    def __getitem__(self, key: str) -> list[str]:
        if key not in self.profile.counts:
            raise KeyError(key)
        snap, actor = self.snap, self.actor
        found, names = snap.origins(actor, [key], self.exclude)
        origins = found.get(key, set())
        attributed = snap.attributions()
        others = snap.members(actor)[1:]

        def node(key: str) -> str:
            info = snap.actors[key]
            member = sorted({s for group, srcs, _ in info.member_of for s in srcs
                             if snap.same_group().get(group, group) == actor})
            if info.kind == "person" and snap.same_group().get(key) == actor:
                return f"{info.name} ({key}, a member per {', '.join(member) or 'a source'})"
            sources = sorted({s for other, srcs, _ in info.same_as for s in srcs
                              if snap.same_group().get(other) == actor})
            per = f", the same group per {', '.join(sources)}" if sources else ", the same group per a source"
            return f"{info.name} ({key}{per})"

        def seen(incident: str) -> str:
            via = [m for m in others if incident in attributed.get(m, ()) and incident not in
                   attributed.get(actor, ())]
            return f"seen in {names.get(incident, incident)}" + (f", attributed to {node(via[0])}" if via else "")

        shown = sorted(seen(o) for o in origins if not o.startswith("USES"))
        shown[:0] = [f"recorded on {node(o[5:])}: known to use or target it" for o in sorted(origins)
                     if o.startswith("USES ")]
        if "USES" in origins:
            shown.insert(0, "known to use or target it")
        return shown


def origin_names(snap: Snapshot, hyp: Hypothesis | None, exclude: str) -> Mapping[str, list[str]]:
    """Item -> where the hypothesis's profile holds it (OriginNames); empty without a profile."""
    profile = snap.profiles(exclude_incident=exclude).get(hyp.actor.key) if hyp is not None else None
    return {} if profile is None else OriginNames(snap, hyp.actor.key, profile, exclude)


def _assess(snap: Snapshot, result: HypothesesResult, claim: ClaimInfo, others: list[ClaimInfo],
            hypothetical: bool = False) -> ClaimAssessment:
    candidates = {h.actor.key for h in result.ranking}
    targets = [result.get(k) for k in _claim_targets(snap, claim.actor, candidates)]
    targets = sorted((t for t in targets if t is not None), key=lambda h: h.rank)
    info = snap.actors.get(claim.actor)
    actor = info.actor() if info else Actor(claim.actor, claim.actor)
    names = {k: a.name for k, a in snap.actors.items()}
    ambiguous = snap.ambiguous_aliases(claim.actor)
    origins = origin_names(snap, targets[0] if targets else None, result.incident.key)
    assessment = assess_claim(claim, actor, targets, result.ranking, others, family(snap, claim.actor), names,
                              ambiguous, origins, result.unknown)
    if hypothetical:
        assessment.supports = [p for p in assessment.supports if p.kind not in ("source", "confidence")]
        assessment.weakens = [p for p in assessment.weakens if p.kind not in ("source", "confidence")]
    return assessment


def explain(db: GraphDB, incident: str, actor: str | None = None, as_of: str | None = None) -> Explanation:
    """Every claim about the incident (or those that concern `actor`): its source and stance,
    the blind rank of the actor it names, and what supports and weakens it. With `actor` that
    no claim names, the actor is assessed as a hypothesis."""
    as_of = normalise_as_of(as_of)
    snap = snapshot(db, as_of)
    ev = _evidence(db, snap, incident)
    ranking, unknown = rank(snap, ev)
    result = HypothesesResult(ev, ranking, unknown, True, as_of)
    known = {c.key for c in snap.claims_about(ev.key)}
    order = {"attributes": 0, "disputes": 1, "denies": 2}
    claims = sorted((c for c in incident_claims(db, ev.key) if c.key in known),
                    key=lambda c: (c.date or "", order.get(c.stance, 3), c.source_name or "", c.actor))
    selected = claims
    hypothetical = None
    if actor:
        actor_key = resolve_actor(db, actor)
        fam = family(snap, actor_key)
        selected = [c for c in claims if c.actor in fam]
        if not any(c.actor == actor_key for c in selected):
            probe = ClaimInfo("hypothesis", ev.key, actor_key, "attributes", None, None, None, None, None, None)
            hypothetical = _assess(snap, result, probe, claims, hypothetical=True)
    return Explanation(ev, result, [_assess(snap, result, c, claims) for c in selected], hypothetical)


# -- ACH ---------------------------------------------------------------------------------------------
@dataclass
class AchMatrix:
    incident: IncidentRef
    hypotheses: list[Hypothesis]
    unknown: Unknown
    rows: list[dict]
    blind: bool

    def to_dict(self) -> dict:
        return {"incident": self.incident.to_dict(), "blind": self.blind,
                "hypotheses": [{"actor": h.actor.to_dict(), "rank": h.rank, "score": round(h.score, 4),
                                "probability": h.probability, "verdict": h.verdict} for h in self.hypotheses]
                + [{"actor": {"key": "unknown", "name": "an unknown actor", "external_ids": []},
                    "rank": None, "score": 0.0, "probability": self.unknown.probability,
                    "verdict": self.unknown.verdict}],
                "rows": self.rows}


def ach_matrix(db: GraphDB, incident: str, actors: list[str] | None = None, blind: bool = True,
               top: int = 5, as_of: str | None = None) -> AchMatrix:
    """Evidence rows x hypothesis columns (the top `top` hypotheses, plus `actors` by key or
    name, plus the unknown actor); each cell consistent / inconsistent / neutral with its value."""
    result = hypotheses(db, incident, blind=blind, as_of=as_of, top=top)
    chosen = list(result.hypotheses)
    for name in actors or []:
        key = name if result.get(name) else resolve_actor(db, name)
        h = result.get(key)
        if h is not None and h not in chosen:
            chosen.append(h)
    return AchMatrix(IncidentRef(result.incident.key, result.incident.name), chosen, result.unknown,
                     ach_rows(chosen), blind)


__all__ = ["find_incident", "hypotheses", "explain", "ach_matrix", "clear_cache", "snapshot", "IncidentRef",
           "HypothesesResult", "Explanation", "AchMatrix", "ClaimAssessment", "Point", "CANDIDATE_KINDS"]
