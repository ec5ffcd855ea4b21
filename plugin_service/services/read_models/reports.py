"""统计报表: the year's records by department, tier or class, with the laggards and the commendation
candidates, as plain values the console pages, the XLSX exports and the JSON API all use.

Everything is counted in the database, a fixed number of queries whatever the number of cadres: the
learning records carry their totals in columns and what is missing in their ``detail`` (read with
the database's JSON functions), the reflections are counted by group. Only cadres taking part in the
year (with a tier) are counted; the excluded are reported as a number beside the table.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Boolean, Select, and_, case, column, func, literal, select, true
from sqlalchemy.orm import Session

from rules.plan_model import Plan

from ...models import (
    Cadre,
    CommendationEntry,
    HarvestRun,
    LearningRecordRow,
    Membership,
    ReflectionRecord,
    StudyCourseware,
    StudyTime,
)
from ..documents.document_values import plan_of
from ..engagement import commendation as commendations
from .page_cache import cached
from .scope import EVERYTHING, Scope

GROUPS = ("department", "tier", "class")
STATUSES = ("complete", "on_track", "behind")
#: Shares of the hours target the distribution is counted in: [0, 20%), [20%, 40%), ... [100%, ...).
SHARES = (0.2, 0.4, 0.6, 0.8, 1.0)
EPSILON = 1e-9
LR = LearningRecordRow


@dataclass(frozen=True)
class ReportFilters:
    year: int
    group_by: str = "department"
    department: str | None = None
    tier: str | None = None
    klass: str | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        if self.group_by not in GROUPS:
            raise ValueError(f"group_by: {self.group_by!r} is not one of {', '.join(GROUPS)}")
        if self.status is not None and self.status not in STATUSES:
            raise ValueError(f"status: {self.status!r} is not one of {', '.join(STATUSES)}")


@dataclass
class GroupLine:
    """One row of the report: a department, tier or class (or the total)."""

    key: str
    name: str
    cadres: int = 0
    complete: int = 0
    on_track: int = 0
    behind: int = 0
    hours: float = 0.0  # total hours of the group's cadres
    target: float = 0.0  # their targets added up
    hours_met: int = 0
    required_met: int = 0  # cadres with every required course completed
    required_owed: int = 0  # required courses of the group's cadres
    required_done: int = 0
    reflections_owed: int = 0
    reflections_missing: int = 0
    reflections_short: int = 0
    reflections_awaiting: int = 0  # submitted, not graded yet
    reflections_graded: int = 0
    points: float = 0.0
    discussants: int = 0  # cadres with discussion points
    study_seconds: float = 0.0  # study time of the group's cadres in courses whose courseware tracks it
    study_cadres: int = 0  # cadres with a course whose courseware tracks study time
    offline_hours: float = 0.0  # offline study hours counted in the group's records (in ``hours``)
    offline_cadres: int = 0  # cadres with offline hours counted

    @property
    def mean_offline_hours(self) -> float:
        return self.offline_hours / self.cadres if self.cadres else 0.0

    @property
    def mean_study_seconds(self) -> float | None:
        """Mean study time of the cadres with tracked courseware; None: none of them has any."""
        return self.study_seconds / self.study_cadres if self.study_cadres else None

    @property
    def mean_hours(self) -> float:
        return self.hours / self.cadres if self.cadres else 0.0

    @property
    def complete_share(self) -> float:
        return self.complete / self.cadres if self.cadres else 0.0

    @property
    def required_share(self) -> float:
        return self.required_done / self.required_owed if self.required_owed else 0.0

    @property
    def reflections_submitted(self) -> int:
        return self.reflections_owed - self.reflections_missing

    @property
    def mean_points(self) -> float:
        return self.points / self.cadres if self.cadres else 0.0

    def add(self, other: GroupLine) -> None:
        for name in ("cadres", "complete", "on_track", "behind", "hours", "target", "hours_met",
                     "required_met", "required_owed", "required_done", "reflections_owed",
                     "reflections_missing", "reflections_short", "reflections_awaiting",
                     "reflections_graded", "points", "discussants", "study_seconds", "study_cadres",
                     "offline_hours", "offline_cadres"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Bin:
    label: str  # "0–20%"
    low: float
    high: float | None
    cadres: int


@dataclass(frozen=True)
class CadreLine:
    employee_no: str
    name: str
    department: str
    tier: str
    klass: str
    status: str
    total_hours: float
    required_hours: float
    target_hours: float
    discussion_points: float
    status_since: str
    offline_hours: float = 0.0  # counted, within total_hours


@dataclass(frozen=True)
class CourseStudyLine:
    """Study time in one course of the plan, over the reported cadres who take it."""

    key: str
    name: str
    tracked: bool  # its courseware tracks study time; otherwise "not tracked", never zero
    cadres: int = 0  # cadres with a study time in it
    seconds: float = 0.0
    attempts: int = 0

    @property
    def mean_seconds(self) -> float | None:
        if not self.tracked:
            return None
        return self.seconds / self.cadres if self.cadres else 0.0


@dataclass(frozen=True)
class CommendationLine:
    tier: str
    rank: int
    tied: bool
    employee_no: str
    name: str
    department: str
    total_hours: float
    discussion_points: float
    reflection_grade: float | None
    completed_on: str | None


@dataclass
class Report:
    filters: ReportFilters
    plan_title: str
    groups: list[GroupLine]
    total: GroupLine
    excluded: int
    distribution: list[Bin]
    laggards: list[CadreLine]
    laggards_total: int
    commendation: list[CommendationLine]
    commendation_source: str  # stored (the list the year's job saved), computed (now), none
    commendation_for: str  # the day the stored list was computed for
    harvested_at: dt.datetime | None
    tiers: dict[str, str] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    departments: list[str] = field(default_factory=list)
    courses: list[CourseStudyLine] = field(default_factory=list)  # study time per course, plan order


# --- the building blocks (the dashboard uses them too) --------------------------------------------

def names(plan: Plan | None) -> tuple[dict[str, str], dict[str, str]]:
    """Tier and class names by key, in plan order."""
    if plan is None:
        return {}, {}
    return {t.key: t.name for t in plan.tiers}, {k.key: k.name for k in plan.classes}


def _base(columns: list[Any], filters: ReportFilters, scope: Scope, *, cadre: bool = False,
          membership: bool = False) -> Select[Any]:
    """Records of the year's participants, filtered and scoped; joined with their cadre and class where
    the columns (``cadre``, ``membership``), the filters or the scope need them, and only then."""
    query = select(*columns).select_from(LR)
    if cadre:
        query = query.join(Cadre, Cadre.employee_no == LR.employee_no)
    if filters.department or not scope.everything:
        chosen = select(Cadre.employee_no).where(scope.condition())
        if filters.department:
            chosen = chosen.where(Cadre.department == filters.department)
        query = query.where(LR.employee_no.in_(chosen))
    if membership or filters.klass:
        query = query.outerjoin(Membership, and_(Membership.year == LR.year,
                                                 Membership.employee_no == LR.employee_no))
    query = query.where(LR.year == filters.year, LR.tier_key.is_not(None), LR.status != "excluded")
    if filters.tier:
        query = query.where(LR.tier_key == filters.tier)
    if filters.klass:
        query = query.where(Membership.class_key == filters.klass)
    if filters.status:
        query = query.where(LR.status == filters.status)
    return query


def _joins(group_by: str) -> dict[str, bool]:
    return {"cadre": group_by == "department", "membership": group_by == "class"}


def group_column(group_by: str) -> Any:
    return {"department": Cadre.department, "tier": LR.tier_key, "class": Membership.class_key}[group_by]


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _per_tier(values: dict[str, int]) -> Any:
    """A number per tier (required courses, reflections owed) as an SQL expression on the record."""
    return case(values, value=LR.tier_key, else_=0) if values else literal(0)


#: What the report reads from a record's ``detail``: whether hours and required courses are met, and the
#: lists of what is missing (counted).
DETAIL_FLAGS, DETAIL_LISTS = ("hours_met", "required_met"), ("required_missing", "reflections_missing",
                                                             "reflections_short")


def _detail(dialect: str) -> tuple[Any, dict[str, Any]]:
    """The detail's fields as SQL expressions, and what to join for them (or None). PostgreSQL parses
    a ``json`` value again for every field read from it, which for 10,000 records costs a quarter of a
    second; ``json_to_record`` parses each record once. SQLite reads its JSON quickly as it is."""
    if dialect == "postgresql":
        fields = func.json_to_record(LR.detail).table_valued(
            *(column(name, Boolean) for name in DETAIL_FLAGS),
            *(column(name, JSON) for name in DETAIL_LISTS)).render_derived("detail_fields", with_types=True)
        return fields, {**{name: fields.c[name] for name in DETAIL_FLAGS},
                        **{name: func.coalesce(func.json_array_length(fields.c[name]), 0)
                           for name in DETAIL_LISTS}}
    return None, {**{name: LR.detail[name].as_boolean() for name in DETAIL_FLAGS},
                  **{name: func.coalesce(func.json_array_length(LR.detail[name].as_json()), 0)
                     for name in DETAIL_LISTS}}


def group_lines(session: Session, plan: Plan | None, filters: ReportFilters, scope: Scope = EVERYTHING,
                *, detailed: bool = True) -> list[GroupLine]:
    """One line per group, in plan order for tiers and classes and by name for departments.
    ``detailed`` adds required courses and reflections (read from the records' JSON)."""
    key = group_column(filters.group_by).label("key")
    columns = [key, func.count().label("cadres"), *(_count(LR.status == s).label(s) for s in STATUSES),
               func.coalesce(func.sum(LR.total_hours), 0.0).label("hours"),
               func.coalesce(func.sum(LR.target_hours), 0.0).label("target"),
               func.coalesce(func.sum(LR.discussion_points), 0.0).label("points"),
               _count(LR.discussion_points > 0).label("discussants"),
               func.coalesce(func.sum(LR.offline_hours), 0.0).label("offline_hours"),
               _count(LR.offline_hours > 0).label("offline_cadres")]
    required = {t.key: len(plan.required_courses(t.key)) for t in plan.tiers} if plan else {}
    owed = ({t.key: sum(1 for c in plan.required_courses(t.key) if c.reflection is not None)
             for t in plan.tiers} if plan else {})
    fields, detail = _detail(session.get_bind().dialect.name)
    if detailed:
        columns += [_count(detail["hours_met"]).label("hours_met"),
                    _count(detail["required_met"]).label("required_met"),
                    func.sum(_per_tier(required)).label("required_owed"),
                    func.sum(detail["required_missing"]).label("required_missing"),
                    func.sum(_per_tier(owed)).label("reflections_owed"),
                    func.sum(detail["reflections_missing"]).label("reflections_missing"),
                    func.sum(detail["reflections_short"]).label("reflections_short")]
    lines: dict[str, GroupLine] = {}
    query = _base(columns, filters, scope, **_joins(filters.group_by)).group_by(key)
    if detailed and fields is not None:
        query = query.join(fields, true())
    for row in session.execute(query).mappings():
        line = GroupLine(str(row["key"] or ""), "", int(row["cadres"]), int(row["complete"] or 0),
                         int(row["on_track"] or 0), int(row["behind"] or 0), float(row["hours"]),
                         float(row["target"]), points=float(row["points"]),
                         discussants=int(row["discussants"] or 0),
                         offline_hours=float(row["offline_hours"]),
                         offline_cadres=int(row["offline_cadres"] or 0))
        if detailed:
            line.hours_met, line.required_met = int(row["hours_met"] or 0), int(row["required_met"] or 0)
            line.required_owed = int(row["required_owed"] or 0)
            line.required_done = line.required_owed - int(row["required_missing"] or 0)
            line.reflections_owed = int(row["reflections_owed"] or 0)
            line.reflections_missing = int(row["reflections_missing"] or 0)
            line.reflections_short = int(row["reflections_short"] or 0)
        lines[line.key] = line
    if detailed and lines:
        _reflection_counts(session, filters, scope, lines)
        _study_totals(session, filters, scope, lines)
    return _ordered(plan, filters.group_by, lines)


def _study_totals(session: Session, filters: ReportFilters, scope: Scope,
                  lines: dict[str, GroupLine]) -> None:
    """Study time per group: the rows exist only for courses whose courseware tracks it."""
    key = group_column(filters.group_by).label("key")
    query = (_base([key, func.coalesce(func.sum(StudyTime.seconds), 0.0).label("seconds"),
                    func.count(func.distinct(StudyTime.employee_no)).label("cadres")], filters, scope,
                   **_joins(filters.group_by))
             .join(StudyTime, and_(StudyTime.year == LR.year, StudyTime.employee_no == LR.employee_no))
             .group_by(key))
    for row in session.execute(query).mappings():
        line = lines.get(str(row["key"] or ""))
        if line is not None:
            line.study_seconds = float(row["seconds"] or 0.0)
            line.study_cadres = int(row["cadres"] or 0)


def course_study(session: Session, plan: Plan | None, filters: ReportFilters,
                 scope: Scope = EVERYTHING) -> list[CourseStudyLine]:
    """Study time per course of the plan (plan order) over the reported cadres; a course whose
    courseware tracks no time is listed as not tracked."""
    if plan is None:
        return []
    tracked = set(session.scalars(select(StudyCourseware.course_key).where(
        StudyCourseware.year == filters.year, StudyCourseware.tracked.is_(True))))
    query = (_base([StudyTime.course_key, func.count().label("cadres"),
                    func.coalesce(func.sum(StudyTime.seconds), 0.0).label("seconds"),
                    func.coalesce(func.sum(StudyTime.attempts), 0).label("attempts")], filters, scope,
                   **_joins(filters.group_by))
             .join(StudyTime, and_(StudyTime.year == LR.year, StudyTime.employee_no == LR.employee_no))
             .group_by(StudyTime.course_key))
    found = {row["course_key"]: row for row in session.execute(query).mappings()}
    lines = []
    for course in plan.courses:
        row = found.get(course.key)
        lines.append(CourseStudyLine(course.key, course.name, course.key in tracked or row is not None,
                                     int(row["cadres"]) if row else 0, float(row["seconds"]) if row else 0.0,
                                     int(row["attempts"]) if row else 0))
    return lines


def _reflection_counts(session: Session, filters: ReportFilters, scope: Scope,
                       lines: dict[str, GroupLine]) -> None:
    key = group_column(filters.group_by).label("key")
    awaiting = and_(ReflectionRecord.status == "submitted", ReflectionRecord.grade.is_(None))
    query = (_base([key, _count(awaiting).label("awaiting"),
                    _count(ReflectionRecord.grade.is_not(None)).label("graded")], filters, scope,
                   **_joins(filters.group_by))
             .join(ReflectionRecord, and_(ReflectionRecord.year == LR.year,
                                          ReflectionRecord.employee_no == LR.employee_no))
             .group_by(key))
    for row in session.execute(query).mappings():
        line = lines.get(str(row["key"] or ""))
        if line is not None:
            line.reflections_awaiting = int(row["awaiting"] or 0)
            line.reflections_graded = int(row["graded"] or 0)


def _ordered(plan: Plan | None, group_by: str, lines: dict[str, GroupLine]) -> list[GroupLine]:
    tiers, classes = names(plan)
    known = tiers if group_by == "tier" else classes if group_by == "class" else {}
    for line in lines.values():
        line.name = known.get(line.key, line.key)
    if group_by == "department":
        return sorted(lines.values(), key=lambda line: line.key)
    order = {key: index for index, key in enumerate(known)}
    return sorted(lines.values(), key=lambda line: (order.get(line.key, len(order)), line.key))


def total_of(lines: list[GroupLine]) -> GroupLine:
    total = GroupLine("", "")
    for line in lines:
        total.add(line)
    return total


def distribution(session: Session, filters: ReportFilters, scope: Scope = EVERYTHING) -> list[Bin]:
    """How many cadres have reached which share of their hours target."""
    share = LR.total_hours + EPSILON
    whens = [(share < LR.target_hours * bound, index) for index, bound in enumerate(SHARES)]
    bucket = case(*whens, else_=len(SHARES)).label("bucket")
    query = _base([bucket, func.count()], filters, scope).group_by(bucket)
    counts: dict[int, int] = dict(session.execute(query).all())
    bins, low = [], 0.0
    for index, high in enumerate((*SHARES, None)):
        label = f"{low:.0%}–{high:.0%}" if high is not None else f"≥{low:.0%}"
        bins.append(Bin(label, low, high, int(counts.get(index, 0))))
        low = high or low
    return bins


def last_harvest(session: Session, year: int) -> HarvestRun | None:
    return session.scalar(select(HarvestRun).where(HarvestRun.year == year)
                          .order_by(HarvestRun.id.desc()).limit(1))


def harvested_at(session: Session, year: int) -> dt.datetime | None:
    return session.scalar(select(HarvestRun.finished_at).where(HarvestRun.year == year,
                                                               HarvestRun.status == "done")
                          .order_by(HarvestRun.id.desc()).limit(1))


def laggards(session: Session, plan: Plan | None, filters: ReportFilters, scope: Scope = EVERYTHING, *,
             limit: int | None = 50, offset: int = 0) -> tuple[list[CadreLine], int]:
    """Cadres behind the plan's pace (or the status the filter names), furthest behind first."""
    wanted = filters if filters.status else ReportFilters(filters.year, filters.group_by, filters.department,
                                                          filters.tier, filters.klass, "behind")
    tiers, classes = names(plan)
    share = case((LR.target_hours > 0, LR.total_hours / LR.target_hours), else_=literal(1.0))
    query = (_base([LR.employee_no, Cadre.name, Cadre.department, LR.tier_key, Membership.class_key,
                    LR.status, LR.total_hours, LR.required_hours, LR.target_hours, LR.discussion_points,
                    LR.status_since, LR.offline_hours], wanted, scope, cadre=True, membership=True)
             .order_by(share, LR.total_hours, LR.employee_no).offset(offset))
    if limit is not None:
        query = query.limit(limit)
    rows = [CadreLine(no, name, dept, tiers.get(tier or "", tier or ""),
                      classes.get(klass or "", klass or ""), status, total, required, target, points, since,
                      offline)
            for no, name, dept, tier, klass, status, total, required, target, points, since, offline
            in session.execute(query)]
    count = session.scalar(_base([func.count()], wanted, scope)) or 0
    return rows, int(count)


def commendation(session: Session, plan: Plan | None, filters: ReportFilters, scope: Scope = EVERYTHING
                 ) -> tuple[list[CommendationLine], str, str]:
    """The commendation list: the one the year's job stored, else computed now from the records by the
    plan's rule. Ranks are the tier's; the list is then cut to what the filters and scope show."""
    if plan is None or plan.commendation is None:
        return [], "none", ""
    tiers, _ = names(plan)
    narrowed = not scope.everything or any((filters.department, filters.tier, filters.klass, filters.status))
    visible = set(session.scalars(_base([LR.employee_no], filters, scope))) if narrowed else None
    stored = session.execute(select(CommendationEntry, Cadre.name, Cadre.department)
                             .join(Cadre, Cadre.employee_no == CommendationEntry.employee_no)
                             .where(CommendationEntry.year == filters.year)
                             .order_by(CommendationEntry.id)).all()
    if stored:
        lines = [CommendationLine(tiers.get(e.tier_key, e.tier_key), e.rank, e.tied, e.employee_no,
                                  name, dept, e.total_hours, e.discussion_points, e.reflection_grade,
                                  e.completed_on)
                 for e, name, dept in stored if visible is None or e.employee_no in visible]
        return lines, "stored", stored[0][0].computed_for
    listed = commendations.compute(session, plan)  # the page is cached whole (page_cache)
    return ([CommendationLine(tiers.get(c.tier, c.tier), c.rank, c.tied, c.candidate.employee_no,
                              c.candidate.name, c.candidate.department, c.candidate.total_hours,
                              c.candidate.discussion_points, c.candidate.reflection_grade,
                              c.candidate.completed_on.isoformat() if c.candidate.completed_on else None)
             for c in listed if visible is None or c.candidate.employee_no in visible], "computed", "")


def departments(session: Session, scope: Scope = EVERYTHING) -> list[str]:
    return list(session.scalars(select(Cadre.department).where(scope.condition()).distinct()
                                .order_by(Cadre.department)))


def excluded_count(session: Session, filters: ReportFilters, scope: Scope = EVERYTHING) -> int:
    query = select(func.count()).select_from(LR).where(LR.year == filters.year, LR.status == "excluded")
    if filters.department or not scope.everything:
        chosen = select(Cadre.employee_no).where(scope.condition())
        if filters.department:
            chosen = chosen.where(Cadre.department == filters.department)
        query = query.where(LR.employee_no.in_(chosen))
    return int(session.scalar(query) or 0)


# --- the report ------------------------------------------------------------------------------------

def report(session: Session, filters: ReportFilters, scope: Scope = EVERYTHING, *,
           laggards_limit: int = 50, laggards_offset: int = 0) -> Report:
    """The report for ``filters`` and ``scope``, from ``page_cache`` while the data stands."""
    return cached(session, filters.year, ("report", filters, scope, laggards_limit, laggards_offset),
                  lambda: _report(session, filters, scope, laggards_limit, laggards_offset))


def _report(session: Session, filters: ReportFilters, scope: Scope, laggards_limit: int,
            laggards_offset: int) -> Report:
    plan = plan_of(session, filters.year)
    tiers, classes = names(plan)
    groups = group_lines(session, plan, filters, scope)
    behind, behind_total = laggards(session, plan, filters, scope, limit=laggards_limit,
                                    offset=laggards_offset)
    listed, source, computed_for = commendation(session, plan, filters, scope)
    return Report(filters=filters, plan_title=plan.title if plan else "", groups=groups,
                  total=total_of(groups), excluded=excluded_count(session, filters, scope),
                  distribution=distribution(session, filters, scope), laggards=behind,
                  laggards_total=behind_total, commendation=listed, commendation_source=source,
                  commendation_for=computed_for, harvested_at=harvested_at(session, filters.year),
                  tiers=tiers, classes=classes, departments=departments(session, scope),
                  courses=course_study(session, plan, filters, scope))


def by_status(lines: list[GroupLine]) -> dict[str, int]:
    counted: dict[str, int] = defaultdict(int)
    for line in lines:
        for status in STATUSES:
            counted[status] += getattr(line, status)
    return dict(counted)
