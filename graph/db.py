"""The one module that owns the Neo4j driver and its sessions.

Everything else receives a `GraphDB` (created once per process: in the app through
`st.cache_resource`, in the CLI per command) and calls `read` or `write`.
"""
from __future__ import annotations

from typing import Any, Callable

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ConfigurationError, Neo4jError, ServiceUnavailable

from graph.cypher import EXPLAIN_PREFIX
from graph.errors import DatabaseError, Unavailable
from graph.server import LocalServer
from graph.settings import Settings


def connection_params(settings: Settings) -> tuple[str, str, str]:
    """(uri, user, password) for the configured server: NEO4J_URI, or the local instance."""
    if settings.external:
        return settings.uri, settings.user, settings.password or ""
    server = LocalServer(settings)
    status = server.status()
    if status.state != "running":
        raise Unavailable(f"no Neo4j server is running for instance '{settings.instance}' "
                          f"(tried {settings.instance_dir})",
                          hint="run: attrib neo4j start (or set NEO4J_URI to your server)")
    return status.uri, "neo4j", server.password()


class GraphDB:
    """A driver plus the database name; read and write through managed transactions."""

    def __init__(self, driver: neo4j.Driver, database: str | None, uri: str):
        self.driver = driver
        self.database = database
        self.uri = uri
        # Every session shares the bookmarks of the writes before it, so a read routed to a
        # cluster secondary waits until it has them (a loader checking the keys the previous
        # file wrote, the app reading what it just loaded). On one server it costs nothing.
        self.bookmarks = GraphDatabase.bookmark_manager()

    def _session(self, **config) -> neo4j.Session:
        return self.driver.session(database=self.database, bookmark_manager=self.bookmarks, **config)

    def close(self) -> None:
        self.driver.close()

    def read(self, cypher: str, params: dict | None = None, timeout: float | None = None) -> list[dict]:
        """Run one read query in a READ transaction; rows as dicts."""
        def work(tx):
            return [r.data() for r in tx.run(cypher, params or {})]
        return self.execute_read(work, timeout=timeout)

    def explain(self, cypher: str, params: dict | None = None) -> neo4j.ResultSummary:
        """The summary (query type, plan, notifications) of `EXPLAIN cypher`, in a READ
        transaction; nothing is executed."""
        def work(tx):
            return tx.run(EXPLAIN_PREFIX + cypher, params or {}).consume()
        return self.execute_read(work)

    def execute_read(self, work: Callable[[neo4j.ManagedTransaction], Any], timeout: float | None = None) -> Any:
        fn = neo4j.unit_of_work(timeout=timeout)(work) if timeout else work
        with self._session(default_access_mode=neo4j.READ_ACCESS) as s:
            return _translate(lambda: s.execute_read(fn), self.uri)

    def execute_write(self, work: Callable[[neo4j.ManagedTransaction], Any]) -> Any:
        with self._session() as s:
            return _translate(lambda: s.execute_write(work), self.uri)

    def run_autocommit(self, cypher: str, params: dict | None = None) -> neo4j.SummaryCounters:
        """Schema commands and `CALL {...} IN TRANSACTIONS` need an auto-commit transaction."""
        with self._session() as s:
            return _translate(lambda: s.run(cypher, params or {}).consume().counters, self.uri)

    def write(self, cypher: str, params: dict | None = None) -> neo4j.SummaryCounters:
        def work(tx):
            return tx.run(cypher, params or {}).consume().counters
        return self.execute_write(work)


def _translate(call: Callable[[], Any], uri: str) -> Any:
    try:
        return call()
    except ServiceUnavailable as exc:
        raise Unavailable(f"the Neo4j server at {uri} stopped answering ({exc})",
                          hint="check it with: attrib neo4j status") from exc
    except Neo4jError as exc:
        hint = ("raise ATTRIB_NEO4J_HEAP, or load smaller files" if "MemoryPool" in (exc.code or "")
                else None)
        raise DatabaseError(f"Neo4j refused the statement: {exc.code}: {exc.message}", hint=hint,
                            code=exc.code) from exc


def connect(settings: Settings) -> GraphDB:
    uri, user, password = connection_params(settings)
    try:
        driver = GraphDatabase.driver(uri, auth=(user, password))
    except (ConfigurationError, ValueError) as exc:
        raise Unavailable(f"cannot use NEO4J_URI={uri!r}: {exc}",
                          hint="use bolt://host:7687, neo4j://host:7687 or neo4j+s://host") from exc
    try:
        driver.verify_connectivity()
    except (ServiceUnavailable, OSError) as exc:
        driver.close()
        raise Unavailable(f"no Neo4j server answers at {uri}",
                          hint="start one with: attrib neo4j start, or fix NEO4J_URI") from exc
    except AuthError as exc:
        driver.close()
        raise Unavailable(f"Neo4j at {uri} refused the credentials for user '{user}'",
                          hint="check NEO4J_USER / NEO4J_PASSWORD") from exc
    return GraphDB(driver, settings.database, uri)
