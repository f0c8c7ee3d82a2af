"""The hostile-server table (issue 26): `attrib load attack --url`, `attrib load taxii` and
`attrib extract` against misbehaving servers on 127.0.0.1 and special local files, each run as a
child process; prints behaviour, outcome (the last line said), wall time, peak memory (RSS) and
what was left in the cache.

    python -m tests.benchmarks.hostile_feeds [--code DIR] [--only NAME ...] [--cap S]

--code runs another checkout (e.g. the code before the fix) with this one's servers; --cap ends a
child after S seconds (default 120). Each run gets its own empty ATTRIB_HOME.
"""
from __future__ import annotations

import argparse
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.conftest import REPO, hostile_server

CLI = "from app.cli import main; raise SystemExit(main())"
TOOL = {"type": "tool", "spec_version": "2.1", "created": "2023-05-01T00:00:00.000Z",
        "modified": "2023-05-01T00:00:00.000Z"}
API_ROOT = b'{"title": "hostile", "versions": ["application/taxii+json;version=2.1"], "max_content_length": 9765625}'


def _tool(n: int, pad: int = 0) -> bytes:
    return json.dumps({**TOOL, "id": f"tool--00000000-0000-4000-8000-{n:012d}", "name": f"Tool {n}",
                       **({"description": "x" * pad} if pad else {})}).encode()


