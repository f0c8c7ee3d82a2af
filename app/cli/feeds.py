"""CLI commands for loaders and names: `attrib resolve`, the `attrib load attack` download and
`attrib load taxii` (a TAXII 2.1 collection)."""
from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

from app.cli.common import err, open_db
from graph.errors import AttribError, NotFound
from graph.settings import Settings
from loaders.download import ATTACK_DOMAINS, Fetched, fetch_attack, progress_bar


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


def add_taxii_options(load) -> None:
    """Options of `attrib load` for `attrib load taxii URL` (a TAXII 2.1 collection)."""
    group = load.add_argument_group("attrib load taxii URL: pull a TAXII 2.1 collection "
                                    "(URL: discovery, e.g. https://host/taxii2/, or an API root)")
    group.add_argument("--collection", metavar="ID|TITLE",
                       help="the collection (needed when the server offers several)")
    group.add_argument("--added-after", metavar="DATE",
                       help="only objects the server added after DATE (YYYY-MM-DD or a UTC timestamp)")
    group.add_argument("--user", metavar="U", help="HTTP basic-auth user; the password comes from "
                       "$ATTRIB_TAXII_PASSWORD, else a prompt (never the command line, which others can see)")


def cmd_resolve(args, settings: Settings) -> int:
    from graph.analysis.resolve import describe, resolve

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


def wants_taxii(paths: list[str]) -> bool:
    return bool(paths) and paths[0] == "taxii" and not Path("taxii").exists()


def taxii_path(args, settings: Settings) -> Path:
    """`attrib load taxii URL ...`: pull the collection into one bundle file in the cache."""
    if len(args.paths) != 2:
        raise AttribError("attrib load taxii takes one URL", hint="attrib load taxii https://host/taxii2/ --collection ID")
    from loaders import taxii

    url = args.paths[1]
    interactive = sys.stderr.isatty()

    def progress(objects: int, pages: int) -> None:
        if interactive:
            print(f"\r  {objects} objects in {pages} page(s)", end="", file=sys.stderr, flush=True)

    password = None
    if args.user:
        password = os.environ.get("ATTRIB_TAXII_PASSWORD")
        if password is None and sys.stdin.isatty():
            password = getpass.getpass(f"TAXII password for {args.user}: ")
    err(f"pulling from {url} ...")
    pulled = taxii.pull(url, settings.cache_dir, collection=args.collection, added_after=args.added_after,
                        user=args.user, password=password, progress=progress, settings=settings)
    if interactive:
        print(file=sys.stderr)
    err(f"{pulled.title} ({pulled.url}): {pulled.objects} objects in {pulled.pages} page(s) -> {pulled.path}")
    return pulled.path


def attack_paths(args, settings: Settings) -> tuple[list, Fetched | None]:
    """`attrib load attack ...`: download (or take from the cache) the release; `attrib load
    taxii URL`: pull the collection; else paths as given."""
    if wants_taxii(args.paths):
        return [taxii_path(args, settings)], None
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
