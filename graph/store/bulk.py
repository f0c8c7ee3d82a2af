"""First loads into an empty local database through `neo4j-admin database import full`.

The loaders' rows become the CSV files Neo4j's offline importer reads (one header file and one
data file per label and per relationship group); the server is stopped, the importer builds
the store, the server starts again and the schema is created on the imported data.

Memory: distinct nodes and relationships whose start node is shared (an actor's USES, a
technique's parent) are merged in memory; the bulk of the rows (an incident's or a claim's
relationships) are streamed to disk. Incident and claim keys must be unique across the files
of one bulk load, which is checked.
"""
from __future__ import annotations

import csv
import json
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from graph import cypher
from graph.errors import ConfigError, UnknownReference, ValidationError
from graph.model import LIST_PROPS, Batch
from graph.settings import Settings
from graph.store import schema
from graph.store.db import connect
from graph.store.server import LocalServer
from graph.seen_keys import SeenKeys

ARRAY_DELIMITER = "\u001f"  # unit separator: never inside a name, key or source
# Relationships that start at a node one record defines are streamed; the rest are merged.
STREAMED_START_LABELS = ("Incident", "Claim")


def _csv_type(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "string"


def _merge(target: dict, props: dict) -> None:
    for k, v in props.items():
        if isinstance(v, (list, tuple)):
            target[k] = list(dict.fromkeys(list(target.get(k, [])) + list(v)))
        else:
            target[k] = v


@dataclass
class ImportFiles:
    """Header and data CSV files per label and relationship group, ready for neo4j-admin."""

    directory: Path
    nodes: dict[str, tuple[Path, Path, list[tuple[str, str]]]] = field(default_factory=dict)
    rels: dict[tuple[str, str, str], tuple[Path, Path, list[tuple[str, str]]]] = field(default_factory=dict)
    node_count: int = 0
    rel_count: int = 0

    def admin_args(self) -> list[str]:
        args = [f"--nodes={label}={hdr},{data}" for label, (hdr, data, _) in self.nodes.items()]
        args += [f"--relationships={rtype}={hdr},{data}" for (rtype, _, _), (hdr, data, _) in self.rels.items()]
        return args


class ImportWriter:
    """Collects Batches and writes neo4j-admin import files."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.nodes: dict[str, dict[str, dict]] = defaultdict(dict)
        self.shared_rels: dict[tuple[str, str, str], dict[tuple[str, str], dict]] = defaultdict(dict)
        self.spool: dict[tuple[str, str, str], object] = {}
        self.spool_columns: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
        self.record_keys = SeenKeys(on_disk=True)
        self.refs: list = []

    def add(self, batch: Batch) -> None:
        batch_nodes = {(n.label, n.key) for n in batch.nodes}
        for n in batch.nodes:
            if n.label in STREAMED_START_LABELS:
                first = self.record_keys.add(n.label, n.key, batch.file)
                if first is not None and first != batch.file:
                    raise ValidationError(batch.file, f"{n.label} '{n.key}' is also defined in {first}",
                                          hint="a bulk load needs each incident and claim once; "
                                               "load the second file with attrib load afterwards")
            _merge(self.nodes[n.label].setdefault(n.key, {}), n.props)
        seen_in_batch: set[tuple[str, str, str, str]] = set()
        for r in batch.rels:
            group = (r.type, r.start_label, r.end_label)
            if r.start_label in STREAMED_START_LABELS:
                if (r.type, r.start_key, r.end_label, r.end_key) in seen_in_batch:
                    continue
                seen_in_batch.add((r.type, r.start_key, r.end_label, r.end_key))
                for k, v in r.props.items():
                    self.spool_columns[group].setdefault(k, _csv_type(v[0] if isinstance(v, list) and v else v))
                if group not in self.spool:
                    self.spool[group] = open(self.dir / f"spool-{'-'.join(group)}.jsonl", "w")
                self.spool[group].write(json.dumps([r.start_key, r.end_key, r.props]) + "\n")
            else:
                _merge(self.shared_rels[group].setdefault((r.start_key, r.end_key), {}), r.props)
        self.refs.extend((batch.file, ref) for ref in batch.refs if (ref.label, ref.key) not in batch_nodes)

    def _require(self, file: str, label: str, key: str, record=None, field=None) -> None:
        if key not in self.nodes.get(label, {}):
            raise UnknownReference(file, f"refers to {label} '{key}', which none of the files defines",
                                   record=record, field=field,
                                   hint="a bulk load must be complete: include the file that defines it")

    def finish(self) -> ImportFiles:
        for file, ref in self.refs:
            self._require(file, ref.label, ref.key, ref.record, ref.field)
        for (rtype, sl, el), rows in self.shared_rels.items():
            for s, e in rows:
                self._require(f"{rtype} relationship", sl, s)
                self._require(f"{rtype} relationship", el, e)
        files = ImportFiles(self.dir)
        for label, rows in self.nodes.items():
            columns = _columns(rows.values())
            hdr, data = self.dir / f"nodes-{label}.header.csv", self.dir / f"nodes-{label}.csv"
            _write_header(hdr, [f"key:ID({label})"] + [_col(c, t) for c, t in columns])
            with open(data, "w", newline="") as f:
                w = csv.writer(f)
                for key, props in rows.items():
                    w.writerow([key] + [_cell(props.get(c)) for c, _ in columns])
            files.nodes[label] = (hdr, data, [("key", "string")] + columns)
            files.node_count += len(rows)
        for group, rows in self.shared_rels.items():
            columns = _columns(rows.values())
            hdr, data = self._rel_paths(group, columns, files)
            with open(data, "w", newline="") as f:
                w = csv.writer(f)
                for (s, e), props in rows.items():
                    w.writerow([s, e] + [_cell(props.get(c)) for c, _ in columns])
            files.rel_count += len(rows)
        for group, spool in self.spool.items():
            spool.close()
            columns = sorted(self.spool_columns[group].items())
            hdr, data = self._rel_paths(group, columns, files)
            with open(spool.name) as src, open(data, "w", newline="") as f:
                w = csv.writer(f)
                for line in src:
                    s, e, props = json.loads(line)
                    self._require(f"{group[0]} relationship from {s}", group[2], e)
                    w.writerow([s, e] + [_cell(props.get(c)) for c, _ in columns])
                    files.rel_count += 1
            Path(spool.name).unlink()
        self.record_keys.close()
        return files

    def _rel_paths(self, group, columns, files: ImportFiles) -> tuple[Path, Path]:
        rtype, sl, el = group
        hdr, data = self.dir / f"rels-{rtype}-{sl}-{el}.header.csv", self.dir / f"rels-{rtype}-{sl}-{el}.csv"
        _write_header(hdr, [f":START_ID({sl})", f":END_ID({el})"] + [_col(c, t) for c, t in columns])
        files.rels[group] = (hdr, data, [("start", "string"), ("end", "string")] + columns)
        return hdr, data


def _columns(rows: Iterable[dict]) -> list[tuple[str, str]]:
    types: dict[str, str] = {}
    for props in rows:
        for k, v in props.items():
            if k not in types:
                types[k] = _csv_type(v[0] if isinstance(v, list) and v else v)
    return sorted(types.items())


def _col(name: str, type_: str) -> str:
    return f"{name}:{type_}[]" if name in LIST_PROPS else f"{name}:{type_}"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ARRAY_DELIMITER.join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _write_header(path: Path, columns: list[str]) -> None:
    with open(path, "w", newline="") as f:
        csv.writer(f).writerow(columns)


def bulk_load(settings: Settings, batches: Iterable[Batch], log: Callable[[str], None]) -> dict:
    """Import into the local instance's database, which must be empty. Returns timings."""
    if settings.external:
        raise ConfigError("--bulk imports offline into the local Neo4j, but NEO4J_URI points elsewhere",
                          hint="unset NEO4J_URI, or load online with: attrib load PATH")
    server = LocalServer(settings, log=log)
    server.start()
    db = connect(settings)
    try:
        if db.read(cypher.COUNT_ALL_NODES)[0]["n"]:
            raise ConfigError("--bulk needs an empty database (it replaces the store)",
                              hint="run attrib reset --yes first, or load online with: attrib load PATH")
    finally:
        db.close()
    timings = {}
    work = Path(tempfile.mkdtemp(prefix="attrib-bulk-"))
    try:
        started = time.monotonic()
        writer = ImportWriter(work)
        for batch in batches:
            writer.add(batch)
        files = writer.finish()
        timings["prepare_s"] = time.monotonic() - started
        log(f"prepared {files.node_count} nodes and {files.rel_count} relationships for neo4j-admin")
        timings.update(admin_import(server, files, log))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    timings.update(nodes=files.node_count, relationships=files.rel_count)
    return timings


def admin_import(server: LocalServer, files: ImportFiles, log: Callable[[str], None]) -> dict:
    """Stop the server, import the files into its `neo4j` database, start it, create the schema."""
    timings = {}
    t = time.monotonic()
    server.stop()
    timings["stop_s"] = time.monotonic() - t
    t = time.monotonic()
    try:
        # The database name goes first: picocli would read it as one more --relationships file.
        server.admin("database", "import", "full", "neo4j", "--overwrite-destination=true",
                     f"--array-delimiter={ARRAY_DELIMITER}", "--multiline-fields=true",
                     "--skip-bad-relationships=false", f"--report-file={files.directory / 'import.report'}",
                     *files.admin_args())
        timings["import_s"] = time.monotonic() - t
    finally:
        t = time.monotonic()
        server.start()  # also after a failed import: the old store is still there
        timings["start_s"] = time.monotonic() - t
    t = time.monotonic()
    db = connect(server.s)
    try:
        schema.init_schema(db)
    finally:
        db.close()
    timings["schema_s"] = time.monotonic() - t
    log(f"neo4j-admin import: {timings['import_s']:.1f} s; schema {timings['schema_s']:.1f} s")
    return timings
