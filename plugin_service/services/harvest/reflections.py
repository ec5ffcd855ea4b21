"""Reading reflections (学习心得): each cadre's submission in the reflection assignment of a course,
its length as people count it, and its latest grade with the reviewer and time.

The assignments of every reflection course come in one call, their submissions and grades in one
batched call each; an incremental harvest asks only for what was modified from the previous
harvest's newest time on (Moodle's ``since`` includes that second, so nothing modified in the same
second as the last read is missed; re-reading it changes nothing).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.orm import Session

from moodle_bridge import MoodleClient
from moodle_bridge.areas.mod_assign import AssignGrade, Assignment, Submission
from rules.hours import reflection_chars

from ...db import Base
from ...models import ReflectionRecord, utcnow
from .completion import from_timestamp
from .context import HarvestError, YearContext

REFLECTIONS = Base.metadata.tables[ReflectionRecord.__tablename__]


@dataclass
class ReflectionRead:
    rows_read: int = 0
    changes: int = 0
    newest: int = 0  # the newest timemodified seen: the next incremental harvest's ``since``
    changed_cadres: dict[str, set[str]] = field(default_factory=dict)  # course key -> employee numbers


def reflection_assignments(client: MoodleClient, context: YearContext) -> dict[int, tuple[str, Assignment]]:
    """Assignment id -> (course key, assignment) of the plan's reflection courses.

    A course holds one assignment, or several of which one is titled as the plan's reflection; any
    other case is an error naming the course, since guessing would grade the wrong work.
    """
    wanted = {context.courses[c.key]: c for c in context.plan.courses
              if c.reflection is not None and c.key in context.courses}
    if not wanted:
        return {}
    answer = client.mod_assign.get_assignments(sorted(wanted))
    by_course: dict[int, list[Assignment]] = {}
    for assignment in answer.assignments:
        by_course.setdefault(assignment.course, []).append(assignment)
    found: dict[int, tuple[str, Assignment]] = {}
    for courseid, course in wanted.items():
        assert course.reflection is not None
        candidates = by_course.get(courseid, [])
        if len(candidates) > 1:
            title = course.reflection.title.strip()
            candidates = [a for a in candidates if html.unescape(a.name).strip() == title] or candidates
        if len(candidates) != 1:
            what = "no assignment" if not candidates else f"{len(candidates)} assignments and none titled"
            raise HarvestError(f"course {course.key} (Moodle id {courseid}) has {what} "
                               f"{course.reflection.title!r} for its reflection")
        found[candidates[0].id] = (course.key, candidates[0])
    return found


def harvest_reflections(client: MoodleClient, session: Session, context: YearContext,
                        since: int | None) -> ReflectionRead:
    result = ReflectionRead(newest=since or 0)
    assignments = reflection_assignments(client, context)
    if not assignments:
        return result
    ids = sorted(assignments)
    submissions = client.mod_assign.get_submissions(ids, since=since)
    grades = client.mod_assign.get_grades(ids, since=since)
    refused = [w for w in grades.warnings if w.warningcode == "1"]
    if refused:
        raise HarvestError(f"Moodle refused to show grades of assignment {refused[0].itemid}: the "
                           "web-service user needs mod/assign:grade in the reflection courses")
    latest_submission: dict[tuple[int, int], Submission] = {}
    for batch in submissions.assignments:
        for submission in batch.submissions:
            key = (batch.assignmentid, submission.userid)
            before = latest_submission.get(key)
            if before is None or submission.attemptnumber >= before.attemptnumber:
                latest_submission[key] = submission
    latest_grade: dict[tuple[int, int], AssignGrade] = {}
    for grade_batch in grades.assignments:
        for grade in grade_batch.grades:
            key = (grade_batch.assignmentid, grade.userid)
            old = latest_grade.get(key)
            if old is None or (grade.attemptnumber, grade.timemodified, grade.id) >= (
                    old.attemptnumber, old.timemodified, old.id):
                latest_grade[key] = grade
    result.rows_read = len(latest_submission) + len(latest_grade)
    table = REFLECTIONS
    stored = {(row.course_key, row.employee_no): row for row in session.execute(
        select(table).where(table.c.year == context.year)).mappings()}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    now = utcnow()
    for key in sorted(set(latest_submission) | set(latest_grade)):
        assignmentid, userid = key
        employee_no = context.cadre_by_userid.get(userid)
        if employee_no is None:
            continue
        course_key = assignments[assignmentid][0]
        row = stored.get((course_key, employee_no))
        values = _values(context, latest_submission.get(key), latest_grade.get(key), row)
        result.newest = max([result.newest] + [item.timemodified for item in (
            latest_submission.get(key), latest_grade.get(key)) if item is not None])
        if row is None:
            inserts.append({**_NEW, "year": context.year, "employee_no": employee_no,
                            "course_key": course_key, "assignment_id": assignmentid, **values,
                            "updated_at": now})
        elif any(row[name] != value for name, value in values.items()):
            updates.append({"id": row["id"], **values, "updated_at": now})
        else:
            continue
        result.changes += 1
        result.changed_cadres.setdefault(course_key, set()).add(employee_no)
    if inserts:
        session.execute(insert(table), inserts)
    if updates:
        session.execute(update(ReflectionRecord), updates)
    return result


_NEW = {"status": "new", "attempt": 0, "submitted_at": None, "chars": 0, "grade": None, "grader_userid": None,
        "grader": "", "graded_at": None, "grade_changes": 0}


def _values(context: YearContext, submission: Submission | None, grade: AssignGrade | None,
            row: RowMapping | None) -> dict[str, Any]:
    """What Moodle shows now; ``grade_changes`` counts a regrade of what was stored (``row``)."""
    values: dict[str, Any] = {}
    if submission is not None:
        values.update(status=submission.status, attempt=submission.attemptnumber,
                      submitted_at=from_timestamp(submission.timemodified) if submission.submitted else None,
                      chars=reflection_chars(submission.onlinetext or ""))
    if grade is not None and grade.value is not None:
        graded_at = from_timestamp(grade.timemodified)
        if row is not None and row["grade"] is not None and (
                row["grade"] != grade.value or row["graded_at"] != graded_at):
            values["grade_changes"] = (row["grade_changes"] or 0) + 1
        grader = context.cadre_by_userid.get(grade.grader)
        values.update(grade=grade.value, grader_userid=grade.grader, graded_at=graded_at,
                      grader=context.names.get(grader, "") if grader else f"Moodle user {grade.grader}")
    return values
