"""What a harvest of one plan year works from: the applied plan and the year's Moodle ids, as stored.

A harvest reads only what provisioning created: the year's courses by their Moodle id, the cadres by
their Moodle user id and user idnumber (the employee number, behind the namespace where one is set).
Anything else Moodle shows (other years, other users) is skipped without a lookup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.plan import Plan, load_plan

from ...models import Cadre, Membership, StoredPlan, YearCourse
from ..provisioning.stored import applied_plan


class HarvestError(Exception):
    """The harvest cannot run or cannot finish; the message says why and what to do."""


@dataclass(frozen=True)
class YearContext:
    plan: Plan
    plan_id: int
    namespace: str
    courses: dict[str, int]  # course key -> Moodle course id
    course_by_idnumber: dict[str, str]  # Moodle course idnumber -> course key
    cadre_by_userid: dict[int, str]  # Moodle user id -> employee number
    cadre_by_idnumber: dict[str, str]  # Moodle user idnumber -> employee number
    names: dict[str, str]  # employee number -> name (for graders)
    members: dict[str, Membership]  # employee number -> the year's membership
    userid_of: dict[str, int]  # employee number -> Moodle user id

    @property
    def year(self) -> int:
        return self.plan.year

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.plan.moodle.timezone)

    def course_keys(self) -> list[str]:
        """The year's courses that exist in Moodle, in plan order."""
        return [course.key for course in self.plan.courses if course.key in self.courses]

    def day_of(self, moment: dt.datetime) -> dt.date:
        """The plan-timezone day of a naive UTC time."""
        return moment.replace(tzinfo=dt.UTC).astimezone(self.tz).date()


def latest_year(session: Session) -> int | None:
    """The newest year that was applied to Moodle."""
    return session.scalar(select(StoredPlan.year).where(StoredPlan.applied_at.is_not(None))
                          .order_by(StoredPlan.year.desc()).limit(1))


def load_context(session: Session, year: int, namespace: str) -> YearContext:
    stored = applied_plan(session, year)
    if stored is None:
        raise HarvestError(f"no plan for {year} was applied to Moodle: run `cadre plan apply` first")
    plan = load_plan(stored.text, stored.filename)
    courses: dict[str, int] = {}
    by_idnumber: dict[str, str] = {}
    for row in session.scalars(select(YearCourse).where(YearCourse.year == year)):
        if row.moodle_courseid is not None:
            courses[row.key] = row.moodle_courseid
            by_idnumber[namespace + row.idnumber] = row.key
    members = {m.employee_no: m for m in session.scalars(select(Membership).where(Membership.year == year))}
    by_userid: dict[int, str] = {}
    names: dict[str, str] = {}
    for employee_no, userid, name in session.execute(select(Cadre.employee_no, Cadre.moodle_userid,
                                                            Cadre.name)):
        names[employee_no] = name
        if userid is not None:
            by_userid[userid] = employee_no
    by_idnumber_user = {namespace + employee_no: employee_no for employee_no in names}
    return YearContext(plan, stored.id, namespace, courses, by_idnumber, by_userid, by_idnumber_user,
                       names, members, {no: userid for userid, no in by_userid.items()})
