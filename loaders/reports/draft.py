"""The draft assembler: a report's text -> one incident, its source and claims, every item with the
sentence it came from and a score; out as a record-format document, JSON or commented YAML.

Selection: an item is selected (goes into the records) when its score reaches `SELECT_AT` (a
technique: the recogniser's threshold; techniques from `SUGGEST_AT` up to it are listed unticked)
and its sentence is not background (earlier events: "had previously", or a year two or more years before
the report's date). A denial is selected only when a selected claim in the same draft attributes
to the same actor (a denial answers an accusation). Unselected items stay in the draft, for review.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Iterable

import yaml

from graph.countries import country_name
from graph.errors import ValidationError
from graph.model import SOFTWARE_ID, claim_key, normalise_name, slug
from loaders.common import normalise_date
from loaders.reports import claims as claimtext, structure
from loaders.reports.dates import HISTORY, about_other_incident, dates_in, is_background, recent, subject_terms
from loaders.reports.hints import hints_in
from loaders.reports.indicators import indicators, registrable
from loaders.reports.names import (SOFTWARE_CUE, Gazetteer, best, find_names, new_tool_names)
from loaders.reports.parties import GOVERNMENT_BODIES, GOVERNMENT_NOUN, Discourse, Speaker, quote_attribution
from loaders.reports.places import country_mentions, organisations, sectors
from loaders.reports.text import Sentence, split_sentences

_LIST_GAP = re.compile(r",\s*(?:and\s+|or\s+)?(?:the\s+)?|\s+(?:and|or)\s+(?:the\s+)?")

SELECT_AT = 0.5
# Techniques the model ranks below its threshold but at least this high are listed unticked, for
# the reviewer to tick: on news text (not ATT&CK's wording) the right technique often scores there.
SUGGEST_AT = 0.2
# Evidence kinds in the order records list them.
EVIDENCE_KINDS = ("organization", "sector", "country", "tool", "technique", "infrastructure")
_TARGETING = re.compile(
    r"\b(?:target(?:ed|ing|s)?|attack(?:ed|s|ing)?|breach(?:ed|es)?|compromis(?:ed|e|ing)|infiltrat(?:e|ed|ing)|"
    r"hack(?:ed|ing)? into|break into|broke into|victims?|against|spear-?phish(?:ed|ing)?|phish(?:ed|ing)|"
    r"contacted|approached|lured|intrusions?)\b", re.I)
_ORG_OR_SECTOR_NOUN = re.compile(r"^\s+(?:[\w-]+\s+){0,2}(?:compan(?:y|ies)|firms?|makers?|manufacturers?|citizens|"
                                 r"population|residents|users|customers|networks|systems|computers|grid|infrastructure|"
                                 r"elections?|parliament|power|utilit(?:y|ies)|banks?|"
                                 r"developers?|organi[sz]ations?|banks?|agenc(?:y|ies)|ministr(?:y|ies)|"
                                 r"universit(?:y|ies)|hospitals?|contractors?|providers?|operators?|entities|"
                                 r"institutions?|government|businesses|industry|sector|giant|group|targets?|"
                                 r"victims?|employees|staff|media|defen[cs]e|pharmaceutical)\b", re.I)


# A default incident key: at most KEY_WORDS characters of words, then KEY_HASH hex digits of the text's hash.
KEY_WORDS, KEY_HASH = 40, 8


@dataclass(frozen=True)
class ReportMeta:
    """What an input says about itself."""

    name: str = "stdin"               # file name, URL or "stdin"
    stem: str | None = None           # file stem, for the default key
    title: str | None = None
    publisher: str | None = None      # site or PDF author
    url: str | None = None
    date: str | None = None
    kind: str = "text"                # text | markdown | html | pdf


@dataclass
class Item:
    """One extracted evidence item."""

    kind: str                 # an EVIDENCE_KINDS value
    value: str                # the record form: name, code, ID, "kind:value"
    label: str                # for people
    sentence: str
    score: float
    method: str               # how it was found
    selected: bool = True
    extra: dict = field(default_factory=dict)  # an organisation's country/sector, a tool's attack_id

    def to_json(self) -> dict:
        return {"kind": self.kind, "value": self.value, "label": self.label, "score": round(self.score, 3),
                "selected": self.selected, "method": self.method, "sentence": self.sentence, **self.extra}


@dataclass
class Claim:
    stance: str
    actor: str                # actor key, or a name for a new actor
    actor_name: str
    source: str               # source key, or a name for a new source
    confidence: int
    sentence: str
    score: float
    selected: bool = True
    note: str = ""
    estimate: dict = field(default_factory=dict)   # ICD 203 likelihood and confidence level, apart
    country: str | None = None                      # the actor's state, where known
    answers: str = ""                               # a denial: the sentence of the accusation it answers

    def to_json(self) -> dict:
        return {"stance": self.stance, "actor": self.actor, "actor_name": self.actor_name,
                "source": self.source, "confidence": self.confidence, **self.estimate, "score": round(self.score, 3),
                "selected": self.selected, "sentence": self.sentence, "note": self.note,
                **({"answers": self.answers} if self.answers else {})}


@dataclass
class Draft:
    key: str
    name: str
    first_seen: str
    last_seen: str | None
    description: str | None
    source: str                                   # the report's source key
    date: str                                     # the claims' date
    items: list[Item] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    new_sources: dict[str, dict] = field(default_factory=dict)   # key -> source record
    new_actors: dict[str, dict] = field(default_factory=dict)    # key -> actor record
    url: str | None = None
    notes: list[str] = field(default_factory=list)                # what the draft could not tell
    date_sentence: str = ""

    @property
    def incident_key(self) -> str:
        return self.key

    @property
    def techniques(self) -> list[Item]:
        return sorted((i for i in self.items if i.kind == "technique"), key=lambda i: -i.score)

    def selected(self, kind: str) -> list[Item]:
        return [i for i in self.items if i.kind == kind and i.selected]

    # -- out -----------------------------------------------------------------------------------
    def to_records(self) -> dict:
        return merge_records([self])

    def incident_record(self) -> dict:
        record: dict = {"key": self.key, "name": self.name, "first_seen": self.first_seen}
        if self.last_seen and self.last_seen != self.first_seen:
            record["last_seen"] = self.last_seen
        if self.description:
            record["description"] = self.description
        victims = {}
        orgs = [_org_record(i) for i in self.selected("organization")]
        if orgs:
            victims["organizations"] = orgs
        for kind, field_name in (("sector", "sectors"), ("country", "countries")):
            values = _unique(i.value for i in self.selected(kind))
            if values:
                victims[field_name] = values
        if victims:
            record["victims"] = victims
        tools = [_tool_record(i) for i in self.selected("tool")]
        if tools:
            record["tools"] = tools
        techniques = _unique(i.value for i in sorted(self.selected("technique"), key=lambda i: -i.score))
        if techniques:
            record["techniques"] = techniques
        infra = []
        for i in self.selected("infrastructure"):
            kind, _, value = i.value.partition(":")
            infra.append({"kind": kind, "value": value})
        if infra:
            record["infrastructure"] = infra
        hints = [_entry(i) for i in self.selected("hint")]
        if hints:
            record["hints"] = hints
        record["sources"] = [self._source_key(self.source)]
        return record

    def claim_records(self) -> list[dict]:
        out, seen = [], set()
        for c in self.claims:
            if not c.selected:
                continue
            actor, source = self._actor_key(c.actor), self._source_key(c.source)
            ident = claim_key(self.key, actor, source, c.stance, self.date)
            if ident in seen:
                continue
            seen.add(ident)
            record = {"incident": self.key, "actor": actor, "source": source, "stance": c.stance,
                      "confidence": c.confidence, "date": self.date, "statement": c.sentence}
            if c.estimate.get("likelihood"):
                record["likelihood"] = c.estimate["likelihood"]["term"]
            if c.estimate.get("confidence_level"):
                record["confidence_level"] = c.estimate["confidence_level"]
            if self.url and source == self.source:
                record["url"] = self.url
            out.append(record)
        return out

    def referenced_sources(self) -> list[dict]:
        keys = [self._source_key(self.source)] + [r["source"] for r in self.claim_records()]
        return [self._source_record(k) for k in _unique(keys) if self._source_record(k) is not None]

    def referenced_actors(self) -> list[dict]:
        keys = _unique(r["actor"] for r in self.claim_records())
        return [self._actor_record(k) for k in keys if self._actor_record(k) is not None]

    def _source_key(self, ref: str) -> str:
        return ref if ":" in ref else f"src:{slug(ref)}"

    def _source_record(self, key: str) -> dict | None:
        if key in self.new_sources:
            return self.new_sources[key]
        ref = next((c.source for c in self.claims if ":" not in c.source and self._source_key(c.source) == key), None)
        return {"key": key, "name": ref, "kind": "other"} if ref else None

    def _actor_key(self, ref: str) -> str:
        return ref if ":" in ref else f"actor:{slug(ref)}"

    def _actor_record(self, key: str) -> dict | None:
        if key in self.new_actors:
            return self.new_actors[key]
        ref = next((c.actor for c in self.claims if ":" not in c.actor and self._actor_key(c.actor) == key), None)
        return {"key": key, "name": ref, "kind": "group"} if ref else None

    def to_json(self) -> dict:
        return {"incident": {"key": self.key, "name": self.name, "first_seen": self.first_seen,
                             "last_seen": self.last_seen, "description": self.description,
                             "date_sentence": self.date_sentence},
                "source": self.source, "date": self.date, "url": self.url,
                "techniques": [i.to_json() for i in self.techniques],
                "items": [i.to_json() for i in self.items],
                "claims": [c.to_json() for c in self.claims],
                "notes": self.notes,
                "records": self.to_records()}

    def to_yaml(self) -> str:
        return drafts_yaml([self])


def merge_records(drafts: Iterable[Draft]) -> dict:
    """One record document for several drafts: each source and actor once, one incident per draft."""
    sources: dict[str, dict] = {}
    actors: dict[str, dict] = {}
    incidents, claims = [], []
    for d in drafts:
        for s in d.referenced_sources():
            sources.setdefault(s["key"], s)
        for a in d.referenced_actors():
            actors.setdefault(a["key"], a)
        incidents.append(d.incident_record())
        claims.extend(d.claim_records())
    doc: dict = {}
    if sources:
        doc["sources"] = list(sources.values())
    if actors:
        doc["actors"] = list(actors.values())
    doc["incidents"] = incidents
    if claims:
        doc["claims"] = claims
    return doc


# -- YAML with the sentences as comments --------------------------------------------------------------
def drafts_yaml(drafts: list[Draft]) -> str:
    """The records of `drafts` as YAML (what `attrib load` reads), each item preceded by a comment
    with its score and sentence; unselected items as comments only."""
    doc = merge_records(drafts)
    out = ["# Drafted by attrib extract: review every item, then: attrib load THIS_FILE",
           "# Each item's comment gives its score (0-1) and the sentence it came from; items below the",
           "# selection threshold or from sentences about earlier events are commented out."]
    for kind in ("sources", "actors"):
        if doc.get(kind):
            out.append(f"{kind}:")
            out.extend(_flow_item(r, 2) for r in doc[kind])
    out.append("incidents:")
    for d, record in zip(drafts, doc["incidents"]):
        out.extend(_incident_yaml(d, record))
    claim_records = doc.get("claims", [])
    unselected = [(d, c) for d in drafts for c in d.claims if not c.selected]
    if claim_records or unselected:
        out.append("claims:" if claim_records else "# claims:")
        for d in drafts:
            for record in d.claim_records():
                c = next(c for c in d.claims if c.selected and c.sentence == record["statement"]
                         and d._actor_key(c.actor) == record["actor"] and c.stance == record["stance"])
                out.append(_comment(c.score, c.sentence, 2, c.note))
                out.append(_flow_item(record, 2))
        for d, c in unselected:
            out.append(_comment(c.score, c.sentence, 2, c.note or "not selected"))
            out.append("  # - " + _flow({"stance": c.stance, "actor": c.actor, "source": c.source,
                                         "confidence": c.confidence}))
    return "\n".join(out) + "\n"


def _incident_yaml(d: Draft, record: dict) -> list[str]:
    out = [f"  - key: {_flow(record['key'])}", f"    name: {_flow(record['name'])}"]
    if d.date_sentence:
        out.append(_comment(None, d.date_sentence, 4, "dates"))
    out.append(f"    first_seen: {_flow(record['first_seen'])}")
    if "last_seen" in record:
        out.append(f"    last_seen: {_flow(record['last_seen'])}")
    if "description" in record:
        out.append(f"    description: {_flow(record['description'])}")
    groups = [("victims", "organizations", "organization"), ("victims", "sectors", "sector"),
              ("victims", "countries", "country"), (None, "tools", "tool"),
              (None, "techniques", "technique"), (None, "infrastructure", "infrastructure"), (None, "hints", "hint")]
    opened_victims = False
    for parent, field_name, kind in groups:
        items = [i for i in d.items if i.kind == kind]
        if kind == "technique":
            items.sort(key=lambda i: -i.score)
        if not items:
            continue
        indent = 6 if parent else 4
        if parent and not opened_victims:
            out.append("    victims:" if "victims" in record else "    # victims:")
            opened_victims = True
        values = (record.get("victims", {}) if parent else record).get(field_name, [])
        out.append(" " * indent + f"{field_name}:" if values else " " * indent + f"# {field_name}:")
        done = set()
        for i in items:
            entry = _entry(i)
            mark = json.dumps(entry, sort_keys=True)
            if i.selected and entry in values and mark not in done:
                done.add(mark)
                out.append(_comment(i.score, i.sentence, indent + 2, i.method))
                out.append(" " * (indent + 2) + "- " + _flow(entry))
            elif not i.selected:
                out.append(_comment(i.score, i.sentence, indent + 2, i.method + ", not selected"))
                out.append(" " * (indent + 2) + "# - " + _flow(entry))
    out.append(f"    sources: {_flow(record['sources'])}")
    return out


def _entry(i: Item):
    if i.kind == "organization":
        return _org_record(i)
    if i.kind == "tool":
        return _tool_record(i)
    if i.kind in ("infrastructure", "hint"):
        kind, _, value = i.value.partition(":")
        return {"kind": kind, "value": value} | ({"text": i.sentence} if i.kind == "hint" else {})
    return i.value


def _flow(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=1 << 20, allow_unicode=True,
                          sort_keys=False).strip().removesuffix("\n...").removesuffix("...").strip()


def _flow_item(record: dict, indent: int) -> str:
    return " " * indent + "- " + _flow(record)


def _comment(score: float | None, sentence: str, indent: int, note: str = "") -> str:
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in sentence).split())
    if len(text) > 300:
        text = text[:297] + "..."
    head = f"{score:.2f} " if score is not None else ""
    return " " * indent + f"# {head}[{note}] {text}" if note else " " * indent + f"# {head}{text}"


def _org_record(i: Item) -> dict | str:
    extra = {k: i.extra[k] for k in ("country", "sector") if i.extra.get(k)}
    return {"name": i.value, **extra} if extra else i.value


def _tool_record(i: Item) -> dict | str:
    if SOFTWARE_ID.match(i.value):
        return {"name": i.extra["name"], "attack_id": i.value} if i.extra.get("name") else i.value
    if i.extra.get("key") and i.extra["key"] != f"tool:{slug(i.value)}":
        return {"key": i.extra["key"], "name": i.value}  # e.g. a MISP galaxy's misp:<uuid>
    return i.value


def _unique(values: Iterable) -> list:
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


# -- the assembler ---------------------------------------------------------------------------------
def draft_report(text: str, *, meta: ReportMeta | None = None, gazetteer: Gazetteer | None = None,
                 recognizer=None, key: str | None = None, source: str | None = None,
                 date: str | None = None) -> Draft:
    """See loaders/reports/__init__.py."""
    meta = meta or ReportMeta()
    gazetteer = gazetteer or Gazetteer()
    report_date = normalise_date(date) if date else meta.date
    if date and not report_date:
        raise ValidationError(meta.name, f"--date {date!r} is not a date", hint="use YYYY, YYYY-MM or YYYY-MM-DD")
    sentences = split_sentences(text)
    title = meta.title or _title(sentences)
    body = [s for s in sentences if s.text != title] or sentences
    own = _own_domains(meta)

    draft = Draft(key=key or _default_key(text, meta, title, sentences), name=title or meta.stem or meta.name,
                  first_seen="", last_seen=None, description=_description(body), source="",
                  date="", url=meta.url)
    draft.source = _report_source(draft, meta, gazetteer, source)
    names_taken: set[str] = set()  # normalised actor/source names: never a tool or organisation

    # claims first: the actors and speakers they name are not evidence
    named = {s.index: claimtext.named_actors(s.text, gazetteer) for s in body}
    subject = subject_terms(title, body, gazetteer)
    background = {s.index: is_background(s.text, report_date, subject) for s in sentences}
    other = {s.index: about_other_incident(s.text, report_date, subject) for s in body}
    discourse = Discourse()
    quoted = _quotations(body)
    for i, s in enumerate(body):
        discourse.note(s.text)
        _claims(draft, s, named[s.index], gazetteer, background[s.index],
                other[s.index], names_taken, meta, discourse, _quoted_by(body, i, quoted, discourse))
    _select_denials(draft)

    accused = {c.country for c in draft.claims if c.country and c.stance in ("attributes", "denies")}
    names_taken |= {normalise_name(v.get("name", "")) for k, v in draft.new_sources.items() if k != draft.source}
    for s in body:
        bg = background[s.index] or other[s.index]
        _victims(draft, s.text, named[s.index], bg, gazetteer, names_taken, meta, accused)
        _tools(draft, s.text, bg, gazetteer, names_taken)
        for h in hints_in(s.text):   # what the actor is, never who: no claim
            _add(draft, Item("hint", h.value, h.cue, s.text, 0.8, "origin/motive hint", not bg))
        for ind in indicators(s.text, own):
            _add(draft, Item("infrastructure", f"{ind.kind}:{ind.value}", ind.value, s.text,
                             1.0 if ind.defanged or ind.kind in ("sha256", "sha1", "md5", "vulnerability") else 0.9,
                             "defanged indicator" if ind.defanged else "indicator", not bg))
    if title:  # the headline often names the victim ("... for Sony Hack"); its claims the body has
        _victims(draft, title, claimtext.named_actors(title, gazetteer), False, gazetteer, names_taken, meta, accused)
    if recognizer is not None:
        # the model reads what a sentence says happened, without its "The source said:" (news
        # wording ATT&CK's prose never has); the reviewer sees the whole sentence
        content: dict[str, Sentence] = {}
        for s in body:
            content.setdefault(claimtext.reported_content(s.text), s)
        # a denial or dispute answers an accusation; it describes no activity (advice such as "Deny
        # remote access software (T1219)" in a mitigation list is neither)
        kinds = dict(zip((s.text for s in body), structure.kinds([s.text for s in body])))
        answers = {s.text for s in body if claimtext.stance(s.text) in ("denies", "disputes")
                   and kinds[s.text] != "advice"}
        for hit in recognizer.predict(list(content), threshold=min(SUGGEST_AT, recognizer.threshold)):
            s = content[hit.sentence]
            below = hit.score < recognizer.threshold
            method = hit.method + (", a denial or dispute: no activity" if s.text in answers else "") \
                + (f", below the threshold {recognizer.threshold:g}: a suggestion to review" if below else "")
            _add(draft, Item("technique", hit.technique, f"{hit.technique} {hit.name}", s.text, hit.score,
                             method, not background[s.index] and not below and s.text not in answers))
    _dates(draft, body, {i: bg or other.get(i, False) for i, bg in background.items()}, report_date)
    return draft


def _add(draft: Draft, item: Item) -> None:
    """One item per (kind, value): the best-scored sentence wins, selected if any sentence selects it.
    Techniques come above the recogniser's own threshold; other kinds must reach SELECT_AT."""
    item.selected = item.selected and (item.kind == "technique" or item.score >= SELECT_AT)
    for i, old in enumerate(draft.items):
        if old.kind == item.kind and old.value == item.value:
            keep = item if (item.selected, item.score) > (old.selected, old.score) else old
            keep.extra = {**old.extra, **item.extra}
            draft.items[i] = keep
            return
    draft.items.append(item)


