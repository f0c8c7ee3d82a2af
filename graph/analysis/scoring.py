"""Scoring competing attribution hypotheses: pure Python, no database (graph.analysis.evidence feeds it).

The model (docs/engine.md): for an incident I with evidence items
E and a candidate actor A with profile P_A (item -> how often A was seen with it), each item
i in E contributes

    matched (i in P_A):   w_i * log(1 - RHO + RHO * x),   x = c^COUNT_POWER * (N / df_i) * SIZE_A
    unmatched:            w_i * log(1 - RHO)     (0 if no candidate's profile holds i: a new
                                                  tool or technique says nothing about who)

a tempered log likelihood ratio of "A did it" against "an actor drawn from the background of
all N candidate profiles": RHO is the share of a new incident's items an actor's profile
already holds (the rest is new to it and as likely as under the background); N / df_i is
how rare the item is among actors (an inverse frequency: spearphishing and Mimikatz are in
most profiles, a custom implant in one); SIZE_A = (Lbar + MU) / (L_A + MU) is the chance
that one more of A's items shows up, relative to an average profile, within the item's family
(software, techniques, infrastructure, victims), so an actor with a huge profile does not win
by having everything; MU shrinks tiny profiles toward the average; c is how many of A's
sources (its own USES and each incident attributed to it) hold the item. An actor known only
from a claim (no profile) gets 0 for every item: the evidence says nothing about it.
w_i tempers by kind: software more than techniques, public / commodity / leaked software
little, a sub-technique's parent and a tool's implied techniques less, victims little.

Every named actor also carries a "prior" item, -log(N * u / (1 - u)) with u = UNKNOWN_PRIOR
(even odds): before any evidence it is one of N known actors, or someone not in the graph; plus
its record, RECORD_PRIOR * log((L + MU) / (Lbar + MU)) over the techniques it is known for (an
actor with more on record is more active: a little likelier before any evidence). The
"unknown actor" hypothesis (evidence drawn from the background, contributions 0) therefore
scores 0, and a named actor scores above it only when the evidence singles it out. Scores are
natural-log odds against the background; a hypothesis's score is exactly the sum of its items'
contributions. Outside blind mode, claims about the incident are items too.

Probabilities (the open set): a small logistic model gives P(known), the probability that the
actor is one of the known ones, from features of the ranking that do not depend on who the
true actor is (`ranking_features`: the best score, its margin over the runner-up, the share of
the evidence weight the best fit matches, how many specific items it matches, how many items
there are); p(unknown) = 1 - P(known) and P(known) is shared among the named actors by the
softmax of their scores at temperature T: p(A) = P(known) * exp(s_A / T) / sum_B exp(s_B / T).
OPEN_SET holds the fitted parameters (leave-one-report-out cases, each once as it is and once
with its group removed; `tests/benchmarks/attribution.py --forward` prints the refit). Verdict
words follow the probability.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping

# -- the parameters, in one place ---------------------------------------------------------------
RHO = 0.5                # share of an incident's items expected in the true actor's profile
SIZE_SHRINK = 0.5        # MU as a fraction of the mean profile size (per evidence family)
SIZE_POWER = 1.0         # exponent on the profile-size factor (1 = multinomial model)
COUNT_POWER = 0.5        # repeated sightings count sub-linearly
IMPLIED_COUNT = 0.25     # a technique implied by a tool an actor uses counts this much
UNKNOWN_PRIOR = 0.5      # prior odds of "not one of the known" in the scores' prior item (even odds);
                         # the unknown actor's probability comes from OPEN_SET, not from this
NEW_ITEM_WEIGHT = 0.0    # an item no candidate's profile holds (new software, a new technique) says
                         # nothing about which of them did it: 0 = neutral, 1 = counts as unmatched
RECORD_PRIOR = 0.25      # the record prior: a named actor's prior odds grow as (its record / an
RECORD_FAMILY = "technique"  # average one)^RECORD_PRIOR, its record the techniques it is known for
                         # (size term's L and L-bar + MU): an actor with more on record is more active

# The open set: P(known) = 1 / (1 + exp(-(intercept + sum of weight * feature))), the features
# (`Features.vector`, in FEATURES order) describing how well the best named actor fits; the named
# actors share P(known) by softmax(score / temperature). Fitted (scikit-learn LogisticRegression,
# random_state 0; the temperature by minimum log loss) on ATT&CK v15.1's leave-one-report-out
# cases, each as it is (known) and again with its group removed (unknown):
# `python tests/benchmarks/attribution.py --forward` prints the refit.
FEATURES = ("top score", "margin", "explained", "log(1 + specific)", "log(1 + items)")


@dataclass(frozen=True)
class OpenSet:
    intercept: float
    weights: tuple[float, ...]      # one per FEATURES
    temperature: float

    def p_known(self, features: "Features | None") -> float:
        """P(the actor is one of the known); 0 without candidates."""
        if features is None:
            return 0.0
        z = self.intercept + sum(w * x for w, x in zip(self.weights, features.vector()))
        return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


OPEN_SET = OpenSet(intercept=-0.711, weights=(0.285, 0.221, 2.244, -0.167, -0.241), temperature=1.2)

# Evidence weight by item kind (tempering exponents on the likelihood ratios).
TOOL_WEIGHTS = {"custom": 1.0, "commodity": 0.3, "public": 0.3, "leaked": 0.3, None: 0.6}
KIND_WEIGHTS = {
    "technique": 0.5,
    "technique-parent": 0.25,     # the parent of a reported sub-technique
    "technique-implied": 0.1,     # a technique a reported tool is known to use
    "infrastructure": 1.0,
    "organization": 0.3,
    "sector": 0.2,
    "country": 0.2,
    # what the actor is (its sponsor's country, "origin:state" for any sponsor; its motives): on an
    # actor from its SPONSORED_BY and `motives`, on an incident from its report's hints; not fitted
    "origin": 0.5,
    "motive": 0.3,
}

# Claims (outside blind mode): a claim counts at most CLAIM_MAX (log 20: "strong"), scaled by
# the source's Admiralty reliability grade and its own stated confidence.
CLAIM_MAX = 3.0
RELIABILITY_WEIGHTS = {"A": 1.0, "B": 0.8, "C": 0.6, "D": 0.4, "E": 0.2, "F": 0.5, None: 0.5}
RELIABILITY_WORDS = {"A": "completely reliable", "B": "usually reliable", "C": "fairly reliable",
                     "D": "not usually reliable", "E": "unreliable", "F": "reliability cannot be judged",
                     None: "reliability not graded"}
STANCE_SIGN = {"attributes": 1.0, "denies": -1.0, "disputes": -1.0}
DEFAULT_CONFIDENCE = 50

# Verdict words on a hypothesis's probability, best first.
VERDICTS = ((0.75, "strong"), (0.4, "moderate"), (0.1, "weak"), (-math.inf, "inconsistent"))
# An item contribution at least this large is a "specific overlap"; ACH cells within
# +-NEUTRAL are neutral.
SPECIFIC = 0.5
NEUTRAL = 0.1


def verdict(probability: float) -> str:
    """strong (a probability of at least 75 %), moderate (at least 40 %), weak (at least 10 %),
    inconsistent (below 10 %: the evidence points elsewhere)."""
    for threshold, word in VERDICTS:
        if probability >= threshold:
            return word
    return VERDICTS[-1][1]


@dataclass(frozen=True)
class Features:
    """How well the best named actor fits the evidence, whoever the true actor is: what the
    open-set model reads."""

    best: str            # the best named actor's name
    top: float           # its score
    margin: float        # its lead over the runner-up (over the unknown actor's 0 if it is alone)
    items: int           # evidence items
    matched: int         # of them in its profile
    explained: float     # share of the evidence weight it matches
    specific: int        # items it matches with a contribution of at least SPECIFIC

    def vector(self) -> tuple[float, ...]:
        return (self.top, self.margin, self.explained, math.log1p(self.specific), math.log1p(self.items))

    def describe(self) -> str:
        """'the best fit, Lazarus Group, explains 3 of 9 items (41% of the evidence weight), 2 of
        them specific; score +2.10, margin 0.40 over the next'."""
        return (f"the best fit, {self.best}, explains {self.matched} of {self.items} items ({self.explained:.0%} "
                f"of the evidence weight), {self.specific} of them specific; score {self.top:+.2f}, margin "
                f"{self.margin:.2f} over the next")


