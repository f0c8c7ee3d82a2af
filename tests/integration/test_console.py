"""The read-only console: saved queries, the refusal corpus, and `attrib query`."""
from __future__ import annotations

import json
import shlex

import pytest

from app.cli import main
from graph import cypher
from graph.errors import QueryFailed, QueryRefused, ValidationError
from graph.reads import saved_queries
from graph.reads.console import check_plan, run_query
from graph.settings import PROJECT_ROOT
from graph.store import schema



# -- the refusal corpus ------------------------------------------------------------------------------
REFUSED = {
    "create": "CREATE (n:Actor {key: 'x', name: 'x'}) RETURN n",
    "merge": "MERGE (n:Actor {key: 'state:KP'}) RETURN n",
    "set": "MATCH (a:Actor) SET a.name = 'pwned' RETURN a",
    "delete": "MATCH (c:Claim) DELETE c",
    "detach delete": "MATCH (n) DETACH DELETE n",
    "remove": "MATCH (a:Actor) REMOVE a.name RETURN a",
    "foreach": "MATCH (a:Actor) WITH collect(a) AS xs FOREACH (x IN xs | SET x.y = 1)",
    "create index": "CREATE INDEX pwn FOR (n:Actor) ON (n.kind)",
    "drop index": "DROP INDEX actor_name",
    "create constraint": "CREATE CONSTRAINT pwn FOR (n:Tool) REQUIRE n.name IS UNIQUE",
    "drop constraint": "DROP CONSTRAINT actor_key",
    "create user": "CREATE USER mallory SET PASSWORD 'secret123' CHANGE NOT REQUIRED",
    "alter user": "ALTER USER neo4j SET PASSWORD 'changed123'",
    "drop database": "DROP DATABASE neo4j",
    "create database": "CREATE DATABASE other",
    "grant": "GRANT ROLE admin TO mallory",
    "show users": "SHOW USERS",
    "show transactions": "SHOW TRANSACTIONS",
    "terminate": "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "use system": "USE system MATCH (n) RETURN n",
    "load csv": "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
    "load csv url": "LOAD CSV WITH HEADERS FROM 'https://example.org/x.csv' AS row RETURN row",
    "in transactions": "CALL { MATCH (n) RETURN n } IN TRANSACTIONS OF 10 ROWS RETURN count(n)",
    "in transactions write": "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS",
    "apoc procedure": "CALL apoc.create.node(['X'], {}) YIELD node RETURN node",
    "apoc function": "RETURN apoc.text.join(['a', 'b'], ',') AS x",
    "dbms kill": "CALL dbms.killQueries(['query-1'])",
    "dbms config": "CALL dbms.setConfigValue('db.logs.query.enabled', 'OFF')",
    "dbms procedures": "CALL dbms.procedures()",
    "db.createLabel": "CALL db.createLabel('Pwned')",
    "backticked procedure": "CALL `db`.`createLabel`('Pwned')",
    "db function": "RETURN db.nameFromElementId('x') AS n",
    "write behind union": "MATCH (a:Actor) RETURN a.name AS x UNION MATCH (b:Actor) SET b.name = 'x' RETURN b.name AS x",
    "write behind union all": "RETURN 1 AS x UNION ALL CREATE (n) RETURN 2 AS x",
    "two statements": "MATCH (n) RETURN count(n); CREATE (m:Actor {key: 'y'})",
    "comment hides nothing": "MATCH (n) /* just a comment */ CREATE (m) RETURN m",
    "line comment then write": "MATCH (n) // harmless\nCREATE (m) RETURN m",
    "unicode line separator in comment": "MATCH (n) RETURN n // note\u2028CREATE (m)",
    "lowercase": "create (n:Actor {key: 'lower'}) return n",
    "mixed case": "mErGe (n:Actor {key: 'mixed'}) ReTuRn n",
    "nbsp whitespace": "CREATE\u00a0(n:Actor {key: 'nbsp'}) RETURN n",
    "ideographic space": "MATCH\u3000(n) DETACH\u3000DELETE n",
    "zero-width space": "CRE\u200bATE (n)",
    "fullwidth letters": "\uff23\uff32\uff25\uff21\uff34\uff25 (n)",
    "explain prefix": "EXPLAIN CREATE (n)",
    "profile prefix": "PROFILE MATCH (n) RETURN n",
    "cypher options": "CYPHER runtime=slotted MATCH (n) DELETE n",
    "write in subquery": "MATCH (a:Actor) CALL (a) { SET a.x = 1 } RETURN a",
    "write in call subquery with union": "CALL () { RETURN 1 AS x UNION MATCH (n) DELETE n RETURN 2 AS x } RETURN x",
}