def _title(sentences: list[Sentence]) -> str | None:
    if sentences and len(sentences[0].text) <= 160 and not sentences[0].text.endswith((".", "!", "?")):
        return sentences[0].text
    return None


def _default_key(text: str, meta: ReportMeta, title: str | None, sentences: list[Sentence]) -> str:
    """report:<slug of the file name, else the title, else the first words>-<hash of the text>: two
    texts never share a key by accident (every paste used to be report:untitled); the same text
    always gets the same key."""
    first_words = " ".join(sentences[0].text.split()[:8]) if sentences else ""
    base = next((slug(w) for w in (meta.stem, title, first_words) if w and slug(w)), "")
    if len(base) > KEY_WORDS:
        base = base[:KEY_WORDS + 1].rsplit("-", 1)[0] or base[:KEY_WORDS]
    digest = hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:KEY_HASH]
    return f"report:{base}-{digest}" if base else f"report:{digest}"


def _description(body: list[Sentence]) -> str | None:
    text = ""
    for s in body[:3]:
        if len(text) + len(s.text) > 600:
            break
        text = f"{text} {s.text}".strip()
    return text or (body[0].text[:600] if body else None)


def _own_domains(meta: ReportMeta) -> frozenset[str]:
    from urllib.parse import urlparse

    own = set()
    if meta.url:
        host = urlparse(meta.url).hostname
        if host:
            own.add(registrable(host))
    if meta.publisher and "." in meta.publisher and " " not in meta.publisher:
        own.add(registrable(meta.publisher))
    return frozenset(own)


