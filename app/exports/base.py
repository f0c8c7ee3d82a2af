"""What every exporter shares: the options of one export, the job an exporter is handed and
the registry entry (`Format`) that describes it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from graph.errors import AttribError
from graph.reads.subgraph import Subgraph


class ExportError(AttribError):
    """An export could not be written (no browser, a browser failure, a bad option)."""


@dataclass(frozen=True)
class Options:
    title: str | None = None            # figure/bundle title (default: the subgraph's)
    tlp: str | None = None              # TLP level; None or "none": no marking
    date: dt.date | None = None         # the date printed on figures (default: today)
    actor: str | None = None            # an actor to set against the incident (name or key)
    actors: tuple[str, ...] = ()        # actors to compare


@dataclass
class Job:
    """One export: the subgraph it is given, the options, and what the format's `gather`
    read from the graph beforehand (None for formats without one)."""
    sub: Subgraph
    options: Options
    context: Any = None


@dataclass(frozen=True)
class Format:
    name: str                                   # what --format takes
    suffix: str                                 # the file suffix written (without the dot)
    mime: str                                   # for download buttons
    description: str                            # one line for help texts and the app
    write: Callable[[Job, Path], list[Path]]    # writes the file(s); returns what it wrote
    # Further reads from the graph the format needs (e.g. the engine's assessment), given the
    # open GraphDB, the subgraph and the options; its result becomes Job.context.
    gather: Callable[[Any, Subgraph, Options], Any] | None = None
    # Offered by the app's export widget (False: the format needs an option the widget does not
    # ask for, such as an actor; its page offers it itself).
    widget: bool = True
