"""Input formats -> typed rows. One module per format; none of them touches the database.

`parse_file` reads one file, recognises its format and returns one `Batch` (or raises a
`ValidationError` naming the file, record and field). `expand_paths` turns the files and
directories a user gives into the files to load, in a stable order.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

from graph.errors import ValidationError
from graph.model import Batch

# The format modules (and pyarrow, PyYAML behind them) load on first use, not with the package: the
# CLI imports loaders.download to build its parser and must answer --help quickly.

SUPPORTED_SUFFIXES = (".yaml", ".yml", ".json", ".csv", ".jsonl")
STREAMED_SUFFIXES = (".csv", ".jsonl")


def document_formats() -> list[tuple[str, Callable[[Any], bool], Callable[[Path, Any], Batch]]]:
    """(name, recognises a parsed JSON/YAML document, turns it into a Batch); first match wins."""
    from loaders import misp, records, stix

    return [
        ("incident records", records.is_record_document, records.records_from_document),
        ("STIX 2.0/2.1 bundle", stix.is_stix_bundle, stix.bundle_from_document),
        ("MISP galaxy clusters", misp.is_galaxy, misp.galaxy_from_document),
        ("MISP event", misp.is_event, misp.events_from_document),
    ]


def expand_paths(paths: list[str | Path]) -> list[Path]:
    from loaders.common import base_suffix, check_regular, walk_files

    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in walk_files(path) if base_suffix(p) in SUPPORTED_SUFFIXES)
            if not found:
                raise ValidationError(path, "directory holds no .yaml, .yml, .json, .jsonl or .csv file")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise ValidationError(path, "no such file or directory")
    for path in files:
        try:
            check_regular(path, path.stat().st_mode)
        except OSError as exc:
            raise ValidationError(path, f"cannot read the file ({exc.strerror or exc})") from exc
    return files


def is_streamed(path: Path) -> bool:
    from loaders.common import base_suffix

    return base_suffix(path) in STREAMED_SUFFIXES


def iter_batches(path: Path) -> Iterator[Batch]:
    """A file as a sequence of Batches: chunks for streamed formats, else one whole Batch."""
    from loaders import records

    if is_streamed(path):
        return records.iter_record_batches(path)
    return iter([parse_file(path)])


def parse_file(path: Path) -> Batch:
    from loaders import records
    from loaders.common import base_suffix, parse_json, parse_yaml, read_text

    suffix = base_suffix(path)
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValidationError(path, f"unsupported file type '{suffix or path.name}'",
                              hint="use .yaml, .yml, .json, .jsonl or .csv, optionally gzipped (.gz)")
    if suffix in STREAMED_SUFFIXES:
        return records.records_from_stream(path)
    text = read_text(path)
    data = parse_json(path, text) if suffix == ".json" else parse_yaml(path, text)
    formats = document_formats()
    for _name, recognises, parse in formats:
        if recognises(data):
            return parse(path, data)
    if isinstance(data, dict) and set(data) & set(records.KINDS):
        return records.records_from_document(path, data)  # a record file with a stray key: say which
    raise ValidationError(path, "not a format this tool reads",
                          hint="expected one of: " + ", ".join(name for name, _, _ in formats))
