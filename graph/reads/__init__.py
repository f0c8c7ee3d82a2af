"""Reads for the app, the CLI and the console: the pages' reads (explore), subgraphs to draw,
the read-only console and saved queries; and here the reads the CLI and the app share."""
from __future__ import annotations

from graph import cypher
from graph.store.db import GraphDB


def incidents_with_claims(db: GraphDB, limit: int = 1000) -> list[dict]:
    """Incidents (oldest first) with every claim about them: actor, source, stance, date."""
    return db.read(cypher.INCIDENT_CLAIMS, {"limit": limit})


def gazetteer_rows(db: GraphDB) -> dict:
    """The names the graph knows, as plain rows for loaders.reports.Gazetteer.from_rows: tools (with
    aliases), actors (with every alias spelling) and sources."""
    return {"tools": db.read(cypher.GAZETTEER_TOOLS), "actors": db.read(cypher.GAZETTEER_ACTORS),
            "sources": db.read(cypher.GAZETTEER_SOURCES)}


def incidents_present(db: GraphDB, keys: list[str]) -> dict[str, dict]:
    """Which of `keys` are incidents in the graph: key -> {key, name, first_seen}."""
    return {r["key"]: r for r in db.read(cypher.INCIDENTS_PRESENT, {"keys": list(keys)})}


def attack_bundles(db: GraphDB) -> list[dict]:
    """The ATT&CK bundles the graph's techniques were loaded from, best first (Enterprise, then the
    one most techniques name): {bundle: content hash, domain, version, techniques}."""
    return db.read(cypher.ATTACK_BUNDLES)
