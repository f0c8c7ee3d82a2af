"""The read-only Cypher console behind `attrib query` and the app's Console page.

A query runs only if every layer lets it through:
1. a tokenizer (string literals, backtick names and comments understood) refuses write,
   schema and administration keywords, `LOAD CSV`, `USE`, `SHOW`, `TERMINATE`,
   `CALL { ... } IN TRANSACTIONS`, `EXPLAIN`/`PROFILE`/`CYPHER` prefixes, more than one
   statement, non-ASCII characters outside string literals (unicode whitespace and line
   separators parse differently in different tools), and any procedure or namespaced function
   not on the allowlists below;
2. `EXPLAIN` on the server: the query type must be read-only ("r") and the plan may not hold a
   write, schema, administration, LOAD CSV, transaction-batching or SHOW/TERMINATE operator,
   nor a procedure or namespaced function outside the allowlists;
3. it then runs in a READ transaction (the server rejects writes there), with a transaction
   timeout, and only the first `row_cap` rows are fetched (the rest are discarded).
Errors come back as one-line `QueryRefused` / `QueryFailed` messages.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import neo4j
from neo4j.exceptions import ClientError, CypherSyntaxError, DriverError, Neo4jError

from graph.db import GraphDB
from graph.errors import DatabaseError, QueryFailed, QueryRefused, Unavailable
from graph.settings import Settings, load_settings
from graph.subgraph import Subgraph, plain, result_subgraph

# Procedures a console query may CALL (read-only metadata and full-text search).
PROCEDURE_ALLOWLIST = frozenset({
    "db.labels", "db.relationshipTypes", "db.propertyKeys", "db.schema.visualization",
    "db.schema.nodeTypeProperties", "db.schema.relTypeProperties", "db.index.fulltext.queryNodes",
})
# Namespaced functions allowed (built-in temporal, spatial and vector functions); functions
# without a namespace are Cypher built-ins. Compared case-insensitively, by prefix.
FUNCTION_NAMESPACES = ("date.", "datetime.", "localdatetime.", "localtime.", "time.", "duration.",
                       "point.", "vector.similarity.")

_WRITE = "writes to the graph; the console is read-only"
_ADMIN = "administers the server; the console is read-only"
FORBIDDEN_WORDS: dict[str, str] = {
    **{w: _WRITE for w in ("CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "FOREACH", "DROP",
                           "INSERT")},
    "LOAD": "(LOAD CSV) reads files and URLs; the console does not read files",
    "USE": "switches databases; the console queries the configured database only",
    **{w: _ADMIN for w in ("SHOW", "TERMINATE", "GRANT", "DENY", "REVOKE", "ALTER", "RENAME", "START",
                           "STOP", "ENABLE", "DEALLOCATE", "REALLOCATE", "DRYRUN")},
}
PREFIX_WORDS = {"EXPLAIN": "the console runs EXPLAIN itself; drop the EXPLAIN prefix",
                "PROFILE": "PROFILE is not available in the console; drop the prefix",
                "CYPHER": "query options (CYPHER ...) are not allowed in the console"}

# Plan operators (name without the @database suffix) that a read-only query never needs.
FORBIDDEN_OPERATOR_PREFIXES = ("Create", "Merge", "Set", "Delete", "DetachDelete", "Remove", "Foreach",
                               "LoadCSV", "TransactionApply", "TransactionForeach", "Terminate", "Show",
                               "Administration", "Drop", "Alter", "Grant", "Deny", "Revoke", "Lock")
_PLAN_FUNCTION = re.compile(r"(?<![\w.`$])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)\s*\(")

_WS = " \t\r\n\f\v"

# The console reports the server's notifications itself (ConsoleResult.notices); without this the
# driver's logger would print them to stderr through logging's last-resort handler.
logging.getLogger("neo4j.notifications").addHandler(logging.NullHandler())


@dataclass
class Token:
    kind: str      # word | name (backtick-quoted) | string | number | param | punct
    value: str
    pos: int


@dataclass
class ConsoleResult:
    columns: list[str]
    rows: list[list[Any]]                  # JSON-friendly values
    graph: Subgraph                        # nodes and relationships found in the result
    truncated: bool = False                # the row cap cut the result
    notices: list[str] = field(default_factory=list)
    elapsed_ms: int = 0

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, r)) for r in self.rows]

    def to_dict(self) -> dict:
        return {"columns": self.columns, "rows": self.rows, "truncated": self.truncated,
                "notices": self.notices, "graph": self.graph.to_dict()}


# -- layer 1: tokenizer ---------------------------------------------------------------------------
def tokenize(text: str) -> list[Token]:
    """Cypher tokens outside comments; raises QueryRefused on anything it cannot read safely."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _WS:
            i += 1
        elif text.startswith("//", i):
            end = i
            while end < n and text[end] not in "\r\n":
                end += 1
            comment = text[i:end]
            if any(ch in comment for ch in "\u2028\u2029\u0085\x0b\x0c"):
                raise QueryRefused("a comment holds a unicode line separator; remove it")
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise QueryFailed("Cypher syntax error: unterminated /* comment")
            i = end + 2
        elif c in "'\"":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise QueryFailed(f"Cypher syntax error: unterminated string starting at offset {i}")
                ch = text[j]
                if ch == "\\":
                    buf.append(text[j:j + 2])
                    j += 2
                    continue
                if ch == c:
                    break
                buf.append(ch)
                j += 1
            out.append(Token("string", "".join(buf), i))
            i = j + 1
        elif c == "`":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise QueryFailed(f"Cypher syntax error: unterminated `name` starting at offset {i}")
                if text[j] == "`":
                    if text.startswith("``", j):
                        buf.append("`")
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            out.append(Token("name", "".join(buf), i))
            i = j + 1
        elif c == "$":
            j = i + 1
            if j < n and text[j] == "`":
                end = text.find("`", j + 1)
                if end < 0:
                    raise QueryFailed("Cypher syntax error: unterminated `parameter` name")
                out.append(Token("param", text[j + 1:end], i))
                i = end + 1
                continue
            while j < n and (text[j].isascii() and (text[j].isalnum() or text[j] == "_")):
                j += 1
            out.append(Token("param", text[i + 1:j], i))
            i = j
        elif c.isascii() and (c.isalpha() or c == "_"):
            j = i + 1
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
                j += 1
            out.append(Token("word", text[i:j], i))
            i = j
        elif c.isascii() and c.isdigit():
            j = i + 1
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] in "_."):
                j += 1
            out.append(Token("number", text[i:j], i))
            i = j
        elif not c.isascii():
            raise QueryRefused(f"character U+{ord(c):04X} at offset {i} is outside a string literal; "
                               "the console accepts only plain ASCII there (retype it)")
        else:
            out.append(Token("punct", c, i))
            i += 1
    return out


