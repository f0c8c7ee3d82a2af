"""Issue 17: CPU and memory bombs in the read-only console, against the real server with the
seed graph loaded. Each is refused by the cost check or ended by the server (timeout, memory
limit) within the timeout + 2 s; the server's own CPU use (from /proc, not the shared machine's
load) is back to idle within 5 s after; nothing in the graph changes. The watchdog reports a
query the server keeps executing after its timeout; console queries run once (no retries)."""
from __future__ import annotations

import dataclasses
import io
import threading
import time

import pytest

from app.cli import main
from graph.errors import QueryFailed, QueryRefused
from graph.reads.console import run_query, runaway_transactions, transactions
from graph.store import schema
from graph.store.db import connect

TIMEOUT_S = 2
GRACE_S = 2           # the issue's bound: the timeout + 2 s
HEADROOM_S = 3.0      # EXPLAIN and the cost check before the run, on a machine shared by 8 sessions
IDLE_CORES = 0.2      # the server's own CPU use, averaged over 1 s, that counts as idle
IDLE_WITHIN_S = 5

BOMBS = {
    # the two from the issue
    "issue: reduce growing a string over range(1, 30M)":
        "WITH reduce(s = '', i IN range(1, 30000000) | s + 'xxxxxxxxxx') AS big RETURN size(big)",
    "issue: UNWIND range(1, 200M) then collect":
        "UNWIND range(1, 200000000) AS x WITH collect(x) AS xs RETURN size(xs)",
    "nested [x IN range() | [y IN range() | ...]]":
        "RETURN size([x IN range(1, 100000) | [y IN range(1, 100000) | x * y]]) AS n",
    "nested comprehensions, each short, 4M steps":
        "RETURN size([x IN range(1, 2000) | [y IN range(1, 2000) | x + y]]) AS n",
    "comprehensions nested 3 deep":
        "RETURN size([x IN range(1, 50) | [y IN range(1, 50) | [z IN range(1, 50) | x * y * z]]]) AS n",
    "reduce growing a string over collect() of a cartesian product":
        "MATCH (a), (b) WITH collect(a.key + b.key) AS ks RETURN size(reduce(s = '', k IN ks | s + k)) AS n",
    "reduce (numeric) over collect() of a 3-part cartesian product":
        "MATCH (a), (b), (c) WITH collect(a.key + b.key + c.key) AS ks RETURN reduce(n = 0, k IN ks | n + size(k)) AS n",
    "recursion through list functions: a list doubling itself":
        "RETURN size(reduce(l = [1], i IN range(1, 40) | l + l)) AS n",
    "recursion through list functions: power set":
        "RETURN size(reduce(l = [[]], i IN range(1, 25) | l + [x IN l | x + [i]])) AS n",
    "string multiplication via reduce (s + s)":
        "RETURN size(reduce(s = 'x', i IN range(1, 64) | s + s)) AS n",
    "string multiplication via reduce (replace)":
        "RETURN size(reduce(s = 'x', i IN range(1, 60) | replace(s, 'x', 'xx'))) AS n",
    "huge UNWIND of a generated list":
        "UNWIND [x IN range(1, 100000) | x] + [x IN range(1, 100000) | x] AS z RETURN count(z) AS n",
    "huge UNWIND through a parameter":
        "UNWIND range(1, $n) AS x RETURN count(x) AS n",
    "range() with a computed bound":
        "UNWIND range(1, toInteger('9' + '00000000')) AS x RETURN count(x) AS n",
    "unbounded shortestPath over [*]":
        "MATCH (a:Actor), (b:Country) MATCH p = shortestPath((a)-[*]-(b)) RETURN count(p) AS n",
    "unbounded allShortestPaths over [*]":
        "MATCH (a), (b) MATCH p = allShortestPaths((a)-[*]-(b)) RETURN count(p) AS n",
    "quantified path pattern {1,}":
        "MATCH p = (a:Actor)(()--()){1,}(b) RETURN count(p) AS n",
    "variable-length pattern above the bound":
        "MATCH p = (a)-[*..25]-(b) RETURN count(p) AS n",
    "unbounded pattern inside EXISTS":
        "MATCH (a:Actor) WHERE EXISTS { (a)-[*]-(:Country) } RETURN count(a) AS n",
    "size(collect(...)) over MATCH (a), (b), (c)":
        "MATCH (a), (b), (c) RETURN size(collect(a.key + b.key + c.key)) AS n",
    "four disconnected parts":
        "MATCH (a), (b), (c), (d) RETURN count(a.key + b.key + c.key + d.key) AS n",
    "four parts over separate MATCH clauses":
        "MATCH (a) MATCH (b) MATCH (c) MATCH (d) RETURN count(a.key + b.key + c.key + d.key) AS n",
    "every path of up to 10 hops":
        "MATCH p = (a:Actor)-[*..10]-(b) RETURN count(p) AS n",
    "UNWIND x UNWIND: 10^10 rows":
        "WITH range(1, 100000) AS r UNWIND r AS a UNWIND r AS b RETURN count(*) AS n",
    "memory: collect() of 100M integers":
        "UNWIND range(1, 100000) AS x WITH collect([y IN range(1, 1000) | y]) AS xs RETURN size(xs) AS n",
    "nested iteration over a collected range":
        "UNWIND range(1, 100000) AS i WITH collect(i) AS xs RETURN size([a IN xs WHERE any(b IN xs WHERE b = a + 1)]) AS n",
    # issue 26: shapes that passed the check by their spelling or their size
    "issue 26: a backticked `range`(1, 2 * 10^11)":
        "RETURN size([x IN `range`(1, 200000000000) WHERE x = 0]) AS n",
    "issue 26: catastrophic backtracking, 'aaa...a!' =~ '(.*a){12}'":
        "RETURN '" + "a" * 40 + "!' =~ '(.*a){12}' AS n",
    "issue 26: the same regex unrolled, '.*a' 12 times":
        "RETURN '" + "a" * 40 + "!' =~ '" + ".*a" * 12 + "' AS n",
    "issue 26: a list grown lazily through WITH l+l+...+l AS l (10^10 items), one comprehension":
        "WITH [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] AS l " + " ".join(["WITH l+l+l+l+l+l+l+l+l+l AS l"] * 9)
        + " RETURN size([x IN l WHERE x = 0]) AS n",
    "issue 26: reduce doubling a list with ||":
        "RETURN size(reduce(l = [1], i IN range(1, 60) | l || l)) AS n",
    "issue 26: reduce doubling a string with ||":
        "RETURN size(reduce(s = 'x', i IN range(1, 60) | s || s)) AS n",
    "issue 26: 1,500 chained WITH (the server's parser overflows its stack)":
        "WITH 1 AS x " + " ".join(["WITH x AS x"] * 1500) + " RETURN x AS n",
    "issue 26: 5,000 nested parentheses":
        "RETURN " + "(" * 5000 + "1" + ")" * 5000 + " AS n",
    "issue 26: 3,000 NOTs":
        "RETURN " + "NOT " * 3000 + "true AS n",
    "issue 26: 800 chained WITH x + 1 (a plan 800 operators deep)":
        "WITH 1 AS x " + " ".join(["WITH x + 1 AS x"] * 800) + " RETURN x AS n",
    "issue 26: a 120 KB query":
        "RETURN reduce(t = null, y IN [1] | coalesce(" + ", ".join(["(t)"] * 24000) + ")) AS n",
    "issue 26: an infinite parameter":
        "RETURN size(range(1, $n)) AS n",
}
PARAMS = {"huge UNWIND through a parameter": {"n": 1_000_000_000},
          "issue 26: an infinite parameter": {"n": float("inf")}}



