"""`attrib load attack`: the real download code path against a local HTTP server on 127.0.0.1."""
from __future__ import annotations

import functools
import gzip
import http.server
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.cli import main
from graph.settings import load_settings
from graph.store import schema
from loaders.download import DownloadError, Limits, attack_url, cache_name, fetch, fetch_attack
from tests.conftest import REPO, hostile_server, shared_file

QUICK = Limits(max_bytes=2**20, deadline_s=10, timeout_s=2)


class Handler(http.server.SimpleHTTPRequestHandler):
    served: list[tuple[str, int]] = []  # (path, status) of every request

    def log_request(self, code="-", size="-"):
        Handler.served.append((self.path, int(code)))

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/www on 127.0.0.1 (a free port); yields (base URL, directory)."""
    www = tmp_path / "www"
    www.mkdir()
    Handler.served = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", www, httpd
    stop(httpd)


def stop(httpd) -> None:
    if not getattr(httpd, "stopped", False):
        httpd.shutdown()
        httpd.server_close()
        httpd.stopped = True


def drop_cached(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".meta.json").unlink(missing_ok=True)


def test_cli_load_attack_url_downloads_caches_and_loads(db, cli_env, capsys, server):
    base, www, _ = server
    (www / "ics-attack.json").write_bytes(shared_file("attack", "ics-attack-15.1.json").read_bytes())
    url = f"{base}/ics-attack.json"
    cached = load_settings().cache_dir / "attack" / cache_name(url)
    try:
        assert main(["load", "attack", "--url", url]) == 0
        err = capsys.readouterr().err
        assert "downloaded" in err and str(cached) in err
        assert Handler.served == [("/ics-attack.json", 200)]
        assert cached.read_bytes() == (www / "ics-attack.json").read_bytes()
        stats = schema.stats(db)
        assert stats["nodes"]["Actor"] == 15 and stats["nodes"]["Technique"] == 83

        # second call: the cache answers (the server only confirms it is unchanged), same graph
        assert main(["load", "attack", "--url", url]) == 0
        assert "unchanged since the cached copy" in capsys.readouterr().err
        assert Handler.served[1] == ("/ics-attack.json", 304)
        assert schema.stats(db) == stats

        # the file is gone from the server: a refresh fails loudly and names the error
        (www / "ics-attack.json").unlink()
        assert main(["load", "attack", "--url", url, "--refresh"]) == 1
        assert "HTTP 404" in capsys.readouterr().err
    finally:
        drop_cached(cached)


def test_cli_load_attack_refuses_a_bad_download_and_forgets_it(db, cli_env, capsys, server):
    base, www, _ = server
    (www / "broken.json").write_text('{"type": "bundle", "objects": [')
    url = f"{base}/broken.json"
    cached = load_settings().cache_dir / "attack" / cache_name(url)
    assert main(["load", "attack", "--url", url]) == 1
    assert "invalid JSON" in capsys.readouterr().err
    assert not cached.exists()  # a bad file does not stay in the cache
    assert schema.stats(db) == {"nodes": {}, "relationships": {}}


def test_fetch_pinned_release_is_served_from_the_cache(server, tmp_path):
    base, www, _ = server
    data = gzip.compress(json.dumps({"type": "bundle", "objects": []}).encode())
    (www / "enterprise-attack.json.gz").write_bytes(data)
    url = f"{base}/enterprise-attack.json.gz"
    seen = []
    first = fetch(url, tmp_path / "cache", name="enterprise-attack-15.1.json.gz", pinned=True,
                  progress=lambda done, total: seen.append((done, total)))
    assert first.status == "downloaded" and first.path.read_bytes() == data
    assert seen[-1] == (len(data), len(data))
    again = fetch(url, tmp_path / "cache", name="enterprise-attack-15.1.json.gz", pinned=True)
    assert again.status == "cached" and again.path == first.path
    assert len(Handler.served) == 1  # no second request at all
    refreshed = fetch(url, tmp_path / "cache", name="enterprise-attack-15.1.json.gz", pinned=True, refresh=True)
    assert refreshed.status == "downloaded" and len(Handler.served) == 2


def test_attack_release_urls_and_errors(tmp_path):
    assert attack_url("enterprise", "15.1") == \
        "https://raw.githubusercontent.com/mitre/cti/ATT%26CK-v15.1/enterprise-attack/enterprise-attack.json"
    assert attack_url("ics") == "https://raw.githubusercontent.com/mitre/cti/master/ics-attack/ics-attack.json"
    with pytest.raises(DownloadError):
        attack_url("enterprise", "latest; rm -rf /")
    with pytest.raises(DownloadError, match="only http and https"):
        fetch_attack(tmp_path, url="file:///etc/passwd")
    with pytest.raises(DownloadError, match="failed"):
        fetch("http://127.0.0.1:9/nothing.json", tmp_path, limits=QUICK)  # nothing listens on port 9
    assert cache_name("http://x/a/enterprise-attack.json").endswith("-enterprise-attack.json")
    assert cache_name("http://x/download?id=3").endswith(".json")
    assert Path(cache_name("http://x/y.json.gz")).suffixes[-2:] == [".json", ".gz"]


def test_offline_falls_back_to_the_cached_copy(server, tmp_path):
    base, www, httpd = server
    (www / "ics.json").write_text('{"type": "bundle", "objects": []}')
    first = fetch(f"{base}/ics.json", tmp_path)
    assert first.status == "downloaded"
    stop(httpd)  # the network is gone
    again = fetch(f"{base}/ics.json", tmp_path, limits=QUICK)
    assert again.status == "stale" and again.path == first.path
    with pytest.raises(DownloadError, match="failed"):
        fetch(f"{base}/never-fetched.json", tmp_path, limits=QUICK)


# -- hostile servers: every behaviour ends in one DownloadError within the limits, no file left ----
SMALL = Limits(max_bytes=2**20, deadline_s=3, timeout_s=1)


@pytest.fixture(scope="module")
def hostile():
    with hostile_server() as base:
        yield base


@pytest.mark.parametrize("path, expected", [
    ("/endless", "more than 1 MB (ATTRIB_DOWNLOAD_MAX_MB)"),         # no length, never ends
    ("/announced", "more than 1 MB (ATTRIB_DOWNLOAD_MAX_MB)"),       # Content-Length: 10 GB
    ("/drip", "stopped after 3 s (ATTRIB_DOWNLOAD_DEADLINE)"),       # one byte every 0.5 s
    ("/stall", "the transfer stopped after 0.0 MB (no data for 1 s, ATTRIB_DOWNLOAD_TIMEOUT)"),  # headers, then nothing
    ("/redirect-ftp", "redirects to 'ftp://127.0.0.1/x.json': only http and https"),
    ("/redirect-loop", "redirects more than 10 times"),
])
def test_a_hostile_server_ends_in_one_error_and_leaves_no_file(hostile, tmp_path, path, expected):
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        fetch(f"{hostile}{path}", tmp_path, limits=SMALL)
    assert expected in str(caught.value)
    assert time.monotonic() - started < SMALL.deadline_s + SMALL.timeout_s + 1
    assert list(tmp_path.iterdir()) == []


def test_cli_download_limits_come_from_the_settings(hostile, cli_env, capsys, tmp_path):
    cli_env.setenv("ATTRIB_HOME", str(tmp_path))
    cli_env.setenv("ATTRIB_DOWNLOAD_MAX_MB", "2")
    assert main(["load", "attack", "--url", f"{hostile}/endless"]) == 1
    err = capsys.readouterr().err
    assert "more than 2 MB (ATTRIB_DOWNLOAD_MAX_MB); stopped" in err and "Traceback" not in err
    assert [p.name for p in (tmp_path / "cache" / "attack").iterdir()] == []


def test_partial_files_of_a_killed_download_are_removed_by_the_next(hostile, server, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    code = ("import sys; from pathlib import Path; from loaders.download import fetch, Limits; "
            "fetch(sys.argv[1], Path(sys.argv[2]), limits=Limits(2**40, 600, 60))")
    proc = subprocess.Popen([sys.executable, "-c", code, f"{hostile}/endless", str(cache)], cwd=REPO)
    try:
        deadline = time.monotonic() + 30
        while not list(cache.glob(".part-*")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(cache.glob(".part-*")), "the download never started"
    finally:
        proc.kill()
        proc.wait()
    assert list(cache.glob(".part-*"))  # a killed process cannot clean up after itself
    base, www, _ = server
    (www / "ics.json").write_text('{"type": "bundle", "objects": []}')
    assert fetch(f"{base}/ics.json", cache, limits=QUICK).status == "downloaded"
    assert sorted(p.name for p in cache.iterdir()) == sorted([cache_name(f"{base}/ics.json"),
                                                                 cache_name(f"{base}/ics.json") + ".meta.json"])


def test_an_interrupted_download_keeps_the_cached_copy(hostile, tmp_path):
    """A limit hit on a re-download refuses it; the copy cached before stays as it was."""
    url = f"{hostile}/endless"
    cached = tmp_path / cache_name(url)
    cached.write_text("{}")
    cached.with_name(cached.name + ".meta.json").write_text(json.dumps({"url": url}))
    with pytest.raises(DownloadError, match="ATTRIB_DOWNLOAD_MAX_MB"):
        fetch(url, tmp_path, limits=SMALL)
    assert cached.read_text() == "{}" and not list(tmp_path.glob(".part-*"))


def test_a_report_url_is_capped_at_what_extract_reads(hostile, tmp_path):
    from loaders.reports.inputs import MAX_BYTES, read_report

    with pytest.raises(DownloadError) as caught:
        read_report(f"{hostile}/endless", cache_dir=tmp_path)
    assert f"more than {MAX_BYTES // 2**20} MB (the most attrib extract reads); stopped" in str(caught.value)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