def _dotted(tokens: list[Token], i: int) -> tuple[str, int]:
    """The dotted name starting at tokens[i] (words or `names`), and the index after it."""
    parts = [tokens[i].value]
    j = i + 1
    while (j + 1 < len(tokens) and tokens[j].kind == "punct" and tokens[j].value == "."
           and tokens[j + 1].kind in ("word", "name")):
        parts.append(tokens[j + 1].value)
        j += 2
    return ".".join(parts), j


def check_text(text: str) -> None:
    """Layer 1: refuse what the query text says, before the server sees it."""
    if not text or not text.strip():
        raise QueryRefused("the query is empty")
    tokens = tokenize(text)
    while tokens and tokens[-1].kind == "punct" and tokens[-1].value == ";":
        tokens.pop()
    if not tokens:
        raise QueryRefused("the query is empty")
    if any(t.kind == "punct" and t.value == ";" for t in tokens):
        raise QueryRefused("one statement at a time: the query holds a ';' between statements")
    first = tokens[0]
    if first.kind == "word" and first.value.upper() in PREFIX_WORDS:
        raise QueryRefused(PREFIX_WORDS[first.value.upper()])
    i = 0
    while i < len(tokens):
        t = tokens[i]
        prev = tokens[i - 1] if i else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        after_dot_or_colon = prev is not None and prev.kind == "punct" and prev.value in (".", ":")
        if t.kind == "word" and not after_dot_or_colon:
            word = t.value.upper()
            is_map_key = nxt is not None and nxt.kind == "punct" and nxt.value == ":" and (
                prev is not None and prev.kind == "punct" and prev.value in ("{", ","))
            if word in FORBIDDEN_WORDS and not is_map_key:
                raise QueryRefused(f"refused: {t.value} {FORBIDDEN_WORDS[word]} "
                                   "(if it is a name, quote it in `backticks`)")
            if word == "IN" and nxt is not None and nxt.kind == "word" and nxt.value.upper() == "TRANSACTIONS":
                raise QueryRefused("refused: CALL { ... } IN TRANSACTIONS commits batches of its own; "
                                   "the console runs one read transaction")
            if word == "CALL" and nxt is not None and nxt.kind in ("word", "name"):
                name, _ = _dotted(tokens, i + 1)
                if name not in PROCEDURE_ALLOWLIST:
                    raise QueryRefused(f"refused: procedure {name} is not on the console's allowlist "
                                       f"({', '.join(sorted(PROCEDURE_ALLOWLIST))})")
                i += 1
                _, i = _dotted(tokens, i)
                continue
        if t.kind in ("word", "name") and not after_dot_or_colon:
            name, j = _dotted(tokens, i)
            if j < len(tokens) and tokens[j].kind == "punct" and tokens[j].value == "(" and "." in name:
                if not name.lower().startswith(FUNCTION_NAMESPACES):
                    raise QueryRefused(f"refused: function {name} is not on the console's allowlist "
                                       "(built-in functions and date/time/duration/point functions only)")
            if j > i + 1:
                i = j
                continue
        i += 1


