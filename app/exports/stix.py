"""STIX 2.1: one bundle for OpenCTI, MISP or any TAXII server, and back into attrib.

What maps to what (docs/exports.md, "STIX 2.1 bundles"):

    Incident        -> campaign (a MISP event, `misp:` key: incident)
    Technique       -> attack-pattern with the ATT&CK external reference (kill chain = tactics)
    Tool            -> malware (custom) or tool (commodity, public, leaked)
    Infrastructure  -> indicator with a STIX pattern (domain, ip, url, e-mail, hashes, file name),
                       else an infrastructure object
    Organization    -> identity (organization, with its sectors); Sector -> identity (class);
    Country         -> location
    Actor           -> intrusion-set (group), threat-actor (person), identity (state)
    Source          -> identity; every object a source stated is `created_by_ref` it
    USED / TARGETED / USES / TARGETS -> uses / targets (indicators: indicates)
    Claim (attributes)          -> attributed-to, incident -> actor, by the source, with its
                                   confidence, dated (`created`), the statement as description
    Claim (denies / disputes)   -> opinion strongly-disagree / disagree by that source on the
                                   attributed-to relationships naming the actor (or on the
                                   incident and the actor when nobody attributes it)
    the engine's assessment     -> note (ranked hypotheses, supports/weakens per claim)
    TLP                         -> the standard TLP marking definitions (clear = TLP:WHITE)

Ids are uuid5 over attrib's stable keys, so the same graph gives the same ids and a re-export
updates objects in OpenCTI instead of duplicating them. attrib's own keys and the facts STIX
has no property for travel as `x_attrib_*` properties (declared by a top-level property
extension definition), so loaders/stix.py reads a bundle back into the same nodes and claims.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from app.exports.assessment import assessment_text, claims_about, gather
from app.exports.base import Format, Job
from app.exports.style import tlp_label, web_url
from graph.reads.subgraph import SubNode

# Fixed namespace of attrib's uuid5 ids (never change it: ids would change with it).
NAMESPACE = uuid.UUID("6f3b1c2e-4d5a-5b6c-8d7e-9f0a1b2c3d4e")
SPEC = "2.1"
# The STIX 2.1 standard TLP marking definitions (TLP 1.0 names; TLP 2.0 CLEAR is WHITE).
TLP_MARKINGS = {
    "clear": ("613f2e26-407d-48c7-9eca-b8e91df99dc9", "white"),
    "green": ("34098fce-860f-48ae-8e50-ebd3cc5e41da", "green"),
    "amber": ("f88d31f6-486f-44da-b317-01333bde0b82", "amber"),
    "red": ("5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "red"),
}
TLP_CREATED = "2017-01-20T00:00:00.000Z"
EXTENSION_ID = "extension-definition--" + str(uuid.uuid5(NAMESPACE, "extension|x_attrib|1.0"))
EXTENSION_CREATED = "2026-12-01T00:00:00.000Z"
EXTENSION_PROPERTIES = ["x_attrib_availability", "x_attrib_country", "x_attrib_key", "x_attrib_kind",
                        "x_attrib_reliability", "x_attrib_undated"]
EXTENSION_SCHEMA = ("x_attrib_key: the attrib graph key of the node or claim; x_attrib_kind: an actor's "
                    "kind (group, state, person) or a source's (news, vendor, government, dataset, researcher, "
                    "community, other); x_attrib_reliability: a source's Admiralty grade A-F; "
                    "x_attrib_availability: a tool's availability (custom, commodity, public, leaked); "
                    "x_attrib_country: a state's ISO 3166 country code; x_attrib_undated: the claim has no date "
                    "(its created is the export date)")
STANCE_OPINIONS = {"denies": "strongly-disagree", "disputes": "disagree"}
# infrastructure kind -> the STIX pattern term (object:path) it is written as
PATTERNS = {"domain": "domain-name:value", "hostname": "domain-name:value", "url": "url:value",
            "email": "email-addr:value", "md5": "file:hashes.MD5", "sha1": "file:hashes.'SHA-1'",
            "sha256": "file:hashes.'SHA-256'", "filename": "file:name"}
# a technique's ATT&CK domain -> the source name of its reference and kill chain (as ATT&CK writes them)
ATTACK_SOURCE_NAMES = {"enterprise-attack": "mitre-attack", "ics-attack": "mitre-ics-attack",
                       "mobile-attack": "mitre-mobile-attack"}
SOURCE_CLASSES = {"researcher": "individual"}   # source kind -> identity_class (else organization)


def stix_id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, '|'.join([kind, *parts]))}"


def timestamp(value, fallback: str) -> str:
    """A graph date ('2020-11-27', '2020-11', a timestamp) as a STIX timestamp."""
    text = str(value or "")
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        return f"{text[:10]}T00:00:00.000Z"
    if len(text) == 7 and text[4] == "-":
        return f"{text}-01T00:00:00.000Z"
    if len(text) == 4 and text.isdigit():
        return f"{text}-01-01T00:00:00.000Z"
    return fallback


# -- the bundle ------------------------------------------------------------------------------------
class _Bundle:
    def __init__(self, job: Job):
        self.sub = job.sub
        self.assessment = job.context or {}
        o = job.options
        self.now = timestamp((o.date or dt.date.today()).isoformat(), "")
        self.tlp = tlp_label(o.tlp)
        self.objects: dict[str, dict] = {}
        self.ids: dict[str, str] = {}            # node id -> STIX id
        self.by_id = {n.id: n for n in self.sub.nodes}
        self.out: dict[str, list] = {}           # node id -> edges from it
        self.into: dict[str, list] = {}          # node id -> edges to it
        for e in self.sub.edges:
            self.out.setdefault(e.source, []).append(e)
            self.into.setdefault(e.target, []).append(e)
        self.markings = self._markings()

    # -- helpers ----------------------------------------------------------------------------------
    def add(self, obj: dict) -> dict:
        self.objects.setdefault(obj["id"], obj)
        return self.objects[obj["id"]]

    def sdo(self, kind: str, node: SubNode, **props) -> dict:
        created = timestamp(node.props.get("created"), self.now)
        obj = {"type": kind, "spec_version": SPEC, "id": stix_id(kind, node.key or node.id),
               "created": created, "modified": max(created, self.now), **props}
        author = self.source_ref(node.props.get("sources"))
        if author:
            obj["created_by_ref"] = author
        if node.key:
            obj["x_attrib_key"] = node.key
        if node.props.get("description"):
            obj["description"] = str(node.props["description"])
        self._mark(obj)
        self.ids[node.id] = obj["id"]
        return self.add(obj)

    def _mark(self, obj: dict) -> None:
        if self.markings:
            obj["object_marking_refs"] = self.markings

    def _markings(self) -> list[str]:
        if not self.tlp:
            return []
        if self.tlp == "amber+strict":
            # STIX 2.1 has no standard AMBER+STRICT object: TLP:AMBER plus the stricter statement.
            refs = [self._tlp("amber")]
            statement = {"type": "marking-definition", "spec_version": SPEC,
                         "id": stix_id("marking-definition", "tlp:amber+strict"), "created": TLP_CREATED,
                         "name": "TLP:AMBER+STRICT", "definition_type": "statement",
                         "definition": {"statement": "TLP:AMBER+STRICT (TLP 2.0): limited disclosure, "
                                                     "recipients may share only within their organization."}}
            self.add(statement)
            return refs + [statement["id"]]
        return [self._tlp(self.tlp)]

    def _tlp(self, level: str) -> str:
        uid, color = TLP_MARKINGS[level]
        obj = {"type": "marking-definition", "spec_version": SPEC, "id": f"marking-definition--{uid}",
               "created": TLP_CREATED, "name": f"TLP:{color.upper()}", "definition_type": "tlp",
               "definition": {"tlp": color}}
        return self.add(obj)["id"]

    def source_ref(self, sources) -> str | None:
        for key in sorted(str(s) for s in (sources or []) if s):
            return self.source(key)
        return None

    def source(self, key: str) -> str:
        """The identity of a source (from its node if shown, else its key and name)."""
        sid = stix_id("identity", key)
        if sid in self.objects:
            return sid
        node = self.by_id.get(key)
        props = node.props if node is not None and node.label == "Source" else {}
        name = props.get("name") or self.sub.source_names.get(key) or key
        obj = {"type": "identity", "spec_version": SPEC, "id": sid, "created": self.now, "modified": self.now,
               "name": str(name), "identity_class": SOURCE_CLASSES.get(props.get("kind"), "organization"),
               "x_attrib_key": key}
        if props.get("kind"):
            obj["x_attrib_kind"] = props["kind"]
        if props.get("reliability"):
            obj["x_attrib_reliability"] = props["reliability"]
        if web_url(props.get("url")):
            obj["external_references"] = [{"source_name": str(name), "url": web_url(props["url"])}]
        self._mark(obj)
        return self.add(obj)["id"]

    def rel(self, rtype: str, source: str, target: str, props: dict | None = None) -> dict:
        props = props or {}
        created = timestamp(props.get("first_seen") or props.get("created"), self.now)
        obj = {"type": "relationship", "spec_version": SPEC, "id": stix_id("relationship", rtype, source, target),
               "created": created, "modified": max(created, self.now), "relationship_type": rtype,
               "source_ref": source, "target_ref": target}
        author = self.source_ref(props.get("sources"))
        if author:
            obj["created_by_ref"] = author
        if isinstance(props.get("confidence"), int):
            obj["confidence"] = props["confidence"]
        self._mark(obj)
        return self.add(obj)

    # -- nodes ------------------------------------------------------------------------------------
    def node(self, n: SubNode) -> None:
        p = n.props
        name = str(p.get("name") or n.name or n.key)
        if n.label == "Incident":
            kind = "incident" if (n.key or "").startswith("misp:") else "campaign"
            extra = {}
            if kind == "campaign":
                first = timestamp(p.get("first_seen"), "")
                last = timestamp(p.get("last_seen"), "")
                extra = {k: v for k, v in (("first_seen", first), ("last_seen", last)) if v}
                if first and last and last < first:
                    extra.pop("last_seen")
            self.sdo(kind, n, name=name, **extra)
        elif n.label == "Technique":
            matrix = ATTACK_SOURCE_NAMES.get(p.get("domain"), "mitre-attack")
            ref = {"source_name": matrix, "external_id": n.key,
                   "url": "https://attack.mitre.org/techniques/" + n.key.replace(".", "/") + "/"}
            extra = {"kill_chain_phases": [{"kill_chain_name": matrix, "phase_name": t}
                                           for t in p.get("tactics") or []]}
            self.sdo("attack-pattern", n, name=str(p.get("name") or n.key), external_references=[ref],
                     **{k: v for k, v in extra.items() if v})
        elif n.label == "Tool":
            avail = p.get("availability") or "custom"
            extra = {"external_references": [{"source_name": "mitre-attack", "external_id": i}
                                             for i in p.get("external_ids") or [] if str(i).startswith("S")]}
            kind = "malware" if avail == "custom" else "tool"
            if kind == "malware":
                extra["is_family"] = True
            self.sdo(kind, n, name=name, x_attrib_availability=avail,
                     **{k: v for k, v in extra.items() if v != []})
        elif n.label == "Infrastructure":
            self._infrastructure(n, name)
        elif n.label == "Organization":
            sectors = sorted(self.by_id[e.target].key.removeprefix("sector:") for e in self.out.get(n.id, [])
                             if e.type == "IN_SECTOR" and e.target in self.by_id)
            self.sdo("identity", n, name=name, identity_class="organization", **({"sectors": sectors} if sectors else {}))
        elif n.label == "Sector":
            self.sdo("identity", n, name=name, identity_class="class", sectors=[(n.key or name).removeprefix("sector:")])
        elif n.label == "Country":
            self.sdo("location", n, name=name, country=n.key)
        elif n.label == "Actor":
            self._actor(n, name)
        elif n.label == "Source" and n.key:
            self.ids[n.id] = self.source(n.key)

    def _infrastructure(self, n: SubNode, name: str) -> None:
        kind, value = n.props.get("kind"), str(n.props.get("value") or name)
        term = PATTERNS.get(kind)
        if kind == "ip":
            term = "ipv6-addr:value" if ":" in value else "ipv4-addr:value"
        if term:
            escaped = value.replace("\\", "\\\\").replace("'", "\\'")
            self.sdo("indicator", n, name=value, pattern=f"[{term} = '{escaped}']", pattern_type="stix",
                     valid_from=timestamp(n.props.get("created"), self.now), indicator_types=["malicious-activity"])
        else:  # accounts, AS numbers, other: no pattern this exporter writes
            self.sdo("infrastructure", n, name=value)

    def _actor(self, n: SubNode, name: str) -> None:
        alias_nodes = [self.by_id.get(e.source) for e in self.into.get(n.id, []) if e.type == "NAMES"]
        # an Alias node's key is the normalised name; its spellings are how sources write it
        aliases = sorted({str(s) for a in alias_nodes if a is not None and a.label == "Alias"
                          for s in a.props.get("spellings") or [a.name]} - {name})
        kind = n.props.get("kind") or "group"
        refs = [{"source_name": "mitre-attack", "external_id": i}
                for i in n.props.get("external_ids") or [] if str(i).startswith("G")]
        extra = {k: v for k, v in (("aliases", aliases), ("external_references", refs)) if v}
        if kind == "state":
            # A state is the government that directs its groups: an identity, not a threat actor.
            self.sdo("identity", n, name=name, identity_class="organization", sectors=["government-national"],
                     x_attrib_kind="state", **({"x_attrib_country": n.props["country"]} if n.props.get("country") else {}))
        elif kind == "person":
            self.sdo("threat-actor", n, name=name, resource_level="individual", x_attrib_kind="person", **extra)
        else:
            self.sdo("intrusion-set", n, name=name, **extra)

    # -- edges ------------------------------------------------------------------------------------
    REL_TYPES = {"USED": "uses", "USES": "uses", "TARGETED": "targets", "TARGETS": "targets"}

    def edge(self, e) -> None:
        rtype = self.REL_TYPES.get(e.type)
        src, dst = self.by_id.get(e.source), self.by_id.get(e.target)
        if rtype is None or src is None or dst is None or e.source not in self.ids or e.target not in self.ids:
            return
        if src.label == "Actor" and src.props.get("kind") == "state":
            return  # identities neither use nor target in STIX
        a, b = self.ids[e.source], self.ids[e.target]
        if b.startswith("indicator--"):
            self.rel("indicates", b, a, e.props)
        else:
            self.rel(rtype, a, b, e.props)

    def claims(self) -> None:
        claims = []
        for c in self.sub.nodes:
            if c.label != "Claim":
                continue
            ends = {t: [e.target for e in self.out.get(c.id, []) if e.type == t] for t in ("ABOUT", "NAMES", "STATED_BY")}
            about, names, by = ends["ABOUT"], ends["NAMES"], ends["STATED_BY"]
            source = (self.by_id[by[0]].key if by and by[0] in self.by_id
                      else (sorted(c.props.get("sources") or []) or [None])[0])
            if about and names and source and about[0] in self.ids and names[0] in self.ids:
                claims.append((c, self.ids[about[0]], self.ids[names[0]], source))
        attributions: dict[tuple[str, str], list[str]] = {}
        for c, incident, actor, source in sorted(claims, key=lambda t: t[0].id):
            if c.props.get("stance") != "attributes":
                continue
            obj = self._statement("relationship", c, source, relationship_type="attributed-to",
                                  source_ref=incident, target_ref=actor)
            attributions.setdefault((incident, actor), []).append(obj["id"])
        for c, incident, actor, source in sorted(claims, key=lambda t: t[0].id):
            opinion = STANCE_OPINIONS.get(c.props.get("stance"))
            if opinion:
                refs = attributions.get((incident, actor)) or [incident, actor]
                self._statement("opinion", c, source, opinion=opinion, object_refs=sorted(refs))

    def _statement(self, kind: str, c: SubNode, source: str, **props) -> dict:
        """A claim as a relationship or an opinion: by its source, dated, with its confidence."""
        date = c.props.get("date")
        created = timestamp(date, "")
        obj = {"type": kind, "spec_version": SPEC, "id": stix_id(kind, c.key or c.id),
               "created": created or self.now, "modified": max(created or self.now, self.now),
               "created_by_ref": self.source(source), "x_attrib_key": c.key, **props}
        if not created:
            obj["x_attrib_undated"] = True   # `created` is then the export date, not the claim's
        if isinstance(c.props.get("confidence"), int):
            obj["confidence"] = c.props["confidence"]
        if c.props.get("statement"):
            obj["explanation" if kind == "opinion" else "description"] = str(c.props["statement"])
        if web_url(c.props.get("url")):
            obj["external_references"] = [{"source_name": self.objects[self.source(source)]["name"],
                                           "url": web_url(c.props["url"])}]
        self._mark(obj)
        self.ids[c.id] = obj["id"]
        return self.add(obj)

    def producer(self) -> str:
        """attrib itself: the author of the note and of the x_attrib_* extension."""
        return self.add({"type": "identity", "spec_version": SPEC, "id": stix_id("identity", "attrib"),
                         "created": self.now, "modified": self.now, "name": "attrib attribution explorer",
                         "identity_class": "system"})["id"]

    def extension(self) -> None:
        """Declare the x_attrib_* properties as a STIX 2.1 top-level property extension."""
        marked = [o for o in self.objects.values() if any(k.startswith("x_attrib_") for k in o)]
        if not marked:
            return
        ext = self.add({"type": "extension-definition", "spec_version": SPEC, "id": EXTENSION_ID,
                        "created": EXTENSION_CREATED, "modified": EXTENSION_CREATED,
                        "created_by_ref": self.producer(), "name": "attrib keys and facts", "version": "1.0",
                        "extension_types": ["toplevel-property-extension"], "schema": EXTENSION_SCHEMA,
                        "extension_properties": EXTENSION_PROPERTIES,
                        "description": "What attrib needs to read its own export back into the same graph."})
        for o in marked:
            o.setdefault("extensions", {})[ext["id"]] = {"extension_type": "toplevel-property-extension"}
        self._mark(ext)

    def notes(self) -> None:
        for key, a in sorted(self.assessment.items()):
            node = self.by_id.get(key)
            if node is None or node.id not in self.ids:
                continue
            producer = {"id": self.producer()}
            claims = [c for c in claims_about(self.sub, node) if c.id in self.ids]
            obj = {"type": "note", "spec_version": SPEC, "id": stix_id("note", key), "created": self.now,
                   "modified": self.now, "created_by_ref": producer["id"], "authors": ["attrib"],
                   "abstract": f"attrib assessment: who did {node.name}?",
                   "content": assessment_text(self.sub, node, a),
                   "object_refs": [self.ids[node.id], *sorted(self.ids[c.id] for c in claims)]}
            self._mark(obj)
            self.add(obj)

    def build(self) -> dict:
        order = {"Source": 0, "Incident": 1}
        for n in sorted(self.sub.nodes, key=lambda n: (order.get(n.label, 2), n.id)):
            if n.label not in ("Claim", "Alias"):
                self.node(n)
        for e in self.sub.edges:
            self.edge(e)
        self.claims()
        self.notes()
        self.extension()
        objects = sorted(self.objects.values(), key=lambda o: (o["type"] != "marking-definition", o["id"]))
        return {"type": "bundle", "id": stix_id("bundle", *sorted(self.objects)), "objects": objects}


def bundle(job: Job) -> dict:
    return _Bundle(job).build()


def write(job: Job, out: Path) -> list[Path]:
    out.write_text(json.dumps(bundle(job), indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return [out]


FORMAT = Format("stix", "json", "application/stix+json;version=2.1",
                "a STIX 2.1 bundle (claims, denials as opinions, the assessment as a note)", write, gather)
