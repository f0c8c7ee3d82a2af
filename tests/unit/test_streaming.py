"""Streamed loading: CSV record files are read a chunk at a time, so memory stays flat."""
from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from synthetic import Generator  # noqa: E402

from graph.errors import ValidationError  # noqa: E402
from loaders import iter_batches, parse_file  # noqa: E402
from loaders.records import iter_record_batches  # noqa: E402


def peak_while_streaming(path: Path, chunk: int) -> tuple[int, int]:
    tracemalloc.start()
    records = 0
    for batch in iter_record_batches(path, chunk_records=chunk):
        records += sum(1 for n in batch.nodes if n.label == "Incident")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, records


def test_memory_does_not_grow_with_records(tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    Generator(seed=3, actors=50, tools=200, techniques=120).write(small, 500)
    Generator(seed=3, actors=50, tools=200, techniques=120).write(large, 5000)
    peak_small, n_small = peak_while_streaming(small / "incidents.csv", 250)
    peak_large, n_large = peak_while_streaming(large / "incidents.csv", 250)
    assert (n_small, n_large) == (500, 5000)
    # ten times the records, about the same peak (one chunk's rows)
    assert peak_large < 1.5 * peak_small, (peak_small, peak_large)


def test_generator_is_deterministic(tmp_path):
    Generator(seed=11, actors=20, tools=50, techniques=60).write(tmp_path / "a", 200)
    Generator(seed=11, actors=20, tools=50, techniques=60).write(tmp_path / "b", 200)
    for name in ("sources.csv", "actors.csv", "incidents.csv", "claims.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_chunks_cover_the_file_and_match_the_whole_parse(tmp_path):
    Generator(seed=5, actors=20, tools=50, techniques=60).write(tmp_path, 300)
    path = tmp_path / "incidents.csv"
    chunked = [n.key for b in iter_record_batches(path, chunk_records=64) for n in b.nodes
               if n.label == "Incident"]
    whole = [n.key for n in parse_file(path).nodes if n.label == "Incident"]
    assert chunked == whole and len(whole) == 300


def test_duplicate_key_across_chunks_is_found(tmp_path):
    path = tmp_path / "incidents.jsonl"
    lines = [f'{{"key": "k:{i % 150}", "name": "n", "first_seen": "2020", "sources": ["s"]}}'
             for i in range(151)]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValidationError, match=r"record line 151: field 'key': duplicate key 'k:0' \(also line 1\)"):
        list(iter_batches(path))
