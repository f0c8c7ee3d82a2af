"""The managed Neo4j: idempotent start, stop, status, loopback only, 0600 password, and what
every command says when no server answers. Uses an instance of its own, not the test server."""
from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from app.cli import main
from graph.store.server import LocalServer


def _listen_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(addr)
    return found


@pytest.fixture
def lifecycle_env(monkeypatch, settings):
    if settings.external:
        pytest.skip("NEO4J_URI is set: the local server manager is not used")
    monkeypatch.setenv("ATTRIB_INSTANCE", "lifecycle")
    blocker = socket.socket()  # hold a port so start must choose another
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    monkeypatch.setenv("ATTRIB_BOLT_PORT", str(blocker.getsockname()[1]))
    yield settings.with_instance("lifecycle"), blocker.getsockname()[1]
    blocker.close()
    LocalServer(settings.with_instance("lifecycle")).stop()


def test_start_twice_stop_status_and_stopped_commands(lifecycle_env, capsys):
    settings, taken_port = lifecycle_env
    assert main(["neo4j", "start"]) == 0
    err = capsys.readouterr().err
    assert f"port {taken_port} is taken" in err
    status = LocalServer(settings).status()
    assert status.state == "running" and status.port != taken_port

    # the second start is a no-op success
    assert main(["neo4j", "start"]) == 0
    assert "already running" in capsys.readouterr().err
    assert LocalServer(settings).status().pid == status.pid

    # loopback only: every listening socket on the bolt port is 127.0.0.1 (v4 or v4-mapped v6)
    addresses = _listen_addresses(status.port)
    assert addresses and addresses <= {"0100007F", "0000000000000000FFFF00000100007F"}, addresses

    password_file = settings.instance_dir / "password"
    assert stat.S_IMODE(os.stat(password_file).st_mode) == 0o600

    assert main(["neo4j", "status"]) == 0
    assert "running at bolt://127.0.0.1:" in capsys.readouterr().out
    assert main(["neo4j", "env"]) == 0
    out = capsys.readouterr().out
    assert f"export NEO4J_URI=bolt://127.0.0.1:{status.port}" in out
    assert f"export NEO4J_PASSWORD={password_file.read_text().strip()}" in out
    assert main(["stats", "--json"]) == 0

    assert main(["neo4j", "stop"]) == 0
    assert "Neo4j stopped" in capsys.readouterr().err
    assert main(["neo4j", "status"]) == 3
    assert "stopped" in capsys.readouterr().out

    # any command while stopped: one clear line (+ hint), exit 2, no traceback
    assert main(["stats"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no Neo4j server is running") and "attrib neo4j start" in err
    assert "Traceback" not in err


def test_unreachable_external_uri(monkeypatch, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("NEO4J_URI", f"bolt://127.0.0.1:{port}")
    monkeypatch.setenv("NEO4J_PASSWORD", "x")
    assert main(["load", "seed"]) == 2
    err = capsys.readouterr().err
    assert f"no Neo4j server answers at bolt://127.0.0.1:{port}" in err and "Traceback" not in err
    assert main(["neo4j", "start"]) == 0
    assert "NEO4J_URI is set" in capsys.readouterr().err