def ranking_features(evidence: list[Item], ranking: list["Hypothesis"]) -> Features | None:
    """The open-set features of a ranking (best first); None without candidates."""
    if not ranking:
        return None
    best = ranking[0]
    matched = {c.key for c in best.items if c.matched and c.kind not in ("prior", "claim")}
    total = sum(i.weight for i in evidence)
    runner_up = ranking[1].score if len(ranking) > 1 else 0.0
    specific = sum(1 for c in best.items if c.matched and c.kind not in ("prior", "claim")
                   and c.contribution >= SPECIFIC)
    return Features(best.actor.name, best.score, best.score - runner_up, len(evidence), len(matched),
                    sum(i.weight for i in evidence if i.key in matched) / total if total else 0.0, specific)


def probabilities(scores: list[float], features: Features | None,
                  model: OpenSet | None = None) -> tuple[list[float], float]:
    """(each named hypothesis's probability, the unknown actor's): the unknown actor gets
    1 - P(known) from the open-set model, the named ones share P(known) by the softmax of their
    scores at the model's temperature; they sum to 1."""
    model = model or OPEN_SET
    if not scores:
        return [], 1.0
    known = model.p_known(features)
    scaled = [s / model.temperature for s in scores]
    top = max(scaled)
    weights = [math.exp(s - top) for s in scaled]
    total = sum(weights)
    return [known * w / total for w in weights], 1.0 - known


