"""Shared fixtures. Integration tests run against a real Neo4j: the project's own local
instance "test" (started here if needed, stopped afterwards if we started it), or the server
that NEO4J_URI names."""
from __future__ import annotations

import http.server
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from graph.settings import Settings, load_settings
from graph.store import schema
from graph.store.db import GraphDB, connect
from graph.store.server import LocalServer

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "data"


def system_tool(package: str, *commands: str) -> str:
    """The first of `commands` found on PATH. A missing tool fails the test with the Debian
    package to install (the README's set-up names it); it never skips a tier silently."""
    for command in commands:
        found = shutil.which(command)
        if found:
            return found
    pytest.fail(f"{commands[0]} is not installed; run: apt-get install -y {package} "
                f"(README, Quick start)", pytrace=False)


@pytest.fixture(scope="session")
def chromium() -> str:
    return system_tool("chromium", "chromium", "google-chrome")


def shared_file(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data {path} is not present")
    return path


def attack_techniques(directory: Path) -> tuple[Path, dict]:
    """The techniques of the shared ATT&CK Enterprise v15.1 (attack-patterns and their
    subtechnique-of links: names, tactics, parents in seconds instead of the full load), as a
    bundle named like the release file; returns (its path, the full bundle)."""
    import gzip
    import json

    data = json.loads(gzip.decompress(shared_file("attack", "enterprise-attack-15.1.json.gz").read_bytes()))
    keep = {o["id"] for o in data["objects"] if o["type"] in ("attack-pattern", "identity", "marking-definition")}
    objects = [o for o in data["objects"] if o["id"] in keep or (
        o["type"] == "relationship" and o["relationship_type"] == "subtechnique-of"
        and o["source_ref"] in keep and o["target_ref"] in keep)]
    path = directory / "enterprise-attack-15.1.json"
    path.write_text(json.dumps({"type": "bundle", "id": data["id"], "objects": objects}))
    return path, data


def load_seed_over_attack_techniques(db: GraphDB, directory: Path) -> dict:
    """An emptied graph holding `attack_techniques` and the seed story; returns the full bundle."""
    from graph.settings import SEED_DIR
    from app.ingest import load_paths

    path, data = attack_techniques(directory)
    schema.reset(db)
    report = load_paths(db, [path, SEED_DIR])
    assert report.ok, report.refused
    return data


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


@contextmanager
def html_server(body: str) -> Iterator[str]:
    """A web server on 127.0.0.1 answering every GET with the HTML page `body`; yields its base URL."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def hostile_server(drip_s: float = 0.5) -> Iterator[str]:
    """A web server on 127.0.0.1 that misbehaves by path; yields its base URL.
    /endless: a body without length that never ends; /announced: a Content-Length of 10 GB;
    /drip: one byte every `drip_s`; /stall: the headers, then nothing; /redirect-ftp: a redirect
    to ftp://; /redirect-loop: a redirect to itself; /discovery-endless: an endless JSON object."""
    stop = threading.Event()

    class Hostile(http.server.BaseHTTPRequestHandler):

        def do_GET(self):
            path = self.path.split("?")[0]
            if path.startswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", "ftp://127.0.0.1/x.json" if path == "/redirect-ftp" else path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/taxii+json;version=2.1")
            if path == "/announced":
                self.send_header("Content-Length", str(10 * 2**30))
            elif path == "/drip":
                self.send_header("Content-Length", "1000")
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            try:
                if path.endswith("/endless") or path.startswith("/discovery-endless"):
                    self.wfile.write(b'{"title": "')
                    while not stop.is_set():
                        self.wfile.write(b"a" * 65536)
                elif path == "/drip":
                    while not stop.wait(drip_s):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                else:
                    stop.wait(3600)
            except OSError:
                pass  # the client gave up

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
