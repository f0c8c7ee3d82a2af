"""The graph writer: one `Batch` (one input file) in one transaction, batched UNWIND + MERGE.

Rows are deduplicated first (same key: scalar properties of the later row win, list
properties are unioned), nodes are written before relationships, and every node a
relationship or `Ref` points at must be in the batch or already in the graph; if one is
not, the transaction is rolled back and the error names the record. So a file either
lands whole or not at all, and loading it again changes nothing.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
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
    # label -> the keys no earlier chunk of the same file named (set by a streamed loader), so
    # that only they are looked up in the graph; None: look every key up.
    fresh: dict[str, set[str]] | None = None
    # Relationship rows made one per start node, (start, [ends], props, lists), each pair once
    # and in no group of `rels` (the column path's: loaders.records.iter_prepared).
    by_start: dict[tuple[str, str, str], list[tuple]] = field(default_factory=dict)

    @property
    def rel_count(self) -> int:
        return (sum(len(g) for g in self.rels.values())
                + sum(len(row[1]) for rows in self.by_start.values() for row in rows))


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


class _Rows(list):
    """A statement's rows, with a short repr: the driver formats its debug line for every RUN
    whether or not debug logging is on, and the repr of 5,000 rows cost as much as packing them."""

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"


def _chunks(rows: list, size: int):
    for i in range(0, len(rows), size):
        yield _Rows(rows[i:i + size])


@dataclass
class Statement:
    """The rows one query writes, of one label or relationship group, as flat lists (the driver
    packs and pickle stores a list at about half the cost of a map): a node row is
    [key, *props, *lists], a relationship row [start, [ends], *props, *lists], one row per
    start node (the server looks it up once for all its ends)."""

    group: str | tuple[str, str, str]  # a label, or (type, start label, end label)
    props: list[str]
    lists: list[str]
    rows: list[list]
    create: bool  # rows new to the graph, CREATEd: safe to split over concurrent transactions

    @property
    def rels(self) -> bool:
        return isinstance(self.group, tuple)

    def query(self) -> str:
        if self.rels:
            return (cypher.create_rels if self.create else cypher.merge_rels)(*self.group, self.props, self.lists)
        return (cypher.create_nodes if self.create else cypher.merge_nodes)(self.group, self.props, self.lists)


@dataclass
class Plan:
    """A prepared batch as the statements that write it, nodes before relationships."""

    file: str
    statements: list[Statement]
    refs: list[Ref]
    skipped: dict[str, int]
    nodes: int  # distinct node rows
    rels: int  # distinct relationship rows

    @property
    def total(self) -> int:
        return self.nodes + self.rels


def plan(prepared: Prepared, new: dict[str, set[str]] | None) -> Plan:
    """The statements that write a batch. Keys in `new` (label -> keys the graph does not hold
    yet) are created, and so are relationships touching them (most rows of a first load); the
    rest is merged, list properties united. new None: merge everything."""
    new = new or {}
    statements: list[Statement] = []
    for label, group in prepared.nodes.items():
        fresh = new.get(label, ())
        split: tuple[list, list] = ([], [])  # created, merged
        for row in group.values():
            split[row["key"] not in fresh].append(row)
        for create, rows in ((True, split[0]), (False, split[1])):
            props, lists = _columns([row["props"] for row in rows], [row["lists"] for row in rows])
            flat = [[row["key"], *map(row["props"].get, props), *map(row["lists"].get, lists)] for row in rows]
            statements.append(Statement(label, props, lists, flat, create))
    for group_key, rows in [*((k, _by_start(g)) for k, g in prepared.rels.items()), *prepared.by_start.items()]:
        statements += _rel_statements(group_key, rows, new.get(group_key[1], ()), new.get(group_key[2], ()))
    return Plan(prepared.file, [st for st in statements if st.rows], prepared.refs, dict(prepared.skipped),
                sum(len(g) for g in prepared.nodes.values()), prepared.rel_count)


def _by_start(group: dict[tuple[str, str], dict]) -> list[tuple]:
    """Rows as (start, [ends], props, lists), one per start node and property objects: the rows
    one record makes share theirs; rows with equal but separate ones go apart."""
    grouped: dict[tuple, tuple] = {}
    for row in group.values():
        key = (row["start"], id(row["props"]), id(row["lists"]))
        ends = grouped.get(key)
        if ends is None:
            grouped[key] = (row["start"], [row["end"]], row["props"], row["lists"])
        else:
            ends[1].append(row["end"])
    return list(grouped.values())


def _rel_statements(group: tuple[str, str, str], rows: list[tuple], new_start, new_end) -> list[Statement]:
    """Relationships with a new end are created, the others merged."""
    split: tuple[list, list] = ([], [])  # created, merged
    for row in rows:
        start, ends, props, lists = row
        if start in new_start:
            split[0].append(row)
        elif new_end and any(end in new_end for end in ends):
            created = [end for end in ends if end in new_end]
            split[0].append((start, created, props, lists))
            if len(created) < len(ends):
                split[1].append((start, [end for end in ends if end not in new_end], props, lists))
        else:
            split[1].append(row)
    statements = []
    for create, chosen in zip((True, False), split):
        props, lists = _columns([row[2] for row in chosen], [row[3] for row in chosen])
        flat = [[start, ends, *map(p.get, props), *map(ls.get, lists)] for start, ends, p, ls in chosen]
        statements.append(Statement(group, props, lists, flat, create))
    return statements


def _columns(props: list[dict], lists: list[dict]) -> tuple[list[str], list[str]]:
    """The property names of rows (each dict once)."""
    return (sorted({k for d in {id(d): d for d in props}.values() for k in d}),
            sorted({k for d in {id(d): d for d in lists}.values() for k in d}))


def write_batch(db: GraphDB, batch: Batch, batch_size: int = 5000,
                progress: Progress | None = None) -> WriteResult:
    """Write a whole batch in one transaction: it lands whole or not at all."""
    return write_prepared(db, prepare(batch), batch_size, progress)


CONSTRAINT_FAILED = "Neo.ClientError.Schema.ConstraintValidationFailed"


def write_prepared(db: GraphDB, prepared: Prepared, batch_size: int = 5000,
                   progress: Progress | None = None, concurrency: int = 0) -> WriteResult:
    """Write one prepared batch.

    concurrency 0: in one transaction, so the batch lands whole or not at all (a file that
    was not validated beforehand). concurrency N: for a chunk of a file already validated
    whole, rows new to the graph are created by the server in N concurrent transactions."""
    if concurrency:
        return write_plan(db, plan_checked(db, prepared, batch_size), batch_size, progress, concurrency)

    def work(tx):
        _check_refs(tx, prepared.file, prepared.refs)
        planned = plan(prepared, _new_keys(tx, prepared, batch_size))
        return planned, _run_in(tx, planned.statements, batch_size, progress, 0, planned.total)

    try:
        planned, counted = db.execute_write(work)
    except DatabaseError as exc:
        if exc.code != CONSTRAINT_FAILED:
            raise
        planned = plan(prepared, None)  # see write_plan
        counted = _merge_again(db, planned, batch_size, progress)
    result = _result(planned)
    result.add(counted)
    return result


def write_plan(db: GraphDB, planned: Plan, batch_size: int = 5000, progress: Progress | None = None,
               concurrency: int = 0) -> WriteResult:
    """Write a batch planned beforehand (a chunk of a file validated whole, its new keys looked
    up then: `plan_checked`): its references checked again, then rows new to the graph created
    by the server in `concurrency` concurrent transactions (0: all in one transaction)."""
    result = _result(planned)
    try:
        if concurrency:
            _write_concurrently(db, planned, batch_size, progress, concurrency, result)
        else:
            def work(tx):
                _check_refs(tx, planned.file, planned.refs)
                return _run_in(tx, planned.statements, batch_size, progress, 0, planned.total)
            result.add(db.execute_write(work))
    except DatabaseError as exc:
        if not concurrency and exc.code != CONSTRAINT_FAILED:
            raise
        # Two concurrent transactions deadlocked on a shared node, another client created one
        # of our "new" keys after we looked, or the server lacks CALL IN CONCURRENT
        # TRANSACTIONS: write the batch again, merging everything in one transaction. Rows
        # already created are matched, so nothing is doubled.
        result.add(_merge_again(db, planned, batch_size, progress))
    return result


def _result(planned: Plan) -> WriteResult:
    return WriteResult(planned.file, nodes=planned.nodes, rels=planned.rels, skipped=dict(planned.skipped))


def _merge_again(db: GraphDB, planned: Plan, batch_size: int, progress: Progress | None) -> WriteResult:
    merged = [replace(st, create=False) for st in planned.statements]

    def work(tx):
        _check_refs(tx, planned.file, planned.refs)
        return _run_in(tx, merged, batch_size, progress, 0, planned.total)

    return db.execute_write(work)


def _count(result: WriteResult, counters) -> None:
    result.nodes_created += counters.nodes_created
    result.rels_created += counters.relationships_created
    result.properties_set += counters.properties_set


Run = Callable[[str, list[list]], object]  # (query, rows) -> the summary counters


def _run_in(tx, statements: list[Statement], batch_size: int, progress: Progress | None,
            done: int, total: int) -> WriteResult:
    """Statements run in one transaction; a retried transaction counts from zero."""
    counted = WriteResult("")
    _run_statements(lambda query, rows: tx.run(query, rows=rows).consume().counters,
                    statements, batch_size, counted, progress, done, total)
    return counted


def _run_statements(run: Run, statements: list[Statement], batch_size: int, result: WriteResult,
                    progress: Progress | None, done: int, total: int) -> int:
    """Run each statement's rows `batch_size` at a time; returns the rows done so far."""
    for st in statements:
        query = st.query()
        for chunk in _chunks(st.rows, batch_size):
            _count(result, run(query, chunk))
            done += sum(map(len, [row[1] for row in chunk])) if st.rels else len(chunk)
            if progress:
                progress(done, total)
    return done


