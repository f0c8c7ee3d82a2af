"""Reports and articles -> draft incident records (`attrib extract`, the "Draft from a report" page).

The one entry point the CLI, the app and tests/benchmarks/extract.py call:

    draft_report(text: str, *, meta: ReportMeta | None = None, gazetteer: Gazetteer | None = None,
                 recognizer: TechniqueRecognizer | None = None, key: str | None = None,
                 source: str | None = None, date: str | None = None) -> Draft

- `text`: the report's plain text (`read_report(...)` turns a file, URL or stdin into text + meta);
- `meta`: what the input says about itself (title, publisher, URL, file name, date); optional;
- `gazetteer`: names the graph knows, as plain data: `Gazetteer.from_rows(gazetteer_rows(db))`
  (graph.reads.gazetteer_rows); None = no known tools or actors (unknown names still become new
  actors in claims, and new tools where the text calls them malware);
- `recognizer`: loaders.reports.techniques.TechniqueRecognizer (None = no techniques);
- `key`: the incident key (default `report:<slug of the title or file stem>`);
- `source`: a source key or name for the report (default: the publisher, else the file);
- `date`: the report's date (YYYY[-MM[-DD]]), the claims' date and the fallback first_seen.

`Draft.to_records() -> dict` is a record-format document (sources, actors, incidents, claims)
that `attrib load` takes unchanged; `Draft.to_json() -> dict` is the same with every item's
sentence and score; `Draft.to_yaml() -> str` writes the sentences as comments.
`Draft.incident_key`; `Draft.items`: every evidence item (`Item`: kind organization|sector|country|
tool|technique|infrastructure, value in record form, score, sentence, method, selected);
`Draft.techniques`: the technique Items (value = ATT&CK ID), best first; `Draft.selected(kind)`;
`Draft.claims`: `Claim` (stance, actor key, source key, confidence, sentence, score, selected).
Only selected items and claims go into `to_records()`.
"""
from loaders.reports.draft import (Claim, Draft, Item, ReportMeta, draft_report, drafts_yaml,  # noqa: F401
                                   merge_records)
from loaders.reports.inputs import read_report  # noqa: F401
from loaders.reports.names import Gazetteer  # noqa: F401
