"""The console's cost check on query text and plan details alone (no server): graph/reads/console.py."""
from __future__ import annotations

import dataclasses
import time

import pytest

from graph.errors import QueryRefused
from graph.reads.console import (CostLimits, _cartesian_parts, _Cost, _max_hops, _operators, check_params,
                                 check_text)

LIMITS = CostLimits(max_range=100_000, max_hops=10, max_cartesian=3, max_nesting=2, max_tokens=1_000_000,
                    max_depth=40, max_clauses=60)


def cost(text: str, params: dict | None = None, rows: int = 200) -> None:
    _Cost(text, params or {}, LIMITS, rows).check()


@pytest.mark.parametrize("text, reason", [
    ("WITH reduce(s = '', i IN range(1, 30000000) | s + 'xxxxxxxxxx') AS big RETURN size(big)",
     "range(1, 30000000) makes a list of 30,000,000 items"),
    ("UNWIND range(1, 200000000) AS x WITH collect(x) AS xs RETURN size(xs)", "200,000,000 items"),
    ("RETURN range(0, 1000000, 5) AS r", "200,001 items"),
    ("RETURN range(1, $n) AS r", "1,000,000 items"),
    ("RETURN range(1, 1e9) AS r", "1,000,000,000 items"),
    ("UNWIND range(1, toInteger('1' + '000000000')) AS x RETURN x", "not numbers or $parameters"),
    ("RETURN [i IN range(0, size($xs) - 1) | i] AS r", "not numbers or $parameters"),
    ("RETURN range(1, $missing) AS r", "not numbers or $parameters"),
    ("RETURN size([x IN range(1, 1000) | [y IN range(1, 1000) | x * y]]) AS n", "1,000,000 steps"),
    ("RETURN any(x IN range(1, 1000) WHERE any(y IN range(1, 1000) WHERE x = y)) AS n", "1,000,000 steps"),
    ("RETURN [x IN range(1, 1000) | range(1, 1000)] AS n", "1,000,000 steps"),
    ("RETURN [a IN [1, 2] | [b IN [1, 2] | [c IN [1, 2] | a + b + c]]] AS n", "nested 3 deep"),
    ("RETURN reduce(s = 'x', i IN range(1, 40) | s + s) AS s", "grows its string or list `s`"),
    ("RETURN reduce(s = 'x', i IN range(1, 40) | replace(s, 'x', 'xx')) AS s", "grows"),
    ("RETURN reduce(l = [], i IN range(1, 10) | [l, i]) AS l", "grows"),
    ("MATCH (a:Actor) RETURN reduce(s = '', x IN a.aliases | s + x) AS y", "grows"),
    ("UNWIND [x IN range(1, 100000) | x] + [y IN range(1, 100000) | y] AS z RETURN z", "UNWIND of a list of 200,000"),
    ("UNWIND [" + ", ".join(["1"] * 100_001) + "] AS z RETURN z", "UNWIND of a list of 100,001"),
    # a list collected from a range is as long as the range, whatever the planner guesses
    ("UNWIND range(1, 100000) AS i WITH collect(i) AS xs RETURN [a IN xs | [b IN xs WHERE a = b]] AS n",
     "10,000,000,000 steps"),
])
def test_refused_with_a_one_line_reason(text, reason):
    with pytest.raises(QueryRefused, match="^refused: ") as exc:
        cost(text, {"n": 1_000_000, "xs": [1, 2]})
    assert reason in exc.value.message and "\n" not in exc.value.message


@pytest.mark.parametrize("text", [
    "RETURN range(1, 100000) AS r",
    "RETURN range(1, $n) AS r",
    "RETURN range(-5, -1) AS r, range(10, 1, -1) AS s",
    "RETURN reduce(total = 0, x IN range(1, 100000) | total + x) AS n",
    "RETURN reduce(total = 0.0, x IN $xs | total + x) AS n",
    "RETURN reduce(n = size($xs), x IN $xs | n + x) AS n",
    "MATCH (a:Actor) RETURN reduce(longest = '', x IN a.aliases | CASE WHEN size(x) > size(longest) THEN x ELSE longest END) AS y",
    "RETURN [x IN range(1, 300) | [y IN range(1, 300) | x * y]] AS grid",
    "MATCH (n) WITH collect(n.key) AS ks RETURN [a IN ks | [b IN ks WHERE b > a]] AS pairs",
    "UNWIND [1, 2, 3] AS x RETURN x",
    "MATCH (a:Actor) RETURN [x IN a.aliases WHERE x STARTS WITH 'A' | toLower(x)] AS names",
    "RETURN {range: 1}.range AS r, 'range(1, 99999999)' AS text",
    "MATCH (n) RETURN n.range AS r",
])
def test_allowed(text):
    cost(text, {"n": 1000, "xs": [1, 2, 3]})


