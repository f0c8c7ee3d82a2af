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
BACKGROUND = re.compile(r"\bhad (?:previously|earlier|also|already)\b|\bearlier this year\b|\blast year\b|"
                        r"\bin (?:previous|earlier|past) (?:campaigns|attacks|operations|years)\b|"
                        r"\b(?:has|have) (?:long )?been (?:accused|blamed) of\b", re.I)


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


def is_background(sentence: str, report_date: str | None) -> bool:
    """A sentence about earlier events: wording such as "had previously", or (when the report's
    date is known) a year stated at least two years before it."""
    if BACKGROUND.search(sentence):
        return True
    if not report_date:
        return False
    years = [int(d[:4]) for d in dates_in(sentence)]
    return bool(years) and max(years) <= int(report_date[:4]) - 2


def recent(sentence: str) -> bool:
    return bool(RECENT.search(sentence))
