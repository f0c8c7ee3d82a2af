"""CLI commands for loaders and names: `attrib resolve`, and the `attrib load attack` download."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from graph.errors import NotFound
from graph.resolve import describe, resolve
from graph.settings import Settings
from loaders.download import ATTACK_DOMAINS, Fetched, fetch_attack, progress_bar


def err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def register(sub) -> None:
    p = sub.add_parser("resolve", help="which actors a name, alias, external ID or key may denote")
    p.add_argument("name", nargs="+", metavar="NAME",
                   help="an actor name or alias (any case, spaces, punctuation), an ID like G0032, or a key")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_resolve)


def add_attack_options(load) -> None:
    """Options of `attrib load` for `attrib load attack` (the download)."""
    group = load.add_argument_group("attrib load attack: download a public MITRE ATT&CK release")
    group.add_argument("--domain", choices=ATTACK_DOMAINS, default="enterprise",
                       help="ATT&CK domain (default enterprise)")
    group.add_argument("--version", metavar="X", help="release, e.g. 15.1 (default: the latest)")
    group.add_argument("--url", metavar="URL", help="download the bundle from this URL instead")
    group.add_argument("--refresh", action="store_true", help="download again even if cached")


def cmd_resolve(args, settings: Settings) -> int:
    from app.cli import open_db  # the CLI's one place that opens the database

    name = " ".join(args.name)
    with open_db(settings) as db:
        result = resolve(db, name)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0 if result["actors"] else 1
    if not result["actors"]:
        raise NotFound(f"'{name}' names no actor in the graph",
                       hint="load ATT&CK or a galaxy first (attrib load attack), or check the spelling")
    print(describe(result))
    return 0


def wants_download(paths: list[str]) -> bool:
    return bool(paths) and paths[0] == "attack" and not Path("attack").exists()


def attack_paths(args, settings: Settings) -> tuple[list, Fetched | None]:
    """`attrib load attack ...`: download (or take from the cache) the release; else paths as given."""
    if not wants_download(args.paths):
        if getattr(args, "url", None) or getattr(args, "version", None):
            err("note: --url/--version apply only to 'attrib load attack'")
        return list(args.paths), None
    what = args.url or f"ATT&CK {args.domain} {args.version or '(latest)'}"
    fetched = fetch_attack(settings.cache_dir, domain=args.domain, version=args.version, url=args.url,
                           progress=progress_bar(f"downloading {what}"), refresh=args.refresh)
    status = {"downloaded": f"downloaded {fetched.size / 1e6:.1f} MB",
              "cached": "using the cached copy", "not-modified": "unchanged since the cached copy",
              "stale": "offline: using the cached copy"}[fetched.status]
    err(f"{what}: {status} ({fetched.path})")
    return [fetched.path] + list(args.paths[1:]), fetched
