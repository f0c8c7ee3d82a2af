"""MISP galaxy cluster files and MISP events -> one Batch each.

Galaxies (`threat-actor.json`, `microsoft-activity-group.json`, any actor galaxy): every cluster
is one actor. A cluster that names ATT&CK groups by ID (a refs URL
`attack.mitre.org/groups/G0007`, a meta entry `G0007:...`, a `mitre-intrusion-set` style value
`APT28 - G0007`) attaches to `attack:<G-id>`; the galaxy writes only list properties there
(external_ids, sources, refs), so it never overwrites what ATT&CK says and loading order does not
matter. Any other cluster is its own Actor `misp:<cluster uuid>`. Names link by Alias nodes: when
a galaxy and ATT&CK give one name to different actors, the Alias names both, and `attrib resolve`
shows the ambiguity. `related` cluster UUIDs are not followed: they point into other galaxies
and mostly say "similar", not "same".

Events (`{"Event": {...}}`): the event -> Incident `misp:<event uuid>` reported by its creator
org (`src:misp-org-<slug>`); attributes -> Infrastructure; ATT&CK technique/software tags and
clusters -> Technique / Tool; threat-actor tags and clusters -> Claims stated by the creator
org; TLP and every other tag kept in the Incident's `tags`.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from graph.countries import country_code, country_name
from graph.errors import ValidationError
from graph.model import (GROUP_ID, SOFTWARE_ID, TECHNIQUE_ID, Batch, claim_key, infrastructure_value,
                         normalise_name, slug)
from loaders.common import normalise_date
from loaders.stix import availability

ATTACK_GROUP_URL = re.compile(r"attack\.mitre\.org/groups/(G\d{4})\b", re.I)
META_GROUP_ID = re.compile(r"^(G\d{4})(?::|$)")
VALUE_ATTACK_ID = re.compile(r"\s-\s([GST]\d{4}(?:\.\d{3})?)\s*$")
# Galaxies whose clusters are threat actors (clusters in an event's Galaxy section, tags).
ACTOR_GALAXIES = {"threat-actor", "microsoft-activity-group", "mitre-intrusion-set",
                  "mitre-enterprise-attack-intrusion-set", "mitre-ics-groups", "mitre-mobile-attack-intrusion-set"}
TECHNIQUE_GALAXIES = {"mitre-attack-pattern", "mitre-enterprise-attack-attack-pattern",
                      "mitre-ics-techniques", "mitre-mobile-attack-attack-pattern"}
SOFTWARE_GALAXIES = {"mitre-malware", "mitre-tool", "mitre-enterprise-attack-malware",
                     "mitre-enterprise-attack-tool", "mitre-ics-software", "mitre-mobile-attack-malware",
                     "mitre-mobile-attack-tool"}
# Galaxy files whose clusters are software (tools, malware families): Tool nodes, never actors.
# Every other galaxy type is read as an actor galaxy.
SOFTWARE_GALAXY_TYPES = SOFTWARE_GALAXIES | {"tool", "malpedia", "android", "backdoor", "banker", "botnet",
                                             "exploit-kit", "rat", "ransomware", "stealer"}
ATTACK_SOFTWARE_URL = re.compile(r"attack\.mitre\.org/software/(S\d{4})\b", re.I)
GALAXY_TAG = re.compile(r'^misp-galaxy:([A-Za-z0-9_.-]+)="(.*)"$')
# meta fields read as structured data; descriptions stay text
SPONSOR_FIELDS = ("country", "cfr-suspected-state-sponsor")
VICTIM_FIELDS = ("cfr-suspected-victims",)
SECTOR_FIELDS = ("cfr-target-category", "targeted-sector")
# cfr-type-of-incident -> the actor's `motives` (graph.model.MOTIVES); other types are skipped
INCIDENT_TYPE_MOTIVES = {"espionage": "espionage", "financial theft": "financial", "extortion": "financial",
                         "business email compromise": "financial", "sabotage": "sabotage",
                         "denial of service": "hacktivism", "defacement": "hacktivism",
                         "information operations": "influence"}
# A galaxy is curated by the MISP community with references for most clusters: Admiralty C
# ("fairly reliable"), below a curated dataset such as ATT&CK (B).
GALAXY_RELIABILITY = "C"


# -- recognisers --------------------------------------------------------------------------------------
def is_galaxy(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("values"), list) and "type" in data


def is_event(data: Any) -> bool:
    if isinstance(data, dict) and isinstance(data.get("response"), list):
        return bool(data["response"]) and all(isinstance(e, dict) and "Event" in e for e in data["response"])
    return isinstance(data, dict) and "Event" in data


# -- linking a cluster to actors (shared by galaxies and events) ---------------------------------------
def attack_group_ids(value: str, meta: dict) -> list[str]:
    """ATT&CK group IDs a cluster names explicitly: refs URLs, `G0007:` meta entries, `X - G0007` values."""
    ids: list[str] = []
    m = VALUE_ATTACK_ID.search(value)
    if m and GROUP_ID.match(m.group(1)):
        ids.append(m.group(1))
    for field, entries in meta.items():
        for entry in entries if isinstance(entries, list) else [entries]:
            if not isinstance(entry, str):
                continue
            if field in ("refs", "references"):
                ids.extend(g.upper() for g in ATTACK_GROUP_URL.findall(entry))
            else:
                m = META_GROUP_ID.match(entry.strip())
                if m:
                    ids.append(m.group(1))
    return list(dict.fromkeys(ids))


def cluster_names(value: str, meta: dict) -> list[str]:
    """The cluster's value, synonyms and the names in `name-attribution` (not the IDs there)."""
    names = [VALUE_ATTACK_ID.sub("", value).strip()]
    for entry in _list(meta.get("synonyms")):
        if isinstance(entry, str):
            names.append(entry.strip())
    for entry in _list(meta.get("name-attribution")):
        if isinstance(entry, str):
            name = entry.split(":", 1)[0].strip()
            if name and not GROUP_ID.match(name):
                names.append(name)
    # an ATT&CK ID among the synonyms ("G0032") is an ID, kept in external_ids, not a name
    return [n for n in dict.fromkeys(names) if n and not GROUP_ID.match(n)]