def percent(probability: float) -> str:
    """'62%', '<1%' below a half per cent."""
    return f"{probability:.0%}" if probability >= 0.005 else "<1%"


def headline(ranking: list["Hypothesis"], unknown: "Unknown", top: int = 2) -> str:
    """'Lazarus Group 62%, an unknown actor 21%': the `top` likeliest answers, the unknown actor
    among them (always named, with its probability, when it is not)."""
    answers = [(h.probability, h.actor.name) for h in ranking[:top]] + [(unknown.probability, "an unknown actor")]
    answers.sort(key=lambda a: -a[0])
    shown = answers[:top]
    if all(name != "an unknown actor" for _, name in shown):
        shown.append((unknown.probability, "an unknown actor"))
    return ", ".join(f"{name} {percent(p)}" for p, name in shown)


# -- evidence and profiles ------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    """One piece of structured evidence: a tool, technique, infrastructure or victim."""

    kind: str
    key: str
    name: str
    weight: float
    availability: str | None = None

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "key": self.key, "name": self.name, "weight": self.weight}
        if self.availability:
            d["availability"] = self.availability
        return d


def item_weight(kind: str, availability: str | None = None) -> float:
    if kind == "tool":
        return TOOL_WEIGHTS.get(availability, TOOL_WEIGHTS[None])
    return KIND_WEIGHTS[kind]


def make_item(kind: str, key: str, name: str | None, availability: str | None = None) -> Item:
    return Item(kind, key, name or key, item_weight(kind, availability), availability)


# Profile sizes are compared within a family of evidence: how many techniques an actor is known
# for decides how telling one shared technique is, not how many countries it targets.
FAMILIES = {"tool": "software", "technique": "technique", "technique-parent": "technique",
            "technique-implied": "technique", "infrastructure": "infrastructure",
            "organization": "victim", "sector": "victim", "country": "victim",
            "origin": "attribute", "motive": "attribute"}


@dataclass
class Profile:
    """What one actor is known for: item key -> count, its family, and where it was seen."""

    counts: Counter = field(default_factory=Counter)
    origins: dict[str, set[str]] = field(default_factory=dict)  # item -> {"USES" | incident key}
    families: dict[str, str] = field(default_factory=dict)      # item -> evidence family
    _sizes: Counter | None = field(default=None, repr=False, compare=False)

    def add(self, key: str, count: float, origin: str, kind: str | None = None) -> None:
        self.counts[key] += count
        self.origins.setdefault(key, set()).add(origin)
        if kind:
            self.families.setdefault(key, FAMILIES.get(kind, kind))
        self._sizes = None

    @property
    def size(self) -> int:
        return len(self.counts)

    @property
    def family_sizes(self) -> Counter:
        """family -> how many distinct items of it the actor is known for."""
        if self._sizes is None:
            self._sizes = Counter(self.families.get(k, "other") for k in self.counts)
        return self._sizes


@dataclass(frozen=True)
class Stats:
    """Item frequencies over the candidates' profiles (computed once per scoring call)."""

    n: int
    df: Mapping[str, int]
    mean_sizes: Mapping[str, float]     # family -> mean size over the profiles that have that family

    @classmethod
    def of(cls, profiles: Mapping[str, Profile]) -> "Stats":
        """Over the non-empty profiles (an actor known only from a claim has none)."""
        tally = Tally()
        for p in profiles.values():
            tally.add(p)
        return tally.stats()

    def size_factor(self, profile: Profile, family: str) -> float:
        """(Lbar + MU) / (L + MU) within the family: the chance that one more of the actor's items
        of this family shows up, relative to an average profile; MU shrinks tiny profiles."""
        mean = self.mean_sizes.get(family, 0.0)
        size = profile.family_sizes.get(family, 0)
        mu = SIZE_SHRINK * mean
        return ((mean + mu) / (size + mu)) ** SIZE_POWER if size + mu > 0 else 1.0


