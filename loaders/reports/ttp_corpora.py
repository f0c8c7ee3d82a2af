"""Annotated threat-report corpora: real reports whose sentences carry ATT&CK technique labels.

The technique recogniser learns from them beside ATT&CK's own prose, at model-build time; they are
read from where they lie and never copied into the repository. A corpus file is a JSON list of
documents, `[{"title": ..., "sentences": [{"text": ..., "techniques": [IDs]}]}]` (TRAM 2's and
AnnoCTR's as /work/shared/data/ttp-reports/ holds them). Only technique IDs are kept (AnnoCTR also
labels tactics, software and groups).

Where: `$ATTRIB_TTP_REPORTS` (a folder of such `.json` files), else the shared data folder next to
the checkout (`../shared/data/ttp-reports/`) when it exists, else none.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from graph.errors import ValidationError
from graph.model import TECHNIQUE_ID
from loaders.common import parse_json, read_text

ENV = "ATTRIB_TTP_REPORTS"
DEFAULT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ttp-reports"


@dataclass(frozen=True)
class Report:
    """One annotated report: its sentences, each sentence's technique IDs."""

    corpus: str  # the file's stem, e.g. "tram2-train"
    title: str
    sentences: tuple[str, ...]
    labels: tuple[frozenset[str], ...]

    @property
    def techniques(self) -> frozenset[str]:
        return frozenset().union(*self.labels) if self.labels else frozenset()


def parent(technique: str) -> str:
    return technique.split(".")[0]


def corpora_dir(env: dict[str, str] | None = None) -> Path | None:
    """The folder of annotated corpora: $ATTRIB_TTP_REPORTS, else ../shared/data/ttp-reports
    beside the checkout, else None. A folder named in the environment must exist."""
    env = os.environ if env is None else env
    if env.get(ENV):
        path = Path(env[ENV]).expanduser()
        if not path.is_dir():
            raise ValidationError(path, f"{ENV} names no folder", hint="unset it, or point it at the corpora")
        return path
    return DEFAULT if DEFAULT.is_dir() else None


def corpus_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix == ".json")


def corpora_hash(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def read_reports(path: Path) -> list[Report]:
    """One corpus file -> its reports; a wrong shape is an error naming the document and field."""
    data = parse_json(path, read_text(path))
    if not isinstance(data, list):
        raise ValidationError(path, "not a list of documents", hint='[{"title": ..., "sentences": [...]}]')
    reports = []
    for n, doc in enumerate(data):
        where = f"document {n + 1}"
        if not isinstance(doc, dict) or not isinstance(doc.get("sentences"), list):
            raise ValidationError(path, "a document needs a list of sentences", record=where, field="sentences")
        texts, labels = [], []
        for m, s in enumerate(doc["sentences"]):
            if not isinstance(s, dict) or not isinstance(s.get("text"), str) \
                    or not isinstance(s.get("techniques", []), list):
                raise ValidationError(path, f"sentence {m + 1} needs a text and a list of techniques",
                                      record=where, field="sentences")
            texts.append(s["text"])
            labels.append(frozenset(t.upper() for t in s.get("techniques", [])
                                    if isinstance(t, str) and TECHNIQUE_ID.match(t.upper())))
        reports.append(Report(path.stem, str(doc.get("title") or where), tuple(texts), tuple(labels)))
    return reports


def label_space(reports: list[Report]) -> frozenset[str]:
    """The technique IDs a corpus labels (its reports' union)."""
    return frozenset().union(*(r.techniques for r in reports)) if reports else frozenset()
