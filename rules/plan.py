"""Loading the annual training plan (年度学习计划) that the organisation department writes in YAML.

``load_plan`` either returns a Plan that every later step can trust, or raises InputError listing every
problem of the file at once, each with its line and field path (``plan.yaml line 58
courses[3].required: unknown tier "teachers"``): a plan is edited by people, not generated, and one
round of corrections should be enough. So ``read_plan`` reads each part on its own, drops only the
entries that have an error, and runs the checks across parts (tiers against courses and hours, classes,
reviewers) on what was kept, minding what the dropped entries leave unknown (rules.plan_gaps) so that
no problem is reported that only follows from one already reported. Warnings (a course without a
template) ride along in ``Plan.warnings``. Checks that need the roster are in rules.plan_roster.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TypeVar

from rules.plan_bulletins import bulletins
from rules.plan_checks import check_plan
from rules.plan_courses import announcements, courses, discussions, reminders
from rules.plan_gaps import NO_GAPS, UNREAD_COURSE, Gaps
from rules.plan_model import (
    Announcement,
    Bulletin,
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
    year_offline,
)
from rules.problems import InputError, Problem
from rules.wording import Sentence
from rules.yamltree import YMap, parse

__all__ = [
    "Announcement", "Bulletin", "Certificate", "Commendation", "Condition", "Course", "Discussion",
    "FactTest", "Hours", "Klass", "Match", "MoodleSettings", "Period", "Plan", "PlanReading", "Points",
    "Reflection", "Reminder", "Reviewers", "Survey", "Tier", "load_plan", "read_plan",
]

Section = TypeVar("Section")


@dataclass(frozen=True)
class PlanReading:
    """A plan as far as it could be read: every problem found, the entries read whole, and what the
    broken ones leave unknown. ``kept`` lacks whatever was broken and holds stand-ins for broken sections
    that a Plan cannot do without (the period, the Moodle settings): it is only for checking, and
    ``plan()`` alone hands out a Plan to act on."""

    problems: tuple[Problem, ...]  # by line
    kept: Plan | None  # None: the text is not a plan at all (not YAML, empty, not a mapping)
    gaps: Gaps = NO_GAPS

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def plan(self) -> Plan:
        """The plan to act on, its warnings attached; InputError with every problem if it has an error."""
        if self.kept is None or self.errors:
            raise InputError(list(self.problems))
        warnings = tuple(sorted(self.problems, key=lambda p: (p.line or 0, p.where)))
        return dataclasses.replace(self.kept, warnings=warnings)


def load_plan(text: str, filename: str) -> Plan:
    """The plan in ``text``, or InputError listing every problem in it."""
    return read_plan(text, filename).plan()


def read_plan(text: str, filename: str) -> PlanReading:
    """Every problem of the plan in ``text``, with the entries read whole and the checks across its parts
    run on them; never raises for what the text says."""
    root, problems = parse(text, filename)
    if root is None:
        return PlanReading(_by_line(problems), None)
    r = Reader(filename)
    r.problems.extend(problems)
    ctx = Context(r)
    top = r.mapping(root, TOP_FIELDS, TOP_REQUIRED)
    if top is None:
        return PlanReading(_by_line(r.problems), None)
    year = r.integer(top, "year", positive=True)
    if year is not None and not 2000 <= year <= 2999:
        r.at(top.entries["year"], Sentence("%(year)s is not a plan year (like 2026)", year=year))
    ctx.year = year if r.intact(top, "year") else None
    read_period = period(ctx, top.get("period"))
    ctx.period = read_period if r.intact(top, "period") else None
    year_requirement = year_offline(ctx, top, year_hours(ctx, top.get("hours")))
    tier_list = tiers(ctx, top.get("tiers"), year_requirement)
    if not r.section_read(top, "tiers"):
        ctx.gaps = dataclasses.replace(ctx.gaps, placing_until=0)
    class_list = classes(ctx, top.get("classes"))
    if not r.section_read(top, "classes"):
        ctx.gaps = dataclasses.replace(ctx.gaps, class_tier_unknown=True)
    course_read = courses(ctx, top.get("courses"))
    course_nodes = course_read.nodes
    if not r.section_read(top, "courses"):
        ctx.gaps = dataclasses.replace(ctx.gaps, courses=(*ctx.gaps.courses, UNREAD_COURSE))
    plan = Plan(
        year=ctx.year or 0,
        title=r.text(top, "title") or "",
        organisation=r.text(top, "organisation") or "",
        period=ctx.period or Period(dt.date.min, dt.date.min),  # a stand-in, only where errors stop the plan
        moodle=moodle(ctx, top.get("moodle")),
        hours=year_requirement,
        tiers=tier_list,
        excluded=_excluded(ctx, top),
        classes=class_list,
        courses=course_read.kept,
        reviewers=_reviewers(ctx, top),
        discussions=discussions(ctx, top.get("discussions"), course_read),
        reminders=reminders(ctx, top.get("reminders"), course_nodes),
        announcements=announcements(ctx, top.get("announcements")),
        bulletins=bulletins(ctx, top.get("bulletins")),
        commendation=_whole(r, top, "commendation", commendation(ctx, top.get("commendation"))),
        certificate=_whole(r, top, "certificate", certificate(ctx, top.get("certificate"))),
        survey=_whole(r, top, "survey", survey(ctx, top.get("survey"), course_nodes)) or Survey(),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        filename=filename,
    )
    return PlanReading(_by_line([*r.problems, *check_plan(plan, ctx.gaps)]), plan, ctx.gaps)


def _by_line(problems: list[Problem]) -> tuple[Problem, ...]:
    """In the order the plan's author reads the file."""
    return tuple(sorted(problems, key=lambda p: (p.line or 0, p.where, p.message)))


def _whole(r: Reader, top: YMap, key: str, section: Section | None) -> Section | None:
    """A section as read where it was read whole; None (left out) where it has an error."""
    return section if r.intact(top, key) else None


def _excluded(ctx: Context, top: YMap) -> Match:
    """The exclusion rule; where it has an error, nobody is excluded by it and ``Gaps.excluded`` says that
    who is excluded is not known."""
    rule = excluded(ctx, top.get("excluded"))
    if ctx.r.intact(top, "excluded"):
        return rule
    ctx.gaps = dataclasses.replace(ctx.gaps, excluded=True)
    return Match()


def _reviewers(ctx: Context, top: YMap) -> Reviewers | None:
    """The reviewers where the section was read whole. From a broken section, the fallback reviewer is
    still checked against the roster where it was read itself, since who it is does not depend on the
    rest of the section."""
    read = reviewers(ctx, top.get("reviewers"))
    if ctx.r.intact(top, "reviewers"):
        return read
    node, fallback = top.get("reviewers"), None
    if read is not None and read.fallback is not None and isinstance(node, YMap) \
            and ctx.r.intact(node, "fallback"):
        fallback = (read.fallback, read.line)
    ctx.gaps = dataclasses.replace(ctx.gaps, reviewers=True, fallback=fallback)
    return None
