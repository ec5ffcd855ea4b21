"""The commendation list (表彰名单) of a year, from the plan's rule and the harvested records.

Computed from the stored learning records on demand; stored (replacing the previous list) when asked,
which the daily job does once the plan period is over and the records were computed after its end.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rules.commendation import Candidate, Commended, commendation_list
from rules.plan_model import Plan

from ...models import (
    Cadre,
    CommendationEntry,
    LearningRecordRow,
    Membership,
    ReflectionRecord,
    StatusChange,
)


def candidates(session: Session, plan: Plan) -> list[Candidate]:
    year = plan.year
    grades: dict[str, list[float]] = defaultdict(list)
    for employee_no, grade in session.execute(select(ReflectionRecord.employee_no, ReflectionRecord.grade)
                                              .where(ReflectionRecord.year == year,
                                                     ReflectionRecord.grade.is_not(None))):
        if grade is not None:
            grades[employee_no].append(float(grade))
    completed: dict[str, dt.date] = {}
    reached = (select(StatusChange.employee_no, StatusChange.on)
               .where(StatusChange.year == year, StatusChange.status == "complete").order_by(StatusChange.id))
    for employee_no, on in session.execute(reached):
        completed.setdefault(employee_no, dt.date.fromisoformat(on))
    excluded = set(session.scalars(select(Membership.employee_no).where(Membership.year == year,
                                                                        Membership.excluded.is_not(None))))
    found = []
    for record, name, department in session.execute(
            select(LearningRecordRow, Cadre.name, Cadre.department)
            .join(Cadre, Cadre.employee_no == LearningRecordRow.employee_no)
            .where(LearningRecordRow.year == year, LearningRecordRow.status != "excluded")):
        if record.tier_key is None or record.employee_no in excluded:
            continue
        marks = grades.get(record.employee_no)
        found.append(Candidate(record.employee_no, name, department, record.tier_key, record.total_hours,
                               record.required_hours, record.elective_hours, record.discussion_points,
                               sum(marks) / len(marks) if marks else None,
                               completed.get(record.employee_no) if record.status == "complete" else None))
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
