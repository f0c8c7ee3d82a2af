"""`attrib load` and `attrib extract` on special files: one line each, no hang (a child process
with a time and memory limit, so a regression fails instead of hanging)."""
from __future__ import annotations

import os

from graph.store import schema
from tests.unit.test_special_inputs import bounded

CLI = "from app.cli import main; raise SystemExit(main())"


def test_cli_refuses_special_files_in_one_line(db, cli_env, tmp_path):
    fifo, link = tmp_path / "feed.json", tmp_path / "zero.yaml"
    os.mkfifo(fifo)
    link.symlink_to("/dev/zero")
    for argv, refused in ([["load", str(fifo)], f"{fifo}: is a named pipe (FIFO), not a regular file"],
                          [["load", str(link)], f"{link}: is a character device, not a regular file"],
                          [["extract", str(link)], f"{link}: is a character device, not a regular file"]):
        out, took = bounded(CLI, *argv, stderr=True)
        lines = [line for line in out.splitlines() if refused in line]
        assert len(lines) == 1, out
        assert took < 30
    assert schema.stats(db) == {"nodes": {}, "relationships": {}}
