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
   nor a procedure or namespaced function outside the allowlists; then the cost check refuses
   shapes whose work the graph does not bound (see "layer 2b" below);
3. it then runs once (no driver retries) in a READ transaction (the server rejects writes
   there), with a transaction timeout, and only the first `row_cap` rows are fetched (the rest
   are discarded). A watchdog reports a query the server still executes after the timeout.
Errors come back as one-line `QueryRefused` / `QueryFailed` messages.
"""
from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import neo4j
from neo4j.exceptions import CypherSyntaxError, DriverError, Neo4jError

from graph import cypher
from graph.errors import DatabaseError, QueryFailed, QueryRefused, Unavailable
from graph.reads.subgraph import Subgraph, plain, result_subgraph
from graph.settings import Settings, load_settings
from graph.store.db import GraphDB

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


def _maybe_name(prev: Token | None, nxt: Token | None) -> bool:
    """Whether a keyword between `prev` and `nxt` could be a variable (`(set:Actor)`, `set.name`,
    `AS use`, `RETURN x, set`) rather than the clause it names (`CREATE (n)`, `SET a.x = 1`)."""
    if prev is not None and prev.kind == "word" and prev.value.upper() == "AS":
        return True
    if prev is not None and prev.kind == "punct" and prev.value == ",":
        return True
    return nxt is None or (nxt.kind == "punct" and nxt.value in ".:),]}=<>+-*/%^")


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
                hint = " (if it is a name, quote it in `backticks`)" if _maybe_name(prev, nxt) else ""
                raise QueryRefused(f"refused: {t.value} {FORBIDDEN_WORDS[word]}{hint}")
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


# -- layer 2b: the cost check ---------------------------------------------------------------------
# Neo4j checks a transaction's timeout between rows, not inside one expression: a reduce() over a
# long range() keeps a CPU busy long after the timeout, and only a restart ends it. So the console
# refuses, before running, the shapes whose work is not bounded by the graph (BloodHound CE's
# "complexity" idea): long or non-literal range() lists, UNWIND of long lists, nested iteration
# with too many steps in one expression, comprehensions nested too deep, string/list growth in
# reduce(), variable-length patterns without (or above) an upper bound, and cartesian products of
# too many disconnected pattern parts.
_LOOP_WORDS = {"ANY", "ALL", "NONE", "SINGLE"}
# An accumulator starting from one of these is a number: `acc + x` adds, it does not grow.
_NUMERIC_FUNCTIONS = {"TOINTEGER", "TOFLOAT", "SIZE", "LENGTH", "ABS", "CEIL", "FLOOR", "ROUND", "SIGN",
                      "COUNT", "SUM", "MIN", "MAX", "AVG", "TIMESTAMP", "SQRT", "LOG", "LOG10", "EXP",
                      "RAND", "PI", "E", "TOINTEGERORNULL", "TOFLOATORNULL"}
# Functions returning a list stored in the graph (its length is the data's, not the query's).
_STORED_LISTS = {"NODES", "RELATIONSHIPS", "LABELS", "KEYS"}
# Plan operators that expand variable-length patterns, and the quantifiers their details show:
# `[anon_0*]`, `[*2..]`, `[*..8]`, `[*3]`; `{1, }`, `{2, 30}` (quantified path patterns).
_VARLENGTH_OPERATORS = ("VarLengthExpand", "ShortestPath", "StatefulShortestPath", "BFSPruningVarExpand",
                        "Repeat", "Trail")
_STAR = re.compile(r"\*\s*(\d*)\s*(\.\.)?\s*(\d*)\s*\]")
_BRACES = re.compile(r"\{\s*(\d*)\s*(,)?\s*(\d*)\s*\}")
_UNBOUNDED = 2**31 - 1  # how the planner writes "no upper bound" once it has added one


@dataclass(frozen=True)
class CostLimits:
    """The cost check's limits (settings ATTRIB_QUERY_MAX_RANGE, _HOPS, _CARTESIAN, _NESTING)."""
    max_range: int
    max_hops: int
    max_cartesian: int
    max_nesting: int

    @classmethod
    def of(cls, s: Settings) -> "CostLimits":
        return cls(s.query_max_range, s.query_max_hops, s.query_max_cartesian, s.query_max_nesting)


