"""Loading files into the graph: parse and validate every file in full, then write it: a small file
in one transaction, a streamed one (CSV, JSON Lines) in chunks under a marker that makes a load
stopped midway visible, and finished by the next `attrib load`."""
from __future__ import annotations

import gc
import pickle
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from graph import cypher
from graph.errors import UnknownReference, ValidationError
from graph.reads import attack_bundles
from graph.store.db import GraphDB
from graph.store.writer import Plan, Progress, WriteResult, plan_checked, write_batch, write_plan
from loaders import expand_paths, is_streamed, parse_file
from loaders.records import iter_prepared, kind_rank
from loaders.reports.attack_cache import keep_attack_bundles


@dataclass
class LoadReport:
    written: list[WriteResult] = field(default_factory=list)
    refused: list[ValidationError] = field(default_factory=list)
    # Streamed files whose last load stopped midway (see `_interrupted`): loaded again here, or,
    # changed or gone since, only named (the graph holds part of them).
    resumed: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused


@contextmanager
def _fewer_collections():
    """Parsing makes millions of small dicts and lists that live until their chunk is
    written; at Python's default thresholds the cycle collector rescans them over and over
    (40% of parse time on 100,000 incidents). They hold no cycles, so collect less often."""
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


@_fewer_collections()
def load_paths(db: GraphDB, paths: list[str | Path], batch_size: int = 5000,
               on_file: Callable[[Path], None] | None = None,
               progress: Progress | None = None, concurrency: int = 2) -> LoadReport:
    """Load files and directories; a wrong file is refused whole, the others still load."""
    report = LoadReport()
    try:
        files = expand_paths(paths)
    except ValidationError as exc:
        report.refused.append(exc)
        return report
    files += _interrupted(db, files, report)
    # Streamed record files in dependency order (sources, actors, incidents, claims), so a big
    # claims.csv is not validated once in vain before incidents.csv; other files keep their order.
    files = sorted(files, key=lambda p: kind_rank(p) if is_streamed(p) else -1)
    # A file that only points at something a later file defines (claims.csv before
    # incidents.csv) is tried again once the others are in; load order does not matter.
    pending = files
    while pending:
        waiting: list[tuple[Path, UnknownReference]] = []
        for path in pending:
            if on_file:
                on_file(path)
            try:
                report.written.append(_load_file(db, path, batch_size, progress, concurrency))
            except UnknownReference as exc:
                waiting.append((path, exc))
            except ValidationError as exc:
                report.refused.append(exc)
        if len(waiting) == len(pending):
            report.refused.extend(exc for _, exc in waiting)
            break
        pending = [path for path, _ in waiting]
    if report.written:
        link_clusters(db)
    return report


def _fingerprint(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _interrupted(db: GraphDB, files: list[Path], report: LoadReport) -> list[Path]:
    """Streamed files whose load stopped midway (a killed loader, a server that went away): their
    marker is still in the graph. Those unchanged since are returned, to be loaded again, which
    completes them (writes are idempotent); the others are named in `report.partial`."""
    named = {p.resolve() for p in files}
    again = []
    for m in db.read(cypher.LOAD_MARKERS):
        path = Path(m["file"])
        if path in named:
            continue
        if _fingerprint(path) == (m["size"], m["mtime_ns"]):
            again.append(path)
            report.resumed.append(f"{path} (its last load stopped after {m['done']} of {m['chunks']} chunks)")
        else:
            report.partial.append(f"{path}: its last load stopped after {m['done']} of {m['chunks']} chunks, "
                                  "so the graph holds part of it, and the file has changed or is gone since")
    return again


def link_clusters(db: GraphDB) -> None:
    """MISP galaxy `uses`/`used-by` links whose two clusters are now both in the graph (see
    loaders/misp.py): written whichever galaxy came first; MERGE, so a reload adds nothing."""
    db.write(cypher.LINK_CLUSTER_USES)
    db.write(cypher.LINK_CLUSTER_USED_BY)


def _load_file(db: GraphDB, path: Path, batch_size: int, progress: Progress | None,
               concurrency: int) -> WriteResult:
    if not is_streamed(path):
        return write_batch(db, parse_file(path), batch_size, progress)
    # Streamed (CSV, JSON Lines): a first pass validates every chunk and its references, so a
    # wrong record anywhere refuses the file before anything is written, looks up which of its
    # keys are new to the graph and spools the planned statements to a temporary file (a key
    # an earlier chunk names is written by then); the second pass writes them chunk by chunk, with
    # memory flat (rows new to the graph in `concurrency` concurrent transactions). From before
    # the first chunk is written until the last one is, a marker in the graph names the file:
    # should the loader or the server stop midway, the next `attrib load` loads it again, which
    # completes it (writes are idempotent).
    fingerprint = _fingerprint(path)
    marker = {"file": str(path.resolve()), "size": fingerprint[0], "mtime_ns": fingerprint[1]}
    with tempfile.TemporaryFile(prefix="attrib-spool-") as spool:
        chunks = 0
        for planned in _planned_chunks(db, path, batch_size):
            pickle.dump(planned, spool, protocol=pickle.HIGHEST_PROTOCOL)
            chunks += 1
        spool.seek(0)
        result = WriteResult(str(path))
        db.write(cypher.LOAD_MARKER_SET, {**marker, "chunks": chunks, "done": 0})
        try:
            for done in range(1, chunks + 1):
                planned = pickle.load(spool)
                # The driver's per-query objects hold reference cycles, and with them the rows
                # they were sent, until the collector runs: collect chunk by chunk, but with the
                # chunk's rows (which hold no cycles) frozen, so that it does not walk them all
                # (a full collection per chunk was a fifth of the loader's time).
                gc.freeze()
                result.add(write_plan(db, planned, batch_size, progress, concurrency))
                del planned
                gc.collect()
                db.write(cypher.LOAD_MARKER_SET, {**marker, "chunks": chunks, "done": done})
        finally:
            gc.unfreeze()
        db.write(cypher.LOAD_MARKER_DONE, {"file": marker["file"]})
    return result


def _planned_chunks(db: GraphDB, path: Path, batch_size: int) -> Iterator[Plan]:
    """The chunks of a streamed file, each checked against the graph (its references), its new
    keys looked up and its statements planned in a second thread while the next one is parsed;
    the errors come in file order, as if one chunk were done after the other."""
    chunks = iter_prepared(path)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="attrib-refs") as checker:
        pending: Future | None = None
        while True:
            try:
                prepared = next(chunks, None)
            except ValidationError:
                if pending:
                    pending.result()  # a wrong reference in the chunk before is named first
                raise
            if pending:
                yield pending.result()
            if prepared is None:
                return
            pending = checker.submit(plan_checked, db, prepared, batch_size)


def keep_attack(db: GraphDB, files: list, cache_dir: Path, say: Callable[[str], None]) -> list[Path]:
    """Keep a copy of each loaded file that is an ATT&CK bundle the graph now holds, so `attrib extract`
    and the Draft page find the technique model of the graph's ATT&CK without a flag; the copies made."""
    return keep_attack_bundles([b["bundle"] for b in attack_bundles(db)], files, cache_dir, say=say)