@dataclass
class Tally:
    """The integer sums behind `Stats`. A tally of many profiles is kept and copied, and the
    few profiles that differ swapped in and out (`add(p, -1)`), instead of summing again;
    integer sums make the result identical."""

    n: int = 0
    df: Counter = field(default_factory=Counter)
    totals: Counter = field(default_factory=Counter)
    holders: Counter = field(default_factory=Counter)

    def add(self, profile: Profile, sign: int = 1) -> None:
        if not profile.size:
            return
        self.n += sign
        for key in profile.counts:
            self.df[key] += sign
        for family, size in profile.family_sizes.items():
            self.totals[family] += sign * size
            self.holders[family] += sign

    def copy(self) -> "Tally":
        return Tally(self.n, self.df.copy(), self.totals.copy(), self.holders.copy())

    def stats(self) -> Stats:
        # An item swapped out may stay in df with 0: a Counter reads the same as without it.
        return Stats(self.n, self.df, {f: self.totals[f] / self.holders[f] for f in self.totals if self.holders[f]})


def prior_contribution(n_candidates: int) -> float:
    """log prior odds of one named actor against an unknown one, before its record."""
    if n_candidates <= 0:
        return 0.0
    return -math.log(n_candidates * UNKNOWN_PRIOR / (1 - UNKNOWN_PRIOR))


def record_contribution(profile: Profile, stats: Stats) -> float:
    """RECORD_PRIOR * log((L + MU) / (Lbar + MU)) over RECORD_FAMILY: an actor known for more
    techniques than an average one is seen more often, a little (0 without a profile)."""
    if not profile.size:
        return 0.0
    return -RECORD_PRIOR * math.log(stats.size_factor(profile, RECORD_FAMILY))


# -- hypotheses -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Contribution:
    kind: str
    key: str
    name: str
    weight: float
    contribution: float
    matched: bool = False
    detail: str = ""

    def to_dict(self) -> dict:
        return {"kind": self.kind, "key": self.key, "name": self.name,
                "weight": round(self.weight, 4), "contribution": round(self.contribution, 4)}


@dataclass
class Actor:
    key: str
    name: str
    kind: str = "group"
    external_ids: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    same_as: list[str] = field(default_factory=list)   # other nodes of the same group whose evidence counts
    members: list[str] = field(default_factory=list)   # persons weighed through it (MEMBER_OF), by name
    sponsors: list[str] = field(default_factory=list)  # its sponsoring states, by name

    @property
    def label(self) -> str:
        """'Lazarus Group - incl. Park Jin Hyok, sponsored by North Korea'."""
        parts = ([f"incl. {', '.join(self.members)}"] if self.members else []) + \
                ([f"sponsored by {', '.join(self.sponsors)}"] if self.sponsors else [])
        return f"{self.name} - {', '.join(parts)}" if parts else self.name

    def to_dict(self) -> dict:
        d = {"key": self.key, "name": self.name, "external_ids": list(self.external_ids)}
        if self.same_as:
            d["same_as"] = list(self.same_as)
        if self.members:
            d["members"] = list(self.members)
        if self.sponsors:
            d["sponsored_by"] = list(self.sponsors)
        return d


class Hypothesis:
    """One named actor as the answer: its score and the items that make it up. The score is
    computed fast for every candidate; the item list is built when first asked for."""

    def __init__(self, actor: Actor, items: list[Contribution] | None = None, score: float | None = None,
                 build=None, rank: int = 0, probability: float = 0.0):
        self.actor = actor
        self._items = items
        self._build = build
        self._score = score
        self.rank = rank
        self.probability = probability      # set by rank_hypotheses, over all candidates

    @property
    def items(self) -> list[Contribution]:
        if self._items is None:
            self._items = self._build()
        return self._items

    @property
    def score(self) -> float:
        if self._score is None:
            self._score = sum(c.contribution for c in self.items)
        return self._score

    @property
    def verdict(self) -> str:
        return verdict(self.probability)

    def contribution(self, key: str) -> Contribution | None:
        for c in self.items:
            if c.key == key:
                return c
        return None

    def to_dict(self) -> dict:
        items = [c.to_dict() for c in self.items]
        score = round(sum(i["contribution"] for i in items), 4)  # exactly the shown items' sum
        return {"rank": self.rank, "actor": self.actor.to_dict(), "score": score,
                "probability": self.probability, "verdict": self.verdict, "items": items}

    def __repr__(self) -> str:
        return f"Hypothesis({self.actor.key!r}, score={self.score:.3f}, rank={self.rank})"


@dataclass
class Unknown:
    """The evidence came from an actor the graph does not know (or cannot single out)."""

    best_named: float | None
    probability: float = 1.0
    features: Features | None = None     # what the open-set model read

    @property
    def score(self) -> float:
        return 0.0

    @property
    def margin(self) -> float:
        """How much better the unknown actor explains the evidence than the best named one."""
        return -self.best_named if self.best_named is not None else math.inf

    @property
    def verdict(self) -> str:
        return verdict(self.probability)

    @property
    def explanation(self) -> str:
        """Why the unknown actor has its probability, in the open-set model's own terms."""
        if self.features is None:
            return "no known actor has a profile to compare the evidence with"
        return f"{self.features.describe()}: one of the known actors {percent(1 - self.probability)}"

    def to_dict(self) -> dict:
        f = self.features
        return {"score": 0.0, "probability": self.probability, "verdict": self.verdict,
                "margin": round(self.margin, 4) if self.best_named is not None else None,
                "explanation": self.explanation,
                "features": None if f is None else
                {"best": f.best, "top": round(f.top, 4), "margin": round(f.margin, 4), "items": f.items,
                 "matched": f.matched, "explained": round(f.explained, 4), "specific": f.specific}}