def _report_source(draft: Draft, meta: ReportMeta, gazetteer: Gazetteer, given: str | None) -> str:
    """--source (a key or a name), else the publisher, else the file: a key the records can use
    (a new Source record is added when the graph does not know it)."""
    for ref, kind in ((given, "other"), (meta.publisher, "other")):
        if not ref:
            continue
        known = gazetteer.source(ref)
        if known:
            return known.key
        key = ref if ref.startswith("src:") else f"src:{slug(ref)}"
        name = ref[4:] if ref.startswith("src:") else ref
        draft.new_sources[key] = {"key": key, "name": name, "kind": kind, **({"url": meta.url} if meta.url else {})}
        return key
    name = meta.name if meta.name != "stdin" else (draft.name or "report")
    key = f"src:{slug(name)[:60].strip('-') or 'report'}"
    draft.new_sources[key] = {"key": key, "name": name, "kind": "other"}
    draft.notes.append(f"the report's source is the file itself ({name}); give --source to name who published it")
    return key


def _speaker_source(draft: Draft, speaker: Speaker | None, gazetteer: Gazetteer, meta: ReportMeta) -> str:
    """The source key for a speaker: a government body by its own name ("FBI"), a government by
    its state, a company or outlet by its name; the report's own source for anonymous ones and itself."""
    if speaker is None or speaker.kind == "anonymous":
        return draft.source
    own = {normalise_name(n) for n in (meta.publisher, draft.new_sources.get(draft.source, {}).get("name")) if n}
    if normalise_name(speaker.name) in own:
        return draft.source
    if speaker.kind == "government":
        body = _BODY.search(speaker.name)
        if body is None:
            return _government_source(draft, speaker.country, gazetteer)
        name, kind = body.group(0), "government"
    else:
        name, kind = speaker.name, {"company": "vendor", "media": "news"}.get(speaker.kind, "other")
    known = gazetteer.source(name)
    if known:
        return known.key
    if normalise_name(name) in own:
        return draft.source
    key = f"src:{slug(name)}"
    draft.new_sources.setdefault(key, {"key": key, "name": name, "kind": kind})
    return key


