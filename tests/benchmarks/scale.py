"""Loading and scoring at scale, against Neo4j's own importers, on the same generated data.

For each size: generate N incidents (tests/benchmarks/synthetic.py, fixed seed), then into an
empty database each time build the same graph three ways and time it:
  1. the project's loader (`attrib load DIR`, a subprocess, its peak RSS measured);
  2. Neo4j's LOAD CSV with CALL { ... } IN TRANSACTIONS, from the CSV files made for Neo4j's
     tools (preparing those files is not timed: they are the generator's output for Neo4j);
  3. `neo4j-admin database import full` (offline, fresh store; stop, import, start and
     constraint creation included);
then times `attrib hypotheses` (blind) on 100 random incidents (at every size): the first call,
which reads the engine's snapshot (and the memory that takes), and p50/p95 of the 99 others.
Rows = nodes + relationships of the resulting graph (identical for the three, checked). Where
the time goes: CPU seconds of the loader process and of the Neo4j process during (1) and of Neo4j
during (2). The final line is JSON.

    python tests/benchmarks/scale.py --sizes 10000,100000 [--json]
Runs against a local instance of its own (ATTRIB_INSTANCE=bench unless set), with the project's
Neo4j memory (heap 512m, page cache 256m), or heap 4g and page cache 2g when a size reaches
1,000,000 incidents.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from graph import cypher  # noqa: E402
from graph.errors import AttribError  # noqa: E402
from graph.settings import load_settings  # noqa: E402
from graph.store import schema  # noqa: E402
from graph.store.bulk import ARRAY_DELIMITER, ImportWriter, admin_import  # noqa: E402
from graph.store.db import connect  # noqa: E402
from graph.store.server import LocalServer  # noqa: E402
from loaders import expand_paths, iter_batches  # noqa: E402
from synthetic import Generator  # noqa: E402

ROWS_PER_TX = 10000
# From 1,000,000 incidents: scoring reads whole-graph statistics in one transaction, more than
# the 716 MB a 1 GB heap allows it.
BIG, BIG_HEAP, BIG_PAGECACHE = 1_000_000, "4g", "2g"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rows_of(counts: dict) -> int:
    return sum(counts["nodes"].values()) + sum(counts["relationships"].values())


def heap_used_mb(db) -> float | None:
    try:
        return db.read(cypher.HEAP_USED)[0]["used"] / 2**20
    except AttribError as exc:  # an optional figure: say why it is missing
        log(f"  (heap figure unavailable: {exc})")
        return None


def server_cpu_s(server: LocalServer) -> float:
    """CPU seconds (user + system) the Neo4j process has used so far."""
    fields = Path(f"/proc/{server.status().pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_project_loader(records: Path, env: dict) -> tuple[float, float, float]:
    """Seconds, peak RSS (MB) and CPU seconds of `attrib load DIR`. The peak is the process's
    own high-water mark (VmHWM), read until it exits: wait4's ru_maxrss would also count this
    benchmark's memory, which the child shares between fork and exec."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "load", str(records)], env=env,
                            cwd=Path(__file__).resolve().parents[2], stderr=subprocess.DEVNULL)
    peak_kb = 0
    status_file = Path(f"/proc/{proc.pid}/status")
    while True:
        # Readable until wait4 reaps the child; an exited (zombie) child has no VmHWM line.
        fields = dict(line.split(":", 1) for line in status_file.read_text().splitlines())
        if "VmHWM" in fields:
            peak_kb = max(peak_kb, int(fields["VmHWM"].split()[0]))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.2)
    seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"attrib load {records} failed (exit {proc.returncode})")
    return seconds, peak_kb / 1024, usage.ru_utime + usage.ru_stime


