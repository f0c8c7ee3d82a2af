"""The attribution engine's scoring (graph/analysis/scoring.py) and evidence expansion, without a database."""
from __future__ import annotations

import math
import random

import pytest

from graph.analysis import scoring
from graph.analysis.evidence import Links, RawItem, Snapshot, expand, known, merge, profile_part
from graph.analysis.scoring import (Actor, ClaimInfo, Contribution, Item, Profile, Stats, ach_rows, assess_claim,
                           claim_contribution, fast_score, idf_scores, jaccard_scores, make_item, rank_hypotheses,
                           rank_of, score_actor, summarise, verdict)


def profile(*keys: str, counts: dict | None = None) -> Profile:
    p = Profile()
    for k in keys:
        p.add(k, (counts or {}).get(k, 1.0), "USES", "tool" if k.startswith("tool") else "technique")
    return p


def actors_for(profiles: dict) -> dict:
    return {k: Actor(k, k.upper(), aliases=[f"{k}-alias"]) for k in profiles}


GENERIC = [f"T{1000 + i}" for i in range(6)]   # everybody has these


def world(n_generic_actors: int = 20) -> dict[str, Profile]:
    """A population of actors that all share some generic techniques, plus two with signatures."""
    profiles = {f"g{i}": profile(*GENERIC, f"T2{i:03d}") for i in range(n_generic_actors)}
    profiles["lazarus"] = profile(*GENERIC, "tool:dratzarus", "T1566.003", "T1585.001")
    profiles["apt29"] = profile(*GENERIC, "tool:wellmess", "T1190")
    profiles["huge"] = profile(*GENERIC, *[f"T3{i:03d}" for i in range(400)], "T1566.003")
    return profiles


def tech(key: str) -> Item:
    return make_item("technique", key, key)


# -- contributions and the score ------------------------------------------------------------------------
def test_contributions_add_up_to_the_score_for_every_hypothesis():
    rng = random.Random(3)
    keys = [f"T{1000 + i}" for i in range(60)] + [f"tool:{i}" for i in range(20)]
    profiles = {f"a{i}": profile(*rng.sample(keys, rng.randint(1, 40)),
                                 counts={k: rng.choice([0.25, 1, 2, 3]) for k in keys})
                for i in range(30)}
    evidence = [make_item("tool", k, k, rng.choice(["custom", "public", None])) if k.startswith("tool")
                else tech(k) for k in rng.sample(keys, 25)]
    extra = {"a1": [Contribution("claim", "claim:1", "a claim", 0.8, 1.2, True)]}
    ranking, unknown = rank_hypotheses(evidence, profiles, actors_for(profiles), extra)
    assert len(ranking) == 30
    for h in ranking:
        assert h.score == pytest.approx(sum(c.contribution for c in h.items), abs=1e-9)
        d = h.to_dict()
        assert d["score"] == pytest.approx(sum(i["contribution"] for i in d["items"]), abs=1e-9)
        assert {"kind", "key", "name", "weight", "contribution"} <= set(d["items"][0])
        assert len(h.items) == len(evidence) + 1 + (1 if h.actor.key == "a1" else 0)   # + prior (+ claim)
    assert [h.rank for h in ranking] == list(range(1, 31))
    assert all(a.score >= b.score for a, b in zip(ranking, ranking[1:]))
    assert unknown.score == 0.0 and unknown.best_named == ranking[0].score