def test_unknown_lists_count_as_the_plans_row_estimate():
    nested = "MATCH (n) WITH collect(n.key) AS ks RETURN [a IN ks | [b IN ks | a + b]] AS pairs"
    cost(nested, rows=300)  # 90,000 steps
    with pytest.raises(QueryRefused, match="unknown length counted as 20,000"):
        cost(nested, rows=20_000)


def test_stored_lists_count_as_short():
    """Lists read from the graph (properties, nodes(p)) are bounded by the data, not the query."""
    cost("MATCH (t:Technique) RETURN [p IN t.platforms | [d IN t.data_sources | p + d]] AS x", rows=20_000)
    cost("MATCH p = (a)-[*..3]-(b) RETURN [n IN nodes(p) | [l IN labels(n) | l]] AS x", rows=20_000)
    with pytest.raises(QueryRefused, match="about 2,000,000 steps"):
        cost("MATCH (t:Technique) WITH collect(t.key) AS ks, t RETURN [x IN ks | [p IN t.platforms | x + p]]",
             rows=2_000_000)


@pytest.mark.parametrize("details, hops", [
    ("(a)-[anon_0*]-(b)", None),
    ("(a)-[anon_0:USES*2..]->(b)", None),
    ("(a)-[*..2147483647]->(b) ", None),
    ("SHORTEST 1 (a) ((`anon_3`)-[`anon_4`]->(`anon_5`)){1, } (b)", None),
    ("p = (a)-[anon_0*..8]-(b)", 8),
    ("p = (a)-[anon_2:USES*2..30]->(b) WHERE all(x IN relationships(p) WHERE x.y = $autostring_0)", 30),
    ("(a)-[anon_1*3]-(b)", 3),
    ("SHORTEST 1 (a) ((`x`)-[`r`]->(`y`)){1, 4} (b)", 4),
])
def test_variable_length_bounds_in_plan_details(details, hops):
    assert _max_hops(details) == (True, hops)


def test_plain_expand_details_are_not_variable_length():
    assert _max_hops("(a)-[anon_0:USES]->(t)") == (False, None)


def test_cartesian_parts_count_disconnected_parts():
    scan = {"operatorType": "AllNodesScan@neo4j"}
    two = {"operatorType": "CartesianProduct@neo4j", "children": [scan, scan]}
    four = {"operatorType": "CartesianProduct@neo4j", "children": [two, two]}
    joined = {"operatorType": "ValueHashJoin@neo4j", "children": [two, scan]}
    assert _cartesian_parts(scan) == 1 and _cartesian_parts(two) == 2
    assert _cartesian_parts({"operatorType": "ProduceResults", "children": [four]}) == 4
    assert _cartesian_parts(joined) == 2


@pytest.mark.parametrize("text, hinted", [
    ("CREATE (n:Actor {key: 'x'})", False),
    ("MATCH (a) SET a.x = 1", False),
    ("MATCH (n) DETACH DELETE n", False),
    ("MATCH (set:Actor) RETURN set.name", True),
    ("MATCH (n) RETURN n AS use", True),
    ("MATCH (n) WITH n, set RETURN n", True),
])
def test_backtick_hint_only_where_the_word_could_be_a_name(text, hinted):
    with pytest.raises(QueryRefused) as exc:
        check_text(text)
    assert ("quote it in `backticks`" in exc.value.message) == hinted


# -- issue 26: shapes that passed by their spelling, sizes the server cannot parse, parameters -----
SERVER_LIMITS = dataclasses.replace(LIMITS, max_tokens=3000)
TEN = "[" + ", ".join(str(i) for i in range(10)) + "]"


def with_chain(n: int, step: str = "WITH x + 1 AS x") -> str:
    return "WITH 1 AS x " + " ".join([step] * n) + " RETURN x"


