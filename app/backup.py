"""The whole graph as one portable file, and back (`attrib backup FILE`, `attrib restore FILE`).

Two formats:
- `dump`: `neo4j-admin database dump` of the local instance (fast; the server is stopped for
  it and started again). The store as Neo4j keeps it, schema included; `restore` loads it with
  `neo4j-admin database load`.
- `logical`: gzipped JSON Lines streamed from any server over bolt (NEO4J_URI, Aura), online: a
  header line, one line per node (labels, every property) and per relationship (type, ends,
  every property), and a trailer with the counts (a truncated file is refused). Property types
  JSON lacks (temporal values, points, byte arrays, NaN) are tagged {"$t": type, ...}; property
  values are never maps in Neo4j, so a map is always a tag. Restore creates the project's schema,
  then the nodes and relationships in batches, into an EMPTY database only.
`restore` tells the format from the file's first bytes (gzip: logical).
"""
from __future__ import annotations

import base64
import gzip
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
import neo4j
import pytz
from neo4j.spatial import CartesianPoint, WGS84Point
from neo4j.time import Date, DateTime, Duration, Time

from graph import cypher
from graph.errors import AttribError, ConfigError, ValidationError
from graph.settings import Settings
from graph.store import schema
from graph.store.db import GraphDB, connect
from graph.store.server import LocalServer
from loaders.common import lines, open_text, parse_json_line

FORMATS = ("dump", "logical")
LOGICAL_FORMAT = "attrib-graph-backup"
LOGICAL_VERSION = 1
# Automatic backups before `attrib reset --yes`, under $ATTRIB_HOME/backups/: the newest stay.
KEEP_AUTOMATIC = 5
# Incident keys the feed loaders make (STIX/ATT&CK, MISP); any other incident came from a record file.
FEED_INCIDENT_PREFIXES = ("attack:", "stix:", "misp:")
CARTESIAN_SRIDS = (7203, 9157)

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class NotEmpty(AttribError):
    """A restore into a database that already holds data."""


@dataclass
class BackupResult:
    path: Path
    format: str
    nodes: int
    relationships: int
    seconds: float

    @property
    def size_mb(self) -> float:
        return self.path.stat().st_size / 2**20

    def describe(self, verb: str) -> str:
        return (f"{verb} {self.nodes} nodes and {self.relationships} relationships "
                f"({self.format}, {self.path}, {self.size_mb:.2f} MB) in {self.seconds:.1f} s")


def default_format(settings: Settings) -> str:
    return "logical" if settings.external else "dump"


# -- property values <-> JSON ----------------------------------------------------------------------
def encode(value: Any) -> Any:
    """A Neo4j property value as JSON (tagged where JSON has no such type)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$t": "float", "v": repr(value)}
    if isinstance(value, Duration):  # a tuple, as points are: before lists
        return {"$t": "duration", "v": [value.months, value.days, value.seconds, value.nanoseconds]}
    if isinstance(value, (CartesianPoint, WGS84Point)):
        return {"$t": "point", "srid": value.srid, "v": list(value)}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"$t": "bytes", "v": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Date):
        return {"$t": "date", "v": value.iso_format()}
    if isinstance(value, (DateTime, Time)):
        kind = "datetime" if isinstance(value, DateTime) else "time"
        if value.tzinfo is None:
            return {"$t": "local" + kind, "v": value.iso_format()}
        tagged = {"$t": kind, "v": value.iso_format()}
        zone = getattr(value.tzinfo, "zone", None) or getattr(value.tzinfo, "key", None)  # pytz, zoneinfo
        if kind == "datetime" and zone:
            tagged["zone"] = zone
        return tagged
    raise ConfigError(f"a property of type {type(value).__name__} cannot be backed up logically",
                      hint="use --format dump for the local instance")


def decode(value: Any) -> Any:
    """The inverse of `encode`."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind, v = value["$t"], value["v"]
    if kind == "float":
        return float(v)
    if kind == "bytes":
        return base64.b64decode(v)
    if kind == "date":
        return Date.from_iso_format(v)
    if kind in ("datetime", "localdatetime"):
        at = DateTime.from_iso_format(v)
        # The same instant in its named zone, as the driver builds it (pytz: the driver's own
        # dependency; a zoneinfo zone given a neo4j DateTime crashes CPython's C code).
        return at.as_timezone(pytz.timezone(value["zone"])) if "zone" in value else at
    if kind in ("time", "localtime"):
        return Time.from_iso_format(v)
    if kind == "duration":
        months, days, seconds, nanoseconds = v
        return Duration(months=months, days=days, seconds=seconds, nanoseconds=nanoseconds)
    if kind == "point":
        return (CartesianPoint if value["srid"] in CARTESIAN_SRIDS else WGS84Point)(v)
    raise KeyError(kind)


