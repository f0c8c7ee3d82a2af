"""The console's cost check on query text and plan details alone (no server): graph/reads/console.py."""
from __future__ import annotations

import pytest

from graph.errors import QueryRefused
from graph.reads.console import CostLimits, _cartesian_parts, _Cost, _max_hops, check_text

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
