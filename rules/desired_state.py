"""What Moodle must hold for a plan year, given the plan and the year's roster.

Every cadre of the roster has an account, since records are kept across years: departed cadres (离职)
are suspended rather than deleted, cadres on leave (离岗) keep an active account but are in no class and
no course. Each included cadre learns in every course required or elective for their tier; each
reviewer reviews in every course one of their cadres learns in, keeping the learner role where they
learn too. The result is sorted throughout, so that the same plan and roster give the same state
whatever the order of the roster's rows.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from rules.desired import (
    DesiredCategory,
    DesiredClass,
    DesiredCourse,
    DesiredEnrolment,
    DesiredState,
    DesiredUser,
    ReviewerAssignment,
    category_idnumber,
    class_idnumber,
    course_idnumber,
    course_shortname,
    username,
)
from rules.plan_model import Plan
from rules.reviewers import reviewer_for
from rules.roster import Cadre, Roster
from rules.tiers import placements
from rules.wording import Sentence


def desired_state(plan: Plan, roster: Roster) -> DesiredState:
    year = plan.year
    placed = placements(plan, roster)
    included = {no: p for no, p in placed.items() if p.tier is not None}
    courses = tuple(sorted((_course(plan, c.key) for c in plan.courses), key=lambda c: c.idnumber))
    course_ids_of_tier = {t.key: {c.idnumber for c in courses if t.key in c.required_tiers | c.elective_tiers}
                          for t in plan.tiers}

    enrolments = {DesiredEnrolment(no, course, plan.moodle.learner_role)
                  for no, p in included.items() for course in course_ids_of_tier.get(p.tier or "", ())}
    reviewed: dict[str, set[str]] = {}
    no_reviewer: list[str] = []
    for no in included:
        choice = reviewer_for(plan, roster, roster[no])
        if choice.reviewer is not None:
            reviewed.setdefault(choice.reviewer, set()).add(no)
        elif plan.reviewers is not None and not choice.themself:
            no_reviewer.append(Sentence("%(employee_no)s %(name)s has no reviewer: %(why)s",
                                        employee_no=no, name=roster[no].name, why=choice.why))
    for reviewer, cadres in reviewed.items():
        enrolments |= {DesiredEnrolment(reviewer, course, plan.moodle.reviewer_role)
                       for no in cadres for course in course_ids_of_tier.get(included[no].tier or "", ())}

    classless = [Sentence("%(employee_no)s %(name)s (tier %(tier)s) is in none of the tier's classes",
                          employee_no=no, name=roster[no].name, tier=p.tier)
                 for no, p in included.items() if p.klass is None]
    unplaced = [Sentence("%(employee_no)s %(name)s matches no tier: not enrolled",
                         employee_no=no, name=roster[no].name)
                for no, p in placed.items() if not p.excluded and p.tier is None]
    def members(tier: str, klass: str) -> frozenset[str]:
        return frozenset(no for no, p in included.items() if p.tier == tier and p.klass == klass)

    return DesiredState(
        year=year,
        category=DesiredCategory(category_idnumber(year), plan.moodle.category, plan.moodle.parent_category),
        users=tuple(sorted((_user(plan, c) for c in roster), key=lambda u: u.employee_no)),
        classes=tuple(sorted(
            (DesiredClass(k.key, class_idnumber(year, k.key), k.name, k.tier, members(k.tier, k.key))
             for k in plan.classes), key=lambda k: k.idnumber)),
        courses=courses,
        enrolments=frozenset(enrolments),
        reviewers=tuple(ReviewerAssignment(reviewer, frozenset(cadres))
                        for reviewer, cadres in sorted(reviewed.items())),
        learner_role=plan.moodle.learner_role,
        reviewer_role=plan.moodle.reviewer_role,
        warnings=tuple(sorted(classless + unplaced + no_reviewer)),
    )


def _user(plan: Plan, cadre: Cadre) -> DesiredUser:
    return DesiredUser(employee_no=cadre.employee_no, username=username(cadre.employee_no),
                       firstname=cadre.firstname, lastname=cadre.lastname, email=cadre.email,
                       department=cadre.department, phone=cadre.mobile, suspended=cadre.departed,
                       auth=plan.moodle.auth)


def _course(plan: Plan, key: str) -> DesiredCourse:
    course = plan.course(key)
    assert course is not None
    return DesiredCourse(
        key=course.key, idnumber=course_idnumber(plan.year, course.key),
        shortname=course_shortname(plan.year, course.key), fullname=course.name,
        category_idnumber=category_idnumber(plan.year), hours=course.hours, template=course.template,
        startdate=midnight(plan.period.start, plan.moodle.timezone),
        enddate=midnight(plan.period.end, plan.moodle.timezone),
        required_tiers=course.required, elective_tiers=course.elective)


def midnight(day: dt.date, timezone: str) -> int:
    """Unix time of the day's start where the plan is run: what Moodle's date picker would store."""
    return int(dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(timezone)).timestamp())
