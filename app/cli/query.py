"""`attrib query` (the read-only console on the command line) and `attrib export`."""
from __future__ import annotations

import csv
import json
import sys
from dataclasses import replace
from pathlib import Path

from app.cli.common import LazyChoices, err, open_db
from graph.errors import DatabaseError, Unavailable, ValidationError
from graph.settings import Settings


def register(sub) -> None:
    q = sub.add_parser("query", help="run a saved query, a .cypher file or stdin, read-only",
                       description="Run Cypher read-only (READ transaction, EXPLAIN check, allowlisted "
                                   "procedures, timeout ATTRIB_QUERY_TIMEOUT, row cap ATTRIB_ROW_CAP).")
    q.add_argument("query", nargs="?", metavar="NAME|FILE|-",
                   help="a saved query name (see --list), a .cypher file, or - for stdin")
    q.add_argument("--param", "-p", action="append", default=[], metavar="K=V",
                   help="a parameter (typed by the saved query's header); repeatable")
    fmt = q.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the result as JSON")
    fmt.add_argument("--csv", action="store_true", help="print the result as CSV")
    q.add_argument("--list", action="store_true", help="list the saved queries and their parameters")
    q.set_defaults(func=cmd_query)

    e = sub.add_parser("export", help="export an incident's graph or a query's graph for briefings and other tools",
                       describe=_export_description)
    what = e.add_mutually_exclusive_group()  # or --actor alone: that actor's neighbourhood
    what.add_argument("--incident", metavar="NAME|KEY", help="an incident key, external id or part of its name")
    what.add_argument("--query", metavar="NAME|FILE", help="a saved query (or .cypher file) whose result to draw")
    what.add_argument("--actors", metavar="A,B,C", help="actors to compare (names, aliases, IDs or keys; "
                                                        "--format navigator: a comparison layer)")
    e.add_argument("--param", "-p", action="append", default=[], metavar="K=V", help="query parameter; repeatable")
    e.add_argument("--format", "-f", choices=LazyChoices(_formats), metavar="FORMAT",
                   help="%(choices)s (default: from the -o suffix; .json is stix)")
    e.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write")
    e.add_argument("--actor", metavar="NAME", help="an actor to set the incident against (--format navigator); "
                                                  "alone: export that actor (its profile and the claims naming it)")
    e.add_argument("--title", help="figure title (default: the incident's or query's title)")
    e.add_argument("--tlp", choices=LazyChoices(_tlp_levels), default="clear", metavar="LEVEL",
                   help="Traffic Light Protocol marking: %(choices)s (default clear; none: no marking)")
    e.set_defaults(func=cmd_export)


def _export_description() -> str:
    from app import exports

    return ("; ".join(f"{f.name}: {f.description}" for f in exports.REGISTRY.values())
            + ". CSV: -o X.zip writes one zip with nodes.csv and edges.csv, else X.nodes.csv and X.edges.csv.")


def _formats() -> tuple[str, ...]:
    from app import exports

    return exports.FORMATS


def _tlp_levels() -> list[str]:
    from graph.model import TLP_LEVELS

    return ["none", *TLP_LEVELS]


