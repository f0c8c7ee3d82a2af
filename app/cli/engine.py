"""`attrib hypotheses` and `attrib explain`: the attribution engine on the command line."""
from __future__ import annotations

import json
import textwrap

from typing import TYPE_CHECKING

from app.cli.common import date_arg, open_db
from graph.settings import Settings

if TYPE_CHECKING:
    from graph.analysis import engine


def register(sub) -> None:
    h = sub.add_parser("hypotheses", help="rank the actors the evidence of an incident points to",
                       description="Score every known actor against the incident's structured evidence "
                                   "(tools, techniques, infrastructure, victims), plus an unknown actor. "
                                   "Scores are log odds against an actor the graph does not know; each is "
                                   "the sum of its items' contributions.")
    h.add_argument("incident", metavar="INCIDENT", help="an incident key, external ID (C0022) or unambiguous name")
    h.add_argument("--blind", action="store_true",
                   help="ignore every claim about the incident: what does the evidence alone point to?")
    h.add_argument("--as-of", metavar="DATE", type=date_arg, help="use only what was known on DATE (YYYY[-MM[-DD]])")
    h.add_argument("--top", type=int, default=10, metavar="N", help="how many actors to show (default 10)")
    h.add_argument("--json", action="store_true", help="print JSON")
    h.set_defaults(func=cmd_hypotheses)

    e = sub.add_parser("explain", help="what supports and what weakens each claim about an incident",
                       description="Every claim about the incident: its source and stance, the blind rank of "
                                   "the actor it names, and what supports and weakens it; then the "
                                   "alternatives the evidence alone points to.")
    e.add_argument("incident", metavar="INCIDENT", help="an incident key, external ID (C0022) or unambiguous name")
    e.add_argument("--actor", metavar="NAME", help="only the claims concerning this actor (its state, its "
                                                   "groups); if none names it, assess it as a hypothesis")
    e.add_argument("--as-of", metavar="DATE", type=date_arg, help="use only what was known on DATE (YYYY[-MM[-DD]])")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.set_defaults(func=cmd_explain)


def cmd_hypotheses(args, settings: Settings) -> int:
    from graph.analysis import engine

    with open_db(settings) as db:
        result = engine.hypotheses(db, args.incident, blind=args.blind, as_of=args.as_of, top=args.top)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print_hypotheses(result)
    return 0


def cmd_explain(args, settings: Settings) -> int:
    from graph.analysis import engine

    with open_db(settings) as db:
        explanation = engine.explain(db, args.incident, actor=args.actor, as_of=args.as_of)
    if args.json:
        print(json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print_explanation(explanation)
    return 0


# -- text output ------------------------------------------------------------------------------------
def _evidence_summary(items) -> str:
    counts: dict[str, int] = {}
    for i in items:
        counts[i.kind] = counts.get(i.kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "no structured evidence"


def _header(ev, mode: str) -> None:
    seen = f", first seen {ev.first_seen}" if ev.first_seen else ""
    print(f"{ev.name} [{ev.key}]{seen}")
    print(f"  {mode}; evidence: {_evidence_summary(ev.items)}")


def print_hypotheses(result: engine.HypothesesResult, items_per_actor: int = 4) -> None:
    from graph.analysis.scoring import display, percent

    mode = "blind (claims about the incident ignored)" if result.blind else \
        f"with {len(result.claims)} claim(s) about the incident"
    if result.as_of:
        mode += f", as of {result.as_of}"
    _header(result.incident, mode)
    print(f"  most likely: {result.headline}")
    print(f"\n  {'#':>3}  {'score':>7}  {'prob':>5}  {'verdict':<12} actor ({len(result.ranking)} candidates)")
    for h in result.hypotheses:
        print(f"  {h.rank:>3}  {h.score:>+7.2f}  {percent(h.probability):>5}  {h.verdict:<12} {display(h.actor)} "
              f"[{h.actor.key}]")
        shown = sorted((c for c in h.items if c.contribution > 0), key=lambda c: -c.contribution)
        for c in shown[:items_per_actor]:
            name = f" {c.name}" if c.name and c.name != c.key else ""
            print(f"  {'':>31}{c.contribution:+6.2f}  {c.kind} {c.key}{name}")
        against = [c for c in h.items if c.contribution < 0 and c.kind != "prior"]
        prior = next((c for c in h.items if c.kind == "prior"), None)
        rest = f"{sum(c.contribution for c in against):+6.2f}  {len(against)} item(s) against"
        if prior:
            rest += f"; prior {prior.contribution:+.2f}"
        print(f"  {'':>31}{rest}")
    u = result.unknown
    print(f"  {'-':>3}  {0.0:>+7.2f}  {percent(u.probability):>5}  {u.verdict:<12} an actor the graph does not know "
          f"(margin over the best named actor {u.margin:+.2f})")
    print(_wrap(f"why: {u.explanation}", " " * 7))


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent + "  ")


def print_assessment(a, title: str) -> None:
    from graph.analysis.scoring import percent

    print(f"\n{title}")
    if a.claim.statement:
        print(_wrap(f'"{" ".join(a.claim.statement.split())}"', "    "))
    if a.represented_by:
        best = a.represented_by[0]
        via = "" if best.actor.key == a.actor.key else f" through {best.actor.name}"
        print(f"  blind rank of {a.actor.name}: #{best.rank} of {a.candidates}{via}, score {best.score:+.2f}, "
              f"probability {percent(best.probability)} ({best.verdict})")
    else:
        print(f"  blind rank of {a.actor.name}: none (no profile to compare with)")
    for label, points, sign in (("supports", a.supports, "+"), ("weakens", a.weakens, "-")):
        print(f"  {label}:" + ("" if points else " nothing found"))
        for p in points:
            print(_wrap(f"{sign} {p.text}", "    "))


def print_explanation(x: engine.Explanation) -> None:
    from graph.analysis.scoring import display, percent

    _header(x.incident, "claims assessed against the blind ranking of the evidence")
    if not x.assessments and not x.hypothetical:
        print("\nNo claim about this incident" + (" concerns that actor." if x.hypothetical is None else "."))
    for n, a in enumerate(x.assessments, 1):
        c = a.claim
        grade = f", reliability {c.reliability}" if c.reliability else ""
        conf = f", confidence {c.confidence}" if c.confidence is not None else ""
        print_assessment(a, f"Claim {n}: {c.source_name} ({c.source_kind or 'source'}{grade}) {c.stance} "
                            f"{a.actor.name} [{a.actor.key}], {c.date or 'undated'}{conf}")
    if x.hypothetical:
        print_assessment(x.hypothetical, f"Hypothesis (no claim names it): {x.hypothetical.actor.name} "
                                         f"[{x.hypothetical.actor.key}]")
    print(f"\nAlternatives: what the evidence alone points to ({len(x.blind.ranking)} candidates): "
          f"{x.blind.headline}")
    for h in x.blind.ranking[:x.alternatives]:
        print(f"  {h.rank:>3}  {h.score:>+7.2f}  {percent(h.probability):>5}  {h.verdict:<12} {display(h.actor)} "
              f"[{h.actor.key}]")
    u = x.blind.unknown
    print(f"  {'-':>3}  {0.0:>+7.2f}  {percent(u.probability):>5}  {u.verdict:<12} an actor the graph does not know")
