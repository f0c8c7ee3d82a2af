"""Deterministic synthetic incident data with realistic skew, written as record CSV files.

A few hundred actors with Zipf-like activity; tools and techniques drawn from long-tailed
pools (each actor has a profile it mostly draws from, plus commodity tools everybody uses);
1-3 claims per incident from several sources, some disputing, some states denying;
infrastructure reused within an actor. Same seed, same files.

    python tests/benchmarks/synthetic.py --incidents 10000 --out /tmp/synth
"""
from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

SOURCE_KINDS = ["vendor"] * 10 + ["news"] * 6 + ["government"] * 4
STATES = ["KP", "RU", "CN", "IR", "VN", "PK", "IN", "KR", "US", "IL"]
SECTORS = ["government", "defense", "energy", "finance", "healthcare", "pharmaceuticals", "telecoms",
           "media", "education", "manufacturing", "transport", "retail", "technology", "legal",
           "aerospace", "ngo", "hospitality", "chemicals", "mining", "agriculture"]
COUNTRIES = ["US", "GB", "DE", "FR", "JP", "KR", "IN", "IL", "UA", "SA", "AE", "TW", "SG", "AU",
             "CA", "BR", "MX", "IT", "ES", "NL", "PL", "TR", "VN", "TH", "PH", "ID", "MY", "ZA"]


def zipf_weights(n: int, s: float) -> list[float]:
    return [1.0 / (rank ** s) for rank in range(1, n + 1)]


@dataclass
class Actor:
    key: str
    name: str
    sponsor: str
    tools: list[str]
    techniques: list[str]
    sectors: list[str]
    countries: list[str]
    infrastructure: list[str] = field(default_factory=list)


