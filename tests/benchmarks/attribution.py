"""Benchmark: blind attribution of ATT&CK campaigns through the real graph, against two baselines.

1. Loads MITRE ATT&CK Enterprise v15.1 into an empty database through the project's loader
   (app.ingest.load_paths, exactly as `attrib load`).
2. For every campaign with an `attributed-to` group (a Claim stated by src:mitre-attack), runs
   `graph.analysis.engine.hypotheses(db, campaign, blind=True)`: the claim about the campaign is ignored
   and the campaign is never part of any profile, so the group is ranked from its other
   evidence only (its own USES, and other campaigns attributed to it). Reports top-1/3/5, MRR,
   and latency p50/p95 per incident (warm; the first call, which reads the actors' side of
   the graph, is reported as `cold_ms`).
3. Computes on the same cases, from the same profiles, the two reference baselines: plain
   Jaccard similarity and inverse-frequency weighted overlap of techniques and software.
4. Validation beyond these 12 campaigns (the engine's method was chosen on principle and on
   these, not on the 12):
   - reports: leave-one-report-out. ATT&CK cites a report for every group -> technique/software
     link; each (group, report) with at least 6 items becomes a pseudo-incident, and the group's
     profile loses every item only that report cites.
   - pseudo: incidents sampled from group profiles with a fixed seed (5-30 items, at most 60 %
     of the group's known techniques and software; half of them hidden from the group's profile
     as if new; plus 0-5 random items as noise).
   - ics: ATT&CK ICS v15.1 loaded alone (after the Enterprise run), its campaigns with an
     attributed group run the same way (skip with --no-ics).

With --forward (instead of the pseudo and ICS validation), forward in time inside v15.1: for
each cut (2021-10-01, tuned on with leave one report out; 2022-10-01 and 2023-04-01, test)
the profiles are what ATT&CK had created before the cut (`Snapshot.as_of`, the engine's own
scoring through `graph.analysis.engine.rank`), and the cases what came after: campaigns created after
it, and reports published after it. A report's publication date is its citation's own date
("Kaspersky. (2016, February 24). ...": year, month and day where given, the earliest day it
can mean; citations without a parseable date are left out); a report is a case when the `uses`
relationships citing it concern one group, with >= 4 techniques/software, its items a
pseudo-incident. A relationship created after the cut is unknown at the cut and not in the
profiles; an older one that a later report re-confirms was known and stays (ATT&CK adds new
citations to old relationships, whose `created` stays old). Cases whose group ATT&CK added
after the cut are open set cases (the unknown actor is right). Per cut: top-1/5 and MRR with
the inverse-frequency and Jaccard baselines, a reliability table, ECE, Brier and log loss of the
probabilities, and the open set (each present case again with its group removed), for the
open-set model in use (graph/analysis/scoring.py OPEN_SET) and the first pass's constant unknown actor
beside it, with the bound any open-set model that reads only the ranking has (`open_set`) and
what moving the model's intercept trades (`trade`). The open-set model is refitted on leave
one report out (closed cases plus each with its group removed) and printed, with its figures on
leave one report out and the tuning cut only.

With --reports, end to end on real reports instead (tests/benchmarks/attribution_reports.py):
AnnoCTR reports with their group's names masked, drafted, loaded and ranked blind, held out by
document, beside the engine on ATT&CK-only evidence and inverse frequency.

The last line printed is one JSON object. It deletes everything in the database it runs
against: by default the local test instance (ATTRIB_TEST_INSTANCE, started if needed and
stopped again); with NEO4J_URI set it refuses a non-empty database unless
ATTRIB_TEST_ALLOW_RESET=1.

    ATTRIB_TEST_INSTANCE=test python tests/benchmarks/attribution.py [--reuse] [--no-ics] [--forward] [--reports]
"""
from __future__ import annotations

import argparse
import datetime
import gzip
import json
import math
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from graph.analysis import engine, scoring  # noqa: E402
from graph.store import schema  # noqa: E402
from graph.store.db import GraphDB  # noqa: E402
from graph.analysis.evidence import (IncidentEvidence, RawItem, Snapshot, expand, incident_evidence, known,  # noqa: E402
                            merge, profile_part)
from app.ingest import load_paths  # noqa: E402
from bench_db import benchmark_db  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "attack"
ENTERPRISE = DATA / "enterprise-attack-15.1.json.gz"
ICS = DATA / "ics-attack-15.1.json"
ATTACK_SOURCE = "src:mitre-attack"
MIN_REPORT_ITEMS = 6
PSEUDO_CASES = 150
PSEUDO_SEED = 7
BASELINE_LABELS = ("Tool", "Technique")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# -- loading ------------------------------------------------------------------------------------------
def load_fresh(db: GraphDB, path: Path) -> float:
    schema.reset(db)
    schema.init_schema(db)
    engine.clear_cache()
    started = time.monotonic()
    report = load_paths(db, [path])
    if not report.ok:
        raise SystemExit(f"loading {path} failed: {report.refused[0]}")
    return time.monotonic() - started


