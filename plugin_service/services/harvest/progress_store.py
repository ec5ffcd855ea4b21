"""Keeping what a harvest saw of each cadre's course: only what changed is written, and the first
completion is never moved or lost.

The rules of the record (why they are what they are):
- ``first_completed_at`` earns the hours. A course completed twice (a reset, then completed again)
  keeps its first completion; a completion reset in Moodle keeps its hours too, and the record notes
  when the harvest found it gone (``reset_seen_at``), so an admin can see and act on it.
- ``started_at`` is kept once known; ``last_access_at`` follows Moodle.
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


def fingerprint(shown: str) -> str:
    """What Moodle showed of a row, as a digest that fits the column: a report row's text (three
    English dates) is longer than the 64 characters kept, and PostgreSQL refuses longer values."""
    return hashlib.blake2b(shown.encode("utf-8"), digest_size=16).hexdigest()


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


def changes_for(stored: Stored | None, seen: Seen, *, now: datetime, force: bool) -> dict[str, Any] | None:
    """The column values to write for ``seen``, or None when nothing changed (and not ``force``)."""
    if stored is not None and stored.fingerprint == seen.fingerprint and not force:
        return None
    first = stored.first_completed_at if stored is not None else None
    completed_at = None
    if seen.completed:
        # Moodle always has the time; where we could not read it, the day we saw it stands in.
        completed_at = seen.completed_at or (stored.completed_at if stored is not None else None) or now
        if first is None or completed_at < first:
            first = completed_at
    started_at = stored.started_at if stored is not None and stored.started_at is not None else (
        seen.started_at or completed_at or (now if seen.started else None))
    values: dict[str, Any] = {
        "fingerprint": seen.fingerprint,
        "first_completed_at": first,
        "completed_at": completed_at,
        "started_at": started_at,
        "last_access_at": seen.last_access_at,
        "activities_stale": (not seen.completed and seen.started
                             and (stored is None or stored.last_access_at != seen.last_access_at
                                  or stored.activities_stale)),
    }
    if stored is not None and stored.completed_at is not None and not seen.completed:
        values["reset_seen_at"] = now
    if stored is not None and all(getattr(stored, key) == value for key, value in values.items()
                                  if hasattr(stored, key)) and "reset_seen_at" not in values:
        return None
    return values


_DEFAULTS = {"started_at": None, "last_access_at": None, "first_completed_at": None, "completed_at": None,
             "reset_seen_at": None, "activities_done": None, "activities_total": None,
             "activities_stale": False, "grade": None, "grade_max": None, "fingerprint": ""}


def _complete(row: dict[str, Any]) -> dict[str, Any]:
    """Every column given (Core inserts do not apply the model's Python defaults)."""
    return {**_DEFAULTS, **row}


def write_progress(session: Session, year: int, course_key: str, stored: dict[str, Stored],
                   seen: list[Seen], *, run_id: int, force: bool) -> int:
    """Writes the changed rows of one course in two statements; returns how many changed."""
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for item in seen:
        before = stored.get(item.employee_no)
        values = changes_for(before, item, now=now, force=force)
        if values is None:
            continue
        values.update(updated_at=now, run_id=run_id)
        if before is None:
            inserts.append({"year": year, "employee_no": item.employee_no, "course_key": course_key,
                            **values})
        else:
            updates.append({"id": before.id, **values})
    if inserts:  # Core's executemany: the ORM's bulk insert costs ten times as much per row
        session.execute(insert(PROGRESS), [_complete(row) for row in inserts])
    if updates:
        session.execute(update(CourseProgress), updates)
    return len(inserts) + len(updates)
