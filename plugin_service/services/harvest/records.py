"""Learning records: the rules' verdict on what was harvested, per cadre of the year, kept with the
day each status was first seen, so the history shows when a cadre reached the target (or fell behind,
or changed tier).

Records are computed from the stored harvest alone (no Moodle call), with the offline study hours
approved for each cadre: re-computing on unchanged data writes nothing. A training recorded or a claim
approved between harvests computes its cadres' records again at once (``compute_for``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import insert, select, true, update
from sqlalchemy.orm import Session

from rules.hours import (
    CourseFacts,
    DiscussionFacts,
    Facts,
    LearningRecord,
    OfflineHours,
    ReflectionFacts,
    learning_record,
)

from ...db import Base
from ...models import (
    CourseProgress,
    DiscussionRecord,
    LearningRecordRow,
    ReflectionRecord,
    StatusChange,
    utcnow,
)
from ..offline.facts import offline_changed_since, offline_facts
from .context import YearContext

RECORDS = Base.metadata.tables[LearningRecordRow.__tablename__]
#: Cadres whose records are computed and stored together.
RECORDS_AT_ONCE = 500
HISTORY = Base.metadata.tables[StatusChange.__tablename__]


def facts_of(session: Session, context: YearContext, only: set[str] | None = None) -> dict[str, Facts]:
    """The members' harvested facts (``only`` some of them) and approved offline hours, read in five
    queries per 500 cadres."""
    members = sorted(context.members if only is None else set(context.members) & only)
    courses: dict[str, list[CourseFacts]] = defaultdict(list)
    reflections: dict[str, list[ReflectionFacts]] = defaultdict(list)
    discussions: dict[str, list[DiscussionFacts]] = defaultdict(list)
    offline: dict[str, list[OfflineHours]] = defaultdict(list)
    chunks = [None] if only is None else [members[i:i + 500] for i in range(0, len(members), 500)]
    for chunk in chunks:
        of = _among(chunk)
        for employee_no, course_key, first, started in session.execute(
                select(CourseProgress.employee_no, CourseProgress.course_key,
                       CourseProgress.first_completed_at, CourseProgress.started_at)
                .where(CourseProgress.year == context.year, of(CourseProgress.employee_no))):
            courses[employee_no].append(CourseFacts(course_key, context.day_of(first) if first else None,
                                                    started is not None))
        for employee_no, course_key, status, chars, grade in session.execute(
                select(ReflectionRecord.employee_no, ReflectionRecord.course_key, ReflectionRecord.status,
                       ReflectionRecord.chars, ReflectionRecord.grade)
                .where(ReflectionRecord.year == context.year, of(ReflectionRecord.employee_no))):
            reflections[employee_no].append(ReflectionFacts(course_key, status == "submitted", chars, grade))
        for employee_no, key, posts in session.execute(
                select(DiscussionRecord.employee_no, DiscussionRecord.discussion_key,
                       DiscussionRecord.posts_in_window)
                .where(DiscussionRecord.year == context.year, of(DiscussionRecord.employee_no))):
            discussions[employee_no].append(DiscussionFacts(key, posts))
        for employee_no, hours in offline_facts(session, context.year, chunk).items():
            offline[employee_no].extend(hours)
    return {no: Facts(no, context.members[no].tier_key, context.members[no].excluded,
                      tuple(courses.get(no, ())), tuple(reflections.get(no, ())),
                      tuple(discussions.get(no, ())), tuple(offline.get(no, ())))
            for no in members}


def _among(chunk: list[str] | None) -> Any:
    """A condition on a cadre column: among ``chunk``, or anyone (None)."""
    def condition(column: Any) -> Any:
        return column.in_(chunk) if chunk is not None else true()
    return condition


def changed_since(session: Session, year: int, run_id: int, since: dt.datetime) -> set[str]:
    """Cadres whose harvested facts this run changed."""
    changed = set(session.scalars(select(CourseProgress.employee_no).where(
        CourseProgress.year == year, CourseProgress.run_id == run_id)))
    for model in (ReflectionRecord, DiscussionRecord):
        changed.update(session.scalars(select(model.employee_no).where(model.year == year,
                                                                       model.updated_at >= since)))
    changed.update(offline_changed_since(session, year, since))
    return changed


def as_json(record: LearningRecord) -> dict[str, Any]:
    """The record as JSON-ready values (dates as ISO text, tuples as lists).

    Written out field by field rather than with ``dataclasses.asdict``, which deep-copies every value
    and costs a millisecond a record: ten thousand records a harvest."""
    values = {name: getattr(record, name) for name in _RECORD_FIELDS}
    for name, value in values.items():
        if isinstance(value, tuple):
            values[name] = list(value)
    values["points"] = [[key, points] for key, points in record.points]
    values["credits"] = [{"course": c.course, "kind": c.kind, "hours": c.hours,
                          "completed_on": c.completed_on.isoformat()} for c in record.credits]
    values["offline"] = [{"source": o.source, "title": o.title, "on": o.on.isoformat(), "hours": o.hours}
                         for o in record.offline]
    return values


_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(LearningRecord))


def compute_records(session: Session, context: YearContext, today: dt.date, run_id: int,
                    changed_cadres: set[str] | None = None) -> tuple[int, int]:
    """Computes and stores the members' records; returns (records computed, records changed).

    With ``changed_cadres`` (an incremental harvest), a record already judged for ``today`` in the
    same tier is computed again only when its cadre's facts changed: nothing else can move it.
    """
    day = today.isoformat()
    wanted = set(context.members)
    if changed_cadres is not None:
        table = RECORDS
        settled = {no for no, tier_key, computed_for in session.execute(
            select(table.c.employee_no, table.c.tier_key, table.c.computed_for)
            .where(table.c.year == context.year))
                   if no in context.members and computed_for == day
                   and tier_key == context.members[no].tier_key}
        wanted = (wanted - settled) | (changed_cadres & wanted)
    # A batch of cadres at a time: the records of ten thousand cadres, their facts and their stored
    # details held at once would cost a harvest a hundred megabytes more.
    ordered = sorted(wanted)
    computed = changed = 0
    for start in range(0, len(ordered), RECORDS_AT_ONCE):
        batch = set(ordered[start:start + RECORDS_AT_ONCE])
        facts = facts_of(session, context, batch)
        changed += _store(session, context, facts, _stored(session, context.year, batch), today, run_id)
        computed += len(facts)
    return computed, changed


def compute_for(session: Session, context: YearContext, cadres: set[str], today: dt.date,
                run_id: int | None = None) -> int:
    """Computes and stores the records of ``cadres`` (members of the context) alone, judged for
    ``today``; returns how many changed. What a recorded training or an approved claim moves is seen at
    once, without waiting for the next harvest."""
    wanted = set(context.members) & cadres
    if not wanted:
        return 0
    stored = _stored(session, context.year, wanted)
    return _store(session, context, facts_of(session, context, wanted), stored, today, run_id)


def _stored(session: Session, year: int, only: set[str] | None = None) -> dict[str, Any]:
    table = RECORDS
    query = select(table.c.employee_no, table.c.id, table.c.status, table.c.status_since, table.c.tier_key,
                   table.c.detail, table.c.computed_for).where(table.c.year == year)
    if only is not None:
        query = query.where(table.c.employee_no.in_(sorted(only)))
    return {row.employee_no: row for row in session.execute(query)}


def _store(session: Session, context: YearContext, facts: dict[str, Facts], stored: dict[str, Any],
           today: dt.date, run_id: int | None) -> int:
    """Writes the records of ``facts`` that changed (and the status history); returns how many."""
    day = today.isoformat()
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for employee_no in sorted(facts):
        record = learning_record(context.plan, facts[employee_no], today)
        detail = as_json(record)
        row = stored.get(employee_no)
        if row is not None and row.detail == detail:
            if row.computed_for != day:
                updates.append({"id": row.id, "computed_for": day})
            continue
        if row is None or row.status != record.status or row.tier_key != record.tier:
            history.append({"year": context.year, "employee_no": employee_no, "status": record.status,
                            "previous": row.status if row is not None else None, "tier_key": record.tier,
                            "on": day, "total_hours": record.total_hours, "at": now, "run_id": run_id})
        values = {"tier_key": record.tier, "status": record.status, "required_hours": record.required_hours,
                  "elective_hours": record.elective_hours, "total_hours": record.total_hours,
                  "target_hours": record.target, "discussion_points": record.discussion_points,
                  "offline_hours": record.offline_hours, "detail": detail, "computed_at": now,
                  "computed_for": day, "run_id": run_id}
        if row is None:
            inserts.append({"year": context.year, "employee_no": employee_no, "status_since": day, **values})
        else:
            updates.append({"id": row.id, **values,
                            "status_since": day if row.status != record.status else row.status_since})
    if inserts:
        session.execute(insert(RECORDS), inserts)
    if updates:
        session.execute(update(LearningRecordRow), updates)
    if history:
        session.execute(insert(HISTORY), history)
    return len(inserts) + sum(1 for u in updates if "detail" in u)
