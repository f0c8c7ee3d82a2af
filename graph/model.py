"""The graph model as data: labels, relationship types and the typed rows loaders produce.

Loaders never touch the database: they turn a file into one `Batch` of `Node` and `Rel`
rows, and `graph.store.writer` writes a batch in one transaction. Labels, relationship types
and list-valued property names are interpolated into Cypher, so they must come from the
allowlists below; everything else travels as a parameter.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

LABELS = (
    "Actor", "Alias", "Incident", "Claim", "Source", "Tool", "Technique",
    "Organization", "Sector", "Country", "Infrastructure",
)

# type -> allowed (start label, end label) pairs
REL_TYPES: dict[str, frozenset[tuple[str, str]]] = {
    "USED": frozenset({("Incident", "Tool"), ("Incident", "Technique"), ("Incident", "Infrastructure")}),
    "TARGETED": frozenset({("Incident", "Organization"), ("Incident", "Sector"), ("Incident", "Country")}),
    "REPORTED_BY": frozenset({("Incident", "Source")}),
    "ABOUT": frozenset({("Claim", "Incident")}),
    "NAMES": frozenset({("Claim", "Actor"), ("Alias", "Actor")}),
    "STATED_BY": frozenset({("Claim", "Source")}),
    "USES": frozenset({("Actor", "Tool"), ("Actor", "Technique"), ("Actor", "Infrastructure"),
                       ("Tool", "Technique")}),
    "TARGETS": frozenset({("Actor", "Sector"), ("Actor", "Country"), ("Actor", "Organization")}),
    "SPONSORED_BY": frozenset({("Actor", "Country")}),
    # a state actor (kind "state") and the country it governs
    "STATE_OF": frozenset({("Actor", "Country")}),
    "SAME_AS": frozenset({("Actor", "Actor")}),
    "MEMBER_OF": frozenset({("Actor", "Actor")}),    # a person and the group a source says it belongs to
    "SUBTECHNIQUE_OF": frozenset({("Technique", "Technique")}),
    "LOCATED_IN": frozenset({("Organization", "Country")}),
    "IN_SECTOR": frozenset({("Organization", "Sector")}),
}

# List-valued properties are merged as set unions (so loads commute and repeat safely);
# every other property is overwritten by the latest load.
LIST_PROPS = ("sources", "external_ids", "spellings", "tactics", "refs", "tags", "platforms", "aliases",
              # MISP galaxy cluster uuids on a node, and its links to other clusters not yet resolved
              "clusters", "uses_clusters", "used_by_clusters",
              # an actor's motives (MOTIVES), an incident's origin/motive hints read from its report
              "motives", "hints")

STANCES = ("attributes", "denies", "disputes")
# What an actor is after (Actor `motives`, a report's motive hints): one small vocabulary
MOTIVES = ("espionage", "financial", "sabotage", "hacktivism", "influence")
# A claim's likelihood (US ICD 203 terms, range in percent) and, apart, the confidence level.
ICD_203: dict[str, tuple[int, int]] = {
    "almost certain": (95, 99), "very likely": (80, 95), "likely": (55, 80), "roughly even chance": (45, 55),
    "unlikely": (20, 45), "very unlikely": (5, 20), "remote": (1, 5)}
CONFIDENCE_LEVELS = ("high", "moderate", "low")
ACTOR_KINDS = ("group", "state", "person")
SOURCE_KINDS = ("news", "vendor", "government", "dataset", "researcher", "community", "other")
AVAILABILITY = ("custom", "commodity", "public", "leaked")
ADMIRALTY_RELIABILITY = ("A", "B", "C", "D", "E", "F")
INFRA_KINDS = ("domain", "hostname", "ip", "url", "email", "account", "md5", "sha1", "sha256",
               "filename", "asn", "vulnerability", "other")  # vulnerability: a CVE ID, CVE-2021-44228

TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
SOFTWARE_ID = re.compile(r"^S\d{4}$")
GROUP_ID = re.compile(r"^G\d{4}$")
CAMPAIGN_ID = re.compile(r"^C\d{4}$")


@dataclass(slots=True)
class Node:
    label: str
    key: str
    props: dict = field(default_factory=dict)


@dataclass(slots=True)
class Rel:
    type: str
    start_label: str
    start_key: str
    end_label: str
    end_key: str
    props: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Ref:
    """A node a batch points at but does not define: it must already be in the graph."""

    label: str
    key: str
    record: str | int | None = None  # where the file points at it, for the error message
    field: str | None = None


@dataclass
class Batch:
    """Everything one input file contributes; written all-or-nothing."""

    file: str
    nodes: list[Node] = field(default_factory=list)
    rels: list[Rel] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count, for the report

    def node(self, label: str, key: str, **props) -> Node:
        n = Node(label, key, {k: v for k, v in props.items() if v is not None})
        self.nodes.append(n)
        return n

    def rel(self, type_: str, start: tuple[str, str], end: tuple[str, str], **props) -> Rel:
        r = Rel(type_, start[0], start[1], end[0], end[1],
                {k: v for k, v in props.items() if v is not None})
        self.rels.append(r)
        return r

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n


def normalise_name(name: str) -> str:
    """Alias key: case-, space- and punctuation-insensitive ("APT 28" == "apt-28" == "apt28")."""
    text = unicodedata.normalize("NFKD", name).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def slug(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).casefold()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


# Values that are case-insensitive by nature; URLs, accounts and file names keep their case.
CASE_INSENSITIVE_INFRA = frozenset({"domain", "hostname", "email", "md5", "sha1", "sha256"})


def infrastructure_value(kind: str, value: str) -> str:
    """The canonical spelling of an infrastructure value (its key is `kind:value`)."""
    value = value.strip()
    return value.lower() if kind in CASE_INSENSITIVE_INFRA else value


def claim_key(incident: str, actor: str, source: str, stance: str, date: str | None) -> str:
    digest = hashlib.sha1("|".join([incident, actor, source, stance, date or ""]).encode()).hexdigest()
    return f"claim:{digest[:16]}"


# TLP 2.0 (FIRST): coloured text on black.
TLP_LEVELS: dict[str, str] = {"clear": "#FFFFFF", "green": "#33FF00", "amber": "#FFC000",
                              "amber+strict": "#FFC000", "red": "#FF2B2B"}
