"""The project's own incident-record format: YAML, JSON or CSV (docs/records.md).

Parse and validate a whole file into one `Batch`; the first wrong record refuses the file
with an error naming the file, the record and the field.

Streamed files (CSV, JSON Lines) are read a chunk of records at a time. For loading, a chunk
of incidents or claims is checked a column at a time (`iter_prepared`): each field's rule in
`RULES` runs once per distinct value, lists are split by pyarrow, and the chunk becomes the
writer's grouped rows directly. A chunk with anything the column check does not pass goes
through the record-by-record builder instead, which names the first wrong record exactly as
`iter_record_batches` does.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable, Iterator

from graph.countries import country_code, country_name
from graph.errors import ValidationError
from graph.model import (ACTOR_KINDS, ADMIRALTY_RELIABILITY, AVAILABILITY, CONFIDENCE_LEVELS, GROUP_ID, ICD_203,
                         INFRA_KINDS, MOTIVES, SOFTWARE_ID, SOURCE_KINDS, STANCES, TECHNIQUE_ID, Batch, Ref,
                         claim_key, infrastructure_value, normalise_name, slug)
from graph.seen_keys import SeenKeys
from graph.store.writer import Prepared, prepare
from loaders.common import Fields, base_suffix, lines, open_text, parse_json_line, split_column

KINDS = ("sources", "actors", "incidents", "claims")
# The node each record of a kind defines (its key unique in the file).
OWN_LABEL = {"sources": "Source", "actors": "Actor", "incidents": "Incident", "claims": "Claim"}

FIELDS = {
    "sources": ("key", "name", "kind", "reliability", "url", "description"),
    "actors": ("key", "name", "kind", "attack_id", "country", "sponsor", "aliases", "sources",
               "description", "tools", "techniques", "targets", "same_as", "member_of"),
    "incidents": ("key", "name", "first_seen", "last_seen", "description", "victims", "tools",
                  "techniques", "infrastructure", "sources", "hints"),
    "claims": ("incident", "actor", "source", "stance", "confidence", "date", "statement", "url",
               "likelihood", "confidence_level"),
}

CSV_COLUMNS = {
    "sources": FIELDS["sources"],
    "actors": ("key", "name", "kind", "attack_id", "country", "sponsor", "aliases", "sources",
               "description", "tools", "techniques", "target_sectors", "target_countries", "same_as",
               "member_of"),
    "incidents": ("key", "name", "first_seen", "last_seen", "description", "organizations", "sectors",
                  "countries", "tools", "techniques", "infrastructure", "sources", "hints"),
    "claims": FIELDS["claims"],
}
CSV_LIST_SEP = ";"
VICTIM_FIELDS = ("organizations", "sectors", "countries")

# The rule of each scalar field of incidents and claims, used by the record-by-record builder
# and, once per distinct value, by the column check.
Rule = Callable[[Fields, str], Any]


def _text(required: bool = False) -> Rule:
    return lambda f, field: f.str(field, required)


def _choice(choices: tuple[str, ...], required: bool = False) -> Rule:
    return lambda f, field: f.choice(field, choices, required)


def _date(required: bool = False, end: bool = False) -> Rule:
    return lambda f, field: f.date(field, required, end)


def _whole(lo: int, hi: int, required: bool = False) -> Rule:
    return lambda f, field: f.int_range(field, lo, hi, required)


RULES: dict[str, dict[str, Rule]] = {
    "incidents": {"key": _text(True), "name": _text(True), "first_seen": _date(True),
                  "last_seen": _date(end=True), "description": _text()},
    "claims": {"incident": _text(True), "actor": _text(True), "source": _text(True),
               "stance": _choice(STANCES, True), "date": _date(True),
               "confidence": _whole(0, 100, True), "statement": _text(), "url": _text(),
               "likelihood": _choice(tuple(ICD_203)), "confidence_level": _choice(CONFIDENCE_LEVELS)},
}
# Records per transaction when a CSV or JSON Lines file is streamed: about 30,000 rows, well
# inside the transaction memory of a 512 MB heap.
STREAM_CHUNK = 2000


def is_record_document(data: Any) -> bool:
    return isinstance(data, dict) and bool(data) and set(data) <= set(KINDS)


def records_from_document(path: Path, data: Any) -> Batch:
    """A parsed YAML/JSON document with any of the four top-level lists -> one Batch."""
    if not isinstance(data, dict):
        raise ValidationError(path, "expected a mapping with any of: " + ", ".join(KINDS))
    unknown = sorted(set(data) - set(KINDS))
    if unknown:
        raise ValidationError(path, f"unknown top-level key '{unknown[0]}'",
                              hint="a record file holds only: " + ", ".join(KINDS))
    seen = SeenKeys()
    builder = _Builder(path, seen)
    try:
        for kind in KINDS:
            items = data.get(kind) or []
            if not isinstance(items, list):
                raise ValidationError(path, f"'{kind}' must be a list of records, got {type(items).__name__}")
            for i, item in enumerate(items):
                label = f"{kind}[{i}]"
                if isinstance(item, dict) and item.get("key"):
                    label += f" ({item['key']})"
                builder.add(kind, Fields(path, label, item, FIELDS[kind]))
    finally:
        seen.close()
    return builder.batch


def kind_rank(path: Path) -> int:
    """Load order for streamed record files: what others point at first (claims last)."""
    stem = path.name.lower().split(".")[0]
    return next((i for i, kind in enumerate(KINDS) if stem.startswith(kind)), len(KINDS))


def stream_kind(path: Path) -> str:
    """CSV and JSON Lines files hold one kind of record, named by the file name."""
    stem = path.name.lower().split(".")[0]
    for kind in KINDS:
        if stem.startswith(kind):
            return kind
    raise ValidationError(path, "cannot tell which records this file holds from its name",
                          hint="name it sources*, actors*, incidents* or claims* (.csv or .jsonl)")


def iter_record_batches(path: Path, chunk_records: int = STREAM_CHUNK) -> Iterator[Batch]:
    """A CSV or JSON Lines record file as Batches of at most `chunk_records` records each,
    read as a stream: memory stays flat however many records the file holds."""
    for builder, kind, chunk in _record_chunks(path, chunk_records):
        yield builder.build(kind, chunk)


def iter_prepared(path: Path, chunk_records: int = STREAM_CHUNK) -> Iterator[Prepared]:
    """The chunks of `iter_record_batches`, each as the writer's grouped rows (what
    graph.store.writer.prepare makes of the Batch), with the same errors; checked a column at a
    time where the column check passes the whole chunk. Each says which of its nodes' keys no
    earlier chunk named (`Prepared.fresh`: the writer asks the graph about those only)."""
    for builder, kind, chunk in _record_chunks(path, chunk_records):
        prepared = builder.prepared(kind, chunk)
        prepared.fresh = builder.first_named(kind, prepared)
        yield prepared


Record = tuple[str, Any]  # (where in the file, e.g. "line 12"; the parsed record)


def _record_chunks(path: Path, chunk_records: int) -> Iterator[tuple["_Builder", str, list[Record]]]:
    kind = stream_kind(path)
    csv_file = base_suffix(path) == ".csv"
    seen = SeenKeys(on_disk=True)
    builder = _Builder(path, seen, list_sep=CSV_LIST_SEP if csv_file else None)
    try:
        with open_text(path) as stream:
            rows = _csv_rows(path, kind, stream) if csv_file else _jsonl_rows(path, stream)
            chunk: list[Record] = []
            count = 0
            try:
                for row in rows:
                    chunk.append(row)
                    count += 1
                    if len(chunk) == chunk_records:
                        yield builder, kind, chunk
                        chunk = []
            except ValidationError:
                # A wrong record before the line that cannot be read is named first, as if
                # each record had been checked as it was read.
                builder.build(kind, chunk)
                raise
            if count == 0:
                raise ValidationError(path, "holds no records")
            if chunk:
                yield builder, kind, chunk
    finally:
        seen.close()


def records_from_stream(path: Path) -> Batch:
    """A whole CSV or JSON Lines record file as one Batch (for files that fit in memory)."""
    whole = Batch(str(path))
    for batch in iter_record_batches(path):
        whole.nodes += batch.nodes
        whole.rels += batch.rels
        whole.refs += batch.refs
    return whole


def _csv_rows(path: Path, kind: str, stream) -> Iterator[tuple[str, dict]]:
    """Each row as a record, its empty cells left out, named by its line as csv.DictReader
    counts lines (a row after blank lines by the first of them; a malformed row by the row
    before it): read by csv.reader, without a dict per row for DictReader to fill."""
    reader = csv.reader(lines(path, stream))
    try:
        columns = tuple(next(reader, ()))
    except csv.Error as exc:
        raise ValidationError(path, f"malformed CSV header: {exc}", record="line 1") from exc
    if not columns:
        raise ValidationError(path, "empty CSV: expected a header row",
                              hint="columns: " + ",".join(CSV_COLUMNS[kind]))
    unknown = [c for c in columns if c not in CSV_COLUMNS[kind]]
    if unknown:
        raise ValidationError(path, f"unknown column '{unknown[0]}' in the header",
                              record="line 1", hint="columns: " + ",".join(CSV_COLUMNS[kind]))
    width, line_num = len(columns), reader.line_num
    try:
        for row in reader:
            line_num = reader.line_num
            while not row:
                row = next(reader)
            if len(row) > width:
                raise ValidationError(path, "more values than header columns", record=f"line {line_num}")
            yield f"line {line_num}", _csv_to_record(kind, {k: v for k, v in zip(columns, row) if v})
    except StopIteration:
        return
    except csv.Error as exc:
        raise ValidationError(path, f"malformed CSV: {exc}", record=f"line {line_num}") from exc


def _jsonl_rows(path: Path, stream) -> Iterator[tuple[str, dict]]:
    for number, line in enumerate(lines(path, stream), start=1):
        if line.strip():
            yield f"line {number}", parse_json_line(path, number, line)


def _csv_to_record(kind: str, row: dict) -> dict:
    """A row's non-empty cells as a record (victims and targets as mappings)."""
    if kind == "incidents":
        victims = {k: row.pop(k) for k in ("organizations", "sectors", "countries") if k in row}
        if victims:
            row["victims"] = victims
    if kind == "actors":
        targets = {k[len("target_"):]: row.pop(k) for k in ("target_sectors", "target_countries") if k in row}
        if targets:
            row["targets"] = targets
    return row


