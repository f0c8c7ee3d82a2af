"""What every loader shares: reading (gzipped) files, parsing with located errors, field checks."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import stat
import zlib
from pathlib import Path
from typing import IO, Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from graph.dates import DATE, normalise_date  # noqa: F401 (the loaders import it from here)
from graph.errors import ValidationError


# Input limits: a file past one is refused whole, before anything is parsed or written.
# A YAML/JSON document is parsed in memory (about ten times its size): ATT&CK Enterprise is
# 26 MB; bigger data belongs in CSV or JSON Lines, which stream.
MAX_DOCUMENT_BYTES = 256 * 2**20
# Records nest a few levels (ATT&CK: 4); deeper is not data this tool reads.
MAX_DEPTH = 64
# YAML aliases may repeat a part of a document; past this many extra values it is a
# "billion laughs" expansion (or a cycle), not a record file.
MAX_ALIAS_VALUES = 100_000
# One JSON Lines record or one physical CSV line (streamed files have no total limit).
MAX_LINE_CHARS = 16 * 2**20
# Text compresses 3-20 times; past this ratio (after the first MB) a .gz is a bomb.
MAX_GZIP_RATIO = 200
GZIP_RATIO_AFTER = 2**20
READ_ERRORS = (OSError, EOFError, zlib.error)  # gzip.BadGzipFile is an OSError


def base_suffix(path: Path) -> str:
    """'.yaml' for x.yaml and x.yaml.gz."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


class _GzipGuard(io.RawIOBase):
    """A gzip stream that stops with a ValidationError once the output outgrows the input
    `MAX_GZIP_RATIO` times (a gzip bomb), before it fills memory or disk."""

    def __init__(self, path: Path, raw: IO[bytes]):
        self.path, self.raw = path, raw
        self.gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self.out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.gz.readinto(buffer)
        self.out += n
        if self.out > GZIP_RATIO_AFTER and self.out > MAX_GZIP_RATIO * max(self.raw.tell(), 1):
            raise ValidationError(self.path, f"decompresses to more than {MAX_GZIP_RATIO} times its "
                                  f"size (a gzip bomb?); reading stopped at {self.out // 2**20} MB")
        return n

    def close(self) -> None:
        self.gz.close()
        self.raw.close()
        super().close()


_SPECIAL = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def check_regular(path: Path, mode: int, shown: str | Path | None = None) -> None:
    """Refuse anything but a regular file (a link is judged by what it points at): a device or
    a pipe never ends, or blocks."""
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _SPECIAL if test(mode)), "not a regular file")
        raise ValidationError(shown or path, f"is {kind}, not a regular file", hint="give the file itself")


def open_regular(path: Path, shown: str | Path | None = None) -> IO[bytes]:
    """A regular file opened for reading; opening never blocks (a FIFO is refused, not waited on)."""
    shown = shown or path
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise ValidationError(shown, "file not found (was it moved or deleted?)") from exc
    except OSError as exc:
        raise ValidationError(shown, f"cannot read the file ({exc.strerror or exc})") from exc
    try:
        check_regular(path, os.fstat(fd).st_mode, shown)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _open_bytes(path: Path) -> IO[bytes]:
    """A binary stream over a file, decompressed (and bomb-guarded) if it is gzip."""
    raw = open_regular(path)
    try:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
    except READ_ERRORS as exc:
        raw.close()
        raise ValidationError(path, f"cannot read the file ({exc})") from exc
    return io.BufferedReader(_GzipGuard(path, raw), 2**16) if gzipped else raw


def _read_failed(path: Path, exc: Exception) -> ValidationError:
    if isinstance(exc, UnicodeDecodeError):
        utf16 = exc.object[:2] in (b"\xff\xfe", b"\xfe\xff")
        return ValidationError(path, f"not UTF-8 text ({'UTF-16' if utf16 else 'invalid byte'} "
                               f"at byte {exc.start})", hint="save the file as UTF-8")
    if isinstance(exc, FileNotFoundError):
        return ValidationError(path, "the file vanished while it was read")
    return ValidationError(path, f"cannot read the file ({exc})",
                           hint="is the file complete and readable (a gzip file not truncated)?")


def _refuse_nul(path: Path, text: str, record: str | None = None) -> None:
    at = text.find("\x00")
    if at >= 0:
        raise ValidationError(path, f"holds a NUL byte (character {at}{' of the line' if record else ''}): "
                              "a binary file, or text in another encoding", record=record,
                              hint="save the file as UTF-8 text")


