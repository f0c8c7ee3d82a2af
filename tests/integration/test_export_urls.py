"""Exports never turn a non-http(s) URL from data into a link: a `javascript:` source or claim URL
is dropped from STIX external_references and from the HTML page's details; http(s) ones stay."""
from __future__ import annotations

import json

from app import exports
from app.exports.html import tooltip_html
from app.exports.stix import bundle
from graph.reads.subgraph import incident_subgraph
from app.ingest import load_paths

RECORDS = """
sources:
  - {key: "src:bad-url", name: "Bad URL news", kind: news, url: "javascript:alert(1)"}
  - {key: "src:good-url", name: "Good URL news", kind: news, url: "https://news.example.org/story"}
actors:
  - {key: "actor:url-test", name: "URL Test Group", kind: group}
incidents:
  - {key: "test:url-incident", name: "URL test incident", first_seen: "2021-03", sources: ["src:bad-url"]}
claims:
  - {incident: "test:url-incident", actor: "actor:url-test", source: "src:bad-url", stance: attributes,
     confidence: 40, date: "2021-03-05", url: " JavaScript:alert(2)"}
  - {incident: "test:url-incident", actor: "actor:url-test", source: "src:good-url", stance: attributes,
     confidence: 30, date: "2021-03-06", url: "https://news.example.org/story#claim"}
  - {incident: "test:url-incident", actor: "actor:url-test", source: "src:good-url", stance: disputes,
     confidence: 30, date: "2021-03-07", url: "data:text/html,<script>alert(3)</script>"}
"""


def test_non_web_urls_are_dropped_from_exports(db, tmp_path):
    path = tmp_path / "urls.yaml"
    path.write_text(RECORDS)
    assert load_paths(db, [path]).ok
    sub = incident_subgraph(db, "test:url-incident")
    data = bundle(exports.prepare(sub, "stix", exports.Options(), db=db))
    urls = [ref["url"] for o in data["objects"] for ref in o.get("external_references", [])]
    assert "https://news.example.org/story" in urls and "https://news.example.org/story#claim" in urls
    assert all(u.startswith("https://") for u in urls), urls
    text = json.dumps(data)
    assert "javascript" not in text.lower() and "data:text" not in text
    tooltips = " ".join(tooltip_html(n) for n in sub.nodes)
    assert "https://news.example.org/story" in tooltips
    assert "javascript" not in tooltips.lower() and "data:text" not in tooltips
