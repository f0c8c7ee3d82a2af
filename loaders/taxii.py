"""TAXII 2.1 collections in: `attrib load taxii URL [--collection ID|TITLE] [--added-after DATE]`.

`pull` finds the collection (URL = a server's discovery endpoint such as https://host/taxii2/,
or an API root), fetches its objects page by page through loaders/download.py (the same size cap,
deadline and per-request timeout as every download) and streams them, object by object, into one
STIX bundle in the cache (`<cache>/taxii/<host>/<collection>.json`), which is then loaded like any
local bundle (loaders/stix.py: the same validation, idempotence and whole refusal of a bad
bundle). A pull stops at `ATTRIB_TAXII_MAX_PAGES` pages or `ATTRIB_TAXII_MAX_OBJECTS` objects, and
at an empty page that says more follow. Nothing here touches the database. A server that refuses
(401/403, 404, not TAXII, unreachable) or misbehaves raises one `DownloadError` naming the URL.
"""
from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, IO
from urllib.parse import urlencode, urljoin, urlparse

import ijson

from graph.model import slug
from graph.settings import Settings, load_settings
from loaders.common import normalise_date
from loaders.download import (Budget, DownloadError, Limits, NetworkError, check_url, iter_body, open_url,
                              part_file, read_body)

# Objects per request; a server may cap it lower (its pages then hold fewer).
PAGE_SIZE = 1000
# Largest discovery, API root or collections document read (they list a few URLs each).
MAX_DOCUMENT = 16 * 2**20
MEDIA_TYPE = "application/taxii+json;version=2.1"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
NOT_TAXII_HINT = "give the discovery URL (https://host/taxii2/) or an API root"

PageProgress = Callable[[int, int], None]  # (objects so far, pages so far)


@dataclass
class Collection:
    url: str
    id: str
    title: str
    can_read: bool


@dataclass
class Pulled:
    url: str            # the collection's URL
    id: str
    title: str
    path: Path          # the bundle written
    objects: int = 0
    pages: int = 0


def added_after_timestamp(value: str) -> str:
    """--added-after: YYYY-MM-DD or an RFC 3339 UTC timestamp -> the TAXII filter value."""
    value = value.strip()
    if TIMESTAMP.match(value):
        return value
    date = normalise_date(value)
    if date is None:
        raise DownloadError(f"--added-after '{value}' is not a date",
                            hint="give YYYY-MM-DD or a timestamp like 2024-03-01T12:00:00Z")
    return f"{date}T00:00:00Z"