@pytest.mark.parametrize("temperature", [0.7, 1.0, 2.5])
def test_probabilities_sum_to_one_follow_the_scores_and_set_the_verdicts(monkeypatch, temperature):
    model = scoring.OpenSet(scoring.OPEN_SET.intercept, scoring.OPEN_SET.weights, temperature)
    monkeypatch.setattr(scoring, "OPEN_SET", model)
    rng = random.Random(5)
    keys = [f"T{1000 + i}" for i in range(40)] + [f"tool:{i}" for i in range(10)]
    profiles = {f"a{i}": profile(*rng.sample(keys, rng.randint(1, 30))) for i in range(25)}
    for evidence in ([tech(k) for k in rng.sample(keys, 12)], [tech("T1000")], []):
        ranking, unknown = rank_hypotheses(evidence, profiles, actors_for(profiles))
        total = sum(h.probability for h in ranking) + unknown.probability
        assert abs(total - 1.0) <= 1e-6
        # the unknown actor: 1 - P(known) from the open-set features; the named share P(known)
        assert unknown.probability == pytest.approx(1 - model.p_known(unknown.features), rel=1e-12)
        for a, b in zip(ranking, ranking[1:]):   # p(A) / p(B) = exp((s_A - s_B) / T)
            assert a.probability / b.probability == pytest.approx(math.exp((a.score - b.score) / temperature),
                                                                  rel=1e-9)
        for h in ranking:
            assert h.verdict == verdict(h.probability)
            assert h.score == pytest.approx(sum(c.contribution for c in h.items), abs=1e-9)
        assert all(a.probability >= b.probability for a, b in zip(ranking, ranking[1:]))
        assert unknown.verdict == verdict(unknown.probability)
    assert scoring.probabilities([], None) == ([], 1.0)
    features = scoring.Features("x", 800.0, 1600.0, 3, 3, 1.0, 3)
    named, unknown = scoring.probabilities([800.0, -800.0], features)       # no overflow at extreme scores
    assert named[0] == pytest.approx(1.0) and unknown >= 0 and abs(sum(named) + unknown - 1) <= 1e-12
    low = scoring.Features("x", -800.0, 0.0, 3, 0, 0.0, 0)
    assert scoring.probabilities([-800.0, -800.0], low)[1] == pytest.approx(1.0)


def test_the_open_set_features_describe_the_best_fit_and_explain_the_unknown_actor():
    profiles = world()
    evidence = [make_item("tool", "tool:dratzarus", "DRATzarus", "custom"), tech("T1566.003"), tech("T1000"),
                tech("T9999")]
    ranking, unknown = rank_hypotheses(evidence, profiles, actors_for(profiles))
    f = unknown.features
    best = ranking[0]
    assert (f.best, f.top, f.items) == ("LAZARUS", best.score, 4)
    assert f.margin == pytest.approx(best.score - ranking[1].score)
    assert f.matched == 3       # DRATzarus, T1566.003 and T1000; T9999 is in no profile
    weights = {i.key: i.weight for i in evidence}
    assert f.explained == pytest.approx((weights["tool:dratzarus"] + 2 * weights["T1000"]) / sum(weights.values()))
    assert f.specific == sum(1 for c in best.items if c.matched and c.kind != "prior"
                             and c.contribution >= scoring.SPECIFIC) >= 1
    assert len(f.vector()) == len(scoring.FEATURES) == len(scoring.OPEN_SET.weights)
    assert unknown.explanation.startswith("the best fit, LAZARUS, explains 3 of 4 items (")
    assert unknown.explanation.endswith(f"one of the known actors {scoring.percent(1 - unknown.probability)}")
    d = unknown.to_dict()
    assert d["explanation"] == unknown.explanation and d["features"]["matched"] == 3
    # more of the evidence explained by the best fit: the open-set model is surer it is a known actor
    assert scoring.OPEN_SET.weights[scoring.FEATURES.index("explained")] > 0
    _, none = rank_hypotheses(evidence, {}, {})
    assert none.probability == 1.0 and none.features is None and "no known actor" in none.explanation


def test_headline_names_the_likeliest_answers_and_always_the_unknown_actor():
    profiles = world()
    specific = [make_item("tool", "tool:dratzarus", "DRATzarus", "custom"), tech("T1566.003"), tech("T1585.001")]
    ranking, unknown = rank_hypotheses(specific, profiles, actors_for(profiles))
    line = scoring.headline(ranking, unknown)
    assert line.startswith(f"LAZARUS {scoring.percent(ranking[0].probability)}, ")
    assert "an unknown actor " + scoring.percent(unknown.probability) in line
    assert scoring.percent(0.621) == "62%" and scoring.percent(0.001) == "<1%"


def test_fast_score_equals_the_itemised_sum():
    profiles = world()
    stats = Stats.of(profiles)
    evidence = [tech("T1566.003"), tech("T1000"), make_item("tool", "tool:dratzarus", "DRATzarus", "custom"),
                tech("T9999")]
    by_key = {i.key: i for i in evidence}
    base = sum(scoring.unmatched_value(i, stats) for i in evidence)
    for p in profiles.values():
        assert fast_score(evidence, by_key, base, p, stats) == pytest.approx(
            sum(c.contribution for c in score_actor(evidence, p, stats)), abs=1e-9)


