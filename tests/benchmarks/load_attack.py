"""Benchmark: load MITRE ATT&CK Enterprise v15.1 into an empty database, through the real path.

Parse (gzip, JSON, STIX -> rows) and write (one transaction, batched UNWIND + MERGE) are both
timed, exactly as `attrib load` runs them (app.ingest.load_paths). The schema is created
before the clock starts. The last line printed is JSON:

    {"seconds": ..., "objects_per_s": ..., "rows_per_s": ...}

objects = STIX objects in the bundle; rows = distinct node and relationship rows written.

    ATTRIB_TEST_INSTANCE=test python tests/benchmarks/load_attack.py [--file PATH] [--reload]

It deletes everything in the database it runs against: by default the local test instance
(ATTRIB_TEST_INSTANCE, started if needed and stopped again); with NEO4J_URI set it refuses a
non-empty database unless ATTRIB_TEST_ALLOW_RESET=1.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from graph.store import schema  # noqa: E402
from app.ingest import load_paths  # noqa: E402
from bench_db import benchmark_db  # noqa: E402

ENTERPRISE = REPO.parent / "shared" / "data" / "attack" / "enterprise-attack-15.1.json.gz"
TARGET_SECONDS = 15.0


def count_objects(path: Path) -> int:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return len(json.loads(raw)["objects"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=ENTERPRISE, help="the bundle to load")
    ap.add_argument("--reload", action="store_true", help="also time loading the same file again")
    args = ap.parse_args()
    if not args.file.exists():
        print(f"missing {args.file}", file=sys.stderr)
        return 2

    with benchmark_db() as (db, settings):
        try:
            objects = count_objects(args.file)
            schema.reset(db)
            schema.init_schema(db)

            started = time.perf_counter()
            report = load_paths(db, [args.file], settings.batch_size)
            seconds = time.perf_counter() - started
            if not report.ok:
                print(f"load refused: {report.refused[0]}", file=sys.stderr)
                return 1
            written = report.written[0]
            rows = written.nodes + written.rels
            print(f"{args.file.name}: {objects} STIX objects -> {written.nodes} node rows, {written.rels} "
                  f"relationship rows ({written.nodes_created} nodes, {written.rels_created} relationships "
                  f"created) in {seconds:.2f} s (target <= {TARGET_SECONDS:.0f} s)", file=sys.stderr)
            print("graph:", json.dumps(schema.stats(db), sort_keys=True), file=sys.stderr)
            if args.reload:
                again = time.perf_counter()
                load_paths(db, [args.file], settings.batch_size)
                print(f"reload (everything already present): {time.perf_counter() - again:.2f} s", file=sys.stderr)
            print(json.dumps({"seconds": round(seconds, 2), "objects_per_s": round(objects / seconds),
                              "rows_per_s": round(rows / seconds)}))
            return 0 if seconds <= TARGET_SECONDS else 1
        finally:
            schema.reset(db)


if __name__ == "__main__":
    sys.exit(main())