def stats(db):
    return schema.stats(db)


def test_refusal_corpus_is_refused_and_graph_unchanged(seeded):
    before = stats(seeded)
    assert before["nodes"].get("Actor")
    wrong = []
    for name, query in REFUSED.items():
        try:
            result = run_query(seeded, query, timeout_s=5, row_cap=100)
        except QueryRefused as exc:
            assert "\n" not in exc.message and exc.message, name
            continue
        except QueryFailed as exc:
            wrong.append(f"{name}: failed instead of refused: {exc}")
            continue
        wrong.append(f"{name}: ran and returned {len(result.rows)} rows")
    assert not wrong, "\n".join(wrong)
    assert stats(seeded) == before


def test_blow_ups_hit_the_cap_or_the_timeout(seeded):
    """What the cost check lets through is bounded by the row cap and the timeout
    (tests/integration/test_console_bombs.py has what it refuses)."""
    before = stats(seeded)
    capped = run_query(seeded, "UNWIND range(1, 100000) AS x RETURN x", timeout_s=5, row_cap=1000)
    assert capped.truncated and len(capped.rows) == 1000
    assert any("row cap" in n for n in capped.notices)
    cartesian = "MATCH (a), (b), (c) RETURN a.key, b.key, c.key"
    capped = run_query(seeded, cartesian, timeout_s=5, row_cap=500)
    assert capped.truncated and len(capped.rows) == 500
    with pytest.raises(QueryFailed, match="transaction timeout"):
        run_query(seeded, "WITH range(1, 100000) AS r UNWIND r AS a UNWIND r AS b RETURN count(*) AS n",
                  timeout_s=2, row_cap=100)
    assert stats(seeded) == before


@pytest.mark.parametrize("query", [
    "CREATE (n:Actor {key: 'plan'}) RETURN n",
    "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
    "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "SHOW TRANSACTIONS",
    "CALL db.createLabel('Pwned')",
    "CALL { MATCH (n) RETURN n } IN TRANSACTIONS RETURN count(n)",
    "CREATE INDEX pwn FOR (n:Actor) ON (n.kind)",
    "SHOW USERS",
])
def test_the_plan_check_refuses_on_its_own(seeded, query):
    """Layer 2 without layer 1: what the tokenizer refuses, the EXPLAIN plan refuses too."""
    with pytest.raises(QueryRefused):
        check_plan(seeded.explain(query))


def test_the_read_transaction_refuses_writes_on_its_own(seeded):
    """Layer 3 without layers 1 and 2: the server rejects a write in a READ transaction."""
    from neo4j.exceptions import Neo4jError

    from graph.errors import DatabaseError

    with pytest.raises((Neo4jError, DatabaseError), match="(?i)write|read"):
        seeded.execute_read(lambda tx: tx.run("CREATE (n:Actor {key: 'rtx'})").consume())
    assert not seeded.read("MATCH (n:Actor {key: 'rtx'}) RETURN n")


