"""The managed Neo4j: idempotent start, stop, status, loopback only, one port per instance, files
0600/0700, and what every command says when no server answers. Uses an instance of its own."""
from __future__ import annotations

import os
import shutil
import socket
import stat
from pathlib import Path

import pytest

from app.cli import main
from graph.store.server import DEFAULT_BOLT_PORT, LocalServer, ephemeral_range


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


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def lifecycle_env(monkeypatch, settings):
    if settings.external:
        pytest.skip("NEO4J_URI is set: the local server manager is not used")
    name = settings.instance + "-life"  # its own, fresh: its first start chooses the port
    life = settings.with_instance(name)
    LocalServer(life).stop()
    shutil.rmtree(life.instance_dir, ignore_errors=True)
    monkeypatch.setenv("ATTRIB_INSTANCE", name)
    monkeypatch.delenv("ATTRIB_BOLT_PORT", raising=False)
    blocker = socket.socket()  # hold 7687 (unless something else does) so start must choose another
    try:
        blocker.bind(("127.0.0.1", DEFAULT_BOLT_PORT))
        blocker.listen()
    except OSError:
        pass
    yield life
    blocker.close()
    LocalServer(life).stop()


def test_start_twice_stop_status_and_stopped_commands(lifecycle_env, capsys):
    settings = lifecycle_env
    assert main(["neo4j", "start"]) == 0
    err = capsys.readouterr().err
    status = LocalServer(settings).status()
    assert status.state == "running" and status.port != DEFAULT_BOLT_PORT
    assert f"port {DEFAULT_BOLT_PORT} is taken; instance '{settings.instance}' uses {status.port} from now on" in err
    assert DEFAULT_BOLT_PORT < status.port < ephemeral_range()[0]  # no outgoing connection takes it

    # the second start is a no-op success
    assert main(["neo4j", "start"]) == 0
    assert "already running" in capsys.readouterr().err
    assert LocalServer(settings).status().pid == status.pid

    # loopback only: every listening socket on the bolt port is 127.0.0.1 (v4 or v4-mapped v6)
    addresses = _listen_addresses(status.port)
    assert addresses and addresses <= {"0100007F", "0000000000000000FFFF00000100007F"}, addresses

    # the password, its hash and the store: the owner's only
    password_file = settings.instance_dir / "password"
    assert _mode(password_file) == 0o600
    assert _mode(settings.instance_dir / "data" / "dbms" / "auth.ini") == 0o600
    for d in (settings.instance_dir, settings.instance_dir / "data"):
        assert _mode(d) == 0o700, d
    store = [p for sub in ("databases", "transactions") for p in (settings.instance_dir / "data" / sub).rglob("*")]
    assert store and {_mode(p) for p in store if p.is_file()} == {0o600}
    assert {_mode(p) for p in store if p.is_dir()} == {0o700}

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

    # its port taken while it is stopped: one error naming the holder, no move to another port
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", status.port))
        holder.listen()
        assert main(["neo4j", "start"]) == 1
        err = capsys.readouterr().err
        assert f"port {status.port}, the bolt port of instance '{settings.instance}', is taken by pid {os.getpid()}" in err
        assert "Traceback" not in err
        assert LocalServer(settings).status().state == "stopped"
    # once it is free again, the instance is back on the same port
    assert main(["neo4j", "start"]) == 0
    assert LocalServer(settings).status().port == status.port


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
