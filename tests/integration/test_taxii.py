"""`attrib load taxii` against a real TAXII 2.1 server: medallion (memory backend) on 127.0.0.1."""
from __future__ import annotations

import dataclasses
import http.server
import json
import shutil
import threading
import time
import tracemalloc

import pytest

from app.cli import main
from graph.settings import load_settings
from graph.store import schema
from loaders import taxii
from loaders.download import DownloadError
from tests.conftest import hostile_server, html_server

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
    return main(["load", "taxii", *args, "--user", "reader"])


@pytest.fixture
def cli_env(cli_env):
    """The password as the CLI takes it: from the environment, never from argv."""
    cli_env.setenv("ATTRIB_TAXII_PASSWORD", USERS["reader"])
    return cli_env


def test_pull_pages_through_a_collection(taxii_server, tmp_path):
    seen = []
    pulled = taxii.pull(f"{taxii_server}/taxii2/", tmp_path, collection=MAIN, user="reader", password="s3cret",
                        page_size=PAGE, progress=lambda n, pages: seen.append((n, pages)))
    assert pulled.title == "Fake recruiters"
    assert pulled.pages == 3 and seen == [(4, 1), (8, 2), (12, 3)] and pulled.objects == 12
    bundle = json.loads(pulled.path.read_text())
    assert pulled.path.parent.parent == tmp_path / "taxii" and bundle["type"] == "bundle"
    assert sorted(o["id"] for o in bundle["objects"]) == sorted(o["id"] for o in FIRST + SECOND)
    assert [p.name for p in pulled.path.parent.iterdir()] == ["fake-recruiters.json"]


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


@pytest.mark.parametrize("password, args, expected, hint", [
    ("wrong", [], "refused access (HTTP 401)", "check --user and $ATTRIB_TAXII_PASSWORD"),
    (USERS["reader"], ["--collection", "no-such-feed"], "no readable collection is called 'no-such-feed'",
     "--collection"),
    (USERS["reader"], [], "offers 3 readable collections", "choose one with --collection"),
])
def test_refusals_are_one_clear_error(taxii_server, db, cli_env, capsys, password, args, expected, hint):
    url = f"{taxii_server}/taxii2/"
    cli_env.setenv("ATTRIB_TAXII_PASSWORD", password)
    argv = ["load", "taxii", url, "--user", "reader", *args]
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


def test_unreachable_server(cli_env, capsys, tmp_path):
    with pytest.raises(DownloadError, match="cannot reach the TAXII server at http://127.0.0.1:9/taxii2/"):
        taxii.pull("http://127.0.0.1:9/taxii2/", tmp_path)


def test_the_password_is_never_an_argument(taxii_server, cli_env, capsys):
    with pytest.raises(SystemExit):
        main(["load", "taxii", f"{taxii_server}/taxii2/", "--user", "reader", "--password", "s3cret"])
    assert "unrecognized arguments: --password" in capsys.readouterr().err


def test_added_after_must_be_a_date():
    assert taxii.added_after_timestamp("2024-03-01") == "2024-03-01T00:00:00Z"
    assert taxii.added_after_timestamp("2024-03-01T10:00:00.5Z") == "2024-03-01T10:00:00.5Z"
    with pytest.raises(DownloadError, match="not a date"):
        taxii.added_after_timestamp("last tuesday")


# -- hostile TAXII servers: each behaviour ends in one DownloadError, within the caps, no file left ------
def _hostile_objects(kind: str, page: int):
    """(envelope bytes) of page `page` of the misbehaving collection `kind`."""
    one = json.dumps(_obj("tool", page, name=f"Tool {page}"))
    if kind == "endless-pages":   # more: true for ever, one object a page
        return f'{{"more": true, "next": "{page + 1}", "objects": [{one}]}}'.encode()
    if kind == "empty-more":      # empty pages that say more follow
        return f'{{"more": true, "next": "{page + 1}", "objects": []}}'.encode()
    if kind == "list":            # an envelope that is a JSON list
        return f"[{one}]".encode()
    if kind == "many":            # one page of 5,000 objects
        return ('{"more": false, "objects": [' + ", ".join(
            json.dumps(_obj("tool", n, name=f"Tool {n}")) for n in range(5000)) + "]}").encode()
    raise AssertionError(kind)