@pytest.mark.parametrize("text, params, reason", [
    ("RETURN size([x IN `range`(1, 200000000000) WHERE x = 0]) AS n", {}, "makes a list of 200,000,000,000 items"),
    ("RETURN size([x IN `RANGE` (1, $n) WHERE x = 0]) AS n", {"n": 10**9}, "makes a list of 1,000,000,000 items"),
    ("RETURN 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' =~ '(.*a){12}' AS m", {}, "is itself repeated"),
    ("MATCH (a:Actor) WHERE a.name =~ '(?i)(a+)+b' RETURN a.key", {}, "is itself repeated"),
    ("RETURN 'aaaa!' =~ '(a|aa)*c' AS m", {}, "is itself repeated"),
    ("RETURN 'aaaa!' =~ ('((.*a){12})') AS m", {}, "is itself repeated"),
    ("RETURN 'aaaa!' =~ $p AS m", {"p": "(x*)*y"}, "is itself repeated"),
    ("RETURN 'aaaa!' =~ '.*a.*a.*a.*a.*a.*a!' AS m", {}, "more than 3 unbounded quantifiers"),
    ("RETURN 'aa' =~ '(a*)\\\\1b' AS m", {}, "backreference"),
    ("RETURN 'aaaa' =~ ('(.*a)' + '{12}') AS m", {}, "must be a string literal or a text $parameter"),
    ("MATCH (a:Actor) RETURN a.name =~ a.key AS m", {}, "must be a string literal or a text $parameter"),
    ("WITH " + TEN + " AS l " + " ".join(["WITH l+l+l+l+l+l+l+l+l+l AS l"] * 9) + " RETURN size([x IN l WHERE x = 0])",
     {}, "makes a list or text of about 1,000,000 items"),
    ("MATCH (n) WITH collect(n.key) AS l WITH l + l + l + l + l + l + l + l + l + l AS l "
     "WITH l || l || l || l || l || l || l || l || l || l AS l RETURN [x IN l WHERE x IS NULL]",
     {}, "makes a list or text of about 200,000 items"),
    ("WITH 'xxxxxxxxxx' AS s " + " ".join(["WITH s+s+s+s+s+s+s+s+s+s AS s"] * 9) + " RETURN size(s)",
     {}, "makes a list or text of about 1,000,000 items"),
    ("RETURN size(reduce(l = [1], i IN range(1, 60) | l || l)) AS n", {}, "grows its string or list `l`"),
    ("RETURN size(reduce(s = 'x', i IN range(1, 60) | s||s)) AS n", {}, "grows its string or list `s`"),
    ("RETURN size(reduce(s = 'x', i IN range(1, 60) | `s` || 'x')) AS n", {}, "grows its string or list `s`"),
    ("RETURN range(1, 1e400) AS r", {}, "not numbers or $parameters"),
])
def test_structure_not_spelling(text, params, reason):
    with pytest.raises(QueryRefused, match="^refused: ") as exc:
        cost(text, params, rows=2000)
    assert reason in exc.value.message and "\n" not in exc.value.message


@pytest.mark.parametrize("text", [
    "MATCH (a:Actor) WHERE a.name =~ '(?i).*lazarus.*' RETURN a.key",
    "RETURN 'APT28' =~ '^APT\\\\d+$' AS m, 'ab' =~ '(ab){3}' AS n, 'x' =~ '[(]+x*' AS o",
    "MATCH (a:Actor) WHERE a.name =~ $p RETURN a.key",
    "RETURN [1, 2] || [3] AS l, 'a' || 'b' AS s",
    "WITH [1, 2, 3] AS l WITH l + l AS l RETURN [x IN l | x * 2] AS doubled",
    "MATCH (n) WITH collect(n.key) AS ks RETURN [k IN ks | k] AS keys, ks + ['x'] AS more",
    "RETURN `size`([1, 2]) AS n, `toUpper`('x') AS u",
])
def test_structure_allowed(text):
    cost(text, {"p": "(?i)lazarus.*"}, rows=2000)


