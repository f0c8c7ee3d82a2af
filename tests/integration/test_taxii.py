"""`attrib load taxii` against a real TAXII 2.1 server: medallion (memory backend) on 127.0.0.1."""
from __future__ import annotations

import json
import shutil
import threading

import pytest

from app.cli import main
from graph.store import schema
from loaders import taxii
from loaders.download import DownloadError
from tests.conftest import html_server

medallion = pytest.importorskip("medallion")
from werkzeug.serving import make_server  # noqa: E402  (comes with medallion's Flask)

USERS = {"reader": "s3cret"}
PAGE = 4  # the server's max_page_size: smaller than the collection, so pulls take several pages
MAIN = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
OTHER = "52892447-4d7e-4f70-b94d-d7f22742ff63"
BROKEN = "64993447-4d7e-4f70-b94d-d7f22742ff63"
EARLY, LATE = "2024-01-01T00:00:00.000Z", "2024-06-01T00:00:00.000Z"
T0 = "2023-05-01T00:00:00.000Z"


def _obj(kind: str, n: int, **props) -> dict:
    return {"type": kind, "spec_version": "2.1", "id": f"{kind}--00000000-0000-4000-8000-{n:012d}",
            "created": T0, "modified": T0, **props}


def _rel(n: int, rtype: str, src: dict, dst: dict) -> dict:
    return _obj("relationship", n, relationship_type=rtype, source_ref=src["id"], target_ref=dst["id"])


def _attack(tid: str) -> list[dict]:
    return [{"source_name": "mitre-attack", "external_id": tid,
             "url": f"https://attack.mitre.org/techniques/{tid.replace('.', '/')}"}]


VENDOR = _obj("identity", 1, name="Example Vendor", identity_class="organization")
GROUP = _obj("intrusion-set", 2, name="Example Group", aliases=["EXAMPLE PANDA"], created_by_ref=VENDOR["id"])
RAT = _obj("malware", 3, name="ExampleRAT", is_family=True, created_by_ref=VENDOR["id"])
PHISH = _obj("attack-pattern", 4, name="Spearphishing Attachment", external_references=_attack("T1566.001"),
             kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}])
CAMPAIGN = _obj("campaign", 5, name="Operation Example", first_seen="2023-03-01T00:00:00.000Z",
                created_by_ref=VENDOR["id"])
FIRST = [VENDOR, GROUP, RAT, PHISH, CAMPAIGN,
         _rel(6, "uses", CAMPAIGN, RAT), _rel(7, "attributed-to", CAMPAIGN, GROUP),
         _rel(8, "uses", GROUP, PHISH), _rel(9, "uses", RAT, PHISH)]
# added later and self-contained, so an --added-after pull is a complete bundle
SHELL = _obj("attack-pattern", 10, name="Command and Scripting Interpreter", external_references=_attack("T1059"),
             kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "execution"}])
LATE_TOOL = _obj("tool", 11, name="LateTool")
SECOND = [SHELL, LATE_TOOL, _rel(12, "uses", LATE_TOOL, SHELL)]
DANGLING = [RAT, _obj("relationship", 13, relationship_type="uses", source_ref=RAT["id"],
                      target_ref="attack-pattern--00000000-0000-4000-8000-999999999999")]


def _collection(cid: str, title: str, dated: list[tuple[list[dict], str]]) -> dict:
    objects = [obj for objs, _ in dated for obj in objs]
    manifest = [{"id": obj["id"], "date_added": when, "version": obj["modified"],
                 "media_type": "application/stix+json;version=2.1"} for objs, when in dated for obj in objs]
    return {"id": cid, "title": title, "can_read": True, "can_write": False,
            "media_types": ["application/stix+json;version=2.1"], "objects": objects, "manifest": manifest}


