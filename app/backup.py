"""The whole graph as one portable file, and back (`attrib backup FILE`, `attrib restore FILE`).

Two formats:
- `dump`: `neo4j-admin database dump` of the local instance (fast; the server is stopped for
  it and started again). The store as Neo4j keeps it, schema included; `restore` loads it with
  `neo4j-admin database load` into a scratch directory first (a damaged dump is refused there),
  then swaps it in for the store, which goes back if the new one does not start.
- `logical`: gzipped JSON Lines streamed from any server over bolt (NEO4J_URI, Aura), online: a
  header line, one line per node (labels, every property) and per relationship (type, ends,
  every property), and a trailer with the counts and the SHA-256 of the lines before it (a
  truncated or changed file is refused). Property types
  JSON lacks (temporal values, points, byte arrays, NaN) are tagged {"$t": type, ...}; property
  values are never maps in Neo4j, so a map is always a tag. Restore creates the project's schema,
  then the nodes and relationships in batches, into an EMPTY database only.
`restore` tells the format from the file's first bytes (gzip: logical).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator
import neo4j
import pytz
from neo4j.spatial import CartesianPoint, WGS84Point
from neo4j.time import Date, DateTime, Duration, Time

from graph import cypher
from graph.errors import AttribError, ConfigError, DatabaseError, ValidationError
from graph.settings import Settings
from graph.store import schema
from graph.store.db import GraphDB, connect
from graph.store.server import LocalServer, private_dir
from loaders.common import lines, open_text, parse_json_line

FORMATS = ("dump", "logical")
LOGICAL_FORMAT = "attrib-graph-backup"
LOGICAL_VERSION = 2  # 2: the end marker carries the SHA-256 of the lines before it
READABLE_VERSIONS = (1, 2)
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


class DatabaseDown(AttribError):
    """The server runs but its database does not start (a damaged store)."""


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
        digest = hashlib.sha256()

        def line(item: dict) -> None:
            text = json.dumps(item, ensure_ascii=False) + "\n"
            digest.update(text.encode("utf-8"))
            out.write(text)

        with private_file(partial) as raw, gzip.open(raw, "wt", encoding="utf-8", compresslevel=6) as out:
            line({"format": LOGICAL_FORMAT, "version": LOGICAL_VERSION,
                  "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "uri": db.uri, "database": db.database})
            for record in tx.run(cypher.BACKUP_NODES):
                ids[record["id"]] = len(ids)
                line({"node": ids[record["id"]], "labels": record["labels"],
                      "props": {k: encode(v) for k, v in record["props"].items()}})
            rels = 0
            for record in tx.run(cypher.BACKUP_RELS):
                line({"rel": record["type"], "start": ids[record["start"]], "end": ids[record["end"]],
                      "props": {k: encode(v) for k, v in record["props"].items()}})
                rels += 1
            out.write(json.dumps({"end": True, "nodes": len(ids), "relationships": rels,
                                  "sha256": digest.hexdigest()}) + "\n")
        return len(ids), rels

    try:
        counts = db.execute_read(work)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return counts


def private_file(path: Path):
    """`path` opened for writing, created 0600: backups hold the whole graph."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file of that name keeps its mode otherwise
    return os.fdopen(fd, "wb")


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
            os.chmod(Path(tmp) / f"{_database(settings)}.dump", 0o600)
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


def restore(settings: Settings, path: Path | None, batch_size: int | None = None,
            log: Log = _stderr, recover: bool = False) -> BackupResult:
    """Load a backup into the configured database, which must be empty. A file is checked in full
    before the database is touched: a logical one line by line (counts, checksum), a dump loaded
    by neo4j-admin beside the store, swapped in only then; the store it replaces comes back if
    the new one does not start. `recover`: for a database that does not start (a damaged store):
    its store is moved aside and `path`, else the newest backup under $ATTRIB_HOME/backups/ that
    passes its checks, is restored in its place."""
    started = time.monotonic()
    if recover:
        return _recover(settings, path, batch_size, log, started)
    path = Path(path)
    if is_logical(path):
        header, nodes, rels = check_logical(path)
        if header["version"] < 2:
            log(f"{path} was written by an older attrib and has no checksum: restored unchecked")
        db = connect(settings)
        try:
            _refuse_non_empty(db, settings)
            _import(db, path, batch_size or settings.batch_size, log)
        finally:
            db.close()
        fmt = "logical"
    else:
        server = _local(settings, "dump restore")
        server.start()
        db = connect(settings)
        try:
            _refuse_non_empty(db, settings)
        finally:
            db.close()
        with _loaded_aside(server, settings, path, log) as loaded:
            _swap_in(server, settings, loaded, path, log)
        nodes, rels = _counts(settings)
        fmt = "dump"
    return BackupResult(path, fmt, nodes, rels, time.monotonic() - started)


