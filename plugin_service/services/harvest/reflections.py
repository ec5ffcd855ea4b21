"""Reading reflections (学习心得): each cadre's submission in the reflection assignment of a course,
its length as people count it, and its latest grade with the reviewer (by name, see ``graders``) and
time.

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
from .graders import GraderNames, unnamed

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
                        since: int | None, graders: GraderNames | None = None) -> ReflectionRead:
    """Stores what changed of the reflections since ``since`` (everything when None), and names the
    graders stored without a name so far (``graders``: the harvest's names, asked once a harvest).

    A grader's name coming in later is written without marking the reflection as changed: it moves no
    record and no course total."""
    graders = graders if graders is not None else GraderNames(client, context)
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
    names = graders.names({grade.grader for grade in latest_grade.values() if grade.value is not None}
                          | {row["grader_userid"] for row in stored.values()
                             if unnamed(row["grader"], row["grader_userid"])})
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    renamed: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    now = utcnow()
    for key in sorted(set(latest_submission) | set(latest_grade)):
        assignmentid, userid = key
        employee_no = context.cadre_by_userid.get(userid)
        if employee_no is None:
            continue
        course_key = assignments[assignmentid][0]
        seen.add((course_key, employee_no))
        row = stored.get((course_key, employee_no))
        values = _values(latest_submission.get(key), latest_grade.get(key), row, names)
        result.newest = max([result.newest] + [item.timemodified for item in (
            latest_submission.get(key), latest_grade.get(key)) if item is not None])
        if row is None:
            inserts.append({**_NEW, "year": context.year, "employee_no": employee_no,
                            "course_key": course_key, "assignment_id": assignmentid, **values,
                            "updated_at": now})
        elif any(row[name] != value for name, value in values.items() if name != "grader"):
            updates.append({"id": row["id"], **values, "updated_at": now})
        elif row["grader"] != values.get("grader", row["grader"]):
            renamed.append({"id": row["id"], "grader": values["grader"]})
            result.changes += 1
            continue
        else:
            continue
        result.changes += 1
        result.changed_cadres.setdefault(course_key, set()).add(employee_no)
    for place, row in stored.items():
        name = names.get(row["grader_userid"] or 0, "")
        if place not in seen and unnamed(row["grader"], row["grader_userid"]) and name:
            renamed.append({"id": row["id"], "grader": name})
            result.changes += 1
    if inserts:
        session.execute(insert(table), inserts)
    for rows in (updates, renamed):
        if rows:
            session.execute(update(ReflectionRecord), rows)
    return result


_NEW = {"status": "new", "attempt": 0, "submitted_at": None, "chars": 0, "grade": None, "grader_userid": None,
        "grader": "", "graded_at": None, "grade_changes": 0}


def _values(submission: Submission | None, grade: AssignGrade | None, row: RowMapping | None,
            names: dict[int, str]) -> dict[str, Any]:
    """What Moodle shows now; ``grade_changes`` counts a regrade of what was stored (``row``); the
    grader by ``names`` (``""`` where Moodle did not return them)."""
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
        name = names.get(grade.grader, "")
        if not name and row is not None and row["grader_userid"] == grade.grader:
            name = row["grader"]  # Moodle no longer returns them: the name it gave before stands
        values.update(grade=grade.value, grader_userid=grade.grader, graded_at=graded_at, grader=name)
    return values