def _matched_value(item: Item, count: float, stats: Stats, size: float) -> float:
    x = count ** COUNT_POWER * (stats.n / stats.df[item.key]) * size
    return item.weight * math.log(1 - RHO + RHO * x)


UNMATCHED = math.log(1 - RHO)


def unmatched_value(item: Item, stats: Stats) -> float:
    """An item not in the actor's profile: evidence against it if some other known actor has
    it; NEW_ITEM_WEIGHT of that if no known actor does (new software, a new technique)."""
    return item.weight * UNMATCHED * (1.0 if stats.df.get(item.key) else NEW_ITEM_WEIGHT)


def score_actor(evidence: Iterable[Item], profile: Profile, stats: Stats) -> list[Contribution]:
    """The evidence items' contributions for one actor (no prior, no claims)."""
    if not profile.size:  # known only from a claim: the evidence says nothing about it either way
        return [Contribution(i.kind, i.key, i.name, i.weight, 0.0, False, "nothing is known about this actor")
                for i in evidence]
    out = []
    for item in evidence:
        count = profile.counts.get(item.key, 0)
        if count > 0 and stats.df.get(item.key):
            detail = f"in {stats.df[item.key]} of {stats.n} actors' profiles"
            size = stats.size_factor(profile, FAMILIES.get(item.kind, item.kind))
            out.append(Contribution(item.kind, item.key, item.name, item.weight,
                                    _matched_value(item, count, stats, size), True, detail))
        else:
            detail = "not in this actor's profile" if stats.df.get(item.key) else "in no known actor's profile"
            out.append(Contribution(item.kind, item.key, item.name, item.weight, unmatched_value(item, stats),
                                    False, detail))
    return out


def fast_score(evidence: list[Item], by_key: Mapping[str, Item], base: float, profile: Profile,
               stats: Stats) -> float:
    """score_actor's sum without building the items: the all-unmatched base (sum of
    unmatched_value) plus, for each matched item, its matched value minus its unmatched one."""
    if not profile.size:
        return 0.0
    total = base
    counts = profile.counts
    sizes: dict[str, float] = {}
    for key in by_key.keys() & counts.keys():
        item = by_key[key]
        family = FAMILIES.get(item.kind, item.kind)
        if family not in sizes:
            sizes[family] = stats.size_factor(profile, family)
        total += _matched_value(item, counts[key], stats, sizes[family]) - unmatched_value(item, stats)
    return total


def rank_hypotheses(evidence: list[Item], profiles: Mapping[str, Profile], actors: Mapping[str, Actor],
                    extra: Mapping[str, list[Contribution]] | None = None,
                    stats: Stats | None = None) -> tuple[list[Hypothesis], Unknown]:
    """Every candidate (an actor with a profile) scored and ranked, best first, plus the unknown,
    each with its probability. `stats`, if given, must equal Stats.of(profiles) (a caller that
    keeps a tally)."""
    stats = stats or Stats.of(profiles)
    prior = prior_contribution(stats.n)
    mean = stats.mean_sizes.get(RECORD_FAMILY, 0.0)
    by_key = {i.key: i for i in evidence}
    base = sum(unmatched_value(i, stats) for i in evidence)
    hyps = []
    for key, profile in profiles.items():
        more = list((extra or {}).get(key, []))
        record = record_contribution(profile, stats)
        score = fast_score(evidence, by_key, base, profile, stats) + prior + record + sum(c.contribution for c in more)

        def build(profile=profile, more=more, record=record):
            size = profile.family_sizes.get(RECORD_FAMILY, 0)
            prior_item = Contribution("prior", "prior", f"prior: one of {stats.n} known actors, or one the graph "
                                      f"does not know; {size} {RECORD_FAMILY}s on record against {mean:.0f} on "
                                      "average", 1.0, prior + record,
                                      detail=f"{prior:+.2f} for one of {stats.n}, {record:+.2f} for its record")
            return score_actor(evidence, profile, stats) + [prior_item] + more
        hyps.append(Hypothesis(actors[key], score=score, build=build))
    hyps.sort(key=lambda h: (-h.score, h.actor.name.casefold(), h.actor.key))
    features = ranking_features(evidence, hyps)
    named, unknown = probabilities([h.score for h in hyps], features)
    for i, (h, p) in enumerate(zip(hyps, named), 1):
        h.rank = i
        h.probability = p
    return hyps, Unknown(hyps[0].score if hyps else None, unknown, features)