@pytest.mark.parametrize("text, reason", [
    (with_chain(1500, "WITH x AS x"), "has more than 3,000 tokens"),
    ("RETURN " + "(" * 5000 + "1" + ")" * 5000 + " AS x", "has more than 3,000 tokens"),
    (with_chain(800), "has more than 3,000 tokens"),
    ("RETURN " + "1 + " * 100_000 + "1 AS x", "has more than 3,000 tokens"),
    ("RETURN " + "(" * 41 + "1" + ")" * 41 + " AS x", "nests more than 40 levels deep"),
    ("RETURN " + "[" * 41 + "1" + "]" * 41 + " AS x", "nests more than 40 levels deep"),
    ("RETURN " + "NOT " * 41 + "true AS x", "nests more than 40 levels deep"),
    ("RETURN " + "- " * 41 + "1 AS x", "nests more than 40 levels deep"),
    ("RETURN " + "CASE WHEN true THEN " * 41 + "1" + " END" * 41 + " AS x", "nests more than 40 levels deep"),
    (with_chain(60), "has more than 60 clauses"),
])
def test_too_big_for_the_servers_parser_is_refused_in_one_pass(text, reason):
    """1,500 chained WITH or 5,000 nested parentheses killed the server's parser with a
    StackOverflowError it never reported (the client waited forever); 800 chained WITH made a
    plan deep enough for a RecursionError in the check. Refused before the server sees them."""
    started = time.monotonic()
    with pytest.raises(QueryRefused, match="^refused: the query ") as exc:
        check_text(text, SERVER_LIMITS)
    assert reason in exc.value.message and "\n" not in exc.value.message
    assert time.monotonic() - started < 1.0


def test_the_saved_queries_fit_the_size_limits():
    from graph.reads import saved_queries

    for q in saved_queries.list_queries():
        check_text(q.cypher, SERVER_LIMITS)


def test_deep_plans_are_walked_without_recursion():
    """A plan 5,000 operators deep (800 chained WITH made one 800 deep): no RecursionError."""
    plan: dict = {"operatorType": "AllNodesScan@neo4j"}
    for _ in range(5000):
        plan = {"operatorType": "Projection@neo4j", "children": [plan]}
    plan = {"operatorType": "CartesianProduct@neo4j", "children": [plan, {"operatorType": "Argument"}]}
    assert _cartesian_parts(plan) == 2
    assert sum(1 for _ in _operators(plan)) == 5003


def test_the_check_is_linear_in_the_query():
    """A 120 KB query took 18 s of client CPU (a pass per name over every bracket pair); the
    check's passes are linear: eight times the text costs about eight times the time, not 64."""
    def timed(n: int) -> float:
        text = "RETURN reduce(t = null, y IN [1] | coalesce(" + ", ".join(["(t)"] * n) + ")) AS r"
        started = time.perf_counter()
        cost(text, rows=10)
        return time.perf_counter() - started

    small, big = min(timed(1000) for _ in range(3)), min(timed(8000) for _ in range(2))
    assert big < 24 * small + 0.3, f"{small:.3f} s for 1,000 names, {big:.3f} s for 8,000"
    started = time.perf_counter()
    with pytest.raises(QueryRefused, match="more than 3,000 tokens"):
        check_text("RETURN " + ", ".join(f"[x IN [1] | x] AS c{i}" for i in range(6000)), SERVER_LIMITS)
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("params, reason", [
    ({"n": float("inf")}, "$n is inf (not a finite number)"),
    ({"n": float("nan")}, "$n is nan (not a finite number)"),
    ({"n": float("1e400")}, "$n is inf"),
    ({"n": 2**70}, "$n does not fit a 64-bit integer"),
    ({"xs": [1.0, float("-inf")]}, "$xs[1] is -inf"),
    ({"m": {"a": [float("nan")]}}, "$m.a[0] is nan"),
    ({"xs": list(range(100_001))}, "more than 100,000 items"),
    ({"xs": [[1] * 60_000, [2] * 60_000]}, "more than 100,000 items"),
    ({"s": "x" * 1_000_001}, "$s is 1,000,001 characters long"),
])
def test_parameters_are_checked(params, reason):
    with pytest.raises(QueryRefused, match="^refused: ") as exc:
        check_params(params, LIMITS)
    assert reason in exc.value.message


def test_reasonable_parameters_pass():
    check_params({"n": 5, "f": 0.5, "s": "Lazarus", "xs": list(range(1000)), "b": True, "none": None,
                  "m": {"k": [1, 2]}}, LIMITS)
