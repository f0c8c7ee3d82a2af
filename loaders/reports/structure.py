"""What part of a report a sentence is: behaviour, or one of the parts that describe none.

`kinds(sentences)` gives each sentence of a report (in order) one of
- None: prose that may describe what the attackers did;
- "heading": a short line without a full stop (it names a section; it also starts one);
- "caption": a figure, table or screenshot caption ("Figure 3: ...");
- "indicators": a run of IOCs (hashes, URLs, domains, IP addresses make up most of its words),
  or any sentence of an "Indicators of compromise" / "IOCs" / appendix section;
- "rule": a line of a YARA or Sigma rule (`rule X {`, `strings:`, `condition:`, `logsource:`);
- "advice": a mitigation, recommendation or detection section's sentences, and imperative advice
  anywhere ("Restrict the use of RDP", "Deny remote access software ...").

A section starts at a heading and runs to the next heading. Technique IDs written anywhere but
in indicators and rules still count (a report's own ATT&CK table is a list of IDs); the model's
reading of a sentence counts only for behaviour.
"""
from __future__ import annotations

import re

from loaders.reports.indicators import DOMAIN, HASH, IPV4, URL
from loaders.reports.text import refang

CAPTION = re.compile(r"^\W*(?:figure|fig\.|table|image|screenshot|exhibit)\s*\d+\b", re.I)
RULE = re.compile(r"\brule\s+\w+\s*(?::[\w\s]+)?\{|^\s*(?:strings|condition|meta|logsource|detection|selection|"
                  r"falsepositives)\s*:|\$\w+\s*=\s*[\"{/]|\b(?:uint16|uint32)\(0\)|\bfilesize\s*<", re.I)
ADVICE_SECTION = re.compile(
    r"\b(?:mitigations?|recommendations?|recommended actions?|remediation|best practices|countermeasures|"
    r"how to (?:protect|defend|prevent|mitigate|stay safe)|prevention|protections?|hardening|"
    r"detections?|hunting|defensive measures|what (?:you|organi[sz]ations) (?:can|should) do)\b", re.I)
INDICATOR_SECTION = re.compile(r"\b(?:indicators? of compromise|iocs?|observables|file hashes|appendix)\b", re.I)
# Imperative advice: a sentence that opens with one of these verbs (after a bullet).
ADVICE_VERB = re.compile(
    r"^(?:[-*\u2022\u25cf]\s*|\d{1,2}[.)]\s*)?(?:implement|enable|disable|restrict|deny|block|ensure|require|"
    r"enforce|monitor|audit|update|patch|apply|consider|limit|review|install|keep|maintain|prioriti[sz]e|"
    r"segment|filter|remove|train|educate|backup|back up|store|configure|harden|avoid|prevent|do not|never)\b",
    re.I)
BULLET = re.compile(r"^(?:#+|[-*\u2022\u25cf]|\d{1,2}(?:\.\d{1,2})*[.)]?)\s+")
HEADING_WORDS = 10


def is_heading(sentence: str) -> bool:
    text = BULLET.sub("", sentence.strip().strip("*_ "))
    words = text.split()
    return 0 < len(words) <= HEADING_WORDS and not text.endswith((".", "!", "?", ",", ";", ":")) \
        and (text[0].isupper() or text[0].isdigit())


def _mostly_indicators(sentence: str) -> bool:
    words = refang(sentence).split()
    if len(words) < 1:
        return False
    found = sum(bool(URL.search(w) or HASH.search(w) or IPV4.search(w) or DOMAIN.fullmatch(w.strip(",;()[]")))
                for w in words)
    return found >= 1 and found >= 0.5 * len(words)


def kinds(sentences: list[str]) -> list[str | None]:
    """Each sentence's kind (see the module's docstring), in order."""
    out: list[str | None] = []
    section: str | None = None
    depth = 0  # open braces of a rule
    for sentence in sentences:
        if RULE.search(sentence) or depth > 0:
            depth = max(0, depth + sentence.count("{") - sentence.count("}"))
            out.append("rule")
        elif CAPTION.match(sentence):
            out.append("caption")
        elif _mostly_indicators(sentence):
            out.append("indicators")
        elif is_heading(sentence):
            section = "indicators" if INDICATOR_SECTION.search(sentence) else \
                "advice" if ADVICE_SECTION.search(sentence) else None
            out.append("heading")
        elif section is not None:
            out.append(section)
        elif ADVICE_VERB.match(sentence.strip()):
            out.append("advice")
        else:
            out.append(None)
    return out
