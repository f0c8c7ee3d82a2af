"""Which ATT&CK bundle the technique model learns from (loaders/reports/attack_cache.py): the STIX
loader marks an ATT&CK bundle's techniques with its content hash, a load keeps a copy, and the
copy is found from the hash the graph holds."""
from __future__ import annotations

import gzip
import json

from graph.settings import load_settings
from loaders import parse_file
from loaders.common import file_digest
from loaders.reports.attack_cache import find_attack_bundle, keep_attack_bundles

MITRE = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"


def attack_bundle(path, technique: str = "T1566"):
    objects = [{"type": "identity", "id": MITRE, "name": "The MITRE Corporation", "identity_class": "organization"},
               {"type": "attack-pattern", "id": "attack-pattern--00000000-0000-4000-8000-000000000001",
                "name": "Phishing", "created_by_ref": MITRE,
                "external_references": [{"source_name": "mitre-attack", "external_id": technique}]}]
    data = json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000002", "objects": objects})
    path.write_bytes(gzip.compress(data.encode()) if path.name.endswith(".gz") else data.encode())
    return path


def test_an_attack_bundle_marks_its_techniques_a_vendor_bundle_does_not(tmp_path):
    path = attack_bundle(tmp_path / "enterprise-attack-15.1.json.gz")
    [technique] = [n for n in parse_file(path).nodes if n.label == "Technique"]
    assert technique.props["attack_bundle"] == file_digest(path)
    vendor = json.loads(gzip.decompress(path.read_bytes()))
    vendor["objects"][0]["name"] = "Example Vendor"
    vendor["objects"][0]["id"] = "identity--00000000-0000-4000-8000-000000000009"
    vendor["objects"][1]["created_by_ref"] = vendor["objects"][0]["id"]
    (tmp_path / "vendor.json").write_text(json.dumps(vendor))
    assert not any("attack_bundle" in n.props for n in parse_file(tmp_path / "vendor.json").nodes)


def test_a_loaded_bundle_is_kept_once_and_found_by_its_hash(tmp_path):
    settings = load_settings({"ATTRIB_HOME": str(tmp_path / "home")})
    (tmp_path / "upload").mkdir()
    loaded = attack_bundle(tmp_path / "upload" / "enterprise.json")
    other = attack_bundle(tmp_path / "other.json", "T1059")
    held = file_digest(loaded)
    assert find_attack_bundle(settings, held) is None  # held, but no copy kept
    [kept] = keep_attack_bundles([held], [other, loaded], settings.cache_dir)
    assert kept.read_bytes() == loaded.read_bytes() and kept.name == f"{held}-enterprise.json"
    loaded.unlink()  # an upload's temporary file goes; the copy stays
    assert find_attack_bundle(settings, held) == kept
    assert keep_attack_bundles([held], [other], settings.cache_dir) == []
    assert find_attack_bundle(settings, file_digest(other)) is None  # not what the graph holds


def test_a_held_bundle_without_a_copy_is_found_in_the_download_cache(tmp_path):
    settings = load_settings({"ATTRIB_HOME": str(tmp_path)})
    downloads = settings.cache_dir / "attack"
    downloads.mkdir(parents=True)
    ics = attack_bundle(downloads / "ics-attack-15.1.json", "T0800")
    enterprise = attack_bundle(downloads / "enterprise-attack-latest.json")
    assert find_attack_bundle(settings, file_digest(ics)) == ics  # the graph's, not the newest Enterprise
    assert find_attack_bundle(settings) == enterprise  # no graph: the Enterprise download
