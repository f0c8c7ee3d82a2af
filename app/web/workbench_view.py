"""Engine results (graph.analysis.engine) as the Workbench's tables: plain functions, no Streamlit calls,
so they are tested without a browser. Every number shown is the engine's, unrounded in meaning."""
from __future__ import annotations

import pandas as pd

from app.web.asof import not_scored_reason
from graph.analysis import scoring

_THRESHOLDS = ", ".join(f"{word} >= {threshold:.0%}" for threshold, word in scoring.VERDICTS[:-1])
SCORE_HELP = (
    "Score = the sum of the evidence contributions (log odds against an unknown actor; each item's "
    "contribution is listed under Why this score). Probability: each hypothesis's share, the unknown actor "
    "included (they sum to 100 %), calibrated on held-out ATT&CK reports. Verdicts follow the probability: "
    f"{_THRESHOLDS}, {scoring.VERDICTS[-1][1]} below {scoring.VERDICTS[-2][0]:.0%}. A high rank is not proof: "
    "it says who fits the recorded evidence best among the actors the graph knows.")

# The verdict words with their ranges, as the claims table's header help says them.
VERDICT_RANGES = "; ".join(
    [f"{word}: {threshold:.0%} or more" for threshold, word in scoring.VERDICTS[:1]]
    + [f"{word}: {lo:.0%} to {hi:.0%}" for (hi, _), (lo, word) in zip(scoring.VERDICTS, scoring.VERDICTS[1:-1])]
    + [f"{scoring.VERDICTS[-1][1]}: under {scoring.VERDICTS[-2][0]:.0%}"])
BLIND_VERDICT_HELP = (
    "The engine's word for the named actor's probability on the evidence alone (" + VERDICT_RANGES
    + "). It grades the probability only: a low one says the evidence does not single the actor out, "
      "not that it contradicts the claim.")

COLORS = {"consistent": "#D5F0DD", "inconsistent": "#F8D7D3", "neutral": "#F2F3F4"}
UNKNOWN_COLUMN = "an unknown actor"


def claim_rows(claims: list[dict], explanation=None) -> list[dict]:
    """Claims (graph.reads.explore.incident_claims) with the engine's blind assessment of each."""
    by_claim = {a.claim.key: a for a in (explanation.assessments if explanation else [])}
    rows = []
    for c in claims:
        a = by_claim.get(c["claim"])
        best = a.represented_by[0] if a and a.represented_by else None
        if a is None:
            rank, balance, chance = "", "", ""
            verdict = not_scored_reason(c, explanation.blind.as_of) if explanation else ""
        elif best is None:
            rank, verdict, chance = "no profile", "cannot be weighed", ""
            balance = f"{len(a.supports)} / {len(a.weakens)}"
        else:
            via = "" if best.actor.key == c["actor_key"] else f" (as {best.actor.name})"
            rank = f"{best.rank} of {a.candidates}{via}"
            verdict, balance = best.verdict, f"{len(a.supports)} / {len(a.weakens)}"
            chance = scoring.percent(best.probability)
        rows.append({"date": c["date"], "source": c["source"], "reliability": c["reliability"] or "",
                     "stance": c["stance"], "actor": c["actor"], "confidence": c["confidence"],
                     "blind rank": rank, "blind probability": chance, "blind verdict": verdict,
                     "supports / weakens": balance})
    return rows


# Points whose weight multiplies the claim's own weight (0..1) rather than adding to a score.
FACTOR_POINTS = ("source", "confidence")


def signed(value: float, digits: int = 2) -> str:
    """'+0.73', '-0.48', and '0.00' for what rounds to zero (never '-0.00')."""
    text = f"{value:+.{digits}f}"
    return text if float(text) else f"{0:.{digits}f}"


def shown(value: float, digits: int) -> float:
    """A number rounded as a table column shows it, without the sign of a rounded-away negative
    (-0.001 -> 0.0, which "%+.2f" prints as +0.00, not -0.00)."""
    return round(value, digits) + 0.0


