"""Moodle's report-builder date filter (``reportbuilder/classes/local/filters/date.php``), as 4.5 and 5.1
apply it, and the timestamp each date column of the "Course participants" source compares.

A filter's values are ``<id>_operator`` and, by operator, ``<id>_from`` / ``<id>_to`` (timestamps) or
``<id>_value`` / ``<id>_unit``; each is read as PHP's ``(int)`` reads it, with the same defaults (value 1,
unit day). What the SQL compares is the raw timestamp (a completion's, an access's), never the date the
viewer sees: a row without one (NULL) passes only "is empty" (``COALESCE(x, 0) = 0``). An operator
without its SQL (``any``, an unknown one, a range without bounds, "last 0 days") filters nothing.
Relative periods are computed from the site's clock in the server's timezone, as PHP's ``modify()``
does: a month back from 31 March is 3 March.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .db import Row
from .site import FakeSite

DATE_ANY, DATE_NOT_EMPTY, DATE_EMPTY, DATE_RANGE, DATE_LAST, DATE_CURRENT, DATE_NEXT = range(7)
DATE_PAST, DATE_FUTURE, DATE_BEFORE, DATE_AFTER = 7, 8, 9, 10
UNIT_HOUR, UNIT_DAY, UNIT_WEEK, UNIT_MONTH, UNIT_YEAR, UNIT_MINUTE = range(6)

#: A date test: whether a row whose field holds this timestamp (None: NULL) is kept.
DateTest = Callable[[Any], bool]
#: A date test on one row's course, enrolment method, enrolment and user (the last two None on a row
#: without a user): made without building the row, for thousands of enrolments a call.
Dated = Callable[[Row, Row | None, Row | None, Row | None], bool]
#: A course's rows of a table by user id (``reportsource.Reader.per_user``).
PerUser = Callable[[str, int, str], dict[Any, Row]]
_ENROLMENT_DATES = {"timecreated": "timecreated", "timestarted": "timestart", "timeended": "timeend"}


def php_int(value: Any) -> int:
    """``(int) $value`` for what ``json_decode`` gives: numbers, booleans, numeric text (its leading
    digits), anything else 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 2**63 else 0
    if isinstance(value, str):
        text = value.strip()
        digits = ""
        for index, char in enumerate(text):
            if char.isdigit() or (index == 0 and char in "+-"):
                digits += char
            else:
                break
        try:
            return int(digits)
        except ValueError:
            return 0
    return 0


def date_test(site: FakeSite, key: str, values: dict[str, Any]) -> DateTest | None:
    """The test the filter ``key`` applies with ``values``, or None where it filters nothing."""
    operator = php_int(values.get(f"{key}_operator", DATE_ANY))
    count = php_int(values.get(f"{key}_value", 1))
    unit = php_int(values.get(f"{key}_unit", UNIT_DAY))
    if operator == DATE_NOT_EMPTY:
        return lambda stamp: _number(stamp) != 0
    if operator == DATE_EMPTY:
        return lambda stamp: _number(stamp) == 0
    if operator == DATE_RANGE:
        start, end = php_int(values.get(f"{key}_from", 0)), php_int(values.get(f"{key}_to", 0))
        if start > 0 and end > 0:
            return lambda stamp: stamp is not None and start <= _number(stamp) <= end
        if start > 0:
            return lambda stamp: stamp is not None and _number(stamp) >= start
        if end > 0:
            return lambda stamp: stamp is not None and _number(stamp) < end
        return None
    if operator == DATE_BEFORE:
        before = relative_period(site, DATE_LAST, count, unit)[0]
        return lambda stamp: stamp is not None and _number(stamp) < before
    if operator == DATE_AFTER:
        after = relative_period(site, DATE_NEXT, count, unit)[1]
        return lambda stamp: stamp is not None and _number(stamp) > after
    if operator in (DATE_LAST, DATE_CURRENT, DATE_NEXT):
        if operator != DATE_CURRENT and count == 0:
            return None
        first, last = relative_period(site, operator, count, unit)
        return lambda stamp: stamp is not None and first <= _number(stamp) <= last
    if operator in (DATE_PAST, DATE_FUTURE):
        now = site.now()
        if operator == DATE_PAST:
            return lambda stamp: stamp is not None and _number(stamp) < now
        return lambda stamp: stamp is not None and _number(stamp) > now
    return None


def _number(stamp: Any) -> int:
    return php_int(stamp) if stamp is not None else 0


