"""STIX 2.0 and 2.1 bundles -> one Batch: MITRE ATT&CK (Enterprise, ICS, Mobile) and vendor bundles.

What becomes what (docs/loading.md, "Loading STIX, MITRE ATT&CK and MISP"):

    intrusion-set, threat-actor  -> Actor  `attack:<G-id>` (else `stix:<id>`), name and aliases -> Alias
    campaign                     -> Incident `attack:<C-id>` (else `stix:<id>`), first/last seen
    malware, tool                -> Tool `attack:<S-id>` (else `stix:<id>`) with `availability`
    attack-pattern               -> Technique keyed by its ATT&CK ID (`T1566.003`), SUBTECHNIQUE_OF parent
    identity / location targets  -> Organization, Sector, Country (only when something targets them)
    indicator, infrastructure and cyber observables -> Infrastructure

    uses          -> (Actor)-[:USES]->, (Tool)-[:USES]->(Technique), (Incident)-[:USED]->
    targets       -> (Actor)-[:TARGETS]->, (Incident)-[:TARGETED]->
    indicates     -> (Actor)-[:USES]->(Infrastructure), (Incident)-[:USED]->(Infrastructure)
    attributed-to -> a Claim (campaign -> actor) stated by the bundle's source, stance "attributes"
    revoked-by    -> the revoked group's names become aliases of the group that replaces it
    opinion       -> a Claim by its author on the attributed-to relationships (or the incident
                     and actor) it refers to: strongly-disagree "denies", disagree "disputes",
                     agree / strongly-agree "attributes"
    note          -> counted, not loaded (analysis text; attrib computes its own assessment)

Bundles written by `attrib export --format stix` carry attrib's keys and the facts STIX has no
property for as `x_attrib_*` properties (key, source kind and reliability, tool availability,
actor kind and country, undated claims); with them each object keeps its own source (its
`created_by_ref`), a state named by attributed-to becomes a state Actor, and the bundle loads
back into the same nodes and claims.

Revoked and deprecated objects, object types and relationship types the graph does not model
are counted in `Batch.skipped`, never fatal. The loader keys everything by ATT&CK IDs and
standard STIX properties only, so newer ATT&CK releases (new object types, new properties,
STIX 2.1 `spec_version`) load with the same code. Descriptions are kept as text; no fact is
derived from free text.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from graph.countries import country_code, country_name
from graph.errors import ValidationError
from graph.model import (ADMIRALTY_RELIABILITY, ACTOR_KINDS, AVAILABILITY, CAMPAIGN_ID, GROUP_ID, SOFTWARE_ID,
                         INFRA_KINDS, SOURCE_KINDS, TECHNIQUE_ID, Batch, claim_key, infrastructure_value,
                         normalise_name, slug)
from loaders.common import file_digest, normalise_date

# -- the source every ATT&CK row carries -------------------------------------------------------
ATTACK_SOURCE = "src:mitre-attack"
ATTACK_SOURCE_PROPS = {"name": "MITRE ATT&CK", "kind": "dataset", "reliability": "B",
                       "url": "https://attack.mitre.org/"}
# external_references[].source_name values that carry ATT&CK IDs (G0032, C0022, S0584, T1566.003)
MITRE_IDENTITY = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"
MITRE_SOURCE_NAMES = frozenset({"mitre-attack", "mitre-ics-attack", "mitre-mobile-attack"})
# ATT&CK states no confidence on attributed-to relationships; a campaign -> group attribution
# that MITRE publishes is a curated, cited judgement, so a claim without a stated confidence
# gets 90 (STIX scale). A `confidence` on the relationship, when present, wins.
DEFAULT_ATTRIBUTION_CONFIDENCE = 90
# opinion -> claim stance: a categorical "strongly disagree" is a denial, "disagree" a dispute;
# agreeing with an attribution restates it. An opinion without a confidence gets 50 (the STIX
# scale's "moderate"): nothing says how sure its author is.
OPINION_STANCES = {"strongly-disagree": "denies", "disagree": "disputes", "agree": "attributes",
                   "strongly-agree": "attributes"}
DEFAULT_OPINION_CONFIDENCE = 50

# -- tool availability: the ONE reviewed list ----------------------------------------------------
# How it was chosen: ATT&CK `tool` objects default to "public" (commercial, open-source or
# built-in software) and `malware` objects to "custom". This list overrides both where the
# software's availability is well documented in public reporting: commercial offensive
# frameworks and crimeware sold to anyone are "commodity"; open-source or freely distributed
# RATs, webshells and post-exploitation kits are "public"; software whose source code or
# builder leaked is "leaked" (as are the leaked NSA exploits, which appear in vendor bundles
# under these names); ATT&CK `tool` entries that are one group's private utility are "custom".
# Keys are normalised names (graph.model.normalise_name), so vendor bundles without ATT&CK IDs
# match too; the ATT&CK ID is noted for review. Reviewed against ATT&CK v15.1 software.
KNOWN_AVAILABILITY: dict[str, str] = {
    # commercial or sold-to-anyone (often cracked) frameworks and crimeware
    "cobaltstrike": "commodity",      # S0154
    "bruteratelc4": "commodity",      # S1063
    "agenttesla": "commodity",        # S0331
    "nanocore": "commodity",          # S0336
    "remcos": "commodity",            # S0332
    "netwire": "commodity",           # S0198
    "lokibot": "commodity",           # S0447
    "azorult": "commodity",           # S0344
    "warzonerat": "commodity",        # S0670
    "imminentmonitor": "commodity",   # S0434
    "jrat": "commodity",              # S0283
    "smokeloader": "commodity",       # S0226
    "guloader": "commodity",          # S0561
    "finfisher": "commodity",         # S0182 (sold to governments)
    "remoteutilities": "commodity",   # S0592
    "connectwise": "commodity",       # S0591
    # open-source or freely distributed
    "mimikatz": "public",             # S0002
    "psexec": "public",               # S0029
    "quasarrat": "public",            # S0262
    "asyncrat": "public",             # S1087
    "njrat": "public",                # S0385
    "darkcomet": "public",            # S0334
    "poisonivy": "public",            # S0012
    "gh0strat": "public",             # S0032
    "chinachopper": "public",         # S0020
    "aspxspy": "public",              # S0073
    "zxshell": "public",              # S0412
    "revengerat": "public",           # S0379
    "pcshare": "public",              # S1050
    "metasploit": "public",
    # source code or builder leaked
    "pony": "leaked",                 # S0453
    "carberp": "leaked",              # S0484
    "conti": "leaked",                # S0575
    "babuk": "leaked",                # S0638
    "flawedammyy": "leaked",          # S0381 (built on the leaked Ammyy Admin source)
    "hackingteamuefirootkit": "leaked",  # S0047
    "eternalblue": "leaked",
    "eternalromance": "leaked",
    "doublepulsar": "leaked",
    # ATT&CK `tool` objects that are one group's own utility
    "carrotball": "custom",           # S0465
    "cspydownloader": "custom",       # S0527
    "ironnetinjector": "custom",      # S0581
    "mcmd": "custom",                 # S0500
    "out1": "custom",                 # S0594
    "shimratreporter": "custom",      # S0445
    "spwebmember": "custom",          # S0227
}


def availability(name: str, stix_type: str) -> str:
    """custom / commodity / public / leaked for a malware or tool object (see KNOWN_AVAILABILITY)."""
    known = KNOWN_AVAILABILITY.get(normalise_name(name))
    if known:
        return known
    return "public" if stix_type == "tool" else "custom"


# -- object types -----------------------------------------------------------------------------------
ACTOR_TYPES = ("intrusion-set", "threat-actor")
SOFTWARE_TYPES = ("malware", "tool")
OBSERVABLE_TYPES = ("domain-name", "ipv4-addr", "ipv6-addr", "url", "email-addr", "file",
                    "autonomous-system")
# types that become a node as soon as they are read
NODE_TYPES = ACTOR_TYPES + SOFTWARE_TYPES + ("campaign", "incident", "attack-pattern", "indicator",
                                             "infrastructure") + OBSERVABLE_TYPES
# types that become a node only when a relationship points at them (victims)
TARGET_TYPES = ("identity", "location")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*--[0-9A-Za-z-]+$")
# MITRE names release files like enterprise-attack-15.1.json (attrib load attack caches them so)
ATTACK_RELEASE_FILE = re.compile(r"-attack-v?(\d+(?:\.\d+)*)\.json", re.IGNORECASE)

# STIX indicator patterns: simple comparisons only ([domain-name:value = 'x'] OR [...])
PATTERN_TERM = re.compile(r"([a-z0-9-]+):([A-Za-z0-9_.'\-]+)\s*=\s*'((?:[^'\\]|\\.)*)'")
PATTERN_KINDS = {
    ("domain-name", "value"): "domain",
    ("ipv4-addr", "value"): "ip",
    ("ipv6-addr", "value"): "ip",
    ("url", "value"): "url",
    ("email-addr", "value"): "email",
    ("autonomous-system", "number"): "asn",
    ("file", "name"): "filename",
    ("file", "hashes.md5"): "md5",
    ("file", "hashes.sha-1"): "sha1",
    ("file", "hashes.sha1"): "sha1",
    ("file", "hashes.sha-256"): "sha256",
    ("file", "hashes.sha256"): "sha256",
}


def is_stix_bundle(data: Any) -> bool:
    return isinstance(data, dict) and (data.get("type") == "bundle"
                                       or ("objects" in data and "spec_version" in data))


def bundle_from_document(path: Path, data: Any) -> Batch:
    return _BundleReader(path, data).read()


class _BundleReader:
    def __init__(self, path: Path, data: Any):
        self.path = path
        self.file = str(path)
        self.data = data
        self.batch = Batch(self.file)
        self.objects: dict[str, dict] = {}      # id -> newest version of the object
        self.where: dict[str, str] = {}         # id -> "objects[i] (id)" for messages
        self.nodes: dict[str, list[tuple[str, str]]] = {}  # id -> the node(s) it became
        self.skipped_ids: set[str] = set()       # objects deliberately not loaded
        self.revoked_by: dict[str, str] = {}
        self.source = ATTACK_SOURCE
        self.dates: dict[str, str] = {}
        self.source_keys: dict[str, str | None] = {}   # identity id -> its Source key (attrib bundles)

    # -- errors ---------------------------------------------------------------------------------
    def error(self, obj_id: str | None, message: str, field: str | None = None,
              hint: str | None = None) -> ValidationError:
        record = self.where.get(obj_id, obj_id) if obj_id else None
        return ValidationError(self.file, message, record=record, field=field, hint=hint)

    # -- entry point ----------------------------------------------------------------------------
    def read(self) -> Batch:
        self._index()
        self._choose_source()
        self.attack_version = self._attack_version()
        self.attack_bundle = self._attack_bundle()
        relationships, opinions = [], []
        for obj_id, obj in self.objects.items():
            kind = obj["type"]
            if kind == "relationship":
                relationships.append(obj)
                continue
            if kind == "opinion":
                opinions.append(obj)
                continue
            if obj.get("revoked") is True:
                self._skip(obj_id, "revoked objects")
            elif obj.get("x_mitre_deprecated") is True:
                self._skip(obj_id, "deprecated objects")
            elif kind in NODE_TYPES:
                getattr(self, "_" + kind.replace("-", "_"))(obj)
            elif kind in TARGET_TYPES:
                self._check_target(obj)
            elif kind in ("marking-definition", "extension-definition", "language-content"):
                self.skipped_ids.add(obj_id)  # bundle metadata, not intelligence
            elif kind == "note":
                self._skip(obj_id, "notes (analysis text; attrib computes its own assessment)")
            else:
                self._skip(obj_id, f"{kind} objects (type not modelled)")
        for rel in relationships:
            self._check_relationship(rel)
        for rel in relationships:
            if rel["relationship_type"] == "revoked-by":
                self.revoked_by[rel["source_ref"]] = rel["target_ref"]
        for rel in relationships:
            self._relationship(rel)
        for opinion in opinions:
            self._opinion(opinion)
        return self.batch

    def _skip(self, obj_id: str, reason: str) -> None:
        self.skipped_ids.add(obj_id)
        self.batch.skip(reason)

    def _index(self) -> None:
        data = self.data
        if not isinstance(data, dict):
            raise ValidationError(self.file, "not a STIX bundle: expected a JSON object")
        if data.get("type") not in (None, "bundle"):
            raise ValidationError(self.file, f"not a STIX bundle: type is {data.get('type')!r}",
                                  field="type")
        objects = data.get("objects")
        if not isinstance(objects, list):
            raise ValidationError(self.file, "a STIX bundle needs an 'objects' list", field="objects",
                                  hint="is this a STIX 2.0/2.1 bundle?")
        for i, obj in enumerate(objects):
            if not isinstance(obj, dict):
                raise ValidationError(self.file, f"expected a STIX object, got {type(obj).__name__}",
                                      record=f"objects[{i}]")
            obj_id, kind = obj.get("id"), obj.get("type")
            where = f"objects[{i}]" + (f" ({obj_id})" if isinstance(obj_id, str) else "")
            if not isinstance(kind, str) or not kind:
                raise ValidationError(self.file, "missing (required): every STIX object has a type",
                                      record=where, field="type")
            if not isinstance(obj_id, str) or not ID_PATTERN.match(obj_id) \
                    or obj_id.split("--", 1)[0] != kind:
                raise ValidationError(self.file, f"expected an id like '{kind}--<uuid>', got {obj_id!r}",
                                      record=where, field="id")
            old = self.objects.get(obj_id)
            # STIX 2.1 allows several versions of one object in a bundle: the newest wins.
            if old is None or str(obj.get("modified") or "") >= str(old.get("modified") or ""):
                self.objects[obj_id] = obj
                self.where[obj_id] = where

    def _choose_source(self) -> None:
        """ATT&CK bundles -> src:mitre-attack; any other bundle -> its author's identity (in an
        attrib bundle, each object's own author: `_source_of`). A bundle is ATT&CK's when it holds
        an x-mitre-collection or most of its objects are MITRE's; a vendor bundle (a TAXII feed)
        that cites ATT&CK techniques stays the vendor's. Only a bundle that names no author at all
        falls back to "it carries ATT&CK IDs"."""
        attrib = any(o["type"] == "identity" and isinstance(o.get("x_attrib_key"), str)
                     for o in self.objects.values())
        authors = Counter(o["created_by_ref"] for o in self.objects.values()
                          if isinstance(o.get("created_by_ref"), str))
        top = authors.most_common(1)[0][0] if authors else None
        if not attrib and (any(o["type"] == "x-mitre-collection" for o in self.objects.values())
                           or (top is not None and self._is_mitre(top))
                           or (top is None and any(map(self._attack_id, self.objects.values())))):
            self.source = ATTACK_SOURCE
            self.batch.node("Source", ATTACK_SOURCE, **ATTACK_SOURCE_PROPS)
            return
        author = self.objects.get(top) if top else None
        if author is not None and self._source_key(author["id"]):
            self.source = self._source_key(author["id"])
            return
        name = author.get("name") if author else None
        if not isinstance(name, str) or not slug(name):
            name = self.path.name.split(".")[0]
        self.source = f"src:{slug(name)}"
        kind = "government" if author and author.get("identity_class") == "government" else "vendor"
        self.batch.node("Source", self.source, name=name, kind=kind)

    def _is_mitre(self, identity_id: str) -> bool:
        """The identity ATT&CK's objects are created by ("The MITRE Corporation")."""
        obj = self.objects.get(identity_id)
        return identity_id == MITRE_IDENTITY or (
            obj is not None and str(obj.get("name", "")).strip().lower() == "the mitre corporation")

    def _attack_version(self) -> str | None:
        """The ATT&CK release of an ATT&CK bundle: its x-mitre-collection's version, else the
        release in the file name; kept on the Technique nodes (Navigator layers name it)."""
        if self.source != ATTACK_SOURCE:
            return None
        for obj in self.objects.values():
            if obj["type"] == "x-mitre-collection" and isinstance(obj.get("x_mitre_version"), str):
                return obj["x_mitre_version"].strip()
        found = ATTACK_RELEASE_FILE.search(self.path.name)
        return found.group(1) if found else None

    def _attack_bundle(self) -> str | None:
        """An ATT&CK bundle's content hash (loaders.common.file_digest), kept on its Technique nodes:
        which bundle the graph holds, so that `attrib extract` finds the technique model for it."""
        if self.source != ATTACK_SOURCE:
            return None
        try:
            return file_digest(self.path)
        except OSError:
            return None

    def _source_key(self, identity_id: str) -> str | None:
        """The Source an attrib bundle's author identity stands for (its node made on first
        use); None for an identity without an attrib key."""
        if identity_id in self.source_keys:
            return self.source_keys[identity_id]
        obj = self.objects.get(identity_id)
        key = None
        if obj is not None and obj["type"] == "identity" and obj.get("x_attrib_kind") != "state":
            key = self._text(obj, "x_attrib_key")
        if key:
            kind = obj.get("x_attrib_kind")
            if kind not in SOURCE_KINDS:
                kind = "government" if obj.get("identity_class") == "government" else "vendor"
            reliability = obj.get("x_attrib_reliability")
            refs = obj.get("external_references") if isinstance(obj.get("external_references"), list) else []
            urls = [r["url"] for r in refs if isinstance(r, dict) and isinstance(r.get("url"), str)]
            self.batch.node("Source", key, name=self._text(obj, "name") or key, kind=kind,
                            reliability=reliability if reliability in ADMIRALTY_RELIABILITY else None,
                            url=urls[0] if urls else None)
        self.source_keys[identity_id] = key
        return key

    def _source_of(self, obj: dict) -> str:
        """Who states this object: its author in an attrib bundle, else the bundle's source."""
        ref = obj.get("created_by_ref")
        return (self._source_key(ref) if isinstance(ref, str) else None) or self.source

    # -- field helpers ----------------------------------------------------------------------------
    @staticmethod
    def _attack_id(obj: dict) -> str | None:
        refs = obj.get("external_references")
        if not isinstance(refs, list):
            return None
        for ref in refs:
            if isinstance(ref, dict) and ref.get("source_name") in MITRE_SOURCE_NAMES \
                    and isinstance(ref.get("external_id"), str):
                return ref["external_id"].strip()
        return None

    def _text(self, obj: dict, field: str, required: bool = False) -> str | None:
        value = obj.get(field)
        if value is None or value == "":
            if required:
                raise self.error(obj["id"], "missing (required)", field)
            return None
        if not isinstance(value, str):
            raise self.error(obj["id"], f"expected text, got {type(value).__name__}", field)
        return value.strip()

    def _date(self, obj: dict, field: str) -> str | None:
        value = obj.get(field)
        if value is None or value == "":
            return None
        date = self.dates.get(value) if isinstance(value, str) else None
        if date is None:
            date = normalise_date(value)
            if date is None:
                raise self.error(obj["id"], f"expected a STIX timestamp, got {value!r}", field)
            if isinstance(value, str):
                self.dates[value] = date  # ~18,000 timestamps in ATT&CK, many repeated
        return date

    def _strings(self, obj: dict, field: str) -> list[str]:
        value = obj.get(field)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(obj["id"], "expected a list of text", field)
        return [v.strip() for v in value if v.strip()]

    def _key(self, obj: dict, pattern: re.Pattern, prefix: str = "attack:") -> tuple[str, str | None]:
        attack_id = self._attack_id(obj)
        own = self._text(obj, "x_attrib_key")
        if own:
            return own, attack_id if attack_id and pattern.match(attack_id) else None
        if attack_id and pattern.match(attack_id):
            return f"{prefix}{attack_id}", attack_id
        return f"stix:{obj['id']}", None

    def _common(self, obj: dict) -> dict:
        return {"description": self._text(obj, "description"), "created": self._date(obj, "created"),
                "modified": self._date(obj, "modified"), "sources": [self._source_of(obj)]}

    # -- objects -----------------------------------------------------------------------------------
    def _actor(self, obj: dict) -> None:
        key, attack_id = self._key(obj, GROUP_ID)
        name = self._text(obj, "name", required=True)
        kind = obj.get("x_attrib_kind") if obj.get("x_attrib_kind") in ACTOR_KINDS else "group"
        self.batch.node("Actor", key, name=name, kind=kind,
                        external_ids=[attack_id] if attack_id else None, **self._common(obj))
        self.nodes[obj["id"]] = [("Actor", key)]
        self._aliases(("Actor", key), [name] + self._strings(obj, "aliases"), self._date(obj, "created"))

    _intrusion_set = _actor
    _threat_actor = _actor

    def _aliases(self, actor: tuple[str, str], names: list[str], created: str | None) -> None:
        for alias in names:
            alias_key = normalise_name(alias)
            if not alias_key:
                self.batch.skip("aliases without letters or digits")
                continue
            self.batch.node("Alias", alias_key, spellings=[alias])
            self.batch.rel("NAMES", ("Alias", alias_key), actor, sources=[self.source], created=created)

    def _campaign(self, obj: dict) -> None:
        key, attack_id = self._key(obj, CAMPAIGN_ID)
        first_seen, last_seen = self._date(obj, "first_seen"), self._date(obj, "last_seen")
        self.batch.node("Incident", key, name=self._text(obj, "name", required=True),
                        first_seen=first_seen, last_seen=last_seen,
                        external_ids=[attack_id] if attack_id else None, **self._common(obj))
        self.batch.rel("REPORTED_BY", ("Incident", key), ("Source", self._source_of(obj)))
        self.nodes[obj["id"]] = [("Incident", key)]

    _incident = _campaign  # STIX 2.1 incident (what attrib writes for a MISP event)

    def _software(self, obj: dict) -> None:
        key, attack_id = self._key(obj, SOFTWARE_ID)
        name = self._text(obj, "name", required=True)
        stated = obj.get("x_attrib_availability")
        self.batch.node("Tool", key, name=name, kind=obj["type"],
                        availability=stated if stated in AVAILABILITY else availability(name, obj["type"]),
                        external_ids=[attack_id] if attack_id else None,
                        aliases=[a for a in self._strings(obj, "x_mitre_aliases") if a != name] or None,
                        platforms=self._strings(obj, "x_mitre_platforms") or None, **self._common(obj))
        self.nodes[obj["id"]] = [("Tool", key)]

    _malware = _software
    _tool = _software

    def _attack_pattern(self, obj: dict) -> None:
        attack_id = self._attack_id(obj)
        attack_id = attack_id.upper() if attack_id else None
        key = attack_id if attack_id and TECHNIQUE_ID.match(attack_id) else f"stix:{obj['id']}"
        tactics = []
        phases = obj.get("kill_chain_phases") or []
        if not isinstance(phases, list):
            raise self.error(obj["id"], "expected a list of kill chain phases", "kill_chain_phases")
        for phase in phases:
            if isinstance(phase, dict) and isinstance(phase.get("phase_name"), str):
                tactics.append(phase["phase_name"])
        self.batch.node("Technique", key, name=self._text(obj, "name", required=True),
                        tactics=tactics or None, external_ids=[key] if key == attack_id else None,
                        platforms=self._strings(obj, "x_mitre_platforms") or None,
                        domain=(self._strings(obj, "x_mitre_domains") or [None])[0],
                        attack_version=self.attack_version if key == attack_id else None,
                        attack_bundle=self.attack_bundle if key == attack_id else None, **self._common(obj))
        self.nodes[obj["id"]] = [("Technique", key)]
        if key == attack_id and "." in key:
            parent = key.split(".")[0]
            self.batch.node("Technique", parent, external_ids=[parent])
            self.batch.rel("SUBTECHNIQUE_OF", ("Technique", key), ("Technique", parent),
                           sources=[self.source], created=self._date(obj, "created"))

    def _infra_node(self, obj: dict, kind: str, value: str) -> tuple[str, str]:
        value = infrastructure_value(kind, value)
        key = f"{kind}:{value}"
        self.batch.node("Infrastructure", key, kind=kind, value=value, name=value,
                        sources=[self.source], created=self._date(obj, "created"))
        return ("Infrastructure", key)

    def _indicator(self, obj: dict) -> None:
        pattern = obj.get("pattern")
        if obj.get("pattern_type") not in (None, "stix") or not isinstance(pattern, str):
            self._skip(obj["id"], "indicators with patterns this tool does not read")
            return
        nodes = []
        terms = PATTERN_TERM.findall(pattern)
        own = (self._text(obj, "x_attrib_key") or "").split(":", 1)[0]
        for type_, path, value in terms:
            kind = PATTERN_KINDS.get((type_, path.replace("'", "").lower()))
            if kind and len(terms) == 1 and own in INFRA_KINDS:
                kind = own  # attrib's own bundle: the kind it wrote (a hostname as a domain-name)
            if kind and value.strip():
                nodes.append(self._infra_node(obj, kind, value.replace("\\'", "'")))
        if not nodes:
            self._skip(obj["id"], "indicators with patterns this tool does not read")
            return
        self.nodes[obj["id"]] = nodes

    def _infrastructure(self, obj: dict) -> None:
        name = self._text(obj, "name", required=True)
        key = f"other:{obj['id']}"
        self.batch.node("Infrastructure", key, kind="other", value=name, name=name, **self._common(obj))
        self.nodes[obj["id"]] = [("Infrastructure", key)]

    def _observable(self, obj: dict) -> None:
        kind_of = {"domain-name": "domain", "ipv4-addr": "ip", "ipv6-addr": "ip", "url": "url",
                   "email-addr": "email", "autonomous-system": "asn"}
        if obj["type"] == "file":
            hashes = obj.get("hashes") if isinstance(obj.get("hashes"), dict) else {}
            found = {k.lower().replace("-", ""): v for k, v in hashes.items() if isinstance(v, str)}
            nodes = [self._infra_node(obj, kind, found[kind]) for kind in ("sha256", "sha1", "md5")
                     if found.get(kind)]
            if isinstance(obj.get("name"), str) and obj["name"].strip():
                nodes.append(self._infra_node(obj, "filename", obj["name"]))
        else:
            value = obj.get("number" if obj["type"] == "autonomous-system" else "value")
            nodes = [self._infra_node(obj, kind_of[obj["type"]], str(value))] if value not in (None, "") else []
        if nodes:
            self.nodes[obj["id"]] = nodes
        else:
            self._skip(obj["id"], f"{obj['type']} objects without a value")

    _domain_name = _ipv4_addr = _ipv6_addr = _url = _email_addr = _file = _autonomous_system = _observable

    def _check_target(self, obj: dict) -> None:
        # identity and location objects become victims only when targeted; check them now so
        # a wrong one is reported wherever it sits in the file
        if obj["type"] == "identity":
            self._text(obj, "name")
            self._strings(obj, "sectors")
        else:
            self._text(obj, "country")

    def _target_nodes(self, obj: dict) -> list[tuple[str, str]]:
        """The victim node(s) an identity or location stands for (made on first use)."""
        if obj["id"] in self.nodes:
            return self.nodes[obj["id"]]
        nodes: list[tuple[str, str]] = []
        if obj["type"] == "location":
            code = country_code(self._text(obj, "country") or "") or country_code(self._text(obj, "name") or "")
            if code:
                self.batch.node("Country", code, name=country_name(code))
                nodes.append(("Country", code))
        elif obj.get("x_attrib_kind") == "state":  # attrib writes a state actor as an identity
            key = self._text(obj, "x_attrib_key") or f"stix:{obj['id']}"
            name = self._text(obj, "name", required=True)
            self.batch.node("Actor", key, name=name, kind="state", sources=[self._source_of(obj)],
                            country=country_code(self._text(obj, "x_attrib_country") or "") or None)
            self._aliases(("Actor", key), [name], self._date(obj, "created"))
            nodes.append(("Actor", key))
        elif obj.get("identity_class") == "class" and self._text(obj, "x_attrib_key"):
            key = self._text(obj, "x_attrib_key")
            self.batch.node("Sector", key, name=self._text(obj, "name") or key.removeprefix("sector:"))
            nodes.append(("Sector", key))
        else:
            sectors = []
            for sector in self._strings(obj, "sectors"):
                key = f"sector:{slug(sector)}"
                self.batch.node("Sector", key, name=sector.replace("-", " ").capitalize())
                sectors.append(("Sector", key))
            name = self._text(obj, "name")
            if obj.get("identity_class") in ("organization", "government") and name and slug(name):
                org = ("Organization", self._text(obj, "x_attrib_key") or f"org:{slug(name)}")
                self.batch.node("Organization", org[1], name=name)
                for sector in sectors:
                    self.batch.rel("IN_SECTOR", org, sector, sources=[self.source])
                nodes.append(org)
            elif obj.get("identity_class") in (None, "class"):
                nodes.extend(sectors)
        self.nodes[obj["id"]] = nodes
        return nodes

    # -- relationships -------------------------------------------------------------------------------
    def _check_relationship(self, rel: dict) -> None:
        for field in ("relationship_type", "source_ref", "target_ref"):
            value = rel.get(field)
            if not isinstance(value, str) or not value:
                raise self.error(rel["id"], "missing (required)", field)
        for field in ("source_ref", "target_ref"):
            if rel[field] not in self.objects:
                raise self.error(rel["id"], f"points at '{rel[field]}', which is not in this bundle", field,
                                 hint="is the bundle complete? a relationship must point at objects in the same file")

    def _resolve_revoked(self, obj_id: str) -> str | None:
        seen = set()
        while obj_id in self.revoked_by and obj_id not in seen:
            seen.add(obj_id)
            obj_id = self.revoked_by[obj_id]
        return obj_id if obj_id in self.nodes else None

    def _relationship(self, rel: dict) -> None:
        rtype = rel["relationship_type"]
        if rel.get("revoked") is True or rel.get("x_mitre_deprecated") is True:
            self.batch.skip("revoked or deprecated relationships")
            return
        if rtype == "revoked-by":
            self._revoked_by(rel)
            return
        if rtype not in ("uses", "targets", "attributed-to", "indicates", "subtechnique-of"):
            self.batch.skip(f"'{rtype}' relationships (not modelled)")
            return
        src, dst = self.objects[rel["source_ref"]], self.objects[rel["target_ref"]]
        if rel["source_ref"] in self.skipped_ids or rel["target_ref"] in self.skipped_ids:
            self.batch.skip("relationships to revoked, deprecated or unmodelled objects")
            return
        starts = self.nodes.get(src["id"], [])
        ends = self._target_nodes(dst) if dst["type"] in TARGET_TYPES else self.nodes.get(dst["id"], [])
        if not starts or not ends:
            if dst["type"] == "location":
                self.batch.skip(f"'{rtype}' relationships to locations that are not countries")
            elif dst["type"] == "identity":
                self.batch.skip(f"'{rtype}' relationships to identities that are not organizations or sectors")
            else:
                self.batch.skip(f"'{rtype}' relationships from {src['type']} to {dst['type']} (not modelled)")
            return
        confidence = rel.get("confidence")
        if confidence is not None and (isinstance(confidence, bool) or not isinstance(confidence, int)
                                       or not 0 <= confidence <= 100):
            raise self.error(rel["id"], f"expected a whole number from 0 to 100, got {confidence!r}", "confidence")
        props = {"sources": [self._source_of(rel)], "created": self._date(rel, "created")}
        if confidence is not None:
            props["confidence"] = confidence
        if rtype == "attributed-to":
            self._attribution(rel, starts, ends, props)
            return
        written = False
        for start in starts:
            for end in ends:
                rel_type = self._rel_type(rtype, start[0], end[0])
                if rel_type is None:
                    continue
                if rtype == "indicates":  # indicator -> actor/campaign: the actor used the infrastructure
                    start, end = end, start
                self.batch.rel(rel_type, start, end, **props)
                written = True
        if not written:
            self.batch.skip(f"'{rtype}' relationships from {src['type']} to {dst['type']} (not modelled)")

    @staticmethod
    def _rel_type(rtype: str, start: str, end: str) -> str | None:
        if rtype == "uses":
            if start == "Actor" and end in ("Tool", "Technique", "Infrastructure"):
                return "USES"
            if start == "Tool" and end == "Technique":
                return "USES"
            if start == "Incident" and end in ("Tool", "Technique", "Infrastructure"):
                return "USED"
        elif rtype == "targets":
            if start == "Actor" and end in ("Sector", "Country", "Organization"):
                return "TARGETS"
            if start == "Incident" and end in ("Sector", "Country", "Organization"):
                return "TARGETED"
        elif rtype == "indicates" and start == "Infrastructure":
            return {"Actor": "USES", "Incident": "USED"}.get(end)
        elif rtype == "subtechnique-of" and start == end == "Technique":
            return "SUBTECHNIQUE_OF"
        return None

    def _attribution(self, rel: dict, starts: list, ends: list, props: dict) -> None:
        (start_label, incident), (end_label, actor) = starts[0], ends[0]
        if (start_label, end_label) != ("Incident", "Actor"):
            src, dst = self.objects[rel["source_ref"]], self.objects[rel["target_ref"]]
            self.batch.skip(f"'attributed-to' relationships from {src['type']} to {dst['type']} (not modelled)")
            return
        self._claim(rel, incident, actor, "attributes", props.get("confidence", DEFAULT_ATTRIBUTION_CONFIDENCE),
                    "description")

    def _claim(self, obj: dict, incident: str, actor: str, stance: str, confidence: int, text_field: str) -> None:
        """One Claim from an attributed-to relationship or an opinion: by its source, dated by
        its `created` (unless attrib marked it undated), its text as the statement."""
        source = self._source_of(obj)
        date = None if obj.get("x_attrib_undated") is True else self._date(obj, "created")
        refs = obj.get("external_references") if isinstance(obj.get("external_references"), list) else []
        urls = [r["url"] for r in refs if isinstance(r, dict) and isinstance(r.get("url"), str)]
        key = claim_key(incident, actor, source, stance, date)
        claim = ("Claim", key)
        self.batch.node("Claim", key, stance=stance, date=date, sources=[source], confidence=confidence,
                        statement=self._text(obj, text_field), url=urls[0] if urls else None)
        self.batch.rel("ABOUT", claim, ("Incident", incident), sources=[source], created=date)
        self.batch.rel("NAMES", claim, ("Actor", actor), sources=[source], created=date)
        self.batch.rel("STATED_BY", claim, ("Source", source), stance=stance, sources=[source], created=date)

    def _opinion(self, op: dict) -> None:
        """An opinion on attributed-to relationships (or on an incident and an actor) is its
        author's claim about who did that incident."""
        stance = OPINION_STANCES.get(op.get("opinion"))
        if stance is None:
            self._skip(op["id"], "neutral opinions")
            return
        refs = op.get("object_refs")
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
            raise self.error(op["id"], "expected a list of object ids", "object_refs")
        pairs, incidents, actors = set(), [], []
        for ref in refs:
            obj = self.objects.get(ref)
            if obj is None or ref in self.skipped_ids:
                continue
            if obj["type"] == "relationship" and obj.get("relationship_type") == "attributed-to":
                starts = self.nodes.get(obj["source_ref"], [])
                target = self.objects[obj["target_ref"]]
                ends = self._target_nodes(target) if target["type"] in TARGET_TYPES else self.nodes.get(target["id"], [])
                pairs.update((s[1], e[1]) for s in starts[:1] for e in ends[:1]
                             if (s[0], e[0]) == ("Incident", "Actor"))
                continue
            nodes = self._target_nodes(obj) if obj["type"] in TARGET_TYPES else self.nodes.get(ref, [])
            incidents += [n[1] for n in nodes if n[0] == "Incident"]
            actors += [n[1] for n in nodes if n[0] == "Actor"]
        pairs.update((i, a) for i in incidents for a in actors)
        if not pairs:
            self._skip(op["id"], "opinions on anything but an attribution (not modelled)")
            return
        confidence = op.get("confidence")
        if confidence is None:
            confidence = DEFAULT_OPINION_CONFIDENCE
        elif isinstance(confidence, bool) or not isinstance(confidence, int) or not 0 <= confidence <= 100:
            raise self.error(op["id"], f"expected a whole number from 0 to 100, got {confidence!r}", "confidence")
        for incident, actor in sorted(pairs):
            self._claim(op, incident, actor, stance, confidence, "explanation")

    def _revoked_by(self, rel: dict) -> None:
        """The old group's names (and its retired ID) live on as aliases of its replacement."""
        old = self.objects[rel["source_ref"]]
        target = self._resolve_revoked(rel["target_ref"])
        if old["type"] not in ACTOR_TYPES or target is None or self.nodes[target][0][0] != "Actor":
            return  # revoked techniques and software: nothing to carry over
        actor = self.nodes[target][0]
        names = [n for n in [old.get("name")] + list(old.get("aliases") or []) if isinstance(n, str) and n.strip()]
        self._aliases(actor, names, self._date(rel, "created"))
        old_id = self._attack_id(old)
        if old_id and GROUP_ID.match(old_id):
            self.batch.node("Actor", actor[1], external_ids=[old_id])