def pull(url: str, cache_dir: Path, collection: str | None = None, added_after: str | None = None,
         user: str | None = None, password: str | None = None, page_size: int = PAGE_SIZE,
         progress: PageProgress | None = None, settings: Settings | None = None) -> Pulled:
    """Every object of one collection (added after `added_after`, if given), page by page, written
    as one bundle (its file named after the collection's title, which names the source of objects
    that carry no author: loaders/stix.py)."""
    url = url if url.endswith("/") else url + "/"
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise DownloadError(f"'{url}' is not a TAXII URL", hint=NOT_TAXII_HINT)
    settings = settings or load_settings()
    filters = {"added_after": added_after_timestamp(added_after)} if added_after else {}
    client = _Client(url, Budget(url, Limits.from_settings(settings)), (user, password or "") if user else None)
    chosen = _choose(client.collections(url), collection, url)
    directory = cache_dir / "taxii" / re.sub(r"[^A-Za-z0-9._-]+", "-", parsed.netloc)
    directory.mkdir(parents=True, exist_ok=True)
    result = Pulled(url=chosen.url, id=chosen.id, title=chosen.title,
                    path=directory / f"{slug(chosen.title) or slug(chosen.id)}.json")
    fd, tmp = part_file(directory, ".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            # the bundle id only has to be stable for one collection, so re-pulls compare equal
            out.write(f'{{"type": "bundle", "id": "bundle--{uuid.uuid5(uuid.NAMESPACE_URL, chosen.url)}", '
                      f'"objects": [')
            _pages(client, chosen, filters, page_size, settings, result, out, progress)
            out.write("]}")
        os.replace(tmp, result.path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def _pages(client: "_Client", chosen: Collection, filters: dict, page_size: int, settings: Settings,
           result: Pulled, out: IO[str], progress: PageProgress | None) -> None:
    """Request pages until one says no more follow, each object written to `out` as it is parsed."""
    def write(obj) -> None:
        if not isinstance(obj, dict):
            raise DownloadError(f"{chosen.url}: page {result.pages + 1} holds an object that is not a "
                                f"JSON object", hint="ask the server's operator")
        if result.objects >= settings.taxii_max_objects:
            raise DownloadError(f"{chosen.url}: more than {settings.taxii_max_objects} objects "
                                f"(ATTRIB_TAXII_MAX_OBJECTS); stopped",
                                hint="pull less with --added-after, or raise ATTRIB_TAXII_MAX_OBJECTS")
        out.write((", " if result.objects else "") + json.dumps(obj, ensure_ascii=False))
        result.objects += 1

    cursor = None
    while True:
        if result.pages >= settings.taxii_max_pages:
            raise DownloadError(f"{chosen.url}: more than {settings.taxii_max_pages} pages "
                                f"(ATTRIB_TAXII_MAX_PAGES); stopped",
                                hint="pull less with --added-after, or raise ATTRIB_TAXII_MAX_PAGES")
        params = {"limit": page_size, **filters, **({"next": cursor} if cursor else {})}
        before = result.objects
        more, cursor = client.envelope(f"{chosen.url}objects/?{urlencode(params)}", chosen.url, write)
        result.pages += 1
        if progress:
            progress(result.objects, result.pages)
        if not more:
            return
        if result.objects == before:
            raise DownloadError(f"{chosen.url}: page {result.pages} came back empty but says more "
                                f"follow; stopped", hint="try again later, or ask the server's operator")


class _Client:
    """GET requests to one TAXII server within one budget; every refusal is one DownloadError."""

    def __init__(self, url: str, budget: Budget, auth: tuple[str, str] | None):
        self.url, self.budget, self.auth = url, budget, auth

    def _open(self, url: str, shown: str):
        try:
            response = open_url(url, self.budget, {"Accept": MEDIA_TYPE}, self.auth)
        except NetworkError as exc:
            raise DownloadError(f"cannot reach the TAXII server at {shown} ({exc.reason})",
                                hint="check the URL and the network") from exc
        status = response.status_code
        if status < 400 and response.headers.get("Content-Type", "").split(";")[0].strip() \
                in ("application/taxii+json", "application/json"):
            return response
        response.close()
        if status in (401, 403):
            raise DownloadError(f"the TAXII server at {shown} refused access (HTTP {status})",
                                hint="check --user and $ATTRIB_TAXII_PASSWORD")
        if status == 404:
            raise DownloadError(f"nothing at {shown} (HTTP 404)",
                                hint="check the URL: a discovery URL like https://host/taxii2/ or an "
                                     "API root, and the --collection")
        if status >= 400:
            raise DownloadError(f"the TAXII server at {shown} answered HTTP {status}",
                                hint="try again later, or ask the server's operator")
        raise DownloadError(f"{shown} does not answer as a TAXII 2.1 server (Content-Type "
                            f"'{response.headers.get('Content-Type', '')}')", hint=NOT_TAXII_HINT)

    def document(self, url: str, shown: str | None = None) -> dict:
        """A small TAXII JSON object (discovery, API root, collections)."""
        shown = shown or url
        with self._open(url, shown) as response:
            data = read_body(response, self.budget, MAX_DOCUMENT)
        try:
            document = json.loads(data)
        except ValueError as exc:
            raise DownloadError(f"{shown} does not answer as a TAXII 2.1 server (not JSON: {exc})",
                                hint=NOT_TAXII_HINT) from exc
        if not isinstance(document, dict):
            raise DownloadError(f"{shown} does not answer as a TAXII 2.1 server (a JSON "
                                f"{type(document).__name__}, not an object)", hint=NOT_TAXII_HINT)
        return document

    def collections(self, url: str) -> list[Collection]:
        """The collections behind a discovery URL (every API root, default first) or an API root."""
        document = self.document(url)
        if "versions" in document:
            roots = [url]
        elif isinstance(document.get("api_roots"), list):
            default = document.get("default")
            roots = sorted((urljoin(url, str(r)) for r in document["api_roots"]), key=lambda r: r != default)
            if not roots:
                raise DownloadError(f"the TAXII server at {url} lists no API roots",
                                    hint="give an API root URL instead")
        else:
            raise DownloadError(f"{url} does not answer as a TAXII 2.1 server (neither a discovery "
                                f"document nor an API root)", hint=NOT_TAXII_HINT)
        found = []
        for root in roots:
            root = root if root.endswith("/") else root + "/"
            check_url(root)
            listed = self.document(f"{root}collections/", url).get("collections") or []
            for c in listed if isinstance(listed, list) else []:
                if isinstance(c, dict) and isinstance(c.get("id"), str) and re.fullmatch(r"[\w.:-]+", c["id"]):
                    found.append(Collection(url=f"{root}collections/{c['id']}/", id=c["id"],
                                            title=str(c.get("title") or c["id"]), can_read=c.get("can_read") is True))
        return found

    def envelope(self, url: str, shown: str, write: Callable[[object], None]) -> tuple[bool, str | None]:
        """One page, parsed as it arrives: each object of "objects" to `write`; ("more", "next")."""
        more, cursor = False, None
        with self._open(url, shown) as response:
            events = ijson.parse(_Reader(iter_body(response, self.budget)), use_float=True)
            try:
                first = next(events, None)
                if first is None or first[1] != "start_map":
                    kind = "empty" if first is None else f"a JSON {first[1].replace('start_', '')}"
                    raise DownloadError(f"{shown}: the server sent {kind}, not a TAXII envelope (a JSON object)",
                                        hint="ask the server's operator")
                builder = None
                for prefix, event, value in events:
                    if builder is not None:
                        builder.event(event, value)
                        if prefix == "objects.item" and event in ("end_map", "end_array"):
                            write(builder.value)
                            builder = None
                    elif prefix == "objects.item":
                        if event in ("start_map", "start_array"):
                            builder = ijson.ObjectBuilder()
                            builder.event(event, value)
                        else:
                            write(value)
                    elif prefix == "more" and event == "boolean":
                        more = value
                    elif prefix == "next" and event in ("string", "number"):
                        cursor = str(value)
            except ijson.JSONError as exc:
                raise DownloadError(f"{shown}: the server sent invalid JSON ({exc})",
                                    hint="try again later, or ask the server's operator") from exc
        return more, cursor


class _Reader:
    """A file-like reader over the chunks of a body (what ijson reads from)."""

    def __init__(self, chunks):
        self.chunks, self.rest = chunks, b""

    def read(self, size: int = -1) -> bytes:
        if not self.rest:
            self.rest = next(self.chunks, b"")
        data, self.rest = (self.rest, b"") if size < 0 else (self.rest[:size], self.rest[size:])
        return data


def _choose(collections: list[Collection], wanted: str | None, url: str) -> Collection:
    readable = [c for c in collections if c.can_read]
    listing = "; ".join(f"{c.id} ({c.title})" for c in readable) or "none"
    if wanted is None:
        if len(readable) == 1:
            return readable[0]
        raise DownloadError(f"{url} offers {len(readable)} readable collections: {listing}",
                            hint="choose one with --collection ID or TITLE")
    matches = [c for c in readable if c.id == wanted] \
        or [c for c in readable if c.title.casefold() == wanted.strip().casefold()]
    if len(matches) == 1:
        return matches[0]
    what = "several collections are" if matches else "no readable collection is"
    raise DownloadError(f"{what} called '{wanted}' at {url}; readable collections: {listing}",
                        hint="give a collection ID or its exact title with --collection")
