"""`attrib extract`: draft incident records from reports and articles (loaders/reports)."""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from app.cli.common import date_arg, err, open_db
from graph.errors import AttribError, Unavailable, ValidationError
from graph.settings import Settings

# Texts longer than this (characters) get progress lines on stderr.
LONG_TEXT = 200_000



def register(sub) -> None:
    p = sub.add_parser(
        "extract", help="draft incident records from reports and articles (text, Markdown, HTML, PDF, URL)",
        description="Read each report and draft one incident per input (victims, tools, techniques, "
                    "infrastructure, dates), the report as its source, and the claims the text makes "
                    "about who did it, each item with its sentence and score. Writes one record file "
                    "that `attrib load` takes unchanged.")
    p.add_argument("inputs", nargs="+", metavar="PATH|URL|-", help="report files, http(s) URLs, or - for stdin")
    p.add_argument("--key", metavar="KEY",
                   help="incident key (default report:<file name, title or first words>-<hash of the "
                        "text>; with several inputs the second gets KEY-2, ...)")
    p.add_argument("--source", metavar="KEY|NAME", help="who published the report (a source key or name); "
                                                        "default: the page/PDF publisher, else the file")
    p.add_argument("--date", metavar="DATE", type=date_arg, help="the report's date (YYYY[-MM[-DD]]): the claims' date")
    p.add_argument("-o", "--output", metavar="OUT.yaml", help="write the records here (default: stdout)")
    p.add_argument("--load", action="store_true", help="then load the records (the normal loader); a draft "
                                                       "whose key is an incident already is refused")
    p.add_argument("--merge", action="store_true", help="with --load: add a draft to the incident already "
                                                        "in the graph under its key")
    p.add_argument("--json", action="store_true", help="print the drafts as JSON, every item with its "
                                                       "sentence and score")
    p.add_argument("--attack", metavar="BUNDLE", help="the ATT&CK bundle to learn techniques from "
                                                      "(default: the one the graph holds)")
    p.add_argument("--refresh", action="store_true", help="download URLs again even if cached")
    p.set_defaults(func=cmd_extract)


def cmd_extract(args, settings: Settings) -> int:
    from loaders.reports import Gazetteer, draft_report, drafts_yaml, merge_records, read_report

    started = time.monotonic()
    if args.merge and not args.load:
        err("note: --merge applies only with --load")
    failed: list[str] = []  # the inputs that gave no draft, each named on one line

    def fail(name: str, exc: Exception) -> None:
        failed.append(name)
        if isinstance(exc, AttribError):
            message = exc.message if isinstance(exc, ValidationError) else f"{name}: {exc.message}"
            err(f"error: {message}" + (f"\n  hint: {exc.hint}" if exc.hint else ""))
        else:  # a bug: still one line for this input, and the others are drafted
            err(f"error: {name}: unexpected {type(exc).__name__} ({exc}); this is a bug in attrib: please "
                "report it with this input")

    reports = []  # every input read first: the model loads only if there is something to draft
    for n, arg in enumerate(args.inputs, start=1):
        try:
            reports.append((n, *read_report(arg, cache_dir=settings.cache_dir, progress=_progress(),
                                            refresh=args.refresh)))
        except Exception as exc:  # noqa: BLE001 - one bad input never sinks the others
            fail(arg, exc)
        finally:
            if sys.stderr.isatty():
                print("\r\033[K", end="", file=sys.stderr, flush=True)  # clear the progress line
    drafts, names = [], {}
    if reports:
        gazetteer, held = _graph(settings, required=args.load)
        recognizer = _recognizer(args, settings, held)
    for n, text, meta in reports:
        if len(text) > LONG_TEXT:
            err(f"{meta.name}: {len(text) / 1e6:.1f} million characters; drafting ...")
        key = args.key if not args.key or n == 1 else f"{args.key}-{n}"
        try:
            draft = draft_report(text, meta=meta, gazetteer=gazetteer or Gazetteer(), recognizer=recognizer,
                                 key=key, source=args.source, date=args.date)
            if draft.key in names:
                raise ValidationError(meta.name, f"drafts the incident key '{draft.key}' that {names[draft.key]} "
                                      "drafted too (the same text twice?)", hint="give --key, or drop one")
        except Exception as exc:  # noqa: BLE001 - one bad input never sinks the others
            fail(meta.name, exc)
            continue
        for note in draft.notes:
            err(f"{meta.name}: note: {note}")
        drafts.append(draft)
        names[draft.key] = meta.name
    if not drafts:
        err(f"no draft: {len(failed)} input(s) failed")
        return 1
    yaml_text = drafts_yaml(drafts)
    if args.json:
        print(json.dumps({"drafts": [d.to_json() for d in drafts], "records": merge_records(drafts)},
                         indent=2, ensure_ascii=False))
    elif not args.output:
        sys.stdout.write(yaml_text)
    out = Path(args.output) if args.output else None
    if out:
        try:
            out.write_text(yaml_text, encoding="utf-8")
        except OSError as exc:
            raise ValidationError(out, f"cannot write the draft ({exc.strerror or exc})") from exc
        err(f"wrote {out}")
    err(f"drafted {len(drafts)} incident(s) in {time.monotonic() - started:.1f} s: " + ", ".join(names)
        + (f"; {len(failed)} input(s) failed: " + ", ".join(failed) if failed else ""))
    loaded = _load(settings, drafts, names, out, args.merge) if args.load else True
    return 0 if loaded and not failed else 1


