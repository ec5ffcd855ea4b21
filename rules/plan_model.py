"""The annual training plan (年度学习计划) as the rest of Cadre Companion sees it once it has been checked.

Everything is resolved at load time so that no consumer re-implements the plan's defaults: a tier's
``hours`` already merges its own override with the year's requirement, a course's ``required: all``
is already the set of every tier, a discussion without ``tiers`` already names the tiers enrolled in its
course. Items keep the ``line`` they start on in the plan file, for messages that point back to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rules.problems import Problem

#: Conditions a reminder's ``when`` may name, and what each takes.
WHEN_CONDITIONS = {
    "hours_below": "hours",  # total credited hours below this number
    "required_hours_below": "hours",  # hours of required courses below this number
    "reflection_missing": "course",  # no reflection submitted yet in this course
    "course_incomplete": "course",  # this course not completed yet
    "course_not_started": "course",  # this course not even opened yet
}
#: The course a course condition may name instead of one course: any required course of the cadre's tier.
ANY_REQUIRED = "required"
#: Who a reminder may be sent to.
RECIPIENTS = ("learner", "supervising_leader", "reviewer")
#: What the certificate of study hours (学时证明书) may require.
CERTIFICATE_REQUIREMENTS = ("hours_met", "required_met", "reflections_submitted")
#: How reviewers are chosen: each cadre's supervising leader, or the fallback leader for everyone.
REVIEWER_RULES = ("supervising_leader", "fallback")
#: Who a bulletin (通报) goes to: the school leaders, each department's head(s), every cadre taking part.
AUDIENCES = ("leaders", "department_heads", "all")
#: The roster positions (职务) of a department's head(s) when a bulletin names none: the principal post of
#: an office, a school or a centre, and the party secretary who shares the lead of a school.
HEAD_POSITIONS = ("处长", "部长", "院长", "主任", "馆长", "所长", "党总支书记", "党委书记", "直属党支部书记")


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


@dataclass(frozen=True)
class MoodleSettings:
    category: str  # name of the year's course category
    learner_role: str  # role shortnames
    reviewer_role: str
    parent_category: str | None = None  # idnumber of the category the year's one is created in; None: top
    auth: str = "manual"  # auth plugin of created accounts
    timezone: str = "Asia/Shanghai"  # where the plan's dates are midnights


@dataclass(frozen=True)
class Hours:
    """The credit-hour requirement (学时要求): ``target`` in all, at least ``required_min`` from required
    courses, at most ``elective_max`` counted from electives (None: no cap), and at most ``offline_max``
    counted from offline study (线下学时: party-school courses, lectures, collective study; None: the plan
    counts none). Offline hours are a bucket of their own: never required hours, never electives."""

    target: float
    required_min: float
    elective_max: float | None = None
    offline_max: float | None = None


@dataclass(frozen=True)
class FactTest:
    """One line of a ``match``: the roster fact must be one of the values (canonical roster words)."""

    fact: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """All tests must pass; an empty match matches everyone."""

    tests: tuple[FactTest, ...] = ()


@dataclass(frozen=True)
class Tier:
    key: str
    name: str
    match: Match
    hours: Hours  # effective: the tier's own values where it sets them, the year's otherwise
    own_hours: frozenset[str] = frozenset()  # which of target/required_min/elective_max/offline_max it sets
    line: int = 0
    index: int = 0  # its place in the plan's list of tiers, for messages ("tiers[2]")


@dataclass(frozen=True)
class Klass:
    """A class (班级) of one tier, a Moodle cohort; its own ``match`` narrows the tier (empty: all of it)."""

    key: str
    tier: str
    name: str
    match: Match = Match()
    line: int = 0
    index: int = 0  # its place in the plan's list of classes, for messages ("classes[3]")


@dataclass(frozen=True)
class Reflection:
    """Written work (学习心得, 调研报告) reviewed by a leader; Chinese is counted in characters."""

    title: str
    due: dt.date
    min_chars: int


@dataclass(frozen=True)
class Course:
    key: str
    name: str
    hours: float
    template: str | None  # shortname of the template course to copy; None: created empty
    required: frozenset[str]  # tier keys ("all" resolved)
    elective: frozenset[str]
    reflection: Reflection | None = None
    line: int = 0

    def tiers(self) -> frozenset[str]:
        return self.required | self.elective


@dataclass(frozen=True)
class Points:
    """Participation points (发言加分): ``per_post`` for each post in the window, ``max`` in all."""

    per_post: float
    max: float


@dataclass(frozen=True)
class Discussion:
    key: str
    course: str
    title: str
    opens: dt.date
    closes: dt.date
    points: Points | None
    tiers: frozenset[str]  # who takes part (default: every tier enrolled in the course)
    line: int = 0


@dataclass(frozen=True)
class Condition:
    kind: str  # one of WHEN_CONDITIONS
    value: float | str  # hours, or a course key


@dataclass(frozen=True)
class Reminder:
    """Urging (督促): sent on ``on`` to cadres meeting every condition; never twice for one key."""

    key: str
    on: dt.date
    when: tuple[Condition, ...]
    to: tuple[str, ...]  # RECIPIENTS
    tiers: frozenset[str]  # default: all tiers
    line: int = 0


@dataclass(frozen=True)
class Announcement:
    """Targeted announcement (分类推送); ``key`` defaults to "<date>-<n>" (n-th announcement that day)."""

    key: str
    on: dt.date
    to: frozenset[str]  # tier keys ("all" resolved)
    subject: str
    body: str
    line: int = 0


@dataclass(frozen=True)
class Bulletin:
    """A progress bulletin (通报): on ``on``, each department's and tier's standing, ranked, goes to its
    audiences (AUDIENCES, in that order); never twice for one key. ``key`` defaults to the date (a second
    bulletin on one day: "<date>-2"). A department's heads are its cadres in post whose position is one of
    ``head_positions`` (school leaders are the leaders' audience, never a department's head)."""

    key: str
    on: dt.date
    title: str
    to: tuple[str, ...]
    head_positions: tuple[str, ...] = HEAD_POSITIONS
    line: int = 0


@dataclass(frozen=True)
class Reviewers:
    by: str  # REVIEWER_RULES
    fallback: str | None  # employee number of the leader who reviews when the rule names nobody
    line: int = 0  # of the fallback (or of the section)


@dataclass(frozen=True)
class Commendation:
    top_per_tier: int
    min_hours: float


@dataclass(frozen=True)
class Survey:
    """The training-needs survey (培训需求调查): the feedback activity named ``activity`` in ``course``
    (any course of the year when None), whose answers are summarised for next year's plan."""

    activity: str = "培训需求调查"
    course: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Certificate:
    title: str
    issuer: str
    requires: frozenset[str]  # CERTIFICATE_REQUIREMENTS that must hold