DATABASE_UNAVAILABLE = "Neo.TransientError.General.DatabaseUnavailable"
STORE_PARTS = ("databases", "transactions")  # under data/: each holds a <database> directory


def _refuse_non_empty(db: GraphDB, settings: Settings) -> None:
    try:
        found = db.read(cypher.ANY_NODE)[0]["found"]
    except DatabaseError as exc:
        if exc.code != DATABASE_UNAVAILABLE or settings.external:
            raise
        raise DatabaseDown(f"the database '{_database(settings)}' of instance '{settings.instance}' does "
                          f"not start (a damaged store?)",
                          hint="run: attrib restore --recover [FILE] (moves the store aside and "
                               "restores FILE, or the newest good backup)") from exc
    if found:
        raise NotEmpty(f"the database at {db.uri} is not empty; a restore goes into an empty one only",
                       hint="back it up first (attrib backup FILE), then: attrib reset --yes")


@contextmanager
def _loaded_aside(server: LocalServer, settings: Settings, path: Path, log: Log) -> Iterator[Path]:
    """The dump loaded by neo4j-admin into a scratch data directory beside the store, which is
    not touched: a truncated or damaged dump is refused here. Yields that data directory."""
    name = _database(settings)
    scratch = server.inst / "restore-scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    conf = private_dir(scratch / "conf")
    (conf / "neo4j.conf").write_text((server.inst / "conf" / "neo4j.conf").read_text()
                                     + f"\nserver.directories.data={scratch / 'data'}\n")
    log(f"checking {path}: loading it beside the store first")
    try:
        with tempfile.TemporaryDirectory(prefix="attrib-load-") as tmp:
            # neo4j-admin reads <database>.dump from a directory.
            os.symlink(Path(path).resolve(), Path(tmp) / f"{name}.dump")
            out = server.admin("database", "load", name, f"--from-path={tmp}", "--overwrite-destination=true",
                               check=False, env={**server._env(), "NEO4J_CONF": str(conf)})
        if out.returncode != 0:
            said = [ln.strip() for ln in (out.stderr + out.stdout).splitlines()
                    if ln.strip() and not ln.startswith(("Files:", "Done:"))]  # not its progress lines
            raise ValidationError(path, "neo4j-admin cannot load it as a dump (damaged, cut short or not a "
                                  f"dump): {said[0][:300] if said else 'exit status ' + str(out.returncode)}",
                                  hint="the database was not touched; use another backup")
        yield scratch / "data"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _move_store(source: Path, target: Path, name: str) -> None:
    for part in STORE_PARTS:
        if (source / part / name).exists():
            private_dir(target / part)
            os.replace(source / part / name, target / part / name)


def _swap_in(server: LocalServer, settings: Settings, loaded: Path, path: Path, log: Log,
             aside: Path | None = None) -> None:
    """With the server stopped, the store moves to `aside` (a scratch directory when None, deleted
    once the new one works) and the loaded one in; if its database does not come up, the old
    store goes back and the server starts on it."""
    name, data = _database(settings), server.inst / "data"
    keep = aside is not None
    aside = aside or server.inst / "restore-previous"
    if not keep:
        shutil.rmtree(aside, ignore_errors=True)
    log(f"stopping Neo4j (instance '{settings.instance}') to swap the store; it starts again afterwards")
    server.stop()
    _move_store(data, aside, name)
    _move_store(loaded, data, name)
    try:
        server.start()
        _counts(settings)  # the database answers
    except AttribError as exc:
        log(f"the restored database does not start ({exc.message.splitlines()[0]}): putting the store back")
        server.stop()
        for part in STORE_PARTS:
            shutil.rmtree(data / part / name, ignore_errors=True)
        _move_store(aside, data, name)
        server.start()
        raise AttribError(f"{path}: Neo4j loaded the dump but cannot start the database it makes; "
                          "the database is as it was before", hint="use another backup") from exc
    if not keep:
        shutil.rmtree(aside, ignore_errors=True)


