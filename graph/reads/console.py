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

import bisect
import json
import logging
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
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
# The longest query text (and text parameter) the console reads: the checks run in one pass, but
# nothing needs more, and the server's parser would be left to cope with it.
MAX_TEXT_CHARS = 1_000_000

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
def tokenize(text: str, max_tokens: int | None = None) -> list[Token]:
    """Cypher tokens outside comments; raises QueryRefused on anything it cannot read safely, and
    on more than `max_tokens` tokens (as soon as it has read that many)."""
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if max_tokens is not None and len(out) > max_tokens:
            raise QueryRefused(f"refused: the query has more than {max_tokens:,} tokens (ATTRIB_QUERY_MAX_TOKENS); "
                               "split it, or pass long lists as $parameters")
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


def check_text(text: str, limits: "CostLimits | None" = None) -> list[Token]:
    """Layer 1: refuse what the query text says, before the server sees it (and, given limits,
    a query too big: check_size); returns its tokens."""
    if not text or not text.strip():
        raise QueryRefused("the query is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise QueryRefused(f"refused: the query is {len(text):,} characters long (the console reads at most "
                           f"{MAX_TEXT_CHARS:,}); pass long values as $parameters")
    tokens = tokenize(text, limits.max_tokens if limits else None)
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
    if limits is not None:
        check_size(tokens, limits)
    return tokens


_CLAUSES = {"MATCH", "WITH", "UNWIND", "RETURN", "CALL", "UNION", "ORDER", "SKIP", "OFFSET", "LIMIT", "FINISH",
            "FILTER", "LET"}


def check_size(tokens: list[Token], limits: "CostLimits") -> None:
    """Refuse a query too big for the server to parse and plan safely, in one pass: more tokens,
    deeper nesting or more clauses than the limits. Nesting counts brackets, CASE ... END and runs
    of prefix operators (NOT NOT ..., - - ...): the server's parser recurses on each, and dies of
    a StackOverflowError it never reports (a few hundred levels), leaving the client waiting."""
    if len(tokens) > limits.max_tokens:
        raise QueryRefused(f"refused: the query has more than {limits.max_tokens:,} tokens (ATTRIB_QUERY_MAX_TOKENS); "
                           "split it, or pass long lists as $parameters")
    depth = clauses = run = 0
    prev: Token | None = None
    for t in tokens:
        word = t.value.upper() if t.kind == "word" and not (
            prev is not None and prev.kind == "punct" and prev.value in ".:") else ""
        if t.kind == "punct" and t.value in "([{":
            depth += 1
        elif t.kind == "punct" and t.value in ")]}" or word == "END":
            depth -= 1
        elif word == "CASE":
            depth += 1
        run = run + 1 if word == "NOT" or (t.kind == "punct" and t.value in "+-") else 0
        if depth + run > limits.max_depth:
            raise QueryRefused(f"refused: the query nests more than {limits.max_depth} levels deep (brackets, CASE, "
                               f"NOT ...) at offset {t.pos} (ATTRIB_QUERY_MAX_DEPTH); flatten it")
        if word in _CLAUSES and not (word == "WITH" and prev is not None and prev.kind == "word"
                                     and prev.value.upper() in ("STARTS", "ENDS")):
            clauses += 1
            if clauses > limits.max_clauses:
                raise QueryRefused(f"refused: the query has more than {limits.max_clauses} clauses (MATCH, WITH, "
                                   "RETURN ...; ATTRIB_QUERY_MAX_CLAUSES); the server plans each one, split it")
        prev = t


def check_params(params: dict, limits: "CostLimits") -> None:
    """Refuse parameters the checks cannot reason about: numbers that are not finite or do not
    fit 64 bits, lists longer than ATTRIB_QUERY_MAX_RANGE (all items of all lists counted),
    text longer than the console reads. One pass over every value, nested ones too."""
    todo = [(f"${k}", v) for k, v in params.items()]
    items = 0
    while todo:
        name, value = todo.pop()
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise QueryRefused(f"refused: parameter {name} is {value} (not a finite number); give a number")
        if isinstance(value, int) and not -2**63 <= value < 2**63:
            raise QueryRefused(f"refused: parameter {name} does not fit a 64-bit integer; give a smaller number")
        if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
            raise QueryRefused(f"refused: parameter {name} is {len(value):,} characters long "
                               f"(at most {MAX_TEXT_CHARS:,})")
        if isinstance(value, dict):
            value = [(f"{name}.{k}", v) for k, v in value.items()]
        elif isinstance(value, (list, tuple)):
            value = [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        else:
            continue
        items += len(value)
        if items > limits.max_range:
            raise QueryRefused(f"refused: the parameters hold more than {limits.max_range:,} items "
                               "(ATTRIB_QUERY_MAX_RANGE)")
        todo.extend(value)


# -- layer 2: the server's plan -------------------------------------------------------------------
def _operators(plan: dict | None):
    """Every operator of the plan tree, depth first, without recursion (plans can be deep)."""
    todo = [plan] if plan else []
    while todo:
        op = todo.pop()
        yield op
        todo.extend(reversed(op.get("children") or []))


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
    max_tokens: int
    max_depth: int
    max_clauses: int

    @classmethod
    def of(cls, s: Settings) -> "CostLimits":
        return cls(s.query_max_range, s.query_max_hops, s.query_max_cartesian, s.query_max_nesting,
                   s.query_max_tokens, s.query_max_depth, s.query_max_clauses)


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


def _structural(tokens: list[Token]) -> list[Token]:
    """The tokens as the cost check reads them, whatever the spelling: a `name` called like a
    function is that function (`range`(...) is range(...)), and `||` concatenates like `+`."""
    out: list[Token] = []
    for i, t in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if t.kind == "name" and nxt is not None and nxt.kind == "punct" and nxt.value == "(":
            t = Token("word", t.value, t.pos)
        elif (t.kind == "punct" and t.value == "|" and out and out[-1].kind == "punct" and out[-1].value == "|"
              and out[-1].pos == t.pos - 1):
            out[-1] = Token("punct", "+", out[-1].pos)
            continue
        out.append(t)
    return out


def _unescape(raw: str) -> str:
    """A Cypher string literal's value from its text between the quotes."""
    simple = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
    out, i = [], 0
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt in simple:
                out.append(simple[nxt])
                i += 2
                continue
            if nxt in "uU" and re.fullmatch(r"[0-9A-Fa-f]{4}", raw[i + 2:i + 6]):
                out.append(chr(int(raw[i + 2:i + 6], 16)))
                i += 6
                continue
        out.append(c)
        i += 1
    return "".join(out)


_REGEX_MAX_UNBOUNDED = 3


def _class_end(p: str, i: int) -> int:
    """The index after the character class `[...]` opening at p[i] (nested classes, escapes)."""
    j, depth = i + 1, 1
    if p.startswith("^", j):
        j += 1
    if p.startswith("]", j):
        j += 1
    while j < len(p) and depth:
        if p[j] == "\\":
            j += 1
        elif p[j] == "[":
            depth += 1
        elif p[j] == "]":
            depth -= 1
        j += 1
    return j


def _quantifier(p: str, i: int) -> tuple[int | None, int] | None:
    """(most repetitions or None when unbounded, index after) of a quantifier at p[i], else None."""
    if p[i] in "*+":
        return None, i + 1
    if p[i] == "?":
        return 1, i + 1
    m = re.compile(r"\{(\d+)(,(\d*))?\}").match(p, i)
    if not m:
        return None
    most = int(m.group(1)) if not m.group(2) else (int(m.group(3)) if m.group(3) else None)
    return most, m.end()


def regex_risk(pattern: str) -> str | None:
    """Why matching the (Java) regular expression can backtrack catastrophically, or None. One
    pass: a group repeated more than once that holds a quantifier or an alternation ((.*a){12},
    (a+)+, (a|aa)*: exponential), a backreference, or more than three unbounded quantifiers
    (.*a.*a.*a.*a: a polynomial of that degree in the text's length)."""
    frames = [[False, False]]  # per open group: holds a quantifier, holds an alternation
    unbounded, i, n = 0, 0, len(pattern)
    while i < n:
        c, group = pattern[i], None
        if c == "(":
            frames.append([False, False])
            i += 1
            if pattern.startswith("?", i):  # (?:  (?=  (?<=  (?<name>  (?i)  (?>
                i += 1
                if pattern.startswith(("<=", "<!"), i):
                    i += 2
                elif pattern.startswith("<", i):
                    i = pattern.find(">", i) + 1 or n
                else:
                    while i < n and (pattern[i].isalpha() or pattern[i] == "-"):
                        i += 1
                    if i < n and pattern[i] in ":=!>":
                        i += 1
            continue
        if c == ")":
            if len(frames) > 1:
                group = frames.pop()
                frames[-1][0] = frames[-1][0] or group[0]
            i += 1
        elif c == "|":
            frames[-1][1] = True
            i += 1
            continue
        elif c == "\\":
            nxt = pattern[i + 1:i + 2]
            if (nxt.isdigit() and nxt != "0") or nxt == "k":
                return "it holds a backreference"
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
            else:
                i += 2
        elif c == "[":
            i = _class_end(pattern, i)
        else:
            i += 1
        q = _quantifier(pattern, i) if i < n else None
        if q is None:
            continue
        most, i = q
        if i < n and pattern[i] in "+?":  # lazy or possessive
            i += 1
        frames[-1][0] = True
        if most is not None and most <= 1:
            continue
        if group is not None and (group[0] or group[1]):
            return "a group holding a quantifier or an alternation is itself repeated (e.g. (.*a){12}, (a+)+)"
        unbounded += most is None
        if unbounded > _REGEX_MAX_UNBOUNDED:
            return f"it has more than {_REGEX_MAX_UNBOUNDED} unbounded quantifiers (*, +, {{n,}})"
    return None


class _Cost:
    """The text side of the cost check: the query's tokens, their brackets, its iterations, the
    sizes of the lists it binds. Every pass is linear in the tokens (times the nesting, which
    check_size bounds), without recursion deeper than that nesting."""

    def __init__(self, text: str, params: dict, limits: CostLimits, estimated_rows: int):
        tokens = tokenize(text)
        while tokens and tokens[-1].kind == "punct" and tokens[-1].value == ";":
            tokens.pop()
        check_size(tokens, limits)
        self.t, self.text, self.params, self.lim = _structural(tokens), text, params, limits
        self.est = max(1, estimated_rows)
        self.close = self._brackets()
        self.open = {c: o for o, c in self.close.items()}
        self.loops = self._loops()
        self.ranges = [i for i in range(len(self.t))
                       if self._word(i, "RANGE") and self._is(i + 1, "punct", "(") and (i + 1) in self.close]
        self.outer = self._outer()
        self.bound: dict[str, list[tuple[int, int | None]]] = {}  # name -> (from token, size), in order

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
                    value = float(raw)
                except ValueError:
                    return None
                return sign * value if math.isfinite(value) else None  # 1e400 is no bound to check
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
            if None not in sizes:
                return sum(sizes)
            # a list added to itself (l + l) grows: a list of unknown length counts as `est`
            names = [self.t[x].value for x, y in terms if y - x == 1 and self.t[x].kind in ("word", "name")]
            if len(names) > len(set(names)):
                return sum(self.est if z is None else z for z in sizes)
            return None
        while b - a >= 2 and self._is(a, "punct", "(") and self.close.get(a) == b - 1:
            a, b = a + 1, b - 1
        if b - a == 1 and self.t[a].kind == "string":
            return len(self.t[a].value)
        if b - a == 1 and self.t[a].kind in ("word", "name"):
            return self._bound_size(a)
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

    def _outer(self) -> dict[int, list[_Loop]]:
        """The loops whose per-item part encloses each loop's start and each range(), in one
        sweep (those parts nest like the brackets that hold them)."""
        wanted = set(self.loops) | set(self.ranges)
        starts = sorted(self.loops.values(), key=lambda lp: lp.src1)
        out, stack, k = {}, [], 0
        for i in range(len(self.t)):
            while k < len(starts) and starts[k].src1 <= i:
                stack.append(starts[k])
                k += 1
            while stack and stack[-1].end <= i:
                stack.pop()
            if i in wanted:
                out[i] = list(reversed(stack))
        return out

    def _enclosing(self, pos: int) -> list[_Loop]:
        return self.outer.get(pos, [])

    def _bound_size(self, i: int) -> int | None:
        """The size of the value the variable at tokens[i] was last bound to before i, if known."""
        bindings = self.bound.get(self.t[i].value, [])
        k = bisect.bisect_left(bindings, i, key=lambda b: b[0])
        return bindings[k - 1][1] if k else None

    def _item_start(self, i: int) -> int:
        """Where the projection item ending before tokens[i] (`... AS x`) starts: after the
        clause word, a comma or an opening bracket at its level."""
        j = i - 1
        while j >= 0:
            tok = self.t[j]
            if j in self.open:
                j = self.open[j] - 1
                continue
            if tok.kind == "punct" and tok.value in ",([{":
                return j + 1
            if tok.kind == "word" and tok.value.upper() in ("WITH", "RETURN", "DISTINCT", "UNWIND", "YIELD") \
                    and self._word(j, tok.value.upper()):
                return j + 1
            j -= 1
        return 0

    def _bind(self) -> None:
        """The size of what each `expr AS name` binds, in query order (UNWIND binds an item: its
        size is unknown): a list grown through a chain of WITH clauses (WITH l + l + l AS l ...)
        is as long as the chain makes it, and refused past ATTRIB_QUERY_MAX_RANGE."""
        for i in range(len(self.t) - 1):
            if not (self._word(i, "AS") and self.t[i + 1].kind in ("word", "name")):
                continue
            start = self._item_start(i)
            unwind = start > 0 and self._word(start - 1, "UNWIND")
            size = None if unwind or start >= i else self.size(start, i)
            if size is not None and size > self.lim.max_range:
                raise QueryRefused(f"refused: {self._source(start, i + 2)} makes a list or text of about {size:,} "
                                   f"items (limit {self.lim.max_range:,}: ATTRIB_QUERY_MAX_RANGE); the server "
                                   "cannot stop an expression midway")
            self.bound.setdefault(self.t[i + 1].value, []).append((i + 1, size))

    def _regexes(self) -> None:
        """Refuse `=~` whose pattern cannot be checked (neither a literal nor a $parameter) or
        can backtrack catastrophically (regex_risk): the server cannot stop a match midway."""
        for i in range(len(self.t) - 1):
            if not (self._is(i, "punct", "=") and self._is(i + 1, "punct", "~") and self.t[i + 1].pos == self.t[i].pos + 1):
                continue
            k = i + 2
            while self._is(k, "punct", "(") and self.close.get(k) == k + 2:
                k += 1
            tok = self.t[k] if k < len(self.t) else None
            if tok is not None and tok.kind == "string":
                pattern = _unescape(tok.value)
            elif tok is not None and tok.kind == "param" and isinstance(self.params.get(tok.value), str):
                pattern = self.params[tok.value]
            else:
                raise QueryRefused("refused: the pattern after =~ must be a string literal or a text $parameter, "
                                   "so the console can check it before the server runs it")
            risk = regex_risk(pattern)
            if risk:
                shown = pattern if len(pattern) <= 40 else pattern[:39] + "\u2026"
                raise QueryRefused(f"refused: the regular expression {shown!r} can take time exponential (or of a "
                                   f"high power) in the text's length: {risk}, and the server cannot stop a match "
                                   "midway; use CONTAINS / STARTS WITH, or a pattern without nested repetition")

    def _numeric(self, a: int, b: int) -> bool:
        if self._number(a, b) is not None:
            return True
        return (b - a >= 3 and self._is(a, "word") and self.t[a].value.upper() in _NUMERIC_FUNCTIONS
                and self._is(a + 1, "punct", "(") and self.close.get(a + 1) == b - 1)

    def _grows(self, loop: _Loop) -> bool:
        """A string or list accumulator that the body extends (`+`, replace(), [acc, ...])."""
        if loop.init and self._numeric(*loop.init):
            return False
        lists: list[bool] = []  # the `[` open at j inside the body: whether each is a list literal
        for j in range(loop.src1 + 1, loop.end):
            tok = self.t[j]
            if tok.kind == "punct" and tok.value == "+":  # `||` too (see _structural)
                return True
            if self._word(j, "REPLACE") and self._is(j + 1, "punct", "("):
                return True
            if tok.kind == "punct" and tok.value == "[" and j in self.close:
                lists.append(j not in self.loops)
            elif tok.kind == "punct" and tok.value == "]" and j in self.open and lists:
                lists.pop()
            elif tok.kind in ("word", "name") and tok.value == loop.acc and True in lists:
                return True
        return False

    # -- the check ----------------------------------------------------------------------------
    def check(self) -> None:
        lim = self.lim
        ranges = set(self.ranges)
        # A list collected from rows is at most as long as the rows: the plan's estimate, or the
        # longest list the query itself makes (the planner guesses 10 rows for UNWIND of a range).
        self.est = max([self.est] + [self._range_span(i) for i in ranges])
        self._regexes()
        self._bind()
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
            length = self._length(loop)
            if length is not None and length > lim.max_range:
                raise QueryRefused(f"refused: {what} iterates over a list of about {length:,} items (limit "
                                   f"{lim.max_range:,}: ATTRIB_QUERY_MAX_RANGE); the server cannot stop an "
                                   "expression midway")
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
    """How many disconnected pattern parts the plan joins with no condition between them
    (children before parents, without recursion)."""
    order = list(_operators(plan))
    parts: dict[int, int] = {}
    for op in reversed(order):
        below = [parts[id(c)] for c in op.get("children") or []]
        cartesian = str(op.get("operatorType", "")).split("@")[0] == "CartesianProduct"
        parts[id(op)] = sum(below) if cartesian else max(below, default=1)
    return parts[id(plan)]


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
# Every statement the console sends runs in a thread the caller waits for only until its deadline:
# the server sends nothing while it evaluates one expression, and nothing at all when its parser
# died (a StackOverflowError it cannot report). The console's own statements (EXPLAIN, the query,
# the result's graph) use the console's small connection pool (GraphDB.console), so connections
# left waiting never take the pages'; the watchdog's (SHOW / TERMINATE TRANSACTION) use the
# project's own connection.
def _in_time(call, seconds: float, name: str, threads: list | None = None) -> tuple[bool, Any]:
    """(finished, call()'s value) within `seconds`; call()'s exception is raised here. A thread
    left waiting ends with its statement (or with the server); `threads` collects it."""
    outcome: dict[str, Any] = {}

    def worker():
        try:
            outcome["value"] = call()
        except Exception as exc:  # re-raised below, in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=worker, name=name, daemon=True)
    thread.start()
    if threads is not None:
        threads.append(thread)
    thread.join(max(0.0, seconds))
    if thread.is_alive():
        return False, None
    if "error" in outcome:
        raise outcome["error"]
    return True, outcome["value"]


def _pool_exhausted(exc: Exception) -> bool:
    cause = _cause(exc)
    return "failed to obtain a connection from the pool" in (getattr(cause, "message", None) or str(cause))


def _busy(s: Settings) -> QueryFailed:
    return QueryFailed(f"all {s.console_pool} of the console's connections wait on statements the server has not "
                       "answered; the app's other pages are not affected",
                       hint=_RESTART_LOCAL if not s.external else _RESTART_EXTERNAL)


# How long the watchdog's own statements (SHOW / TERMINATE TRANSACTION) may take: a server
# busy with a runaway expression on a loaded machine answers them slowly, but answers.
WATCH_S = 10.0
_RESTART_LOCAL = "whoever runs the app (or this command) can end them with: attrib neo4j restart"
_RESTART_EXTERNAL = "ask the server's administrator to restart it"


def _statement(db: GraphDB, call, timeout_s: float, s: Settings, tag: str, what: str):
    """call() (one console statement tagged `tag`) by its deadline, the timeout plus the grace
    period; past it, _overdue. Driver errors come back as the console's one-line errors."""
    waiting: list[threading.Thread] = []
    try:
        done, value = _in_time(call, timeout_s + s.query_grace_s, f"console-{what}-{tag}", waiting)
    except (Neo4jError, DriverError, DatabaseError) as exc:
        if isinstance(exc, Unavailable):
            raise
        if _pool_exhausted(exc):
            raise _busy(s) from None
        cause = _cause(exc)
        code = getattr(cause, "code", "") or ""
        if "TransactionTimedOut" in code or "Terminated" in code:
            _overdue(db, tag, timeout_s, s, what, None)
        raise _failure(cause, timeout_s) from None
    if not done:
        _overdue(db, tag, timeout_s, s, what, waiting[0])
    return value


def _listed(db: GraphDB, tag: str, s: Settings) -> list[dict]:
    """The server's transactions for console statement `tag` (SHOW TRANSACTIONS on the project's
    connection, with a deadline); QueryFailed, offering the restart, when they cannot be read."""
    try:
        done, rows = _in_time(lambda: transactions(db, tag), WATCH_S, f"console-show-{tag}")
        why = "no answer"
    except (Neo4jError, DriverError, DatabaseError) as exc:
        done, why = False, _one_line(getattr(_cause(exc), "message", None) or str(exc), 120)
    if not done:
        raise QueryFailed(f"a console statement passed its timeout and the console could not check the server's "
                          f"transactions to end it ({why})",
                          hint=_RESTART_LOCAL if not s.external else _RESTART_EXTERNAL)
    return rows


def _overdue(db: GraphDB, tag: str, timeout_s: float, s: Settings, what: str,
             waiting: threading.Thread | None) -> None:
    """A console statement passed its deadline (`waiting`: the thread still waiting for its
    answer) or the server says it timed out (None): if the server still holds its transaction
    after the grace period, the project terminates it (by id, on its own connection, never the
    console user's) and says plainly if it still runs (the server cannot stop an expression
    midway, only a restart ends that) or if its connection is still waiting for an answer.
    Returns when the server answered and nothing is left."""
    answered = waiting is None
    until = time.monotonic() + (s.query_grace_s if answered else 0)
    rows = _listed(db, tag, s)
    while rows and time.monotonic() < until:
        time.sleep(0.25)
        rows = _listed(db, tag, s)
    if not rows:
        if answered:
            return
        raise QueryFailed(f"the server did not answer the {what} within {timeout_s + s.query_grace_s:g} s (the "
                          "timeout plus ATTRIB_QUERY_GRACE) and holds no transaction for it to terminate; its "
                          "connection stays taken in the console's pool",
                          hint=(_RESTART_LOCAL if not s.external else _RESTART_EXTERNAL) + "; " + _NARROW)
    tx = rows[0]
    try:
        _in_time(lambda: db.read(cypher.TERMINATE_TRANSACTION, {"id": tx["id"]}), WATCH_S,
                 f"console-terminate-{tag}")
    except (Neo4jError, DriverError, DatabaseError) as exc:
        raise _runaway(tx, timeout_s, s, what, f"the console could not terminate it: {_one_line(str(exc), 120)}") from None
    until = time.monotonic() + s.query_grace_s
    while rows and time.monotonic() < until:
        time.sleep(0.25)
        rows = _listed(db, tag, s)
    if rows:
        raise _runaway(rows[0], timeout_s, s, what, "the console terminated it, the server did not stop")
    if waiting is not None:
        waiting.join(s.query_grace_s)
    if waiting is not None and waiting.is_alive():
        raise QueryFailed(f"the {what} passed its {timeout_s:g} s timeout; the console terminated its transaction "
                          f"({tx['id']}) but the server never answered, so its connection stays taken in the "
                          "console's pool", hint=(_RESTART_LOCAL if not s.external else _RESTART_EXTERNAL) + "; " + _NARROW)
    raise QueryFailed(f"the {what} passed its {timeout_s:g} s timeout; the console terminated its transaction "
                      f"({tx['id']})", hint=_NARROW + "; or raise ATTRIB_QUERY_TIMEOUT")


def check(db: GraphDB, text: str, params: dict | None = None, settings: Settings | None = None) -> list[str]:
    """Layers 1 and 2 (with the cost check) without running the query; returns the server's notices."""
    s = settings or load_settings()
    limits = CostLimits.of(s)
    params = params or {}
    check_text(text, limits)
    check_params(params, limits)
    tag = secrets.token_hex(8)
    console = db.console()
    summary = _statement(db, lambda: console.explain(text, params, timeout=s.query_timeout_s,
                                                     metadata={"attrib_console": tag}),
                         s.query_timeout_s, s, tag, "EXPLAIN")
    notices = check_plan(summary)
    check_cost(text, params, summary, limits)
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


def short_status(status: str) -> str:
    """SHOW TRANSACTIONS' status, short: 'Terminated with reason: Status.Code[Neo.ClientError.
    Transaction.TransactionTimedOutClientConfiguration]' -> 'terminated: TransactionTimedOut...'."""
    m = re.match(r"Terminated with reason: .*?([A-Za-z]+)\]?$", str(status))
    return f"terminated: {m.group(1)}" if m else str(status).lower()


def _runaway(tx: dict, timeout_s: float, settings: Settings, what: str, why: str) -> QueryFailed:
    where = ("`attrib neo4j status` lists it and " + _RESTART_LOCAL if not settings.external else
             f"ask the server's administrator to restart it (transaction {tx['id']})")
    cause = ("the server cannot stop it midway (one expression evaluated at length, or a parser that failed "
             "without answering): it holds the transaction, and maybe a CPU, until a restart")
    return QueryFailed(f"the {what} passed its {timeout_s:g} s timeout but the server is still executing it "
                       f"(transaction {tx['id']}, {tx['seconds']} s, {short_status(tx['status'])}; {why}): {cause}",
                       hint=f"{where}; {_NARROW}")


def run_query(db: GraphDB, text: str, params: dict | None = None, *, timeout_s: float | None = None,
              row_cap: int | None = None, connect: bool = False, settings: Settings | None = None) -> ConsoleResult:
    """Run a console query read-only: tokenizer, EXPLAIN and cost check, one READ transaction
    with a timeout and no retries, at most `row_cap` rows, on the console's own connection pool.
    A query the server has not ended by the timeout plus the grace period is terminated (see
    _overdue). `connect` adds the relationships among the result's nodes to `graph`."""
    s = settings or load_settings()
    timeout_s = s.query_timeout_s if timeout_s is None else timeout_s
    row_cap = s.row_cap if row_cap is None else row_cap
    params = dict(params or {})
    notices = check(db, text, params, settings=replace(s, query_timeout_s=timeout_s))
    tag = secrets.token_hex(8)
    started = time.monotonic()
    console = db.console()

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

    columns, raw, truncated = _statement(
        db, lambda: console.read_once(work, timeout_s, metadata={"attrib_console": tag}), timeout_s, s, tag, "query")
    elapsed = int((time.monotonic() - started) * 1000)
    if truncated:
        notices.insert(0, f"showing the first {row_cap} rows: the result was cut at the row cap "
                          f"(ATTRIB_ROW_CAP={row_cap}); add LIMIT or narrow the query")
    graph = Subgraph()
    try:
        done, drawn = _in_time(lambda: result_subgraph(console, raw, connect=connect), timeout_s, f"console-graph-{tag}")
        if done:
            graph = drawn
        else:
            notices.append(f"the result's graph could not be drawn within {timeout_s:g} s")
    except (Neo4jError, DriverError, DatabaseError) as exc:
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
