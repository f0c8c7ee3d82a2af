"""Graph reads that the CLI and the app share."""
from __future__ import annotations

from graph import cypher
from graph.db import GraphDB


def incidents_with_claims(db: GraphDB, limit: int = 1000) -> list[dict]:
    """Incidents (oldest first) with every claim about them: actor, source, stance, date."""
    return db.read(cypher.INCIDENT_CLAIMS, {"limit": limit})