# Government bodies by their own names, longest first (the FBI's source is "FBI", not "Government of ...").
_BODY = re.compile(r"(?<![\w.])(?:" + "|".join(re.escape(b) for b in sorted(GOVERNMENT_BODIES, key=len, reverse=True))
                   + r")(?![\w])", re.I)


def _quotations(body: list[Sentence]) -> list[bool]:
    """Which sentences are (part of) a quotation: those with a quotation mark, and those between an
    opening mark and its closing one (at most MAX_QUOTE sentences on)."""
    inside, open_since = [], None
    for i, s in enumerate(body):
        marks = len(re.findall(r'"', s.text)) + len(re.findall(r"[\u201c\u201d]", s.text))
        inside.append(bool(marks) or open_since is not None)
        if marks % 2:
            open_since = None if open_since is not None else i
        if open_since is not None and i - open_since >= MAX_QUOTE:
            open_since = None
    return inside


MAX_QUOTE = 4


def _quoted_by(body: list[Sentence], i: int, quoted: list[bool], discourse: Discourse) -> Speaker | None:
    """The speaker of the quotation sentence i is part of: its attribution ('"... ," the agency
    said') in this sentence or the next ones of the same quotation, else in the one before."""
    if not quoted[i]:
        return None
    for j in list(range(i, min(len(body), i + MAX_QUOTE))) + [i - 1]:
        if j < 0 or not quoted[j]:
            continue
        phrase = quote_attribution(body[j].text)
        if phrase:
            return discourse.resolve(phrase)
    return None