# -- cases and profiles ----------------------------------------------------------------------------------
def campaign_cases(snap: Snapshot) -> list[tuple[str, str]]:
    """(incident, group) for every campaign ATT&CK attributes to a group."""
    return sorted({(c.incident, c.actor) for c in snap.claims
                   if c.source == ATTACK_SOURCE and c.stance == "attributes"})


def raw_sets(snap: Snapshot, exclude_incident: str | None = None,
             override: dict[str, list[RawItem]] | None = None) -> dict[str, set[str]]:
    """Baseline profiles: the raw tools and techniques of each candidate's own USES plus the
    incidents attributed to it (the same sources the engine uses, without its expansions), as
    known on the snapshot's date."""
    attributed = snap.attributions()
    as_of = snap.as_of_date

    def keys(raw: list[RawItem]) -> set[str]:
        return {r.key for r in raw if r.label in BASELINE_LABELS and known(r.created, as_of)
                and known(r.item_created, as_of)}
    out = {}
    for key, actor in snap.actors.items():
        if (actor.kind or "group") not in ("group", "person"):
            continue
        items = keys((override or {}).get(key, snap.actor_items.get(key, [])))
        for inc in attributed.get(key, ()):
            if inc != exclude_incident:
                items |= keys(snap.incident_items.get(inc, []))
        if items:
            out[key] = items
    return out


def baseline_ranks(evidence: set[str], profiles: dict[str, set[str]], truth: str) -> tuple[int, int]:
    if truth not in profiles:
        return len(profiles) + 1, len(profiles) + 1
    return (scoring.rank_of(truth, scoring.jaccard_scores(evidence, profiles)),
            scoring.rank_of(truth, scoring.idf_scores(evidence, profiles)))


def engine_ranking(snap: Snapshot, evidence: list, override: dict[str, list[RawItem]],
                   leave_out: frozenset = frozenset()) -> tuple[list, scoring.Unknown]:
    """The engine's ranking with some actors' own USES replaced (reports, pseudo-incidents) and
    `leave_out` removed; pure Python, the same scoring code the engine runs."""
    profiles = snap.profiles()
    attributed = snap.attributions()
    for key, raw in override.items():
        parts = [profile_part(raw, snap.links, "USES", None)]
        parts += [snap._part(i) for i in sorted(attributed.get(key, ()))]
        profile = merge(parts)
        if profile.size:
            profiles[key] = profile
        else:
            profiles.pop(key, None)
    for key in leave_out:
        profiles.pop(key, None)
    actors = {k: snap.actors[k].actor() for k in profiles}
    return scoring.rank_hypotheses(evidence, profiles, actors)


def engine_rank(snap: Snapshot, evidence: list, truth: str, override: dict[str, list[RawItem]]) -> int:
    ranking, _ = engine_ranking(snap, evidence, override)
    if truth not in {h.actor.key for h in ranking}:
        return len(ranking) + 1
    return scoring.rank_of(truth, {h.actor.key: h.score for h in ranking})


def run_campaigns(db: GraphDB, label: str) -> dict:
    started = time.monotonic()
    snap = engine.snapshot(db)
    cold_ms = (time.monotonic() - started) * 1000
    cases = campaign_cases(snap)
    ranks, jac, idf, latencies, rows = [], [], [], [], []
    for incident, group in cases:
        t = time.monotonic()
        result = engine.hypotheses(db, incident, blind=True, top=5)
        latencies.append((time.monotonic() - t) * 1000)
        r = result.rank(group) or len(result.ranking) + 1
        ranks.append(r)
        ev = {x.key for x in result.incident.items if x.kind in ("tool", "technique")}
        j, i = baseline_ranks(ev, raw_sets(snap, exclude_incident=incident), group)
        jac.append(j)
        idf.append(i)
        top = result.ranking[0] if result.ranking else None
        rows.append(f"  {incident:<14} {result.incident.name[:38]:<38} truth {snap.actors[group].name[:18]:<18} "
                    f"engine #{r:<3} jaccard #{j:<3} idf #{i:<3} top: {top.actor.name if top else '-'}")
    log(f"{label}: {len(cases)} campaigns with an attributed group")
    for row in rows:
        log(row)
    return {"engine": scoring.summarise(ranks), "ranks": ranks,
            "baselines": {"jaccard": scoring.summarise(jac), "idf": scoring.summarise(idf)},
            "latency_ms": {"p50": round(percentile(latencies, 0.5), 1), "p95": round(percentile(latencies, 0.95), 1),
                           "cold_ms": round(cold_ms, 1)},
            "candidates": len(snap.profiles())}