def test_allowed_queries_run(seeded):
    labels = run_query(seeded, "CALL db.labels()")
    assert "Actor" in [r[0] for r in labels.rows]
    types = run_query(seeded, "CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType")
    assert "STATED_BY" in [r[0] for r in types.rows]
    viz = run_query(seeded, "CALL db.schema.visualization()")
    assert viz.columns == ["nodes", "relationships"] and viz.rows
    plain = run_query(seeded, "MATCH (a:Actor {key: $k}) RETURN a.name AS name, a // SET in a comment",
                      {"k": "attack:G0032"})
    assert plain.rows[0][0] == "Lazarus Group"
    assert [n.name for n in plain.graph.nodes] == ["Lazarus Group"]
    strings = run_query(seeded, "RETURN 'CREATE (n); DROP x' AS s, {set: 1}.set AS t")
    assert strings.rows == [["CREATE (n); DROP x", 1]]
    assert run_query(seeded, "RETURN date.truncate('month', date('2020-11-27')) AS d").rows == [["2020-11-01"]]


def test_one_line_errors(seeded):
    with pytest.raises(QueryFailed) as exc:
        run_query(seeded, "MATC (n) RETURN n")
    assert exc.value.message.startswith("Cypher syntax error") and "\n" not in exc.value.message
    assert len(exc.value.message) < 200
    with pytest.raises(QueryFailed, match="Expected parameter"):
        run_query(seeded, "RETURN $missing AS x")


# -- saved queries ----------------------------------------------------------------------------------
def _col(result, name):
    i = result.columns.index(name)
    return [r[i] for r in result.rows]


EXPECT = {
    "actors_sharing_tool": lambda r: ("Lazarus Group" in _col(r, "actor") + _col(r, "other_actor")
                                      and r.graph.nodes),
    "actors_sharing_infrastructure": lambda r: _col(r, "kind")[0] == "domain",
    "incidents_using_technique": lambda r: "AstraZeneca fake-recruiter approach" in _col(r, "incident"),
    "incident_claims": lambda r: set(_col(r, "stance")) == {"attributes", "denies"},
    "source_claims": lambda r: set(_col(r, "source")) == {"Microsoft"} and "CERIUM" in _col(r, "actor"),
    "denials": lambda r: set(_col(r, "stance")) <= {"denies", "disputes"} and "North Korea" in _col(r, "actor"),
    "alias_lookup": lambda r: _col(r, "actor") == ["Lazarus Group"],
    "actors_targeting": lambda r: "Lazarus Group" in _col(r, "actor"),
    "rarest_tools_of_actor": lambda r: _col(r, "tool")[0] and _col(r, "other_actors") == sorted(_col(r, "other_actors")),
    "shortest_path_actor_victim": lambda r: _col(r, "hops")[0] >= 1 and _col(r, "via")[0][-1] == "AstraZeneca",
    "incidents_overlapping": lambda r: min(_col(r, "shared_techniques")) >= 2,
    "competing_claims": lambda r: any("AstraZeneca" in i for i in _col(r, "incident")),
    "changed_since": lambda r: min(_col(r, "date")) >= "2020-11-01",
    "incident_neighbourhood": lambda r: len(r.graph.nodes) >= 10 and r.graph.edges,
    "actor_profile": lambda r: "ZINC" in _col(r, "aliases")[0],
}


def test_saved_queries_parse_and_are_enough():
    queries = saved_queries.list_queries()
    assert len(queries) >= 12
    for q in queries:
        assert q.title and q.description, q.name
        assert q.name in EXPECT, f"add an expectation for the saved query {q.name}"


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_saved_query_runs_on_the_seed(seeded, name):
    """Every saved query passes the console's checks, the cost check included, and still
    returns what it should."""
    q = saved_queries.get(name)
    result = run_query(seeded, q.cypher, q.bind({}))
    assert result.rows, f"{name} returned nothing on the seed graph"
    assert EXPECT[name](result), f"{name}: unexpected result {result.rows[:3]}"


