"""Loading files into the graph: parse every file in full, then write each one atomically."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from graph.db import GraphDB
from graph.errors import ValidationError
from graph.writer import Progress, WriteResult, write_batch
from loaders import expand_paths, parse_file


@dataclass
class LoadReport:
    written: list[WriteResult] = field(default_factory=list)
    refused: list[ValidationError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused


def load_paths(db: GraphDB, paths: list[str | Path], batch_size: int = 5000,
               on_file: Callable[[Path], None] | None = None,
               progress: Progress | None = None) -> LoadReport:
    """Load files and directories; a wrong file is refused whole, the others still load."""
    report = LoadReport()
    try:
        files = expand_paths(paths)
    except ValidationError as exc:
        report.refused.append(exc)
        return report
    for path in files:
        if on_file:
            on_file(path)
        try:
            batch = parse_file(path)
            report.written.append(write_batch(db, batch, batch_size, progress))
        except ValidationError as exc:
            report.refused.append(exc)
    return report
