"""Dates a report states ("27 November 2020", "November 2020", "2020-11-27", "in 2020"), relative
spans ("in the past few weeks"), and which sentences tell earlier events (background)."""
from __future__ import annotations

import re
from datetime import date

_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MON = r"(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
_YEAR = r"((?:19[89]|20[0-4])\d)"
DATE_PATTERNS = [
    (re.compile(r"(?<!\d)" + _YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?!\d)"), "ymd"),
    (re.compile(r"\b(0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)? (?:of )?" + _MON + r",? " + _YEAR + r"\b"), "dmy"),
    (re.compile(r"\b" + _MON + r" (0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?,? " + _YEAR + r"\b"), "mdy"),
    (re.compile(r"\b" + _MON + r",? " + _YEAR + r"\b"), "my"),
    (re.compile(r"(?<![\d$€£.,-])" + _YEAR + r"(?![\d]|,\d|\.\d)"), "y"),
]
# Relative spans that place the activity just before the report: the report's month.
RECENT = re.compile(r"\b(?:in |over )?(?:the )?(?:past|last|recent) (?:few |several |two |three )?weeks?\b|"
                    r"\b(?:earlier |late |early )?this (?:month|week)\b|\brecent weeks\b|\blast week\b", re.I)
# Wording that tells earlier events, not the reported activity.
BACKGROUND = re.compile(r"\bhad (?:previously|earlier|also|already)\b|"
                        r"\bin (?:previous|earlier|past) (?:campaigns|attacks|operations|years)\b|"
                        r"\b(?:has|have) (?:long )?been (?:accused|blamed) of\b", re.I)
# Relative time that places a sentence earlier ("earlier this year", "last year"): background,
# unless the sentence is about the text's own incident (attribution news tells a past incident).
EARLIER_TIME = re.compile(r"\bearlier this year\b|\blast year\b", re.I)


def dates_in(sentence: str) -> list[str]:
    """Every date the sentence states, as YYYY, YYYY-MM or YYYY-MM-DD, in order."""
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern, form in DATE_PATTERNS:
        for m in pattern.finditer(sentence):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            value = _value(m, form)
            if value:
                taken.append(m.span())
                found.append((m.start(), value))
    return [v for _, v in sorted(found)]


def _value(m: re.Match, form: str) -> str | None:
    g = m.groups()
    try:
        if form == "ymd":
            return date(int(g[0]), int(g[1]), int(g[2])).isoformat()
        if form == "dmy":
            return date(int(g[2]), _MONTHS[g[1].lower()], int(g[0])).isoformat()
        if form == "mdy":
            return date(int(g[2]), _MONTHS[g[0].lower()], int(g[1])).isoformat()
        if form == "my":
            return f"{int(g[1]):04d}-{_MONTHS[g[0].lower()]:02d}"
        return g[0]
    except ValueError:
        return None


def is_background(sentence: str, report_date: str | None, subject: frozenset[str] = frozenset()) -> bool:
    """A sentence about earlier events: wording such as "had previously", or, unless it names or
    refers to the text's own incident (`subject`, "the attack"), "last year" or (when the
    report's date is known) a year stated at least two years before it."""
    if BACKGROUND.search(sentence):
        return True
    if mentions_subject(sentence, subject):
        return False
    if EARLIER_TIME.search(sentence):
        return True
    if not report_date:
        return False
    years = [int(d[:4]) for d in dates_in(sentence)]
    return bool(years) and max(years) <= int(report_date[:4]) - 2


def recent(sentence: str) -> bool:
    return bool(RECENT.search(sentence))


# A tool's or an actor's own history, not the incident's dates ("first seen in 2015", "active since").
HISTORY = re.compile(r"\b(?:first (?:seen|spotted|observed|discovered|documented|identified|reported)|"
                     r"(?:active|operating|operational|around|known|tracked|in use) since|since at least|"
                     r"dating back to|dates back to|founded in|created in|emerged in|has been (?:active|used|around))\b", re.I)
# The incident the text is about, referred to without its name.
_THIS_INCIDENT = re.compile(r"\b(?:the|this|these|that|last year's|the recent|the latest)\s+(?:[\w-]+\s+){0,2}?"
                            r"(?:attacks?|hacks?|breach(?:es)?|intrusions?|theft|heist|incident|campaign|operation|"
                            r"cyber-?attacks?|compromise|outage|blackout|actions)\b", re.I)
_MONTH_ONLY = re.compile(r"\b(?:in|since|last|early|late|by)\s+" + _MON + r"(?![\w.]*\s*,?\s*(?:\d|19|20))", re.I)
_TITLE_WORD = re.compile(r"\b[A-Z][\w&'-]*[A-Za-z0-9]\b")


def subject_terms(title: str | None, body: list, gazetteer=None) -> frozenset[str]:
    """Names of the incident the text is about: the title's (else the first sentence's) capitalised
    words that the body also uses as names ("Sony", "NotPetya"), no country, state body or month."""
    from loaders.reports.parties import GOVERNMENT_BODIES
    from loaders.reports.places import country_mentions

    head = title or (body[0].text if body else "")
    rest = " ".join(s.text for s in body if s.text != head)
    terms = set()
    countries = {m.text for m in country_mentions(head, capitals=True)}
    for m in _TITLE_WORD.finditer(head):
        w = m.group(0)
        if (w in countries or w.lower() in GOVERNMENT_BODIES or w.lower() in _MONTHS or len(w) < 3
                or any(w in c for c in countries)):
            continue
        if re.search(r"(?<![.!?]\s)(?<!^)\b" + re.escape(w) + r"\b", rest):
            terms.add(w)
    return frozenset(terms)


def mentions_subject(sentence: str, subject: frozenset[str]) -> bool:
    """The sentence is about the text's own incident: it names it or refers to it ("the attack")."""
    return bool(_THIS_INCIDENT.search(sentence)) or any(re.search(r"\b" + re.escape(t) + r"\b", sentence)
                                                        for t in subject)


def about_other_incident(sentence: str, report_date: str | None, subject: frozenset[str]) -> bool:
    """A sentence about another incident: an actor's record ("has been accused of", "previously",
    "over the years") or an earlier date ("In May, ..." in a December report), unless it names the
    text's own incident."""
    from loaders.reports.claims import ACTOR_RECORD, EARLIER

    named = any(re.search(r"\b" + re.escape(t) + r"\b", sentence) for t in subject)
    if ACTOR_RECORD.search(sentence) and not named:
        return True
    if named or _THIS_INCIDENT.search(sentence):
        return False
    if EARLIER.search(sentence):
        return True
    if not report_date or len(report_date) < 7:
        return False
    month = int(report_date[5:7])
    for m in _MONTH_ONLY.finditer(sentence):
        if _MONTHS[m.group(1).lower().rstrip(".")] < month - 1:
            return True
    return False