def file_digest(path: Path) -> str:
    """The first 20 hex digits of the SHA-256 of a file's bytes (a .gz file's compressed bytes):
    which ATT&CK bundle the graph's techniques came from, and the technique model built from it."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:20]


def read_text(path: Path) -> str:
    """A whole (possibly gzipped) UTF-8 file, at most MAX_DOCUMENT_BYTES once decompressed."""
    stream = _open_bytes(path)
    try:
        with stream:
            raw = stream.read(MAX_DOCUMENT_BYTES + 1)
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise ValidationError(path, f"larger than {MAX_DOCUMENT_BYTES // 2**20} MB (decompressed)",
                                  hint="split it, or write the records as CSV or JSON Lines, which stream")
        text = raw.decode("utf-8-sig")
    except (*READ_ERRORS, UnicodeDecodeError) as exc:
        raise _read_failed(path, exc) from exc
    _refuse_nul(path, text)
    return text


def open_text(path: Path) -> IO[str]:
    """A text stream over a (possibly gzipped) file, for loaders that stream records; read it
    through `lines`, which turns every failure on the way into a ValidationError."""
    return io.TextIOWrapper(_open_bytes(path), encoding="utf-8-sig", newline="")


def lines(path: Path, stream: IO[str]) -> Iterator[str]:
    """The lines of a stream from `open_text`, each at most MAX_LINE_CHARS long and without
    NUL; a bad byte, a truncated gzip or a file that vanishes or fails mid-read is refused."""
    number = 0
    while True:
        try:
            line = stream.readline(MAX_LINE_CHARS + 1)
        except (*READ_ERRORS, UnicodeDecodeError) as exc:
            raise _read_failed(path, exc) from exc
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise ValidationError(path, f"a line longer than {MAX_LINE_CHARS // 2**20} M characters",
                                  record=f"line {number}", hint="one record per line")
        _refuse_nul(path, line, record=f"line {number}")
        yield line


def walk_files(root: Path) -> Iterator[Path]:
    """Every file under a directory but hidden ones (names starting with "."), following
    symbolic links; a link back to a directory being walked (a loop) is refused, as is a
    directory that cannot be read."""
    def failed(exc: OSError) -> None:
        raise ValidationError(exc.filename or root, f"cannot read the directory ({exc.strerror or exc})")

    ancestors: dict[str, frozenset] = {}  # directory -> (device, inode) of it and those above it
    for directory, subdirs, files in os.walk(root, followlinks=True, onerror=failed):
        here = Path(directory)
        try:
            st = here.stat()
        except OSError as exc:
            failed(exc)
        above = ancestors.get(os.path.dirname(directory), frozenset()) if directory != str(root) else frozenset()
        if (st.st_dev, st.st_ino) in above:
            raise ValidationError(here, "directory loop: this link points back to a directory above it",
                                  hint="remove the link, or give the directories one by one")
        ancestors[directory] = above | {(st.st_dev, st.st_ino)}
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield here / name


def check_shape(path: Path, data: Any, record: str | None = None) -> Any:
    """`data` as parsed, if it nests at most MAX_DEPTH levels and its YAML aliases (shared
    parts) add at most MAX_ALIAS_VALUES values when expanded; a cycle is refused too."""
    done: dict[int, tuple[int, int]] = {}  # id of a list/dict -> (depth, values when expanded)
    active: set[int] = set()
    distinct = 0
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        node, finished = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        key = id(node)
        children = [c for c in (node.values() if isinstance(node, dict) else node)
                    if isinstance(c, (dict, list))]
        if finished:
            depth = 1 + max((done[id(c)][0] for c in children), default=0)
            if depth > MAX_DEPTH:
                raise ValidationError(path, f"nested more than {MAX_DEPTH} levels deep", record=record)
            done[key] = (depth, len(node) + sum(done[id(c)][1] for c in children))
            active.discard(key)
            distinct += len(node)
        elif key in active:
            raise ValidationError(path, "a YAML alias refers to itself (a cycle)", record=record)
        elif key not in done:
            active.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in done)
    if isinstance(data, (dict, list)) and done[id(data)][1] - distinct > MAX_ALIAS_VALUES:
        raise ValidationError(path, f"YAML aliases expand the document by more than {MAX_ALIAS_VALUES:,} "
                              "values", record=record, hint="write the repeated parts out, or split the file")
    return data


def parse_json(path: Path, text: str) -> Any:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                              hint="is the file complete (not truncated)?") from exc
    except RecursionError as exc:  # the C parser's own guard, thousands of levels in
        raise ValidationError(path, f"nested more than {MAX_DEPTH} levels deep") from exc
    return check_shape(path, data)


def parse_json_line(path: Path, number: int, line: str) -> Any:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValidationError(path, f"invalid JSON at column {exc.colno}: {exc.msg}",
                              record=f"line {number}") from exc
    except RecursionError as exc:
        raise ValidationError(path, f"nested more than {MAX_DEPTH} levels deep", record=f"line {number}") from exc
    return check_shape(path, data, record=f"line {number}")


def parse_yaml(path: Path, text: str) -> Any:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context, opened = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if opened and context and context.startswith("while scanning"):
            # an unclosed quote: the scanner notices at the end of the stream; the line to fix is
            # where the quote opened
            problem = f"{context} that starts here, {problem} (line {mark.line + 1})" if mark else context
            mark = opened
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValidationError(path, f"invalid YAML{where}: {problem}",
                              line=mark.line + 1 if mark else None) from exc
    except RecursionError as exc:  # PyYAML composes nested nodes recursively
        raise ValidationError(path, f"nested more than {MAX_DEPTH} levels deep") from exc
    return check_shape(path, data)


def split_list(text: str, sep: str) -> list[str]:
    """A list written as one text (a CSV cell): its items, stripped, empty ones left out.
    The same rule over a whole column: `split_column`."""
    return [part.strip() for part in text.split(sep) if part.strip()]


def split_column(cells: list[str | None], sep: str) -> tuple[list[int], list[str]]:
    """`split_list` applied to every cell of a column at once: (the cell of each item, the
    items). Split by pyarrow; each distinct item is stripped once, in Python, as one cell's."""
    parts = pc.split_pattern(pa.array(cells, pa.string()), sep)
    flat = parts.flatten()
    distinct = pc.unique(flat)
    stripped = [part.strip() for part in distinct.to_pylist()]
    items = pa.array(stripped, pa.string()).take(pc.index_in(flat, distinct))
    parents = pc.list_parent_indices(parts)
    keep = pc.not_equal(items, "")
    return pc.filter(parents, keep).to_pylist(), pc.filter(items, keep).to_pylist()


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
        value = self.data.get(field)
        if type(value) is str and value:  # the common case, as below
            return value.strip()
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
            return split_list(value, sep)
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