def _government_source(draft: Draft, code: str, gazetteer: Gazetteer) -> str:
    name = country_name(code)
    known = gazetteer.government_source(name)
    if known:
        return known.key
    key = f"src:government-of-{slug(name)}"
    draft.new_sources.setdefault(key, {"key": key, "name": f"Government of {name}", "kind": "government"})
    return key


def _claims(draft: Draft, s: Sentence, parties: list, gazetteer: Gazetteer, background: bool, other: bool,
            names_taken: set[str], meta: ReportMeta, discourse: Discourse, quoted_by: Speaker | None) -> None:
    for r in claimtext.read_sentence(s.text, parties, gazetteer, discourse, quoted_by):
        _new_actor(draft, r.party)
        names_taken.add(normalise_name(r.party.name))
        source = _speaker_source(draft, r.speaker, gazetteer, meta)
        claim = _claim(r.stance, r.party, source, s.text, r.score, background or other or r.review_only)
        if r.review_only or r.note:
            claim.note = r.note
        elif other:
            claim.note = "about another incident"
        draft.claims.append(claim)


def _claim(stance: str, party, source: str, sentence: str, score: float, background: bool) -> Claim:
    estimate = claimtext.estimate(sentence, stance)
    claim = Claim(stance, party.key, party.name, source, estimate.confidence, sentence, score,
                  selected=not background and score >= SELECT_AT, estimate=estimate.to_json(), country=party.country)
    if background:
        claim.note = "about earlier events"
    return claim


