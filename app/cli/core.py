"""Core commands: `attrib neo4j`, `init`, `reset`, `load`, `stats`, `incidents`, `demo`."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from app.cli.common import err, open_db
from app.cli.feeds import add_attack_options, add_taxii_options, attack_paths
from graph.settings import SEED_DIR, Settings


# -- neo4j -------------------------------------------------------------------------------------
def cmd_neo4j(args, settings: Settings) -> int:
    from graph.store.server import LocalServer

    server = LocalServer(settings)
    if args.action == "start":
        started = time.monotonic()
        status = server.start()
        if status.state == "running":
            err(f"ready in {time.monotonic() - started:.1f} s; connect with: eval \"$(attrib neo4j env)\"")
        return 0
    if args.action == "stop":
        stopped = server.stop()
        if not settings.external:
            err("Neo4j stopped" if stopped else "Neo4j was not running")
        return 0
    if args.action == "restart":  # also ends runaway console queries (see `attrib neo4j status`)
        started = time.monotonic()
        status = server.restart()
        if status.state == "running":
            err(f"restarted in {time.monotonic() - started:.1f} s")
        return 0
    if args.action == "status":
        status = server.status()
        print(status.describe())
        if status.state in ("running", "external"):
            from app.cli.query import print_runaways

            print_runaways(settings)
        return 0 if status.state in ("running", "external") else 3
    if args.action == "env":
        if settings.external:
            uri, user, password = settings.uri, settings.user, settings.password or ""
        else:
            status = server.status()
            if status.state != "running":
                err("Neo4j is not running; run: attrib neo4j start")
                return 2
            uri, user, password = status.uri, "neo4j", server.password()
        print(f"export NEO4J_URI={uri}\nexport NEO4J_USER={user}\nexport NEO4J_PASSWORD={password}")
        return 0
    raise AssertionError(args.action)


# -- schema and data ----------------------------------------------------------------------------
def cmd_init(args, settings: Settings) -> int:
    from graph.store import schema

    with open_db(settings) as db:
        n = schema.init_schema(db)
    err(f"schema ready: {n} constraints and indexes")
    return 0


def cmd_reset(args, settings: Settings) -> int:
    from app import backup
    from graph.store import schema

    if not args.yes:
        err("refusing to delete every node without --yes (attrib reset --yes)")
        err("  to keep what is there, back it up first: attrib backup FILE (attrib restore FILE "
            "brings it back)")
        return 1
    if not args.no_backup:
        with open_db(settings) as db:
            curated = backup.has_hand_curated(db)
        if curated:  # hand-made incidents and claims exist nowhere else: keep a copy first
            err(f"the graph holds records loaded by hand; backing it up to {settings.backup_dir} "
                f"first (the last {backup.KEEP_AUTOMATIC} are kept; --no-backup skips this)")
            err("  " + backup.automatic_backup(settings, log=err).describe("backed up"))
    with open_db(settings) as db:
        deleted = schema.reset(db)
    err(f"deleted {deleted} nodes and their relationships")
    return 0


def cmd_load(args, settings: Settings) -> int:
    from graph.store import schema
    from loaders.download import forget

    # `attrib load attack ...` downloads first; no path: only finish loads that stopped midway
    paths, fetched = attack_paths(args, settings) if args.paths else ([], None)
    if args.bulk:
        if not paths:
            err("attrib load --bulk needs the files to load")
            return 1
        return _bulk_load(paths, settings)
    with open_db(settings) as db:
        schema.init_schema(db)
        report = load_files(db, paths, settings)
    if fetched and not report.ok:
        forget(fetched)  # a download that is not a valid bundle must not stay in the cache
    return 0 if report.ok else 1


def _bulk_load(paths: list, settings: Settings) -> int:
    from graph.store.bulk import bulk_load
    from loaders import expand_paths, iter_batches

    started = time.monotonic()
    files = expand_paths(paths)
    timings = bulk_load(settings, (batch for path in files for batch in iter_batches(path)), err)
    with open_db(settings) as db:
        keep_attack(db, files, settings)
    err(f"bulk-loaded {len(files)} file(s): {timings['nodes']} nodes, {timings['relationships']} "
        f"relationships in {time.monotonic() - started:.1f} s")
    return 0


def load_files(db, paths: list, settings: Settings):
    """Load `paths` with progress on stderr and one line per file; returns the LoadReport."""
    from app.ingest import load_paths

    interactive = sys.stderr.isatty()

    def on_file(path: Path) -> None:
        err(f"loading {path}")

    def progress(done: int, total: int) -> None:
        if interactive and total > settings.batch_size:
            print(f"\r  {done}/{total} rows", end="" if done < total else "\n", file=sys.stderr, flush=True)

    report = load_paths(db, paths, settings.batch_size, on_file=on_file, progress=progress,
                        concurrency=settings.write_concurrency)
    for what in report.resumed:
        err(f"  finished {what}")
    for what in report.partial:
        err(f"  warning: {what} (load the file again to complete it, or: attrib reset --yes)")
    for r in report.written:
        skipped = "".join(f"; skipped {n} {why}" for why, n in sorted(r.skipped.items()))
        err(f"  {r.file}: created {r.nodes_created} nodes and {r.rels_created} relationships; "
            f"{r.merged} rows matched what the graph held or this load wrote before{skipped}")
    for e in report.refused:
        err(f"  REFUSED {e}")
    total_nodes = sum(r.nodes_created for r in report.written)
    total_rels = sum(r.rels_created for r in report.written)
    err(f"{len(report.written)} file(s) loaded ({total_nodes} nodes, {total_rels} relationships created), "
        f"{len(report.refused)} refused")
    keep_attack(db, [r.file for r in report.written], settings)
    return report


def keep_attack(db, files: list, settings: Settings) -> None:
    from app.ingest import keep_attack as keep

    for path in keep(db, files, settings.cache_dir, say=err):
        err(f"  kept {path} (the technique model for the ATT&CK bundle the graph holds)")


def cmd_stats(args, settings: Settings) -> int:
    from graph.store import schema

    with open_db(settings) as db:
        counts = schema.stats(db)
    if args.json:
        print(json.dumps(counts, sort_keys=True))
        return 0
    for title, section in (("nodes", counts["nodes"]), ("relationships", counts["relationships"])):
        print(f"{title}:")
        for name, n in sorted(section.items()):
            print(f"  {name:<16}{n:>10}")
        print(f"  {'total':<16}{sum(section.values()):>10}")
    return 0


def cmd_incidents(args, settings: Settings) -> int:
    from graph.reads.explore import incidents

    with open_db(settings) as db:
        rows = incidents(db, limit=args.limit)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        err("the graph holds no incident (attrib load FILE, or attrib demo for the seed story)")
        return 0
    for r in rows:
        print(f"{r['first_seen'] or '????-??-??':<10}  {r['claims']:>3} claim(s)  {r['name']}  [{r['key']}]")
    if len(rows) == args.limit:
        err(f"(the first {args.limit}; --limit N shows more)")
    return 0


def cmd_demo(args, settings: Settings) -> int:
    from graph.reads import incidents_with_claims
    from graph.store import schema
    from graph.store.server import LocalServer

    LocalServer(settings).start()
    with open_db(settings) as db:
        schema.init_schema(db)
        report = load_files(db, [SEED_DIR], settings)
        if not report.ok:
            return 1
        print_story(incidents_with_claims(db))
        print_blind_view(db, DEMO_INCIDENT)
    if args.no_app:
        return 0
    from app.cli.serve import run_app  # the demo ends in the app, opened on AstraZeneca

    print("\nStarting the app on the AstraZeneca incident ...", flush=True)
    return run_app(settings, port=args.port)


DEMO_INCIDENT = "seed:astrazeneca-2020"


def print_blind_view(db, incident: str) -> None:
    """The demo's punch line: who the evidence alone points to, every claim ignored."""
    from graph.analysis import engine, scoring

    result = engine.hypotheses(db, incident, blind=True, top=3)
    print(f"\nBlind mode, {result.incident.name}: ignoring every claim about it, the evidence points to")
    for h in result.hypotheses:
        print(f"    #{h.rank}  {h.score:+.2f}  {scoring.percent(h.probability):>4}  {h.verdict:<12} {h.actor.label}")
    print(f"        {result.unknown.score:+.2f}  {scoring.percent(result.unknown.probability):>4}  "
          f"{result.unknown.verdict:<12} an actor the graph does not know")
    print(f"(why: attrib explain {incident}; attrib hypotheses {incident} --blind)")


