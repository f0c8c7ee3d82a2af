"""The graph writer: one `Batch` (one input file) in one transaction, batched UNWIND + MERGE.

Rows are deduplicated first (same key: scalar properties of the later row win, list
properties are unioned), nodes are written before relationships, and every node a
relationship or `Ref` points at must be in the batch or already in the graph; if one is
not, the transaction is rolled back and the error names the record. So a file either
lands whole or not at all, and loading it again changes nothing.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from graph import cypher
from graph.db import GraphDB
from graph.errors import UnknownReference
from graph.model import LABELS, LIST_PROPS, REL_TYPES, Batch, Ref

Progress = Callable[[int, int], None]


@dataclass
class WriteResult:
    file: str
    nodes: int = 0  # distinct node rows written
    rels: int = 0
    nodes_created: int = 0
    rels_created: int = 0
    properties_set: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, other: "WriteResult") -> None:
        """Fold in the result of another chunk of the same file."""
        for name in ("nodes", "rels", "nodes_created", "rels_created", "properties_set"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, n in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + n

    @property
    def merged(self) -> int:
        """Rows that matched something already in the graph (updated or unchanged)."""
        return self.nodes - self.nodes_created + self.rels - self.rels_created


def _split(props: dict) -> tuple[dict, dict]:
    scalars, lists = {}, {}
    for k, v in props.items():
        if isinstance(v, (list, tuple)):
            if k not in LIST_PROPS:
                raise ValueError(f"property {k!r} holds a list but is not a list property of the model")
            lists[k] = list(dict.fromkeys(v))
        else:
            scalars[k] = v
    return scalars, lists


def _merge_into(target: dict, scalars: dict, lists: dict) -> None:
    target["props"].update(scalars)
    for k, v in lists.items():
        target["lists"][k] = list(dict.fromkeys(target["lists"].get(k, []) + v))


@dataclass
class Prepared:
    """A batch's rows grouped by label and relationship group, deduplicated, ready to write."""

    file: str
    nodes: dict[str, dict[str, dict]]
    rels: dict[tuple[str, str, str], dict[tuple[str, str], dict]]
    refs: list[Ref]
    skipped: dict[str, int]


def prepare(batch: Batch) -> Prepared:
    """Group and deduplicate rows, and list the nodes that must already be in the graph."""
    nodes: dict[str, dict[str, dict]] = defaultdict(dict)
    for n in batch.nodes:
        if n.label not in LABELS:
            raise ValueError(f"{batch.file}: label {n.label!r} is not in the graph model")
        scalars, lists = _split(n.props)
        row = nodes[n.label].setdefault(n.key, {"key": n.key, "props": {}, "lists": {}})
        _merge_into(row, scalars, lists)
    rels: dict[tuple[str, str, str], dict[tuple[str, str], dict]] = defaultdict(dict)
    refs = list(batch.refs)
    for r in batch.rels:
        if (r.start_label, r.end_label) not in REL_TYPES.get(r.type, ()):
            raise ValueError(f"{batch.file}: ({r.start_label})-[:{r.type}]->({r.end_label}) "
                             "is not in the graph model")
        for label, key in ((r.start_label, r.start_key), (r.end_label, r.end_key)):
            if key not in nodes.get(label, {}):
                refs.append(Ref(label, key, record=f"{r.type} {r.start_key} -> {r.end_key}"))
        scalars, lists = _split(r.props)
        row = rels[(r.type, r.start_label, r.end_label)].setdefault(
            (r.start_key, r.end_key), {"start": r.start_key, "end": r.end_key, "props": {}, "lists": {}})
        _merge_into(row, scalars, lists)
    refs = [ref for ref in refs if ref.key not in nodes.get(ref.label, {})]
    return Prepared(batch.file, nodes, rels, refs, dict(batch.skipped))


def _list_props(rows: list[dict]) -> list[str]:
    return sorted({k for row in rows for k in row["lists"]})


def _chunks(rows: list, size: int):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def write_batch(db: GraphDB, batch: Batch, batch_size: int = 5000,
                progress: Progress | None = None) -> WriteResult:
    return write_prepared(db, prepare(batch), batch_size, progress)


def write_prepared(db: GraphDB, prepared: Prepared, batch_size: int = 5000,
                   progress: Progress | None = None) -> WriteResult:
    nodes, rels = prepared.nodes, prepared.rels
    result = WriteResult(prepared.file, skipped=dict(prepared.skipped))
    # Nodes before relationships, so every relationship finds both its ends.
    groups = [(cypher.merge_nodes(label, _list_props(list(g.values()))), list(g.values()))
              for label, g in nodes.items()]
    groups += [(cypher.merge_rels(t, sl, el, _list_props(list(g.values()))), list(g.values()))
               for (t, sl, el), g in rels.items()]
    total = sum(len(rows) for _, rows in groups)

    def work(tx):
        _check_refs(tx, prepared.file, prepared.refs)
        done = 0
        for query, rows in groups:
            for chunk in _chunks(rows, batch_size):
                counters = tx.run(query, rows=chunk).consume().counters
                result.nodes_created += counters.nodes_created
                result.rels_created += counters.relationships_created
                result.properties_set += counters.properties_set
                done += len(chunk)
                if progress:
                    progress(done, total)

    # A retried transaction starts from zero: reset the counters on each attempt.
    def attempt(tx):
        result.nodes_created = result.rels_created = result.properties_set = 0
        work(tx)

    db.execute_write(attempt)
    result.nodes = sum(len(g) for g in nodes.values())
    result.rels = sum(len(g) for g in rels.values())
    return result


def check_batch(db: GraphDB, batch: Batch) -> Prepared:
    """Validate a batch against the model and the graph without writing (first pass of a
    streamed file, so a bad chunk late in the file is found before anything is written)."""
    prepared = prepare(batch)
    if prepared.refs:
        db.execute_read(lambda tx: _check_refs(tx, batch.file, prepared.refs))
    return prepared


def _check_refs(tx, file: str, refs: list[Ref]) -> None:
    by_label: dict[str, dict[str, Ref]] = defaultdict(dict)
    for ref in refs:
        by_label[ref.label].setdefault(ref.key, ref)
    for label, wanted in by_label.items():
        missing = [row["k"] for row in tx.run(cypher.missing_keys(label), keys=list(wanted))]
        if missing:
            first = wanted[missing[0]]
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise UnknownReference(
                file, f"refers to {label} '{first.key}', which is neither in this file nor in the "
                f"graph{more}", record=first.record, field=first.field,
                hint=f"define the {label.lower()} in the file, or load the file that defines it first")
