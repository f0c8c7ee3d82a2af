"""The Workbench's "as of a date" control in the app's own words: its default (the incident's
first-seen date: what was known when it began) and what is wrong with a typed date."""
from __future__ import annotations

import datetime as dt

from graph.analysis.engine import normalise_as_of
from graph.errors import AttribError
from graph.dates import normalise_date

FORMAT_HINT = "Type a date as YYYY-MM-DD (or YYYY-MM, YYYY) and press Enter."
# One rule for partial dates, said where they are used: an as-of date counts to the end of what
# it names (as `attrib --as-of` does), an incident starts at the beginning of its first-seen period.
AS_OF_HELP = ("What was known by the end of that day. A year or a month counts to its end (2021 = "
              "2021-12-31, 2021-03 = 2021-03-31), so everything dated in it is known. Starts at the "
              "incident's first-seen date; a first seen given as a year or a month starts on its first "
              "day (2021 = 2021-01-01).")


def default_as_of(first_seen: str | None) -> str:
    """The incident's first-seen day (a partial date's first day); today for an undated one."""
    return normalise_date(first_seen) or dt.date.today().isoformat()


def check_as_of(text: str, first_seen: str | None) -> tuple[str | None, str | None]:
    """(the as-of date to score with, None) or (None, what is wrong, in words for the page)."""
    text = (text or "").strip()
    if not text:
        return None, f"No date given. {FORMAT_HINT}"
    try:
        as_of = normalise_as_of(text)
    except AttribError:
        return None, f"'{text}' is not a date. {FORMAT_HINT}"
    start = normalise_date(first_seen)
    if start and as_of < start:
        seen = first_seen if start == first_seen else f"{first_seen} (from {start})"
        return None, (f"This incident was first seen {seen}: on {as_of} it was not known yet, so "
                      f"nothing about it can be scored. Pick {start} or later.")
    return as_of, None


def as_of_reading(text: str, as_of: str) -> str | None:
    """How a partial date was read ("'2021' counts to its end: 2021-12-31"), None for a full one."""
    text = (text or "").strip()
    return None if text == as_of else f"'{text}' counts to its end: as of {as_of}."


def not_scored_reason(claim: dict, as_of: str | None) -> str:
    """Why the engine left a claim out of its assessment (the claims table says it in words)."""
    date = claim.get("date")
    if not claim.get("actor_key"):
        return "not scored: it names no actor"
    if as_of and date and str(date)[:10] > as_of:
        return f"not scored: made {date}, after the as-of date {as_of}"
    if as_of:
        return f"not scored: the actor it names was not yet known on {as_of}"
    return "not scored: loaded after these scores were computed (reload the page)"
