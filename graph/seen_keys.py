"""A set of record keys that may outgrow memory: the loaders use it to find duplicate keys in a file,
the bulk importer to write each node once."""
from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path


class SeenKeys:
    """Keys already defined in one file; `add` returns the record that first used the key,
    or None if it is new. On disk for streamed files, so millions of records do not hold
    their keys in memory."""

    def __init__(self, on_disk: bool = False):
        self._dir = tempfile.TemporaryDirectory(prefix="attrib-keys-") if on_disk else None
        self._db = sqlite3.connect(Path(self._dir.name) / "keys.sqlite" if self._dir else ":memory:")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        # WITHOUT ROWID: the key index is the table (one B-tree to insert into, not two)
        self._db.execute("CREATE TABLE seen (kind TEXT, key TEXT, record TEXT, PRIMARY KEY (kind, key)) "
                         "WITHOUT ROWID")

    def add(self, kind: str, key: str, record: str) -> str | None:
        try:
            self._db.execute("INSERT INTO seen VALUES (?, ?, ?)", (kind, key, record))
            return None
        except sqlite3.IntegrityError:
            return self._db.execute("SELECT record FROM seen WHERE kind = ? AND key = ?",
                                    (kind, key)).fetchone()[0]

    def add_all(self, kind: str, keys: list[str], records: list[str]) -> bool:
        """Add many keys at once if none of them is in yet (True); else add none (False), so
        the record-by-record `add` can name the first repeated one."""
        known = self._db.execute("SELECT count(*) FROM seen WHERE kind = ? AND key IN "
                                 "(SELECT value FROM json_each(?))", (kind, json.dumps(keys))).fetchone()[0]
        if known:
            return False
        self._db.executemany("INSERT INTO seen VALUES (?, ?, ?)", zip([kind] * len(keys), keys, records))
        return True

    def first(self, kind: str, keys: list[str]) -> set[str]:
        """The keys not added before, now added (with no record)."""
        known = {key for (key,) in self._db.execute("SELECT key FROM seen WHERE kind = ? AND key IN "
                                                    "(SELECT value FROM json_each(?))", (kind, json.dumps(keys)))}
        fresh = set(keys) - known
        self._db.executemany("INSERT INTO seen VALUES (?, ?, '')", zip([kind] * len(fresh), fresh))
        return fresh

    def close(self) -> None:
        self._db.close()
        if self._dir:
            self._dir.cleanup()
