"""Dates as records write them: YYYY, YYYY-MM, YYYY-MM-DD (or an ISO timestamp), normalised to a day.

Standard library only: the CLI checks a `--date` with it before any heavy module loads, and both the
loaders and the engine use it.
"""
from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def normalise_date(value: Any, end: bool = False) -> str | None:
    """'2020', '2020-11', '2020-11-27', a date, or an ISO timestamp -> 'YYYY-MM-DD'; None if not a date.

    A partial date means its first day, or with `end` its last day (for last_seen).
    """
    if isinstance(value, date):
        return value.isoformat()[:10]
    if not isinstance(value, (str, int)):
        return None
    m = DATE.match(str(value).strip())
    if not m:
        return None
    year = int(m.group(1))
    month = int(m.group(2) or (12 if end else 1))
    day = int(m.group(3)) if m.group(3) else (calendar.monthrange(year, month)[1] if end and 1 <= month <= 12 else 1)
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None
