"""TAXII 2.1 collections in: `attrib load taxii URL [--collection ID|TITLE] [--added-after DATE]`.

`pull` finds the collection (URL = a server's discovery endpoint such as https://host/taxii2/,
or an API root), fetches its objects page by page with the `taxii2-client` library and returns
them; `save_bundle` writes them as one STIX bundle into the cache
(`<cache>/taxii/<host>/<collection>.json`), which is then loaded like any local bundle
(loaders/stix.py: the same validation, idempotence and whole refusal of a bad bundle). Nothing
here touches the database. A server that refuses (401/403, 404, not TAXII, unreachable) raises
one `DownloadError` naming the URL and what to do.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

import requests
from taxii2client.exceptions import AccessError, TAXIIServiceException
from taxii2client.exceptions import ValidationError as TaxiiValidationError
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from graph.model import slug
from loaders.common import normalise_date
from loaders.download import DownloadError

# Objects per request; a server may cap it lower (as_pages then follows the server's size).
PAGE_SIZE = 1000
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

PageProgress = Callable[[int, int], None]  # (objects so far, pages so far)


@dataclass
class Pulled:
    url: str            # the collection's URL
    id: str
    title: str
    objects: list[dict] = field(default_factory=list)
    pages: int = 0

    def bundle(self) -> dict:
        # The bundle id only has to be stable for one collection, so re-pulls compare equal.
        return {"type": "bundle", "id": f"bundle--{uuid.uuid5(uuid.NAMESPACE_URL, self.url)}",
                "objects": self.objects}


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


def pull(url: str, collection: str | None = None, added_after: str | None = None,
         user: str | None = None, password: str | None = None, page_size: int = PAGE_SIZE,
         progress: PageProgress | None = None) -> Pulled:
    """Every object of one collection (added after `added_after`, if given), page by page."""
    url = url if url.endswith("/") else url + "/"
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise DownloadError(f"'{url}' is not a TAXII URL",
                            hint="give the discovery URL (https://host/taxii2/) or an API root")
    filters = {"added_after": added_after_timestamp(added_after)} if added_after else {}
    with _refusals(url):
        chosen = _choose(_collections(url, user, password), collection, url)
    result = Pulled(url=chosen.url, id=chosen.id, title=chosen.title or chosen.id)
    with _refusals(chosen.url):
        for envelope in as_pages(chosen.get_objects, per_request=page_size, **filters):
            result.objects.extend(envelope.get("objects") or [])
            result.pages += 1
            if progress:
                progress(len(result.objects), result.pages)
    return result


def _collections(url: str, user: str | None, password: str | None) -> list[Collection]:
    """The collections behind a discovery URL (every API root, default first) or an API root."""
    root = ApiRoot(url, user=user, password=password)
    try:
        root.refresh_information()
        roots = [root]
    except TaxiiValidationError:
        # not an API root (a discovery document has no 'versions'): try it as the discovery URL
        server = Server(url, user=user, password=password)
        roots = sorted(server.api_roots, key=lambda r: r is not server.default)
        if not roots:
            raise DownloadError(f"the TAXII server at {url} lists no API roots",
                                hint="give an API root URL instead")
    found = []
    for api_root in roots:
        found.extend(api_root.collections)
    return found


def _choose(collections: list[Collection], wanted: str | None, url: str) -> Collection:
    readable = [c for c in collections if c.can_read]
    listing = "; ".join(f"{c.id} ({c.title})" for c in readable) or "none"
    if wanted is None:
        if len(readable) == 1:
            return readable[0]
        raise DownloadError(f"{url} offers {len(readable)} readable collections: {listing}",
                            hint="choose one with --collection ID or TITLE")
    matches = [c for c in readable if c.id == wanted] \
        or [c for c in readable if (c.title or "").casefold() == wanted.strip().casefold()]
    if len(matches) == 1:
        return matches[0]
    what = "several collections are" if matches else "no readable collection is"
    raise DownloadError(f"{what} called '{wanted}' at {url}; readable collections: {listing}",
                        hint="give a collection ID or its exact title with --collection")


class _refusals:
    """Turn what a TAXII server or the network refuses into one DownloadError naming the URL."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or isinstance(exc, DownloadError):
            return False
        if isinstance(exc, requests.HTTPError):
            status = exc.response.status_code if exc.response is not None else None
            if status in (401, 403):
                raise DownloadError(f"the TAXII server at {self.url} refused access (HTTP {status})",
                                    hint="check --user and --password") from exc
            if status == 404:
                raise DownloadError(f"nothing at {self.url} (HTTP 404)",
                                    hint="check the URL: a discovery URL like https://host/taxii2/ or an "
                                         "API root, and the --collection") from exc
            raise DownloadError(f"the TAXII server at {self.url} answered HTTP {status}",
                                hint="try again later, or ask the server's operator") from exc
        if isinstance(exc, AccessError):
            raise DownloadError(f"{self.url}: {exc}", hint="ask the server's operator for read access") from exc
        if isinstance(exc, TAXIIServiceException):
            raise DownloadError(f"{self.url} does not answer as a TAXII 2.1 server ({_first_line(exc)})",
                                hint="give the discovery URL (https://host/taxii2/) or an API root") from exc
        if isinstance(exc, requests.RequestException):
            raise DownloadError(f"cannot reach the TAXII server at {self.url} ({_first_line(exc)})",
                                hint="check the URL and the network") from exc
        return False


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def save_bundle(pulled: Pulled, cache_dir: Path) -> Path:
    """Write the pulled objects as one bundle; the file is named after the collection's title,
    which names the source of objects that carry no author (loaders/stix.py)."""
    parsed = urlparse(pulled.url)
    directory = cache_dir / "taxii" / re.sub(r"[^A-Za-z0-9._-]+", "-", parsed.netloc)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{slug(pulled.title) or slug(pulled.id)}.json"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".part-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(pulled.bundle(), out, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