# -- layer 2: the server's plan -------------------------------------------------------------------
def _operators(plan: dict | None):
    if not plan:
        return
    yield plan
    for child in plan.get("children") or []:
        yield from _operators(child)


def check_plan(summary: neo4j.ResultSummary) -> list[str]:
    """Layer 2: refuse unless EXPLAIN says read-only and the plan holds only safe operators.
    Returns the server's notifications about the query (e.g. a cartesian product)."""
    qtype = summary.query_type
    if qtype != "r":
        what = {"w": "writes to the graph", "rw": "writes to the graph",
                "s": "changes the schema or administers the server"}.get(str(qtype), f"has query type {qtype!r}")
        raise QueryRefused(f"refused: the server's plan says this query {what}; the console is read-only")
    for op in _operators(summary.plan):
        op_type = str(op.get("operatorType", "")).split("@")[0]
        details = str((op.get("args") or {}).get("Details") or "")
        if op_type.startswith(FORBIDDEN_OPERATOR_PREFIXES):
            raise QueryRefused(f"refused: the plan holds a {op_type} operator; the console is read-only")
        if op_type == "ProcedureCall":
            name = details.split("(")[0].strip().strip("`")
            if name not in PROCEDURE_ALLOWLIST:
                raise QueryRefused(f"refused: procedure {name or '?'} is not on the console's allowlist")
            continue
        for fn in _PLAN_FUNCTION.findall(details):
            if not fn.lower().startswith(FUNCTION_NAMESPACES):
                raise QueryRefused(f"refused: function {fn} is not on the console's allowlist")
    notes = []
    for n in summary.summary_notifications if hasattr(summary, "summary_notifications") else []:
        title = getattr(n, "title", "") or ""
        if title and "deprecated" not in title.lower():
            notes.append(f"server: {title}")
    return sorted(set(notes))


# -- errors ---------------------------------------------------------------------------------------
def _one_line(text: str, limit: int = 300) -> str:
    first = (text or "").strip().split("\n")[0]
    first = " ".join(first.split())
    return first if len(first) <= limit else first[: limit - 1] + "\u2026"


def _cause(exc: Exception) -> Exception:
    """The driver's error behind graph.db's DatabaseError (which wraps it)."""
    cause = exc.__cause__
    return cause if isinstance(exc, DatabaseError) and isinstance(cause, (Neo4jError, DriverError)) else exc


