"""The seed story in seed/ (no database): ATT&CK IDs exist in the enterprise bundle, the
records reference each other consistently, and there is enough of it for the demo.
Also the country lookups in graph/countries.py."""
from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from pathlib import Path

import pytest
import yaml

from graph.countries import ALTERNATIVE_NAMES, COUNTRIES, country_code, country_name

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "seed"
ENTERPRISE = Path(__file__).resolve().parents[3] / "shared" / "data" / "attack" / "enterprise-attack-15.1.json.gz"

TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
SOFTWARE_ID = re.compile(r"^S\d{4}$")
GROUP_ID = re.compile(r"^G\d{4}$")
DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
KINDS = ("sources", "actors", "incidents", "claims")
# ATT&CK reuses technique IDs on (deprecated) mitigation objects, so match on the STIX type.
STIX_TYPES = {"technique": {"attack-pattern"}, "software": {"malware", "tool"}, "group": {"intrusion-set"}}


# --- loading -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seed() -> dict[str, list[dict]]:
    files = sorted(SEED.glob("*.yaml"))
    assert files, f"no seed files in {SEED}"
    records: dict[str, list[dict]] = {k: [] for k in KINDS}
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict), f"{path.name}: top level must be a mapping"
        unknown = set(data) - set(KINDS)
        assert not unknown, f"{path.name}: unknown top-level keys {sorted(unknown)}"
        for kind, items in data.items():
            assert isinstance(items, list), f"{path.name}: '{kind}' must be a list"
            records[kind].extend(items)
    return records


@pytest.fixture(scope="module")
def attack() -> dict[str, dict]:
    """external_id -> STIX object, for current (non-revoked, non-deprecated) objects only."""
    if not ENTERPRISE.exists():
        pytest.skip(f"ATT&CK enterprise bundle {ENTERPRISE} is not present")
    with gzip.open(ENTERPRISE, "rt", encoding="utf-8") as fh:
        bundle = json.load(fh)
    current: dict[str, dict] = {}
    for obj in bundle["objects"]:
        if obj.get("revoked") or obj.get("x_mitre_deprecated"):
            continue
        for ref in obj.get("external_references", []):
            if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
                if obj["type"] in {t for types in STIX_TYPES.values() for t in types}:
                    current[ref["external_id"]] = obj
    return current


def _techniques(record: dict) -> list[tuple[str, str | None]]:
    out = []
    for t in record.get("techniques") or []:
        out.append((t["id"], t.get("name")) if isinstance(t, dict) else (t, None))
    return out


def _tools(record: dict) -> list[tuple[str | None, str | None]]:
    """(attack_id, name) per tool entry."""
    out = []
    for t in record.get("tools") or []:
        if isinstance(t, dict):
            out.append((t.get("attack_id"), t.get("name")))
        elif SOFTWARE_ID.match(str(t)):
            out.append((t, None))
        else:
            out.append((None, t))
    return out


def _with_profiles(seed):
    return seed["incidents"] + seed["actors"]


def _date_ok(value) -> bool:
    return isinstance(value, (dt.date, int)) or (isinstance(value, str) and bool(DATE.match(value)))


# --- ATT&CK IDs --------------------------------------------------------------------------

def test_every_attack_id_exists_and_is_current(seed, attack):
    used: list[tuple[str, str, str]] = []  # (kind, id, where)
    for rec in _with_profiles(seed):
        where = rec.get("key") or rec.get("name")
        for tid, _ in _techniques(rec):
            assert TECHNIQUE_ID.match(tid), f"{where}: bad technique ID {tid!r}"
            used.append(("technique", tid, where))
        for sid, _ in _tools(rec):
            if sid is not None:
                assert SOFTWARE_ID.match(sid), f"{where}: bad software ID {sid!r}"
                used.append(("software", sid, where))
    for actor in seed["actors"]:
        if actor.get("attack_id"):
            assert GROUP_ID.match(actor["attack_id"]), f"{actor['key']}: bad group ID"
            used.append(("group", actor["attack_id"], actor["key"]))
    assert used
    bad = [f"{kind} {aid} ({where})" for kind, aid, where in used
           if aid not in attack or attack[aid]["type"] not in STIX_TYPES[kind]]
    assert not bad, "not in ATT&CK enterprise 15.1 (or revoked/deprecated): " + ", ".join(bad)


def test_attack_names_match_attack(seed, attack):
    wrong = []
    for rec in _with_profiles(seed):
        for sid, name in _tools(rec):
            if sid and name and attack.get(sid, {}).get("name") != name:
                wrong.append(f"{sid}: {name!r} != {attack.get(sid, {}).get('name')!r}")
        for tid, name in _techniques(rec):
            if name and attack.get(tid, {}).get("name") != name:
                wrong.append(f"{tid}: {name!r} != {attack.get(tid, {}).get('name')!r}")
    for actor in seed["actors"]:
        if actor.get("attack_id"):
            obj = attack[actor["attack_id"]]
            if actor["name"] != obj["name"]:
                wrong.append(f"{actor['attack_id']}: {actor['name']!r} != {obj['name']!r}")
            assert actor.get("key", f"attack:{actor['attack_id']}") == f"attack:{actor['attack_id']}"
    assert not wrong, "names differ from ATT&CK: " + "; ".join(wrong)


# --- counts ------------------------------------------------------------------------------