# -- specificity -------------------------------------------------------------------------------------------
def test_rare_items_count_more_than_common_ones():
    profiles = world()
    stats = Stats.of(profiles)
    items = {c.key: c.contribution for c in score_actor([tech("T1000"), tech("T1585.001")], profiles["lazarus"], stats)}
    assert items["T1585.001"] > 1.0 > items["T1000"]


def test_software_counts_more_than_a_technique_and_public_tools_little():
    profiles = {"a": profile("x", "pad1"), "b": profile("pad2"), "c": profile("pad3")}
    stats = Stats.of(profiles)

    def value(item):
        return score_actor([item], profiles["a"], stats)[0].contribution
    custom = value(make_item("tool", "x", "X", "custom"))
    technique = value(make_item("technique", "x", "X"))
    public = value(make_item("tool", "x", "X", "public"))
    leaked = value(make_item("tool", "x", "X", "leaked"))
    assert custom > technique > public > 0 and leaked == public


def test_profile_size_is_compared_within_a_family_of_evidence():
    small = profile("T1", "T2")
    big_victims = profile("T1", "T2")
    for i in range(300):
        big_victims.add(f"country:{i}", 1, "USES", "country")
    many_techniques = profile("T1", *[f"T{100 + i}" for i in range(300)])
    profiles = {"small": small, "victims": big_victims, "techniques": many_techniques, "pad": profile("T9")}
    stats = Stats.of(profiles)
    value = {k: score_actor([tech("T1")], p, stats)[0].contribution for k, p in profiles.items() if k != "pad"}
    assert value["small"] == pytest.approx(value["victims"])     # victims do not dilute techniques
    assert value["techniques"] < value["small"]


def test_a_huge_profile_does_not_win_by_having_everything():
    profiles = world()
    evidence = [tech("T1566.003"), tech("T1000"), tech("T1001")]
    ranking, _ = rank_hypotheses(evidence, profiles, actors_for(profiles))
    assert ranking[0].actor.key == "lazarus"
    assert next(h for h in ranking if h.actor.key == "huge").score < ranking[0].score


def test_specific_evidence_beats_the_unknown_actor_and_generic_evidence_does_not():
    profiles = world()
    specific = [make_item("tool", "tool:dratzarus", "DRATzarus", "custom"), tech("T1566.003"), tech("T1585.001")]
    ranking, unknown = rank_hypotheses(specific, profiles, actors_for(profiles))
    assert ranking[0].actor.key == "lazarus" and ranking[0].score > 0
    assert ranking[0].verdict in ("strong", "moderate") and unknown.verdict in ("weak", "inconsistent")
    assert unknown.probability < 0.2 < 0.75 < ranking[0].probability

    generic = [tech("T1000"), tech("T1001"), make_item("tool", "tool:mimikatz", "Mimikatz", "public")]
    ranking, unknown = rank_hypotheses(generic, profiles, actors_for(profiles))
    assert ranking[0].score < 0 < unknown.margin
    assert unknown.verdict in ("weak", "moderate", "strong")


def test_unmatched_evidence_counts_against_and_the_prior_is_an_item():
    profiles = world()
    ranking, _ = rank_hypotheses([tech("T2000")], profiles, actors_for(profiles))   # only g0 has it
    for h in ranking:
        kinds = {c.kind: c for c in h.items}
        if h.actor.key != "g0":
            assert kinds["technique"].contribution < 0 and not kinds["technique"].matched
        u = scoring.UNKNOWN_PRIOR
        record = scoring.record_contribution(profiles[h.actor.key], Stats.of(profiles))
        assert kinds["prior"].contribution == pytest.approx(-math.log(len(profiles) * u / (1 - u)) + record)
    # the record part: more techniques on record than an average actor, a little likelier
    stats = Stats.of(profiles)
    assert scoring.record_contribution(profiles["huge"], stats) > 0 > scoring.record_contribution(profiles["g0"], stats)
    assert scoring.record_contribution(Profile(), stats) == 0.0


