"""`attrib extract`: draft incident records from reports and articles (loaders/reports)."""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from app.cli.common import date_arg, err, open_db
from graph.errors import Unavailable, ValidationError
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
                   help="incident key (default report:<slug of the file name or title>; with several "
                        "inputs the second gets KEY-2, ...)")
    p.add_argument("--source", metavar="KEY|NAME", help="who published the report (a source key or name); "
                                                        "default: the page/PDF publisher, else the file")
    p.add_argument("--date", metavar="DATE", type=date_arg, help="the report's date (YYYY[-MM[-DD]]): the claims' date")
    p.add_argument("-o", "--output", metavar="OUT.yaml", help="write the records here (default: stdout)")
    p.add_argument("--load", action="store_true", help="then load the records (the normal loader)")
    p.add_argument("--json", action="store_true", help="print the drafts as JSON, every item with its "
                                                       "sentence and score")
    p.add_argument("--attack", metavar="BUNDLE", help="the ATT&CK bundle to learn techniques from "
                                                      "(default: the one attrib load attack downloaded)")
    p.add_argument("--refresh", action="store_true", help="download URLs again even if cached")
    p.set_defaults(func=cmd_extract)


def cmd_extract(args, settings: Settings) -> int:
    from loaders.reports import Gazetteer, draft_report, drafts_yaml, merge_records, read_report

    started = time.monotonic()
    reports = []  # every input read first: a bad one fails before the model loads
    for arg in args.inputs:
        reports.append(read_report(arg, cache_dir=settings.cache_dir, progress=_progress(), refresh=args.refresh))
        if sys.stderr.isatty():
            print("\r\033[K", end="", file=sys.stderr, flush=True)  # clear the progress line
    gazetteer = _gazetteer(settings, required=args.load)
    recognizer = _recognizer(args, settings)
    drafts = []
    for n, (text, meta) in enumerate(reports, start=1):
        if len(text) > LONG_TEXT:
            err(f"{meta.name}: {len(text) / 1e6:.1f} million characters; drafting ...")
        key = args.key if not args.key or n == 1 else f"{args.key}-{n}"
        draft = draft_report(text, meta=meta, gazetteer=gazetteer or Gazetteer(), recognizer=recognizer,
                             key=key, source=args.source, date=args.date)
        for note in draft.notes:
            err(f"{meta.name}: note: {note}")
        drafts.append(draft)
    keys = [d.key for d in drafts]
    for n, key in enumerate(keys):
        if key in keys[:n]:
            raise ValidationError(args.inputs[n], f"drafts the incident key '{key}' a previous input drafted",
                                  hint="rename the file or give --key")
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
    err(f"drafted {len(drafts)} incident(s) in {time.monotonic() - started:.1f} s: " + ", ".join(keys))
    if not args.load:
        return 0
    return _load(settings, yaml_text, out, keys)


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


def _gazetteer(settings: Settings, required: bool):
    """Tool, actor and source names from the graph; without a server, none (unless --load)."""
    from graph.reads import gazetteer_rows
    from loaders.reports import Gazetteer

    try:
        with open_db(settings) as db:
            return Gazetteer.from_rows(gazetteer_rows(db))
    except Unavailable:
        if required:
            raise
        err("note: no Neo4j server answers: names the graph knows (tools, actors, sources) are not used")
        return None


def _recognizer(args, settings: Settings):
    from loaders.reports.techniques import find_attack_bundle, recognizer_for

    bundle = Path(args.attack) if args.attack else find_attack_bundle(settings)
    if bundle is None:
        err("note: no ATT&CK bundle (run: attrib load attack, or give --attack FILE): techniques are not "
            "recognised")
        return None
    if not bundle.exists():
        raise ValidationError(bundle, "file not found", hint="--attack takes an ATT&CK STIX bundle (.json[.gz])")
    return recognizer_for(bundle, settings.cache_dir, progress=err)


def _load(settings: Settings, yaml_text: str, out: Path | None, keys: list[str]) -> int:
    from app.cli.core import load_files
    from graph.store import schema

    with tempfile.TemporaryDirectory(prefix="attrib-extract-") as tmp:
        path = out or Path(tmp) / "draft.yaml"
        if not out:
            path.write_text(yaml_text, encoding="utf-8")
        with open_db(settings) as db:
            schema.init_schema(db)
            report = load_files(db, [path], settings)
    if not report.ok:
        return 1
    for key in keys:
        err(f"next: attrib explain {key}   (or attrib hypotheses {key} --blind)")
    return 0
