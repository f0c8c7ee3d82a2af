"""Saved, parameterised Cypher queries: `queries/*.cypher` (name = file stem).

Header format (the file's leading `//` comment lines):

    // title: Claims about an incident
    // description: Every claim about one incident: which source names which actor,
    //   with what stance, confidence and date.
    // param: incident string = "seed:astrazeneca-2020" -- incident key or part of its name
    // param: limit int = 100 -- at most this many rows

- `title:` and `description:` are required; a line indented by two or more spaces after `//`
  continues the previous field.
- `param: NAME TYPE [= DEFAULT] [-- help]`, once per parameter; TYPE is string, int, float,
  bool, date (YYYY, YYYY-MM or YYYY-MM-DD, passed as text) or list (comma-separated strings);
  DEFAULT is a JSON literal (`"text"`, `5`, `true`, `null`); without a default the parameter
  is required.
- Every `$name` in the body must be declared and every declared parameter used.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.errors import AttribError, NotFound, ValidationError
from graph.settings import QUERIES_DIR

TYPES = ("string", "int", "float", "bool", "date", "list")
_PARAM = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s+(?P<type>[a-z]+)\s*(?:=\s*(?P<default>.+?))?\s*(?:--\s*(?P<help>.*))?$")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_USED = re.compile(r"\$(?:`([^`]+)`|([A-Za-z_]\w*))")
_MISSING = object()


@dataclass
class Param:
    name: str
    type: str
    default: Any = _MISSING
    help: str = ""

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    def describe(self) -> str:
        d = "required" if self.required else f"default {json.dumps(self.default)}"
        return f"{self.name} ({self.type}, {d})" + (f": {self.help}" if self.help else "")


@dataclass
class SavedQuery:
    name: str
    title: str
    description: str
    params: list[Param]
    cypher: str                     # the whole file text (comments are valid Cypher)
    path: Path | None = None
    extra: dict = field(default_factory=dict)

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def bind(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """Parameters for a run: given values (text is converted to the declared type) over
        defaults; unknown or missing parameters raise ValidationError."""
        given = dict(given or {})
        where = str(self.path or self.name)
        unknown = sorted(set(given) - {p.name for p in self.params})
        if unknown:
            known = ", ".join(p.name for p in self.params) or "none"
            raise ValidationError(where, f"unknown parameter(s) {', '.join(unknown)} for query '{self.name}'",
                                  hint=f"its parameters: {known}")
        out = {}
        for p in self.params:
            if p.name in given:
                out[p.name] = convert(given[p.name], p.type, where, p.name)
            elif p.required:
                raise ValidationError(where, f"query '{self.name}' needs parameter {p.name} ({p.type})",
                                      hint=f"pass --param {p.name}=VALUE")
            else:
                out[p.name] = p.default
        return out


def convert(value: Any, type_: str, where: str = "query", name: str = "?") -> Any:
    """A parameter value (usually text from the command line) as the declared type."""
    if value is None:
        return None
    text = value if isinstance(value, str) else None
    try:
        if type_ == "string":
            return str(value)
        if type_ == "int":
            if isinstance(value, bool):
                raise ValueError
            return int(text.strip()) if text is not None else int(value)
        if type_ == "float":
            return float(text.strip()) if text is not None else float(value)
        if type_ == "bool":
            if isinstance(value, bool):
                return value
            low = str(value).strip().lower()
            if low in ("true", "yes", "1", "on"):
                return True
            if low in ("false", "no", "0", "off"):
                return False
            raise ValueError
        if type_ == "date":
            s = str(value).strip()
            if not _DATE.match(s):
                raise ValueError
            return s
        if type_ == "list":
            if isinstance(value, list):
                return [str(v) for v in value]
            return [v.strip() for v in str(value).split(",") if v.strip()]
    except (ValueError, TypeError):
        pass
    else:
        raise ValidationError(where, f"unknown parameter type {type_!r}", field=name)
    examples = {"int": "42", "float": "0.5", "bool": "true", "date": "2020-11-27", "list": "a,b"}
    raise ValidationError(where, f"parameter {name}={value!r} is not a {type_}",
                          hint=f"e.g. --param {name}={examples.get(type_, 'text')}")


def infer(value: str) -> Any:
    """A value for a query without a header: int, float, true/false, null, else text."""
    low = value.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def parse(text: str, name: str, path: Path | None = None, require_header: bool = True) -> SavedQuery:
    where = str(path or name)
    fields: dict[str, str] = {}
    params: list[Param] = []
    last: str | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            if fields or params:
                break
            continue
        if not stripped.startswith("//"):
            break
        body = stripped[2:]
        if body.startswith("  ") and last is not None and body.strip():
            if last == "param":
                params[-1].help = (params[-1].help + " " + body.strip()).strip()
            else:
                fields[last] += " " + body.strip()
            continue
        body = body.strip()
        if not body:
            continue
        key, sep, value = body.partition(":")
        key = key.strip().lower()
        if not sep or key not in ("title", "description", "param"):
            if not fields and not params:
                break  # an ordinary comment, not a header
            raise ValidationError(where, f"line {lineno}: expected 'title:', 'description:' or 'param:' "
                                         f"in the header, got {body[:40]!r}")
        value = value.strip()
        if key == "param":
            m = _PARAM.match(value)
            if not m:
                raise ValidationError(where, f"line {lineno}: cannot read parameter {value!r}",
                                      hint="write: param: NAME TYPE [= DEFAULT] [-- help]")
            if m["type"] not in TYPES:
                raise ValidationError(where, f"line {lineno}: parameter {m['name']} has unknown type "
                                             f"{m['type']!r}", hint=f"use one of {', '.join(TYPES)}")
            if any(p.name == m["name"] for p in params):
                raise ValidationError(where, f"line {lineno}: parameter {m['name']} is declared twice")
            default: Any = _MISSING
            if m["default"] is not None:
                try:
                    default = json.loads(m["default"])
                except json.JSONDecodeError:
                    raise ValidationError(where, f"line {lineno}: default of {m['name']} is not a JSON literal: "
                                                 f"{m['default']!r}", hint='quote text: = "text"') from None
                if default is not None:
                    default = convert(default, m["type"], where, m["name"])
            params.append(Param(m["name"], m["type"], default, (m["help"] or "").strip()))
        else:
            if key in fields:
                raise ValidationError(where, f"line {lineno}: '{key}:' appears twice in the header")
            fields[key] = value
        last = key
    if require_header:
        for key in ("title", "description"):
            if not fields.get(key):
                raise ValidationError(where, f"the header has no '{key}:' line",
                                      hint="start the file with // title: ..., // description: ..., // param: ...")
    used = _used_params(text)
    declared = {p.name for p in params}
    if require_header or params:
        missing = sorted(used - declared)
        if missing:
            raise ValidationError(where, f"the query uses undeclared parameter(s) {', '.join('$' + m for m in missing)}",
                                  hint="declare them: // param: NAME TYPE = DEFAULT -- help")
        unused = sorted(declared - used)
        if unused:
            raise ValidationError(where, f"declared parameter(s) {', '.join(unused)} are never used in the query")
    return SavedQuery(name, fields.get("title", name), fields.get("description", ""), params, text, path)


def _used_params(text: str) -> set[str]:
    """`$names` in the query, ignoring comments and string literals."""
    from graph.reads.console import tokenize

    try:
        return {t.value for t in tokenize(text) if t.kind == "param"}
    except AttribError:  # an unreadable query is reported when it runs
        return {a or b for a, b in _USED.findall(text)}


def load(path: Path) -> SavedQuery:
    return parse(path.read_text(encoding="utf-8"), path.stem, path)


def list_queries(directory: Path = QUERIES_DIR) -> list[SavedQuery]:
    return [load(p) for p in sorted(Path(directory).glob("*.cypher"))]


def get(name: str, directory: Path = QUERIES_DIR) -> SavedQuery:
    path = Path(directory) / f"{name}.cypher"
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", name or "") or not path.is_file():
        names = ", ".join(p.stem for p in sorted(Path(directory).glob("*.cypher")))
        raise NotFound(f"no saved query named '{name}'", hint=f"saved queries: {names}")
    return load(path)