def _list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class _ClusterWriter:
    """Turns one actor cluster into rows: the actor(s), aliases, sponsors, targets."""

    def __init__(self, batch: Batch, source: str):
        self.batch = batch
        self.source = source

    def actors(self, uuid: str, value: str, meta: dict, description: str | None) -> list[tuple[str, str]]:
        ids = attack_group_ids(value, meta)
        refs = [r for r in _list(meta.get("refs")) if isinstance(r, str)] or None
        if ids:
            # a stub: list properties only, so ATT&CK's name, description and dates always win
            for gid in ids:
                self.batch.node("Actor", f"attack:{gid}", external_ids=[gid], sources=[self.source], refs=refs)
            actors = [("Actor", f"attack:{gid}") for gid in ids]
        else:
            key = f"misp:{uuid}"
            self.batch.node("Actor", key, name=VALUE_ATTACK_ID.sub("", value).strip(), kind="group",
                            description=description, sources=[self.source], refs=refs)
            actors = [("Actor", key)]
        for name in cluster_names(value, meta):
            alias = normalise_name(name)
            if not alias:
                self.batch.skip("names without letters or digits")
                continue
            self.batch.node("Alias", alias, spellings=[name])
            for actor in actors:
                self.batch.rel("NAMES", ("Alias", alias), actor, sources=[self.source])
        return actors

    def related(self, nodes: list[tuple[str, str]], uuid: str, related: list, file: str, record: str) -> None:
        """The cluster's uuid on its node(s), and its `uses` (actor -> software) and `used-by`
        (software -> actor) links as pending entries "<source>|<other cluster's uuid>". The other
        cluster sits in another galaxy file, and which node it became (`attack:G0007` or
        `misp:<uuid>`) is only known once that file is loaded: the graph writer links pending
        entries to whatever node carries that uuid (app.ingest.link_clusters), in whichever
        order the files come. Other relation types ("similar", "variant-of") are not followed."""
        label = nodes[0][0]
        wanted = {"Actor": ("uses", "uses_clusters"), "Tool": ("used-by", "used_by_clusters")}[label]
        pending = []
        for i, rel in enumerate(related):
            if not isinstance(rel, dict) or not isinstance(rel.get("dest-uuid"), str) \
                    or not isinstance(rel.get("type"), str):
                raise ValidationError(file, "expected {'dest-uuid': ..., 'type': ...}", record=record,
                                      field=f"related[{i}]")
            if rel["type"].strip() == wanted[0]:
                pending.append(f"{self.source}|{rel['dest-uuid'].strip()}")
            else:
                self.batch.skip("links to related clusters (not followed)")
        for node in nodes:
            self.batch.node(node[0], node[1], clusters=[uuid], **{wanted[1]: pending or None})

    def tool(self, uuid: str, value: str, meta: dict, description: str | None) -> tuple[str, str]:
        """A software cluster -> one Tool, its value and synonyms as `aliases`. A cluster naming an
        ATT&CK software ID (a refs URL `attack.mitre.org/software/S0013`, a value `X - S0013`)
        attaches to `attack:<S-id>` with list properties only, as actor clusters do."""
        m = VALUE_ATTACK_ID.search(value)
        ids = [m.group(1)] if m and SOFTWARE_ID.match(m.group(1)) else []
        for ref in _list(meta.get("refs")):
            if isinstance(ref, str):
                ids.extend(s.upper() for s in ATTACK_SOFTWARE_URL.findall(ref))
        ids = list(dict.fromkeys(ids))
        name = VALUE_ATTACK_ID.sub("", value).strip()
        names = [name] + [n.strip() for n in _list(meta.get("synonyms")) if isinstance(n, str) and n.strip()]
        aliases = [n for n in dict.fromkeys(names) if normalise_name(n) and not SOFTWARE_ID.match(n)]
        refs = [r for r in _list(meta.get("refs")) if isinstance(r, str)] or None
        if len(ids) > 1:
            self.batch.skip("software clusters naming several ATT&CK software IDs (own Tool)")
        if len(ids) == 1:
            key = f"attack:{ids[0]}"
            self.batch.node("Tool", key, external_ids=ids, aliases=aliases, sources=[self.source], refs=refs)
        else:
            key = f"misp:{uuid}"
            # the galaxy says what the software is, not who can get it: the reviewed availability list
            self.batch.node("Tool", key, name=name, kind="malware", availability=availability(name, "malware"),
                            aliases=aliases, description=description, sources=[self.source], refs=refs)
        return ("Tool", key)

    def profile(self, actors: list[tuple[str, str]], meta: dict) -> None:
        for rel_type, fields in (("SPONSORED_BY", SPONSOR_FIELDS), ("TARGETS", VICTIM_FIELDS)):
            for field in fields:
                for text in _list(meta.get(field)):
                    code = country_code(str(text)) if isinstance(text, (str, int)) else None
                    if not code:
                        self.batch.skip(f"'{field}' entries that are not countries")
                        continue
                    self._country(code)
                    for actor in actors:
                        self.batch.rel(rel_type, actor, ("Country", code), sources=[self.source])
        for field in SECTOR_FIELDS:
            for text in _list(meta.get(field)):
                if not isinstance(text, str) or not slug(text):
                    self.batch.skip(f"'{field}' entries that are not sector names")
                    continue
                key = f"sector:{slug(text)}"
                self.batch.node("Sector", key, name=text.strip())
                for actor in actors:
                    self.batch.rel("TARGETS", actor, ("Sector", key), sources=[self.source])

        motives = []
        for text in _list(meta.get("cfr-type-of-incident")):
            motive = INCIDENT_TYPE_MOTIVES.get(text.strip().casefold()) if isinstance(text, str) else None
            if motive:
                motives.append(motive)
            else:
                self.batch.skip("'cfr-type-of-incident' entries that are no motive")
        if motives:
            for actor in actors:
                self.batch.node(actor[0], actor[1], motives=sorted(set(motives)))

    def _country(self, code: str) -> None:
        self.batch.node("Country", code, name=country_name(code))