def _pairs(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError("--param", f"{item!r} is not K=V", hint="e.g. --param incident=AstraZeneca")
        out[key.strip()] = value
    return out


def resolve(spec: str, raw_params: list[str]) -> tuple[str, dict, str]:
    from graph.reads import saved_queries

    """(cypher, typed params, title) for a saved query name, a file or '-' (stdin)."""
    given = _pairs(raw_params)
    if spec == "-":
        text = sys.stdin.read()
        parsed = saved_queries.parse(text, "stdin", require_header=False)
    elif spec.endswith(".cypher") or "/" in spec or Path(spec).is_file():
        path = Path(spec)
        if not path.is_file():
            raise ValidationError(spec, "no such file")
        text = path.read_text(encoding="utf-8")
        parsed = saved_queries.parse(text, path.stem, path, require_header=False)
    else:
        parsed = saved_queries.get(spec)
    if parsed.params:
        params = parsed.bind(given)
    else:
        params = {k: saved_queries.infer(v) for k, v in given.items()}
    return parsed.cypher, params, parsed.title


# -- query ----------------------------------------------------------------------------------------
def cmd_query(args, settings: Settings) -> int:
    from graph.reads import saved_queries
    from graph.reads.console import run_query


    if args.list:
        for q in saved_queries.list_queries():
            print(f"{q.name}: {q.title}")
            for p in q.params:
                print(f"    --param {p.describe()}")
        return 0
    if not args.query:
        err("error: give a saved query name, a .cypher file or - (attrib query --list shows the saved queries)")
        return 1
    cypher, params, _ = resolve(args.query, args.param)
    with open_db(settings) as db:
        result = run_query(db, cypher, params, settings=settings)
    for notice in result.notices:
        err(f"notice: {notice}")
    if args.json:
        print(json.dumps({"columns": result.columns, "rows": result.records(), "truncated": result.truncated,
                          "notices": result.notices}, ensure_ascii=False, default=str))
    elif args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(result.columns)
        for row in result.rows:
            w.writerow([_csv_cell(v) for v in row])
    else:
        print_table(result)
    return 0


def print_runaways(settings: Settings) -> None:
    from graph.reads.console import runaway_transactions, short_status

    """For `attrib neo4j status`: transactions the server terminated (or that ran past the
    console's timeout) but is still executing."""

    try:
        with open_db(settings) as db:
            runaways = runaway_transactions(db, settings)
    except (Unavailable, DatabaseError) as exc:
        print(f"could not list the server's transactions: {exc.message}")
        return
    if not runaways:
        print("no runaway transactions")
        return
    print(f"{len(runaways)} runaway transaction(s), terminated or past the console's timeout but still executing:")
    for t in runaways:
        print(f"  {t['id']}  {t['seconds']} s  {short_status(t['status'])}  {cell(t['query'], 70)}")
    print("  end them with: attrib neo4j restart" if not settings.external else
          "  ask the server's administrator to TERMINATE TRANSACTION them or restart the server")


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def cell(value, width: int = 60) -> str:
    from graph.reads.console import display_text

    """A compact one-line rendering for the terminal."""
    text = display_text(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def print_table(result) -> None:
    cols = result.columns
    rows = [[cell(v) for v in r] for r in result.rows]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    more = " (cut at the row cap)" if result.truncated else ""
    err(f"{len(rows)} row(s){more}, {result.elapsed_ms} ms")


# -- export ---------------------------------------------------------------------------------------
def cmd_export(args, settings: Settings) -> int:
    from app import exports
    from graph.analysis.matrix import actors_subgraph
    from graph.reads.console import run_query
    from graph.reads.subgraph import actor_subgraph, incident_subgraph


    fmt = exports.get(args.format) if args.format else exports.format_for_path(args.output)
    actors = tuple(a.strip() for a in (args.actors or "").split(",") if a.strip())
    options = exports.Options(title=args.title, tlp=args.tlp, actor=args.actor, actors=actors)
    with open_db(settings) as db:
        if args.actors is not None:
            if not actors:
                raise ValidationError("--actors", "name at least one actor", hint="e.g. --actors 'Lazarus Group,APT28'")
            sub = actors_subgraph(db, list(actors))
        elif args.incident:
            if args.param:
                raise ValidationError("--param", "--param goes with --query, not --incident")
            sub = incident_subgraph(db, args.incident)
        elif args.query:
            cypher, params, title = resolve(args.query, args.param)
            result = run_query(db, cypher, params, settings=settings, connect=True)
            for notice in result.notices:
                err(f"notice: {notice}")
            sub = result.graph
            sub.title = title
        elif args.actor:
            sub = actor_subgraph(db, args.actor)
            options = replace(options, actor=None)
        else:
            raise ValidationError("--incident", "say what to export",
                                  hint="give --incident, --query, --actors or --actor")
        written = exports.export(sub, fmt.name, args.output, options, db=db)
    for path in written:
        err(f"wrote {path} ({fmt.name}, {len(sub.nodes)} nodes, {len(sub.edges)} relationships)")
    return 0