def _recover(settings: Settings, path: Path | None, batch_size: int | None, log: Log,
             started: float) -> BackupResult:
    server = _local(settings, "recovery")
    server.start()
    db = connect(settings)
    try:
        _refuse_non_empty(db, settings)
        broken = False  # a working, empty database: an ordinary restore
    except NotEmpty as exc:
        raise NotEmpty("the database works and holds data: there is nothing to recover",
                       hint="to replace it: attrib backup FILE, attrib reset --yes, attrib restore OTHER") from exc
    except DatabaseDown:
        broken = True
    finally:
        db.close()
    candidates = [Path(path)] if path else _good_backups_first(settings)
    if not candidates:
        raise AttribError(f"no backup of instance '{settings.instance}' under {settings.backup_dir}",
                          hint="name one: attrib restore --recover FILE")
    for candidate in candidates:
        try:
            if broken and not is_logical(candidate):
                with _loaded_aside(server, settings, candidate, log) as loaded:
                    _swap_in(server, settings, loaded, candidate, log, aside=_broken_dir(server, log))
                broken = False
                nodes, rels = _counts(settings)
                return BackupResult(candidate, "dump", nodes, rels, time.monotonic() - started)
            if broken:
                check_logical(candidate)  # before the store is moved
                _set_aside(server, settings, log)
                broken = False
            return restore(settings, candidate, batch_size, log)
        except AttribError as exc:
            if path:
                raise
            log(f"  skipped: {exc}")
    raise AttribError(f"none of the {len(candidates)} backups under {settings.backup_dir} passes its checks",
                      hint="name one: attrib restore --recover FILE")


def _good_backups_first(settings: Settings) -> list[Path]:
    """The backups under $ATTRIB_HOME/backups/ this instance may restore (its automatic ones and any
    a user put there, not other instances' automatic ones), newest first."""
    if not settings.backup_dir.is_dir():
        return []
    own = f"before-reset-{settings.instance}-"
    found = [p for p in settings.backup_dir.iterdir() if p.is_file() and p.name.endswith((".dump", ".jsonl.gz"))
             and (p.name.startswith(own) or not p.name.startswith("before-reset-"))]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _broken_dir(server: LocalServer, log: Log) -> Path:
    aside = server.inst / f"broken-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"
    log(f"the store that does not start is kept at {aside} (delete it when you no longer need it)")
    return aside


def _set_aside(server: LocalServer, settings: Settings, log: Log) -> None:
    """Move a store that does not start aside; the server starts on a new, empty database."""
    server.stop()
    _move_store(server.inst / "data", _broken_dir(server, log), _database(settings))
    server.start()


def _records(path: Path, digest=None):
    """(line number, parsed line) of a logical backup; every failure names the file. `digest`
    (a hashlib object) is fed each line but the last before it is parsed."""
    with open_text(path) as stream:
        previous = None
        for number, line in enumerate(lines(path, stream), start=1):
            if digest is not None and previous is not None:
                digest.update(previous.encode("utf-8"))
            previous = line
            yield number, parse_json_line(path, number, line)


def check_logical(path: Path) -> tuple[dict, int, int]:
    """Read a logical backup once in full before anything is written: its header, that every
    line is a node or relationship whose ends are in the file, the trailer's counts and the
    checksum of every line before it (a file changed since it was written is refused)."""
    header, nodes, rels, trailer = None, set(), 0, None
    digest = hashlib.sha256()
    for number, item in _records(path, digest):
        where = f"line {number}"
        if not isinstance(item, dict):
            raise ValidationError(path, "expected a JSON object", record=where)
        if header is None:
            if item.get("format") != LOGICAL_FORMAT or item.get("version") not in READABLE_VERSIONS:
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
    if header["version"] >= 2 and trailer.get("sha256") != digest.hexdigest():
        raise ValidationError(path, "the content does not match the checksum in its end marker: "
                              "the file was changed or damaged after it was written",
                              hint="restore an unchanged backup")
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
    directory = private_dir(settings.backup_dir)
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
