"""Origin and motive hints read from a report's sentences (loaders/reports/hints.py). The
sentences are written for this test."""
from __future__ import annotations

import pytest

from loaders.reports.hints import hints_in


@pytest.mark.parametrize("sentence,values", [
    ("Analysts tie the intrusions to a Pakistan-linked threat actor.", {"origin:PK"}),
    ("The North Korea-nexus operators reused the loader.", {"origin:KP"}),
    ("Chinese state-sponsored hackers breached the ministry.", {"origin:CN", "origin:state"}),
    ("Iranian hackers sent the lures.", {"origin:IR"}),
    ("Pro-Russian hacktivists claimed the outage.", {"origin:RU", "motive:hacktivism"}),
    ("A financially motivated crew deployed ransomware.", {"motive:financial"}),
    ("The cluster ran a cyber espionage campaign.", {"motive:espionage"}),
    ("The Iran-based operators reused the implant.", {"origin:IR"}),
])
def test_hints_in_a_sentence(sentence, values):
    found = hints_in(sentence)
    assert {h.value for h in found} == values
    assert all(h.sentence == sentence for h in found)


@pytest.mark.parametrize("sentence", [
    "Attackers targeted Japanese firms and users in Germany.",     # victims, not the actor's origin
    "The lure mentioned Microsoft-linked domains.",                 # not a country
    "North Korea denied the accusation.",                           # a party, no hint words
    "Several New Zealand-based enterprises reported outages.",      # "-based" says where the victims sit
])
def test_no_hint(sentence):
    assert hints_in(sentence) == []
