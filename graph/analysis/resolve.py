"""Alias resolution: which actors may a name denote, most likely first, and why.

A name is matched case-, space- and punctuation-insensitively through Alias nodes ("apt 28",
"Fancy-Bear" and "FANCY BEAR" are one alias key). A query can also be an actor key
(`attack:G0032`) or an external ID (`G0032`). Sources that disagree stay visible: an alias
that names several actors lists them all. A nameless stub another source made for an ATT&CK
ID that ATT&CK has revoked (a galaxy pointing at G0086, now part of G0094) is shown as the
actor that carries the ID now.

Ranking ("most likely first"):
1. an exact actor key, then an exact external ID, then the one actor whose own name holds the
   query as a whole word or words ("Lazarus" -> Lazarus Group; only if exactly one name does and
   no actor has the query as its own name), then alias matches;
2. among alias matches, the actor more independent sources give that name;
3. then the actor whose own name it is;
4. then an actor a curated dataset identifies (it has external IDs, e.g. an ATT&CK group);
5. then the key, so the order is stable.
"""
from __future__ import annotations

import re

from graph import cypher
from graph.errors import NotFound
from graph.model import normalise_name
from graph.store.db import GraphDB

EXTERNAL_ID = re.compile(r"^[A-Za-z]{1,3}\d{4}(\.\d{3})?$")


def resolve(db: GraphDB, query: str) -> dict:
    """{"query": ..., "actors": [{"key", "name", "external_ids", "via": [{"alias", "source"}]}]}."""
    text = " ".join(str(query).split())
    alias_key = normalise_name(text)
    found: dict[str, dict] = {}

    def entry(row: dict, rank: int) -> dict:
        actor = found.get(row["key"])
        if actor is None:
            actor = found[row["key"]] = {"key": row["key"], "name": row["name"],
                                         "external_ids": list(row["external_ids"]), "via": [],
                                         "_rank": rank}
        actor["_rank"] = min(actor["_rank"], rank)
        return actor

    if text:
        external_id = text.upper() if EXTERNAL_ID.match(text) else text
        for row in db.read(cypher.RESOLVE_BY_KEY_OR_ID, {"key": text, "external_id": external_id}):
            actor = entry(row, 0 if row["by_key"] else 1)
            shown = row["key"] if row["by_key"] else external_id
            for source in row["sources"] or [None]:
                _add_via(actor, shown, source)
    if alias_key:
        for row in db.read(cypher.RESOLVE_BY_ALIAS, {"alias": alias_key}):
            actor = entry(row, 2)
            spelling = _spelling(text, row["spellings"])
            for source in row["sources"] or [None]:
                _add_via(actor, spelling, source)
    words = _words(text)
    if words and not any(a["name"] and normalise_name(a["name"]) == alias_key for a in found.values()):
        rows = [r for r in db.read(cypher.RESOLVE_BY_NAME_PART, {"part": text.casefold()})
                if r["name"] and _within(words, _words(r["name"]))]
        if len(rows) == 1:
            actor = entry(rows[0], 1.5)
            for source in rows[0]["sources"] or [None]:
                _add_via(actor, f"{text} (a word of its name)", source)

    _replace_stubs(db, found)
    nameless = [k for k, a in found.items() if not a["name"]]
    if nameless:
        for row in db.read(cypher.ACTOR_ALIAS_NAMES, {"keys": nameless}):
            found[row["key"]]["name"] = row["name"]
    actors = sorted(found.values(), key=lambda a: _rank(a, alias_key))
    for actor in actors:
        del actor["_rank"]
        actor["name"] = actor["name"] or actor["key"]
    return {"query": query, "actors": actors}


def resolve_actor(db: GraphDB, name: str) -> str:
    """The key of the actor `name` denotes (the best of `resolve`); NotFound if none."""
    found = resolve(db, name)["actors"]
    if not found:
        raise NotFound(f"no actor is called '{name}'", hint="try attrib resolve NAME, a key or an ATT&CK ID")
    return found[0]["key"]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _within(part: list[str], words: list[str]) -> bool:
    """Is `part` a run of whole words of `words`?"""
    return any(words[i:i + len(part)] == part for i in range(len(words) - len(part) + 1))


def _replace_stubs(db: GraphDB, found: dict[str, dict]) -> None:
    """A stub for a revoked ATT&CK ID hands its matches to the actor that now carries the ID."""
    stubs = [{"key": k, "external_ids": a["external_ids"]} for k, a in found.items()
             if not a["name"] and a["external_ids"]]
    if not stubs:
        return
    for row in db.read(cypher.ACTOR_REPLACEMENTS, {"stubs": stubs}):
        stub = found.pop(row["stub"], None)
        if stub is None:
            continue
        actor = found.setdefault(row["key"], {"key": row["key"], "name": row["name"],
                                              "external_ids": list(row["external_ids"]), "via": [],
                                              "_rank": stub["_rank"]})
        actor["_rank"] = min(actor["_rank"], stub["_rank"])
        for via in stub["via"]:
            _add_via(actor, via["alias"], via["source"])


def _add_via(actor: dict, alias: str, source: str | None) -> None:
    via = {"alias": alias, "source": source}
    if via not in actor["via"]:
        actor["via"].append(via)


def _spelling(text: str, spellings: list[str]) -> str:
    """The alias as sources spell it, closest to what the user typed."""
    if not spellings:
        return text
    for candidate in spellings:
        if candidate == text:
            return candidate
    folded = text.casefold()
    for candidate in spellings:
        if candidate.casefold() == folded:
            return candidate
    return spellings[0]


def _rank(actor: dict, alias_key: str) -> tuple:
    sources = {v["source"] for v in actor["via"] if v["source"]}
    own_name = bool(actor["name"]) and normalise_name(actor["name"]) == alias_key
    return (actor["_rank"], -len(sources), not own_name, not actor["external_ids"], actor["key"])


def describe(result: dict) -> str:
    """Human-readable lines for `attrib resolve`."""
    actors = result["actors"]
    if not actors:
        return f"'{result['query']}' names no actor in the graph"
    lines = []
    if len(actors) > 1:
        lines.append(f"'{result['query']}' is ambiguous: it may denote {len(actors)} actors "
                     "(most likely first)")
    for i, actor in enumerate(actors, 1):
        ids = ", ".join(actor["external_ids"])
        lines.append(f"{i:>2}. {actor['name']}  [{actor['key']}]" + (f"  {ids}" if ids else ""))
        by_alias: dict[str, list[str]] = {}
        for via in actor["via"]:
            by_alias.setdefault(via["alias"], []).append(via["source"] or "no source")
        for alias, sources in by_alias.items():
            lines.append(f"      via '{alias}' ({', '.join(sources)})")
    return "\n".join(lines)
