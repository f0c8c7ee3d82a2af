"""Techniques of a whole report: its parts (tables, mitigations, IOC blocks, rules) and the document
decision learnt from annotated reports. A tiny synthetic bundle and corpus, all text written here."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.errors import ValidationError
from loaders.reports import draft_report, structure
from loaders.reports.report_model import per_document_f1
from loaders.reports.model_cache import model_path, recognizer_for
from loaders.reports.ttp_corpora import corpora_dir, read_reports
from tests.unit.test_techniques import BEHAVIOUR, make_bundle, write

# A ransomware advisory in the shape of CISA's: prose, its own ATT&CK table, a mitigation list that
# cites technique IDs ("Deny ..." is advice, not a denial), an IOC block and a YARA rule.
ADVISORY = """Northwind Ransomware: How the Intrusions Unfold

Northwind affiliates gained access with emails carrying a macro document, then ran encoded PowerShell \
commands to fetch their tools.

MITRE ATT&CK techniques
Spearphishing Attachment | T1566.001
PowerShell | T1059.001

Mitigations
Deny outbound connections to unapproved proxy services (T1090).
Restrict PowerShell to signed scripts (T1059.001).
Limit which accounts may take screenshots of server consoles.

Indicators of compromise
screen-capture.exe 5f4dcc3b5aa765d61d8327deb882cf99
hxxp://northwind-update[.]com/payload.bin

rule Northwind_Loader {
strings: $a = "Screen Capture" ascii
condition: $a
}
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("bundle") / "enterprise-attack-x.json", make_bundle())


@pytest.fixture(scope="module")
def attack_alone(bundle, tmp_path_factory):
    return recognizer_for(bundle, tmp_path_factory.mktemp("cache"), reports=None)


def selected(draft) -> dict[str, str]:
    return {i.value: i.method for i in draft.items if i.kind == "technique" and i.selected}


def test_parts_of_a_report():
    lines = ["Mitigations", "Deny outbound connections to unapproved proxy services (T1090).",
             "Figure 2: The loader's configuration", "Execution", "The loader ran PowerShell.",
             "Indicators of compromise", "evil.example.com", "5f4dcc3b5aa765d61d8327deb882cf99 1.2.3.4",
             'rule X { strings: $a = "x" condition: $a }', "Restrict RDP to VPN users."]
    assert structure.kinds(lines) == ["heading", "advice", "caption", "heading", None, "heading",
                                      "indicators", "indicators", "rule", "indicators"]
    assert structure.kinds(["Restrict RDP to VPN users.", "The actor used RDP."]) == ["advice", None]


def test_advisory_table_and_mitigation_ids_are_selected_ioc_and_rule_names_are_not(attack_alone):
    draft = draft_report(ADVISORY, recognizer=attack_alone, date="2024-05-01")
    chosen = selected(draft)
    # the table's IDs; T1090 only in the mitigation list: the report cites it, and "Deny" is advice
    assert {"T1566.001", "T1059.001", "T1090"} <= set(chosen)
    assert all("denial" not in m for m in chosen.values())
    # "screen-capture.exe" in the IOC block and "Screen Capture" in the YARA rule name no behaviour,
    # nor does the advice about screenshots
    assert "T1113" not in {i.value for i in draft.items if i.kind == "technique"}


def test_without_corpora_the_model_says_so(bundle, tmp_path):
    messages = []
    model = recognizer_for(bundle, tmp_path / "cache", progress=messages.append, reports=None)
    assert model.trained_on == "ATT&CK alone" and any("no annotated report corpora" in m for m in messages)
    assert model_path(bundle, tmp_path / "cache").exists()


def corpus(n: int) -> list[dict]:
    """n reports written here: each tells three of the behaviours (one sentence each, one told
    twice), with filler sentences that describe no technique."""
    techniques = sorted(BEHAVIOUR)
    filler = ["The campaign was first seen in spring.", "Our researchers shared the findings with partners.",
              "The victims were mostly small firms.", "We continue to monitor the group."]
    docs = []
    for d in range(n):
        chosen = [techniques[(d + k) % len(techniques)] for k in range(3)]
        sentences = [{"text": filler[d % 4], "techniques": []}]
        for k, t in enumerate(chosen):
            phrase = BEHAVIOUR[t][(d + k) % len(BEHAVIOUR[t])]
            sentences.append({"text": f"The attackers {phrase}.", "techniques": [t]})
            sentences.append({"text": filler[(d + k + 1) % 4], "techniques": []})
        sentences.append({"text": f"Later they {BEHAVIOUR[chosen[0]][(d + 2) % 4]}.", "techniques": [chosen[0]]})
        docs.append({"title": f"report {d}", "sentences": sentences})
    return docs


def test_learns_from_annotated_reports_with_progress(bundle, tmp_path):
    folder = tmp_path / "ttp-reports"
    folder.mkdir()
    (folder / "mini-a.json").write_text(json.dumps(corpus(15)))
    messages = []
    model = recognizer_for(bundle, tmp_path / "cache", progress=messages.append, reports=folder)
    assert "annotated reports: mini-a (15 reports)" in model.trained_on
    assert any("fold 3 of 3" in m for m in messages) and any("document threshold" in m for m in messages)
    assert model_path(bundle, tmp_path / "cache", [folder / "mini-a.json"]).exists()
    report = ["A new report on an old foe.", "The attackers collected files from the local hard drive.",
              "Then they took screenshots of the victim desktop.", "We continue to monitor the group."]
    assert {h.technique for h in model.predict(report)} >= {"T1005", "T1113"}
    # the held-out folds of the training reports chose the threshold: their figures are kept
    assert 0 < model.validation_["f1"] <= 1 and model.validation_["documents"] == 15


def test_a_broken_corpus_is_refused_by_name(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"title": "x", "sentences": [{"text": 3}]}]))
    with pytest.raises(ValidationError, match="document 1.*sentence 1 needs a text"):
        read_reports(path)
    with pytest.raises(ValidationError, match="ATTRIB_TTP_REPORTS names no folder"):
        corpora_dir({"ATTRIB_TTP_REPORTS": str(tmp_path / "missing")})


def test_per_document_f1():
    assert per_document_f1([{"T1", "T2"}, set()], [{"T1"}, {"T3"}]) == \
        {"f1": round((2 * 0.5 * 1 / 1.5 + 0) / 2, 3), "precision": 0.25, "recall": 0.5, "documents": 2}
