"""Shared fixtures. Integration tests run against a real Neo4j: the project's own local
instance "test" (started here if needed, stopped afterwards if we started it), or the server
that NEO4J_URI names."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from graph import schema
from graph.db import GraphDB, connect
from graph.server import LocalServer
from graph.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "data"


def shared_file(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data {path} is not present")
    return path


@pytest.fixture(scope="session")
def settings() -> Settings:
    s = load_settings()
    return s if s.external else s.with_instance(os.environ.get("ATTRIB_TEST_INSTANCE", "test"))


@pytest.fixture(scope="session")
def neo4j_server(settings):
    server = LocalServer(settings)
    if settings.external:
        yield server
        return
    was_running = server.status().state == "running"
    server.start()
    yield server
    if not was_running:
        server.stop()


@pytest.fixture(scope="session")
def session_db(settings, neo4j_server) -> GraphDB:
    db = connect(settings)
    if settings.external and not os.environ.get("ATTRIB_TEST_ALLOW_RESET"):
        if db.read("MATCH (n) RETURN count(n) AS n")[0]["n"]:
            pytest.exit(f"refusing to run the integration tests against the non-empty database at "
                        f"{settings.uri}: they delete everything; set ATTRIB_TEST_ALLOW_RESET=1 to allow it",
                        returncode=2)
    schema.init_schema(db)
    yield db
    schema.reset(db)
    db.close()


@pytest.fixture
def db(session_db) -> GraphDB:
    """An empty graph with the schema in place."""
    schema.reset(session_db)
    return session_db


@pytest.fixture
def cli_env(monkeypatch, settings):
    """Run app.cli.main in-process against the test server."""
    if not settings.external:
        monkeypatch.setenv("ATTRIB_INSTANCE", settings.instance)
    return monkeypatch