BIG_OBJECTS = 10_000  # ~4.5 MB of envelope


@pytest.fixture(scope="module")
def hostile_taxii():
    """A TAXII 2.1 API root on 127.0.0.1 whose collections misbehave; yields its URL."""
    kinds = ["endless-pages", "empty-more", "list", "many", "stall", "big"]

    class Handler(http.server.BaseHTTPRequestHandler):

        def send(self, body: bytes | None, length: bool = True):
            self.send_response(200)
            self.send_header("Content-Type", taxii.MEDIA_TYPE)
            if length and body is not None:
                self.send_header("Content-Length", str(len(body)))
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self):
            path, _, query = self.path.partition("?")
            parts = path.strip("/").split("/")
            if parts == ["api"]:
                return self.send(b'{"title": "hostile", "versions": ["application/taxii+json;version=2.1"]}')
            if parts == ["api", "collections"]:
                return self.send(json.dumps({"collections": [
                    {"id": k, "title": k, "can_read": True, "can_write": False} for k in kinds]}).encode())
            kind = parts[2]
            if kind == "stall":
                self.send(None, length=False)
                time.sleep(5)
            elif kind == "big":  # streamed without a length
                self.send(None, length=False)
                self.wfile.write(b'{"more": false, "objects": [')
                for n in range(BIG_OBJECTS):
                    obj = _obj("tool", n, name=f"Tool {n}", description="x" * 300)
                    self.wfile.write((", " if n else "").encode() + json.dumps(obj).encode())
                self.wfile.write(b"]}")
            else:
                page = int(dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("next", "0"))
                self.send(_hostile_objects(kind, page))

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api/"
    server.shutdown()
    server.server_close()


HOSTILE_SETTINGS = dict(taxii_max_pages=30, taxii_max_objects=1000, download_timeout_s=1, download_deadline_s=20)


@pytest.mark.parametrize("collection, expected", [
    ("endless-pages", "more than 30 pages (ATTRIB_TAXII_MAX_PAGES); stopped"),
    ("empty-more", "page 1 came back empty but says more follow; stopped"),
    ("list", "the server sent a JSON array, not a TAXII envelope (a JSON object)"),
    ("many", "more than 1000 objects (ATTRIB_TAXII_MAX_OBJECTS); stopped"),
    ("stall", "no data for 1 s, ATTRIB_DOWNLOAD_TIMEOUT"),
])
def test_a_hostile_collection_ends_in_one_error_and_leaves_no_file(hostile_taxii, tmp_path, collection, expected):
    settings = dataclasses.replace(load_settings(), **HOSTILE_SETTINGS)
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        taxii.pull(hostile_taxii, tmp_path, collection=collection, settings=settings)
    assert expected in str(caught.value)
    assert time.monotonic() - started < 10
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_an_endless_discovery_document_is_cut(tmp_path):
    with hostile_server() as base:
        started = time.monotonic()
        with pytest.raises(DownloadError, match="an answer of more than 16 MB; stopped"):
            taxii.pull(f"{base}/discovery-endless/", tmp_path)
    assert time.monotonic() - started < 20


def test_a_big_envelope_is_streamed_to_the_bundle(hostile_taxii, tmp_path):
    """~4.5 MB in one page: objects go to the file as they are parsed (json.load of the page would
    hold it all, several times its size)."""
    tracemalloc.start()
    try:
        pulled = taxii.pull(hostile_taxii, tmp_path, collection="big")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert pulled.objects == BIG_OBJECTS and pulled.path.stat().st_size > 4e6
    assert peak < 2e6, f"peak {peak / 1e6:.1f} MB"
    assert len(json.loads(pulled.path.read_text())["objects"]) == BIG_OBJECTS
