"""The database a benchmark may empty, shared by the benchmark scripts."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from graph import cypher  # noqa: E402
from graph.settings import Settings, load_settings  # noqa: E402
from graph.store.db import GraphDB, connect  # noqa: E402
from graph.store.server import LocalServer  # noqa: E402


@contextmanager
def benchmark_db() -> Iterator[tuple[GraphDB, Settings]]:
    """The local test instance (ATTRIB_TEST_INSTANCE, started if needed and stopped again), or the
    server NEO4J_URI names, which must be empty unless ATTRIB_TEST_ALLOW_RESET=1."""
    settings = load_settings()
    if not settings.external:
        settings = settings.with_instance(os.environ.get("ATTRIB_TEST_INSTANCE", "test"))
    server = LocalServer(settings)
    started_here = not settings.external and server.status().state != "running"
    if started_here:
        server.start()
    db = connect(settings)
    try:
        if settings.external and not os.environ.get("ATTRIB_TEST_ALLOW_RESET") \
                and db.read(cypher.COUNT_ALL_NODES)[0]["n"]:
            sys.exit(f"refusing to reset the non-empty database at {settings.uri}; "
                     "set ATTRIB_TEST_ALLOW_RESET=1")
        yield db, settings
    finally:
        db.close()
        if started_here:
            server.stop()