class Taxii(http.server.BaseHTTPRequestHandler):
    """An API root (/api/) whose collections misbehave (named by the behaviour)."""
    kinds = ["endless-pages", "empty-more", "list", "stall", "big", "endless-root"]
    big_mb = 500

    def _head(self, length: int | None = None):
        self.send_response(200)
        self.send_header("Content-Type", "application/taxii+json;version=2.1")
        self.send_header("Content-Length", str(length)) if length is not None else \
            self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, body: bytes):
        self._head(len(body))
        self.wfile.write(body)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        try:
            if parts == ["api"]:
                return self._send(API_ROOT)
            if parts == ["endless-root"]:  # a discovery document that never ends
                self._head()
                self.wfile.write(b'{"title": "')
                while True:
                    self.wfile.write(b"a" * 65536)
            if parts == ["api", "collections"]:
                return self._send(json.dumps({"collections": [
                    {"id": k, "title": k, "can_read": True, "can_write": False} for k in self.kinds]}).encode())
            kind = parts[2]
            page = int(dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("next", "0"))
            if kind == "endless-pages":
                self._send(b'{"more": true, "next": "%d", "objects": [%s]}' % (page + 1, _tool(page)))
            elif kind == "empty-more":
                self._send(b'{"more": true, "next": "%d", "objects": []}' % (page + 1))
            elif kind == "list":
                self._send(b"[" + _tool(1) + b"]")
            elif kind == "stall":
                self._head()
                time.sleep(3600)
            elif kind == "big":
                self._head()
                self.wfile.write(b'{"more": false, "objects": [')
                one = len(_tool(0, 1000))
                for n in range(self.big_mb * 2**20 // one):
                    self.wfile.write((b", " if n else b"") + _tool(n, 1000))
                self.wfile.write(b"]}")
        except OSError:
            pass  # the client gave up

    def log_message(self, *args):
        pass


def serve_taxii() -> tuple[str, http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Taxii)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def run(argv: list[str], code: Path, cap: float, env: dict | None = None) -> dict:
    """One child: (its last stderr line, seconds, peak RSS MB, bytes and files left in ATTRIB_HOME)."""
    with tempfile.TemporaryDirectory(prefix="hostile-") as home:
        child_env = {**os.environ, "ATTRIB_HOME": home, **(env or {})}
        err = Path(home) / "stderr"
        started = time.monotonic()
        with open(err, "w") as out:
            proc = subprocess.Popen([sys.executable, "-c", CLI, *argv], cwd=code, env=child_env,
                                    stdout=subprocess.DEVNULL, stderr=out, stdin=subprocess.DEVNULL)
        timer = threading.Timer(cap, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        took = time.monotonic() - started
        lines = [l for l in err.read_text(errors="replace").splitlines() if l.strip()]
        killed = os.WIFSIGNALED(status)
        cache = Path(home) / "cache"
        left = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
        said = [l for l in lines if l.lstrip().startswith(("error:", "REFUSED", "Traceback", "MemoryError"))] or lines
        return {"outcome": f"killed after {cap:.0f} s" if killed else (said[-1].strip() if said else "(nothing)"),
                "error_lines": sum(1 for l in lines if l.startswith(("error:", "Traceback", "  REFUSED"))),
                "traceback": any("Traceback" in l for l in lines), "seconds": took,
                "peak_mb": usage.ru_maxrss / 1024, "left_mb": sum(p.stat().st_size for p in left) / 1e6,
                "left_files": len(left)}


def cases(base: str, taxii: str, tmp: Path) -> dict[str, tuple[list[str], dict]]:
    fifo, zero = tmp / "feed.json", tmp / "zero.txt"
    os.mkfifo(fifo)
    zero.symlink_to("/dev/zero")
    sys.path.insert(0, str(REPO))
    from tests.unit.test_special_inputs import shared_stream_pdf

    pdf = tmp / "pages.pdf"
    shared_stream_pdf(pdf, 10_000, 5_000)
    return {
        "attack --url: endless body": (["load", "attack", "--url", f"{base}/endless"], {}),
        "attack --url: Content-Length 10 GB, then nothing": (["load", "attack", "--url", f"{base}/announced"], {}),
        "attack --url: one byte every 20 s": (["load", "attack", "--url", f"{base}/drip"], {}),
        "attack --url: headers, then nothing": (["load", "attack", "--url", f"{base}/stall"], {}),
        "attack --url: redirect to ftp://": (["load", "attack", "--url", f"{base}/redirect-ftp"], {}),
        "extract URL: endless body": (["extract", f"{base}/endless"], {}),
        "taxii: more: true for ever": (["load", "taxii", f"{taxii}/api/", "--collection", "endless-pages"], {}),
        "taxii: empty pages, more: true": (["load", "taxii", f"{taxii}/api/", "--collection", "empty-more"], {}),
        "taxii: envelope is a JSON list": (["load", "taxii", f"{taxii}/api/", "--collection", "list"], {}),
        "taxii: headers, then nothing": (["load", "taxii", f"{taxii}/api/", "--collection", "stall"], {}),
        "taxii: endless discovery body": (["load", "taxii", f"{taxii}/endless-root/"], {}),
        f"taxii: one {Taxii.big_mb} MB envelope (pull only)": (
            ["load", "taxii", f"{taxii}/api/", "--collection", "big"], {"NEO4J_URI": "bolt://127.0.0.1:9"}),
        "extract: link to /dev/zero": (["extract", str(zero)], {}),
        "load: FIFO named .json": (["load", str(fifo)], {"ATTRIB_HOME": os.environ.get(
            "ATTRIB_HOME", str(Path.home() / ".local" / "share" / "attrib"))}),  # the instance's server
        "extract: PDF, 10,000 pages, one shared stream": (["extract", str(pdf)], {}),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--code", type=Path, default=REPO, help="the checkout to run (default: this one)")
    p.add_argument("--only", nargs="*", help="behaviours whose name contains one of these")
    p.add_argument("--cap", type=float, default=120, help="seconds before a child is killed")
    p.add_argument("--big-mb", type=int, default=500, help="size of the big TAXII envelope")
    p.add_argument("--drip-s", type=float, default=20, help="seconds between two bytes of the drip")
    args = p.parse_args(argv)
    Taxii.big_mb = args.big_mb
    taxii, _server = serve_taxii()
    with hostile_server(drip_s=args.drip_s) as base, tempfile.TemporaryDirectory() as tmp:
        print("| behaviour | outcome | time | peak memory | left in the cache |\n|---|---|---|---|---|")
        for name, (cmd, env) in cases(base, taxii, Path(tmp)).items():
            if args.only and not any(o in name for o in args.only):
                continue
            r = run(cmd, args.code, args.cap, env)
            tb = " (Traceback)" if r["traceback"] else ""
            print(f"| {name} | {r['outcome'][:160]}{tb} | {r['seconds']:.1f} s | {r['peak_mb']:.0f} MB | "
                  f"{r['left_files']} files, {r['left_mb']:.1f} MB |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
