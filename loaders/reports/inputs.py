"""Reading a report: a file, a URL (through the download cache of `attrib load attack`) or stdin,
as plain text, Markdown, HTML (the article's text, via trafilatura: no menus, no scripts) or PDF
(its text layer, via pypdf) -> (text, ReportMeta). Anything else is one clear ValidationError."""
from __future__ import annotations

import hashlib
import io
import os
import re
import sys
import time
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlparse

from graph.errors import ValidationError
from loaders.common import normalise_date, open_regular
from loaders.download import fetch
from loaders.reports.draft import ReportMeta

# Largest input read (bytes): bigger files are refused before they are read.
MAX_BYTES = 50 * 1024 * 1024
# Longest text drafted (characters, about 1,000 pages): drafting takes ~20 s per million here.
MAX_CHARS = 3_000_000
# Most PDF pages read (counted before any is read), and seconds spent reading their text
# (checked between pages, as are the characters): one hostile page stream read 10,000 times
# costs about 0.7 s a time.
MAX_PDF_PAGES = 2_000
PDF_SECONDS = 120
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
MARKDOWN_SUFFIXES = (".md", ".markdown")
Progress = Callable[[str], None]


def is_url(arg: str) -> bool:
    return urlparse(arg).scheme in ("http", "https")


def read_report(arg: str, cache_dir: Path | None = None, progress: Progress | None = None,
                stdin=None, refresh: bool = False) -> tuple[str, ReportMeta]:
    """`arg` is a path, an http(s) URL or "-" (stdin)."""
    if arg == "-":
        data = (stdin or sys.stdin.buffer).read(MAX_BYTES + 1)
        return read_bytes(data, "stdin", progress=progress)
    if is_url(arg):
        if cache_dir is None:
            raise ValidationError(arg, "no download cache given for a URL")
        fetched = fetch(arg, cache_dir / "reports", name=_cache_name(arg), refresh=refresh,
                        max_bytes=(MAX_BYTES, "the most attrib extract reads"),
                        progress=(lambda done, total: progress(f"downloading {done / 1e6:.1f} MB")) if progress else None)
        text, meta = read_bytes(_read_file(fetched.path, arg), arg, progress=progress, url=arg)
        return text, meta
    path = Path(arg).expanduser()
    if path.is_dir():
        raise ValidationError(path, "is a directory", hint="give the report file itself")
    data = _read_file(path, str(path))
    return read_bytes(data, path.name, suffix=path.suffix.lower(), stem=path.stem, progress=progress)


def _cache_name(url: str) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", unquote(Path(urlparse(url).path).name)) or "page"
    return f"{hashlib.sha1(url.encode()).hexdigest()[:10]}-{base}"


def _read_file(path: Path, shown: str) -> bytes:
    """A regular file's bytes (a device, a FIFO or a socket is refused, never read)."""
    with open_regular(path, shown) as f:
        try:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_BYTES:
                raise ValidationError(shown, f"is {size / 1e6:.0f} MB; attrib extract reads at most "
                                      f"{MAX_BYTES // (1024 * 1024)} MB", hint="split the report")
            return f.read(MAX_BYTES + 1)
        except OSError as exc:
            raise ValidationError(shown, f"cannot read the file ({exc.strerror or exc})") from exc


def read_bytes(data: bytes, name: str, suffix: str = "", stem: str | None = None,
               progress: Progress | None = None, url: str | None = None) -> tuple[str, ReportMeta]:
    """Bytes of a report -> (text, meta); the format from the content, else the file suffix."""
    if len(data) > MAX_BYTES:
        raise ValidationError(name, f"is over {MAX_BYTES // (1024 * 1024)} MB; attrib extract reads at most that",
                              hint="split the report")
    if not data.strip():
        raise ValidationError(name, "is empty: no text to draft from")
    head = data[:1024].lstrip().lower()
    if data[:5] == b"%PDF-" or suffix == ".pdf":
        text, meta = _pdf(data, name, progress)
    elif head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in head or suffix in HTML_SUFFIXES:
        text, meta = _html(_decode(data, name), name, url)
    else:
        text = _decode(data, name)
        kind = "markdown" if suffix in MARKDOWN_SUFFIXES or _looks_markdown(text) else "text"
        if kind == "markdown":
            text = markdown_text(text)
        meta = ReportMeta(name=name, kind=kind)
    if not text.strip():
        raise ValidationError(name, "holds no readable text")
    if len(text) > MAX_CHARS:
        raise ValidationError(name, f"holds {len(text) / 1e6:.1f} million characters of text; attrib extract "
                              f"drafts at most {MAX_CHARS / 1e6:.0f} million (about 1,000 pages)",
                              hint="split the report into its parts and extract each")
    meta = ReportMeta(name=name, stem=stem, title=meta.title, publisher=meta.publisher or _site(url),
                      url=url or meta.url, date=meta.date, kind=meta.kind)
    return text, meta