class Generator:
    def __init__(self, seed: int = 7, actors: int = 300, tools: int = 1200, techniques: int = 600):
        self.rng = random.Random(seed)
        rng = self.rng
        self.tool_names = [f"Synth Tool {i:05d}" for i in range(tools)]
        # The first 40 tools stand for commodity tools that every actor uses now and then.
        self.commodity = range(40)
        parents = [f"T{1000 + i}" for i in range(techniques // 3)]
        subs = [f"{rng.choice(parents)}.{rng.randint(1, 9):03d}" for _ in range(techniques - len(parents))]
        self.techniques = sorted(set(parents + subs))
        self.tool_weights = zipf_weights(tools, 0.9)
        self.tech_weights = zipf_weights(len(self.techniques), 1.0)
        self.sources = [(f"src:synth-{i:02d}", f"Synthetic Source {i:02d}", SOURCE_KINDS[i])
                        for i in range(len(SOURCE_KINDS))]
        self.actors = [self._actor(i) for i in range(actors)]
        self.actor_weights = zipf_weights(actors, 1.1)

    def _draw(self, pool: list[str], weights: list[float], k: int) -> list[str]:
        """k distinct items, weighted, without replacement (Efraimidis-Spirakis keys)."""
        keyed = sorted(((self.rng.random() ** (1.0 / w), item) for item, w in zip(pool, weights)), reverse=True)
        return [item for _, item in keyed[:k]]

    def _actor(self, i: int) -> Actor:
        rng = self.rng
        tools = self._draw(self.tool_names, self.tool_weights, rng.randint(4, 25))
        techniques = self._draw(self.techniques, self.tech_weights, rng.randint(15, 70))
        return Actor(f"actor:synth-{i:04d}", f"Synthetic Group {i:04d}", rng.choice(STATES), tools,
                     techniques, rng.sample(SECTORS, rng.randint(1, 4)), rng.sample(COUNTRIES, rng.randint(1, 6)))

    def _infra(self, actor: Actor, n: int) -> str:
        # Reuse the actor's infrastructure 70% of the time once it has some.
        if actor.infrastructure and self.rng.random() < 0.7:
            return self.rng.choice(actor.infrastructure)
        kind = self.rng.choice(["domain", "ip", "email", "url"])
        value = {"domain": f"c2-{n:07d}.example", "ip": f"10.{n % 250}.{(n // 250) % 250}.{n % 97}",
                 "email": f"op{n:07d}@mail.example", "url": f"https://dl-{n:07d}.example/p"}[kind]
        actor.infrastructure.append(f"{kind}:{value}")
        return actor.infrastructure[-1]

    def write(self, out: Path, incidents: int) -> dict:
        out.mkdir(parents=True, exist_ok=True)
        rng = self.rng
        with open(out / "sources.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["key", "name", "kind", "reliability"])
            for key, name, kind in self.sources:
                w.writerow([key, name, kind, rng.choice("ABC")])
        with open(out / "actors.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["key", "name", "kind", "country", "sponsor", "aliases", "sources", "tools",
                        "techniques", "target_sectors", "target_countries"])
            for code in STATES:
                w.writerow([f"state:{code}", f"State {code}", "state", code, "", "", "", "", "", "", ""])
            for a in self.actors:
                w.writerow([a.key, a.name, "group", "", a.sponsor, f"{a.name} Team;SG-{a.key[-4:]}",
                            self.sources[0][0], ";".join(a.tools), ";".join(a.techniques),
                            ";".join(a.sectors), ";".join(a.countries)])
        claims = 0
        with open(out / "incidents.csv", "w", newline="") as fi, open(out / "claims.csv", "w", newline="") as fc:
            wi, wc = csv.writer(fi), csv.writer(fc)
            wi.writerow(["key", "name", "first_seen", "last_seen", "sectors", "countries", "organizations",
                         "tools", "techniques", "infrastructure", "sources"])
            wc.writerow(["incident", "actor", "source", "stance", "confidence", "date"])
            for n in range(incidents):
                actor = rng.choices(self.actors, self.actor_weights)[0]
                tools = rng.sample(actor.tools, min(len(actor.tools), rng.randint(1, 3)))
                if rng.random() < 0.3:
                    tools.append(self.tool_names[rng.choice(self.commodity)])
                techniques = rng.sample(actor.techniques, min(len(actor.techniques), rng.randint(3, 10)))
                infra = sorted({self._infra(actor, n) for _ in range(rng.randint(1, 3))})
                year, month, day = rng.randint(2010, 2024), rng.randint(1, 12), rng.randint(1, 28)
                first_seen = f"{year}-{month:02d}-{day:02d}"
                sources = rng.sample(self.sources, rng.randint(1, 2))
                org = f"Organisation {rng.randint(0, incidents // 3):06d}" if rng.random() < 0.5 else ""
                wi.writerow([f"synth:{n:07d}", f"Synthetic incident {n:07d}", first_seen, "",
                             rng.choice(actor.sectors), ";".join(rng.sample(actor.countries, 1)), org,
                             ";".join(tools),
                             ";".join(techniques), ";".join(infra), ";".join(s[0] for s in sources)])
                claim_date = f"{min(year + 1, 2025)}-{month:02d}-{day:02d}"
                wc.writerow([f"synth:{n:07d}", actor.key, sources[0][0], "attributes", rng.randint(40, 95),
                             claim_date])
                claims += 1
                if rng.random() < 0.25:  # a competing claim naming another actor
                    other = rng.choices(self.actors, self.actor_weights)[0]
                    if other is not actor:
                        wc.writerow([f"synth:{n:07d}", other.key, rng.choice(self.sources)[0], "disputes",
                                     rng.randint(20, 60), claim_date])
                        claims += 1
                if rng.random() < 0.15:  # the sponsoring state denies
                    wc.writerow([f"synth:{n:07d}", f"state:{actor.sponsor}", self.sources[-1][0], "denies",
                                 90, claim_date])
                    claims += 1
        return {"incidents": incidents, "claims": claims, "actors": len(self.actors) + len(STATES),
                "sources": len(self.sources)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--incidents", type=int, default=10000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    print(Generator(args.seed).write(args.out, args.incidents))


if __name__ == "__main__":
    main()
