"""Every download of the project (attrib load attack, attrib extract URL, attrib load taxii), bounded,
into the local cache, with a progress callback.

`attrib load attack [--domain enterprise|ics|mobile] [--version 15.1] [--url URL]` uses
`fetch_attack`; the file lands in `<settings.cache_dir>/attack/` and is then loaded like any
local file. A pinned release (`--version`) never changes, so a cached copy is used without
asking the network; the moving "latest" release and `--url` are revalidated with a
conditional request (ETag / Last-Modified), so an unchanged file is not downloaded again.

Every request goes through `open_url` and every body through `iter_body`: http and https only,
also across redirects; at most `ATTRIB_DOWNLOAD_MAX_MB` in all, `ATTRIB_DOWNLOAD_DEADLINE` seconds
in all, and `ATTRIB_DOWNLOAD_TIMEOUT` seconds to connect or between two reads (`Limits`). A
download goes to a `.part-<pid>-*` file first, removed on any failure; those of a killed process
are removed by the next download into the same folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import unquote, urljoin, urlparse

import requests
import urllib3

from graph.errors import AttribError
from graph.settings import Settings, load_settings
from graph.store.server import pid_alive

ATTACK_DOMAINS = ("enterprise", "ics", "mobile")
# The mitre/cti repository tags every release "ATT&CK-v<version>"; master holds the latest.
CTI_URL = "https://raw.githubusercontent.com/mitre/cti/{ref}/{domain}-attack/{domain}-attack.json"
VERSION = re.compile(r"^\d+(\.\d+){0,2}$")
CHUNK = 1 << 16
MAX_REDIRECTS = 10
PART = ".part-"
USER_AGENT = "attrib (threat-intel attribution explorer)"
LIMITS_HINT = "if the source is genuine, raise ATTRIB_DOWNLOAD_MAX_MB / ATTRIB_DOWNLOAD_DEADLINE"

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)


class DownloadError(AttribError):
    """A file could not be downloaded (and no cached copy exists)."""


class NetworkError(DownloadError):
    """The server could not be reached or stopped answering (a cached copy may stand in)."""

    def __init__(self, message: str, reason: str, hint: str | None = None):
        super().__init__(message, hint)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """Bytes and seconds one download (or one TAXII pull) may take in all; seconds one request may
    wait to connect or for its next bytes."""
    max_bytes: int
    deadline_s: float
    timeout_s: float
    cap_name: str = "ATTRIB_DOWNLOAD_MAX_MB"  # what sets max_bytes, for the message

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> "Limits":
        s = settings or load_settings()
        return cls(s.download_max_mb * 2**20, s.download_deadline_s, s.download_timeout_s)


class Budget:
    """The limits of one download (or pull) being spent, across its requests."""

    def __init__(self, url: str, limits: Limits | None = None):
        self.url, self.limits = url, limits or Limits.from_settings()
        self.started, self.bytes = time.monotonic(), 0

    def timeout(self) -> float:
        """Seconds the next request or read may wait; a DownloadError once the deadline has passed."""
        left = self.limits.deadline_s - (time.monotonic() - self.started)
        if left <= 0:
            raise DownloadError(f"{self.url}: stopped after {self.limits.deadline_s:g} s "
                                f"(ATTRIB_DOWNLOAD_DEADLINE) and {self.bytes / 1e6:.1f} MB", hint=LIMITS_HINT)
        return min(self.limits.timeout_s, left)

    def spend(self, size: int, announced: bool = False) -> None:
        """Count `size` more bytes (`announced`: only check a Content-Length before reading)."""
        if self.bytes + size > self.limits.max_bytes:
            raise DownloadError(f"{self.url}: more than {self.limits.max_bytes / 2**20:g} MB "
                                f"({self.limits.cap_name}); stopped",
                                hint=LIMITS_HINT if self.limits.cap_name.startswith("ATTRIB_") else None)
        self.bytes += 0 if announced else size


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
                 refresh: bool = False, limits: Limits | None = None) -> Fetched:
    """The ATT&CK bundle for a domain and version (default: latest), or `url`, via the cache."""
    if url:
        return fetch(url, cache_dir / "attack", progress=progress, refresh=refresh, limits=limits)
    target = attack_url(domain, version)
    name = f"{domain}-attack-{version.strip().lstrip('vV') if version else 'latest'}.json"
    return fetch(target, cache_dir / "attack", name=name, pinned=version is not None,
                 progress=progress, refresh=refresh, limits=limits)


def cache_name(url: str) -> str:
    """A cache file name for a URL: readable, unique per URL, ending in .json[.gz]."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", unquote(Path(urlparse(url).path).name)) or "download"
    if not base.lower().endswith((".json", ".json.gz")):
        base += ".json"
    return f"{hashlib.sha1(url.encode()).hexdigest()[:10]}-{base}"


