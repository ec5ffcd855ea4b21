"""Reading what harvests stored: one cadre's record of a year, and the year's summary per tier.

Used by ``cadre record``, the demo's summary, and later the console: plain values, no ORM objects, so
a caller cannot change a record by accident.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.hours import ReflectionCount, reflection_count
from rules.plan import load_plan
from rules.plan_model import Plan
from rules.study_time import describe
from rules.wording import Sentence

from ...models import (
    Cadre,
    CourseProgress,
    DiscussionRecord,
    HarvestRun,
    LearningRecordRow,
    ReflectionRecord,
    StatusChange,
    StudyCourseware,
    StudyTime,
    YearCourse,
    YearTier,
)
from ..provisioning.stored import applied_plan
from .graders import unnamed


@dataclass(frozen=True)
class CourseLine:
    key: str
    name: str
    hours: float
    first_completed_at: datetime | None
    completed_at: datetime | None
    reset_seen_at: datetime | None
    started_at: datetime | None
    activities: str  # "3/5", or "" when not read
    grade: float | None


@dataclass(frozen=True)
class ReflectionLine:
    course: str
    status: str
    chars: int
    grade: float | None
    grader: str  # as shown: the name, or the Moodle id where Moodle did not return it (``grader_of``)
    graded_at: datetime | None
    grade_changes: int
    submitted_at: datetime | None = None
    grader_named: bool = True  # False: Moodle did not return the grader, ``grader`` says so


def grader_of(name: str, userid: int | None) -> str:
    """Who graded, as shown: the name the harvest stored, or, where Moodle did not return the user (the
    web-service user may not see them, or they were deleted), their Moodle id with a note saying so.
    Never a call to Moodle: the harvest stored the name."""
    if userid is None or not unnamed(name, userid):
        return name
    return Sentence("Moodle user %(userid)s (Moodle did not return this user)", userid=userid)


NONE_OWED = ReflectionCount(0, 0, 0)


@dataclass(frozen=True)
class StudyLine:
    """A cadre's study time in one course (``rules.study_time``): ``seconds`` is None where the course's
    courseware tracks no time ("not tracked", never zero)."""

    course: str
    name: str
    seconds: float | None
    attempts: int = 0
    last_tracked_at: datetime | None = None
    problems: str | None = None

    @property
    def tracked(self) -> bool:
        return self.seconds is not None

    @property
    def text(self) -> Sentence:
        """"3 h 25 min", or "not tracked"."""
        return describe(self.seconds)


def study_total(lines: tuple[StudyLine, ...] | list[StudyLine]) -> float | None:
    """The study time of the courses that track it; None when none of them does."""
    tracked = [line.seconds for line in lines if line.seconds is not None]
    return sum(tracked) if tracked else None


def tracked_courses(session: Session, year: int) -> set[str]:
    """The year's courses whose courseware tracks study time, as the last harvest found them."""
    return set(session.scalars(select(StudyCourseware.course_key).where(
        StudyCourseware.year == year, StudyCourseware.tracked.is_(True))))


def study_lines(session: Session, year: int, employee_no: str, courses: list[str],
                names: Mapping[str, str]) -> tuple[StudyLine, ...]:
    """The cadre's study time in each of ``courses`` (plan order): a tracked course the harvest has not
    read for them yet reads zero."""
    tracked = tracked_courses(session, year)
    stored = {row.course_key: row for row in session.scalars(select(StudyTime).where(
        StudyTime.year == year, StudyTime.employee_no == employee_no))}
    lines = []
    for key in courses:
        row = stored.get(key)
        if key not in tracked:
            lines.append(StudyLine(key, names.get(key, key), None))
        elif row is None:
            lines.append(StudyLine(key, names.get(key, key), 0.0))
        else:
            lines.append(StudyLine(key, names.get(key, key), row.seconds, row.attempts, row.last_tracked_at,
                                   row.problems))
    return tuple(lines)


@dataclass(frozen=True)
class CadreRecord:
    employee_no: str
    name: str
    department: str
    year: int
    status: str
    status_since: str
    detail: dict[str, Any]
    courses: tuple[CourseLine, ...]
    reflections: tuple[ReflectionLine, ...]
    discussions: tuple[tuple[str, int, int], ...]  # key, posts in window, posts in all
    history: tuple[tuple[str, str, str | None, float], ...]  # day, status, tier, hours
    harvested_at: datetime | None
    timezone: str = "UTC"  # the plan's: where its days are days
    reflection_count: ReflectionCount = NONE_OWED  # of the owed ones: ``reflection_count_of``
    study: tuple[StudyLine, ...] = ()  # per course the cadre takes or has progress in, plan order

    @property
    def study_seconds(self) -> float | None:
        """The study time of the year's courses that track it (None: none of them does)."""
        return study_total(self.study)

    @property
    def study_text(self) -> Sentence:
        return describe(self.study_seconds)

    def local(self, moment: datetime | None) -> datetime | None:
        """A stored (naive UTC) time in the plan's timezone."""
        if moment is None:
            return None
        return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(self.timezone))