# -- validation: leave one report out ---------------------------------------------------------------------
CITATION = re.compile(r"\(Citation: ([^)]+)\)")


def read_bundle(path: Path) -> dict:
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)


def report_items(path: Path) -> dict[tuple[str, str], set[str]]:
    """(group key, report) -> the keys of the techniques and software that report is cited for
    in the group's `uses` relationships."""
    bundle = read_bundle(path)
    objects = {o["id"]: o for o in bundle["objects"]}

    def key(o: dict) -> str | None:
        if o.get("revoked") or o.get("x_mitre_deprecated"):
            return None
        for ref in o.get("external_references", []):
            if ref.get("source_name") in ("mitre-attack", "mitre-ics-attack"):
                eid = ref.get("external_id")
                if o["type"] == "attack-pattern":
                    return eid
                return f"attack:{eid}"
        return None

    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rel in bundle["objects"]:
        if rel.get("type") != "relationship" or rel.get("relationship_type") != "uses" or rel.get("revoked") \
                or rel.get("x_mitre_deprecated"):
            continue
        src, dst = objects.get(rel["source_ref"]), objects.get(rel["target_ref"])
        if not src or not dst or src["type"] != "intrusion-set":
            continue
        g, item = key(src), key(dst)
        if not g or not item:
            continue
        cited = set(CITATION.findall(rel.get("description") or ""))
        cited |= {r["source_name"] for r in rel.get("external_references", []) if r.get("source_name") not in
                  ("mitre-attack", "mitre-ics-attack")}
        for report in cited:
            out[(g, report)].add(item)
    return out


# "Kaspersky. (2016, February 24). Title. Retrieved ...": the first parenthesised year after the
# authors, with the month and day where the citation gives them ("(n.d.)" has no date).
PUBLISHED = re.compile(r"\((\d{4})(?:,\s*([A-Za-z]+)\.?(?:\s+(\d{1,2}))?)?[^)]*\)")
MONTHS = {m: i for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                      "september", "october", "november", "december"), 1)}


def publication_date(description: str | None) -> str | None:
    """The earliest day a citation says its report was published: '(2016, February 24)' ->
    2016-02-24, '(2017, September)' -> 2017-09-01, '(2019)' -> 2019-01-01; None without a
    parseable date (no description, '(n.d.)', a month or day that is not one)."""
    m = PUBLISHED.search(description or "")
    if not m:
        return None
    year, month, day = m.groups()
    if month is None:
        return f"{year}-01-01"
    number = MONTHS.get(month.casefold())
    if number is None:
        return None
    try:
        return datetime.date(int(year), number, int(day) if day else 1).isoformat()
    except ValueError:
        return None


def publication_dates(path: Path) -> dict[str, str]:
    """Citation name -> its publication date, from the external references of every object that
    cites it (the first parseable one; ATT&CK gives almost every citation a single description)."""
    out: dict[str, str] = {}
    for o in read_bundle(path)["objects"]:
        for ref in o.get("external_references", []):
            name = ref.get("source_name")
            if name and name not in out:
                date = publication_date(ref.get("description"))
                if date:
                    out[name] = date
    return out


def run_reports(snap: Snapshot, path: Path, outcomes: list | None = None) -> dict:
    """Leave one report out. `outcomes`, if given, collects each case twice for calibration:
    as it is, and with its group removed entirely (the unknown actor is then the right answer)."""
    by_report = report_items(path)
    cited_by: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (g, report), items in by_report.items():
        for item in items:
            cited_by[(g, item)].add(report)
    ranks, jac, idf = [], [], []
    for (g, report), items in sorted(by_report.items()):
        if len(items) < MIN_REPORT_ITEMS or g not in snap.actors:
            continue
        own = snap.actor_items.get(g, [])
        evidence_raw = [r for r in own if r.key in items]
        if len(evidence_raw) < MIN_REPORT_ITEMS:
            continue
        kept = [r for r in own if cited_by.get((g, r.key), set()) - {report} or (g, r.key) not in cited_by]
        evidence = expand(evidence_raw, snap.links)
        ranking, unknown = engine_ranking(snap, evidence, {g: kept})
        ranks.append(outcome(ranking, unknown, g).rank)
        if outcomes is not None:
            outcomes.append(outcome(ranking, unknown, g))
            outcomes.append(outcome(*engine_ranking(snap, evidence, {g: kept}, frozenset({g})), None))
        j, i = baseline_ranks({r.key for r in evidence_raw}, raw_sets(snap, override={g: kept}), g)
        jac.append(j)
        idf.append(i)
    return {"engine": scoring.summarise(ranks),
            "baselines": {"jaccard": scoring.summarise(jac), "idf": scoring.summarise(idf)}}