def _decode_props(props: dict) -> dict:
    return {k: decode(v) for k, v in props.items()}


# -- backup -----------------------------------------------------------------------------------------
def backup(settings: Settings, path: Path, fmt: str | None = None, log: Log = _stderr) -> BackupResult:
    """Write the whole graph to `path` (replaced only once the new file is complete)."""
    fmt = fmt or default_format(settings)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if fmt == "dump":
        nodes, rels = _dump(settings, path, log)
    elif fmt == "logical":
        db = connect(settings)
        try:
            nodes, rels = _export(db, path)
        finally:
            db.close()
    else:
        raise ConfigError(f"unknown backup format '{fmt}'", hint="use one of: " + ", ".join(FORMATS))
    return BackupResult(path, fmt, nodes, rels, time.monotonic() - started)


def _export(db: GraphDB, path: Path) -> tuple[int, int]:
    partial = path.with_name(path.name + ".partial")

    def work(tx: neo4j.ManagedTransaction) -> tuple[int, int]:
        # Opened afresh on every attempt: a retried transaction rewrites the file from the start.
        ids: dict[str, int] = {}
        with gzip.open(partial, "wt", encoding="utf-8", compresslevel=6) as out:
            out.write(json.dumps({"format": LOGICAL_FORMAT, "version": LOGICAL_VERSION,
                                  "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                  "uri": db.uri, "database": db.database}) + "\n")
            for record in tx.run(cypher.BACKUP_NODES):
                ids[record["id"]] = len(ids)
                out.write(json.dumps({"node": ids[record["id"]], "labels": record["labels"],
                                      "props": {k: encode(v) for k, v in record["props"].items()}},
                                     ensure_ascii=False) + "\n")
            rels = 0
            for record in tx.run(cypher.BACKUP_RELS):
                out.write(json.dumps({"rel": record["type"], "start": ids[record["start"]],
                                      "end": ids[record["end"]],
                                      "props": {k: encode(v) for k, v in record["props"].items()}},
                                     ensure_ascii=False) + "\n")
                rels += 1
            out.write(json.dumps({"end": True, "nodes": len(ids), "relationships": rels}) + "\n")
        return len(ids), rels

    try:
        counts = db.execute_read(work)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return counts


def _local(settings: Settings, what: str) -> LocalServer:
    if settings.external:
        raise ConfigError(f"a {what} needs the local instance's files; NEO4J_URI points at {settings.uri}",
                          hint="use: attrib backup FILE --format logical (works with any server)")
    return LocalServer(settings)


def _database(settings: Settings) -> str:
    return settings.database or "neo4j"


def _dump(settings: Settings, path: Path, log: Log) -> tuple[int, int]:
    server = _local(settings, "neo4j-admin dump")
    counts = _counts(settings) if server.status().state == "running" else None
    with _server_stopped(server, settings, log, "neo4j-admin database dump"):
        with tempfile.TemporaryDirectory(prefix=".attrib-dump-", dir=path.parent) as tmp:
            server.admin("database", "dump", _database(settings), f"--to-path={tmp}")
            os.replace(Path(tmp) / f"{_database(settings)}.dump", path)
    return counts or _counts(settings)


class _server_stopped:
    """Stop the local server for an offline admin command and start it again afterwards."""

    def __init__(self, server: LocalServer, settings: Settings, log: Log, why: str):
        self.server, self.settings, self.log, self.why = server, settings, log, why

    def __enter__(self) -> None:
        if self.server.status().state == "running":
            self.log(f"stopping Neo4j (instance '{self.settings.instance}') for {self.why}; "
                     "it starts again afterwards")
            self.server.stop()

    def __exit__(self, *exc) -> None:
        self.log(f"starting Neo4j (instance '{self.settings.instance}') again")
        self.server.start()


def _counts(settings: Settings) -> tuple[int, int]:
    db = connect(settings)
    try:
        row = db.read(cypher.COUNT_EVERYTHING)[0]
    finally:
        db.close()
    return row["nodes"], row["relationships"]


# -- restore ----------------------------------------------------------------------------------------
def is_logical(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"\x1f\x8b"
    except FileNotFoundError as exc:
        raise ValidationError(path, "file not found") from exc
    except OSError as exc:
        raise ValidationError(path, f"cannot read the file ({exc.strerror or exc})") from exc


def restore(settings: Settings, path: Path, batch_size: int | None = None,
            log: Log = _stderr) -> BackupResult:
    """Load a backup into the configured database, which must be empty."""
    path = Path(path)
    started = time.monotonic()
    if is_logical(path):
        _, nodes, rels = check_logical(path)
        db = connect(settings)
        try:
            _refuse_non_empty(db)
            _import(db, path, batch_size or settings.batch_size, log)
        finally:
            db.close()
        fmt = "logical"
    else:
        server = _local(settings, "dump restore")
        server.start()
        db = connect(settings)
        try:
            _refuse_non_empty(db)
        finally:
            db.close()
        with _server_stopped(server, settings, log, "neo4j-admin database load"):
            with tempfile.TemporaryDirectory(prefix="attrib-load-") as tmp:
                # neo4j-admin reads <database>.dump from a directory.
                os.symlink(path.resolve(), Path(tmp) / f"{_database(settings)}.dump")
                server.admin("database", "load", _database(settings), f"--from-path={tmp}",
                             "--overwrite-destination=true")
        nodes, rels = _counts(settings)
        fmt = "dump"
    return BackupResult(path, fmt, nodes, rels, time.monotonic() - started)


def _refuse_non_empty(db: GraphDB) -> None:
    if db.read(cypher.ANY_NODE)[0]["found"]:
        raise NotEmpty(f"the database at {db.uri} is not empty; a restore goes into an empty one only",
                       hint="back it up first (attrib backup FILE), then: attrib reset --yes")


def _records(path: Path):
    """(line number, parsed line) of a logical backup; every failure names the file."""
    with open_text(path) as stream:
        for number, line in enumerate(lines(path, stream), start=1):
            yield number, parse_json_line(path, number, line)


def check_logical(path: Path) -> tuple[dict, int, int]:
    """Read a logical backup once in full before anything is written: its header, that every
    line is a node or relationship whose ends are in the file, and the trailer's counts."""
    header, nodes, rels, trailer = None, set(), 0, None
    for number, item in _records(path):
        where = f"line {number}"
        if not isinstance(item, dict):
            raise ValidationError(path, "expected a JSON object", record=where)
        if header is None:
            if item.get("format") != LOGICAL_FORMAT or item.get("version") != LOGICAL_VERSION:
                raise ValidationError(path, f"not an attrib backup (format {LOGICAL_FORMAT} "
                                      f"version {LOGICAL_VERSION})", record=where)
            header = item
        elif trailer is not None:
            raise ValidationError(path, "lines after the end marker", record=where)
        elif "node" in item:
            if not isinstance(item.get("labels"), list) or not isinstance(item.get("props"), dict):
                raise ValidationError(path, "a node needs labels and props", record=where)
            nodes.add(item["node"])
        elif "rel" in item:
            if item.get("start") not in nodes or item.get("end") not in nodes:
                raise ValidationError(path, "a relationship whose node is not in the file", record=where)
            rels += 1
        elif item.get("end") is True:
            trailer = item
        else:
            raise ValidationError(path, "neither a node nor a relationship", record=where)
    if header is None:
        raise ValidationError(path, "empty file")
    if trailer is None or trailer.get("nodes") != len(nodes) or trailer.get("relationships") != rels:
        raise ValidationError(path, "incomplete backup (no end marker, or counts that do not match)",
                              hint="was the backup interrupted? use a complete file")
    return header, len(nodes), rels


def _import(db: GraphDB, path: Path, batch_size: int, log: Log) -> None:
    schema.init_schema(db)
    db.run_autocommit(cypher.RESTORE_LABEL_INDEX)
    db.run_autocommit(cypher.AWAIT_INDEXES)
    try:
        nodes: list[dict] = []
        rels: list[dict] = []
        for _, item in _records(path):
            if "node" in item:
                nodes.append({"id": item["node"], "labels": item["labels"],
                              "props": _decode_props(item["props"])})
                if len(nodes) >= batch_size:
                    db.write(cypher.RESTORE_NODES, {"rows": nodes})
                    nodes = []
            elif "rel" in item:
                if nodes:  # every node precedes the relationships
                    db.write(cypher.RESTORE_NODES, {"rows": nodes})
                    nodes = []
                rels.append({"type": item["rel"], "start": item["start"], "end": item["end"],
                             "props": _decode_props(item["props"])})
                if len(rels) >= batch_size:
                    _write_rels(db, rels)
                    rels = []
        if nodes:
            db.write(cypher.RESTORE_NODES, {"rows": nodes})
        if rels:
            _write_rels(db, rels)
        db.run_autocommit(cypher.RESTORE_CLEANUP)
    except BaseException:
        log("restore failed: emptying the database again (nothing half-restored stays)")
        try:
            schema.reset(db)
            db.run_autocommit(cypher.RESTORE_DROP_INDEX)
        except AttribError as exc:  # the server went away: say so, and keep the first error
            log(f"  could not empty it ({exc}); run: attrib reset --yes --no-backup")
        raise
    db.run_autocommit(cypher.RESTORE_DROP_INDEX)


def _write_rels(db: GraphDB, rows: list[dict]) -> None:
    created = db.write(cypher.RESTORE_RELS, {"rows": rows}).relationships_created
    if created != len(rows):
        raise AttribError(f"restored {created} of {len(rows)} relationships in a batch",
                          hint="the database changed during the restore; empty it and restore again")


# -- before a reset ---------------------------------------------------------------------------------
def has_hand_curated(db: GraphDB) -> bool:
    """True if the graph holds work only a record file brings (see cypher.HAND_CURATED)."""
    return db.read(cypher.HAND_CURATED, {"feed_prefixes": list(FEED_INCIDENT_PREFIXES)})[0]["found"]


def automatic_backup(settings: Settings, log: Log = _stderr) -> BackupResult:
    """A logical backup under $ATTRIB_HOME/backups/ (the newest KEEP_AUTOMATIC kept). Logical,
    not a dump: it runs online, so an app using the server is not cut off by a restart."""
    directory = settings.backup_dir
    fmt = "logical"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    prefix = f"before-reset-{'external' if settings.external else settings.instance}-"
    result = backup(settings, directory / (prefix + stamp + (".dump" if fmt == "dump" else ".jsonl.gz")),
                    fmt, log)
    old = sorted((p for p in directory.glob(prefix + "*") if p.is_file()),
                 key=lambda p: p.name, reverse=True)[KEEP_AUTOMATIC:]  # names sort by time
    for p in old:
        p.unlink()
    return result
