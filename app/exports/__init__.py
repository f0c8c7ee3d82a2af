"""Exports: one module per format, one registry, used by `attrib export` (app/cli/query.py),
its --format choices and the app's export widget (app/web/export_widget.py).

Every exporter is handed a `Job` (app/exports/base.py): the `graph.reads.subgraph.Subgraph` being
exported (an incident's neighbourhood, a query's result, an actor's), the `Options` (title,
tlp, date, actor, actors) and, if its `Format` has a `gather`, what that read from the graph
first (e.g. the engine's assessment for STIX). `write(job, out)` writes the file(s) and
returns their paths; it never touches the database.

To add a format:
1. write `app/exports/<name>.py` with `write(job, out) -> list[Path]` (and, if the format
   needs more than the subgraph, `gather(db, sub, options)`; keep the Cypher in
   graph/cypher.py and the reads in graph/), ending in
   `FORMAT = Format(name, suffix, mime, description, write, gather)` (`widget=False` keeps it
   out of the app's export widget, for a format that needs an option the widget does not ask);
2. add that FORMAT to `REGISTRY` below. The CLI's --format choices, the suffix guess from
   `-o` and the app's format picker follow from the registry; escape data strings
   (`app.exports.style.esc`) in anything HTML/SVG/XML, and raise `ExportError` with a hint.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from app.exports import chromium, csv, graphml, html, misp, navigator, stix, svg
from app.exports.base import ExportError, Format, Job, Options
from app.exports.style import tlp_label
from graph.reads.subgraph import Subgraph

REGISTRY: dict[str, Format] = {f.name: f for f in (
    chromium.PNG, svg.FORMAT, chromium.PDF, html.FORMAT, graphml.FORMAT, csv.FORMAT, stix.FORMAT,
    navigator.FORMAT, misp.FORMAT,
)}
FORMATS = tuple(REGISTRY)

__all__ = ["REGISTRY", "FORMATS", "ExportError", "Format", "Job", "Options", "get", "format_for_path",
           "prepare", "export", "export_bytes"]


def get(fmt: str) -> Format:
    f = REGISTRY.get((fmt or "").lower())
    if f is None:
        raise ExportError(f"unknown export format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    return f


def format_for_path(path: str | Path) -> Format:
    """The format an output file name asks for, by its suffix, the longest that matches
    (.zip is CSV, .misp.json MISP, any other .json STIX)."""
    name = Path(path).name.lower()
    matches = [(len(s), -i, f) for i, f in enumerate(REGISTRY.values()) for s in {f.name, f.suffix}
               if name.endswith("." + s)]
    if matches:
        return max(matches, key=lambda m: m[:2])[2]
    raise ExportError(f"cannot tell the format from {str(path)!r}", hint=f"pass --format ({', '.join(FORMATS)})")


def prepare(sub: Subgraph, fmt: str, options: Options | None = None, db=None) -> Job:
    """Check the options and the subgraph, and run the format's graph reads (needs `db`)."""
    f = get(fmt)
    options = options or Options()
    try:
        tlp_label(options.tlp)
    except ValueError as exc:
        raise ExportError(str(exc)) from None
    if not sub.nodes:
        raise ExportError("nothing to export: the graph is empty",
                          hint="check the incident or query (a query must return nodes, relationships or paths)")
    context = None
    if f.gather is not None:
        if db is None:
            raise ExportError(f"the {f.name} export reads more from the graph and needs a database connection")
        context = f.gather(db, sub, options)
    return Job(sub, options, context)


def export(sub: Subgraph, fmt: str, out: str | Path, options: Options | None = None, db=None) -> list[Path]:
    """Write `sub` in format `fmt` to `out`; returns the files written."""
    out = Path(out)
    job = prepare(sub, fmt, options, db)
    if out.parent and not out.parent.exists():
        raise ExportError(f"the directory {out.parent} does not exist")
    return get(fmt).write(job, out)


def export_bytes(sub: Subgraph, fmt: str, stem: str, options: Options | None = None,
                 db=None) -> tuple[bytes, str, str]:
    """One export in memory, for a download button: (data, file name, MIME type)."""
    f = get(fmt)
    name = f"{stem}.{f.suffix}"
    with tempfile.TemporaryDirectory(prefix="attrib-export-") as tmp:
        written = export(sub, fmt, Path(tmp) / name, options, db)
        return written[0].read_bytes(), name, f.mime
