"""The engine's assessment of the incidents an export holds, read before writing (a format's
`gather`) and written as text: the STIX note and the MISP event report."""
from __future__ import annotations

from app.exports.base import Options
from graph.reads.subgraph import SubNode, Subgraph

HYPOTHESES_SHOWN = 5
STANCE_VERBS = {"attributes": "attributes it to", "denies": "denies it was", "disputes": "disputes it was"}


def gather(db, sub: Subgraph, options: Options) -> dict:
    """The engine's assessment of every incident in the subgraph: {incident key: {"hypotheses":
    [...], "unknown": {...}, "claims": {claim key: {"supports": [...], "weakens": [...]}}}}."""
    from graph.analysis import engine

    out = {}
    for n in sub.nodes:
        if n.label != "Incident" or not n.key:
            continue
        result = engine.hypotheses(db, n.key, top=HYPOTHESES_SHOWN)
        explanation = engine.explain(db, n.key)
        out[n.key] = {
            "hypotheses": [{"rank": h.rank, "actor": h.actor.key, "name": h.actor.name,
                            "score": round(h.score, 4), "verdict": h.verdict,
                            "probability": getattr(h, "probability", None)} for h in result.hypotheses],
            "candidates": len(result.ranking),
            "unknown": result.unknown.to_dict(),
            "claims": {a.claim.key: {"supports": [p.text for p in a.supports],
                                     "weakens": [p.text for p in a.weakens]} for a in explanation.assessments},
        }
    return out


def claim_text(sub: Subgraph, c: SubNode) -> str:
    """'Reuters attributes it to North Korea (confidence 50, 2020-11-27)'."""
    ends = {e.type: sub.node(e.target) for e in sub.edges if e.source == c.id}
    who = ends["STATED_BY"].name if ends.get("STATED_BY") else "a source"
    actor = ends["NAMES"].name if ends.get("NAMES") else "an actor"
    conf, date = c.props.get("confidence"), c.props.get("date")
    facts = ", ".join(x for x in (f"confidence {conf}" if conf is not None else "", str(date or "")) if x)
    return f"{who} {STANCE_VERBS.get(c.props.get('stance'), 'names')} {actor}" + (f" ({facts})" if facts else "")


def claims_about(sub: Subgraph, incident: SubNode) -> list[SubNode]:
    return [c for c in sub.nodes if c.label == "Claim"
            and any(e.source == c.id and e.target == incident.id and e.type == "ABOUT" for e in sub.edges)]


def assessment_text(sub: Subgraph, incident: SubNode, a: dict) -> str:
    """The ranked hypotheses, then each claim about the incident with what supports and
    weakens it, as plain text."""
    return note_text(incident.name, a, {c.key: claim_text(sub, c) for c in claims_about(sub, incident)})


def note_text(name: str, a: dict, claims: dict[str, str]) -> str:
    """The assessment as plain text: the ranked hypotheses, then each claim's supports/weakens."""
    lines = [f"Ranked hypotheses for {name} ({a['candidates']} candidates, the claims included):"]
    for h in a["hypotheses"]:
        p = h.get("probability")
        value = f"probability {p:.0%}" if isinstance(p, (int, float)) else f"score {h['score']:+.2f}"
        lines.append(f"{h['rank']}. {h['name']} ({h['actor']}): {value}, {h['verdict']}")
    unknown = a.get("unknown") or {}
    if unknown:
        p = unknown.get("probability")
        value = f"probability {p:.0%}" if isinstance(p, (int, float)) else f"score {unknown.get('score', 0):+.2f}"
        lines.append(f"An actor not in the graph: {value}")
    for key, c in sorted(claims.items()):
        reasons = a["claims"].get(key)
        if not reasons:
            continue
        lines.append("")
        lines.append(f"Claim {c} ({key}):")
        lines += [f"  supports: {t}" for t in reasons["supports"]] or ["  supports: nothing"]
        lines += [f"  weakens: {t}" for t in reasons["weakens"]] or ["  weakens: nothing"]
    return "\n".join(lines)
