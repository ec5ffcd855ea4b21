"""Offline study hours (学时认定 / 学时申报): what a recorded training or a cadre's claim must say, and which
plan year its hours count for.

- A training (or claim) has a name, a day and a number of hours: more than 0 and at most ``MAX_HOURS``
  (a course of several days is one entry with all its hours; more than that is taken for a typo).
- Its hours count for the plan year whose period holds its day; a day outside every period counts for
  the plan of its calendar year, where there is one. A day still to come counts for nothing yet.
- Days are written as people write them: 2026-05-10, 2026/5/10, 2026.5.10 or 2026年5月10日.

How many of them count towards a cadre's total is the plan's ``offline: {max}`` (see ``rules.hours``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable

from rules.plan_model import Plan, hours_text
from rules.wording import Sentence

#: The most hours one training or claim may carry.
MAX_HOURS = 100.0
NAME_MAX = 255  # characters of a training's name, a claim's title, an organiser
DESCRIPTION_MAX = 2000  # characters of a claim's description
REASON_MAX = 2000  # characters of a decision's reason

_DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_EMPLOYEE_NO = re.compile(r"^[A-Za-z0-9_.@-]{1,32}$")


def parse_day(text: str) -> dt.date | Sentence:
    """The day ``text`` names, or why it names none."""
    written = unicodedata.normalize("NFKC", text).strip()
    found = _DAY.match(written)
    if found is None:
        return Sentence('"%(value)s" is not a date (like 2026-05-10)', value=text)
    try:
        return dt.date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return Sentence('"%(value)s" is not a date of the calendar', value=text)


def parse_hours(text: str) -> float | Sentence:
    """The hours ``text`` says (full-width digits too), or why they cannot count."""
    written = unicodedata.normalize("NFKC", text).strip()
    if not _NUMBER.match(written):
        return Sentence('"%(value)s" is not a number of hours (like 4 or 1.5)', value=text)
    return check_hours(float(written)) or float(written)


def check_hours(hours: float) -> Sentence | None:
    """Why ``hours`` cannot be one training's or claim's hours; None when they can."""
    if not 0 < hours <= MAX_HOURS:
        return Sentence("hours must be more than 0 and at most %(max)s (found %(value)s)",
                        max=hours_text(MAX_HOURS), value=hours_text(hours))
    return None


def check_text(text: str, limit: int, *, required: bool = True) -> Sentence | None:
    """Why a name, title or description cannot be taken as written; None when it can."""
    if required and not text.strip():
        return Sentence("a value is required here")
    if len(text) > limit:
        return Sentence("at most %(limit)s characters (found %(length)s)", limit=limit, length=len(text))
    return None


def is_employee_no(text: str) -> bool:
    """Whether ``text`` has the form of an employee number (as the roster's usernames take them)."""
    return bool(_EMPLOYEE_NO.match(text))


def plan_year_of(day: dt.date, plans: Iterable[Plan]) -> int | None:
    """The plan year offline hours of ``day`` count for: the newest plan whose period holds the day,
    else the plan of the day's calendar year; None when no plan takes them."""
    known = list(plans)
    within = [plan.year for plan in known if day in plan.period]
    if within:
        return max(within)
    return next((plan.year for plan in known if plan.year == day.year), None)


def day_problem(day: dt.date, today: dt.date, plans: Iterable[Plan]) -> Sentence | None:
    """Why offline hours of ``day`` cannot count (yet); None when they count for some plan year."""
    if day > today:
        return Sentence("%(day)s is still to come: only study that took place counts", day=day.isoformat())
    if plan_year_of(day, plans) is None:
        return Sentence("no plan year takes hours of %(day)s: no applied plan's period holds it, and no plan "
                        "is of %(year)s", day=day.isoformat(), year=day.year)
    return None