def test_minimum_counts(seed):
    claims = seed["claims"]
    techniques = {tid for rec in _with_profiles(seed) for tid, _ in _techniques(rec)}
    tools = {sid or name.casefold() for rec in _with_profiles(seed) for sid, name in _tools(rec)}
    assert len(seed["incidents"]) >= 8
    assert len(claims) >= 10
    assert sum(c["stance"] == "denies" for c in claims) >= 3
    assert len(seed["actors"]) >= 6
    assert len(seed["sources"]) >= 4
    assert len(techniques) >= 3
    assert len(tools) >= 3


# --- references and required fields -----------------------------------------------------

def _source_key(s: dict) -> str:
    from graph.model import slug
    return s.get("key") or "src:" + slug(s["name"])


def _actor_key(a: dict) -> str:
    from graph.model import slug
    if a.get("key"):
        return a["key"]
    if a.get("attack_id"):
        return f"attack:{a['attack_id']}"
    if a["kind"] == "state":
        return f"state:{a['country']}"
    return "actor:" + slug(a["name"])


def test_keys_are_unique(seed):
    for kind, keyf in (("sources", _source_key), ("actors", _actor_key),
                       ("incidents", lambda i: i["key"])):
        keys = [keyf(r) for r in seed[kind]]
        dupes = {k for k in keys if keys.count(k) > 1}
        assert not dupes, f"duplicate {kind} keys: {sorted(dupes)}"


def test_claims_reference_defined_records(seed):
    sources = {_source_key(s) for s in seed["sources"]}
    actors = {_actor_key(a) for a in seed["actors"]}
    incidents = {i["key"] for i in seed["incidents"]}
    for n, c in enumerate(seed["claims"], 1):
        where = f"claim {n} ({c.get('incident')}, {c.get('actor')})"
        assert c.get("source"), f"{where}: no source"
        assert c.get("date") is not None and _date_ok(c["date"]), f"{where}: missing or bad date"
        assert c["incident"] in incidents, f"{where}: incident {c['incident']!r} not defined in seed/"
        assert c["actor"] in actors, f"{where}: actor {c['actor']!r} not defined in seed/"
        assert c["source"] in sources, f"{where}: source {c['source']!r} not defined in seed/"
        assert c["stance"] in ("attributes", "denies", "disputes"), where
        assert isinstance(c["confidence"], int) and 0 <= c["confidence"] <= 100, where
        assert c.get("statement"), f"{where}: no statement"


def test_every_incident_is_claimed_and_sourced(seed):
    sources = {_source_key(s) for s in seed["sources"]}
    claimed = {c["incident"] for c in seed["claims"]}
    for inc in seed["incidents"]:
        assert inc["key"] in claimed, f"{inc['key']}: no claim about it"
        assert inc.get("sources"), f"{inc['key']}: no sources"
        assert set(inc["sources"]) <= sources, f"{inc['key']}: undefined source"
        assert _date_ok(inc["first_seen"]), inc["key"]
    for actor in seed["actors"]:
        assert set(actor.get("sources") or []) <= sources, f"{_actor_key(actor)}: undefined source"


def test_countries_in_seed_are_iso_codes(seed):
    codes = []
    for a in seed["actors"]:
        codes += [a[f] for f in ("country", "sponsor") if a.get(f)]
        codes += (a.get("targets") or {}).get("countries", [])
    for i in seed["incidents"]:
        victims = i.get("victims") or {}
        codes += victims.get("countries", [])
        codes += [o["country"] for o in victims.get("organizations", []) if isinstance(o, dict) and o.get("country")]
    assert codes and all(c in COUNTRIES for c in codes), sorted(set(codes) - set(COUNTRIES))


def test_seed_files_pass_the_record_loader():
    """The contract check: the project's own parser accepts every seed file."""
    loaders = pytest.importorskip("loaders")
    for path in sorted(SEED.glob("*.yaml")):
        batch = loaders.parse_file(path)
        assert batch.nodes, path.name


# --- graph/countries.py ------------------------------------------------------------------

def test_country_table_is_complete():
    assert len(COUNTRIES) == 249
    assert all(re.fullmatch(r"[A-Z]{2}", c) for c in COUNTRIES)
    assert all(code in COUNTRIES and name == name.casefold() for name, code in ALTERNATIVE_NAMES.items())
    assert COUNTRIES["KP"] == "North Korea" and COUNTRIES["KR"] == "South Korea"


@pytest.mark.parametrize("text,code", [
    ("KP", "KP"), ("kp", "KP"), (" gb ", "GB"),
    ("North Korea", "KP"), ("united kingdom", "GB"), ("UK", "GB"), ("USA", "US"),
    ("Russian Federation", "RU"), ("Korea, Republic of", "KR"), ("DPRK", "KP"),
    ("Taiwan, Province of China", "TW"), ("Viet Nam", "VN"), ("Türkiye", "TR"), ("Turkey", "TR"),
    ("Cote d'Ivoire", "CI"), ("Côte d’Ivoire", "CI"),
    # MISP threat-actor galaxy spellings (cfr-suspected-state-sponsor / cfr-suspected-victims)
    ("Korea (Democratic People's Republic of)", "KP"), ("Iran (Islamic Republic of)", "IR"),
    ("People's Republic of China", "CN"), ("The Philippines", "PH"), ("Macao", "MO"),
])
def test_country_code(text, code):
    assert country_code(text) == code


@pytest.mark.parametrize("text", ["", "   ", "European Union", "Middle East", "XX", "Atlantis"])
def test_country_code_unknown(text):
    assert country_code(text) is None


def test_country_name():
    assert country_name("GB") == "United Kingdom"
    assert country_name("kp") == "North Korea"
    assert country_name("XX") == "XX"