def server_timezone(site: FakeSite) -> ZoneInfo:
    """PHP's default timezone on a Moodle site: the site's ``timezone`` setting (UTC when unset)."""
    name = str(site.config.get("timezone") or "UTC")
    try:
        return ZoneInfo("UTC" if name == "99" else name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def relative_period(site: FakeSite, operator: int, count: int, unit: int) -> tuple[int, int]:
    """``date::get_relative_timeframe``: (start, end) timestamps of "the last / current / next
    ``count`` units" around the site's now."""
    zone = server_timezone(site)
    now = datetime.fromtimestamp(site.now(), UTC).astimezone(zone)
    start = end = now
    if unit in (UNIT_MINUTE, UNIT_HOUR):
        step = timedelta(minutes=count) if unit == UNIT_MINUTE else timedelta(hours=count)
        if operator == DATE_CURRENT:
            start = (now.replace(second=0, microsecond=0) if unit == UNIT_MINUTE
                     else now.replace(minute=0, second=0, microsecond=0))
            end = start.replace(second=59) if unit == UNIT_MINUTE else start.replace(minute=59, second=59)
        elif operator == DATE_LAST:
            start = (now.astimezone(UTC) - step).astimezone(zone)
        elif operator == DATE_NEXT:
            end = (now.astimezone(UTC) + step).astimezone(zone)
    elif unit == UNIT_WEEK and operator == DATE_CURRENT:
        first_weekday = php_int(site.config.get("calendar_startwday", 1)) % 7  # 0 Sunday ... 6 Saturday
        back = (now.isoweekday() % 7 - first_weekday) % 7
        start = _wall(zone, (now - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0))
        end = _wall(zone, (start + timedelta(days=6)).replace(hour=23, minute=59, second=59))
    elif unit in (UNIT_DAY, UNIT_WEEK, UNIT_MONTH, UNIT_YEAR):
        if operator == DATE_CURRENT:
            if unit == UNIT_DAY:
                first, last = now.date(), now.date()
            elif unit == UNIT_MONTH:
                first = now.date().replace(day=1)
                last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
            else:
                first, last = now.date().replace(month=1, day=1), now.date().replace(month=12, day=31)
            start = _wall(zone, datetime(first.year, first.month, first.day))
            end = _wall(zone, datetime(last.year, last.month, last.day, 23, 59, 59))
        elif operator in (DATE_LAST, DATE_NEXT):
            sign = -1 if operator == DATE_LAST else 1
            moved = _calendar_shift(now.replace(tzinfo=None), sign * count, unit)
            if operator == DATE_LAST:
                start = _wall(zone, moved)
            else:
                end = _wall(zone, moved)
    return int(start.timestamp()), int(end.timestamp())


def _wall(zone: ZoneInfo, local: datetime) -> datetime:
    """A wall-clock time in ``zone`` (naive ``local``) as an aware datetime."""
    return local.replace(tzinfo=zone)


def _calendar_shift(local: datetime, amount: int, unit: int) -> datetime:
    """``modify("+N day|week|month|year")`` on a wall-clock time: a day of the month past the month's
    end runs over into the next month, as PHP's does."""
    if unit == UNIT_DAY:
        return local + timedelta(days=amount)
    if unit == UNIT_WEEK:
        return local + timedelta(weeks=amount)
    months = amount * (12 if unit == UNIT_YEAR else 1)
    index = local.year * 12 + local.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    length = calendar.monthrange(year, month)[1]
    overflow = max(0, local.day - length)
    return local.replace(year=year, month=month, day=min(local.day, length)) + timedelta(days=overflow)


def dated_test(per_user: PerUser, key: str, test: DateTest) -> Dated:
    """The date filter ``test`` on the timestamp its column's SQL reads (NULL where the row has none)."""
    entity, _, field = key.partition(":")
    if entity in ("completion", "access"):
        table, by, source = (("user_lastaccess", "courseid", "timeaccess") if entity == "access"
                             else ("course_completions", "course", field))

        def joined(course: Row, _enrol: Row | None, _ue: Row | None, user: Row | None) -> bool:
            row = None if user is None else per_user(table, course["id"], by).get(user["id"])
            return test(None if row is None else row.get(source))
        return joined
    if entity == "enrolment":
        column = _ENROLMENT_DATES[field]

        def enrolment(_course: Row, _enrol: Row | None, ue: Row | None, _user: Row | None) -> bool:
            if ue is None:
                return test(None)
            # "time started" is the enrolment's start, or its creation where it has none
            return test(ue.get(column) or (ue.get("timecreated") if field == "timestarted" else None))
        return enrolment
    if entity == "enrol":
        column = "enrolstartdate" if field == "startdate" else "enrolenddate"
        return lambda _course, enrol, _ue, _user: test(None if enrol is None else enrol.get(column))
    if entity == "user":
        return lambda _course, _enrol, _ue, user: test(None if user is None else user.get(field))
    if entity == "course":
        return lambda course, _enrol, _ue, _user: test(course.get(field))
    return lambda _course, _enrol, _ue, _user: test(None)  # groups: the fake keeps none