def claim_contribution(stance: str, reliability: str | None, confidence: int | None) -> tuple[float, float]:
    """(weight, contribution) of one claim about the incident, for the actors it points at."""
    conf = DEFAULT_CONFIDENCE if confidence is None else confidence
    weight = RELIABILITY_WEIGHTS.get(reliability, RELIABILITY_WEIGHTS[None])
    return weight, STANCE_SIGN.get(stance, 0.0) * weight * CLAIM_MAX * conf / 100


# -- claims and what supports or weakens them ----------------------------------------------------
@dataclass(frozen=True)
class ClaimInfo:
    key: str
    incident: str
    actor: str
    stance: str
    confidence: int | None
    date: str | None
    source: str | None
    source_name: str | None
    source_kind: str | None
    reliability: str | None
    incident_first_seen: str | None = None
    incident_name: str | None = None
    statement: str | None = None
    url: str | None = None

    def to_dict(self) -> dict:
        return {"key": self.key, "incident": self.incident, "actor": self.actor, "stance": self.stance,
                "confidence": self.confidence, "date": self.date,
                "source": {"key": self.source, "name": self.source_name, "kind": self.source_kind,
                           "reliability": self.reliability},
                "statement": self.statement, "url": self.url}



@dataclass(frozen=True)
class Point:
    """One reason a claim is supported or weakened (shown item by item)."""

    kind: str       # overlap, blind-rank, corroboration, source, confidence, denial, dispute,
                    # alternative, elsewhere, unknown, no-overlap, no-profile, ambiguous-alias, attribution
    text: str
    weight: float | None = None
    ref: str | None = None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text,
                "weight": round(self.weight, 4) if self.weight is not None else None, "ref": self.ref}


@dataclass
class ClaimAssessment:
    claim: ClaimInfo
    actor: Actor
    represented_by: list[Hypothesis]      # the candidates the claim is weighed through, best first
    candidates: int
    supports: list[Point]
    weakens: list[Point]

    @property
    def blind_rank(self) -> int | None:
        return self.represented_by[0].rank if self.represented_by else None

    def to_dict(self) -> dict:
        best = self.represented_by[0] if self.represented_by else None
        return {"claim": self.claim.to_dict(), "actor": self.actor.to_dict(),
                "blind_rank": self.blind_rank, "candidates": self.candidates,
                "blind_score": round(best.score, 4) if best else None,
                "blind_verdict": best.verdict if best else None,
                "represented_by": [{"actor": h.actor.to_dict(), "aliases": list(h.actor.aliases),
                                    "rank": h.rank, "score": round(h.score, 4),
                                    "verdict": h.verdict} for h in self.represented_by],
                "supports": [p.to_dict() for p in self.supports],
                "weakens": [p.to_dict() for p in self.weakens]}


STANCE_VERBS = {"attributes": "attributes it to", "denies": "denies involvement of",
                "disputes": "disputes that it was"}


def other_names(actor: Actor, aliases: int | None = 3) -> str:
    """'ZINC, Diamond Sleet, HIDDEN COBRA and 37 more', '' without other names; aliases=None: all."""
    names = [a for a in actor.aliases if a.casefold() != actor.name.casefold()]
    shown = names if aliases is None else names[:aliases]
    more = f" and {len(names) - len(shown)} more" if len(shown) < len(names) else ""
    return f"{', '.join(shown)}{more}"


def display(actor: Actor, aliases: int | None = 3) -> str:
    """'Lazarus Group (aka ZINC, Diamond Sleet, HIDDEN COBRA) - incl. Park Jin Hyok, sponsored by
    North Korea'; aliases=None shows them all."""
    names = other_names(actor, aliases)
    return (f"{actor.name} (aka {names})" if names else actor.name) + actor.label[len(actor.name):]


def item_label(kind: str, key: str, name: str) -> str:
    """'Impersonation [technique T1656]', or 'T1656 [technique]' when the graph has no name."""
    return f"{name} [{kind} {key}]" if name and name != key else f"{key} [{kind}]"


def _source(c: ClaimInfo) -> str:
    grade = f", reliability {c.reliability}" if c.reliability else ", reliability not graded"
    return f"{c.source_name or c.source or 'an unnamed source'} ({c.source_kind or 'source'}{grade})"