def _new_actor(draft: Draft, party) -> None:
    if party.new and party.key not in draft.new_actors:
        record = {"key": party.key, "name": party.name, "kind": party.kind}
        if party.kind == "state":
            record["country"] = party.country
        draft.new_actors[party.key] = record


def _select_denials(draft: Draft) -> None:
    """A denial or dispute answers an accusation: linked to a selected claim that accuses the same
    actor, or a group of the same state (in any sentence); without one it is not selected."""
    accusations: dict[str, Claim] = {}
    for c in draft.claims:
        if c.stance == "attributes" and c.selected:
            accusations.setdefault(c.actor, c)
            if c.country:
                accusations.setdefault(f"state:{c.country}", c)
    for c in draft.claims:
        if c.stance not in ("denies", "disputes") or not c.selected:
            continue
        answered = accusations.get(c.actor)
        if answered is None:
            c.selected = False
            c.note = c.note or "denies what no selected claim here says"
        elif answered.sentence != c.sentence:
            c.answers = answered.sentence
    # one claim per (actor, source, stance): the best sentence
    best_of: dict[tuple, Claim] = {}
    for c in draft.claims:
        k = (c.actor, c.source, c.stance)
        if k not in best_of or (c.selected, c.score) > (best_of[k].selected, best_of[k].score):
            best_of[k] = c
    draft.claims = [c for c in draft.claims if best_of[(c.actor, c.source, c.stance)] is c]


