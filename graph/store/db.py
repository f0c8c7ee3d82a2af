"""The one module that owns the Neo4j driver and its sessions.

Everything else receives a `GraphDB` (created once per process: in the app through
`st.cache_resource`, in the CLI per command) and calls `read` or `write`.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import (AuthError, ConfigurationError, Neo4jError, ServiceUnavailable,
                               SessionExpired)

from graph.cypher import EXPLAIN_PREFIX
from graph.errors import DatabaseError, Unavailable
from graph.settings import Settings
from graph.store.server import LocalServer

BOOKMARK_TIMEOUT = "Neo.TransientError.Transaction.BookmarkTimeout"


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

    def __init__(self, driver: neo4j.Driver, database: str | None, uri: str,
                 console_driver: Callable[[], neo4j.Driver] | None = None):
        self.driver = driver
        self.database = database
        self.uri = uri
        self._console_driver = console_driver
        self._console: GraphDB | None = None
        self._console_lock = threading.Lock()
        # Every session shares the bookmarks of the writes before it, so a read routed to a
        # cluster secondary waits until it has them (a loader checking the keys the previous
        # file wrote, the app reading what it just loaded). On one server it costs nothing.
        self.bookmarks = GraphDatabase.bookmark_manager()

    def _session(self, **config) -> neo4j.Session:
        return self.driver.session(database=self.database, bookmark_manager=self.bookmarks, **config)

    def _in_session(self, call: Callable[[neo4j.Session], Any], **config) -> Any:
        """`call(session)`, errors translated. Bookmarks newer than the database mean it was
        replaced since (`attrib restore` of a dump, a recreated store): forget them, run again."""
        for attempt in (1, 2):
            with self._session(**config) as s:
                try:
                    return _translate(lambda: call(s), self.uri)
                except DatabaseError as exc:
                    if exc.code != BOOKMARK_TIMEOUT or attempt == 2:
                        raise
            self.bookmarks = GraphDatabase.bookmark_manager()

    def console(self) -> "GraphDB":
        """The same server and user on the console's own small connection pool
        (ATTRIB_CONSOLE_POOL), made on first use: statements the server never answers hold
        connections there, never the pages'."""
        with self._console_lock:
            if self._console is None:
                if self._console_driver is None:
                    raise DatabaseError("this connection has no console pool (made without connect())")
                self._console = GraphDB(self._console_driver(), self.database, self.uri)
            return self._console

    def close(self) -> None:
        if self._console is not None:
            self._console.close()
        self.driver.close()

    def check(self) -> None:
        """Raise Unavailable unless the server answers now (one round trip): a long-lived
        driver (the app's) finds out at once that the server went away."""
        try:
            self.driver.verify_connectivity()
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            raise Unavailable(f"Neo4j is not reachable at {self.uri}",
                              hint="start it with: attrib neo4j start (the page recovers by itself "
                                   "once it answers)") from exc

    def read(self, cypher: str, params: dict | None = None, timeout: float | None = None) -> list[dict]:
        """Run one read query in a READ transaction; rows as dicts."""
        def work(tx):
            return [r.data() for r in tx.run(cypher, params or {})]
        return self.execute_read(work, timeout=timeout)

    def explain(self, cypher: str, params: dict | None = None, timeout: float | None = None,
                metadata: dict | None = None) -> neo4j.ResultSummary:
        """The summary (query type, plan, notifications) of `EXPLAIN cypher`, in a READ
        transaction; nothing is executed. With a timeout: one transaction, no retries."""
        def work(tx):
            return tx.run(EXPLAIN_PREFIX + cypher, params or {}).consume()
        if timeout:
            return self.read_once(work, timeout, metadata=metadata)
        return self.execute_read(work)

    def execute_read(self, work: Callable[[neo4j.ManagedTransaction], Any], timeout: float | None = None) -> Any:
        fn = neo4j.unit_of_work(timeout=timeout)(work) if timeout else work
        return self._in_session(lambda s: s.execute_read(fn), default_access_mode=neo4j.READ_ACCESS)

    def read_once(self, work: Callable[[neo4j.Transaction], Any], timeout: float,
                  metadata: dict | None = None) -> Any:
        """`work` in one explicit READ transaction, run once: no retry loop (execute_read retries
        what the driver deems transient, memory-limit errors included, so a user's failing query
        would answer only after the retry budget). `metadata` shows in SHOW TRANSACTIONS."""
        def call(s):
            with s.begin_transaction(timeout=timeout, metadata=metadata) as tx:
                out = work(tx)
                tx.commit()
                return out
        return self._in_session(call, default_access_mode=neo4j.READ_ACCESS)

    def execute_write(self, work: Callable[[neo4j.ManagedTransaction], Any]) -> Any:
        return self._in_session(lambda s: s.execute_write(work))

    def run_autocommit(self, cypher: str, params: dict | None = None) -> neo4j.SummaryCounters:
        """Schema commands and `CALL {...} IN TRANSACTIONS` need an auto-commit transaction."""
        return self._in_session(lambda s: s.run(cypher, params or {}).consume().counters)

    def write(self, cypher: str, params: dict | None = None) -> neo4j.SummaryCounters:
        def work(tx):
            return tx.run(cypher, params or {}).consume().counters
        return self.execute_write(work)


def _translate(call: Callable[[], Any], uri: str) -> Any:
    try:
        return call()
    except (ServiceUnavailable, SessionExpired) as exc:
        raise Unavailable(f"the Neo4j server at {uri} stopped answering ({exc})",
                          hint="check it with: attrib neo4j status") from exc
    except Neo4jError as exc:
        hint = ("raise ATTRIB_NEO4J_HEAP, or load smaller files" if "MemoryPool" in (exc.code or "")
                else None)
        raise DatabaseError(f"Neo4j refused the statement: {exc.code}: {exc.message}", hint=hint,
                            code=exc.code) from exc


def connect(settings: Settings) -> GraphDB:
    uri, user, password = connection_params(settings)

    def make(acquire_s: float, **pool) -> neo4j.Driver:
        return GraphDatabase.driver(uri, auth=(user, password), connection_timeout=settings.connect_timeout_s,
                                    connection_acquisition_timeout=acquire_s,
                                    max_transaction_retry_time=settings.retry_budget_s, **pool)
    try:
        driver = make(settings.acquire_timeout_s)
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
    return GraphDB(driver, settings.database, uri,
                   # the console's wait for a connection ends well before its statement's deadline
                   console_driver=lambda: make(min(settings.acquire_timeout_s, 1.0),
                                               max_connection_pool_size=max(1, settings.console_pool)))