def _failure(exc: Exception, timeout_s: float) -> Exception:
    code = getattr(exc, "code", "") or ""
    msg = getattr(exc, "message", None) or str(exc)
    if "TransactionTimedOut" in code or "Terminated" in code or "timed out" in msg.lower():
        return QueryFailed(f"the query ran longer than {timeout_s:g} s and was stopped (transaction timeout)",
                           hint="narrow it: anchor the MATCH on a key, add LIMIT, avoid cartesian products")
    if isinstance(exc, CypherSyntaxError) or code.endswith("SyntaxError"):
        line = _one_line(msg)
        where = re.search(r"\(line \d+, column \d+", msg)
        if ": expected" in line:  # the parser lists every keyword it expected: keep the gist
            line = line.split(": expected")[0] + (f" {where.group(0)})" if where else "")
        return QueryFailed(f"Cypher syntax error: {line}")
    if "ParameterMissing" in code:
        return QueryFailed(_one_line(msg), hint="pass it with --param NAME=VALUE")
    if "ProcedureNotFound" in code or "Procedure" in code:
        return QueryRefused(f"refused: {_one_line(msg)}")
    if "AccessMode" in code or "Forbidden" in code or "Security" in code:
        return QueryRefused(f"refused by the server: {_one_line(msg)}")
    if isinstance(exc, Neo4jError):
        return QueryFailed(f"the server refused the query: {_one_line(msg)}" + (f" ({code})" if code else ""))
    return QueryFailed(f"the query failed: {_one_line(str(exc))}")


# -- running --------------------------------------------------------------------------------------
def check(db: GraphDB, text: str, params: dict | None = None) -> list[str]:
    """Layers 1 and 2 without running the query; returns the server's notices."""
    check_text(text)
    try:
        summary = db.explain(text, params or {})
    except (Neo4jError, DriverError, DatabaseError) as exc:
        raise _failure(_cause(exc), 0) from None
    return check_plan(summary)


def run_query(db: GraphDB, text: str, params: dict | None = None, *, timeout_s: float | None = None,
              row_cap: int | None = None, connect: bool = False, settings: Settings | None = None) -> ConsoleResult:
    """Run a console query read-only: tokenizer, EXPLAIN check, READ transaction with a timeout,
    at most `row_cap` rows. `connect` adds the relationships among the result's nodes to `graph`."""
    import time

    if timeout_s is None or row_cap is None:
        s = settings or load_settings()
        timeout_s = s.query_timeout_s if timeout_s is None else timeout_s
        row_cap = s.row_cap if row_cap is None else row_cap
    params = dict(params or {})
    notices = check(db, text, params)
    started = time.monotonic()

    def work(tx):
        result = tx.run(text, params)
        columns = list(result.keys())
        raw, truncated = [], False
        for record in result:
            if len(raw) >= row_cap:
                truncated = True
                break
            raw.append(list(record.values()))
        return columns, raw, truncated

    try:
        columns, raw, truncated = db.execute_read(work, timeout=timeout_s)
    except Unavailable:
        raise
    except (Neo4jError, ClientError, DriverError, DatabaseError) as exc:
        raise _failure(_cause(exc), timeout_s) from None
    elapsed = int((time.monotonic() - started) * 1000)
    if truncated:
        notices.insert(0, f"showing the first {row_cap} rows: the result was cut at the row cap "
                          f"(ATTRIB_ROW_CAP={row_cap}); add LIMIT or narrow the query")
    try:
        graph = result_subgraph(db, raw, connect=connect)
    except (Neo4jError, DriverError, DatabaseError) as exc:
        graph = Subgraph()
        notices.append(f"the result's graph could not be drawn: {_one_line(str(exc))}")
    rows = [[plain(v) for v in r] for r in raw]
    return ConsoleResult(columns, rows, graph, truncated, notices, elapsed)


def display_text(value) -> str:
    """One result value as short text: nodes as (Label name), paths as a chain."""
    if value is None:
        return ""
    if isinstance(value, dict):
        if "_path" in value:
            return " - ".join(display_text(n) for n in value["_path"])
        if "_labels" in value:
            label = (value["_labels"] or ["?"])[0]
            return f"({label} {value.get('name') or value.get('key') or ''})".replace(" )", ")")
        if "_type" in value:
            return f"[{value['_type']}]"
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return ", ".join(display_text(v) for v in value)
    return str(value)
