"""Time from navigation until the Workbench's graph canvas is drawn, in Debian's chromium.

Starts `attrib app` on a free port against the configured Neo4j (ATTRIB_INSTANCE / NEO4J_URI),
opens the Workbench on the AstraZeneca incident several times and prints per-run times, then a
final JSON line. Two scenarios:

    python tests/benchmarks/app_render.py                 # the graph as it is (e.g. seed only)
    python tests/benchmarks/app_render.py --load-attack   # + ATT&CK v15.1, the MISP galaxies, seed

`--reset` empties the graph first (refused unless given: this deletes everything). Target: the
graph drawn within 3 s of navigation (warm: the app process has served a page before; the first
page after start also builds the engine's cache and is reported separately).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DRAWN = ("() => [...document.querySelectorAll('iframe')].some(f => { try { const d = f.contentDocument;"
         " return d && d.body && d.body.dataset.drawn === '1' && d.querySelector('#graph canvas'); }"
         " catch (e) { return false; } })")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(args) -> dict:
    from graph import schema
    from graph.db import connect
    from graph.ingest import load_paths
    from graph.settings import SEED_DIR, load_settings

    db = connect(load_settings())
    try:
        if args.reset:
            schema.reset(db)
        schema.init_schema(db)
        paths = []
        if args.load_attack:
            paths += [SHARED / "attack" / "enterprise-attack-15.1.json.gz", SHARED / "misp-galaxy"]
            missing = [p for p in paths if not p.exists()]
            if missing:
                sys.exit(f"missing shared data: {missing}")
        paths.append(SEED_DIR)
        report = load_paths(db, paths)
        if not report.ok:
            sys.exit(f"load failed: {[str(e) for e in report.refused]}")
        return schema.stats(db)
    finally:
        db.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--load-attack", action="store_true", help="also load ATT&CK v15.1 + MISP galaxies")
    p.add_argument("--reset", action="store_true", help="delete everything in the graph first")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    counts = prepare(args)
    nodes = sum(counts["nodes"].values())
    port = free_port()
    url = f"http://127.0.0.1:{port}/?incident=seed:astrazeneca-2020"
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "app", "--port", str(port)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    sys.exit("attrib app did not start")
                time.sleep(0.3)
        times = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            # one browser profile, as a user has: the app's scripts come from the HTTP cache after
            # the first visit; each run is a fresh page (new websocket session, full script run)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            for i in range(args.runs + 1):
                page = context.new_page()
                start = time.perf_counter()
                page.goto(url)
                page.wait_for_function(DRAWN, timeout=120_000, polling=50)
                elapsed = time.perf_counter() - start
                times.append(elapsed)
                print(f"run {i} ({'first after start' if i == 0 else 'warm'}): {elapsed:.2f} s", flush=True)
                page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(15)
    warm = times[1:]
    print(json.dumps({"benchmark": "app_render", "scenario": "attack+galaxies+seed" if args.load_attack else "as loaded",
                      "nodes": nodes, "first_s": round(times[0], 3),
                      "warm_median_s": round(statistics.median(warm), 3) if warm else None,
                      "warm_max_s": round(max(warm), 3) if warm else None, "target_s": 3.0,
                      "ok": bool(warm) and max(warm) <= 3.0}))


if __name__ == "__main__":
    main()