# -- galaxies -----------------------------------------------------------------------------------------
def galaxy_from_document(path: Path, data: Any) -> Batch:
    file = str(path)
    if not isinstance(data, dict):
        raise ValidationError(file, "not a MISP galaxy: expected a JSON object")
    gtype, gname = data.get("type"), data.get("name")
    if not isinstance(gtype, str) or not slug(gtype):
        raise ValidationError(file, "missing (required): the galaxy type, e.g. 'threat-actor'", field="type")
    batch = Batch(file)
    source = f"src:misp-galaxy-{slug(gtype)}"
    batch.node("Source", source, name=f"MISP galaxy: {gname if isinstance(gname, str) else gtype}",
               kind="community", reliability=GALAXY_RELIABILITY,
               url=f"https://github.com/MISP/misp-galaxy/blob/main/clusters/{gtype}.json")
    writer = _ClusterWriter(batch, source)
    software = gtype in SOFTWARE_GALAXY_TYPES
    seen: dict[str, str] = {}
    for i, cluster in enumerate(data["values"]):
        record = f"values[{i}]"
        if not isinstance(cluster, dict):
            raise ValidationError(file, f"expected a cluster object, got {type(cluster).__name__}", record=record)
        uuid, value = cluster.get("uuid"), cluster.get("value")
        if isinstance(uuid, str):
            record += f" ({uuid})"
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(file, "missing (required): every cluster needs a value (its name)",
                                  record=record, field="value")
        if not isinstance(uuid, str) or not uuid.strip():
            raise ValidationError(file, "missing (required): every cluster needs a uuid", record=record,
                                  field="uuid")
        if uuid in seen:
            raise ValidationError(file, f"duplicate uuid (also {seen[uuid]})", record=record, field="uuid")
        seen[uuid] = record
        meta = cluster.get("meta") or {}
        if not isinstance(meta, dict):
            raise ValidationError(file, f"expected a mapping, got {type(meta).__name__}", record=record,
                                  field="meta")
        description = cluster.get("description")
        if description is not None and not isinstance(description, str):
            raise ValidationError(file, f"expected text, got {type(description).__name__}", record=record,
                                  field="description")
        for field in ("synonyms", "refs", "cfr-type-of-incident") + SPONSOR_FIELDS + VICTIM_FIELDS + SECTOR_FIELDS:
            if isinstance(meta.get(field), dict):
                raise ValidationError(file, "expected text or a list of text", record=record,
                                      field=f"meta.{field}")
        if software:
            nodes = [writer.tool(uuid.strip(), value.strip(), meta, (description or "").strip() or None)]
        else:
            nodes = writer.actors(uuid.strip(), value.strip(), meta, (description or "").strip() or None)
            writer.profile(nodes, meta)
        writer.related(nodes, uuid.strip(), _list(cluster.get("related")), file, record)
    return batch


