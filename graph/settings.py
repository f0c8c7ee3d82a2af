"""One settings object for the whole project: environment variables over defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = PROJECT_ROOT / "seed"
QUERIES_DIR = PROJECT_ROOT / "queries"

NEO4J_VERSION = "5.26.30"


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        from graph.errors import ConfigError

        raise ConfigError(f"environment variable {name}={raw!r} is not a whole number",
                          hint=f"unset {name} or give it a number, e.g. {name}={default}") from exc


@dataclass(frozen=True)
class Settings:
    # Where the project keeps its own Neo4j install, instances and caches.
    home: Path
    # Which local instance to manage: the demo uses "default", the test suite "test".
    instance: str
    # Set when the user points us at a server we do not manage.
    uri: str | None
    user: str
    password: str | None
    database: str | None
    neo4j_version: str
    heap: str
    pagecache: str
    # None: the port the instance used last time, else 7687.
    preferred_bolt_port: int | None
    batch_size: int
    # Concurrent server transactions for the rows a big CSV / JSON Lines file adds (0: one).
    write_concurrency: int
    query_timeout_s: int
    row_cap: int
    # The console's cost check (graph/reads/console.py): longest range()/UNWIND list and most steps of
    # nested iteration in one expression, most hops of a variable-length pattern, most disconnected
    # pattern parts, deepest nesting of comprehensions; seconds past the timeout before a query
    # the server has not ended is reported as still running.
    query_max_range: int
    query_max_hops: int
    query_max_cartesian: int
    query_max_nesting: int
    query_grace_s: int
    # The query's own size, checked before the server parses it (its parser dies of a
    # StackOverflowError on a few hundred nested parentheses, and planning grows faster than the
    # text): most tokens, deepest nesting (brackets, CASE, NOT/sign runs), most clauses; and the
    # console's own connection pool (apart from the pages').
    query_max_tokens: int
    query_max_depth: int
    query_max_clauses: int
    console_pool: int
    start_timeout_s: int
    # The driver when the server is away (graph/store/db.py), chosen so a page or command says so
    # within 5 s instead of the driver's defaults (30 s, 60 s and 30 s): seconds to open a TCP
    # connection, to wait for a free pooled connection, and for a managed transaction to
    # retry transient failures (a server restarting, a leader election) in all.
    connect_timeout_s: float
    acquire_timeout_s: float
    retry_budget_s: float
    # Downloads (loaders/download.py: attrib load attack, attrib extract URL, attrib load taxii):
    # most megabytes one download or TAXII pull may bring, seconds it may take in all, and seconds
    # one request may wait to connect or for the next bytes; a TAXII pull's most pages and objects.
    download_max_mb: int
    download_deadline_s: int
    download_timeout_s: int
    taxii_max_pages: int
    taxii_max_objects: int

    @property
    def external(self) -> bool:
        return bool(self.uri)

    @property
    def instance_dir(self) -> Path:
        return self.home / "instances" / self.instance

    @property
    def neo4j_dir(self) -> Path:
        return self.home / f"neo4j-{self.neo4j_version}"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def backup_dir(self) -> Path:
        """Where `attrib reset --yes` keeps its automatic backups."""
        return self.home / "backups"

    def with_instance(self, instance: str) -> "Settings":
        return replace(self, instance=instance)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    home = Path(env.get("ATTRIB_HOME") or Path.home() / ".local" / "share" / "attrib").expanduser()
    return Settings(
        home=home,
        instance=env.get("ATTRIB_INSTANCE") or "default",
        uri=env.get("NEO4J_URI") or None,
        user=env.get("NEO4J_USER") or "neo4j",
        password=env.get("NEO4J_PASSWORD") or None,
        database=env.get("NEO4J_DATABASE") or None,
        neo4j_version=env.get("ATTRIB_NEO4J_VERSION") or NEO4J_VERSION,
        heap=env.get("ATTRIB_NEO4J_HEAP") or "512m",
        pagecache=env.get("ATTRIB_NEO4J_PAGECACHE") or "256m",
        preferred_bolt_port=_env_int("ATTRIB_BOLT_PORT", 0) or None,
        batch_size=_env_int("ATTRIB_BATCH_SIZE", 5000),
        write_concurrency=_env_int("ATTRIB_WRITE_CONCURRENCY", 2),
        query_timeout_s=_env_int("ATTRIB_QUERY_TIMEOUT", 10),
        row_cap=_env_int("ATTRIB_ROW_CAP", 5000),
        query_max_range=_env_int("ATTRIB_QUERY_MAX_RANGE", 100_000),
        query_max_hops=_env_int("ATTRIB_QUERY_MAX_HOPS", 10),
        query_max_cartesian=_env_int("ATTRIB_QUERY_MAX_CARTESIAN", 3),
        query_max_nesting=_env_int("ATTRIB_QUERY_MAX_NESTING", 2),
        query_grace_s=_env_int("ATTRIB_QUERY_GRACE", 2),
        query_max_tokens=_env_int("ATTRIB_QUERY_MAX_TOKENS", 3000),
        query_max_depth=_env_int("ATTRIB_QUERY_MAX_DEPTH", 40),
        query_max_clauses=_env_int("ATTRIB_QUERY_MAX_CLAUSES", 60),
        console_pool=_env_int("ATTRIB_CONSOLE_POOL", 4),
        start_timeout_s=_env_int("ATTRIB_START_TIMEOUT", 120),
        connect_timeout_s=2.0,
        acquire_timeout_s=3.0,
        retry_budget_s=3.0,
        download_max_mb=_env_int("ATTRIB_DOWNLOAD_MAX_MB", 1024),
        download_deadline_s=_env_int("ATTRIB_DOWNLOAD_DEADLINE", 900),
        download_timeout_s=_env_int("ATTRIB_DOWNLOAD_TIMEOUT", 60),
        taxii_max_pages=_env_int("ATTRIB_TAXII_MAX_PAGES", 10_000),
        taxii_max_objects=_env_int("ATTRIB_TAXII_MAX_OBJECTS", 2_000_000),
    )