def _victims(draft: Draft, text: str, parties: list, background: bool, gazetteer: Gazetteer, names_taken: set[str],
             meta: ReportMeta, accused: set[str]) -> None:
    """Victim countries, sectors and organisations of one sentence. Never the accused states
    (`accused`: those a claim of the draft names, or their groups' states), the attackers'
    nationality or a speaker; an organisation never an actor, tool, source, speaker or product."""
    targeting = bool(_TARGETING.search(text))
    # where the sentence names an actor ("North Korean hackers", "hackers from Iran"): not a victim
    actor_spans = [(n.start, n.end) for n in parties]
    last_victim = None   # (end, score, method) of the last victim country, for lists
    for m in country_mentions(text):
        after, before = text[m.end:], text[:m.start]
        if any(a < m.end and m.start < b for a, b in actor_spans) or m.code in accused:
            continue
        if m.form == "adjective" and claimtext.ACTOR_NOUN.match(after):
            continue
        rest = re.sub(r"^['\u2019]s\b", "", after)
        victim_noun = _ORG_OR_SECTOR_NOUN.match(rest)
        object_of = _TARGET_VERB.search(before[-40:])
        if GOVERNMENT_NOUN.match(" ".join(rest.split()[:3])) or GOVERNMENT_NOUN.match(" ".join(rest.split()[1:3])):
            if not (object_of or _GOVERNMENT_TARGET.match(rest)):
                continue  # "US officials said", "the UK Defence Secretary": a speaker, not a victim
        listed = last_victim is not None and _LIST_GAP.fullmatch(text[last_victim[0]:m.start])
        if listed:
            score, method = last_victim[1], last_victim[2]
        elif victim_noun:
            score, method = 0.9, "country of a victim"
        elif _OF_VICTIMS.search(before[-60:]):
            score, method = 0.85, "the victims' country"
        elif targeting and re.search(r"\b(?:in|across|against|throughout|targeting|targeted|on)\s+(?:the\s+)?"
                                     r"(?:(?:north|south|east|west)(?:ern)?\s+)?$", before[-30:], re.I):
            score, method = 0.7, "place of a target"
        elif object_of:
            score, method = 0.7, "object of a targeting verb"
        elif targeting:
            score, method = 0.45, "country in a sentence about targeting"
        else:
            score, method = 0.3, "country mentioned"
        _add(draft, Item("country", m.code, country_name(m.code), text, score, method, not background))
        last_victim = (m.end, score, method) if score >= SELECT_AT else None
    sector_hits = sectors(text)
    for name, words in sector_hits:
        score = 0.75 if targeting else 0.35
        _add(draft, Item("sector", name, name, text, score, f"sector words '{words}'", not background))
    for org in organisations(text):
        extra = {}
        lead_country = country_mentions(org)
        if lead_country and lead_country[0].start == 0 and org[lead_country[0].end:].strip()[:1].isupper():
            extra["country"] = lead_country[0].code   # "U.S. Office of Personnel Management"
            org = org[lead_country[0].end:].strip()
        folded = normalise_name(org)
        if (folded in names_taken or gazetteer.source(org) or country_mentions(org, capitals=True)
                or find_names(org, gazetteer.tools, gazetteer, software=True)
                or find_names(org, gazetteer.actors, gazetteer) or _BODY.fullmatch(org)
                or folded == normalise_name(meta.publisher or "")
                or folded == normalise_name(draft.new_sources.get(draft.source, {}).get("name", ""))):
            continue
        lead = re.search(r"((?:[A-Z][\w.-]*\s+){1,2})(?:[\w-]+\s+){0,3}?(?:(?:company|firm|maker|bank|group|organi[sz]ation|"
                         r"agency|developer|manufacturer|provider|operator)\s+)?(?:the\s+)?" + re.escape(org), text)
        if lead:
            for c in country_mentions(lead.group(0)):
                if c.code not in accused:
                    extra["country"] = c.code
        org_sector = next((n for n, w in sector_hits if re.search(re.escape(w) + r"\s+(?:\w+\s+)?" + re.escape(org), text)), None)
        if org_sector:
            extra["sector"] = org_sector
        score = 0.85 if targeting or extra else 0.55
        _add(draft, Item("organization", org, org, text, score, "organisation named as a target", not background,
                         extra))
        if extra.get("country"):
            _add(draft, Item("country", extra["country"], country_name(extra["country"]), text, 0.8,
                             "country of a victim organisation", not background))


# Verbs whose object is a target ("destabilise Ukraine", "hit South Korea").
_TARGET_VERB = re.compile(r"\b(?:target(?:ed|ing|s)?|attack(?:ed|ing|s)?|hit|hits|struck|strike|destabili[sz]\w*|disrupt\w*|"
                          r"cripple\w*|paralys\w*|breach\w*|compromis\w*|infiltrat\w*|hack(?:ed|ing)?(?: into)?|"
                          r"spied on|spy on|spying on|penetrat\w*|against)\s+(?:the\s+)?$", re.I)
# A government named as hit: "the UK government's networks", "US government agencies".
_GOVERNMENT_TARGET = re.compile(r"^(?:['\u2019]s)?\s*(?:[\w'\u2019-]+\s+){0,2}(?:agencies|networks?|systems|"
                                r"computers|departments|websites?|email|servers|employees|personnel|data)\b", re.I)
# "citizens of the United Kingdom", "companies in Japan": the victims' country.
_OF_VICTIMS = re.compile(r"\b(?:citizens|people|population|residents|users|customers|companies|organi[sz]ations|"
                         r"networks|systems|infrastructure|businesses|agencies|voters|consumers)\s+(?:of|in|across)\s+"
                         r"(?:the\s+)?$", re.I)