class _Builder:
    """Turns validated records into rows of one Batch."""

    def __init__(self, path: Path, seen: SeenKeys, list_sep: str | None = None):
        self.path = path
        self.sep = list_sep
        self.batch = Batch(str(path))
        self.seen = seen
        self._memo: dict[tuple[str, Any], tuple[str, str]] = {}
        self._rows: dict[str, dict[str, dict]] = {}  # node rows the column check made directly

    def new_batch(self) -> Batch:
        """Hand over the rows made so far and start a new batch (rows are not shared)."""
        done, self.batch, self._memo, self._rows = self.batch, Batch(str(self.path)), {}, {}
        return done

    def add(self, kind: str, f: Fields) -> None:
        getattr(self, "_" + kind)(f)

    def build(self, kind: str, records: list[Record]) -> Batch:
        """Records one by one into a Batch; the first wrong one raises."""
        for record, data in records:
            self.add(kind, Fields(self.path, record, data, FIELDS[kind]))
        return self.new_batch()

    def prepared(self, kind: str, records: list[Record]) -> Prepared:
        """A chunk as the writer's grouped rows: checked a column at a time if that passes
        every record, else built record by record (which names the first wrong one)."""
        columnar = {"incidents": self._incident_columns, "claims": self._claim_columns}.get(kind)
        done = columnar(records) if columnar and self._plain(kind, records) else None
        if done is None:
            self.new_batch()  # drop what the column check made
            done = prepare(self.build(kind, records))
        return done

    def first_named(self, kind: str, prepared: Prepared) -> dict[str, set[str]]:
        """label -> the keys of a chunk's nodes that no earlier chunk of the file named (the
        records' own keys all: the duplicate check has made sure of it)."""
        return {label: set(group) if label == OWN_LABEL[kind] else self.seen.first("node:" + label, list(group))
                for label, group in prepared.nodes.items()}

    def _unique(self, f: Fields, kind: str, key: str) -> None:
        first = self.seen.add(kind, key, f.record)
        if first is not None:
            raise f.error("key", f"duplicate key '{key}' (also {first})")

    # -- records ---------------------------------------------------------------------------
    def _sources(self, f: Fields) -> None:
        name = f.str("name", required=True)
        key = f.str("key") or f"src:{slug(name)}"
        self._unique(f, "source", key)
        reliability = f.str("reliability")
        if reliability and reliability.upper() not in ADMIRALTY_RELIABILITY:
            raise f.error("reliability", f"'{reliability}' is not an Admiralty grade A-F")
        self.batch.node("Source", key, name=name, kind=f.choice("kind", SOURCE_KINDS, required=True),
                        reliability=reliability.upper() if reliability else None, url=f.str("url"),
                        description=f.str("description"))

    def _actors(self, f: Fields) -> None:
        name = f.str("name", required=True)
        kind = f.choice("kind", ACTOR_KINDS, required=True)
        attack_id = f.str("attack_id")
        if attack_id and not GROUP_ID.match(attack_id):
            raise f.error("attack_id", f"'{attack_id}' is not an ATT&CK group ID like G0032")
        country = self._country(f, "country", f.str("country")) if f.data.get("country") else None
        if kind == "state" and not country:
            raise f.error("country", "missing (required for an actor of kind 'state')")
        key = f.str("key") or (f"attack:{attack_id}" if attack_id else
                               f"state:{country}" if kind == "state" else f"actor:{slug(name)}")
        self._unique(f, "actor", key)
        sources = self._source_refs(f, "sources")
        actor = ("Actor", key)
        self.batch.node("Actor", key, name=name, kind=kind, description=f.str("description"),
                        external_ids=[attack_id] if attack_id else None, country=country,
                        sources=sources or None)
        for alias in [name] + [str(a) for a in f.list("aliases", sep=self.sep)]:
            alias_key = normalise_name(alias)
            if not alias_key:
                raise f.error("aliases", f"alias {alias!r} has no letters or digits")
            self.batch.node("Alias", alias_key, spellings=[alias.strip()])
            self.batch.rel("NAMES", ("Alias", alias_key), actor, sources=sources)
        if country:
            self.batch.node("Country", country, name=country_name(country))
            self.batch.rel("STATE_OF", actor, ("Country", country), sources=sources)
        if f.data.get("sponsor"):
            sponsor = self._country(f, "sponsor", f.str("sponsor"))
            self.batch.node("Country", sponsor, name=country_name(sponsor))
            self.batch.rel("SPONSORED_BY", actor, ("Country", sponsor), sources=sources)
        for tool in self._items(f, "tools", self._tool):
            self.batch.rel("USES", actor, tool, sources=sources)
        for technique in self._items(f, "techniques", self._technique):
            self.batch.rel("USES", actor, technique, sources=sources)
        targets = Fields(self.path, f.record, f.mapping("targets"), ("sectors", "countries"))
        for target in (self._items(targets, "sectors", self._sector)
                       + self._items(targets, "countries", self._country_node)):
            self.batch.rel("TARGETS", actor, target, sources=sources)
        self._same_as(f, key, sources, "same_as", "SAME_AS")
        if f.data.get("member_of") and kind != "person":
            raise f.error("member_of", f"only a person is a member of a group (this actor is a {kind})",
                          hint="for two names of one group use same_as")
        self._same_as(f, key, sources, "member_of", "MEMBER_OF")

    def _same_as(self, f: Fields, key: str, sources: list[str], field: str, rel: str) -> None:
        """`same_as`: actors the record's sources say are this same group; `member_of`: the groups
        they say this person belongs to. The nodes stay apart (SAME_AS / MEMBER_OF, with who says
        so); the engine weighs their evidence as one group's."""
        others = [str(o).strip() for o in f.list(field, sep=self.sep)]
        if others and not sources:
            raise f.error(field, f"says who? a {field} statement needs the record's sources",
                          hint="add sources: [src:...] naming who says so")
        for other in others:
            if not other or other == key:
                raise f.error(field, f"{other!r} is not another actor's key",
                              hint=f"list the keys of the other actors, e.g. {field}: [attack:G0032]")
            self.batch.refs.append(Ref("Actor", other, f.record, field))
            self.batch.rel(rel, ("Actor", key), ("Actor", other), sources=sources)

    def _incidents(self, f: Fields) -> None:
        rules = RULES["incidents"]
        key = rules["key"](f, "key")
        self._unique(f, "incident", key)
        first_seen, last_seen = rules["first_seen"](f, "first_seen"), rules["last_seen"](f, "last_seen")
        if last_seen and last_seen < first_seen:
            raise f.error("last_seen", f"{last_seen} is before first_seen {first_seen}")
        sources = self._source_refs(f, "sources")
        if not sources:
            raise f.error("sources", "missing (required): at least one source that reports the incident")
        incident = ("Incident", key)
        self.batch.node("Incident", key, name=rules["name"](f, "name"), first_seen=first_seen,
                        last_seen=last_seen, description=rules["description"](f, "description"),
                        sources=sources, hints=self._hints(f) or None)
        seen = {"sources": sources, "first_seen": first_seen, "last_seen": last_seen}
        for source in sources:
            self.batch.rel("REPORTED_BY", incident, ("Source", source))
        for used in (self._items(f, "tools", self._tool) + self._items(f, "techniques", self._technique)
                     + self._items(f, "infrastructure", self._infrastructure)):
            self.batch.rel("USED", incident, used, **seen)
        victims = Fields(self.path, f.record, f.mapping("victims"), ("organizations", "sectors", "countries"))
        for victim in (self._items(victims, "organizations", self._organization)
                       + self._items(victims, "sectors", self._sector)
                       + self._items(victims, "countries", self._country_node)):
            self.batch.rel("TARGETED", incident, victim, **seen)

    def _hints(self, f: Fields) -> list[str]:
        """`hints`: what the report says of the actor without naming it, "origin:PK" (a country's
        alpha-2 code, or "origin:state" for state-sponsored) or "motive:financial" (MOTIVES), or
        {kind, value, text} with the sentence that says so. Stored as "kind:value<TAB>text"."""
        out = []
        for i, hint in enumerate(f.list("hints", sep=self.sep)):
            where = f"hints[{i}]"
            if isinstance(hint, dict):
                unknown = set(hint) - {"kind", "value", "text"}
                if unknown:
                    raise f.error(where, f"unknown field(s) {', '.join(sorted(unknown))}",
                                  hint="a hint has kind, value and text")
                kind, value, text = hint.get("kind"), hint.get("value"), hint.get("text") or ""
            else:
                kind, _, value = str(hint).partition(":")
                text = ""
            if not isinstance(text, str):
                raise f.error(where, "text: expected the sentence that gave the hint")
            kind, value = str(kind or "").strip().casefold(), str(value or "").strip()
            if kind == "origin":
                code = "state" if value.casefold() == "state" else country_code(value)
                if not code:
                    raise f.error(where, f"'{value}' is not a country", hint="an alpha-2 code like PK, or 'state'")
                value = code
            elif kind == "motive":
                value = value.casefold()
                if value not in MOTIVES:
                    raise f.error(where, f"'{value}' is not a motive", hint=f"one of {', '.join(MOTIVES)}")
            else:
                raise f.error(where, f"'{kind}' is not a hint kind", hint="origin:PK, origin:state or motive:financial")
            out.append(f"{kind}:{value}\t{' '.join(text.split())}" if text.strip() else f"{kind}:{value}")
        return out

    def _claims(self, f: Fields) -> None:
        rules = RULES["claims"]
        incident, actor, source = (rules[k](f, k) for k in ("incident", "actor", "source"))
        stance = rules["stance"](f, "stance")
        date = rules["date"](f, "date")
        key = claim_key(incident, actor, source, stance, date)
        self._unique(f, "claim", key)
        for label, ref, field in (("Incident", incident, "incident"), ("Actor", actor, "actor"),
                                  ("Source", source, "source")):
            self.batch.refs.append(Ref(label, ref, f.record, field))
        claim = ("Claim", key)
        self.batch.node("Claim", key, stance=stance, confidence=rules["confidence"](f, "confidence"),
                        date=date, statement=rules["statement"](f, "statement"), url=rules["url"](f, "url"),
                        likelihood=rules["likelihood"](f, "likelihood"),
                        confidence_level=rules["confidence_level"](f, "confidence_level"), sources=[source])
        self.batch.rel("ABOUT", claim, ("Incident", incident))
        self.batch.rel("NAMES", claim, ("Actor", actor))
        self.batch.rel("STATED_BY", claim, ("Source", source), stance=stance)

    # -- items inside records ------------------------------------------------------------------
    def _source_refs(self, f: Fields, field: str) -> list[str]:
        keys = [_source_key(k) for k in f.list(field, sep=self.sep)]
        for key in keys:
            self.batch.refs.append(Ref("Source", key, f.record, field))
        return keys

    def _country(self, f: Fields, field: str, text: str) -> str:
        code = country_code(text)
        if not code:
            raise f.error(field, f"'{text}' is not an ISO 3166 country code or name",
                          hint="use a two-letter code such as GB, KP or US")
        return code

    def _items(self, f: Fields, field: str, one) -> list[tuple[str, str]]:
        """Apply `one(f, field, item)` to each item of a list field. The same plain item (a
        technique ID, a tool or sector name) recurs across thousands of records: its rows are
        made once per batch and reused."""
        refs = []
        for item in f.list(field, sep=self.sep):
            if isinstance(item, (dict, list)):
                refs.append(one(f, field, item))
                continue
            memo_key = (one.__name__, item)
            ref = self._memo.get(memo_key)
            if ref is None:
                ref = self._memo[memo_key] = one(f, field, item)
            refs.append(ref)
        return refs

    def _country_node(self, f: Fields, field: str, text: Any) -> tuple[str, str]:
        code = self._country(f, field, str(text))
        self.batch.node("Country", code, name=country_name(code))
        return ("Country", code)

    def _sector(self, f: Fields, field: str, name: Any) -> tuple[str, str]:
        if not isinstance(name, str) or not slug(name):
            raise f.error(field, f"expected a sector name, got {name!r}")
        key = f"sector:{slug(name)}"
        self.batch.node("Sector", key, name=name.strip())
        return ("Sector", key)

    def _organization(self, f: Fields, field: str, item: Any) -> tuple[str, str]:
        org = Fields(self.path, f.record, item if isinstance(item, dict) else {"name": item},
                     ("name", "country", "sector"))
        name = org.str("name", required=True)
        key = f"org:{slug(name)}"
        self.batch.node("Organization", key, name=name)
        if org.data.get("country"):
            self.batch.rel("LOCATED_IN", ("Organization", key), self._country_node(org, "country", org.str("country")))
        for sector in self._items(org, "sector", self._sector):
            self.batch.rel("IN_SECTOR", ("Organization", key), sector)
        return ("Organization", key)

    def _tool(self, f: Fields, field: str, item: Any) -> tuple[str, str]:
        if isinstance(item, str) and SOFTWARE_ID.match(item.strip()):
            item = {"attack_id": item.strip()}
        elif not isinstance(item, dict):
            item = {"name": item}
        tool = Fields(self.path, f.record, item, ("name", "attack_id", "availability", "key"))
        attack_id = tool.str("attack_id")
        if attack_id and not SOFTWARE_ID.match(attack_id):
            raise tool.error(field, f"'{attack_id}' is not an ATT&CK software ID like S0366")
        # `key`: a tool the graph already holds under another key (a MISP galaxy's misp:<uuid>)
        given_key = None if attack_id else tool.str("key")
        name = tool.str("name", required=not (attack_id or given_key))
        key = f"attack:{attack_id}" if attack_id else given_key or f"tool:{slug(name)}"
        self.batch.node("Tool", key, name=name, availability=tool.choice("availability", AVAILABILITY),
                        external_ids=[attack_id] if attack_id else None)
        return ("Tool", key)

    def _technique(self, f: Fields, field: str, item: Any) -> tuple[str, str]:
        tech = Fields(self.path, f.record, item if isinstance(item, dict) else {"id": item}, ("id", "name"))
        tid = tech.str("id", required=True).upper()
        if not TECHNIQUE_ID.match(tid):
            raise tech.error(field, f"'{tid}' is not an ATT&CK technique ID like T1566 or T1566.003")
        self.batch.node("Technique", tid, name=tech.str("name"), external_ids=[tid])
        if "." in tid:
            parent = tid.split(".")[0]
            self.batch.node("Technique", parent, external_ids=[parent])
            self.batch.rel("SUBTECHNIQUE_OF", ("Technique", tid), ("Technique", parent))
        return ("Technique", tid)

    def _infrastructure(self, f: Fields, field: str, item: Any) -> tuple[str, str]:
        infra = Fields(self.path, f.record, item if isinstance(item, dict) else _infra_parts(item),
                       ("kind", "value"))
        key, props = _infra_node(infra.choice("kind", INFRA_KINDS, required=True),
                                 infra.str("value", required=True))
        self.batch.node("Infrastructure", key, **props)
        return ("Infrastructure", key)

    def _infrastructure_items(self, where: Fields, field: str, items) -> dict[str, tuple[str, str]]:
        """`_infrastructure` over the distinct text items of a column (almost all distinct):
        the same checks, each kind checked once, the node rows made directly."""
        kinds: dict[str, str] = {}
        rows = self._rows.setdefault("Infrastructure", {})
        named = {}
        for item in items:
            where.data = parts = _infra_parts(item)
            kind = kinds.get(parts["kind"])
            if kind is None:
                kind = kinds[parts["kind"]] = where.choice("kind", INFRA_KINDS, required=True)
            key, props = _infra_node(kind, where.str("value", required=True))
            rows.setdefault(key, {"key": key, "props": props, "lists": {}})
            named[item] = ("Infrastructure", key)
        return named

    # -- a chunk a column at a time (None: the chunk goes record by record) ----------------------
    def _plain(self, kind: str, records: list[Record]) -> bool:
        allowed = set(FIELDS[kind])
        return all(type(data) is dict and data.keys() <= allowed for _, data in records)

    def _column(self, kind: str, field: str, records: list[Record]) -> list | None:
        """RULES[kind][field] over every record's value (text or absent), run once per distinct value."""
        values = [data.get(field) for _, data in records]
        distinct = dict.fromkeys(values)
        if not all(v is None or type(v) is str for v in distinct):
            return None
        rule, where = RULES[kind][field], Fields(self.path, "", {})
        try:
            for value in distinct:
                where.data = {field: value}
                distinct[value] = rule(where, field)
        except ValidationError:
            return None
        return [distinct[v] for v in values]

    def _columns(self, kind: str, records: list[Record]) -> dict[str, list] | None:
        columns = {}
        for field in RULES[kind]:
            columns[field] = self._column(kind, field, records)
            if columns[field] is None:
                return None
        return columns

    def _list_column(self, field: str, cells: list) -> tuple[list[int], list[str]] | None:
        """The items of a list field over all records: (record index, item) pairs as two lists."""
        if self.sep:
            return split_column(cells, self.sep) if all(c is None or type(c) is str for c in cells) else None
        parents, items = [], []
        for i, cell in enumerate(cells):
            try:
                listed = Fields(self.path, "", {field: cell}).list(field)
            except ValidationError:
                return None
            if not all(type(item) is str for item in listed):
                return None
            parents += [i] * len(listed)
            items += listed
        return parents, items

    def _ends(self, field: str, cells: list, one=None,
              many=None) -> tuple[list[int], list[tuple[str, str]]] | None:
        """A list field's items as the nodes they name, `one(f, field, item)` run once per
        distinct item (its rows go into this builder's batch, as the record builder's memo does),
        or `many(f, field, distinct items)` once for them all."""
        listed = self._list_column(field, cells)
        if listed is None:
            return None
        parents, items = listed
        where = Fields(self.path, "", {})
        try:
            distinct = dict.fromkeys(items)
            named = many(where, field, distinct) if many else {item: one(where, field, item) for item in distinct}
        except ValidationError:
            return None
        return parents, [named[item] for item in items]

    def _new_keys(self, kind: str, keys: list[str], records: list[Record]) -> bool:
        return len(set(keys)) == len(keys) and self.seen.add_all(kind, keys, [r for r, _ in records])

    def _incident_columns(self, records: list[Record]) -> Prepared | None:
        columns = self._columns("incidents", records)
        if columns is None:
            return None
        keys, first, last = columns["key"], columns["first_seen"], columns["last_seen"]
        if any(end and end < start for start, end in zip(first, last)):
            return None
        victims = [data.get("victims") for _, data in records]
        if not all(v is None or (type(v) is dict and v.keys() <= set(VICTIM_FIELDS)) for v in victims):
            return None
        listed = self._list_column("sources", [data.get("sources") for _, data in records])
        if listed is None:
            return None
        source_of, source_items = listed
        source_keys = [_source_key(item) for item in source_items]
        sources: list[list[str]] = [[] for _ in records]
        for i, key in zip(source_of, source_keys):
            sources[i].append(key)
        if not all(sources):
            return None
        ends = []
        for rel, field, cells, one in (
                ("USED", "tools", [d.get("tools") for _, d in records], self._tool),
                ("USED", "techniques", [d.get("techniques") for _, d in records], self._technique),
                ("USED", "infrastructure", [d.get("infrastructure") for _, d in records], None),
                *(("TARGETED", name, [v.get(name) if v else None for v in victims], one)
                  for name, one in zip(VICTIM_FIELDS, (self._organization, self._sector, self._country_node)))):
            named = self._ends(field, cells, one, many=None if one else self._infrastructure_items)
            if named is None:
                return None
            ends.append((rel, *named))
        if not self._new_keys("incident", keys, records):
            return None
        made = self._rows
        done = prepare(self.new_batch())  # the nodes the items name (and their own relationships)
        done.nodes.update(made)
        first_place: dict[str, int] = {}
        for i, key in zip(source_of, source_keys):
            first_place.setdefault(key, i)
        done.refs = [Ref("Source", key, records[i][0], "sources") for key, i in first_place.items()]
        incident_rows, seen_props, seen_lists = {}, [], []
        for i, key in enumerate(keys):
            props = {"name": columns["name"][i], "first_seen": first[i], "last_seen": last[i],
                     "description": columns["description"][i]}
            lists = {"sources": list(dict.fromkeys(sources[i]))}
            incident_rows[key] = {"key": key, "props": {k: v for k, v in props.items() if v is not None},
                                  "lists": lists}
            seen_props.append({k: v for k, v in (("first_seen", first[i]), ("last_seen", last[i])) if v is not None})
            seen_lists.append(lists)
        done.nodes["Incident"] = incident_rows
        # Relationships one row per incident, (start, [ends], props, lists), as the writer sends them.
        none: dict = {}
        done.by_start[("REPORTED_BY", "Incident", "Source")] = [
            (key, list(lists["sources"]), none, none) for key, lists in zip(keys, seen_lists)]
        for rel, parents, named in ends:
            by_record: dict[tuple[str, str, str], dict[int, dict[str, None]]] = {}
            for i, (label, end) in zip(parents, named):
                by_record.setdefault((rel, "Incident", label), {}).setdefault(i, {})[end] = None
            for group, records_ends in by_record.items():
                done.by_start.setdefault(group, []).extend(
                    (keys[i], list(found), seen_props[i], seen_lists[i]) for i, found in records_ends.items())
        return done

    def _claim_columns(self, records: list[Record]) -> Prepared | None:
        columns = self._columns("claims", records)
        if columns is None:
            return None
        incidents, actors, sources = columns["incident"], columns["actor"], columns["source"]
        stances, dates = columns["stance"], columns["date"]
        keys = [claim_key(*key) for key in zip(incidents, actors, sources, stances, dates)]
        if not self._new_keys("claim", keys, records):
            return None
        refs: dict[tuple[str, str], Ref] = {}
        claims = {}
        for i, key in enumerate(keys):
            record = records[i][0]
            for label, ref, field in (("Incident", incidents[i], "incident"), ("Actor", actors[i], "actor"),
                                      ("Source", sources[i], "source")):
                if (label, ref) not in refs:
                    refs[(label, ref)] = Ref(label, ref, record, field)
            props = {"stance": stances[i], "confidence": columns["confidence"][i], "date": dates[i],
                     "statement": columns["statement"][i], "url": columns["url"][i],
                     "likelihood": columns["likelihood"][i], "confidence_level": columns["confidence_level"][i]}
            claims[key] = {"key": key, "props": {k: v for k, v in props.items() if v is not None},
                           "lists": {"sources": [sources[i]]}}
        # Relationships one row per claim, (start, [ends], props, lists), as the writer sends them
        # (the keys are unique: checked above).
        none: dict = {}
        by_start = {("ABOUT", "Claim", "Incident"): [(k, [e], none, none) for k, e in zip(keys, incidents)],
                    ("NAMES", "Claim", "Actor"): [(k, [e], none, none) for k, e in zip(keys, actors)],
                    ("STATED_BY", "Claim", "Source"): [(k, [e], {"stance": st}, none)
                                                       for k, e, st in zip(keys, sources, stances)]}
        return Prepared(str(self.path), {"Claim": claims}, {}, list(refs.values()), {}, by_start=by_start)


def _infra_parts(item: Any) -> dict[str, str]:
    """'kind:value' -> its fields."""
    kind, _, value = str(item).partition(":")
    return {"kind": kind, "value": value}


def _infra_node(kind: str, value: str) -> tuple[str, dict]:
    """An infrastructure item's key and properties."""
    value = infrastructure_value(kind, value)
    return f"{kind}:{value}", {"kind": kind, "value": value, "name": value}


def _source_key(item: Any) -> str:
    return str(item).strip()