def reflection_count_of(plan: Plan | None, detail: Mapping[str, Any]) -> ReflectionCount:
    """A stored record's reflections, counted as the rules count them when they compute the record
    (``rules.hours.reflection_count``): the export, ``cadre record``, the console and the API all
    show this count, so "submitted" is one number everywhere, "long enough" another."""
    tier = detail.get("tier")
    owed = [c.key for c in plan.required_courses(tier) if c.reflection is not None] \
        if plan is not None and tier else []
    return reflection_count(owed, detail.get("reflections_missing", ()), detail.get("reflections_short", ()))


def cadre_record(session: Session, employee_no: str, year: int) -> CadreRecord | None:
    row = session.scalar(select(LearningRecordRow).where(LearningRecordRow.year == year,
                                                         LearningRecordRow.employee_no == employee_no))
    cadre = session.get(Cadre, employee_no)
    if row is None or cadre is None:
        return None
    names = {c.key: (c.name, c.hours)
             for c in session.scalars(select(YearCourse).where(YearCourse.year == year))}
    courses = tuple(
        CourseLine(p.course_key, names.get(p.course_key, (p.course_key, 0.0))[0],
                   names.get(p.course_key, ("", 0.0))[1], p.first_completed_at, p.completed_at,
                   p.reset_seen_at, p.started_at,
                   f"{p.activities_done}/{p.activities_total}" if p.activities_total is not None else "",
                   p.grade)
        for p in session.scalars(select(CourseProgress).where(
            CourseProgress.year == year, CourseProgress.employee_no == employee_no)
            .order_by(CourseProgress.id)))
    reflections = tuple(
        ReflectionLine(r.course_key, r.status, r.chars, r.grade, grader_of(r.grader, r.grader_userid),
                       r.graded_at, r.grade_changes, r.submitted_at,
                       not unnamed(r.grader, r.grader_userid))
        for r in session.scalars(select(ReflectionRecord).where(
            ReflectionRecord.year == year, ReflectionRecord.employee_no == employee_no)
            .order_by(ReflectionRecord.course_key)))
    discussions = tuple(
        (d.discussion_key, d.posts_in_window, d.posts_total)
        for d in session.scalars(select(DiscussionRecord).where(
            DiscussionRecord.year == year, DiscussionRecord.employee_no == employee_no)
            .order_by(DiscussionRecord.discussion_key)))
    history = tuple(
        (c.on, c.status, c.tier_key, c.total_hours)
        for c in session.scalars(select(StatusChange).where(
            StatusChange.year == year, StatusChange.employee_no == employee_no).order_by(StatusChange.id)))
    harvested = session.scalar(select(HarvestRun.finished_at).where(
        HarvestRun.year == year, HarvestRun.status == "done").order_by(HarvestRun.id.desc()).limit(1))
    stored = applied_plan(session, year)
    plan = load_plan(stored.text, stored.filename) if stored is not None else None
    timezone = plan.moodle.timezone if plan is not None else "UTC"
    tier = row.detail.get("tier")
    mine = {line.key for line in courses}
    taken = [c for c in (plan.courses if plan is not None else ())
             if c.key in mine or (tier and (tier in c.required or tier in c.elective))]
    study = study_lines(session, year, employee_no, [c.key for c in taken], {c.key: c.name for c in taken})
    return CadreRecord(employee_no, cadre.name, cadre.department, year, row.status, row.status_since,
                       dict(row.detail), courses, reflections, discussions, history, harvested, timezone,
                       reflection_count_of(plan, row.detail), study)


@dataclass
class TierSummary:
    key: str
    name: str
    cadres: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    hours: float = 0.0

    @property
    def mean_hours(self) -> float:
        return self.hours / self.cadres if self.cadres else 0.0


def tier_summary(session: Session, year: int) -> list[TierSummary]:
    """Per tier (plan order, then the excluded): how many cadres, by status, and their mean hours."""
    tiers = {t.key: TierSummary(t.key, t.name) for t in session.scalars(
        select(YearTier).where(YearTier.year == year).order_by(YearTier.id))}
    excluded = TierSummary("", "excluded")
    for tier_key, status, count, hours in session.execute(
            select(LearningRecordRow.tier_key, LearningRecordRow.status, func.count(),
                   func.sum(LearningRecordRow.total_hours))
            .where(LearningRecordRow.year == year)
            .group_by(LearningRecordRow.tier_key, LearningRecordRow.status)):
        summary = tiers.get(tier_key or "", excluded)
        summary.cadres += count
        summary.statuses[status] += count
        summary.hours += float(hours or 0.0)
    return [*tiers.values(), *([excluded] if excluded.cadres else [])]