@dataclass(frozen=True)
class Plan:
    year: int
    title: str
    organisation: str
    period: Period
    moodle: MoodleSettings
    hours: Hours  # the year's requirement (tiers may override it)
    tiers: tuple[Tier, ...]  # in order: first match wins
    excluded: Match  # tested before the tiers (on leave, departed); empty: nobody
    classes: tuple[Klass, ...]
    courses: tuple[Course, ...]
    reviewers: Reviewers | None = None
    discussions: tuple[Discussion, ...] = ()
    reminders: tuple[Reminder, ...] = ()
    announcements: tuple[Announcement, ...] = ()
    bulletins: tuple[Bulletin, ...] = ()
    commendation: Commendation | None = None
    survey: Survey = field(default_factory=Survey)
    certificate: Certificate | None = None
    sha256: str = ""  # of the source text: which plan produced a change
    filename: str = "plan"
    warnings: tuple[Problem, ...] = field(default=(), compare=False)

    def tier(self, key: str) -> Tier | None:
        return next((t for t in self.tiers if t.key == key), None)

    def course(self, key: str) -> Course | None:
        return next((c for c in self.courses if c.key == key), None)

    def klass(self, key: str) -> Klass | None:
        return next((k for k in self.classes if k.key == key), None)

    def classes_of(self, tier: str) -> tuple[Klass, ...]:
        return tuple(k for k in self.classes if k.tier == tier)

    def required_courses(self, tier: str) -> tuple[Course, ...]:
        return tuple(c for c in self.courses if tier in c.required)

    def elective_courses(self, tier: str) -> tuple[Course, ...]:
        return tuple(c for c in self.courses if tier in c.elective)


def hours_text(value: float) -> str:
    """10.0 as "10", 1.5 as "1.5": hours are written as people write them."""
    return str(int(value)) if float(value).is_integer() else str(value)