def _tools(draft: Draft, text: str, background: bool, gazetteer: Gazetteer, names_taken: set[str]) -> None:
    actor_keys = {normalise_name(m.text) for m in find_names(text, gazetteer.actors, gazetteer)}
    taken: list[tuple[int, int]] = []
    for m in find_names(text, gazetteer.tools, gazetteer, software=True):
        key = normalise_name(m.text)
        window = text[max(0, m.start - 40):m.start] + " " + text[m.end:m.end + 40]  # not the name itself
        cue = bool(SOFTWARE_CUE.search(window) or _USED_AS_SOFTWARE.search(window))
        if (key in actor_keys or key in names_taken) and not cue:
            continue  # an actor's name, not its software
        if m.text.lower().rstrip(".") in _CALENDAR_WORDS or _part_of_longer_name(text, m.start, m.end):
            continue  # "since August 2024", "James" of "James Franco" or "By James Pearson"
        distinctive = len(m.text.split()) > 1 or any(c.isdigit() for c in m.text) or \
            any(c.isupper() for c in m.text[1:])
        if not distinctive and not cue:
            continue  # an everyday word ("Payload") is a tool only where the sentence uses it as software
        tool = best(m.entries, m.text)
        score = min(0.95, (0.85 if distinctive else 0.7) + (0.1 if cue else 0))
        taken.append((m.start, m.end))
        value, extra = _known_tool(tool)
        _add(draft, Item("tool", value, tool.name, text, score, f"known tool ({tool.key})", not background, extra))
    for name, start, end in new_tool_names(text):
        key = normalise_name(name)
        if any(a < end and start < b for a, b in taken) or key in names_taken or key in actor_keys \
                or country_mentions(name) or gazetteer.tools.get(key):
            continue
        _add(draft, Item("tool", name, name, text, 0.6, "new tool: the text calls it malware", not background))


# Words that say a name is used as software in its sentence (besides SOFTWARE_CUE's kinds).
_USED_AS_SOFTWARE = re.compile(r"\b(?:deploy(?:ed|s|ing)?|dropp(?:ed|ing)|install(?:ed|s|ing)?|execut(?:ed|es|ing)|"
                               r"infect(?:ed|ing)|ran|run|runs|running|load(?:ed|s)|launch(?:ed|es)|compiled|"
                               r"encrypt(?:ed|s|ing)|spread|version|sample|strain|exploit(?:ed|s)?)\b", re.I)
_CALENDAR_WORDS = frozenset("january february march april may june july august september october november december "
                            "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday "
                            "friday saturday sunday".split())


def _part_of_longer_name(text: str, start: int, end: int) -> bool:
    """A one-word name right next to another capitalised word: part of a person's or another
    name ("James Franco", "By James Pearson"), not the tool's."""
    if " " in text[start:end]:
        return False
    after = re.match(r"\s([A-Z][a-z]+)", text[end:])
    before = re.search(r"(?<![.!?:\"]\s)(?<!^)\b([A-Z][a-z]+)\s$", text[:start])
    return bool(after and after.group(1).lower() not in _CALENDAR_WORDS) or \
        bool(before and before.group(1).lower() not in ("the", "a", "an", "by", "in", "on", "and", "with"))


def _known_tool(tool) -> tuple[str, dict]:
    """The record form of a tool the graph knows: its ATT&CK ID, else its name (tool:<slug> keys)."""
    ids = [x for x in tool.external_ids if SOFTWARE_ID.match(x)]
    if tool.key.startswith("attack:") and SOFTWARE_ID.match(tool.key[7:]):
        ids = ids or [tool.key[7:]]
    if ids:
        return ids[0], {"name": tool.name}
    return tool.name, {"key": tool.key}


def _dates(draft: Draft, body: list[Sentence], background: dict[int, bool], report_date: str | None) -> None:
    stated: list[tuple[str, str]] = []
    for s in body:
        if background[s.index] or HISTORY.search(s.text):
            continue  # earlier events, another incident, a tool's or an actor's own history
        for d in dates_in(s.text):
            if not report_date or d[:len(report_date)] <= report_date:
                stated.append((d, s.text))
    if stated:
        first = min(stated, key=lambda x: normalise_date(x[0]))
        last = max(stated, key=lambda x: normalise_date(x[0], end=True))
        draft.first_seen, draft.date_sentence = first[0], first[1]
        last_value = last[0]
        if report_date and normalise_date(last_value, end=True) > report_date:
            last_value = report_date
        draft.last_seen = last_value if last_value != first[0] else None
    elif report_date:
        recent_sentence = next((s.text for s in body if recent(s.text)), None)
        if recent_sentence:
            draft.first_seen, draft.last_seen, draft.date_sentence = report_date[:7], report_date, recent_sentence
        else:
            draft.first_seen = report_date
            draft.notes.append("the text states no date for the activity: first_seen is the report's date")
    else:
        draft.first_seen = dt.date.today().isoformat()
        draft.notes.append("no date in the text and none given (--date): first_seen is today; edit it")
    draft.date = report_date or normalise_date(draft.last_seen or draft.first_seen, end=True)


def added_item(kind: str, value: str, sentence: str = "") -> Item:
    """An item a reviewer typed (or retyped): selected, score 1."""
    return Item(kind, value, value, sentence, 1.0, "added by hand" if not sentence else "edited by hand")


def replace_items(draft: Draft, items: list[Item] | None = None, claims: list[Claim] | None = None,
                  **incident) -> Draft:
    """A copy of `draft` with reviewed items, claims or incident fields (the app's edits)."""
    return replace(draft, items=list(draft.items if items is None else items),
                   claims=list(draft.claims if claims is None else claims), **incident)
