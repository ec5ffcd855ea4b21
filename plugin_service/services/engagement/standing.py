"""Each cadre's standing as the reminders judge it: the harvested learning record, what they opened,
their reflections, and the leaders who are told about them.

Reminders act on harvested data, so they wait for a fresh harvest: records computed for the day
before the reminder's date at the latest (the nightly harvest runs before the reminders).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.plan_model import Plan
from rules.reminders import CadreStanding
from rules.reviewers import reviewer_for

from ...models import (
    Cadre,
    CourseProgress,
    LearningRecordRow,
    Membership,
    ReflectionRecord,
)
from ..read_models.scope import roster_from_store

SUBMITTED = "submitted"


def records_day(session: Session, year: int) -> dt.date | None:
    """The newest day the year's learning records were computed for (None: never harvested)."""
    day = session.scalar(select(func.max(LearningRecordRow.computed_for))
                         .where(LearningRecordRow.year == year))
    return dt.date.fromisoformat(day) if day else None


def fresh_for(session: Session, year: int, on: dt.date) -> bool:
    day = records_day(session, year)
    return day is not None and day >= on - dt.timedelta(days=1)


def standings(session: Session, plan: Plan) -> list[CadreStanding]:
    """Every member of the year, with their harvested numbers (zero before the first harvest);
    excluded members have ``tier`` None."""
    year = plan.year
    records = {row.employee_no: row for row in session.scalars(
        select(LearningRecordRow).where(LearningRecordRow.year == year))}
    members = {m.employee_no: m for m in session.scalars(select(Membership).where(Membership.year == year))}
    cadres = {c.employee_no: c for c in session.scalars(select(Cadre).where(Cadre.employee_no.in_(members)))}
    started: dict[str, set[str]] = {}
    for employee_no, course, opened, done in session.execute(
            select(CourseProgress.employee_no, CourseProgress.course_key, CourseProgress.started_at,
                   CourseProgress.first_completed_at).where(CourseProgress.year == year)):
        if opened is not None or done is not None:
            started.setdefault(employee_no, set()).add(course)
    reflections: dict[str, set[str]] = {}
    for employee_no, course in session.execute(
            select(ReflectionRecord.employee_no, ReflectionRecord.course_key)
            .where(ReflectionRecord.year == year, ReflectionRecord.status == SUBMITTED)):
        reflections.setdefault(employee_no, set()).add(course)
    # Who reviews whom, as the provisioning enrolled the reviewers: the rule on the stored cadres.
    roster = roster_from_store(session) if any("reviewer" in r.to for r in plan.reminders) else None
    found = []
    for employee_no, member in sorted(members.items()):
        cadre = cadres.get(employee_no)
        if cadre is None:
            continue
        record = records.get(employee_no)
        tier = plan.tier(member.tier_key) if member.tier_key and member.excluded is None else None
        detail = record.detail if record is not None and record.detail else {}
        completed = frozenset(str(c["course"]) for c in detail.get("credits", []))
        reviewer = ""
        if roster is not None and roster.get(employee_no) is not None:
            reviewer = reviewer_for(plan, roster, roster[employee_no]).reviewer or ""
        found.append(CadreStanding(
            employee_no=employee_no, name=cadre.name, department=cadre.department,
            tier=tier.key if tier is not None else None,
            total_hours=record.total_hours if record is not None else 0.0,
            required_hours=record.required_hours if record is not None else 0.0,
            target=tier.hours.target if tier is not None else 0.0,
            required_min=tier.hours.required_min if tier is not None else 0.0,
            completed=completed, started=frozenset(started.get(employee_no, set())) | completed,
            reflections=frozenset(reflections.get(employee_no, set())),
            supervising_leader=cadre.supervising_leader or "", reviewer=reviewer))
    return found


def names_and_userids(session: Session) -> tuple[dict[str, str], dict[str, int]]:
    """Every known person's name and Moodle user id by employee number (leaders included)."""
    names: dict[str, str] = {}
    userids: dict[str, int] = {}
    people = select(Cadre.employee_no, Cadre.name, Cadre.moodle_userid)
    for employee_no, name, userid in session.execute(people):
        names[employee_no] = name
        if userid is not None:
            userids[employee_no] = userid
    return names, userids
