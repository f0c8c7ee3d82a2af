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
from graph.errors import DatabaseError, UnknownReference
from graph.model import LABELS, LIST_PROPS, REL_TYPES, Batch, Ref
from graph.store.db import GraphDB

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
        _add_row(nodes[n.label], n.key, {"key": n.key}, n.props)
    for label in nodes:
        if label not in LABELS:
            raise ValueError(f"{batch.file}: label {label!r} is not in the graph model")
    rels: dict[tuple[str, str, str], dict[tuple[str, str], dict]] = defaultdict(dict)
    for r in batch.rels:
        ends = (r.start_key, r.end_key)
        _add_row(rels[(r.type, r.start_label, r.end_label)], ends,
                 {"start": r.start_key, "end": r.end_key}, r.props)
    # A file names the same outside node (a source, say) thousands of times: one Ref each,
    # the first place that names it.
    refs: dict[tuple[str, str], Ref] = {}
    for ref in batch.refs:
        if ref.key not in nodes.get(ref.label, {}):
            refs.setdefault((ref.label, ref.key), ref)
    for (rel_type, start, end), group in rels.items():
        if (start, end) not in REL_TYPES.get(rel_type, ()):
            raise ValueError(f"{batch.file}: ({start})-[:{rel_type}]->({end}) is not in the graph model")
        for label, position in ((start, 0), (end, 1)):
            defined = nodes.get(label, {})
            for pair in group:
                if pair[position] not in defined and (label, pair[position]) not in refs:
                    refs[(label, pair[position])] = Ref(label, pair[position],
                                                        record=f"{rel_type} {pair[0]} -> {pair[1]}")
    return Prepared(batch.file, nodes, rels, list(refs.values()), dict(batch.skipped))


def _add_row(group: dict, key, row: dict, props: dict) -> None:
    """Add a row's properties to its group: a new row as it is, a repeated one merged in."""
    scalars, lists = _split(props)
    existing = group.get(key)
    if existing is None:
        row["props"], row["lists"] = scalars, lists
        group[key] = row
    else:
        _merge_into(existing, scalars, lists)


def _list_props(rows: list[dict]) -> list[str]:
    return sorted({k for row in rows for k in row["lists"]})


class _Rows(list):
    """A statement's rows, with a short repr: the driver formats its debug line for every RUN
    whether or not debug logging is on, and the repr of 5,000 rows cost as much as packing them."""

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"


def _chunks(rows: list, size: int):
    for i in range(0, len(rows), size):
        yield _Rows(rows[i:i + size])


def write_batch(db: GraphDB, batch: Batch, batch_size: int = 5000,
                progress: Progress | None = None) -> WriteResult:
    """Write a whole batch in one transaction: it lands whole or not at all."""
    return write_prepared(db, prepare(batch), batch_size, progress)


CONSTRAINT_FAILED = "Neo.ClientError.Schema.ConstraintValidationFailed"


@dataclass
class _Step:
    query: str
    rows: list[dict]
    create: bool  # rows new to the graph, CREATEd: safe to split over concurrent transactions
    rels: bool = False  # relationship rows, sent grouped by start node


def write_prepared(db: GraphDB, prepared: Prepared, batch_size: int = 5000,
                   progress: Progress | None = None, concurrency: int = 0) -> WriteResult:
    """Write one prepared batch.

    concurrency 0: in one transaction, so the batch lands whole or not at all (a file that
    was not validated beforehand). concurrency N: for a chunk of a file already validated
    whole, rows new to the graph are created by the server in N concurrent transactions."""
    result = WriteResult(prepared.file, skipped=dict(prepared.skipped))
    try:
        if concurrency:
            _write_concurrently(db, prepared, batch_size, progress, concurrency, result)
        else:
            _write_in_one_transaction(db, prepared, batch_size, progress, result, create_new=True)
    except DatabaseError as exc:
        if not concurrency and exc.code != CONSTRAINT_FAILED:
            raise
        # Two concurrent transactions deadlocked on a shared node, another client created one
        # of our "new" keys after we looked, or the server lacks CALL IN CONCURRENT
        # TRANSACTIONS: write the batch again, merging everything in one transaction. Rows
        # already created are matched, so nothing is doubled.
        again = WriteResult(prepared.file)
        _write_in_one_transaction(db, prepared, batch_size, progress, again, create_new=False)
        result.add(again)
    result.nodes = sum(len(g) for g in prepared.nodes.values())
    result.rels = sum(len(g) for g in prepared.rels.values())
    return result


def _count(result: WriteResult, counters) -> None:
    result.nodes_created += counters.nodes_created
    result.rels_created += counters.relationships_created
    result.properties_set += counters.properties_set


Run = Callable[[str, list[dict]], object]  # (query, rows) -> the summary counters


def _in(tx) -> Run:
    return lambda query, rows: tx.run(query, rows=rows).consume().counters


def _run_steps(run: Run, steps: list[_Step], batch_size: int, result: WriteResult,
               progress: Progress | None, done: int, total: int) -> int:
    """Run each step's rows `batch_size` at a time; returns the rows done so far."""
    for step in steps:
        for chunk in _chunks(group_by_start(step.rows) if step.rels else step.rows, batch_size):
            _count(result, run(step.query, chunk))
            done += sum(len(row["ends"]) for row in chunk) if step.rels else len(chunk)
            if progress:
                progress(done, total)
    return done