# -- events -------------------------------------------------------------------------------------------
# MISP attribute type -> Infrastructure kind(s); composite types ("filename|md5") split on "|".
ATTRIBUTE_KINDS = {
    "domain": "domain", "hostname": "hostname", "ip-src": "ip", "ip-dst": "ip", "url": "url",
    "email": "email", "email-src": "email", "email-dst": "email", "email-reply-to": "email",
    "md5": "md5", "sha1": "sha1", "sha256": "sha256", "filename": "filename", "AS": "asn",
    "port": None,
}
THREAT_LEVELS = {"1": "high", "2": "medium", "3": "low", "4": "undefined"}
# MISP tags state no confidence for an attribution; a creator's threat-actor tag without an
# estimative-language tag is taken as "roughly even chance" (50). Estimative-language
# likelihood tags map to the middle of their ICD 203 band.
DEFAULT_EVENT_CONFIDENCE = 50
LIKELIHOOD = {"almost-no-chance": 3, "very-unlikely": 12, "unlikely": 30, "roughly-even-chance": 50,
              "likely": 70, "very-likely": 87, "almost-certain": 97}


def events_from_document(path: Path, data: Any) -> Batch:
    batch = Batch(str(path))
    events = data["response"] if isinstance(data, dict) and "response" in data else [data]
    for i, wrapper in enumerate(events):
        record = "Event" if len(events) == 1 else f"response[{i}].Event"
        _EventReader(path, batch, record).read(wrapper.get("Event"))
    return batch