def check_url(url: str, first: str | None = None) -> None:
    """http and https only (`first`: the URL that redirected here)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        if first:
            raise DownloadError(f"{first} redirects to '{url}': only http and https URLs are followed")
        raise DownloadError(f"cannot download '{url}': only http and https URLs are supported")


def open_url(url: str, budget: Budget, headers: dict | None = None,
             auth: tuple[str, str] | None = None) -> requests.Response:
    """The response to GET `url` (redirects followed, each checked; credentials only to the first
    host), its body not read yet: read it through `iter_body`. Close it."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        check_url(current, url if current != url else None)
        same_host = urlparse(current).netloc == urlparse(url).netloc
        try:
            response = requests.get(current, stream=True, allow_redirects=False, timeout=budget.timeout(),
                                    auth=auth if same_host else None,
                                    headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity",
                                             **(headers or {})})
        except requests.RequestException as exc:
            why = (f"no answer within {budget.limits.timeout_s:g} s, ATTRIB_DOWNLOAD_TIMEOUT"
                   if _timed_out(exc) else _first_line(exc))
            budget.timeout()
            raise NetworkError(f"cannot reach {current} ({why})", why,
                               hint="check the URL and the network") from exc
        if not response.is_redirect:
            return response
        current = urljoin(current, response.headers.get("Location", ""))
        response.close()
    raise DownloadError(f"{url} redirects more than {MAX_REDIRECTS} times")


def iter_body(response: requests.Response, budget: Budget) -> Iterator[bytes]:
    """The body in chunks as they arrive, within the budget (as sent: no decompression)."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit():
        budget.spend(int(length), announced=True)
    while True:
        timeout = budget.timeout()
        try:
            sock = getattr(response.raw.connection, "sock", None)
            if sock is not None:
                sock.settimeout(timeout)  # the deadline also bounds a read that waits
            chunk = response.raw.read1(CHUNK, decode_content=False)
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            budget.timeout()  # a read cut by the deadline says so
            why = (f"no data for {timeout:g} s, ATTRIB_DOWNLOAD_TIMEOUT" if _timed_out(exc) else _first_line(exc))
            reason = f"the transfer stopped after {budget.bytes / 1e6:.1f} MB ({why})"
            raise NetworkError(f"{budget.url}: {reason}", reason, hint="try again") from exc
        if not chunk:
            return
        budget.spend(len(chunk))
        yield chunk


def read_body(response: requests.Response, budget: Budget, max_bytes: int) -> bytes:
    """A whole (small) body, at most `max_bytes`."""
    data = bytearray()
    for chunk in iter_body(response, budget):
        data += chunk
        if len(data) > max_bytes:
            raise DownloadError(f"{response.url}: an answer of more than {max_bytes // 2**20} MB; stopped")
    return bytes(data)


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def part_file(directory: Path, suffix: str = "") -> tuple[int, Path]:
    """A new partial file in `directory` (fd, path), after removing those of processes gone."""
    for old in directory.glob(PART + "*"):
        pid = old.name[len(PART):].split("-", 1)[0]
        if not (pid.isdigit() and pid_alive(int(pid))):
            old.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{PART}{os.getpid()}-", suffix=suffix)
    return fd, Path(tmp)


def fetch(url: str, directory: Path, name: str | None = None, pinned: bool = False,
          progress: Progress | None = None, refresh: bool = False, limits: Limits | None = None,
          max_bytes: tuple[int, str] | None = None) -> Fetched:
    """`url` into `directory` (`max_bytes`: a lower cap than the settings' for this download, and
    what sets it)."""
    check_url(url)
    limits = limits or Limits.from_settings()
    if max_bytes is not None and max_bytes[0] < limits.max_bytes:
        limits = replace(limits, max_bytes=max_bytes[0], cap_name=max_bytes[1])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or cache_name(url))
    meta_path = path.with_name(path.name + ".meta.json")
    meta = _read_meta(meta_path) if path.exists() else {}
    cached = path.exists() and meta.get("url") == url
    if cached and pinned and not refresh:
        return Fetched(path, url, "cached", path.stat().st_size)

    headers = {}
    if cached and not refresh:
        if meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
    budget = Budget(url, limits)
    try:
        with open_url(url, budget, headers) as response:
            if response.status_code == 304 and path.exists():
                return Fetched(path, url, "not-modified", path.stat().st_size)
            if response.status_code >= 400:
                hint = "check --version (e.g. 15.1) and --domain" if response.status_code == 404 else None
                raise DownloadError(f"downloading {url} failed: HTTP {response.status_code} {response.reason}",
                                    hint=hint)
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            size = _stream(iter_body(response, budget), url, path, total, progress)
            response_headers = response.headers
    except NetworkError as exc:
        if cached:
            return Fetched(path, url, "stale", path.stat().st_size)
        raise DownloadError(f"downloading {url} failed: {exc.reason}",
                            hint="check the network, or pass a local file: attrib load FILE") from exc
    meta = {"url": url, "etag": response_headers.get("ETag"), "last_modified": response_headers.get("Last-Modified"),
            "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "size": size}
    meta_path.write_text(json.dumps(meta, indent=1))
    return Fetched(path, url, "downloaded", size)


def _stream(chunks: Iterator[bytes], url: str, path: Path, total: int | None, progress: Progress | None) -> int:
    fd, tmp = part_file(path.parent, path.suffix)
    done = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        if total is not None and done != total:
            raise DownloadError(f"download of {url} stopped after {done} of {total} bytes", hint="try again")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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
