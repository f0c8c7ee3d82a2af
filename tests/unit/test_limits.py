"""Every bad input is refused whole with one ValidationError naming the file, never a traceback:
nesting, size, YAML alias expansion, NUL bytes, encodings, huge CSV fields and lines, gzip
bombs, truncated and vanishing files, directory loops."""
from __future__ import annotations

import errno
import gzip
import io
import json
import os
from pathlib import Path

import pytest

import loaders.common as common
from graph.errors import ValidationError
from loaders import expand_paths, iter_batches, parse_file

GOOD = {"key": "src:one", "name": "One", "kind": "news"}


def refused(path: Path) -> ValidationError:
    """The one error loading `path` gives (whole or streamed, as `attrib load` reads it)."""
    with pytest.raises(ValidationError) as info:
        for _ in iter_batches(path):
            pass
    assert str(path) in str(info.value)
    return info.value


def test_json_nested_100000_levels(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested more than" in refused(path).message


def test_json_nested_past_the_depth_limit(tmp_path):
    path = tmp_path / "deep.json"
    depth = common.MAX_DEPTH + 1
    path.write_text('{"incidents": ' + "[" * depth + "]" * depth + "}")
    assert f"nested more than {common.MAX_DEPTH} levels" in refused(path).message
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"sources": [GOOD]}))
    assert parse_file(ok).nodes


def test_yaml_nested_100000_levels(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("incidents: " + "[" * 100_000 + "]" * 100_000)
    assert "nested more than" in refused(path).message


def test_yaml_alias_expansion_is_refused(tmp_path):
    # Nine levels of nine aliases: a billion values from a few hundred bytes.
    doc = ['a0: &a0 ["lol"]']
    for i in range(1, 10):
        doc.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(doc) + "\n")
    assert "aliases expand the document" in refused(path).message


def test_yaml_alias_cycle_is_refused(tmp_path):
    path = tmp_path / "cycle.yaml"
    path.write_text("incidents: &a [*a]\n")
    assert "cycle" in refused(path).message


def test_yaml_aliases_within_the_limit_load(tmp_path):
    path = tmp_path / "anchors.yaml"
    path.write_text("actors:\n"
                    "  - {name: One, kind: group, techniques: &shared [T1566, T1204]}\n"
                    "  - {name: Two, kind: group, techniques: *shared}\n")
    assert {n.key for n in parse_file(path).nodes} >= {"actor:one", "actor:two", "T1566"}


def test_document_past_the_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "MAX_DOCUMENT_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"sources": [GOOD] * 50}))
    assert "larger than" in refused(path).message


@pytest.mark.parametrize("name", ["bomb.json.gz", "sources.jsonl.gz", "sources.csv.gz"])
def test_gzip_bomb_stops_reading(tmp_path, name):
    path = tmp_path / name
    # 64 MB of spaces in 64 KB: reading stops at the ratio, not at the end (nor at memory's end).
    path.write_bytes(gzip.compress(b"[" + b" " * 64 * 2**20 + b"]", compresslevel=9))
    assert "gzip bomb" in refused(path).message


def test_truncated_gzip(tmp_path):
    whole = gzip.compress(json.dumps({"sources": [GOOD] * 2000}).encode())
    for name in ("cut.json.gz", "sources.jsonl.gz"):
        path = tmp_path / name
        path.write_bytes(whole[: len(whole) // 2])
        assert "cannot read the file" in refused(path).message


@pytest.mark.parametrize("name, text", [
    ("nul.yaml", "sources:\n  - {name: a\x00b, kind: news}\n"),
    ("nul.json", '{"sources": [{"name": "a\x00b", "kind": "news"}]}'),
    ("sources.csv", "name,kind\na\x00b,news\n"),
    ("sources.jsonl", '{"name": "a\x00b", "kind": "news"}\n'),
])
def test_nul_bytes(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    assert "NUL byte" in refused(path).message


@pytest.mark.parametrize("name, data", [
    ("latin1.yaml", "sources:\n  - {name: Caf\u00e9, kind: news}\n".encode("latin-1")),
    ("utf16.json", json.dumps({"sources": [GOOD]}).encode("utf-16")),
    # The bad byte far into a streamed file: found mid-read, still one clear error.
    ("sources.csv", b"name,kind\n" + b"".join(b"s%d,news\n" % i for i in range(20_000))
     + "Caf\u00e9,news\n".encode("latin-1")),
])
def test_wrong_encoding(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    error = refused(path)
    assert "not UTF-8" in error.message and error.hint == "save the file as UTF-8"


def test_csv_huge_field(tmp_path):
    path = tmp_path / "sources.csv"
    path.write_text('name,kind,description\nx,news,"' + "y" * 300_000 + '"\n')
    assert "field larger than field limit" in refused(path).message


def test_streamed_line_past_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "MAX_LINE_CHARS", 1000)
    path = tmp_path / "sources.jsonl"
    path.write_text(json.dumps({**GOOD, "description": "d" * 5000}) + "\n")
    error = refused(path)
    assert "line longer than" in error.message and error.record == "line 1"


def test_missing_and_unreadable_files(tmp_path):
    gone = tmp_path / "gone.yaml"
    assert "not found" in refused(gone).message
    a_directory = tmp_path / "dir.yaml"
    a_directory.mkdir()
    assert "is a directory, not a regular file" in refused(a_directory).message


def test_read_failing_mid_stream(tmp_path):
    class FailingDisk(io.StringIO):
        def readline(self, size=-1):
            raise OSError(errno.EIO, "Input/output error")

    path = tmp_path / "sources.jsonl"
    with pytest.raises(ValidationError) as info:
        list(common.lines(path, FailingDisk()))
    assert str(path) in str(info.value) and "Input/output error" in info.value.message


def test_directory_loop_is_refused(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.yaml").write_text("sources: []\n")
    os.symlink(tmp_path / "a", tmp_path / "a" / "b" / "up")
    with pytest.raises(ValidationError) as info:
        expand_paths([tmp_path])
    assert str(tmp_path / "a" / "b" / "up") in str(info.value) and "loop" in info.value.message


def test_linked_directories_are_followed(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.yaml").write_text("sources: []\n")
    (tmp_path / "root" / ".hidden").mkdir(parents=True)
    (tmp_path / "root" / ".hidden" / "y.yaml").write_text("sources: []\n")
    os.symlink(tmp_path / "elsewhere", tmp_path / "root" / "linked")
    # Two links to one directory side by side are no loop.
    os.symlink(tmp_path / "elsewhere", tmp_path / "root" / "again")
    assert expand_paths([tmp_path / "root"]) == [tmp_path / "root" / "again" / "x.yaml",
                                                   tmp_path / "root" / "linked" / "x.yaml"]