def point_text(point, stance: str = "attributes") -> str:
    """A reason a claim is supported or weakened, with what its number means: a factor on the
    claim's weight (source reliability, stated confidence) or a weight for the claim. The engine
    signs weights for the named actor's involvement; for a denial or a dispute that is against
    the claim, so the sign turns (evidence of involvement weakens a denial)."""
    if point.weight is None or point.weight == 0:
        return point.text
    if point.kind in FACTOR_POINTS:
        return f"{point.text} (the claim counts at {point.weight:.0%} of its full weight)"
    weight = point.weight if stance == "attributes" else -point.weight
    return f"{point.text} (weight {signed(weight)})"


def _aka(actor) -> str:
    """The actor's other names ('ZINC, Diamond Sleet, HIDDEN COBRA and 37 more'), '' if none."""
    return scoring.other_names(actor)


def hypothesis_rows(result) -> list[dict]:
    """Ranked hypotheses, then the unknown actor (score 0 by definition). The name stands alone
    and the other names come last, so a narrow table cuts the aliases, never the name."""
    rows = [{"rank": str(h.rank), "actor": h.actor.label, "key": h.actor.key,
             "score": shown(h.score, 2), "probability": scoring.percent(h.probability), "verdict": h.verdict,
             "evidence items": str(sum(1 for c in h.items if c.kind not in ("prior", "claim"))),
             "claims counted": str(sum(1 for c in h.items if c.kind == "claim")), "also known as": _aka(h.actor)}
            for h in result.hypotheses]
    u = result.unknown
    margin = "" if u.best_named is None else f"; the best named actor scores {u.best_named:+.2f}"
    rows.append({"rank": "-", "actor": UNKNOWN_COLUMN, "key": "", "score": 0.0,
                 "probability": scoring.percent(u.probability), "verdict": u.verdict,
                 "evidence items": "baseline", "claims counted": "baseline",
                 "also known as": "an actor the graph does not know: the baseline every score is measured "
                                  f"against (score 0 by definition{margin})"})
    return rows


def _columns(ach) -> list[str]:
    names, seen = [], set()
    for h in ach.hypotheses:
        name = h.actor.name if h.actor.name not in seen else f"{h.actor.name} ({h.actor.key})"
        seen.add(name)
        names.append(name)
    return names + [UNKNOWN_COLUMN]


def ach_frame(ach) -> pd.DataFrame:
    """Rows: evidence items (most diagnostic first); columns: kind, weight, diagnosticity and one
    column per hypothesis holding that item's contribution."""
    cols = _columns(ach)
    rows = []
    for r in ach.rows:
        row = {"evidence": r["name"], "kind": r["kind"], "weight": r["weight"], "diagnosticity": r["diagnosticity"]}
        for col, cell in zip(cols, r["cells"]):
            row[col] = cell["value"]
        rows.append(row)
    return pd.DataFrame(rows)


def ach_assessments(ach) -> list[list[str]]:
    return [[cell["assessment"] for cell in r["cells"]] for r in ach.rows]


def ach_styler(frame: pd.DataFrame, ach):
    """The frame coloured cell by cell with the engine's own assessment."""
    cols = _columns(ach)
    marks = ach_assessments(ach)

    def colour(df: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame("", index=df.index, columns=df.columns)
        for i, row in enumerate(marks):
            for col, mark in zip(cols, row):
                out.iloc[i, df.columns.get_loc(col)] = f"background-color: {COLORS.get(mark, '')}"
        return out

    fmt = {c: signed for c in cols}
    fmt.update({"weight": "{:.2f}", "diagnosticity": "{:.2f}"})
    return frame.style.apply(colour, axis=None).format(fmt)


def contribution_rows(hypothesis) -> list[dict]:
    """One hypothesis's score, item by item (largest effect first)."""
    items = sorted(hypothesis.items, key=lambda c: -abs(c.contribution))
    return [{"kind": c.kind, "item": c.name, "key": c.key, "weight": round(c.weight, 3),
             "contribution": shown(c.contribution, 3), "matched": c.matched, "why": c.detail}
            for c in items]
