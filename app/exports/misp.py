"""MISP: one event JSON (`{"Event": ...}`, built offline with PyMISP's MISPEvent) per export,
which MISP imports (Events > Import from... > MISP JSON) and loaders/misp.py reads back.

What maps to what (docs/exports.md, "MISP events"):

    the incident                 -> the event: info = its name, date = first seen, creator org "attrib"
    Infrastructure               -> attributes (domain, hostname, ip-dst, url, email, md5, sha1,
                                    sha256, filename, AS), to_ids
    Technique / Tool (ATT&CK)    -> galaxy tags misp-galaxy:mitre-attack-pattern="Name - T1234",
                                    mitre-malware / mitre-tool="Name - S0123"
    each attribution claim       -> a threat-actor galaxy tag misp-galaxy:threat-actor="Actor" and a
                                    threat-actor attribute saying who attributes it, how sure, when
    denials and disputes         -> text attributes in the Attribution category (MISP has no
                                    stance for them; the STIX export carries them as opinions)
    Organization / Country       -> target-org / target-location attributes; Sector -> tag
                                    misp-galaxy:sector="Name"
    the engine's assessment      -> an event report (text)
    TLP                          -> tlp:clear|green|amber|amber+strict|red tag (none: no tag)

Uuids are uuid5 over attrib's keys: the same graph gives the same event and attributes.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from pymisp import MISPEvent, MISPOrganisation

from app.exports.assessment import assessment_text, claim_text, claims_about, gather
from app.exports.base import ExportError, Format, Job
from app.exports.stix import NAMESPACE
from app.exports.style import tlp_label
from graph.reads.subgraph import Subgraph

CREATOR = "attrib"
# Infrastructure kind -> (MISP attribute type, category)
ATTRIBUTES = {"domain": ("domain", "Network activity"), "hostname": ("hostname", "Network activity"),
              "ip": ("ip-dst", "Network activity"), "url": ("url", "Network activity"),
              "email": ("email", "Network activity"), "asn": ("AS", "Network activity"),
              "md5": ("md5", "Payload delivery"), "sha1": ("sha1", "Payload delivery"),
              "sha256": ("sha256", "Payload delivery"), "filename": ("filename", "Payload delivery")}


def misp_uuid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "|".join(["misp", *parts])))


def event(job: Job) -> MISPEvent:
    sub = job.sub
    incidents = [n for n in sub.nodes if n.label == "Incident"]
    if not incidents:
        raise ExportError("a MISP event is made from an incident, and the graph to export holds none",
                          hint="export with --incident, or a query that returns an incident")
    inc = sub.node(sub.focus) if sub.focus and sub.node(sub.focus) else sorted(incidents, key=lambda n: n.id)[0]
    ev = MISPEvent()
    ev.uuid = misp_uuid("event", inc.id)
    ev.info = str(job.options.title or inc.name)
    ev.set_date(str(inc.props.get("first_seen") or (job.options.date or dt.date.today()).isoformat())[:10])
    ev.threat_level_id = 4   # undefined: attrib does not grade impact
    ev.analysis = 2          # completed: an export is a finished assessment
    ev.distribution = 0      # this organisation only, until the importer decides
    org = MISPOrganisation()
    org.name, org.uuid = CREATOR, misp_uuid("org", CREATOR)
    ev.Orgc = org
    tlp = tlp_label(job.options.tlp)
    if tlp:
        ev.add_tag(f"tlp:{tlp}")
    _evidence(ev, sub, inc)
    _claims(ev, sub, inc)
    assessment = (job.context or {}).get(inc.key)
    if assessment:
        ev.add_event_report(f"attrib assessment: who did {inc.name}?", assessment_text(sub, inc, assessment),
                            uuid=misp_uuid("report", inc.id))
    return ev


def _evidence(ev: MISPEvent, sub: Subgraph, inc) -> None:
    tags: set[str] = set()
    for e in sorted(sub.edges, key=lambda e: (e.type, e.target)):
        n = sub.node(e.target)
        if e.source != inc.id or n is None or e.type not in ("USED", "TARGETED"):
            continue
        name = str(n.props.get("name") or n.name)
        if n.label == "Infrastructure" and n.props.get("kind") in ATTRIBUTES:
            kind, category = ATTRIBUTES[n.props["kind"]]
            ev.add_attribute(kind, str(n.props.get("value") or name), category=category, to_ids=True,
                             uuid=misp_uuid("attribute", inc.id, n.id))
        elif n.label == "Technique":
            tags.add(f'misp-galaxy:mitre-attack-pattern="{n.props.get("name") or n.key} - {n.key}"')
        elif n.label == "Tool":
            ids = [i for i in n.props.get("external_ids") or [] if str(i).startswith("S")]
            galaxy = "mitre-malware" if n.props.get("availability") == "custom" else "mitre-tool"
            tags.add(f'misp-galaxy:{galaxy}="{name} - {ids[0]}"' if ids else f'misp-galaxy:{galaxy}="{name}"')
        elif n.label == "Organization":
            ev.add_attribute("target-org", name, category="Targeting data", uuid=misp_uuid("attribute", inc.id, n.id))
        elif n.label == "Country":
            ev.add_attribute("target-location", name, category="Targeting data",
                             uuid=misp_uuid("attribute", inc.id, n.id))
        elif n.label == "Sector":
            tags.add(f'misp-galaxy:sector="{name.capitalize()}"')
    for tag in sorted(tags):
        ev.add_tag(tag)


def _claims(ev: MISPEvent, sub: Subgraph, inc) -> None:
    actors: set[str] = set()
    for c in sorted(claims_about(sub, inc), key=lambda c: c.id):
        named = [sub.node(e.target) for e in sub.edges if e.source == c.id and e.type == "NAMES"]
        if not named or named[0] is None:
            continue
        actor = str(named[0].props.get("name") or named[0].name)
        text = claim_text(sub, c) + (f": {c.props['statement']}" if c.props.get("statement") else "")
        if c.props.get("stance") == "attributes":
            actors.add(actor)
            ev.add_attribute("threat-actor", actor, category="Attribution", comment=text,
                             uuid=misp_uuid("claim", c.id))
        else:
            ev.add_attribute("text", text, category="Attribution", uuid=misp_uuid("claim", c.id))
    for actor in sorted(actors):
        ev.add_tag(f'misp-galaxy:threat-actor="{actor}"')


def write(job: Job, out: Path) -> list[Path]:
    data = {"Event": json.loads(event(job).to_json())}
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return [out]


FORMAT = Format("misp", "misp.json", "application/json",
                "a MISP event (attributes, ATT&CK and threat-actor galaxy tags)", write, gather)