def _cpu_rate(server, window_s: float = 0.3) -> float:
    """The server process's own CPU use over the next `window_s`, in cores."""
    before = server.cpu_seconds()
    time.sleep(window_s)
    return (server.cpu_seconds() - before) / window_s


def _back_to_idle(server) -> tuple[float, float]:
    """(seconds until the server's CPU use fell under IDLE_CORES, that use); gives up after
    IDLE_WITHIN_S and returns the last reading."""
    started = time.monotonic()
    rate = _cpu_rate(server)
    while rate >= IDLE_CORES and time.monotonic() - started < IDLE_WITHIN_S:
        rate = _cpu_rate(server)
    return time.monotonic() - started, rate


def test_bomb_corpus(seeded, neo4j_server, settings):
    assert len(BOMBS) >= 15
    local = not settings.external
    before = schema.stats(seeded)
    table, wrong = [], []
    for name, query in BOMBS.items():
        started = time.monotonic()
        try:
            result = run_query(seeded, query, PARAMS.get(name), timeout_s=TIMEOUT_S, row_cap=100,
                               settings=dataclasses.replace(settings, query_grace_s=GRACE_S))
            ended = f"ran: {result.rows[0][0]:,}" if result.rows else "ran: no rows"
        except QueryRefused as exc:
            ended = exc.message
        except QueryFailed as exc:
            ended = exc.message
            if "still executing" in ended or "did not answer" in ended:
                wrong.append(f"{name}: the server kept running it: {ended}")
        took = time.monotonic() - started
        if took > TIMEOUT_S + GRACE_S + HEADROOM_S:
            wrong.append(f"{name}: {took:.1f} s (limit {TIMEOUT_S} + {GRACE_S} s)")
        idle = _back_to_idle(neo4j_server) if local else (0.0, 0.0)
        if idle[1] >= IDLE_CORES:
            wrong.append(f"{name}: the server still used {idle[1]:.2f} cores {IDLE_WITHIN_S} s after")
        table.append(f"| {name} | {ended} | {took:.1f} s | {idle[1]:.2f} cores {idle[0]:.1f} s after |")
    print("\n| query | how it ended | time | server CPU after |\n|---|---|---|---|\n" + "\n".join(table))
    assert not wrong, "\n".join(wrong)
    assert schema.stats(seeded) == before
    assert not runaway_transactions(seeded, settings)