def assess_claim(claim: ClaimInfo, actor: Actor, targets: list[Hypothesis], ranking: list[Hypothesis],
                 others: list[ClaimInfo], family: set[str], names: Mapping[str, str],
                 ambiguous: list[tuple[str, list[str]]], origins: Mapping[str, list[str]],
                 unknown: Unknown | None = None) -> ClaimAssessment:
    """What supports and what weakens one claim, from the blind ranking of the evidence.

    `targets` are the blind hypotheses the claim is weighed through (the named actor, or for a
    state the groups it sponsors), best first; `family` the actor keys on the claim's side (the
    actor, its states, their groups); `others` the other claims about the incident; `origins`
    where each item of the best target's profile was seen; `unknown` the blind ranking's unknown
    actor, whose explanation is quoted."""
    supports: list[Point] = []
    weakens: list[Point] = []
    attributing = claim.stance == "attributes"
    pro, con = (supports, weakens) if attributing else (weakens, supports)
    best = targets[0] if targets else None
    n = len(ranking)

    # the evidence itself, blind
    if best is None:
        weakens.append(Point("no-profile", f"{actor.name} has no known tools, techniques, infrastructure or "
                             "victims (nor attributed incidents) to compare the evidence with"))
    else:
        label = display(best.actor, aliases=8)
        via = "" if best.actor.key == actor.key else f" (the best fit of the actors {actor.name} sponsors)"
        if best.rank <= 3:
            pro.append(Point("blind-rank", f"the evidence alone ranks {label} #{best.rank} of {n}{via}: "
                             f"score {best.score:+.2f}, probability {percent(best.probability)}, {best.verdict}",
                             best.score, best.actor.key))
        else:
            con.append(Point("blind-rank", f"the evidence alone ranks {label} only #{best.rank} of {n}{via}: "
                             f"score {best.score:+.2f}, probability {percent(best.probability)}, {best.verdict}",
                             best.score, best.actor.key))
        specific = sorted((c for c in best.items if c.matched and c.contribution >= SPECIFIC),
                          key=lambda c: -c.contribution)
        for c in specific[:8]:
            seen = origins.get(c.key) or []
            more = f" and {len(seen) - 4} more" if len(seen) > 4 else ""
            where = f"; {best.actor.name}: {'; '.join(seen[:4])}{more}" if seen else ""
            pro.append(Point("overlap", f"{item_label(c.kind, c.key, c.name)}: {c.detail}{where}", c.contribution,
                             c.key))
        if not specific:
            con.append(Point("no-overlap", f"no specific overlap between the evidence and {best.actor.name}'s "
                             "profile: what it shares is common to many actors"))
        why = f"; {unknown.explanation}" if unknown is not None else ""
        p_unknown = max(0.0, 1.0 - sum(h.probability for h in ranking))
        if p_unknown > best.probability:
            con.append(Point("unknown", f"an actor the graph does not know is likelier than {best.actor.name} "
                             f"({percent(p_unknown)} against {percent(best.probability)}, score "
                             f"{best.score:+.2f}){why}", best.score))
        elif best.probability < VERDICTS[1][0]:
            con.append(Point("unknown", f"the evidence does not single {best.actor.name} out from an actor the "
                             f"graph does not know ({percent(best.probability)} against {percent(p_unknown)}, "
                             f"score {best.score:+.2f}, {best.verdict}){why}", best.score))
        # better-fitting alternatives, and evidence that points to them instead
        alternatives = [h for h in ranking if h.actor.key not in family][:5]
        above = [h for h in alternatives if h.rank < best.rank][:3]
        for h in above:
            con.append(Point("alternative", f"{display(h.actor)} fits the evidence better: #{h.rank}, score "
                             f"{h.score:+.2f} ({h.verdict}) against {best.score:+.2f}", h.score - best.score,
                             h.actor.key))
        if not above and alternatives and alternatives[0].score > best.score - 1.0:
            h = alternatives[0]
            con.append(Point("alternative", f"{display(h.actor)} fits almost as well: #{h.rank}, score "
                             f"{h.score:+.2f} ({h.verdict})", h.score - best.score, h.actor.key))
        elsewhere = []
        for h in alternatives[:3]:
            for c in h.items:
                mine = best.contribution(c.key)
                if c.matched and c.contribution >= SPECIFIC and (mine is None or not mine.matched):
                    elsewhere.append((c, h))
        elsewhere.sort(key=lambda t: -t[0].contribution)
        done = set()
        for c, h in elsewhere:
            if c.key in done or len(done) >= 5:
                continue
            done.add(c.key)
            con.append(Point("elsewhere", f"{item_label(c.kind, c.key, c.name)} points to {h.actor.name} "
                             f"(+{c.contribution:.2f}) and is not in {best.actor.name}'s profile",
                             c.contribution, c.key))

    # the other claims
    for o in others:
        if o.key == claim.key or o.actor not in family:
            continue
        who = names.get(o.actor, o.actor)
        verb = STANCE_VERBS.get(o.stance, o.stance)
        if o.stance == claim.stance and o.source != claim.source:
            supports.append(Point("corroboration", f"{_source(o)} also {verb} {who} ({o.date or 'undated'}, "
                                  f"confidence {o.confidence})", None, o.key))
        elif o.stance != claim.stance and (attributing or o.stance == "attributes"):
            kind = {"denies": "denial", "disputes": "dispute"}.get(o.stance, "attribution")
            weakens.append(Point(kind, f"{_source(o)} {verb} {who} ({o.date or 'undated'}, confidence "
                                 f"{o.confidence})", claim_contribution(o.stance, o.reliability, o.confidence)[1],
                                 o.key))

    # the source and its own confidence
    rel = claim.reliability
    words = RELIABILITY_WORDS.get(rel, RELIABILITY_WORDS[None])
    if rel in ("A", "B"):
        supports.append(Point("source", f"{_source(claim)}: {words}", RELIABILITY_WEIGHTS[rel], claim.source))
    elif rel in ("D", "E", "F", None):
        weakens.append(Point("source", f"{_source(claim)}: {words}", RELIABILITY_WEIGHTS.get(rel), claim.source))
    if claim.confidence is not None:
        if claim.confidence >= 70:
            supports.append(Point("confidence", f"the source states confidence {claim.confidence}/100",
                                  claim.confidence / 100))
        elif claim.confidence <= 50:
            weakens.append(Point("confidence", f"the source's own confidence is only {claim.confidence}/100",
                                 claim.confidence / 100))
    for spelling, other in ambiguous[:5]:
        weakens.append(Point("ambiguous-alias", f"the name '{spelling}' also names "
                             f"{', '.join(names.get(a, a) for a in other)}: sources may mean different groups",
                             None, spelling))
    if len(ambiguous) > 5:
        weakens.append(Point("ambiguous-alias", f"and {len(ambiguous) - 5} more of its names also name other actors"))
    return ClaimAssessment(claim, actor, targets, n, supports, weakens)


