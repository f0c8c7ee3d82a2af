"""Techniques on the ATT&CK matrix: what an incident and an actor share, or which of several actors
use which technique. The one place behind the Navigator layer (app/exports/navigator.py) and the
app's matrix view (app/web/matrix_view.py).

    incident_vs_actor(db, incident, actor)  each of the incident's techniques "shared" (the actor's
                                            profile has it) or "incident" (it has not), scored by
                                            its contribution to the actor's hypothesis (engine,
                                            blind); the actor's other techniques "actor", unscored
    compare_actors(db, actors)              each technique any of them uses: score = how many

An actor's techniques are its profile's (graph/analysis/evidence.py): its own USES plus the incidents
attributed to it, never the incident under study; a sub-technique also counts for its parent;
techniques only implied by the tools an actor or incident uses are left out of the matrix.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from graph import cypher
from graph.analysis import engine
from graph.analysis.resolve import resolve_actor
from graph.analysis.scoring import Actor, Hypothesis, Profile
from graph.model import TECHNIQUE_ID
from graph.reads.subgraph import SubNode, Subgraph
from graph.store.db import GraphDB

# Tactic columns in ATT&CK's order (the x-mitre-matrix tactic_refs of ATT&CK v15.1).
TACTICS: dict[str, list[tuple[str, str]]] = {
    "enterprise-attack": [(t, t.replace("-", " ").title().replace(" And ", " and ")) for t in (
        "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
        "privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement",
        "collection", "command-and-control", "exfiltration", "impact")],
    "ics-attack": [(t, t.replace("-", " ").title().replace(" And ", " and ")) for t in (
        "initial-access", "execution", "persistence", "privilege-escalation", "evasion", "discovery",
        "lateral-movement", "collection", "command-and-control", "inhibit-response-function",
        "impair-process-control", "impact")],
}
STATUSES = {"shared": "in the incident and the actor's profile",
            "incident": "in the incident only",
            "actor": "in the actor's profile only"}


@dataclass
class Cell:
    id: str                     # T1566.001
    name: str
    tactics: list[str]
    parent: str | None          # T1566 for a sub-technique
    status: str                 # shared / incident / actor; "actors" in a comparison
    score: float | None         # contribution to the hypothesis, or how many actors use it
    evidence: list[str] = field(default_factory=list)   # lines for a tooltip or a comment
    users: list[str] = field(default_factory=list)      # comparison: the actors using it

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "tactics": self.tactics, "parent": self.parent,
                "status": self.status, "score": self.score, "evidence": self.evidence, "users": self.users}


@dataclass
class TechniqueMatrix:
    title: str
    mode: str                           # "incident" (incident vs actor) or "actors" (comparison)
    domain: str                         # enterprise-attack / ics-attack
    attack_version: str | None          # the ATT&CK release the techniques were loaded from
    cells: dict[str, Cell]              # by technique ID, only what is marked
    names: dict[str, str]               # technique ID -> name, including unmarked parents
    incident: tuple[str, str] | None = None       # (key, name)
    actors: list[tuple[str, str]] = field(default_factory=list)
    score: float | None = None          # the hypothesis' technique total (incident mode)
    left_out: list[str] = field(default_factory=list)   # techniques without an ATT&CK ID or tactic

    def only(self, statuses: set[str]) -> "TechniqueMatrix":
        """The same matrix with only the cells of these statuses (e.g. the incident's)."""
        return replace(self, cells={k: c for k, c in self.cells.items() if c.status in statuses})

    def tactics(self) -> list[tuple[str, str]]:
        """(shortname, name) columns: the domain's in ATT&CK order, then any others met."""
        known = TACTICS.get(self.domain, [])
        names = {t for t, _ in known}
        extra = sorted({t for c in self.cells.values() for t in c.tactics} - names)
        return known + [(t, t.replace("-", " ").title()) for t in extra]

    def columns(self) -> list[tuple[str, str, list[tuple[str, Cell | None, list[Cell]]]]]:
        """For drawing: each tactic with its techniques (ID, the cell or None for a parent only
        its sub-techniques mark, the marked sub-techniques), ordered by ID."""
        out = []
        for tactic, title in self.tactics():
            rows: dict[str, list[Cell]] = {}
            for cell in self.cells.values():
                if tactic in cell.tactics:
                    rows.setdefault(cell.parent or cell.id, [])
                    if cell.parent:
                        rows[cell.parent].append(cell)
            if rows:
                out.append((tactic, title, [(tid, self.cells.get(tid), sorted(subs, key=lambda c: c.id))
                                            for tid, subs in sorted(rows.items())]))
        return out

    def to_dict(self) -> dict:
        return {"title": self.title, "mode": self.mode, "domain": self.domain,
                "attack_version": self.attack_version,
                "incident": {"key": self.incident[0], "name": self.incident[1]} if self.incident else None,
                "actors": [{"key": k, "name": n} for k, n in self.actors], "score": self.score,
                "cells": [c.to_dict() for c in sorted(self.cells.values(), key=lambda c: c.id)],
                "left_out": self.left_out}


def _technique_keys(profile: Profile) -> list[str]:
    # counts of 1 or more: named by a source, not only implied by tools (those count 1/4)
    return [k for k, n in profile.counts.items() if profile.families.get(k) == "technique" and n >= 1]


def _seen(snap, actor_key: str, name: str, exclude: str | None) -> dict[str, list[str]]:
    return engine.origin_names(snap, Hypothesis(Actor(actor_key, name)), exclude)


def _build(db: GraphDB, title: str, mode: str, marks: dict[str, dict], **extra) -> TechniqueMatrix:
    """Read the marked techniques' names, tactics and parents, and make the cells."""
    keys = sorted(marks)
    rows = {r["key"]: r for r in db.read(cypher.MATRIX_TECHNIQUES, {"keys": keys})}
    names: dict[str, str] = {}
    cells: dict[str, Cell] = {}
    left_out = []
    for key in keys:
        r = rows.get(key)
        if r is None or not TECHNIQUE_ID.match(key) or not (r["tactics"] or r["parent_tactics"]):
            left_out.append(key)
            continue
        names[key] = r["name"]
        if r["parent"]:
            names[r["parent"]] = r["parent_name"]
        cells[key] = Cell(key, r["name"], list(r["tactics"] or r["parent_tactics"]), r["parent"], **marks[key])
    domains = Counter(r["domain"] or ("ics-attack" if k.startswith("T0") else "enterprise-attack")
                      for k, r in rows.items() if k in cells)
    domain = domains.most_common(1)[0][0] if domains else "enterprise-attack"
    versions = Counter(r["attack_version"] for k, r in rows.items()
                       if k in cells and r["attack_version"] and (r["domain"] or domain) == domain)
    version = max(versions, key=lambda v: (versions[v], tuple(int(x) for x in v.split(".") if x.isdigit()))) \
        if versions else None
    return TechniqueMatrix(title, mode, domain, version, cells, names, left_out=left_out, **extra)


def incident_vs_actor(db: GraphDB, incident: str, actor: str, as_of: str | None = None) -> TechniqueMatrix:
    """The incident's techniques against one actor's profile (see the module docstring)."""
    result = engine.hypotheses(db, incident, blind=True, as_of=as_of, top=0)
    ev = result.incident
    actor_key = resolve_actor(db, actor)
    snap = engine.snapshot(db, engine.normalise_as_of(as_of))
    info = snap.actors.get(actor_key)
    actor_name = info.name if info else actor_key
    hyp = result.get(actor_key)
    profile = snap.profiles(exclude_incident=ev.key).get(actor_key, Profile())
    seen = _seen(snap, actor_key, actor_name, ev.key)
    marks: dict[str, dict] = {}
    total = 0.0
    for item in ev.items:
        if item.kind not in ("technique", "technique-parent"):
            continue
        c = hyp.contribution(item.key) if hyp else None
        shared = bool(c and c.matched)
        score = round(c.contribution, 3) if c else None
        total += c.contribution if c else 0.0
        lines = ["the incident used it" if item.kind == "technique"
                 else "the incident used one of its sub-techniques"]
        if shared:
            lines += [f"{actor_name}: {s}" for s in seen.get(item.key, [])] + [c.detail]
        else:
            lines.append(f"not in {actor_name}'s profile")
        if c is not None:
            lines.append(f"contribution {c.contribution:+.3f} (weight {c.weight:g})")
        marks[item.key] = {"status": "shared" if shared else "incident", "score": score, "evidence": lines}
    for key in _technique_keys(profile):
        if key not in marks:
            marks[key] = {"status": "actor", "score": None,
                          "evidence": [f"{actor_name}: {s}" for s in seen.get(key, [])]
                          + ["not seen in the incident"]}
    title = f"{ev.name} vs {actor_name}"
    return _build(db, title, "incident", marks, incident=(ev.key, ev.name), actors=[(actor_key, actor_name)],
                  score=round(total, 3) if hyp else None)


def compare_actors(db: GraphDB, actors: list[str], as_of: str | None = None) -> TechniqueMatrix:
    """Each technique any of the actors uses; score = how many of them use it."""
    snap = engine.snapshot(db, engine.normalise_as_of(as_of))
    profiles = snap.profiles()
    chosen: list[tuple[str, str]] = []
    for name in actors:
        key = resolve_actor(db, name)
        if key not in dict(chosen):
            info = snap.actors.get(key)
            chosen.append((key, info.name if info else key))
    users: dict[str, list[str]] = {}
    lines: dict[str, list[str]] = {}
    for key, name in chosen:
        seen = _seen(snap, key, name, None)
        for tech in _technique_keys(profiles.get(key, Profile())):
            users.setdefault(tech, []).append(name)
            lines.setdefault(tech, []).extend(f"{name}: {s}" for s in seen.get(tech, []))
    marks = {t: {"status": "actors", "score": float(len(u)), "users": u, "evidence": lines[t]}
             for t, u in users.items()}
    title = "Techniques of " + ", ".join(n for _, n in chosen)
    return _build(db, title, "actors", marks, actors=chosen)


def actors_subgraph(db: GraphDB, actors: list[str]) -> Subgraph:
    """The actors of a comparison as the subgraph an export is given (`attrib export --actors`)."""
    snap = engine.snapshot(db)
    keys = list(dict.fromkeys(resolve_actor(db, name) for name in actors))
    names = {k: snap.actors[k].name if k in snap.actors else k for k in keys}
    return Subgraph([SubNode(k, "Actor", k, names[k]) for k in keys], title=", ".join(names.values()))