class _EventReader:
    def __init__(self, path: Path, batch: Batch, record: str):
        self.file = str(path)
        self.batch = batch
        self.record = record

    def error(self, message: str, record: str | None = None, field: str | None = None) -> ValidationError:
        return ValidationError(self.file, message, record=record or self.record, field=field)

    def _text(self, obj: dict, field: str, record: str, required: bool = False) -> str | None:
        value = obj.get(field)
        if value is None or value == "":
            if required:
                raise self.error("missing (required)", record, field)
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise self.error(f"expected text, got {type(value).__name__}", record, field)
        return str(value).strip()

    def read(self, event: Any) -> None:
        if not isinstance(event, dict):
            raise self.error(f"expected a MISP event object, got {type(event).__name__}")
        uuid = self._text(event, "uuid", self.record, required=True)
        self.record = f"{self.record} ({uuid})"
        info = self._text(event, "info", self.record, required=True)
        date = normalise_date(self._text(event, "date", self.record, required=True))
        if date is None:
            raise self.error(f"expected a date YYYY-MM-DD, got {event.get('date')!r}", field="date")
        org = event.get("Orgc") or event.get("Org")
        if not isinstance(org, dict) or not isinstance(org.get("name"), str) or not slug(org["name"]):
            raise self.error("missing (required): the creator organisation's name", field="Orgc.name")
        source = f"src:misp-org-{slug(org['name'])}"
        self.source, self.date = source, date
        self.batch.node("Source", source, name=org["name"].strip(), kind="community")
        incident = ("Incident", f"misp:{uuid}")
        self.incident = incident

        tags = self._tags(event.get("Tag"), f"{self.record} Tag")
        attributes = self._list(event, "Attribute")
        for j, obj in enumerate(self._list(event, "Object")):
            if not isinstance(obj, dict):
                raise self.error(f"expected an object, got {type(obj).__name__}", f"{self.record} Object[{j}]")
            attributes.extend(self._list(obj, "Attribute", f"{self.record} Object[{j}]"))
            tags.extend(self._tags(obj.get("Tag"), f"{self.record} Object[{j}] Tag"))
        refs = []
        for j, attr in enumerate(attributes):
            where = f"{self.record} Attribute[{j}]"
            if not isinstance(attr, dict):
                raise self.error(f"expected an attribute object, got {type(attr).__name__}", where)
            if isinstance(attr.get("uuid"), str):
                where += f" ({attr['uuid']})"
            kind = self._text(attr, "type", where, required=True)
            value = self._text(attr, "value", where, required=True)
            if attr.get("deleted") in (True, "1", 1):
                self.batch.skip("deleted attributes")
                continue
            tags.extend(self._tags(attr.get("Tag"), f"{where} Tag"))
            if kind == "link":
                refs.append(value)
                continue
            self._attribute(kind, value, attr, where)

        tlp = next((t.split(":", 1)[1].strip().lower() for t in tags if t.lower().startswith("tlp:")), None)
        self.batch.node("Incident", incident[1], name=info, first_seen=date, tags=tags or None, tlp=tlp,
                        threat_level=THREAT_LEVELS.get(str(event.get("threat_level_id"))),
                        refs=refs or None, sources=[source])
        self.batch.rel("REPORTED_BY", incident, ("Source", source), created=date)
        confidence = self._confidence(tags)
        clusters_seen: set[tuple[str, str]] = set()
        for j, galaxy in enumerate(self._list(event, "Galaxy")):
            where = f"{self.record} Galaxy[{j}]"
            if not isinstance(galaxy, dict):
                raise self.error(f"expected a galaxy object, got {type(galaxy).__name__}", where)
            gtype = self._text(galaxy, "type", where) or ""
            for k, cluster in enumerate(self._list(galaxy, "GalaxyCluster", where)):
                cwhere = f"{where} GalaxyCluster[{k}]"
                if not isinstance(cluster, dict):
                    raise self.error(f"expected a cluster object, got {type(cluster).__name__}", cwhere)
                value = self._text(cluster, "value", cwhere, required=True)
                meta = cluster.get("meta") if isinstance(cluster.get("meta"), dict) else {}
                ctype = self._text(cluster, "type", cwhere) or gtype
                self._galaxy_reference(ctype, value, meta, self._text(cluster, "uuid", cwhere), confidence)
                clusters_seen.add((ctype, value))
        # a cluster attached to the event also appears as its tag: read each reference once
        for tag in tags:
            m = GALAXY_TAG.match(tag)
            if m and (m.group(1), m.group(2)) not in clusters_seen:
                self._galaxy_reference(m.group(1), m.group(2), {}, None, confidence)

    def _list(self, obj: dict, field: str, record: str | None = None) -> list:
        value = obj.get(field)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(f"expected a list, got {type(value).__name__}", record, field)
        return list(value)

    def _tags(self, value: Any, record: str) -> list[str]:
        names = []
        for i, tag in enumerate(value or []):
            name = tag.get("name") if isinstance(tag, dict) else tag
            if not isinstance(name, str) or not name.strip():
                raise self.error("expected a tag with a name", f"{record}[{i}]", "name")
            names.append(name.strip())
        return names

    @staticmethod
    def _confidence(tags: list[str]) -> int:
        for tag in tags:
            m = re.match(r'^estimative-language:likelihood-probability="([a-z-]+)"$', tag)
            if m and m.group(1) in LIKELIHOOD:
                return LIKELIHOOD[m.group(1)]
        return DEFAULT_EVENT_CONFIDENCE

    def _attribute(self, kind: str, value: str, attr: dict, where: str) -> None:
        parts = kind.split("|")
        values = value.split("|") if len(parts) > 1 else [value]
        if len(values) != len(parts):
            raise self.error(f"'{kind}' needs {len(parts)} values separated by '|', got {value!r}",
                             where, "value")
        written = False
        for part, val in zip(parts, values):
            infra = ATTRIBUTE_KINDS.get(part)
            if not infra or not val.strip():
                continue
            val = infrastructure_value(infra, val)
            key = f"{infra}:{val}"
            self.batch.node("Infrastructure", key, kind=infra, value=val, name=val, sources=[self.source])
            created = self._timestamp(attr.get("timestamp")) or self.date
            self.batch.rel("USED", self.incident, ("Infrastructure", key), sources=[self.source],
                           first_seen=self.date, created=created)
            written = True
        if not written:
            self.batch.skip(f"'{kind}' attributes (not modelled)")

    @staticmethod
    def _timestamp(value: Any) -> str | None:
        try:
            return datetime.fromtimestamp(int(value), tz=timezone.utc).date().isoformat()
        except (TypeError, ValueError, OverflowError, OSError):
            return None

    def _galaxy_reference(self, gtype: str, value: str, meta: dict, uuid: str | None, confidence: int) -> None:
        m = VALUE_ATTACK_ID.search(value)
        attack_id = m.group(1) if m else None
        if gtype in TECHNIQUE_GALAXIES and attack_id and TECHNIQUE_ID.match(attack_id):
            self.batch.node("Technique", attack_id, external_ids=[attack_id])
            if "." in attack_id:
                parent = attack_id.split(".")[0]
                self.batch.node("Technique", parent, external_ids=[parent])
                self.batch.rel("SUBTECHNIQUE_OF", ("Technique", attack_id), ("Technique", parent))
            self.batch.rel("USED", self.incident, ("Technique", attack_id), sources=[self.source],
                           first_seen=self.date, created=self.date)
        elif gtype in SOFTWARE_GALAXIES and attack_id and SOFTWARE_ID.match(attack_id):
            key = f"attack:{attack_id}"
            self.batch.node("Tool", key, external_ids=[attack_id])
            self.batch.rel("USED", self.incident, ("Tool", key), sources=[self.source],
                           first_seen=self.date, created=self.date)
        elif gtype in ACTOR_GALAXIES:
            writer = _ClusterWriter(self.batch, self.source)
            if uuid or attack_group_ids(value, meta):
                actors = writer.actors(uuid or "", value, meta, None)
            else:
                # a tag names the cluster by value only: an actor known by that name
                key = f"misp-name:{normalise_name(value)}"
                self.batch.node("Actor", key, name=value, kind="group", sources=[self.source])
                alias = normalise_name(value)
                self.batch.node("Alias", alias, spellings=[value])
                self.batch.rel("NAMES", ("Alias", alias), ("Actor", key), sources=[self.source])
                actors = [("Actor", key)]
            for actor in actors:
                self._claim(actor[1], confidence)
        else:
            self.batch.skip("galaxy tags and clusters of other kinds (kept as tags)")

    def _claim(self, actor: str, confidence: int) -> None:
        key = claim_key(self.incident[1], actor, self.source, "attributes", self.date)
        claim = ("Claim", key)
        self.batch.node("Claim", key, stance="attributes", confidence=confidence, date=self.date,
                        sources=[self.source])
        self.batch.rel("ABOUT", claim, self.incident, sources=[self.source], created=self.date)
        self.batch.rel("NAMES", claim, ("Actor", actor), sources=[self.source], created=self.date)
        self.batch.rel("STATED_BY", claim, ("Source", self.source), stance="attributes",
                       sources=[self.source], created=self.date)