# -- ACH matrix -----------------------------------------------------------------------------------
def assessment(value: float) -> str:
    if value > NEUTRAL:
        return "consistent"
    if value < -NEUTRAL:
        return "inconsistent"
    return "neutral"


def ach_rows(hypotheses: list[Hypothesis]) -> list[dict]:
    """Evidence rows x hypothesis columns (plus the unknown actor, neutral everywhere by
    construction); rows ordered by diagnosticity (spread across the named hypotheses)."""
    order: dict[str, Contribution] = {}
    for h in hypotheses:
        for c in h.items:
            order.setdefault(c.key, c)
    rows = []
    for key, first in order.items():
        cells = []
        values = []
        for h in hypotheses:
            c = h.contribution(key)
            value = c.contribution if c else 0.0
            values.append(value)
            cells.append({"actor": h.actor.key, "value": round(value, 4), "assessment": assessment(value)})
        cells.append({"actor": "unknown", "value": 0.0, "assessment": "neutral"})
        rows.append({"kind": first.kind, "key": key, "name": first.name, "weight": round(first.weight, 4),
                     "diagnosticity": round(max(values) - min(values), 4) if values else 0.0,
                     "cells": cells})
    rows.sort(key=lambda r: (r["kind"] == "prior", -r["diagnosticity"], r["key"]))
    return rows


# -- baselines (benchmark) ------------------------------------------------------------------------
def jaccard_scores(evidence: set[str], profiles: Mapping[str, set[str]]) -> dict[str, float]:
    out = {}
    for key, items in profiles.items():
        union = len(evidence | items)
        out[key] = len(evidence & items) / union if union else 0.0
    return out


def idf_scores(evidence: set[str], profiles: Mapping[str, set[str]]) -> dict[str, float]:
    df: Counter = Counter()
    for items in profiles.values():
        df.update(items)
    n = len(profiles)
    return {key: sum(math.log(n / df[i]) for i in evidence & items) for key, items in profiles.items()}


def rank_of(truth: str | Iterable[str], scores: Mapping[str, float]) -> int:
    """1-based rank of the best-scoring true actor; ties count against it (pessimistic)."""
    truths = [truth] if isinstance(truth, str) else list(truth)
    best = max(scores.get(t, -math.inf) for t in truths)
    return 1 + sum(1 for k, v in scores.items() if v >= best and k not in truths)


def summarise(ranks: list[int]) -> dict:
    n = len(ranks)
    if not n:
        return {"n": 0, "top1": None, "top3": None, "top5": None, "mrr": None}
    return {"n": n, "top1": round(sum(r == 1 for r in ranks) / n, 3),
            "top3": round(sum(r <= 3 for r in ranks) / n, 3),
            "top5": round(sum(r <= 5 for r in ranks) / n, 3),
            "mrr": round(sum(1 / r for r in ranks) / n, 3)}