def test_an_item_no_known_actor_has_is_neutral():
    profiles = world()
    new_tool = make_item("tool", "tool:brand-new", "Brand new", "custom")
    ranking, _ = rank_hypotheses([new_tool, tech("T9999")], profiles, actors_for(profiles))
    for h in ranking:
        assert [c.contribution for c in h.items if c.kind != "prior"] == [0.0, 0.0]
        assert all(c.detail == "in no known actor's profile" for c in h.items if c.kind != "prior")


def test_verdict_words_come_from_one_table():
    assert [verdict(p) for p in (1.0, 0.75, 0.6, 0.4, 0.3, 0.1, 0.09, 0.0)] == \
        ["strong", "strong", "moderate", "moderate", "weak", "weak", "inconsistent", "inconsistent"]
    assert [w for _, w in scoring.VERDICTS] == ["strong", "moderate", "weak", "inconsistent"]


def test_claims_weigh_by_reliability_confidence_and_stance():
    assert claim_contribution("attributes", "A", 100) == (1.0, pytest.approx(scoring.CLAIM_MAX))
    w_b, v_b = claim_contribution("attributes", "B", 50)
    w_e, v_e = claim_contribution("denies", "E", 80)
    assert v_b > 0 > v_e and w_b > w_e and abs(v_e) < v_b
    assert claim_contribution("attributes", None, None)[1] > 0


# -- evidence expansion and profiles --------------------------------------------------------------------------
LINKS = Links(parents={"T1566.003": ("T1566", "Phishing")},
              tool_techniques={"tool:x": [("T1059", "Command and Scripting Interpreter", None),
                                          ("T1566.003", "Spearphishing via Service", "2030-01-01")]})


def test_a_subtechnique_counts_weaker_for_its_parent_and_tools_imply_their_techniques():
    raw = [RawItem("Technique", "T1566.003", "Spearphishing via Service"),
           RawItem("Tool", "tool:x", "X", "custom"),
           RawItem("Organization", "org:az", "AstraZeneca", sectors=(("sector:pharma", "pharma"),),
                   countries=(("GB", "United Kingdom"),))]
    items = {i.key: i for i in expand(raw, LINKS)}
    assert items["T1566.003"].kind == "technique" and items["T1566"].kind == "technique-parent"
    assert items["T1566"].weight < items["T1566.003"].weight
    assert items["T1059"].kind == "technique-implied" and items["T1059"].weight < items["T1566"].weight
    assert items["tool:x"].weight == 1.0
    assert {items["org:az"].kind, items["sector:pharma"].kind, items["GB"].kind} == {"organization", "sector", "country"}
    # what a tool implies never overrides what the incident names itself
    assert items["T1566.003"].kind == "technique"


def test_as_of_drops_what_was_not_known_yet():
    raw = [RawItem("Technique", "T1", "one", created="2019-05-01"), RawItem("Technique", "T2", "two", created="2021-01-01"),
           RawItem("Tool", "tool:x", "X", item_created="2022-01-01")]
    assert [i.key for i in expand(raw, Links(), as_of="2020-01-01")] == ["T1"]
    assert known(None, "2020-01-01") and known("2020-01-01", "2020-01-01") and not known("2020-01-02", "2020-01-01")


def test_profile_parts_count_implied_techniques_less():
    part = profile_part([RawItem("Tool", "tool:x", "X"), RawItem("Technique", "T1059", "cmd")], LINKS, "USES", None)
    assert part.counts["tool:x"] == 1 and part.counts["T1059"] == 1  # named itself: full count
    part = profile_part([RawItem("Tool", "tool:x", "X")], LINKS, "inc:1", None)
    assert part.counts["T1059"] == scoring.IMPLIED_COUNT and part.origins["T1059"] == {"inc:1"}
    both = merge([part, profile_part([RawItem("Tool", "tool:x", "X")], LINKS, "inc:2", None)])
    assert both.counts["tool:x"] == 2 and both.origins["tool:x"] == {"inc:1", "inc:2"}


def _claim(key, incident, actor, stance="attributes", date="2020-01-01", source="src:v", reliability="B",
           confidence=80, first_seen="2019-01-01"):
    return ClaimInfo(key, incident, actor, stance, confidence, date, source, source, "vendor", reliability,
                     first_seen, incident)