# -- validation: pseudo-incidents sampled from profiles ----------------------------------------------------
def run_pseudo(snap: Snapshot, n: int = PSEUDO_CASES, seed: int = PSEUDO_SEED) -> dict:
    rng = random.Random(seed)
    index: dict[str, RawItem] = {}
    for items in list(snap.actor_items.values()) + list(snap.incident_items.values()):
        for r in items:
            if r.label in BASELINE_LABELS:
                index.setdefault(r.key, r)
    universe = sorted(index)
    groups = sorted(k for k, a in snap.actors.items() if (a.kind or "group") == "group"
                    and sum(1 for r in snap.actor_items.get(k, []) if r.label in BASELINE_LABELS) >= 10)
    ranks, jac, idf = [], [], []
    for _ in range(n):
        g = rng.choice(groups)
        own = sorted((r for r in snap.actor_items[g] if r.label in BASELINE_LABELS), key=lambda r: r.key)
        # an incident shows part of what a group does (at most 60 % of its known profile)
        sample = rng.sample(own, min(int(0.6 * len(own)), rng.randint(5, 30)))
        hidden = {r.key for r in rng.sample(sample, len(sample) // 2)}
        noise = [index[k] for k in rng.sample(universe, rng.randint(0, 5))]
        evidence_raw = list({r.key: r for r in sample + noise}.values())
        kept = [r for r in snap.actor_items[g] if r.key not in hidden]
        ranks.append(engine_rank(snap, expand(evidence_raw, snap.links), g, {g: kept}))
        j, i = baseline_ranks({r.key for r in evidence_raw}, raw_sets(snap, override={g: kept}), g)
        jac.append(j)
        idf.append(i)
    return {"engine": scoring.summarise(ranks),
            "baselines": {"jaccard": scoring.summarise(jac), "idf": scoring.summarise(idf)}}


# -- probabilities: calibration and the open set --------------------------------------------------------
class FirstPass:
    """The first pass's probabilities, kept as the baseline: the unknown actor a constant at score
    0, p(A) = exp(s_A / T) / (1 + sum_B exp(s_B / T)) with T = 1.2 (fitted then with the prior
    item's UNKNOWN_PRIOR 0.5, which the scores still carry)."""

    temperature = 1.2

    def probabilities(self, scores: list[float]) -> tuple[list[float], float]:
        scaled = [s / self.temperature for s in scores]
        top = max([0.0] + scaled)
        weights = [math.exp(s - top) for s in scaled]
        total = math.exp(-top) + sum(weights)
        return [w / total for w in weights], math.exp(-top) / total


@dataclass
class Outcome:
    """One ranked case: the named hypotheses' scores (best first), the open-set features and
    where the truth is."""

    scores: list[float]
    features: scoring.Features | None
    truth: int | None          # index into scores; None: the true actor is not a candidate
    rank: int                  # the truth's rank among the named actors (pessimistic on ties)

    def probabilities(self, model=None) -> tuple[list[float], float]:
        """With `model` an OpenSet (default: the one in use) or FirstPass."""
        if isinstance(model, FirstPass):
            return model.probabilities(self.scores)
        return scoring.probabilities(self.scores, self.features, model)

    def p_truth(self, model=None) -> float:
        named, unknown = self.probabilities(model)
        return unknown if self.truth is None else named[self.truth]

    def unknown_first(self, model=None) -> bool:
        named, unknown = self.probabilities(model)
        return unknown >= max(named, default=0.0)

    def unknown_beats_truth(self, model=None) -> bool:
        if self.truth is None:
            return False
        named, unknown = self.probabilities(model)
        return unknown > named[self.truth]


def outcome(ranking: list, unknown: scoring.Unknown, truth: str | None) -> Outcome:
    keys = [h.actor.key for h in ranking]
    scores = [h.score for h in ranking]
    if truth is None or truth not in keys:
        return Outcome(scores, unknown.features, None, len(keys) + 1)
    return Outcome(scores, unknown.features, keys.index(truth), scoring.rank_of(truth, dict(zip(keys, scores))))


def calibration(outcomes: list[Outcome], model=None, bins: int = 5) -> dict:
    """Reliability of the top-1 prediction (a named actor or the unknown one): bins of predicted
    probability against observed accuracy, the expected calibration error, the Brier score
    (squared error summed over all hypotheses, the unknown actor included) and the mean log loss
    of the right answer."""
    rows = [[0, 0.0, 0] for _ in range(bins)]
    brier = nll = 0.0
    for o in outcomes:
        named, unknown = o.probabilities(model)
        top_p = max([unknown] + named[:1])
        right = (o.truth is None) if unknown >= top_p else (o.truth == 0)
        row = rows[min(bins - 1, int(top_p * bins))]
        row[0] += 1
        row[1] += top_p
        row[2] += right
        p_truth = unknown if o.truth is None else named[o.truth]
        brier += sum(p * p for p in named) + unknown * unknown - 2 * p_truth + 1
        nll -= math.log(max(p_truth, 1e-300))
    n = len(outcomes)
    table = [{"bin": f"{i / bins:.1f}-{(i + 1) / bins:.1f}", "n": c, "predicted": round(p / c, 3) if c else None,
              "observed": round(r / c, 3) if c else None} for i, (c, p, r) in enumerate(rows)]
    ece = sum(abs(p - r) for c, p, r in rows if c) / n if n else None
    return {"n": n, "ece": round(ece, 3) if n else None, "brier": round(brier / n, 3) if n else None,
            "log_loss": round(nll / n, 3) if n else None, "reliability": table}


def open_set(closed: list[Outcome], removed: list[Outcome], model=None) -> dict:
    """How often the unknown actor is the likeliest answer when the true group is not in the
    graph, and how often it is likelier than the true group (and the likeliest answer) when
    that is. `bound`: the most often any open-set model that reads only the ranking can make the
    unknown actor first for the removed groups while it beats a present truth in at most 20 %
    of the ordinary cases. Removing a group that ranked third or lower leaves the top of the
    ranking, and so everything such a model reads, (almost) unchanged, so in each such pair of
    cases the unknown actor either beats the truth or is not first without it: the bound is
    the share of cases whose truth ranks first or second, plus 0.20."""
    top2 = sum(o.rank <= 2 for o in closed) / len(closed) if closed else None
    return {"removed_n": len(removed),
            "unknown_first": round(sum(o.unknown_first(model) for o in removed) / len(removed), 3)
            if removed else None,
            "ordinary_n": len(closed),
            "unknown_beats_truth": round(sum(o.unknown_beats_truth(model) for o in closed) / len(closed), 3)
            if closed else None,
            "unknown_first_when_present": round(sum(o.unknown_first(model) for o in closed) / len(closed), 3)
            if closed else None,
            "truth_top2": round(top2, 3) if closed else None,
            "bound": round(min(1.0, top2 + 0.2), 3) if closed else None}


TRADE_SHIFTS = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)


def trade(closed: list[Outcome], removed: list[Outcome], calibrated: list[Outcome],
          model: scoring.OpenSet) -> list[dict]:
    """The open-set trade: the model's intercept moved up by each of TRADE_SHIFTS (the unknown
    actor less likely), with what it does to both open-set figures and to the calibration
    (ECE) of `calibrated`. For information: the model in use is not chosen from it."""
    out = []
    for shift in TRADE_SHIFTS:
        moved = scoring.OpenSet(model.intercept + shift, model.weights, model.temperature)
        o = open_set(closed, removed, moved)
        out.append({"shift": shift, "unknown_first": o["unknown_first"],
                    "unknown_beats_truth": o["unknown_beats_truth"],
                    "ece": calibration(calibrated, moved)["ece"]})
    return out


def fit_open_set(outcomes: list[Outcome]) -> scoring.OpenSet:
    """The open-set model refitted: a logistic regression of "the true actor is a candidate" on
    the features (scikit-learn, random_state 0), and the temperature that minimises the log loss
    of the true actor's share of P(known) over the cases where it is a candidate (grid search)."""
    from sklearn.linear_model import LogisticRegression

    cases = [o for o in outcomes if o.features is not None]
    lr = LogisticRegression(C=1.0, max_iter=5000, random_state=0)
    lr.fit([o.features.vector() for o in cases], [o.truth is not None for o in cases])
    closed = [o for o in cases if o.truth is not None]
    best = None
    for t in [round(0.3 + 0.1 * i, 1) for i in range(48)]:
        model = scoring.OpenSet(0.0, (0.0,) * len(scoring.FEATURES), t)     # P(known) 1/2: only the share matters
        nll = -sum(math.log(max(2 * o.p_truth(model), 1e-300)) for o in closed)
        if best is None or nll < best[0]:
            best = (nll, t)
    return scoring.OpenSet(round(float(lr.intercept_[0]), 3), tuple(round(float(w), 3) for w in lr.coef_[0]),
                           best[1])



# -- forward in time --------------------------------------------------------------------------------------
CUTS = ("2021-10-01", "2022-10-01", "2023-04-01")
TUNING_CUT = "2021-10-01"     # tuned on, with leave one report out; the later cuts are test sets
MIN_FORWARD_ITEMS = 4


@dataclass
class Case:
    kind: str                  # campaign | report
    truth: str
    evidence: IncidentEvidence
    raw: set[str]              # its tool and technique keys, for the baselines
    present: bool = True       # the group had a profile before the cut


@dataclass
class Bundle:
    """What the forward cases need from the bundle itself: when each campaign was created, when
    each cited report was published, and which group each report is cited for."""

    campaign_created: dict[str, str]
    published: dict[str, str]
    by_report: dict[tuple[str, str], set[str]]

    @classmethod
    def read(cls, path: Path) -> "Bundle":
        created = {}
        for o in read_bundle(path)["objects"]:
            if o["type"] == "campaign":
                for ref in o.get("external_references", []):
                    if ref.get("source_name") == "mitre-attack":
                        created[f"attack:{ref['external_id']}"] = o["created"][:10]
        return cls(created, publication_dates(path), report_items(path))


def forward_cases(db: GraphDB, snap: Snapshot, bundle: Bundle, cut: str) -> list[Case]:
    """Blind cases that appeared after `cut`: (a) campaigns created after it; (b) report-level
    cases: a report published after the cut (its citation's own date, `publication_date`;
    citations without one are left out) whose `uses` relationships concern one group, with at
    least MIN_FORWARD_ITEMS techniques and software, its items as a pseudo-incident. The profiles
    are what ATT&CK had created before the cut (`Snapshot.as_of`): a relationship the report
    brought (created after the cut) is unknown then and left out, an older one that the report
    re-confirms was known and stays. A case whose group had no profile before the cut (a group
    ATT&CK added later) has `present` False: the right answer is then the unknown actor."""
    known_then = snap.as_of(cut).profiles()
    cases = []
    for incident, group in campaign_cases(snap):
        if bundle.campaign_created.get(incident, "") > cut:
            ev = incident_evidence(db, incident, snap)
            cases.append(Case("campaign", group, ev, {x.key for x in ev.items if x.kind in ("tool", "technique")},
                              group in known_then))
    groups_of: dict[str, set[str]] = defaultdict(set)
    for g, report in bundle.by_report:
        groups_of[report].add(g)
    for (g, report), items in sorted(bundle.by_report.items()):
        published = bundle.published.get(report)
        if published is None or published <= cut or len(groups_of[report]) != 1:
            continue
        raw = [r for r in snap.actor_items.get(g, []) if r.key in items]
        if len(raw) >= MIN_FORWARD_ITEMS:
            ev = IncidentEvidence(f"report:{report}", report, [], published, None, expand(raw, snap.links))
            cases.append(Case("report", g, ev, {r.key for r in raw}, g in known_then))
    return cases


def run_forward(snap: Snapshot, cases: list[Case], cut: str) -> dict:
    """Rank each case blind against the profiles as known on `cut`; the baselines on the same
    cases, and each present case again with its group removed (open set). `_cases` holds the
    outcomes: (present, removed, groups added after the cut)."""
    then = snap.as_of(cut)
    out: dict = {}
    closed, removed, new = [], [], []
    for kind in ("campaign", "report"):
        ranks, jac, idf = [], [], []
        for case in (c for c in cases if c.kind == kind):
            o = outcome(*engine.rank(then, case.evidence), case.truth if case.present else None)
            if not case.present:
                new.append(o)
                continue
            closed.append(o)
            ranks.append(o.rank)
            removed.append(outcome(*engine.rank(then, case.evidence, leave_out={case.truth}), None))
            j, i = baseline_ranks(case.raw, raw_sets(then, exclude_incident=case.evidence.key), case.truth)
            jac.append(j)
            idf.append(i)
            if kind == "report":
                held = len(case.raw & raw_sets(then).get(case.truth, set()))
                log(f"    {cut} report {case.evidence.name[:44]:<44} ({case.evidence.first_seen}) truth "
                    f"{then.actors[case.truth].name[:16]:<16} {held}/{len(case.raw)} items known then: engine "
                    f"#{o.rank:<3} idf #{i:<3} jaccard #{j}")
        out[kind] = {"engine": scoring.summarise(ranks),
                     "baselines": {"jaccard": scoring.summarise(jac), "idf": scoring.summarise(idf)}}
    out["_cases"] = (closed, removed, new)
    return out


MODELS = ("open_set_model", "first_pass")


def model_of(name: str, fitted: scoring.OpenSet | None = None):
    return {"open_set_model": scoring.OPEN_SET, "first_pass": FirstPass(), "refit": fitted}[name]


def probability_figures(closed: list[Outcome], removed: list[Outcome], new: list[Outcome], model) -> dict:
    """Calibration on the cases as they are (groups added after the cut included: the unknown
    actor is right), and the open set."""
    out = {"calibration": calibration(closed + new, model), "open_set": open_set(closed, removed, model)}
    out["open_set"]["new_groups_n"] = len(new)
    out["open_set"]["new_groups_unknown_first"] = (round(sum(o.unknown_first(model) for o in new) / len(new), 3)
                                                   if new else None)
    return out


def log_probabilities(label: str, r: dict) -> None:
    c, o = r["calibration"], r["open_set"]
    later = (f" and {o['new_groups_unknown_first']} of {o['new_groups_n']} cases of groups added later"
             if "new_groups_n" in o else "")
    log(f"    {label:<15} calibration n={c['n']} ECE {c['ece']} Brier {c['brier']} log loss {c['log_loss']}; "
        f"unknown first for {o['unknown_first']} of {o['removed_n']} removed-group cases{later}; likelier than "
        f"the present truth in {o['unknown_beats_truth']} of {o['ordinary_n']} (first in "
        f"{o['unknown_first_when_present']}; truth first or second in {o['truth_top2']}, so unknown first at most "
        f"{o['bound']} at beats <= 0.20)")
    for row in c["reliability"]:
        log(f"        p {row['bin']}: n={row['n']:<3} predicted {row['predicted']} observed {row['observed']}")


def log_forward(cut: str, r: dict) -> None:
    role = "tuning" if cut == TUNING_CUT else "test"
    for kind in ("campaign", "report"):
        e, b = r[kind]["engine"], r[kind]["baselines"]
        log(f"  {cut} ({role}) {kind + 's':<9} n={e['n']:<3} engine top1 {e['top1']} top5 {e['top5']} MRR {e['mrr']}"
            f" | idf MRR {b['idf']['mrr']} | jaccard MRR {b['jaccard']['mrr']}")
    for name in [m for m in ("open_set_model", "first_pass", "refit") if m in r["probabilities"]]:
        log_probabilities(name, r["probabilities"][name])


def forward_main(db: GraphDB, snap: Snapshot, path: Path, enterprise: dict, load_s: float | None) -> int:
    """--forward: leave one report out (with its group-removed twins: the fitting set), then
    each cut; the last line is one JSON object."""
    log("leave one report out (closed, and each case again with its group removed) ...")
    outcomes: list[Outcome] = []
    reports = run_reports(snap, path, outcomes)
    fitted = fit_open_set(outcomes)
    log(f"  {reports['engine']}")
    bundle = Bundle.read(path)
    runs = {cut: run_forward(snap, forward_cases(db, snap, bundle, cut), cut) for cut in CUTS}
    ranked = {cut: r.pop("_cases") for cut, r in runs.items()}
    tuning = ranked[TUNING_CUT]
    log(f"  open-set model refit on leave one report out: OpenSet(intercept={fitted.intercept}, "
        f"weights={fitted.weights}, temperature={fitted.temperature}) for {scoring.FEATURES}; "
        f"in use: {scoring.OPEN_SET}")
    names = MODELS + ("refit",)
    # calibration in-sample on the whole fitting set (half of it group-removed), as the fit sees it
    reports["probabilities"] = {m: {"calibration": calibration(outcomes, model_of(m, fitted)),
                                    "open_set": open_set(outcomes[0::2], outcomes[1::2], model_of(m, fitted))}
                                for m in names}
    for m in names:
        log_probabilities(f"LORO {m}", reports["probabilities"][m])
    cuts = {}
    pooled: dict[str, list[Outcome]] = {"closed": [], "removed": [], "new": []}
    for cut, r in runs.items():
        closed, removed, new = ranked[cut]
        shown = names if cut == TUNING_CUT else MODELS     # the refit is judged on the tuning cut only
        r["probabilities"] = {m: probability_figures(closed, removed, new, model_of(m, fitted)) for m in shown}
        if cut != TUNING_CUT:
            pooled["closed"] += closed
            pooled["removed"] += removed
            pooled["new"] += new
        log_forward(cut, r)
        cuts[cut] = r
    test = {m: probability_figures(pooled["closed"], pooled["removed"], pooled["new"], model_of(m)) for m in MODELS}
    log("  test cuts pooled:")
    for m in MODELS:
        log_probabilities(m, test[m])
    trades = {"loro": trade(outcomes[0::2], outcomes[1::2], outcomes, scoring.OPEN_SET),
              "tuning": trade(tuning[0], tuning[1], tuning[0] + tuning[2], scoring.OPEN_SET),
              "test": trade(pooled["closed"], pooled["removed"], pooled["closed"] + pooled["new"], scoring.OPEN_SET)}
    log("  open-set trade (intercept + shift: unknown first for removed groups / beats a present truth / ECE):")
    for name, rows in trades.items():
        log(f"    {name:<7} " + "; ".join(f"+{r['shift']:g}: {r['unknown_first']} / {r['unknown_beats_truth']} / "
                                         f"{r['ece']}" for r in rows))
    e = enterprise["engine"]
    at = cuts["2022-10-01"]
    mine = at["probabilities"]["open_set_model"]["open_set"]
    targets = {"forward_report_mrr>=0.50": (at["report"]["engine"]["mrr"] or 0) >= 0.50,
               "forward_campaign_mrr>=0.40": (at["campaign"]["engine"]["mrr"] or 0) >= 0.40,
               "loo_mrr>=0.80": e["mrr"] >= 0.80,
               "ece<=0.10": (test["open_set_model"]["calibration"]["ece"] or 1) <= 0.10,
               "open_unknown_first>=0.50": (mine["unknown_first"] or 0) >= 0.50,
               "open_beats_truth<=0.20": (mine["unknown_beats_truth"] or 1) <= 0.20,
               "p50<=300ms": enterprise["latency_ms"]["p50"] <= 300}
    summary = {"loo_campaigns": {**e, "baselines": enterprise["baselines"], "ranks": enterprise["ranks"]},
               "latency_ms": enterprise["latency_ms"], "candidates": enterprise["candidates"],
               "reports": reports,
               "refit": {"intercept": fitted.intercept, "weights": fitted.weights, "temperature": fitted.temperature},
               "parameters": {"OPEN_SET": {"features": scoring.FEATURES, "intercept": scoring.OPEN_SET.intercept,
                                           "weights": scoring.OPEN_SET.weights,
                                           "temperature": scoring.OPEN_SET.temperature},
                              "NEW_ITEM_WEIGHT": scoring.NEW_ITEM_WEIGHT},
               "forward": cuts, "forward_test_probabilities": test, "open_set_trade": trades,
               "tuning_cut": TUNING_CUT,
               "load_seconds": round(load_s, 1) if load_s is not None else None, "targets_met": targets}
    print(json.dumps(summary))
    return 0 if all(targets.values()) else 1


# -- main --------------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=ENTERPRISE, help="the Enterprise bundle")
    ap.add_argument("--ics", type=Path, default=ICS, help="the ICS bundle (validation)")
    ap.add_argument("--no-ics", action="store_true", help="skip the ICS validation (which reloads the database)")
    ap.add_argument("--reuse", action="store_true",
                    help="do not reload: use the graph as it is (it must hold exactly the Enterprise bundle)")
    ap.add_argument("--forward", action="store_true",
                    help="forward in time: profiles as ATT&CK knew them at each cut, cases that came later; "
                         "calibration and open set (instead of the pseudo and ICS validation)")
    ap.add_argument("--reports", action="store_true",
                    help="end to end on real reports (AnnoCTR, names masked): draft -> load -> rank "
                         "(attribution_reports.py); with --reuse, the drafts a previous run loaded")
    ap.add_argument("--cases", type=Path, default=Path(tempfile.gettempdir()) / "attrib-report-cases.json",
                    help="--reports: where the drafted cases are listed (for --reuse)")
    args = ap.parse_args()
    if args.reports:
        from attribution_reports import reports_main

        with benchmark_db() as (db, _settings):
            result = reports_main(db, args.reuse, args.cases, log)
        print(json.dumps(result))
        return 0
    if not args.file.exists():
        log(f"missing {args.file}")
        return 2

    with benchmark_db() as (db, _settings):
        load_s = None
        if not args.reuse:
            log(f"loading {args.file} into an empty database ...")
            load_s = load_fresh(db, args.file)
            log(f"  loaded in {load_s:.1f} s")
        enterprise = run_campaigns(db, "Enterprise v15.1")
        snap = engine.snapshot(db)
        if args.forward:
            return forward_main(db, snap, args.file, enterprise, load_s)
        log("validation: leave one report out ...")
        reports = run_reports(snap, args.file)
        log(f"  {reports}")
        log("validation: pseudo-incidents sampled from group profiles ...")
        pseudo = run_pseudo(snap)
        log(f"  {pseudo}")
        ics = None
        if not args.no_ics and args.ics.exists():
            log(f"validation: loading {args.ics} alone ...")
            load_fresh(db, args.ics)
            ics = run_campaigns(db, "ICS v15.1")
            ics.pop("latency_ms", None)

    e = enterprise["engine"]
    targets = {"mrr>=0.75": e["mrr"] >= 0.75, "top5>=0.90": e["top5"] >= 0.90,
               "p50<=300ms": enterprise["latency_ms"]["p50"] <= 300}
    summary = {"cases": e["n"], "candidates": enterprise["candidates"], "top1": e["top1"], "top3": e["top3"],
               "top5": e["top5"], "mrr": e["mrr"], "ranks": enterprise["ranks"],
               "latency_ms": enterprise["latency_ms"], "baselines": enterprise["baselines"],
               "validation": {"reports": reports, "pseudo": pseudo, "ics": ics},
               "load_seconds": round(load_s, 1) if load_s is not None else None, "targets_met": targets}
    log(f"engine: top1 {e['top1']} top3 {e['top3']} top5 {e['top5']} MRR {e['mrr']}; "
        f"jaccard MRR {enterprise['baselines']['jaccard']['mrr']}; idf MRR {enterprise['baselines']['idf']['mrr']}; "
        f"p50 {enterprise['latency_ms']['p50']} ms")
    print(json.dumps(summary))
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