def print_story(incidents: list[dict]) -> None:
    print("\nThe seed story: who is claimed for what, by whom\n")
    for inc in incidents:
        print(f"{inc['first_seen'] or '????'}  {inc['name']}  [{inc['key']}]")
        for c in inc["claims"]:
            conf = f"{c['confidence']}%" if c["confidence"] is not None else "?"
            print(f"    {c['date'] or '?':<10}  {c['source']} {c['stance']} {c['actor']} (confidence {conf})")
        if not inc["claims"]:
            print("    (no claims)")


def register(sub) -> None:
    neo = sub.add_parser("neo4j", help="manage the local Neo4j server")
    neo.add_argument("action", choices=["start", "stop", "restart", "status", "env"])
    neo.set_defaults(func=cmd_neo4j)

    sub.add_parser("init", help="create constraints and indexes (idempotent)").set_defaults(func=cmd_init)

    reset = sub.add_parser("reset", help="delete all data")
    reset.add_argument("--yes", action="store_true", help="really delete everything")
    reset.add_argument("--no-backup", action="store_true",
                       help="skip the automatic backup of a graph with hand-loaded records")
    reset.set_defaults(func=cmd_reset)

    load = sub.add_parser("load", help="load record files, STIX bundles, MISP events and galaxies")
    load.add_argument("paths", nargs="*", metavar="PATH",
                      help="files or directories; 'attack' downloads a public MITRE ATT&CK release; "
                           "'taxii URL' pulls a TAXII 2.1 collection; none: finish the CSV / JSON Lines "
                           "files whose load stopped midway (any load does that too)")
    add_attack_options(load)
    add_taxii_options(load)
    load.add_argument("--bulk", action="store_true",
                      help="first load into an empty local database through neo4j-admin import "
                           "(faster for millions of rows; any bad file refuses the whole load)")
    load.set_defaults(func=cmd_load)

    stats = sub.add_parser("stats", help="count nodes and relationships")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=cmd_stats)

    inc = sub.add_parser("incidents", help="list the incidents (most-claimed first): key, first seen, claims")
    inc.add_argument("--limit", type=int, default=100, metavar="N", help="how many (default 100)")
    inc.add_argument("--json", action="store_true", help="print JSON")
    inc.set_defaults(func=cmd_incidents)

    demo = sub.add_parser("demo", help="start Neo4j, load the seed story, tell it, then start the app")
    demo.add_argument("--no-app", action="store_true", help="stop after telling the story")
    demo.add_argument("--port", type=int, default=None,
                      help="the app's port (default 8501, or a free one if that is taken)")
    demo.set_defaults(func=cmd_demo)
