"""Keeping what a harvest saw of each cadre's course: only what changed is written, and the first
completion is never moved or lost.

The rules of the record (why they are what they are):
- ``first_completed_at`` earns the hours. A course completed twice (a reset, then completed again)
  keeps its first completion; a completion reset in Moodle keeps its hours too, and the record notes
  when the harvest found it gone (``reset_seen_at``), so an admin can see and act on it.
- One completion has one value, whichever path read it: completion times are kept to the minute.
  The report prints its dates to the minute and cannot say more; the per-user answer has the second,
  which is cut off here (``to_minute``), so that the same completion read by the report on one night
  and per cadre on another is the same value and neither read is a change. Nothing is lost by it:
  hours count by the day, and every date is shown to the minute. (Keeping the per-user second where
  one was read would make the stored time depend on which path happened to read it, and a later
  per-user read would rewrite completions the report had stored.)
- ``started_at`` is kept once known; ``last_access_at`` follows Moodle, as exact as the path read it:
  the report's minute and a stored exact time within that minute are the same access, and the exact
  one is kept (the per-user path goes by the exact time to find who did something).
- A row whose meaning did not change but whose reading did (the other path read it: another
  fingerprint, the last access to the second instead of the minute) is refreshed without counting
  as a change and without marking the run on it, so no record is computed again for it.
- Activity detail is marked stale when the learner did something in a course they have not
  completed; a later step fetches it within its budget.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ...db import Base
from ...models import CourseProgress, utcnow

PROGRESS = Base.metadata.tables[CourseProgress.__tablename__]


#: What a report-read row's fingerprint starts with: its times came to the minute.
REPORT_READ = "report:"
#: The columns whose change is a change of the cadre's facts (not only of how Moodle showed them).
MEANINGFUL = ("first_completed_at", "completed_at", "started_at", "activities_stale", "reset_seen_at")


def fingerprint(shown: str) -> str:
    """What Moodle showed of a row, as a digest that fits the column: a report row's text (three
    English dates) is longer than the 64 characters kept, and PostgreSQL refuses longer values.

    ``shown`` starts with the path that read it ("report|..." or "user|..."), which is kept readable
    before the digest: a stored row must tell whether its last access is the report's minute."""
    source = shown.partition("|")[0]
    return f"{source}:{hashlib.blake2b(shown.encode('utf-8'), digest_size=16).hexdigest()}"


def to_minute(moment: datetime) -> datetime:
    """``moment`` cut to its minute: the precision every completion time is kept at."""
    return moment.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Seen:
    """What Moodle shows now for one cadre in one course (times are naive UTC)."""

    employee_no: str
    completed: bool
    completed_at: datetime | None
    started_at: datetime | None
    last_access_at: datetime | None
    started: bool
    fingerprint: str  # ``fingerprint()`` of what Moodle showed
    to_the_minute: bool = False  # its times are the report's, to the minute


@dataclass(frozen=True)
class Stored:
    id: int
    fingerprint: str
    first_completed_at: datetime | None
    completed_at: datetime | None
    started_at: datetime | None
    last_access_at: datetime | None
    activities_stale: bool


def stored_progress(session: Session, year: int, course_key: str,
                    only: set[str] | None = None) -> dict[str, Stored]:
    """The course's stored rows by employee number (``only`` some cadres), as plain values: no ORM
    objects, ten thousand a course."""
    columns = (CourseProgress.employee_no, CourseProgress.id, CourseProgress.fingerprint,
               CourseProgress.first_completed_at, CourseProgress.completed_at, CourseProgress.started_at,
               CourseProgress.last_access_at, CourseProgress.activities_stale)
    where = (CourseProgress.year == year, CourseProgress.course_key == course_key)
    if only is None:
        return {row[0]: Stored(*row[1:]) for row in session.execute(select(*columns).where(*where))}
    found: dict[str, Stored] = {}
    wanted = sorted(only)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found.update((row[0], Stored(*row[1:])) for row in session.execute(
            select(*columns).where(*where, CourseProgress.employee_no.in_(chunk))))
    return found


def stored_fingerprints(session: Session, year: int, course_key: str) -> dict[str, str]:
    """Employee number -> fingerprint of what Moodle showed last: all an incremental harvest needs to
    find the rows that changed (reading whole rows would parse four times for each of them)."""
    rows = session.execute(select(CourseProgress.employee_no, CourseProgress.fingerprint).where(
        CourseProgress.year == year, CourseProgress.course_key == course_key))
    return {employee_no: shown for employee_no, shown in rows}


def same_access(stored: Stored, seen: Seen) -> bool:
    """Whether the stored last access and the one seen are the same access: equal, or the same minute
    where one of them is the report's (which prints the minute only)."""
    kept, shown = stored.last_access_at, seen.last_access_at
    if kept == shown:
        return True
    if kept is None or shown is None:
        return False
    if seen.to_the_minute:
        return to_minute(kept) == shown
    return stored.fingerprint.startswith(REPORT_READ) and kept == to_minute(shown)