def _decode(data: bytes, name: str) -> str:
    sample = data[:65536]
    if b"\x00" in sample:
        raise ValidationError(name, "is a binary file, not text, HTML or PDF",
                              hint="give a .txt, .md, .html or .pdf report")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        bad = sum(1 for ch in text[:65536] if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\r\n\f"))
        if bad > len(text[:65536]) // 100:
            raise ValidationError(name, "is a binary file or in an unknown encoding, not text",
                                  hint="save the report as UTF-8 text, HTML or PDF") from None
        return text


def _site(url: str | None) -> str | None:
    host = urlparse(url).hostname if url else None
    return host[4:] if host and host.startswith("www.") else host


# -- HTML ------------------------------------------------------------------------------------------
def _html(html: str, name: str, url: str | None) -> tuple[str, ReportMeta]:
    import trafilatura

    text = trafilatura.extract(html, url=url, include_comments=False, include_tables=True,
                               include_links=False, deduplicate=True)
    if not text:
        raise ValidationError(name, "no article text found in the HTML page",
                              hint="save the article as text, or give its PDF")
    meta = trafilatura.extract_metadata(html, default_url=url)
    title = getattr(meta, "title", None) if meta else None
    publisher = (getattr(meta, "sitename", None) or None) if meta else None
    when = normalise_date(getattr(meta, "date", None)) if meta and getattr(meta, "date", None) else None
    if title:
        text = text if text.lstrip().startswith(title) else f"{title}\n\n{text}"
    return text, ReportMeta(name=name, title=title, publisher=publisher, date=when, kind="html",
                            url=(getattr(meta, "url", None) if meta else None) or url)


# -- PDF -------------------------------------------------------------------------------------------
def _pdf(data: bytes, name: str, progress: Progress | None) -> tuple[str, ReportMeta]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ValidationError(name, "is an encrypted PDF", hint="save an unencrypted copy")
        pages, chars, started = [], 0, time.monotonic()
        total = len(reader.pages)
        if total > MAX_PDF_PAGES:
            raise ValidationError(name, f"has {total:,} pages; attrib extract reads at most {MAX_PDF_PAGES:,}",
                                  hint="split the report into its parts and extract each")
        for number, page in enumerate(reader.pages, start=1):
            if progress:
                progress(f"reading PDF page {number}/{total}")
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            if chars > MAX_CHARS:
                raise ValidationError(name, f"holds over {MAX_CHARS:,} characters of text by "
                                      f"page {number:,} of {total:,}; attrib extract drafts at most that "
                                      f"(about 1,000 pages)", hint="split the report into its parts and extract each")
            if time.monotonic() - started > PDF_SECONDS and number < total:
                raise ValidationError(name, f"reading its text took over {PDF_SECONDS} s by page {number} of "
                                      f"{total}; stopped", hint="save the report's text and extract that")
        info = reader.metadata or {}
        title, author = info.get("/Title"), info.get("/Author")
        created = info.get("/CreationDate")
    except ValidationError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise ValidationError(name, f"cannot read the PDF ({type(exc).__name__}: {exc})",
                              hint="is the file complete? a scanned PDF needs OCR first") from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise ValidationError(name, "the PDF has no text layer (a scan?)", hint="OCR it first, or give the text")
    when = None
    if isinstance(created, str):
        m = re.match(r"D:(\d{4})(\d{2})?(\d{2})?", created)
        if m:
            when = normalise_date("-".join(g for g in m.groups() if g))
    return text, ReportMeta(name=name, title=str(title).strip() if title and str(title).strip() else None,
                            publisher=str(author).strip() if author and str(author).strip() else None,
                            date=when, kind="pdf")


# -- Markdown ----------------------------------------------------------------------------------------
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]*)[^)]*\)")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_MD_FENCE = re.compile(r"^```.*$", re.M)


def _looks_markdown(text: str) -> bool:
    return bool(_MD_HEADING.search(text[:4096]) and _MD_LINK.search(text[:65536]))


def markdown_text(text: str) -> str:
    """Markdown -> plain text: headings and emphasis marks go, links keep text and address."""
    text = _MD_FENCE.sub("", text)
    text = _MD_HEADING.sub("", text)
    text = _MD_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})" if m.group(2) else m.group(1), text)
    return _MD_EMPHASIS.sub(r"\2", text)
