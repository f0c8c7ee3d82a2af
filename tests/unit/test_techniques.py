"""Technique recognition learnt from an ATT&CK bundle (no database): a tiny synthetic bundle."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from graph.errors import ValidationError
from graph.settings import load_settings
from loaders.reports.attack_cache import find_attack_bundle
from loaders.reports.model_cache import model_path, recognizer_for
from loaders.reports.techniques import MASK, NO_TECHNIQUE, TechniqueRecognizer, clean, name_patterns, read_corpus, training_set

TECHNIQUES = {
    "T1059": ("Command and Scripting Interpreter", "Adversaries may abuse command and script interpreters."),
    "T1059.001": ("PowerShell", "Adversaries may abuse PowerShell commands and scripts for execution."),
    "T1566": ("Phishing", "Adversaries may send phishing messages to gain access to victim systems."),
    "T1566.001": ("Spearphishing Attachment", "Adversaries may send spearphishing emails with a malicious attachment."),
    "T1005": ("Data from Local System", "Adversaries may search local system sources to find files of interest."),
    "T1090": ("Proxy", "Adversaries may use a connection proxy to direct network traffic."),
    "T1113": ("Screen Capture", "Adversaries may take screen captures of the desktop."),
}
# (technique, behaviour phrases); each phrase becomes procedure examples of several groups
BEHAVIOUR = {
    "T1059.001": ["ran PowerShell scripts to download payloads", "executed encoded PowerShell commands",
                  "used a PowerShell one-liner to launch the loader", "invoked PowerShell to run commands"],
    "T1566.001": ["sent emails with malicious Word attachments", "delivered a weaponised document by email",
                  "emailed victims a booby-trapped attachment", "attached a malicious macro document to emails"],
    "T1005": ["collected files from the local hard drive", "gathered documents stored on the victim machine",
              "searched the local file system for documents", "stole files from the infected host"],
    "T1090": ["relayed its traffic through a chain of proxies", "routed command traffic via an internal proxy",
              "used compromised routers as proxy nodes", "tunnelled connections through a proxy server"],
    "T1113": ["took screenshots of the victim desktop", "captured images of the screen every minute",
              "grabbed a screenshot of the user display", "recorded the screen and saved captures"],
}
GROUPS = ["Azure Otter", "Copper Heron", "Quiet Lynx", "Paper Tiger", "Silent Crane", "Night Owl"]


def stix_id(kind: str, n: int) -> str:
    return f"{kind}--00000000-0000-4000-8000-{n:012d}"


def make_bundle(extra_phrase: str | None = None) -> dict:
    objects, n = [], 0
    ids = {}
    for attack_id, (name, description) in TECHNIQUES.items():
        n += 1
        ids[attack_id] = stix_id("attack-pattern", n)
        objects.append({"type": "attack-pattern", "id": ids[attack_id], "name": name, "description": description,
                        "created": "2018-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
                        "external_references": [{"source_name": "mitre-attack", "external_id": attack_id}]})
    # a revoked technique: never a label
    objects.append({"type": "attack-pattern", "id": stix_id("attack-pattern", 99), "name": "Old Thing",
                    "revoked": True, "external_references": [{"source_name": "mitre-attack", "external_id": "T1999"}]})
    groups = []
    for i, name in enumerate(GROUPS):
        gid = stix_id("intrusion-set", 100 + i)
        groups.append((gid, name))
        objects.append({"type": "intrusion-set", "id": gid, "name": name, "aliases": [name, f"{name} Team"],
                        "description": f"{name} is a threat group that has targeted banks in Europe since 2015. "
                                       f"The group is attributed to a foreign intelligence service.",
                        "external_references": [{"source_name": "mitre-attack", "external_id": f"G{100 + i:04d}"}]})
    for technique, phrases in BEHAVIOUR.items():
        for j, phrase in enumerate(phrases):
            for gid, name in groups[j % 3: j % 3 + 3]:
                n += 1
                objects.append({
                    "type": "relationship", "id": stix_id("relationship", 1000 + n), "relationship_type": "uses",
                    "source_ref": gid, "target_ref": ids[technique], "created": f"2020-0{1 + j}-01T00:00:00.000Z",
                    "description": f"[{name}](https://attack.mitre.org/groups/G0001) {phrase}, "
                                   f"{name} Team said.(Citation: Vendor {n} 2020)"})
    # a deprecated relationship: never an example
    objects.append({"type": "relationship", "id": stix_id("relationship", 9999), "relationship_type": "uses",
                    "source_ref": groups[0][0], "target_ref": ids["T1005"], "x_mitre_deprecated": True,
                    "description": "DEPRECATED text"})
    if extra_phrase:
        objects.append({"type": "relationship", "id": stix_id("relationship", 8888), "relationship_type": "uses",
                        "source_ref": groups[0][0], "target_ref": ids["T1113"], "description": extra_phrase})
    return {"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001", "spec_version": "2.0",
            "objects": objects}


def write(path: Path, bundle: dict) -> Path:
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(json.dumps(bundle).encode()))
    else:
        path.write_text(json.dumps(bundle))
    return path


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("attack") / "enterprise-attack-test.json.gz", make_bundle())


@pytest.fixture(scope="module")
def recognizer(bundle) -> TechniqueRecognizer:
    corpus = read_corpus(bundle)
    texts, labels, groups = training_set(corpus)
    return TechniqueRecognizer(threshold=0.3, calibration_fraction=0.25).fit(texts, labels, groups,
                                                                             names=corpus.techniques)


def test_corpus_strips_citations_and_links_and_masks_names(bundle):
    corpus = read_corpus(bundle)
    assert len(corpus.examples) == 5 * 4 * 3  # the deprecated relationship is not an example
    assert set(corpus.techniques) == set(TECHNIQUES)  # the revoked T1999 is not a technique
    assert corpus.techniques["T1566.001"] == "Phishing: Spearphishing Attachment"
    text = corpus.examples[0].text
    assert "Citation" not in text and "attack.mitre.org" not in text and "Team" not in text
    assert text.startswith(MASK) and text.count(MASK) == 2
    assert not any(g in e.text for e in corpus.examples + corpus.negatives for g in GROUPS)
    assert {e.technique for e in corpus.negatives} == {NO_TECHNIQUE}
    assert any("targeted banks" in e.text for e in corpus.negatives)
    assert clean("[X](https://example.org/a) <code>cmd.exe</code> (Citation: Y)") == "X cmd.exe"


def test_technique_descriptions_are_texts_and_procedure_examples_keep_their_report(bundle):
    corpus = read_corpus(bundle)
    texts, labels, groups = training_set(corpus)
    # every description sentence is a text of its own, besides the technique's name text
    assert ("Adversaries may abuse PowerShell commands and scripts for execution.", "T1059.001") in zip(texts, labels)
    assert ("Command and Scripting Interpreter: PowerShell. Adversaries may abuse PowerShell commands and "
            "scripts for execution.", "T1059.001") in zip(texts, labels)
    # a procedure example's group is the report it cites; any other text is its own group
    assert groups[0] == corpus.examples[0].origin and groups[0].startswith("(Citation: Vendor ")
    assert len(set(groups[:len(corpus.examples)])) == len(corpus.examples)  # one report each here
    assert groups[len(corpus.examples):] == texts[len(corpus.examples):]


def test_calibration_holds_out_whole_groups_the_same_way_every_time():
    model = TechniqueRecognizer(calibration_fraction=0.3)
    held = [model._held_out(f"(Citation: Report {i})") for i in range(3000)]
    assert 0.27 < sum(held) / len(held) < 0.33
    assert held == [TechniqueRecognizer(calibration_fraction=0.3)._held_out(f"(Citation: Report {i})")
                    for i in range(3000)]
    assert held != [TechniqueRecognizer(calibration_fraction=0.3, random_state=1)._held_out(
        f"(Citation: Report {i})") for i in range(3000)]


def test_model_recognises_paraphrased_behaviour(recognizer):
    ranked = recognizer.rank(["The attackers ran obfuscated PowerShell scripts on the servers.",
                              "They took screenshots of the desktop of each user."], k=3)
    assert ranked[0][0][0] == "T1059.001" and ranked[1][0][0] == "T1113"
    assert all(0 <= s <= 1 for row in ranked for _, s in row)
    assert ranked[0][0][1] > ranked[0][1][1]  # best first
    hits = recognizer.predict(["The attackers ran obfuscated PowerShell scripts on the servers."])
    assert hits and hits[0].technique == "T1059.001"


def test_exact_ids_and_names(recognizer):
    hits = {h.technique: h for h in recognizer.predict([
        "The actor used T1005 and T9999 (unknown) against the bank.",
        "Victims received a spearphishing attachment.",
        "The proxy server of the firm was down."])}
    assert hits["T1005"].method == "id" and hits["T1005"].score == 1.0
    assert hits["T1005"].sentence.startswith("The actor used T1005")
    assert "T9999" not in hits
    assert hits["T1566.001"].method == "name" and hits["T1566.001"].name == "Phishing: Spearphishing Attachment"
    # "Proxy" is an everyday word: never a name match (the model may still find it)
    assert "T1090" not in hits or hits["T1090"].method == "model"


def test_name_patterns_accept_full_names_plurals_and_hyphens():
    patterns = name_patterns({"T1566": "Phishing", "T1566.001": "Phishing: Spearphishing Attachment",
                              "T1090": "Proxy", "T1078.003": "Valid Accounts: Local Accounts",
                              "T1136.001": "Create Account: Local Accounts"})

    def named(text: str) -> set[tuple[str, ...]]:
        return {owners for owners, pattern in patterns if pattern.search(text)}
    assert named("two spear-phishing attachments") == {("T1566.001",)}
    assert ("T1566.001",) in named("Phishing: Spearphishing Attachment")
    assert named("a phishing e-mail") == {("T1566",)} and named("the proxy") == set()
    # a bare name two techniques share names both; the full name one
    assert named("local accounts") == {("T1078.003", "T1136.001")}
    assert named("Valid Accounts: Local Accounts") == {("T1078.003",), ("T1078.003", "T1136.001")}


def test_predict_keeps_one_hit_per_technique_best_sentence_first(recognizer):
    sentences = ["They took screenshots.", "They took screenshots of the victim desktop every minute.",
                 "The weather in Paris was fine."]
    hits = recognizer.predict(sentences)
    assert len({h.technique for h in hits}) == len(hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.score >= recognizer.threshold for h in hits)
    recognizer.threshold = 1.01
    try:
        assert recognizer.predict(sentences) == []
    finally:
        recognizer.threshold = 0.3


def test_training_is_deterministic(bundle, recognizer):
    corpus = read_corpus(bundle)
    again = TechniqueRecognizer(threshold=0.3, calibration_fraction=0.25).fit(*training_set(corpus),
                                                                               names=corpus.techniques)
    assert np.array_equal(again.coef_, recognizer.coef_)
    assert again.rank(["stole files"], 2) == recognizer.rank(["stole files"], 2)


def test_cache_is_reused_and_rebuilt_when_the_bundle_changes(tmp_path):
    bundle = write(tmp_path / "enterprise-attack-x.json", make_bundle())
    cache, messages = tmp_path / "cache", []
    first = recognizer_for(bundle, cache, progress=messages.append, reports=None)
    assert any("learning" in m for m in messages) and model_path(bundle, cache).exists()
    messages.clear()
    again = recognizer_for(bundle, cache, progress=messages.append, reports=None)
    assert messages == [] and np.array_equal(again.sentence_model.coef_, first.sentence_model.coef_)
    old = model_path(bundle, cache)
    write(bundle, make_bundle("It took screenshots with a custom screen grabber."))
    rebuilt = recognizer_for(bundle, cache, progress=messages.append, reports=None)
    assert model_path(bundle, cache) != old and any("learning" in m for m in messages)
    rebuilt, first = rebuilt.sentence_model, first.sentence_model
    assert len(rebuilt.coef_[0]) != len(first.coef_[0]) or not np.array_equal(rebuilt.coef_, first.coef_)
    model_path(bundle, cache).write_bytes(b"not a pickle")  # a damaged cache file is rebuilt
    messages.clear()
    recognizer_for(bundle, cache, progress=messages.append, reports=None)
    assert any("unreadable" in m for m in messages)


def test_a_file_that_is_not_an_attack_bundle_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"type": "bundle", "objects": []}))
    with pytest.raises(ValidationError, match="no ATT&CK techniques"):
        recognizer_for(path, tmp_path / "cache", reports=None)
    path.write_text("[1, 2")
    with pytest.raises(ValidationError, match="invalid JSON"):
        recognizer_for(path, tmp_path / "cache", reports=None)


def test_find_attack_bundle_prefers_the_enterprise_download(tmp_path):
    settings = load_settings({"ATTRIB_HOME": str(tmp_path)})
    assert find_attack_bundle(settings) is None
    directory = tmp_path / "cache" / "attack"
    directory.mkdir(parents=True)
    (directory / "ics-attack-15.1.json").write_text("{}")
    (directory / "enterprise-attack-latest.json").write_text("{}")
    (directory / "enterprise-attack-latest.json.meta.json").write_text("{}")
    assert find_attack_bundle(settings) == directory / "enterprise-attack-latest.json"


def test_a_shared_name_goes_to_the_technique_with_more_examples(bundle):
    corpus = read_corpus(bundle)
    texts, labels, groups = training_set(corpus)
    # a second technique named like T1113's bare name, with a single text
    names = {**corpus.techniques, "T1999.001": "Other: Screen Capture"}
    model = TechniqueRecognizer(threshold=0.3, calibration_fraction=0.25).fit(
        texts + ["Other screen capture thing."], labels + ["T1999.001"], groups + ["other"], names=names)
    hits = {h.technique: h for h in model.predict(["It used Screen Capture."])}
    assert hits["T1113"].method == "name"
    assert "T1999.001" not in hits or hits["T1999.001"].method == "model"
