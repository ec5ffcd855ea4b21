"""A reviewer's page inside Moodle: the cadres the plan has them review (``rules.reviewers``, as
``read_models.scope`` computes it for the console), the reflections of those cadres waiting for a
grade, each with the link to Moodle's grader for that submission, and those of the cadres behind.

"Waiting" is what the dashboard and the reports count as awaiting review: submitted, not graded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.hours import ReflectionCount

from ...models import Cadre, LearningRecordRow, ReflectionRecord, YearCourse
from ..documents.document_values import plan_of
from ..harvest.learning_records import reflection_count_of
from ..read_models.reports import harvested_at, names
from ..read_models.scope import reviewers_of_year
from .moodle_links import assignments_url, grading_url

#: Assignment id -> Moodle course id in, assignment id -> course module id out (``moodle_links``).
CmidLookup = Callable[[Mapping[int, int]], Mapping[int, int]]


@dataclass(frozen=True)
class ReviewedCadre:
    employee_no: str
    name: str
    department: str
    tier: str
    status: str
    status_since: str
    total_hours: float
    target_hours: float
    required_missing: int
    reflections: ReflectionCount | None  # of the owed ones; None: the tier owes none
    awaiting: int  # their reflections waiting for a grade


@dataclass(frozen=True)
class WaitingReflection:
    employee_no: str
    name: str
    department: str
    course: str  # the course's name
    title: str  # the reflection's, as the plan names it
    submitted_at: dt.datetime | None
    chars: int
    min_chars: int
    due: dt.date | None
    url: str | None  # Moodle's grader for this submission, or the course's assignments
    direct: bool  # ``url`` opens the submission itself


@dataclass
class ReviewPage:
    year: int | None
    cadres: list[ReviewedCadre] = field(default_factory=list)
    waiting: list[WaitingReflection] = field(default_factory=list)
    harvested_at: dt.datetime | None = None

    @property
    def behind(self) -> list[ReviewedCadre]:
        return [c for c in self.cadres if c.status == "behind"]


def reviewed_cadres(session: Session, year: int, reviewer_no: str) -> frozenset[str]:
    return reviewers_of_year(session, year).get(reviewer_no, frozenset())


def review_page(session: Session, year: int | None, reviewer_no: str, moodle_url: str,
                cmids: CmidLookup) -> ReviewPage:
    """What ``reviewer_no`` reviews in ``year``; ``cmids`` names the assignments' course modules."""
    found = ReviewPage(year)
    if year is None:
        return found
    mine = reviewed_cadres(session, year, reviewer_no)
    found.harvested_at = harvested_at(session, year)
    if not mine:
        return found
    plan = plan_of(session, year)
    tiers, _classes = names(plan)
    chosen = sorted(mine)
    people = {c.employee_no: c for c in session.scalars(select(Cadre).where(Cadre.employee_no.in_(chosen)))}
    waiting = list(session.scalars(
        select(ReflectionRecord)
        .where(ReflectionRecord.year == year, ReflectionRecord.employee_no.in_(chosen),
               ReflectionRecord.status == "submitted", ReflectionRecord.grade.is_(None))
        .order_by(ReflectionRecord.submitted_at, ReflectionRecord.id)))
    awaiting: dict[str, int] = {}
    for reflection in waiting:
        awaiting[reflection.employee_no] = awaiting.get(reflection.employee_no, 0) + 1
    for row in session.scalars(select(LearningRecordRow).where(LearningRecordRow.year == year,
                                                               LearningRecordRow.employee_no.in_(chosen))):
        cadre = people.get(row.employee_no)
        if cadre is None:
            continue
        count = reflection_count_of(plan, row.detail)
        found.cadres.append(ReviewedCadre(
            row.employee_no, cadre.name, cadre.department, tiers.get(row.tier_key or "", row.tier_key or ""),
            row.status, row.status_since, row.total_hours, row.target_hours,
            len(row.detail.get("required_missing", [])), count if count.owed else None,
            awaiting.get(row.employee_no, 0)))
    found.cadres.sort(key=lambda c: (c.department, c.employee_no))
    found.waiting = _waiting(session, year, waiting, people, moodle_url, cmids)
    return found


def _waiting(session: Session, year: int, waiting: list[ReflectionRecord], people: Mapping[str, Cadre],
             moodle_url: str, cmids: CmidLookup) -> list[WaitingReflection]:
    plan = plan_of(session, year)
    courses = {key: courseid for key, courseid in session.execute(
        select(YearCourse.key, YearCourse.moodle_courseid).where(YearCourse.year == year))}
    wanted = {r.assignment_id: courseid for r in waiting
              if (courseid := courses.get(r.course_key)) is not None}
    modules = cmids(wanted) if wanted and moodle_url else {}
    lines = []
    for r in waiting:
        cadre = people[r.employee_no]
        course = plan.course(r.course_key) if plan is not None else None
        reflection = course.reflection if course is not None else None
        cmid, courseid = modules.get(r.assignment_id), courses.get(r.course_key)
        url: str | None
        if cmid is not None and cadre.moodle_userid is not None:
            url, direct = grading_url(moodle_url, cmid, cadre.moodle_userid), True
        else:
            url, direct = (assignments_url(moodle_url, courseid) if moodle_url and courseid else None), False
        lines.append(WaitingReflection(
            r.employee_no, cadre.name, cadre.department, course.name if course else r.course_key,
            reflection.title if reflection else "", r.submitted_at, r.chars,
            reflection.min_chars if reflection else 0, reflection.due if reflection else None, url, direct))
    return lines
