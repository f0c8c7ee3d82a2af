"""`attrib`: a thin command line over graph/ and loaders/. One entry (`main`), one module per command
group in this package.

Each command module has `register(subparsers)`; a command's `func(args, settings)` returns the exit
status. Heavy libraries (the Neo4j driver, pandas, scikit-learn, pyarrow) are imported inside the
commands that use them, so `--help` and argument errors answer at once.
"""
from __future__ import annotations

import importlib
import sys

from app.cli.common import Parser
from graph.errors import AttribError
from graph.settings import load_settings

# Modules that add sub-commands, in the order `attrib --help` lists them.
COMMAND_MODULES: list[str] = [
    "app.cli.core",
    "app.cli.feeds",
    "app.cli.serve",
    "app.cli.query",
    "app.cli.engine",
    "app.cli.backup",
    "app.cli.extract",
]


def build_parser() -> Parser:
    p = Parser(prog="attrib", description="Graph-based attribution explorer")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, load_settings())
    except AttribError as exc:
        print(f"error: {exc.message}", file=sys.stderr, flush=True)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        return 130
