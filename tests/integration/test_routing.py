"""The neo4j:// routing scheme (clusters, Aura) works end to end: against the local server here,
writes go through managed write transactions and reads through READ transactions."""
from __future__ import annotations

import pytest

from app.cli import main
from graph.settings import SEED_DIR


def test_commands_work_over_the_routing_scheme(db, neo4j_server, settings, monkeypatch, capsys):
    if settings.external:
        pytest.skip("NEO4J_URI is already set: the suite runs against that server")
    status = neo4j_server.status()
    monkeypatch.setenv("NEO4J_URI", f"neo4j://127.0.0.1:{status.port}")
    monkeypatch.setenv("NEO4J_USER", "neo4j")
    monkeypatch.setenv("NEO4J_PASSWORD", neo4j_server.password())
    assert main(["load", str(SEED_DIR)]) == 0
    capsys.readouterr()
    assert main(["hypotheses", "AstraZeneca", "--blind", "--json", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert '"Lazarus Group"' in out
    assert main(["query", "incident_claims", "--param", "incident=AstraZeneca", "--json"]) == 0
    assert "Reuters" in capsys.readouterr().out
