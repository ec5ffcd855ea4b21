"""The commendation list (表彰名单) of a year, from the plan's rule and the harvested records.

Computed from the stored learning records on demand; stored (replacing the previous list) when asked,
which the daily job does once the plan period is over and the records were computed after its end.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from rules.commendation import Candidate, Commended, commendation_list
from rules.hours import EPSILON
from rules.plan_model import Plan

from ...models import (
    Cadre,
    CommendationEntry,
    Membership,
    ReflectionRecord,
    StatusChange,
)
from ...models import LearningRecordRow as LR


def candidates(session: Session, plan: Plan) -> list[Candidate]:
    """The cadres who can be listed: those who reach the rule's hours and, in their tier, at least the
    hours and then discussion points (the rule's first two criteria) of its ``top_per_tier``-th best.
    Anyone below has that many cadres ranked strictly before them, so the list is the same as from every
    cadre; it is ranked on dozens of cadres instead of thousands, without the records' detail."""
    if plan.commendation is None:
        return []
    year = plan.year
    eligible = and_(LR.year == year, LR.status != "excluded", LR.tier_key.is_not(None),
                    LR.total_hours >= plan.commendation.min_hours - EPSILON, Membership.excluded.is_(None))
    member = and_(Membership.year == LR.year, Membership.employee_no == LR.employee_no)
    merits: dict[str, dict[tuple[float, float], int]] = defaultdict(lambda: defaultdict(int))
    for tier, hours, points, count in session.execute(
            select(LR.tier_key, LR.total_hours, LR.discussion_points, func.count()).join(Membership, member)
            .where(eligible).group_by(LR.tier_key, LR.total_hours, LR.discussion_points)):
        merits[tier or ""][(round(hours, 6), round(points, 6))] += count
    cutoff: dict[str, tuple[float, float]] = {}
    for tier, counted in merits.items():
        seen = 0
        for merit in sorted(counted, reverse=True):
            seen += counted[merit]
            cutoff[tier] = merit
            if seen >= plan.commendation.top_per_tier:
                break
    if not cutoff:
        return []
    rows = session.execute(
        select(LR.employee_no, Cadre.name, Cadre.department, LR.tier_key, LR.status, LR.total_hours,
               LR.required_hours, LR.elective_hours, LR.discussion_points)
        .join(Cadre, Cadre.employee_no == LR.employee_no).join(Membership, member)
        .where(eligible, or_(*(and_(LR.tier_key == tier, LR.total_hours >= hours - 1e-6)
                               for tier, (hours, _points) in cutoff.items())))).all()
    shortlist = [row for row in rows if (round(row.total_hours, 6), round(row.discussion_points, 6))
                 >= cutoff[row.tier_key or ""]]
    numbers = [row.employee_no for row in shortlist]
    grades: dict[str, float | None] = dict(session.execute(
        select(ReflectionRecord.employee_no, func.avg(ReflectionRecord.grade))
        .where(ReflectionRecord.year == year, ReflectionRecord.grade.is_not(None),
               ReflectionRecord.employee_no.in_(numbers)).group_by(ReflectionRecord.employee_no)).all())
    reached = dict(session.execute(
        select(StatusChange.employee_no, func.min(StatusChange.on))
        .where(StatusChange.year == year, StatusChange.status == "complete",
               StatusChange.employee_no.in_(numbers)).group_by(StatusChange.employee_no)).all())
    found = []
    for no, name, dept, tier, status, total, required, elective, points in shortlist:
        grade = grades.get(no)
        day = reached.get(no) if status == "complete" else None
        found.append(Candidate(no, name, dept, tier or "", total, required, elective, points,
                               float(grade) if grade is not None else None,
                               dt.date.fromisoformat(day) if day else None))
    return found


def compute(session: Session, plan: Plan) -> list[Commended]:
    return commendation_list(plan, candidates(session, plan))


def store(session: Session, plan: Plan, listed: list[Commended], computed_for: dt.date) -> int:
    """Replaces the year's stored list with ``listed``; returns how many names it holds."""
    session.execute(delete(CommendationEntry).where(CommendationEntry.year == plan.year))
    for entry in listed:
        c = entry.candidate
        session.add(CommendationEntry(
            year=plan.year, tier_key=entry.tier, rank=entry.rank, tied=entry.tied, employee_no=c.employee_no,
            total_hours=c.total_hours, required_hours=c.required_hours, elective_hours=c.elective_hours,
            discussion_points=c.discussion_points, reflection_grade=c.reflection_grade,
            completed_on=c.completed_on.isoformat() if c.completed_on else None,
            computed_for=computed_for.isoformat()))
    session.commit()
    return len(listed)


def stored_day(session: Session, year: int) -> str | None:
    return session.scalar(select(CommendationEntry.computed_for)
                          .where(CommendationEntry.year == year).limit(1))
