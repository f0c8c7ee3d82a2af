"""The Workbench's "as of a date" control in the app's own words: its default (the incident's
first-seen date: what was known when it began) and what is wrong with a typed date."""
from __future__ import annotations

import datetime as dt

from graph.analysis.engine import normalise_as_of
from graph.errors import AttribError
from graph.dates import normalise_date

FORMAT_HINT = "Type a date as YYYY-MM-DD (or YYYY-MM, YYYY) and press Enter."


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
        return None, (f"This incident was first seen {first_seen}: on {as_of} it was not known yet, so "
                      f"nothing about it can be scored. Pick {start} or later.")
    return as_of, None


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
