"""`attrib backup FILE` and `attrib restore FILE`: the whole graph as one file, and back."""
from __future__ import annotations

from pathlib import Path

from app.cli.common import LazyChoices, err
from graph.settings import Settings


def cmd_backup(args, settings: Settings) -> int:
    from app import backup

    result = backup.backup(settings, Path(args.file), args.format, log=err)
    err(result.describe("backed up"))
    return 0


def cmd_restore(args, settings: Settings) -> int:
    from app import backup

    if not args.file and not args.recover:
        err("name the backup to restore: attrib restore FILE (or attrib restore --recover)")
        return 1
    result = backup.restore(settings, Path(args.file) if args.file else None, log=err, recover=args.recover)
    err(result.describe("restored"))
    return 0


def _formats() -> tuple[str, ...]:
    from app import backup

    return backup.FORMATS


def register(sub) -> None:
    p = sub.add_parser("backup", help="write the whole graph to one file (attrib restore reads it)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=LazyChoices(_formats), default=None, metavar="FORMAT",
                   help="%(choices)s. dump: neo4j-admin dump of the local instance (stops and restarts it; the "
                        "default locally); logical: gzipped JSON Lines over bolt, online, from any "
                        "server (the default with NEO4J_URI)")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="load a backup file into an empty database")
    p.add_argument("file", metavar="FILE", nargs="?")
    p.add_argument("--recover", action="store_true",
                   help="for a database that does not start: move its store aside and restore FILE, "
                        "else the newest backup under $ATTRIB_HOME/backups/ that passes its checks")
    p.set_defaults(func=cmd_restore)