def run_load_csv(db, server: LocalServer, files) -> float:
    import_dir = server.inst / "import"
    shutil.rmtree(import_dir, ignore_errors=True)
    import_dir.mkdir()
    started = time.monotonic()
    schema.init_schema(db)
    for label, (_hdr, data, columns) in files.nodes.items():
        shutil.copy(data, import_dir / data.name)
        db.run_autocommit(cypher.load_csv_nodes(label, columns[1:], ROWS_PER_TX),
                          {"url": f"file:///{data.name}", "delimiter": ARRAY_DELIMITER})
    for (rtype, sl, el), (_hdr, data, columns) in files.rels.items():
        shutil.copy(data, import_dir / data.name)
        db.run_autocommit(cypher.load_csv_rels(rtype, sl, el, columns[2:], ROWS_PER_TX),
                          {"url": f"file:///{data.name}", "delimiter": ARRAY_DELIMITER})
    seconds = time.monotonic() - started
    shutil.rmtree(import_dir, ignore_errors=True)
    return seconds


def hypotheses_latency(db, n: int, seed: int) -> dict:
    from graph.analysis import engine
    keys = [r["key"] for r in db.read("MATCH (i:Incident) RETURN i.key AS key ORDER BY key")]
    sample = random.Random(seed).sample(keys, min(n, len(keys)))
    engine.clear_cache()
    rss_before = rss_mb()
    times = []
    for key in sample:
        t = time.perf_counter()
        try:
            engine.hypotheses(db, key, blind=True, top=10)
        except AttribError as exc:  # say why the figure is missing, keep the loaders' figures
            log(f"  attrib hypotheses {key} failed: {exc}")
            return {"error": str(exc).splitlines()[0], "after": len(times)}
        times.append((time.perf_counter() - t) * 1000)
    # the first call reads the engine's snapshot of the graph; the others use it
    first, times = times[0], sorted(times[1:])
    return {"p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1), "n": len(times),
            "first_ms": round(first), "snapshot_rss_mb": round(rss_mb() - rss_before)}


