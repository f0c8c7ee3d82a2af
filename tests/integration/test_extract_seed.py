"""attrib extract against the real graph: the seed article drafts the AstraZeneca incident, loads
through the normal loader, and the engine explains it."""
from __future__ import annotations

import json
import re

import yaml

from app.cli import main
from graph.settings import SEED_DIR
from app.ingest import load_paths
from tests.conftest import REPO, shared_file

ARTICLE = REPO.parent / "shared" / "seed-article.txt"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def seed_draft(db, capsys, bundle) -> dict:
    assert load_paths(db, [SEED_DIR]).ok  # the graph knows Reuters, North Korea, its government
    code, out, err = run(capsys, "extract", str(ARTICLE), "--source", "Reuters", "--date", "2020-11-27",
                         "--attack", str(bundle), "--json")
    assert code == 0, err
    return json.loads(out)


def test_seed_article_drafts_loads_and_explains(db, cli_env, capsys, tmp_path):
    shared_file("..", "seed-article.txt")
    bundle = shared_file("attack", "enterprise-attack-15.1.json.gz")
    out = seed_draft(db, capsys, bundle)
    draft, record = out["drafts"][0], out["records"]["incidents"][0]
    key = record["key"]
    assert re.fullmatch(r"report:seed-article-[0-9a-f]{8}", key)
    assert record["victims"]["organizations"] == [{"name": "AstraZeneca", "country": "GB", "sector": "pharmaceuticals"}]
    assert "GB" in record["victims"]["countries"] and "pharmaceuticals" in record["victims"]["sectors"]
    assert (record["first_seen"], record["last_seen"]) == ("2020-11", "2020-11-27")
    scores = [t["score"] for t in draft["techniques"]]
    assert scores == sorted(scores, reverse=True)

    claims = [c for c in draft["claims"] if c["selected"]]
    reuters = [c for c in claims if (c["source"], c["stance"], c["actor"]) == ("src:reuters", "attributes", "state:KP")]
    assert reuters and "North Korean hackers were suspected" in reuters[0]["sentence"]
    denial = [c for c in claims if (c["stance"], c["actor"]) == ("denies", "state:KP")]
    assert [c["source"] for c in denial] == ["src:dprk-government"]
    assert denial[0]["sentence"].startswith("Pyongyang described the allegations")
    # an actor the text names is a claim, never an evidence item
    assert not any(i["kind"] == "tool" and "Korea" in i["value"] for i in draft["items"])

    out_file = tmp_path / "astrazeneca.yaml"
    code, _, err = run(capsys, "extract", str(ARTICLE), "--source", "Reuters", "--date", "2020-11-27",
                       "--attack", str(bundle), "-o", str(out_file), "--load")
    assert code == 0, err
    assert "1 file(s) loaded" in err and "0 refused" in err
    assert "# " in out_file.read_text()  # the sentences as comments

    code, out, err = run(capsys, "explain", key)
    assert code == 0, err
    assert "Reuters" in out and "North Korea" in out and "Pyongyang described the allegations" in out

    code, out, err = run(capsys, "hypotheses", key, "--blind", "--json")
    assert code == 0, err
    assert json.loads(out)["hypotheses"]


def test_seed_article_fake_job_offers_are_recognised_as_techniques(db, cli_env, capsys):
    """Done when: "fake job offers on LinkedIn/WhatsApp recognised as techniques" (the recogniser
    of loaders/reports/techniques.py trained on the shared ATT&CK bundle)."""
    shared_file("..", "seed-article.txt")
    out = seed_draft(db, capsys, shared_file("attack", "enterprise-attack-15.1.json.gz"))
    techniques = {t["value"]: t for t in out["drafts"][0]["techniques"] if t["selected"]}
    assert "T1566.003" in techniques, out["drafts"][0]["techniques"]
    assert "LinkedIn" in techniques["T1566.003"]["sentence"]
    assert "T1566.003" in out["records"]["incidents"][0]["techniques"]


def test_extract_from_stdin_without_a_model_or_graph_names(cli_env, capsys, monkeypatch, tmp_path):
    import io
    import sys

    monkeypatch.setenv("ATTRIB_HOME", str(tmp_path / "home"))  # no cached ATT&CK bundle here
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(
        b"Hackers linked to APT99 breached a Polish bank via hxxps://login-bank[.]com/x.\n")))
    code, out, err = run(capsys, "extract", "-", "--date", "2021-02-03")
    assert code == 0, err
    assert "techniques are not recognised" in err
    doc = yaml.safe_load(out)
    incident = doc["incidents"][0]
    assert incident["victims"]["countries"] == ["PL"]
    assert {"kind": "url", "value": "https://login-bank.com/x"} in incident["infrastructure"]
    assert doc["claims"][0]["actor"] == "actor:apt99"