def changes_for(stored: Stored | None, seen: Seen, *, now: datetime, force: bool) -> dict[str, Any] | None:
    """The column values to write for ``seen``, or None when nothing differs (and not ``force``)."""
    found = write_for(stored, seen, now=now, force=force)
    return found[0] if found is not None else None


def write_for(stored: Stored | None, seen: Seen, *, now: datetime,
              force: bool) -> tuple[dict[str, Any], bool] | None:
    """The column values to write for ``seen`` and whether they are a change of the row's facts (False:
    only how Moodle showed them changed, as when the other path read the row); None when nothing
    differs (and not ``force``)."""
    if stored is not None and stored.fingerprint == seen.fingerprint and not force:
        return None
    first = stored.first_completed_at if stored is not None else None
    completed_at = None
    if seen.completed:
        # Moodle always has the time; where we could not read it, the day we saw it stands in.
        completed_at = to_minute(seen.completed_at or (stored.completed_at if stored is not None else None)
                                 or now)
        if first is None or completed_at < first:
            first = completed_at
    started_at = stored.started_at if stored is not None and stored.started_at is not None else (
        seen.started_at or completed_at or (now if seen.started else None))
    access, moved = seen.last_access_at, True
    if stored is not None and same_access(stored, seen):
        moved = False
        if seen.to_the_minute:  # the stored time is as exact or more
            access = stored.last_access_at
    started = seen.started or (stored is not None and stored.started_at is not None)
    values: dict[str, Any] = {
        "fingerprint": seen.fingerprint,
        "first_completed_at": first,
        "completed_at": completed_at,
        "started_at": started_at,
        "last_access_at": access,
        "activities_stale": (not seen.completed and started
                             and (stored is None or moved or stored.activities_stale)),
    }
    if stored is not None and stored.completed_at is not None and not seen.completed:
        values["reset_seen_at"] = now
    if stored is None:
        return values, True
    if "reset_seen_at" not in values and all(getattr(stored, key) == value for key, value in values.items()):
        return None
    counted = moved or "reset_seen_at" in values or any(
        getattr(stored, key) != values[key] for key in MEANINGFUL if key in values)
    return values, counted


_DEFAULTS = {"started_at": None, "last_access_at": None, "first_completed_at": None, "completed_at": None,
             "reset_seen_at": None, "activities_done": None, "activities_total": None,
             "activities_stale": False, "grade": None, "grade_max": None, "fingerprint": ""}


def _complete(row: dict[str, Any]) -> dict[str, Any]:
    """Every column given (Core inserts do not apply the model's Python defaults)."""
    return {**_DEFAULTS, **row}


def write_progress(session: Session, year: int, course_key: str, stored: dict[str, Stored],
                   seen: list[Seen], *, run_id: int, force: bool) -> int:
    """Writes the changed rows of one course in a few statements; returns how many changed (rows whose
    reading only was refreshed, see ``write_for``, are written but not counted)."""
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    refreshes: list[dict[str, Any]] = []
    for item in seen:
        before = stored.get(item.employee_no)
        found = write_for(before, item, now=now, force=force)
        if found is None:
            continue
        values, counted = found
        if before is not None and not counted:
            refreshes.append({"id": before.id, "fingerprint": values["fingerprint"],
                              "last_access_at": values["last_access_at"]})
            continue
        values.update(updated_at=now, run_id=run_id)
        if before is None:
            inserts.append({"year": year, "employee_no": item.employee_no, "course_key": course_key,
                            **values})
        else:
            updates.append({"id": before.id, **values})
    if inserts:  # Core's executemany: the ORM's bulk insert costs ten times as much per row
        session.execute(insert(PROGRESS), [_complete(row) for row in inserts])
    for rows in (updates, refreshes):
        if rows:
            session.execute(update(CourseProgress), rows)
    return len(inserts) + len(updates)


def changed_pairs(session: Session, year: int, after_run: int,
                  course_key: str | None = None) -> set[tuple[str, str]]:
    """The (employee number, course key) pairs, of one course or all, whose completion, start or last
    course access changed in a run after ``after_run`` (the last finished harvest): what a step reading
    per cadre and course (such as study time) needs to read again. A change of how Moodle showed a row,
    not of what it showed, is not one (``write_for``)."""
    query = select(CourseProgress.employee_no, CourseProgress.course_key).where(
        CourseProgress.year == year, CourseProgress.run_id > after_run)
    if course_key is not None:
        query = query.where(CourseProgress.course_key == course_key)
    return {(employee_no, key) for employee_no, key in session.execute(query)}
