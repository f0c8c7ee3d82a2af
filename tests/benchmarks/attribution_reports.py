"""`attribution.py --reports`: end to end on real reports, draft -> load -> rank (issue 25).

Cases: the AnnoCTR training reports (../shared/data/ttp-reports/annoctr-train.json) whose group
labels (`G....`) name one actor (the most frequent group label, at least half of the document's
group labels), the group in the graph. Every name and alias of that group the graph holds
(ATT&CK's and the MISP galaxies' names of the same node) is masked in the text ("the actor").
Split by document (SHA-1 of the title): a development part and a held-out part; the figures that
count are the held-out part's. The graph: ATT&CK Enterprise v15.1, the MISP actor galaxies and
the software galaxies (tool, Malpedia). Each report is drafted (`draft_report` with the graph's
gazetteer and the technique recogniser, as `attrib extract`), its incident loaded without claims
(so no report is attributed to anyone), and ranked blind. The true group's own profile leaves out
what only the report itself is cited for in ATT&CK (the citation whose URL holds the report's
slug), so no case is ranked against a profile built from its own report.

Beside the engine: the engine on ATT&CK-only evidence (techniques and ATT&CK software of the same
draft, no victims, hints or galaxy software) and the inverse-frequency overlap on the same
profiles. With --reuse (the graph and the drafts as a previous run left them, listed in
--cases) the same drafts are ranked again: run under another checkout's code for a before/after
on the same drafts.
"""
from __future__ import annotations

import hashlib
import json
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from graph.analysis import engine, scoring
from graph.analysis.evidence import Snapshot, incident_evidence, profile_part
from graph.store import schema
from graph.store.db import GraphDB
from app.ingest import load_paths

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ANNOCTR = SHARED / "ttp-reports" / "annoctr-train.json"
KNOWLEDGE = [SHARED / "attack" / "enterprise-attack-15.1.json.gz", SHARED / "misp-galaxy" / "threat-actor.json",
             SHARED / "misp-galaxy" / "microsoft-activity-group.json", SHARED / "misp-galaxy-software" / "tool.json",
             SHARED / "misp-galaxy-software" / "malpedia.json"]
ATTACK_KINDS = ("technique", "technique-parent", "technique-implied", "tool")
GROUP = re.compile(r"^G\d{4}$")
MASK = "the actor"


def held_out(title: str) -> bool:
    return int(hashlib.sha1(title.encode()).hexdigest(), 16) % 2 == 1


def report_cases(db: GraphDB) -> list[dict]:
    """{title, truth, text, date} per AnnoCTR document whose group labels name one graph actor,
    its names masked."""
    docs = json.loads(ANNOCTR.read_text())
    names = {r["key"]: r["names"] for r in db.read(
        "MATCH (a:Actor) WHERE a.key STARTS WITH 'attack:G' "
        "RETURN a.key AS key, [a.name] + [(al:Alias)-[:NAMES]->(a) | al.spellings] AS names")}
    out = []
    for doc in docs:
        groups = Counter(t for s in doc["sentences"] for t in s["techniques"] if GROUP.match(t))
        if not groups:
            continue
        gid, n = groups.most_common(1)[0]
        truth = f"attack:{gid}"
        if n * 2 < sum(groups.values()) or truth not in names:
            continue
        spellings = set()
        for entry in names[truth]:
            spellings.update([entry] if isinstance(entry, str) else entry)
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True)
                                                     if len(s) > 2) + r")(?!\w)", re.I)
        text = "\n".join(pattern.sub(MASK, s["text"]) for s in doc["sentences"])
        date = re.search(r"_(\d{4}-\d{2}-\d{2})_", doc["title"])
        out.append({"title": doc["title"], "truth": truth, "text": text, "date": date.group(1) if date else None})
    return out


def build(db: GraphDB, cases_path: Path, log) -> list[dict]:
    """Load the knowledge, draft every case, load the drafts' incidents; the case list is written
    to `cases_path` (without texts)."""
    from graph.reads import gazetteer_rows
    from graph.settings import load_settings
    from loaders.reports.draft import ReportMeta, draft_report
    from loaders.reports.names import Gazetteer
    from loaders.reports.model_cache import recognizer_for

    schema.reset(db)
    schema.init_schema(db)
    engine.clear_cache()
    report = load_paths(db, KNOWLEDGE)
    if not report.ok:
        raise SystemExit(f"loading the knowledge failed: {report.refused[0]}")
    cases = report_cases(db)
    gazetteer = Gazetteer.from_rows(gazetteer_rows(db))
    recognizer = recognizer_for(KNOWLEDGE[0], load_settings().cache_dir, progress=log)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="attrib-bench-") as tmp:
        for i, case in enumerate(cases):
            d = draft_report(case["text"], meta=ReportMeta(name=case["title"], title=case["title"], date=case["date"]),
                             gazetteer=gazetteer, recognizer=recognizer, key=f"bench:report-{i}",
                             source="src:bench-report", date=case["date"] or "2020")
            record = d.incident_record()
            record["sources"] = ["src:bench-report"]
            doc = {"sources": [{"key": "src:bench-report", "name": "Benchmark report", "kind": "vendor"}],
                   "incidents": [record]}
            path = Path(tmp) / f"report-{i}.yaml"
            path.write_text(yaml.safe_dump(doc, allow_unicode=True))
            loaded = load_paths(db, [path])
            if not loaded.ok:
                raise SystemExit(f"loading the draft of {case['title']} failed: {loaded.refused[0]}")
            case["key"] = record["key"]
            case.pop("text")
    log(f"  drafted and loaded {len(cases)} reports in {time.monotonic() - started:.0f} s")
    cases_path.write_text(json.dumps(cases))
    return cases