@pytest.fixture(scope="module")
def taxii_server(tmp_path_factory, settings):
    """medallion's Flask app served by werkzeug in a thread; yields the base URL (and removes the
    bundles `attrib load taxii` cached from it)."""
    app = medallion.application_instance
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    data = {
        "/discovery": {"title": "attrib test TAXII server", "default": f"{base}/api1/",
                       "api_roots": [f"{base}/api1/", f"{base}/api2/"]},
        "api1": {"information": {"title": "API 1", "versions": ["application/taxii+json;version=2.1"],
                                 "max_content_length": 9765625},
                 "status": [],
                 "collections": [_collection(MAIN, "Fake recruiters", [(FIRST, EARLY), (SECOND, LATE)]),
                                 _collection(BROKEN, "Broken bundle", [(DANGLING, EARLY)])]},
        "api2": {"information": {"title": "API 2", "versions": ["application/taxii+json;version=2.1"],
                                 "max_content_length": 9765625},
                 "status": [],
                 "collections": [_collection(OTHER, "Other feed", [(SECOND, EARLY)])]},
    }
    path = tmp_path_factory.mktemp("taxii") / "data.json"
    path.write_text(json.dumps(data))
    config = {"users": USERS, "taxii": {"max_page_size": PAGE},
              "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                          "filename": str(path)}}
    for part in ("users", "taxii", "backend"):
        medallion.set_config(app, part, config)
    medallion.register_blueprints(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    shutil.rmtree(settings.cache_dir / "taxii" / f"127.0.0.1-{server.server_port}", ignore_errors=True)


@pytest.fixture(scope="module")
def not_taxii():
    """A plain web server answering every GET with an HTML page."""
    with html_server("<html><body>not a TAXII server</body></html>") as base:
        yield f"{base}/taxii2/"


def _load(*args: str) -> int:
    return main(["load", "taxii", *args, "--user", "reader", "--password", USERS["reader"]])


def test_pull_pages_through_a_collection(taxii_server):
    seen = []
    pulled = taxii.pull(f"{taxii_server}/taxii2/", collection=MAIN, user="reader", password="s3cret",
                        page_size=PAGE, progress=lambda n, pages: seen.append((n, pages)))
    assert pulled.title == "Fake recruiters"
    assert pulled.pages == 3 and seen == [(4, 1), (8, 2), (12, 3)]
    assert sorted(o["id"] for o in pulled.objects) == sorted(o["id"] for o in FIRST + SECOND)


def test_load_collection_by_title_from_discovery_url_twice_changes_nothing(taxii_server, db, cli_env, capsys):
    assert _load(f"{taxii_server}/taxii2/", "--collection", "fake RECRUITERS") == 0
    err = capsys.readouterr().err
    assert "12 objects in 3 page(s)" in err and "REFUSED" not in err
    counts = schema.stats(db)
    assert counts["nodes"]["Incident"] == 1 and counts["nodes"]["Tool"] == 2
    assert counts["nodes"]["Technique"] == 3  # T1566.001, its parent T1566, T1059
    claim = db.read("MATCH (c:Claim)-[:NAMES]->(a:Actor) MATCH (c)-[:ABOUT]->(i:Incident) "
                    "RETURN a.name AS actor, i.name AS incident, c.stance AS stance")
    assert claim == [{"actor": "Example Group", "incident": "Operation Example", "stance": "attributes"}]
    assert _load(f"{taxii_server}/taxii2/", "--collection", "Fake recruiters") == 0
    assert "created 0 nodes and 0 relationships" in capsys.readouterr().err
    assert schema.stats(db) == counts


def test_load_by_id_from_api_root_added_after(taxii_server, db, cli_env, capsys):
    assert _load(f"{taxii_server}/api1/", "--collection", MAIN, "--added-after", "2024-03-01") == 0
    assert "3 objects in 1 page(s)" in capsys.readouterr().err
    names = {r["name"] for r in db.read("MATCH (n) WHERE n:Tool OR n:Technique OR n:Incident RETURN n.name AS name")}
    assert names == {"LateTool", "Command and Scripting Interpreter"}


def test_a_bad_bundle_is_refused_whole(taxii_server, db, cli_env, capsys):
    assert _load(f"{taxii_server}/api1/", "--collection", BROKEN) == 1
    err = capsys.readouterr().err
    assert "REFUSED" in err and "not in this bundle" in err
    assert sum(schema.stats(db)["nodes"].values()) == 0


@pytest.mark.parametrize("args, expected, hint", [
    (["--password", "wrong"], "refused access (HTTP 401)", "check --user and --password"),
    (["--collection", "no-such-feed"], "no readable collection is called 'no-such-feed'", "--collection"),
    ([], "offers 3 readable collections", "choose one with --collection"),
])
def test_refusals_are_one_clear_error(taxii_server, db, cli_env, capsys, args, expected, hint):
    url = f"{taxii_server}/taxii2/"
    argv = ["load", "taxii", url, "--user", "reader", "--password", USERS["reader"], *args]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert expected in err and url in err and hint in err and "Traceback" not in err
    assert sum(schema.stats(db)["nodes"].values()) == 0


def test_unknown_api_root_is_404(taxii_server, cli_env, capsys):
    url = f"{taxii_server}/no-such-root/"
    assert _load(url) == 1
    err = capsys.readouterr().err
    assert f"nothing at {url} (HTTP 404)" in err and "discovery URL" in err


def test_not_a_taxii_server(not_taxii, cli_env, capsys):
    assert _load(not_taxii) == 1
    err = capsys.readouterr().err
    assert f"{not_taxii} does not answer as a TAXII 2.1 server" in err and "Traceback" not in err


def test_unreachable_server(cli_env, capsys):
    with pytest.raises(DownloadError, match="cannot reach the TAXII server at http://127.0.0.1:9/taxii2/"):
        taxii.pull("http://127.0.0.1:9/taxii2/")


def test_added_after_must_be_a_date():
    assert taxii.added_after_timestamp("2024-03-01") == "2024-03-01T00:00:00Z"
    assert taxii.added_after_timestamp("2024-03-01T10:00:00.5Z") == "2024-03-01T10:00:00.5Z"
    with pytest.raises(DownloadError, match="not a date"):
        taxii.added_after_timestamp("last tuesday")