@dataclass
class _Loop:
    """One iteration inside an expression: [x IN src ...], reduce(acc = init, x IN src | body),
    any/all/none/single(x IN src WHERE ...). Token indexes: src is [src0, src1), the per-item part
    runs from src1 to end."""
    kind: str
    src0: int
    src1: int
    end: int
    acc: str | None = None
    init: tuple[int, int] | None = None


class _Cost:
    """The text side of the cost check: the query's tokens, their brackets, its iterations."""

    def __init__(self, text: str, params: dict, limits: CostLimits, estimated_rows: int):
        tokens = tokenize(text)
        while tokens and tokens[-1].kind == "punct" and tokens[-1].value == ";":
            tokens.pop()
        self.t, self.text, self.params, self.lim = tokens, text, params, limits
        self.est = max(1, estimated_rows)
        self.close = self._brackets()
        self.loops = self._loops()

    # -- token helpers ------------------------------------------------------------------------
    def _brackets(self) -> dict[int, int]:
        pairs, stack = {}, []
        for i, tok in enumerate(self.t):
            if tok.kind != "punct":
                continue
            if tok.value in "([{":
                stack.append(i)
            elif tok.value in ")]}" and stack:
                pairs[stack.pop()] = i
        return pairs

    def _is(self, i: int, kind: str, value: str | None = None) -> bool:
        if i >= len(self.t) or self.t[i].kind != kind:
            return False
        return value is None or self.t[i].value.upper() == value

    def _word(self, i: int, value: str) -> bool:
        """tokens[i] is the keyword/function `value`, not a property or label of that name."""
        prev = self.t[i - 1] if i else None
        return self._is(i, "word", value) and not (prev and prev.kind == "punct" and prev.value in ".:")

    def _source(self, i: int, end: int) -> str:
        """The query text of tokens [i, end), shortened for a one-line message."""
        stop = self.t[end].pos if end < len(self.t) else len(self.text)
        snippet = " ".join(self.text[self.t[i].pos:stop].split())
        return snippet if len(snippet) <= 60 else snippet[:59] + "\u2026"

    def _split(self, a: int, b: int, sep: str) -> list[tuple[int, int]]:
        """[a, b) split at top-level punct `sep` (not inside brackets)."""
        parts, j, start = [], a, a
        while j < b:
            if j in self.close:
                j = self.close[j] + 1
                continue
            if self.t[j].kind == "punct" and self.t[j].value == sep:
                parts.append((start, j))
                start = j + 1
            j += 1
        parts.append((start, b))
        return parts

    def _find(self, a: int, b: int, test) -> int:
        """The first top-level index in [a, b) where test(i) holds, else b."""
        j = a
        while j < b:
            if test(j):
                return j
            j = self.close[j] + 1 if j in self.close else j + 1
        return b

    # -- values and sizes ---------------------------------------------------------------------
    def _number(self, a: int, b: int) -> float | None:
        """A literal number or a number-valued $parameter in [a, b), else None."""
        sign = 1
        if b - a == 2 and self._is(a, "punct", "-"):
            sign, a = -1, a + 1
        if b - a != 1:
            return None
        tok = self.t[a]
        if tok.kind == "param":
            value = self.params.get(tok.value)
            return sign * value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if tok.kind == "number":
            raw = tok.value.replace("_", "")
            try:
                return sign * int(raw, 0)
            except ValueError:
                try:
                    return sign * float(raw)
                except ValueError:
                    return None
        return None

    def _range_span(self, i: int) -> int:
        """Items in the list range(...) at tokens[i] makes; refuses bounds it cannot read."""
        close = self.close.get(i + 1)
        args = self._split(i + 2, close, ",") if close else []
        values = [self._number(a, b) for a, b in args]
        call = self._source(i, close + 1) if close else "range("
        if len(args) not in (2, 3) or any(v is None for v in values):
            raise QueryRefused(f"refused: {call} has bounds that are not numbers or $parameters, so its "
                               "length cannot be checked; write the bounds as numbers")
        start, end = values[0], values[1]
        step = values[2] if len(values) == 3 else 1
        if step == 0 or (end - start) * step < 0:
            return 0
        span = int(abs(end - start) // abs(step)) + 1
        if span > self.lim.max_range:
            raise QueryRefused(f"refused: {call} makes a list of {span:,} items (limit {self.lim.max_range:,}: "
                               "ATTRIB_QUERY_MAX_RANGE); the server cannot stop an expression midway")
        return span

    def size(self, a: int, b: int) -> int | None:
        """The length of the list [a, b) evaluates to, when the text decides it; None when the
        graph does (a variable, a property, collect())."""
        terms = self._split(a, b, "+")
        if len(terms) > 1:
            sizes = [self.size(x, y) for x, y in terms]
            return None if None in sizes else sum(sizes)
        while b - a >= 2 and self._is(a, "punct", "(") and self.close.get(a) == b - 1:
            a, b = a + 1, b - 1
        if b - a >= 3 and self._word(a, "RANGE") and self._is(a + 1, "punct", "(") and self.close.get(a + 1) == b - 1:
            return self._range_span(a)
        if b - a >= 2 and self._is(a, "punct", "[") and self.close.get(a) == b - 1:
            loop = self.loops.get(a)
            if loop:
                return self.size(loop.src0, loop.src1)
            if b - a == 2:
                return 0
            if self._is(a + 1, "punct", "("):  # a pattern comprehension: the graph decides
                return None
            return len(self._split(a + 1, b - 1, ","))
        return None

    # -- the loops of the query ---------------------------------------------------------------
    def _loops(self) -> dict[int, _Loop]:
        """Every iteration in the query, by the index of its first token."""
        out = {}
        for i, tok in enumerate(self.t):
            if tok.kind == "punct" and tok.value == "[" and i in self.close:
                # [x IN src WHERE ... | ...]
                if self.t[i + 1].kind in ("word", "name") and self._is(i + 2, "word", "IN"):
                    end = self.close[i]
                    src1 = self._find(i + 3, end, lambda j: self._is(j, "word", "WHERE") or self._is(j, "punct", "|"))
                    out[i] = _Loop("comprehension", i + 3, src1, end)
                continue
            word = tok.value.upper() if tok.kind == "word" else ""
            if not (word == "REDUCE" or word in _LOOP_WORDS) or not self._word(i, word) \
                    or not self._is(i + 1, "punct", "(") or (i + 1) not in self.close:
                continue
            end = self.close[i + 1]
            if word == "REDUCE":  # reduce(acc = init, x IN src | body)
                comma = self._find(i + 2, end, lambda j: self._is(j, "punct", ","))
                if comma < end and self._is(i + 3, "punct", "=") and self._is(comma + 2, "word", "IN"):
                    src1 = self._find(comma + 3, end, lambda j: self._is(j, "punct", "|"))
                    out[i] = _Loop("reduce", comma + 3, src1, end, acc=self.t[i + 2].value, init=(i + 4, comma))
            elif self._is(i + 3, "word", "IN"):  # any(x IN src WHERE ...)
                src1 = self._find(i + 4, end, lambda j: self._is(j, "word", "WHERE"))
                out[i] = _Loop(word.lower(), i + 4, src1, end)
        return out

    def _enclosing(self, pos: int) -> list[_Loop]:
        return [lp for lp in self.loops.values() if lp.src1 <= pos < lp.end]

    def _numeric(self, a: int, b: int) -> bool:
        if self._number(a, b) is not None:
            return True
        return (b - a >= 3 and self._is(a, "word") and self.t[a].value.upper() in _NUMERIC_FUNCTIONS
                and self._is(a + 1, "punct", "(") and self.close.get(a + 1) == b - 1)

    def _grows(self, loop: _Loop) -> bool:
        """A string or list accumulator that the body extends (`+`, replace(), [acc, ...])."""
        if loop.init and self._numeric(*loop.init):
            return False
        for j in range(loop.src1 + 1, loop.end):
            tok = self.t[j]
            if tok.kind == "punct" and tok.value == "+":
                return True
            if self._word(j, "REPLACE") and self._is(j + 1, "punct", "("):
                return True
            if tok.kind in ("word", "name") and tok.value == loop.acc:
                if any(loop.src1 < o < j < c and self.t[o].value == "[" and o not in self.loops
                       for o, c in self.close.items()):
                    return True
        return False

    # -- the check ----------------------------------------------------------------------------
    def check(self) -> None:
        lim = self.lim
        ranges = {i for i in range(len(self.t))
                  if self._word(i, "RANGE") and self._is(i + 1, "punct", "(") and (i + 1) in self.close}
        # A list collected from rows is at most as long as the rows: the plan's estimate, or the
        # longest list the query itself makes (the planner guesses 10 rows for UNWIND of a range).
        self.est = max([self.est] + [self._range_span(i) for i in ranges])
        for i in range(len(self.t)):
            if i in ranges:
                span = self._range_span(i)
                self._steps([span], self._enclosing(i), self._source(i, self.close[i + 1] + 1))
            elif self._word(i, "UNWIND"):
                end = self._find(i + 1, len(self.t), lambda j: self._is(j, "word", "AS"))
                size = self.size(i + 1, end)
                if size is not None and size > lim.max_range:
                    raise QueryRefused(f"refused: UNWIND of a list of {size:,} items (limit {lim.max_range:,}: "
                                       "ATTRIB_QUERY_MAX_RANGE)")
        for start, loop in sorted(self.loops.items()):
            chain = [loop, *self._enclosing(start)]
            what = self._source(start, loop.end + 1)
            if len(chain) > lim.max_nesting:
                raise QueryRefused(f"refused: list comprehensions/reduce() nested {len(chain)} deep at {what} "
                                   f"(limit {lim.max_nesting}: ATTRIB_QUERY_MAX_NESTING); the server cannot "
                                   "stop an expression midway")
            if loop.kind == "reduce" and self._grows(loop):
                raise QueryRefused(f"refused: reduce() grows its string or list `{loop.acc}` on every step "
                                   f"({what}): the work grows with the square of the list (or doubles) and the server cannot "
                                   "stop it midway; use collect() or a list comprehension, join strings in the client")
            if len(chain) > 1:
                self._steps([self._length(lp) for lp in chain], [], what)

    def _stored(self, a: int, b: int) -> bool:
        """Whether [a, b) reads a list stored in the graph (`n.aliases`, `nodes(p)`, `labels(n)`):
        bounded by the data, not made by the query."""
        if b - a == 3 and self._is(a + 1, "punct", ".") and self.t[a].kind in ("word", "name"):
            return True
        return (b - a >= 3 and self._is(a, "word") and self.t[a].value.upper() in _STORED_LISTS
                and self._is(a + 1, "punct", "(") and self.close.get(a + 1) == b - 1)

    def _length(self, loop: _Loop) -> int | None:
        """How many items `loop` iterates: known from the text, 1 for a stored list, None for a
        list the query builds from rows."""
        size = self.size(loop.src0, loop.src1)
        if size is None and self._stored(loop.src0, loop.src1):
            return 1
        return size

    def _steps(self, sizes: list[int | None], enclosing: list[_Loop], what: str) -> None:
        """Refuse when nested iteration multiplies to more steps than the limit in one expression.
        A list the query builds from rows (collect()) counts as long as `self.est`; a stored
        list (a property, nodes(p)) as short."""
        sizes = sizes + [self._length(lp) for lp in enclosing]
        if len(sizes) < 2:
            return
        steps = 1
        for s in sizes:
            steps *= self.est if s is None else s
        if steps > self.lim.max_range:
            guess = (f"; a list of unknown length counted as {self.est:,} items" if None in sizes else "")
            raise QueryRefused(f"refused: nested iteration of about {steps:,} steps in one expression at {what} "
                               f"(limit {self.lim.max_range:,}: ATTRIB_QUERY_MAX_RANGE{guess}); the server "
                               "cannot stop an expression midway")


def _max_hops(details: str) -> tuple[bool, int | None]:
    """(is variable-length, upper bound or None) of one plan operator's pattern details."""
    found, worst = False, 0
    for lo, dots, hi in _STAR.findall(details):
        found = True
        upper = (hi or None) if dots else (lo or None)
        if upper is None or int(upper) >= _UNBOUNDED:
            return True, None
        worst = max(worst, int(upper))
    for lo, comma, hi in _BRACES.findall(details):
        if not lo and not hi:
            continue
        found = True
        upper = (hi or None) if comma else lo
        if upper is None or int(upper) >= _UNBOUNDED:
            return True, None
        worst = max(worst, int(upper))
    return found, (worst if found else None)


def _cartesian_parts(plan: dict) -> int:
    """How many disconnected pattern parts the plan joins with no condition between them."""
    children = plan.get("children") or []
    parts = [_cartesian_parts(c) for c in children]
    if str(plan.get("operatorType", "")).split("@")[0] == "CartesianProduct":
        return sum(parts)
    return max(parts, default=1)


def check_cost(text: str, params: dict, summary: neo4j.ResultSummary, limits: CostLimits) -> None:
    """Layer 2b: refuse query shapes whose work the graph does not bound (see above)."""
    plan = summary.plan or {}
    for op in _operators(plan):
        op_type = str(op.get("operatorType", "")).split("@")[0]
        if not op_type.startswith(_VARLENGTH_OPERATORS):
            continue
        found, upper = _max_hops(str((op.get("args") or {}).get("Details") or ""))
        if found and upper is None:
            raise QueryRefused(f"refused: a variable-length pattern without an upper bound ([*], [*2..], +, "
                               f"{{1,}}); give one, e.g. [*..5] (at most {limits.max_hops}: ATTRIB_QUERY_MAX_HOPS)")
        if found and upper > limits.max_hops:
            raise QueryRefused(f"refused: a variable-length pattern of up to {upper} hops (limit "
                               f"{limits.max_hops}: ATTRIB_QUERY_MAX_HOPS); lower its upper bound")
    parts = _cartesian_parts(plan) if plan else 1
    if parts > limits.max_cartesian:
        raise QueryRefused(f"refused: the plan joins {parts} disconnected pattern parts with no condition between "
                           f"them (a cartesian product; limit {limits.max_cartesian}: ATTRIB_QUERY_MAX_CARTESIAN); "
                           "connect them with a relationship or a WHERE a.x = b.y")
    rows = [float((op.get("args") or {}).get("EstimatedRows") or 1) for op in _operators(plan)]
    _Cost(text, params, limits, int(min(max(rows, default=1), 1e18))).check()


# -- errors ---------------------------------------------------------------------------------------
def _one_line(text: str, limit: int = 300) -> str:
    first = (text or "").strip().split("\n")[0]
    first = " ".join(first.split())
    return first if len(first) <= limit else first[: limit - 1] + "\u2026"


def _cause(exc: Exception) -> Exception:
    """The driver's error behind graph.store.db's DatabaseError (which wraps it)."""
    cause = exc.__cause__
    return cause if isinstance(exc, DatabaseError) and isinstance(cause, (Neo4jError, DriverError)) else exc


_NARROW = "narrow it: anchor the MATCH on a key, add LIMIT, avoid cartesian products"


def _failure(exc: Exception, timeout_s: float) -> Exception:
    code = getattr(exc, "code", "") or ""
    msg = getattr(exc, "message", None) or str(exc)
    if "TransactionTimedOut" in code or "timed out" in msg.lower():
        return QueryFailed(f"the query ran longer than {timeout_s:g} s and was stopped (transaction timeout)",
                           hint=_NARROW + "; or raise ATTRIB_QUERY_TIMEOUT")
    if "MemoryPoolOutOfMemory" in code or "MemoryLimitExceeded" in code:
        return QueryFailed("the query needed more memory than the server allows one transaction and was stopped",
                           hint=_NARROW + "; fewer or smaller collect()s; or raise ATTRIB_NEO4J_HEAP (local server)")
    if "Terminated" in code:
        return QueryFailed("the server ended the query (its transaction was terminated, e.g. by a restart "
                           "or an administrator)", hint="run it again; " + _NARROW)
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
def check(db: GraphDB, text: str, params: dict | None = None, settings: Settings | None = None) -> list[str]:
    """Layers 1 and 2 (with the cost check) without running the query; returns the server's notices."""
    check_text(text)
    params = params or {}
    try:
        summary = db.explain(text, params)
    except (Neo4jError, DriverError, DatabaseError) as exc:
        raise _failure(_cause(exc), 0) from None
    notices = check_plan(summary)
    check_cost(text, params, summary, CostLimits.of(settings or load_settings()))
    return notices


def transactions(db: GraphDB, tag: str | None = None) -> list[dict]:
    """The server's open transactions (SHOW TRANSACTIONS, run by the project, not the console),
    only the console query tagged `tag` when given."""
    return db.read(cypher.SHOW_TRANSACTIONS, {"tag": tag})


def runaway_transactions(db: GraphDB, settings: Settings) -> list[dict]:
    """Transactions the server has terminated (or console ones that ran past the console's
    timeout, which the server should have ended by then) but is still executing: an expression it
    cannot stop midway holds a CPU until it ends. The timeout, not timeout plus grace: the console
    reports a runaway once its own clock passes timeout plus grace, and the server's clock for the
    transaction starts a little later, so it must be listed then too."""
    return [t for t in transactions(db) if str(t["status"]).startswith("Terminated")
            or (t["tag"] and (t["seconds"] or 0) > settings.query_timeout_s)]


def _still_running(db: GraphDB, tag: str, until: float) -> dict | None:
    """The console transaction `tag` if the server still lists it at `until` (monotonic time)."""
    while True:
        try:
            rows = transactions(db, tag)
        except (Neo4jError, DriverError, DatabaseError):
            return None  # SHOW TRANSACTIONS not permitted for this user: nothing to watch
        if not rows or time.monotonic() >= until:
            return rows[0] if rows else None
        time.sleep(0.25)


def short_status(status: str) -> str:
    """SHOW TRANSACTIONS' status, short: 'Terminated with reason: Status.Code[Neo.ClientError.
    Transaction.TransactionTimedOutClientConfiguration]' -> 'terminated: TransactionTimedOut...'."""
    m = re.match(r"Terminated with reason: .*?([A-Za-z]+)\]?$", str(status))
    return f"terminated: {m.group(1)}" if m else str(status).lower()


def _runaway(tx: dict, timeout_s: float, settings: Settings) -> QueryFailed:
    where = ("on the local server `attrib neo4j status` lists it and `attrib neo4j restart` ends it"
             if not settings.external else
             f"ask the server's administrator to run TERMINATE TRANSACTION '{tx['id']}' or restart it")
    return QueryFailed(f"the query passed its {timeout_s:g} s timeout but the server is still executing it "
                       f"(transaction {tx['id']}, {tx['seconds']} s, {short_status(tx['status'])}): "
                       "an expression it cannot stop midway, holding a CPU until it ends",
                       hint=f"{where}; {_NARROW}")


def run_query(db: GraphDB, text: str, params: dict | None = None, *, timeout_s: float | None = None,
              row_cap: int | None = None, connect: bool = False, settings: Settings | None = None) -> ConsoleResult:
    """Run a console query read-only: tokenizer, EXPLAIN and cost check, one READ transaction
    with a timeout and no retries, at most `row_cap` rows. A query the server has not ended by
    the timeout plus the grace period is reported as still running (the watchdog).
    `connect` adds the relationships among the result's nodes to `graph`."""
    s = settings or load_settings()
    timeout_s = s.query_timeout_s if timeout_s is None else timeout_s
    row_cap = s.row_cap if row_cap is None else row_cap
    params = dict(params or {})
    notices = check(db, text, params, settings=s)
    tag = secrets.token_hex(8)
    started = time.monotonic()
    deadline = started + timeout_s + s.query_grace_s

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

    outcome: dict[str, Any] = {}

    def worker():
        try:
            outcome["value"] = db.read_once(work, timeout_s, metadata={"attrib_console": tag})
        except Exception as exc:  # re-raised below, in the caller's thread
            outcome["error"] = exc

    # The query runs in a thread so the console answers by the deadline even when the server
    # does not (it sends nothing while it evaluates one expression); a thread left waiting ends
    # with its transaction.
    thread = threading.Thread(target=worker, name=f"console-{tag}", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if thread.is_alive():
        lingering = _still_running(db, tag, time.monotonic())
        if lingering:
            raise _runaway(lingering, timeout_s, s)
        raise QueryFailed(f"the server did not answer within {timeout_s + s.query_grace_s:g} s "
                          "(the timeout plus ATTRIB_QUERY_GRACE)", hint="check it with: attrib neo4j status")
    exc = outcome.get("error")
    if isinstance(exc, (Neo4jError, DriverError, DatabaseError)) and not isinstance(exc, Unavailable):
        cause = _cause(exc)
        code = getattr(cause, "code", "") or ""
        if "TransactionTimedOut" in code or "Terminated" in code:
            lingering = _still_running(db, tag, max(deadline, time.monotonic()))
            if lingering:
                raise _runaway(lingering, timeout_s, s)
        raise _failure(cause, timeout_s) from None
    if exc is not None:
        raise exc
    columns, raw, truncated = outcome["value"]
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