def _write_in_one_transaction(db: GraphDB, prepared: Prepared, batch_size: int,
                              progress: Progress | None, result: WriteResult, create_new: bool) -> None:
    def work(tx):
        # A retried transaction starts from zero: reset the counters on each attempt.
        result.nodes_created = result.rels_created = result.properties_set = 0
        _check_refs(tx, prepared.file, prepared.refs)
        existing = _existing_keys(tx, prepared, batch_size) if create_new else None
        _run_steps(_in(tx), _steps(prepared, existing), batch_size, result, progress, 0, _total(prepared))

    db.execute_write(work)


def _write_concurrently(db: GraphDB, prepared: Prepared, batch_size: int, progress: Progress | None,
                        concurrency: int, result: WriteResult) -> None:
    def look(tx):
        _check_refs(tx, prepared.file, prepared.refs)
        return _existing_keys(tx, prepared, batch_size)

    steps = _steps(prepared, db.execute_read(look))
    total = _total(prepared)

    def concurrently(query: str, rows: list[dict]):
        return db.run_autocommit(cypher.in_concurrent_transactions(query, concurrency, CONCURRENT_TX_ROWS),
                                 {"rows": rows})

    # New nodes, then new relationships (each needs its new ends committed), each step by
    # the server in concurrent transactions; then everything merged, in one transaction.
    done = _run_steps(concurrently, [s for s in steps if s.create], batch_size, result, progress, 0, total)
    merges = [s for s in steps if not s.create]

    def work(tx):
        counted = WriteResult(prepared.file)  # a retried transaction counts from zero
        _run_steps(_in(tx), merges, batch_size, counted, progress, done, total)
        return counted

    if merges:
        result.add(db.execute_write(work))


# Rows per inner transaction of CALL { } IN CONCURRENT TRANSACTIONS: big enough that
# commits are a small share, small enough that two of them rarely wait on the same node.
CONCURRENT_TX_ROWS = 1000


def _total(prepared: Prepared) -> int:
    return sum(len(g) for g in prepared.nodes.values()) + sum(len(g) for g in prepared.rels.values())


def _steps(prepared: Prepared, existing: dict[str, set[str]] | None) -> list[_Step]:
    """The queries that write a batch, nodes before relationships. Keys the graph does not
    hold yet are created, and so are relationships touching them (most rows of a first
    load); the rest is merged, list properties united. existing None: merge everything."""
    steps: list[_Step] = []
    created: dict[str, set[str]] = {}
    for label, group in prepared.nodes.items():
        new, old = _split_rows(group.values(), lambda row: existing is not None
                               and row["key"] not in existing.get(label, ()))
        created[label] = {row["key"] for row in new}
        steps.append(_Step(cypher.create_nodes(label, _list_props(new)), new, True))
        steps.append(_Step(cypher.merge_nodes(label, _list_props(old)), old, False))
    for (rel_type, start, end), group in prepared.rels.items():
        new_start, new_end = created.get(start, set()), created.get(end, set())
        new, old = _split_rows(group.values(),
                               lambda row: row["start"] in new_start or row["end"] in new_end)
        steps.append(_Step(cypher.create_rels(rel_type, start, end, _list_props(new)), new, True, rels=True))
        steps.append(_Step(cypher.merge_rels(rel_type, start, end, _list_props(old)), old, False, rels=True))
    return [step for step in steps if step.rows]


def group_by_start(rows: list[dict]) -> list[dict]:
    """Relationship rows as one row per start node and properties, {start, ends, props, lists}:
    the server looks the start node up once for all its ends. Rows are grouped when they share
    their property objects, as the rows one record makes do on the column path
    (loaders.records.iter_prepared); rows with equal but separate ones are sent apart."""
    groups: dict[tuple, dict] = {}
    for row in rows:
        key = (row["start"], id(row["props"]), id(row["lists"]))
        group = groups.get(key)
        if group is None:
            groups[key] = {"start": row["start"], "ends": [row["end"]], "props": row["props"],
                           "lists": row["lists"]}
        else:
            group["ends"].append(row["end"])
    return list(groups.values())


def _split_rows(rows, is_new) -> tuple[list[dict], list[dict]]:
    new, old = [], []
    for row in rows:
        (new if is_new(row) else old).append(row)
    return new, old


def _existing_keys(tx, prepared: Prepared, batch_size: int) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for label, group in prepared.nodes.items():
        found[label] = set()
        for chunk in _chunks(list(group), batch_size):
            found[label].update(row["k"] for row in tx.run(cypher.existing_keys(label), keys=chunk))
    return found


def check_prepared(db: GraphDB, prepared: Prepared) -> Prepared:
    """Check that the nodes a prepared batch points at are in the graph, without writing (first
    pass of a streamed file, so a bad chunk late in the file is found before anything is written)."""
    if prepared.refs:
        db.execute_read(lambda tx: _check_refs(tx, prepared.file, prepared.refs))
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
