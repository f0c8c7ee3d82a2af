"""What every command module shares: messages on stderr and the one place that opens the database."""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Iterator

from graph.dates import normalise_date
from graph.settings import Settings


def err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class open_db:
    """Context manager: one driver for the command, closed at the end."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def __enter__(self):
        from graph.store.db import connect

        self.db = connect(self.settings)
        return self.db

    def __exit__(self, *exc) -> None:
        self.db.close()


class Parser(argparse.ArgumentParser):
    """The parser of every command: `describe=` takes a function whose text becomes the description
    when help is shown, so a command can describe what a heavy module holds without importing it."""

    def __init__(self, *args, describe: Callable[[], str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.describe = describe

    def format_help(self) -> str:
        if self.describe is not None:
            self.description = self.describe()
        return super().format_help()


class LazyChoices:
    """argparse `choices` read from a heavy module only when an argument is checked or help shown."""

    def __init__(self, load: Callable[[], Iterable[str]]):
        self._load = load

    def __contains__(self, value) -> bool:
        return value in tuple(self._load())

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._load()))


def date_arg(text: str) -> str:
    """argparse `type` of a date option: YYYY, YYYY-MM or YYYY-MM-DD, refused before any work starts."""
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text.strip()) or normalise_date(text) is None:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)")
    return text.strip()