def snapshot_of(actors: dict, actor_items: dict, incident_items: dict, claims: list) -> Snapshot:
    from graph.analysis.evidence import ActorInfo
    infos = {k: ActorInfo(k, k, kind, created=created, sponsors=sponsors, state_of=state_of)
             for k, (kind, created, sponsors, state_of) in actors.items()}
    return Snapshot((1, 1), infos, {}, actor_items, incident_items, claims, Links())


def test_profiles_never_count_the_incident_under_study_and_respect_as_of():
    snap = snapshot_of(
        {"g1": ("group", None, ("KP",), ()), "g2": ("group", "2021-06-01", (), ()), "state:KP": ("state", None, (), ("KP",))},
        {"g1": [RawItem("Technique", "T1", "one")], "g2": [RawItem("Technique", "T2", "two")]},
        {"inc:a": [RawItem("Tool", "tool:a", "A")], "inc:b": [RawItem("Tool", "tool:b", "B")]},
        [_claim("c1", "inc:a", "g1", date="2020-01-01"), _claim("c2", "inc:b", "g1", date="2021-01-01"),
         _claim("c3", "inc:b", "g1", stance="denies")])
    full = snap.profiles()
    assert set(full) == {"g1", "g2"}                       # states are not candidates
    assert {"T1", "tool:a", "tool:b"} <= set(full["g1"].counts)
    assert "tool:a" not in snap.profiles(exclude_incident="inc:a")["g1"].counts
    assert "tool:a" in snap.profiles()["g1"].counts        # the cache is not modified by exclusion
    then = snap.as_of("2020-06-01")
    assert "tool:b" not in then.profiles()["g1"].counts    # claimed only in 2021
    assert "g2" not in then.profiles()                     # created later
    assert snap.sponsored("state:KP") == ["g1"] and snap.states_of("g1") == ["state:KP"]


def test_actors_a_source_says_are_one_group_pool_their_evidence_on_one_node():
    from dataclasses import replace

    snap = snapshot_of(
        {"a": ("group", None, (), ()), "b": ("group", None, (), ()), "c": ("group", None, (), ()),
         "d": ("group", None, (), ())},
        {"a": [RawItem("Technique", "T1", "one")],
         "b": [RawItem("Technique", "T2", "two"), RawItem("Technique", "T3", "three")],
         "c": [RawItem("Tool", "tool:c", "C")], "d": [RawItem("Technique", "T1", "one")]},
        {"inc:a": [RawItem("Tool", "tool:a", "A")]},
        [_claim("c1", "inc:a", "a")])
    # a -- b (a source, 2020) and b -- c (another, 2022): one group of three, a chain
    snap.actors["a"] = replace(snap.actors["a"], same_as=(("b", ("src:x",), "2020-01-01"),))
    snap.actors["c"] = replace(snap.actors["c"], same_as=(("b", ("src:y",), "2022-01-01"),))
    assert snap.same_group() == {"a": "b", "b": "b", "c": "b"}     # b has the largest own profile
    assert snap.members("b") == ["b", "a", "c"] and snap.members("d") == ["d"]
    full = snap.profiles()
    assert set(full) == {"b", "d"}                                  # the others stay nodes, not candidates
    pooled = full["b"]
    assert {"T1", "T2", "T3", "tool:c", "tool:a"} <= set(pooled.counts)
    assert pooled.origins["T1"] == {"USES a"} and pooled.origins["T2"] == {"USES"}
    assert pooled.origins["tool:a"] == {"inc:a"}                    # an incident attributed to a counts for b
    assert "tool:a" not in snap.profiles(exclude_incident="inc:a")["b"].counts
    # before the second source said so, c is a group of its own
    then = snap.as_of("2021-01-01")
    assert then.same_group() == {"a": "b", "b": "b"} and set(then.profiles()) == {"b", "c", "d"}