def _write_concurrently(db: GraphDB, planned: Plan, batch_size: int, progress: Progress | None,
                        concurrency: int, result: WriteResult) -> None:
    if planned.refs:
        db.execute_read(lambda tx: _check_refs(tx, planned.file, planned.refs))

    def concurrently(query: str, rows: list[list]):
        return db.run_autocommit(cypher.in_concurrent_transactions(query, concurrency, CONCURRENT_TX_ROWS),
                                 {"rows": rows})

    # New nodes, then new relationships (each needs its new ends committed), each statement
    # by the server in concurrent transactions; then everything merged, in one transaction.
    done = _run_statements(concurrently, [st for st in planned.statements if st.create], batch_size,
                           result, progress, 0, planned.total)
    merges = [st for st in planned.statements if not st.create]
    if merges:
        result.add(db.execute_write(lambda tx: _run_in(tx, merges, batch_size, progress, done, planned.total)))


# Rows per inner transaction of CALL { } IN CONCURRENT TRANSACTIONS: big enough that
# commits are a small share, small enough that two of them rarely wait on the same node.
CONCURRENT_TX_ROWS = 1000


def _new_keys(tx, prepared: Prepared, batch_size: int) -> dict[str, set[str]]:
    """label -> the keys of the batch's nodes the graph does not hold; of a chunk of a streamed
    file, only those no earlier chunk named (`Prepared.fresh`): the others are written by then."""
    new: dict[str, set[str]] = {}
    for label, group in prepared.nodes.items():
        asked = list(group) if prepared.fresh is None else list(prepared.fresh.get(label, ()))
        found: set[str] = set()
        for chunk in _chunks(asked, batch_size):
            found.update(tx.run(cypher.existing_keys(label), keys=chunk).single()["keys"])
        new[label] = set(asked) - found
    return new


def plan_checked(db: GraphDB, prepared: Prepared, batch_size: int = 5000) -> Plan:
    """Check that the nodes a prepared batch points at are in the graph, look up which of its
    keys are new, and plan its writes, without writing (the first pass of a streamed file: a
    bad chunk late in the file is found before anything is written)."""
    def look(tx):
        _check_refs(tx, prepared.file, prepared.refs)
        return _new_keys(tx, prepared, batch_size)

    return plan(prepared, db.execute_read(look))


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
