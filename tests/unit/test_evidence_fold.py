"""The snapshot's folded profiles (graph/analysis/evidence.py) against their definition: each
candidate's own parts and its attributed incidents' parts merged, without a database."""
from __future__ import annotations

import random
from dataclasses import replace

from graph.analysis import scoring
from graph.analysis.evidence import ActorInfo, Links, RawItem, Snapshot, expand, merge, profile_part
from graph.analysis.scoring import ClaimInfo, Stats

LINKS = Links(parents={"T1.001": ("T1", "one"), "T2.001": ("T2", "two")},
              tool_techniques={"tool:0": [("T3", "three", None), ("T2.001", "two-one", "2021-01-01")]})
POOL = (["Technique"] * 5 + ["Tool"] * 3 + ["Infrastructure", "Organization", "Country"])


def raw_item(rng: random.Random, date: str) -> RawItem:
    label = rng.choice(POOL)
    key = {"Technique": rng.choice(["T1", "T1.001", "T2", "T2.001", "T3", "T4"]),
           "Tool": f"tool:{rng.randint(0, 3)}", "Infrastructure": f"domain:{rng.randint(0, 5)}.example",
           "Organization": f"org:{rng.randint(0, 2)}", "Country": rng.choice(["KP", "RU"])}[label]
    sectors = (("sector:health", "health"),) if label == "Organization" else ()
    return RawItem(label, key, key, "custom" if label == "Tool" else None, created=date, sectors=sectors)


def world(seed: int = 3) -> Snapshot:
    rng = random.Random(seed)
    actors = {f"g{i}": ActorInfo(f"g{i}", f"G{i}", "group", created="2019-01-01" if i == 4 else None)
              for i in range(5)}
    actors["g1"] = replace(actors["g1"], same_as=(("g2", ("src:x",), "2020-06-01"),))
    actor_items = {k: [raw_item(rng, None) for _ in range(rng.randint(0, 4))] for k in actors}
    incidents, claims = {}, []
    for n in range(40):
        key = f"inc:{n:02d}"
        date = f"{rng.randint(2018, 2022)}-0{rng.randint(1, 9)}-01"
        incidents[key] = [raw_item(rng, date) for _ in range(rng.randint(1, 6))]
        for actor in rng.sample(sorted(actors), rng.randint(1, 2)):
            stance = rng.choice(["attributes", "attributes", "disputes"])
            claims.append(ClaimInfo(f"c{n}-{actor}", key, actor, stance, 70, date, "src:v", "V", "vendor", "B",
                                    date, f"Incident {n}"))
    return Snapshot((1, 1), actors, {}, actor_items, incidents, claims, Links(LINKS.parents, LINKS.tool_techniques))


def by_definition(snap: Snapshot, actor: str, exclude: str | None = None) -> scoring.Profile:
    """merge(own parts of the actor's group + the parts of every incident attributed to it)."""
    members = snap.members(actor)
    own = [profile_part(snap.actor_items.get(m, ()), snap.links, "USES" if m == actor else f"USES {m}",
                        snap.as_of_date) for m in members]
    attributed = snap.attributions()
    incidents = sorted(set().union(*(attributed.get(m, ()) for m in members)) - {exclude})
    return merge(own + [profile_part(snap.incident_items[i], snap.links, i, snap.as_of_date) for i in incidents])


def test_folded_profiles_and_their_origins_are_the_merged_parts():
    base = world()
    for snap in (base, base.as_of("2020-12-31")):
        profiles = snap.profiles()
        assert profiles and snap.same_group().get("g2") in (None, "g1", "g2")
        for key, p in profiles.items():
            want = by_definition(snap, key)
            assert dict(p.counts) == dict(want.counts) and p.families == want.families
            assert dict(p.origins.items()) == want.origins
        for incident in sorted(snap.incident_items)[:12]:
            less = snap.profiles(exclude_incident=incident)
            for key, p in less.items():
                want = by_definition(snap, key, exclude=incident)
                assert dict(p.counts) == dict(want.counts) and p.family_sizes == want.family_sizes
                assert dict(p.origins.items()) == want.origins
            # the kept tally with the changed profiles swapped gives the same figures as a new one
            fresh, kept = Stats.of(less), snap.stats(less)
            assert kept.n == fresh.n and kept.mean_sizes == fresh.mean_sizes
            assert {k: kept.df.get(k) or 0 for k in fresh.df} == {k: v for k, v in fresh.df.items()}


def test_an_expansion_memo_changes_nothing():
    rng = random.Random(5)
    memo: dict = {}
    for _ in range(50):
        raw = [raw_item(rng, rng.choice([None, "2020-01-01", "2022-01-01"])) for _ in range(rng.randint(0, 8))]
        assert expand(raw, LINKS, "2021-06-01", memo) == expand(raw, LINKS, "2021-06-01")