def _progress():
    """Progress lines for long reads (PDF pages, downloads): redrawn in place on a terminal, else
    at most one line every two seconds."""
    interactive = sys.stderr.isatty()
    last = [0.0]

    def say(message: str) -> None:
        now = time.monotonic()
        if interactive:
            print(f"\r{message}\033[K", end="", file=sys.stderr, flush=True)
        elif now - last[0] >= 2:
            last[0] = now
            err(message)

    return say


def _graph(settings: Settings, required: bool):
    """What the graph knows: its names (tools, actors, sources) as a Gazetteer and the content hash of
    the ATT&CK bundle it holds; without a server, neither (unless --load)."""
    from graph.reads import attack_bundles, gazetteer_rows
    from loaders.reports import Gazetteer

    try:
        with open_db(settings) as db:
            bundles = attack_bundles(db)
            return Gazetteer.from_rows(gazetteer_rows(db)), bundles[0] if bundles else None
    except Unavailable:
        if required:
            raise
        err("note: no Neo4j server answers: names the graph knows (tools, actors, sources) are not used")
        return None, None


def _recognizer(args, settings: Settings, held: dict | None):
    """The technique model: --attack, else the one for the ATT&CK bundle the graph holds, else (no
    graph, or one without ATT&CK) the bundle `attrib load attack` downloaded."""
    from loaders.reports.attack_cache import find_attack_bundle
    from loaders.reports.model_cache import recognizer_for

    if args.attack:
        bundle = Path(args.attack)
        if not bundle.exists():
            raise ValidationError(bundle, "file not found", hint="--attack takes an ATT&CK STIX bundle (.json[.gz])")
    else:
        bundle = find_attack_bundle(settings, held["bundle"] if held else None)
    if bundle is None and held:
        err(f"note: the graph holds ATT&CK {held['domain'] or ''} {held['version'] or ''} (bundle {held['bundle']}), "
            "but no copy of it is kept here (loaded before attrib kept copies, or the cache was cleared): "
            "techniques are not recognised; load the bundle again (attrib load FILE) or give --attack FILE")
        return None
    if bundle is None:
        err("note: no ATT&CK bundle in the graph or the cache (attrib load FILE|attack, or give --attack "
            "FILE): techniques are not recognised")
        return None
    return recognizer_for(bundle, settings.cache_dir, progress=err)


def _load(settings: Settings, drafts: list, names: dict[str, str], out: Path | None, merge: bool) -> bool:
    """Load the drafts through the normal loader; a draft whose key is an incident already is refused
    (named, the others loaded) unless `merge`: a new report never silently merges into an old one."""
    from app.cli.core import load_files
    from graph.reads import incidents_present
    from graph.store import schema
    from loaders.reports import drafts_yaml

    with open_db(settings) as db:
        present = {} if merge else incidents_present(db, [d.key for d in drafts])
        for key, old in present.items():
            err(f"error: {names[key]}: the incident {key} is already in the graph ({old['name']}, first seen "
                f"{old['first_seen'] or '?'}): not loaded\n  hint: give --merge to add this draft to it, or "
                "--key for a new incident")
        todo = [d for d in drafts if d.key not in present]
        if not todo:
            return False
        with tempfile.TemporaryDirectory(prefix="attrib-extract-") as tmp:
            path = out if out and len(todo) == len(drafts) else Path(tmp) / "draft.yaml"
            if path != out:
                path.write_text(drafts_yaml(todo), encoding="utf-8")
            schema.init_schema(db)
            report = load_files(db, [path], settings)
    if not report.ok:
        return False
    for d in todo:
        err(f"next: attrib explain {d.key}   (or attrib hypotheses {d.key} --blind)")
    return not present
