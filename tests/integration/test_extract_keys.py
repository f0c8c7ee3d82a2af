"""`attrib extract --load` against the real graph: pasted texts without a key become incidents of their
own, and a draft is never loaded silently into an incident that is already there."""
from __future__ import annotations

import io
import sys

from app.cli import main

# Two pastes that start with the same words (the key's words are alike, its hash is not).
WATER = ("Hackers broke into the network of a water utility in February 2022 through "
         "hxxps://water-portal[.]info/login and encrypted its servers.")
RAIL = "Hackers broke into the network of a railway operator in April 2023 from 45.77.12[.]9 and stole passenger data."
INCIDENT = """
MATCH (i:Incident {key: $key})
OPTIONAL MATCH (i)-[r]-()
RETURN i.first_seen AS first_seen, count(r) AS links,
       [(i)-[:USED]->(x:Infrastructure) | x.key] AS infrastructure
"""


def paste(monkeypatch, capsys, text: str, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code = main(["extract", "-", "--load", *argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_two_pasted_texts_without_keys_load_as_two_incidents(db, cli_env, capsys):
    assert paste(cli_env, capsys, WATER)[0] == 0
    assert paste(cli_env, capsys, RAIL)[0] == 0
    rows = db.read("MATCH (i:Incident) RETURN i.key AS key, i.first_seen AS first_seen ORDER BY first_seen")
    assert [r["first_seen"] for r in rows] == ["2022-02-01", "2023-04-01"], rows
    assert all(r["key"].startswith("report:hackers-broke-into-the-network-of-a-") for r in rows)


def test_loading_onto_an_existing_key_is_refused_without_merge(db, cli_env, capsys):
    assert paste(cli_env, capsys, WATER, "--key", "report:utility")[0] == 0
    before = db.read(INCIDENT, {"key": "report:utility"})

    code, err = paste(cli_env, capsys, RAIL, "--key", "report:utility")
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "report:utility is already in the graph" in errors[0] and "not loaded" in errors[0]
    assert "--merge" in err
    assert db.read(INCIDENT, {"key": "report:utility"}) == before  # nothing written
    assert db.read("MATCH (i:Incident) RETURN count(i) AS n")[0]["n"] == 1

    code, err = paste(cli_env, capsys, RAIL, "--key", "report:utility", "--merge")
    assert code == 0, err
    after = db.read(INCIDENT, {"key": "report:utility"})[0]
    assert set(after["infrastructure"]) == {"url:https://water-portal.info/login", "ip:45.77.12.9"}
    assert after["links"] > before[0]["links"]

    assert paste(cli_env, capsys, RAIL)[0] == 0  # without a key: an incident of its own
    code, err = paste(cli_env, capsys, RAIL)  # the same text again gets the same key: refused
    assert code == 1 and "already in the graph" in err and "file(s) loaded" not in err
    assert db.read("MATCH (i:Incident) RETURN count(i) AS n")[0]["n"] == 2
