"""What every loader shares: reading (gzipped) files, parsing with located errors, field checks."""
from __future__ import annotations

import calendar
import gzip
import io
import json
import sqlite3
import tempfile
import re
import zlib
from datetime import date
from pathlib import Path
from typing import IO, Any

import yaml

from graph.errors import ValidationError

DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def base_suffix(path: Path) -> str:
    """'.yaml' for x.yaml and x.yaml.gz."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
        if path.suffix.lower() == ".gz" or raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise ValidationError(path, "file not found") from exc
    except (OSError, EOFError, zlib.error) as exc:
        raise ValidationError(path, f"cannot read the file ({exc})",
                              hint="is the gzip file complete?") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(path, f"not UTF-8 text (byte {exc.start})",
                              hint="save the file as UTF-8") from exc


def open_text(path: Path) -> IO[str]:
    """A text stream over a (possibly gzipped) file, for loaders that stream records."""
    try:
        with open(path, "rb") as probe:
            gzipped = probe.read(2) == b"\x1f\x8b"
        if gzipped:
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
        return open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError as exc:
        raise ValidationError(path, "file not found") from exc
    except OSError as exc:
        raise ValidationError(path, f"cannot read the file ({exc})") from exc


class SeenKeys:
    """Keys already defined in one file; `add` returns the record that first used the key,
    or None if it is new. On disk for streamed files, so millions of records do not hold
    their keys in memory."""

    def __init__(self, on_disk: bool = False):
        self._dir = tempfile.TemporaryDirectory(prefix="attrib-keys-") if on_disk else None
        self._db = sqlite3.connect(Path(self._dir.name) / "keys.sqlite" if self._dir else ":memory:")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (kind TEXT, key TEXT, record TEXT, PRIMARY KEY (kind, key))")

    def add(self, kind: str, key: str, record: str) -> str | None:
        try:
            self._db.execute("INSERT INTO seen VALUES (?, ?, ?)", (kind, key, record))
            return None
        except sqlite3.IntegrityError:
            return self._db.execute("SELECT record FROM seen WHERE kind = ? AND key = ?",
                                    (kind, key)).fetchone()[0]

    def close(self) -> None:
        self._db.close()
        if self._dir:
            self._dir.cleanup()


def parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                              hint="is the file complete (not truncated)?") from exc


def parse_json_line(path: Path, number: int, line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValidationError(path, f"invalid JSON at column {exc.colno}: {exc.msg}",
                              record=f"line {number}") from exc


def parse_yaml(path: Path, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationError(path, f"invalid YAML{where}: {problem}") from exc


def normalise_date(value: Any, end: bool = False) -> str | None:
    """'2020', '2020-11', '2020-11-27', a date, or an ISO timestamp -> 'YYYY-MM-DD'; None if not a date.

    A partial date means its first day, or with `end` its last day (for last_seen).
    """
    if isinstance(value, date):
        return value.isoformat()[:10]
    if not isinstance(value, (str, int)):
        return None
    m = DATE.match(str(value).strip())
    if not m:
        return None
    year = int(m.group(1))
    month = int(m.group(2) or (12 if end else 1))
    day = int(m.group(3)) if m.group(3) else (calendar.monthrange(year, month)[1] if end and 1 <= month <= 12 else 1)
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


class Fields:
    """Typed access to one record's fields; every failure names file, record and field."""

    def __init__(self, file: Path | str, record: str, data: Any, allowed: tuple[str, ...] | None = None):
        self.file, self.record = str(file), record
        if not isinstance(data, dict):
            raise ValidationError(self.file, f"expected a mapping of fields, got {type(data).__name__}",
                                  record=record)
        self.data = data
        if allowed is not None:
            unknown = sorted(set(data) - set(allowed))
            if unknown:
                raise self.error(unknown[0], f"unknown field; expected one of: {', '.join(allowed)}")

    def error(self, field: str, message: str, hint: str | None = None) -> ValidationError:
        return ValidationError(self.file, message, record=self.record, field=field, hint=hint)

    def _get(self, field: str, required: bool) -> Any:
        value = self.data.get(field)
        if value is None or value == "":
            if required:
                raise self.error(field, "missing (required)")
            return None
        return value

    def str(self, field: str, required: bool = False) -> str | None:
        value = self._get(field, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.error(field, f"expected text, got {type(value).__name__}")
        return str(value).strip()

    def choice(self, field: str, choices: tuple[str, ...], required: bool = False) -> str | None:
        value = self.str(field, required)
        if value is None:
            return None
        if value.lower() not in choices:
            raise self.error(field, f"'{value}' is not one of: {', '.join(choices)}")
        return value.lower()

    def int_range(self, field: str, lo: int, hi: int, required: bool = False) -> int | None:
        value = self._get(field, required)
        if value is None:
            return None
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(field, f"expected a whole number from {lo} to {hi}, got {value!r}")
        if not lo <= value <= hi:
            raise self.error(field, f"{value} is outside {lo}-{hi}")
        return value

    def date(self, field: str, required: bool = False, end: bool = False) -> str | None:
        value = self._get(field, required)
        if value is None:
            return None
        normalised = normalise_date(value, end)
        if normalised is None:
            raise self.error(field, f"expected a date (YYYY, YYYY-MM or YYYY-MM-DD), got {value!r}")
        return normalised

    def list(self, field: str, required: bool = False, sep: str | None = None) -> list:
        value = self._get(field, required)
        if value is None:
            return []
        if isinstance(value, str) and sep:
            return [part.strip() for part in value.split(sep) if part.strip()]
        if isinstance(value, (str, int, float, dict)):
            return [value]
        if not isinstance(value, list):
            raise self.error(field, f"expected a list, got {type(value).__name__}")
        return value

    def mapping(self, field: str) -> dict:
        value = self._get(field, False)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(field, f"expected a mapping, got {type(value).__name__}")
        return value