def rss_mb() -> float:
    """This process's resident memory now (MB)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]) / 1024


def bench_size(size: int, settings, server: LocalServer, work: Path, seed: int, scoring: bool) -> dict:
    records = work / f"records-{size}"
    log(f"== {size} incidents: generating")
    Generator(seed).write(records, size)
    env = dict(os.environ, ATTRIB_INSTANCE=settings.instance)
    if settings.home:
        env["ATTRIB_HOME"] = str(settings.home)
    result = {"incidents": size}

    log("  project loader (attrib load)")
    server.recreate_database()
    cpu_before = server_cpu_s(server)
    ours_s, rss_mb, python_cpu = run_project_loader(records, env)
    neo4j_cpu = server_cpu_s(server) - cpu_before
    db = connect(settings)
    counts = schema.stats(db)
    rows = rows_of(counts)
    result.update(rows=rows, project_s=round(ours_s, 1), project_rows_per_s=round(rows / ours_s),
                  project_python_cpu_s=round(python_cpu, 1), project_neo4j_cpu_s=round(neo4j_cpu, 1),
                  python_peak_rss_mb=round(rss_mb), neo4j_heap_used_mb=heap_used_mb(db),
                  store_mb=round(server.store_size_mb()))
    if scoring:
        result["hypotheses"] = hypotheses_latency(db, 100, seed)
    db.close()
    log("  " + json.dumps(result))  # so far (a long run shows its figures as they come)

    log("  preparing CSV files for Neo4j's tools (not timed)")
    writer = ImportWriter(work / f"import-{size}")
    for path in expand_paths([records]):
        for batch in iter_batches(path):
            writer.add(batch)
    files = writer.finish()

    log("  LOAD CSV with CALL { } IN TRANSACTIONS")
    server.recreate_database()
    db = connect(settings)
    cpu_before = server_cpu_s(server)
    load_csv_s = run_load_csv(db, server, files)
    load_csv_cpu = server_cpu_s(server) - cpu_before
    same_csv = schema.stats(db) == counts
    db.close()
    result.update(load_csv_s=round(load_csv_s, 1), load_csv_rows_per_s=round(rows / load_csv_s),
                  load_csv_neo4j_cpu_s=round(load_csv_cpu, 1), load_csv_same_graph=same_csv)
    log(f"  LOAD CSV: {load_csv_s:.1f} s, Neo4j {load_csv_cpu:.1f} CPU-s, same graph: {same_csv}")

    log("  neo4j-admin database import full")
    server.stop()
    started = time.monotonic()
    timings = admin_import(server, files, log)
    admin_s = time.monotonic() - started
    db = connect(settings)
    same_admin = schema.stats(db) == counts
    db.close()
    result.update(admin_s=round(admin_s, 1), admin_rows_per_s=round(rows / admin_s),
                  admin_same_graph=same_admin, admin_import_only_s=round(timings["import_s"], 1))
    result["ratio_vs_load_csv"] = round(load_csv_s / ours_s, 2)
    result["ratio_vs_admin_import"] = round(admin_s / ours_s, 2)
    result["load_average"] = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy it was
    shutil.rmtree(records, ignore_errors=True)
    shutil.rmtree(files.directory, ignore_errors=True)
    log("  " + json.dumps(result))
    return result


def big_memory(settings):
    """A 1,000,000-incident store is about ten times the 100,000 one: more page cache (and heap)
    so the scoring queries do not read it through 256 MB; ATTRIB_NEO4J_HEAP/PAGECACHE win."""
    return replace(settings, heap=os.environ.get("ATTRIB_NEO4J_HEAP") or BIG_HEAP,
                   pagecache=os.environ.get("ATTRIB_NEO4J_PAGECACHE") or BIG_PAGECACHE)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-scoring", action="store_true", help="skip the hypotheses latency figure")
    p.add_argument("--json", action="store_true", help="print only the final JSON line on stdout")
    args = p.parse_args()
    os.environ.setdefault("ATTRIB_INSTANCE", "bench")
    sizes = [int(s) for s in args.sizes.split(",")]
    settings = load_settings()
    if settings.external:
        sys.exit("scale.py recreates the database and runs neo4j-admin: unset NEO4J_URI")
    server = LocalServer(settings, log=log)
    server.start()
    work = Path(tempfile.mkdtemp(prefix="attrib-scale-"))
    results = []
    try:
        for n in sizes:
            if n >= BIG and server.s == settings:
                server.stop()
                server = LocalServer(big_memory(settings), log=log)
                server.start()
            log(f"Neo4j memory: heap {server.s.heap}, page cache {server.s.pagecache}")
            results.append(bench_size(n, server.s, server, work, args.seed, not args.no_scoring))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    largest = results[-1]
    summary = {
        "machine": f"{os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "neo4j_memory": {"heap": settings.heap, "pagecache": settings.pagecache,
                         "from_1000000_incidents": ({"heap": server.s.heap, "pagecache": server.s.pagecache}
                                                    if server.s != settings else None)},
        "sizes": results,
        "ratio_vs_load_csv": largest["ratio_vs_load_csv"],
        "ratio_vs_admin_import": largest["ratio_vs_admin_import"],
        "hypotheses_p50_ms": largest.get("hypotheses", {}).get("p50_ms"),
        "hypotheses_p95_ms": largest.get("hypotheses", {}).get("p95_ms"),
    }
    # issue 16's targets: the loaders at 100,000 incidents, scoring at 1,000,000
    at = {r["incidents"]: r for r in results}
    if 100_000 in at:
        r = at[100_000]
        summary["targets_met_at_100000"] = {"load_csv_ratio>=1.0": r["ratio_vs_load_csv"] >= 1.0,
                                            "admin_import_ratio>=0.4": r["ratio_vs_admin_import"] >= 0.4,
                                            "loader_cpu<=15s": r["project_python_cpu_s"] <= 15}
    if BIG in at and "p50_ms" in at[BIG].get("hypotheses", {}):
        summary["targets_met_at_1000000"] = {"hypotheses_p50<=100ms": at[BIG]["hypotheses"]["p50_ms"] <= 100}
    if not args.json:
        for r in results:
            log(f"{r['incidents']:>8} incidents {r['rows']:>9} rows | attrib load {r['project_s']:>7} s "
                f"(loader {r['project_python_cpu_s']} CPU-s, Neo4j {r['project_neo4j_cpu_s']}, peak "
                f"{r['python_peak_rss_mb']} MB) | LOAD CSV {r['load_csv_s']:>7} s (Neo4j "
                f"{r['load_csv_neo4j_cpu_s']} CPU-s) | admin import {r['admin_s']:>7} s")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
