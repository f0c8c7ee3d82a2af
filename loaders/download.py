"""Fetching public ATT&CK releases (or any URL) into the local cache, with a progress callback.

`attrib load attack [--domain enterprise|ics|mobile] [--version 15.1] [--url URL]` uses
`fetch_attack`; the file lands in `<settings.cache_dir>/attack/` and is then loaded like any
local file. A pinned release (`--version`) never changes, so a cached copy is used without
asking the network; the moving "latest" release and `--url` are revalidated with a
conditional request (ETag / Last-Modified), so an unchanged file is not downloaded again. A
download goes to a temporary file first: an interrupted transfer never leaves a half file in
the cache.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlparse

from graph.errors import AttribError

ATTACK_DOMAINS = ("enterprise", "ics", "mobile")
# The mitre/cti repository tags every release "ATT&CK-v<version>"; master holds the latest.
CTI_URL = "https://raw.githubusercontent.com/mitre/cti/{ref}/{domain}-attack/{domain}-attack.json"
VERSION = re.compile(r"^\d+(\.\d+){0,2}$")
CHUNK = 1 << 16
USER_AGENT = "attrib (threat-intel attribution explorer)"

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)


class DownloadError(AttribError):
    """A file could not be downloaded (and no cached copy exists)."""


@dataclass
class Fetched:
    path: Path
    url: str
    status: str  # "downloaded", "cached" (no request), "not-modified" (304), "stale" (offline)
    size: int


def attack_url(domain: str = "enterprise", version: str | None = None) -> str:
    if domain not in ATTACK_DOMAINS:
        raise DownloadError(f"unknown ATT&CK domain '{domain}'", hint="use enterprise, ics or mobile")
    if version is not None:
        version = version.strip().lstrip("vV")
        if not VERSION.match(version):
            raise DownloadError(f"'{version}' is not an ATT&CK version", hint="for example --version 15.1")
    ref = f"ATT%26CK-v{version}" if version else "master"
    return CTI_URL.format(ref=ref, domain=domain)


def fetch_attack(cache_dir: Path, domain: str = "enterprise", version: str | None = None,
                 url: str | None = None, progress: Progress | None = None,
                 refresh: bool = False, timeout: float = 60) -> Fetched:
    """The ATT&CK bundle for a domain and version (default: latest), or `url`, via the cache."""
    if url:
        return fetch(url, cache_dir / "attack", progress=progress, refresh=refresh, timeout=timeout)
    target = attack_url(domain, version)
    name = f"{domain}-attack-{version.strip().lstrip('vV') if version else 'latest'}.json"
    return fetch(target, cache_dir / "attack", name=name, pinned=version is not None,
                 progress=progress, refresh=refresh, timeout=timeout)


def cache_name(url: str) -> str:
    """A cache file name for a URL: readable, unique per URL, ending in .json[.gz]."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", unquote(Path(urlparse(url).path).name)) or "download"
    if not base.lower().endswith((".json", ".json.gz")):
        base += ".json"
    return f"{hashlib.sha1(url.encode()).hexdigest()[:10]}-{base}"


def fetch(url: str, directory: Path, name: str | None = None, pinned: bool = False,
          progress: Progress | None = None, refresh: bool = False, timeout: float = 60) -> Fetched:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise DownloadError(f"cannot download '{url}': only http and https URLs are supported")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or cache_name(url))
    meta_path = path.with_name(path.name + ".meta.json")
    meta = _read_meta(meta_path) if path.exists() else {}
    if path.exists() and meta.get("url") == url and pinned and not refresh:
        return Fetched(path, url, "cached", path.stat().st_size)

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if path.exists() and meta.get("url") == url and not refresh:
        if meta.get("etag"):
            request.add_header("If-None-Match", meta["etag"])
        if meta.get("last_modified"):
            request.add_header("If-Modified-Since", meta["last_modified"])
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            size = _stream(response, path, total, progress)
            headers = response.headers
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and path.exists():
            return Fetched(path, url, "not-modified", path.stat().st_size)
        hint = "check --version (e.g. 15.1) and --domain" if exc.code == 404 else None
        raise DownloadError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}", hint=hint) from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        if path.exists() and meta.get("url") == url:
            return Fetched(path, url, "stale", path.stat().st_size)
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"downloading {url} failed: {reason}",
                            hint="check the network, or pass a local file: attrib load FILE") from exc
    meta = {"url": url, "etag": headers.get("ETag"), "last_modified": headers.get("Last-Modified"),
            "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "size": size}
    meta_path.write_text(json.dumps(meta, indent=1))
    return Fetched(path, url, "downloaded", size)


def _stream(response, path: Path, total: int | None, progress: Progress | None) -> int:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=path.suffix)
    done = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        if total is not None and done != total:
            raise DownloadError(f"download of {response.url} stopped after {done} of {total} bytes",
                                hint="try again")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return done


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text())
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


def forget(fetched: Fetched) -> None:
    """Drop a cached file (e.g. one that turned out not to be a valid bundle)."""
    fetched.path.unlink(missing_ok=True)
    fetched.path.with_name(fetched.path.name + ".meta.json").unlink(missing_ok=True)


def progress_bar(label: str, stream=None, width: int = 30) -> Progress:
    """A progress callback drawing `label [#####.....] 12.3/45.6 MB` on a terminal."""
    stream = stream or sys.stderr
    interactive = stream.isatty()
    state = {"last": 0.0}

    def update(done: int, total: int | None) -> None:
        finished = total is not None and done >= total
        now = time.monotonic()
        if not interactive or (not finished and now - state["last"] < 0.1):
            return
        state["last"] = now
        if total:
            filled = int(width * done / total)
            bar = "#" * filled + "." * (width - filled)
            text = f"\r{label} [{bar}] {done / 1e6:.1f}/{total / 1e6:.1f} MB"
        else:
            text = f"\r{label} {done / 1e6:.1f} MB"
        print(text, end="\n" if finished else "", file=stream, flush=True)

    return update
