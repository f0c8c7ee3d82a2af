"""Local inputs that never end or block: special files (a link to /dev/zero, a FIFO) and a PDF whose
pages share one content stream. Each is read in a child process with a time and memory limit, so a
regression fails the test instead of hanging or exhausting the machine."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from tests.conftest import REPO

READ_REPORT = """import sys
from graph.errors import ValidationError
from loaders.reports import inputs
inputs.MAX_CHARS = int(sys.argv[2])
try:
    inputs.read_report(sys.argv[1])
except ValidationError as exc:
    print(exc.message)
"""
LOAD_FILE = """import sys
from graph.errors import ValidationError
from pathlib import Path
from loaders import expand_paths, parse_file
for check in (expand_paths, lambda paths: parse_file(Path(paths[0]))):
    try:
        check([sys.argv[1]])
    except ValidationError as exc:
        print(exc.message)
"""


def bounded(code: str, *args: str, timeout: float = 60, stderr: bool = False) -> tuple[str, float]:
    """(what the child printed, on stderr if `stderr`; seconds it took); it may use 2 GB and
    `timeout` seconds."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))

    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still reading after {timeout} s")
    assert "Traceback" not in done.stderr, done.stderr
    return (done.stderr if stderr else done.stdout).strip(), time.monotonic() - started


def shared_stream_pdf(path, pages: int, lines: int) -> None:
    """A PDF of `pages` pages that all draw one content stream (`lines` lines of text)."""
    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    resources = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 72 720 Td " + b"(Hello world ) Tj 0 -1 Td " * lines + b"ET")
    content = writer._add_object(stream.flate_encode())
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Contents")] = content
        page[NameObject("/Resources")] = resources
    with open(path, "wb") as out:
        writer.write(out)


def test_a_link_to_a_device_is_refused_unread(tmp_path):
    link = tmp_path / "report.txt"
    link.symlink_to("/dev/zero")
    out, took = bounded(READ_REPORT, str(link), "3000000")
    assert out == f"{link}: is a character device, not a regular file" and took < 30


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "feed.json"
    os.mkfifo(fifo)
    out, took = bounded(LOAD_FILE, str(fifo))
    assert out.splitlines() == [f"{fifo}: is a named pipe (FIFO), not a regular file"] * 2 and took < 30
    out, _ = bounded(READ_REPORT, str(fifo), "3000000")
    assert out == f"{fifo}: is a named pipe (FIFO), not a regular file"


def test_a_pdf_of_too_many_pages_is_refused_before_reading_them(tmp_path):
    """10,000 pages sharing one stream of 60,000 characters: 0.7 s a page if each were read."""
    path = tmp_path / "pages.pdf"
    shared_stream_pdf(path, 10_000, 5_000)
    out, took = bounded(READ_REPORT, str(path), "3000000")
    assert out == f"pages.pdf: has 10,000 pages; attrib extract reads at most 2,000" and took < 45


def test_pdf_characters_are_counted_as_pages_are_read(tmp_path):
    path = tmp_path / "long.pdf"
    shared_stream_pdf(path, 1_500, 100)  # 1,200 characters a page
    out, took = bounded(READ_REPORT, str(path), "12000", timeout=120)
    assert out.startswith("long.pdf: holds over 12,000 characters of text by page 11 of 1,500;"), out
    assert took < 60
