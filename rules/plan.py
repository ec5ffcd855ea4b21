"""Loading the annual training plan (年度学习计划) that the organisation department writes in YAML.

``load_plan`` either returns a Plan that every later step can trust, or raises InputError listing every
problem of the file at once, each with its line and field path (``plan.yaml line 58
courses[3].required: unknown tier "teachers"``): a plan is edited by people, not generated, and one
round of corrections should be enough. Warnings (a course without a template) ride along in
``Plan.warnings``. Checks that need the roster are in rules.plan_roster.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

from rules.plan_checks import check_plan
from rules.plan_courses import announcements, courses, discussions, reminders
from rules.plan_model import (
    Announcement,
    Certificate,
    Commendation,
    Condition,
    Course,
    Discussion,
    FactTest,
    Hours,
    Klass,
    Match,
    MoodleSettings,
    Period,
    Plan,
    Points,
    Reflection,
    Reminder,
    Reviewers,
    Survey,
    Tier,
)
from rules.plan_reader import Reader
from rules.plan_schema import (
    TOP_FIELDS,
    TOP_REQUIRED,
    Context,
    certificate,
    classes,
    commendation,
    excluded,
    moodle,
    period,
    reviewers,
    survey,
    tiers,
    year_hours,
)
from rules.problems import InputError
from rules.wording import Sentence
from rules.yamltree import parse

__all__ = [
    "Announcement", "Certificate", "Commendation", "Condition", "Course", "Discussion", "FactTest",
    "Hours", "Klass", "Match", "MoodleSettings", "Period", "Plan", "Points", "Reflection", "Reminder",
    "Reviewers", "Survey", "Tier", "load_plan",
]


def load_plan(text: str, filename: str) -> Plan:
    """The plan in ``text``, or InputError listing every problem in it."""
    root, problems = parse(text, filename)
    if root is None:
        raise InputError(problems)
    r = Reader(filename)
    r.problems.extend(problems)
    ctx = Context(r)
    top = r.mapping(root, TOP_FIELDS, TOP_REQUIRED)
    if top is None:
        raise InputError(r.problems)
    ctx.year = r.integer(top, "year", positive=True)
    if ctx.year is not None and not 2000 <= ctx.year <= 2999:
        r.at(top.entries["year"], Sentence("%(year)s is not a plan year (like 2026)", year=ctx.year))
    ctx.period = period(ctx, top.get("period"))
    year_requirement = year_hours(ctx, top.get("hours"))
    tier_list = tiers(ctx, top.get("tiers"), year_requirement)
    course_list, course_nodes = courses(ctx, top.get("courses"))
    if not course_list:
        ctx.complete = False
    by_course: dict[str, Course] = {}
    for course in course_list:
        by_course.setdefault(course.key, course)
    plan = Plan(
        year=ctx.year or 0,
        title=r.text(top, "title") or "",
        organisation=r.text(top, "organisation") or "",
        period=ctx.period or Period(dt.date.min, dt.date.min),  # only kept when errors stop the plan
        moodle=moodle(ctx, top.get("moodle")),
        hours=year_requirement,
        tiers=tier_list,
        excluded=excluded(ctx, top.get("excluded")),
        classes=classes(ctx, top.get("classes")),
        courses=course_list,
        reviewers=reviewers(ctx, top.get("reviewers")),
        discussions=discussions(ctx, top.get("discussions"), by_course),
        reminders=reminders(ctx, top.get("reminders"), course_nodes),
        announcements=announcements(ctx, top.get("announcements")),
        commendation=commendation(ctx, top.get("commendation")),
        certificate=certificate(ctx, top.get("certificate")),
        survey=survey(ctx, top.get("survey"), course_nodes),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        filename=filename,
    )
    problems = r.problems + check_plan(plan, hours_complete=ctx.complete)
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return dataclasses.replace(plan, warnings=tuple(sorted(problems, key=lambda p: (p.line or 0, p.where))))