def citation_urls(bundle: dict) -> dict[str, str]:
    """Citation name -> its URL (lower case), from every object's external references."""
    urls: dict[str, str] = {}
    for o in bundle["objects"]:
        for ref in o.get("external_references", []):
            if ref.get("url") and ref.get("source_name"):
                urls.setdefault(ref["source_name"], ref["url"].casefold())
    return urls


def rank_cases(db: GraphDB, cases: list[dict], log, model=None) -> dict:
    """Top-1/3/5 and MRR per part (engine, engine on ATT&CK-only evidence, inverse frequency), the
    unknown actor's share of first places, how often the true group beats the unknown actor, and
    the engine's calibration; `model` an open-set model other than the one in use."""
    from attribution import outcome, calibration, read_bundle, report_items  # the forward part's helpers

    snap: Snapshot = engine.snapshot(db)
    by_report = report_items(KNOWLEDGE[0])
    urls = citation_urls(read_bundle(KNOWLEDGE[0]))
    parts = {"dev": [], "held_out": []}
    excluded = 0
    for case in cases:
        ev = incident_evidence(db, case["key"], snap)
        truth = snap.same_group().get(case["truth"], case["truth"])
        slug = "-".join(case["title"].split("_", 2)[-1].casefold().split("-")[:4])
        mine = {item for (g, rep), items in by_report.items() if g == truth and slug in urls.get(rep, "")
                for item in items}
        others = {item for (g, rep), items in by_report.items() if g == truth and slug not in urls.get(rep, "")
                  for item in items}
        only = mine - others
        excluded += bool(mine)
        profiles = dict(snap.profiles(exclude_incident=ev.key))
        if only and truth in profiles:
            own = profile_part([r for r in snap.actor_items.get(truth, []) if r.key not in only], snap.links, "USES",
                               None)
            for item in getattr(snap.actors[truth], "attributes", list)():   # (before issue 25: none)
                own.add(item.key, 1.0, "USES", item.kind)
            profiles[truth] = own
        actors = {k: snap.actors[k].actor() for k in profiles}
        row = {"title": case["title"], "truth": truth, "items": len(ev.items)}
        for name, items in (("engine", ev.items), ("attack_only", [i for i in ev.items if i.kind in ATTACK_KINDS
                                                                  and (i.kind != "tool" or i.key.startswith("attack:"))])):
            ranking, unknown = scoring.rank_hypotheses(items, profiles, actors)
            o = outcome(ranking, unknown, truth)
            named, p_unknown = o.probabilities(model)
            row[name] = {"rank": o.rank, "unknown_first": bool(ranking) and p_unknown >= max(named[:1] or [0]),
                         "truth_beats_unknown": o.truth is not None and named[o.truth] > p_unknown, "outcome": o}
        # the open set: the same case with its group removed (the unknown actor is then right)
        ranking, unknown = scoring.rank_hypotheses(ev.items, {k: p for k, p in profiles.items() if k != truth},
                                                   {k: a for k, a in actors.items() if k != truth})
        named, p_unknown = outcome(ranking, unknown, None).probabilities(model)
        row["removed"] = {"unknown_first": p_unknown >= max(named[:1] or [0]),
                          "outcome": outcome(ranking, unknown, None)}
        sets = {k: set(p.counts) for k, p in profiles.items()}
        row["idf"] = {"rank": scoring.rank_of(truth, scoring.idf_scores({i.key for i in ev.items}, sets))
                      if truth in sets else len(sets) + 1}
        parts["held_out" if held_out(case["title"]) else "dev"].append(row)
    out = {"report_excluded_from_profile": excluded}
    for part, rows in parts.items():
        figures = {}
        for name in ("engine", "attack_only", "idf"):
            figures[name] = scoring.summarise([r[name]["rank"] for r in rows])
            if name != "idf" and rows:
                for share in ("unknown_first", "truth_beats_unknown"):
                    figures[name][share] = round(sum(r[name][share] for r in rows) / len(rows), 3)
        if rows:
            figures["engine"]["removed_unknown_first"] = round(sum(r["removed"]["unknown_first"] for r in rows)
                                                               / len(rows), 3)
        figures["calibration"] = calibration([r["engine"]["outcome"] for r in rows], model)
        figures["calibration_with_removed"] = calibration(
            [r[k]["outcome"] for r in rows for k in ("engine", "removed")], model)
        figures["ranks"] = [r["engine"]["rank"] for r in rows]
        out[part] = figures
        log(f"  {part}: {len(rows)} reports; engine {figures['engine']}; ATT&CK-only evidence "
            f"{figures['attack_only']}; inverse frequency {figures['idf']}")
    return out


def reports_main(db: GraphDB, reuse: bool, cases_path: Path, log) -> dict:
    if reuse:
        cases = json.loads(cases_path.read_text())
    else:
        log("reports: loading ATT&CK and the MISP galaxies, drafting and loading the AnnoCTR reports ...")
        cases = build(db, cases_path, log)
    return rank_cases(db, cases, log)