@pytest.mark.parametrize("name", ["issue: reduce growing a string over range(1, 30M)",
                                  "issue: UNWIND range(1, 200M) then collect"])
def test_the_issues_two_queries_are_refused_with_a_reason(seeded, name):
    with pytest.raises(QueryRefused, match=r"^refused: range\(1, \d+\) makes a list of [\d,]+ items \(limit 100,000"):
        run_query(seeded, BOMBS[name])


def test_a_memory_error_is_reported_at_once(seeded, settings):
    """Managed transactions retry MemoryPoolOutOfMemoryError (the driver deems it transient);
    the console's query runs once: the server sees one transaction for it."""
    query = BOMBS["memory: collect() of 100M integers"]
    seen: set[str] = set()
    done = threading.Event()

    def watch():
        while not done.is_set():
            seen.update(t["id"] for t in transactions(seeded, None) if t["query"] == query)
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    try:
        with pytest.raises(QueryFailed, match="more memory than the server allows") as exc:
            run_query(seeded, query, timeout_s=60, settings=settings)
        took = time.monotonic() - started
        time.sleep(1)  # a retry would start within the driver's first back-off (about 1 s)
    finally:
        done.set()
        watcher.join()
    assert len(seen) == 1, f"the server saw {len(seen)} transactions for one console query"
    assert took < 30
    assert "\n" not in exc.value.message and "ATTRIB_NEO4J_HEAP" in exc.value.hint


def test_the_watchdog_reports_a_query_the_server_keeps_running(seeded, settings, cli_env, capsys):
    """A shape the cost check lets through with loosened limits: one expression of 4 * 10^8
    steps (8 s to a minute here, with the machine shared), which the server does not stop at its
    1 s timeout."""
    loose = dataclasses.replace(settings, query_max_range=10**9, query_timeout_s=1, query_grace_s=1)
    query = "RETURN size([x IN range(1, 20000) | size([y IN range(1, 20000) WHERE y = x])]) AS n"
    started = time.monotonic()
    with pytest.raises(QueryFailed, match="still executing it") as exc:
        run_query(seeded, query, settings=loose)
    assert time.monotonic() - started < 1 + 1 + 1 + HEADROOM_S  # + the grace after terminating it
    assert "the console terminated it, the server did not stop" in exc.value.message
    assert "attrib neo4j restart" in exc.value.hint and "\n" not in exc.value.message
    listed = runaway_transactions(seeded, loose)
    assert [t["query"] for t in listed] == [query]
    if not settings.external:
        assert main(["neo4j", "status"]) == 0
        out = capsys.readouterr().out
        assert "1 runaway transaction(s)" in out and listed[0]["id"] in out and "attrib neo4j restart" in out
    deadline = time.monotonic() + 120
    while runaway_transactions(seeded, loose) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not runaway_transactions(seeded, loose)


@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "-inf"])
def test_cli_refuses_a_parameter_that_is_not_a_finite_number(neo4j_server, cli_env, capsys, value):
    cli_env.setattr("sys.stdin", io.StringIO("RETURN size(range(1, $n)) AS n"))
    assert main(["query", "-", "-p", f"n={value}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: refused: parameter $n is ") and "not a finite number" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_a_statement_the_server_never_answers_holds_only_the_consoles_pool(session_db, neo4j_server, settings):
    """5,000 nested parentheses kill the server's parser with a StackOverflowError it never
    reports (let through here by loosened size limits): the console answers by its deadline in one line,
    offering the restart; with its one connection taken it says so at once; the pages'
    connections still answer; closing the connection leaves nothing on the server."""
    loose = dataclasses.replace(settings, query_max_depth=10**6, query_max_tokens=10**6, query_timeout_s=1,
                                query_grace_s=1, console_pool=1)
    db = connect(loose)
    try:
        started = time.monotonic()
        with pytest.raises(QueryFailed) as exc:
            run_query(db, "RETURN " + "(" * 5000 + "1" + ")" * 5000 + " AS n", settings=loose)
        assert time.monotonic() - started < 1 + 1 + 1 + 1 + HEADROOM_S  # + grace to end, + grace to answer
        hint = "attrib neo4j restart" if not settings.external else "administrator to restart"
        assert hint in exc.value.hint and "\n" not in exc.value.message
        started = time.monotonic()
        with pytest.raises(QueryFailed, match="all 1 of the console's connections wait on statements") as exc:
            run_query(db, "RETURN 1 AS n", settings=loose)
        assert time.monotonic() - started < HEADROOM_S
        assert hint in exc.value.hint
        assert db.read("RETURN 1 AS one") == [{"one": 1}]  # the pages' pool
    finally:
        db.close()
    deadline = time.monotonic() + 30
    while runaway_transactions(session_db, loose) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not runaway_transactions(session_db, loose)
    if not settings.external:
        assert _back_to_idle(neo4j_server)[1] < IDLE_CORES