# -- claims: supports and weakens -----------------------------------------------------------------------------
def test_assess_claim_lists_overlaps_denials_alternatives_aliases_and_weak_sources():
    profiles = world()
    evidence = [make_item("tool", "tool:dratzarus", "DRATzarus", "custom"), tech("T1566.003"), tech("T1585.001"),
                make_item("tool", "tool:wellmess", "WellMess", "custom"), tech("T1190")]
    actors = actors_for(profiles)
    ranking, _ = rank_hypotheses(evidence, profiles, actors)
    lazarus = next(h for h in ranking if h.actor.key == "lazarus")
    attribution = _claim("c1", "inc", "state:KP", reliability="D", confidence=40)
    denial = _claim("c2", "inc", "state:KP", stance="denies", source="src:kp", reliability="E")
    a = assess_claim(attribution, Actor("state:KP", "North Korea", "state"), [lazarus], ranking,
                     [attribution, denial], {"state:KP", "lazarus"}, {"state:KP": "North Korea"},
                     [("hiddencobra", ["g1"])], {"tool:dratzarus": ["seen in Operation Dream Job"]})
    supports = {p.kind for p in a.supports}
    weakens = {p.kind for p in a.weakens}
    assert "overlap" in supports and any("DRATzarus" in p.text and "Dream Job" in p.text for p in a.supports)
    assert {"denial", "source", "confidence", "ambiguous-alias"} <= weakens
    assert "elsewhere" in weakens or "alternative" in weakens       # WellMess points to APT29
    assert a.blind_rank == lazarus.rank and a.to_dict()["represented_by"][0]["actor"]["key"] == "lazarus"

    # the denial itself: weakened by the overlaps and by the attribution
    d = assess_claim(denial, Actor("state:KP", "North Korea", "state"), [lazarus], ranking, [attribution, denial],
                     {"state:KP", "lazarus"}, {}, [], {})
    assert "overlap" in {p.kind for p in d.weakens} and "attribution" in {p.kind for p in d.weakens}


def test_assess_claim_without_a_profile_says_so():
    profiles = world()
    ranking, _ = rank_hypotheses([tech("T1000")], profiles, actors_for(profiles))
    a = assess_claim(_claim("c", "inc", "nobody"), Actor("nobody", "Nobody"), [], ranking, [], {"nobody"}, {}, [], {})
    assert a.blind_rank is None and [p.kind for p in a.weakens][0] == "no-profile"


# -- ACH matrix ---------------------------------------------------------------------------------------------------
def test_ach_rows_are_evidence_by_hypothesis_with_an_unknown_column():
    profiles = world()
    evidence = [make_item("tool", "tool:dratzarus", "DRATzarus", "custom"), tech("T1000")]
    ranking, _ = rank_hypotheses(evidence, profiles, actors_for(profiles))
    rows = ach_rows(ranking[:3])
    assert rows[0]["key"] == "tool:dratzarus"                          # the most diagnostic first
    assert rows[-1]["kind"] == "prior"
    first = rows[0]["cells"]
    assert [c["actor"] for c in first] == [h.actor.key for h in ranking[:3]] + ["unknown"]
    assert first[0]["assessment"] == "consistent" and first[1]["assessment"] == "inconsistent"
    assert first[-1] == {"actor": "unknown", "value": 0.0, "assessment": "neutral"}


# -- baselines ----------------------------------------------------------------------------------------------------
def test_baselines_and_rank_summaries():
    profiles = {"a": {"x", "y"}, "b": {"x"}, "c": {"z"}}
    assert jaccard_scores({"x", "y"}, profiles) == {"a": 1.0, "b": 0.5, "c": 0.0}
    idf = idf_scores({"x", "y"}, profiles)
    assert idf["a"] > idf["b"] > idf["c"] == 0
    assert rank_of("a", {"a": 1, "b": 1, "c": 0}) == 2          # ties count against
    assert rank_of("a", {"a": 2, "b": 1}) == 1
    assert summarise([1, 2, 10]) == {"n": 3, "top1": 0.333, "top3": 0.667, "top5": 0.667, "mrr": 0.533}


def test_an_actor_known_only_from_a_claim_is_scored_on_the_claim_alone():
    profiles = world()
    profiles["claimed"] = Profile()
    extra = {"claimed": [Contribution("claim", "claim:1", "a claim", 0.8, 2.0, True)]}
    ranking, _ = rank_hypotheses([tech("T1000"), tech("T9999")], profiles, actors_for(profiles), extra)
    h = next(h for h in ranking if h.actor.key == "claimed")
    assert [c.contribution for c in h.items if c.kind == "technique"] == [0.0, 0.0]
    assert h.score == pytest.approx(2.0 + scoring.prior_contribution(len(profiles) - 1))  # profiled actors