def test_header_validation(tmp_path):
    ok = "// title: T\n// description: D\n//   more\n// param: n int = 3 -- how many\nRETURN $n AS n\n"
    q = saved_queries.parse(ok, "ok")
    assert q.description == "D more" and q.param("n").default == 3
    assert q.bind({"n": "7"}) == {"n": 7}
    with pytest.raises(ValidationError, match="not a int"):
        q.bind({"n": "seven"})
    with pytest.raises(ValidationError, match="unknown parameter"):
        q.bind({"m": "1"})
    bad = {
        "no title": "// description: D\nRETURN 1",
        "undeclared": "// title: T\n// description: D\nRETURN $x",
        "unused": "// title: T\n// description: D\n// param: x int = 1\nRETURN 1",
        "bad type": "// title: T\n// description: D\n// param: x integer = 1\nRETURN $x",
        "bad default": "// title: T\n// description: D\n// param: x int = seven\nRETURN $x",
    }
    for why, text in bad.items():
        with pytest.raises(ValidationError):
            saved_queries.parse(text, why)
    required = saved_queries.parse("// title: T\n// description: D\n// param: since date\nRETURN $since", "r")
    with pytest.raises(ValidationError, match="needs parameter since"):
        required.bind({})
    assert required.bind({"since": "2020-11"}) == {"since": "2020-11"}


# -- the command line -------------------------------------------------------------------------------
def test_cli_query(seeded, cli_env, capsys, tmp_path):
    assert main(["query", "incident_claims", "--param", "incident=AstraZeneca", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["stance"] for r in out["rows"]} == {"attributes", "denies"}

    assert main(["query", "denials", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("date,stance,source,actor")

    f = tmp_path / "mine.cypher"
    f.write_text("MATCH (a:Actor) WHERE a.name = $name RETURN a.key AS key")
    assert main(["query", str(f), "-p", "name=CERIUM", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == [{"key": "actor:cerium"}]

    assert main(["query", "incident_claims", "--param", "nope=1"]) == 1
    err = capsys.readouterr().err
    assert "unknown parameter(s) nope" in err and "Traceback" not in err

    assert main(["query", "no_such_query"]) == 1
    assert "no saved query named" in capsys.readouterr().err

    cli_env.setattr("sys.stdin", __import__("io").StringIO("MATCH (n) DETACH DELETE n"))
    assert main(["query", "-"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: refused") and "Traceback" not in err

    assert main(["query", "--list"]) == 0
    assert "incident_claims" in capsys.readouterr().out


def _readme_console_commands() -> list[str]:
    """The `attrib query` lines of the console page of the manual ([--json|--csv] spelled out)."""
    page = (PROJECT_ROOT / "docs" / "console.md").read_text(encoding="utf-8")
    section = page.split("# Saved queries and the read-only console", 1)[1].split("\n## ", 1)[0]
    lines = []
    for line in section.splitlines():
        line = line.split("  #")[0].strip()
        if "attrib query" not in line or line.startswith(("`", "|")):
            continue
        if "[--json|--csv]" in line:
            base = line.replace(" [--json|--csv]", "")
            lines += [base, base + " --json", base + " --csv"]
        else:
            lines.append(line)
    return lines


def test_readme_console_examples_run(seeded, cli_env, capsys, tmp_path):
    commands = _readme_console_commands()
    assert len(commands) >= 5, commands
    cli_env.chdir(tmp_path)
    (tmp_path / "my.cypher").write_text("MATCH (al:Alias)-[:NAMES]->(a:Actor) WHERE al.key = toLower($name) "
                                        "RETURN a.name AS actor", encoding="utf-8")
    for command in commands:
        stdin, _, command = command.rpartition("| ")
        if stdin:
            text = shlex.split(stdin)[1]
            cli_env.setattr("sys.stdin", __import__("io").StringIO(text))
        argv = shlex.split(command)[1:]
        assert main(argv) == 0, command
        captured = capsys.readouterr()
        assert captured.out.strip() and "error" not in captured.err, command
    assert run_query(seeded, cypher.CONSOLE_EXAMPLE).rows
