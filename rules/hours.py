"""Credit hours (学时认定): each cadre's learning record for the year, and why it reads as it does.

The rules, as the organisation department applies them:

- A course of the plan counts its hours once, on the day it is first completed. Completing it again,
  or completing a course that is not in the year's plan, adds nothing.
- Hours are sorted by the cadre's current tier: its required courses (必修) give required hours, its
  electives (选修) give elective hours. A completed course outside the tier's lists ("other") also
  counts with the electives: a cadre who changes tier during the year (promotion, transfer) keeps every
  hour already earned, even if the course is no longer on their list.
- Electives and other courses count up to the tier's cap (选修课最多计入学时); hours beyond it are
  shown but not counted.
- Offline study (线下学时: party-school courses, lectures, collective study) counts once per training or
  approved claim, in a bucket of its own: never towards the required hours, never as electives (it takes
  nothing from the electives' cap), and up to the tier's offline cap (the plan's ``offline: {max}``, a
  tier may set its own). A plan without one counts no offline hours: they are shown, not counted.
- Total hours = required hours + counted elective hours + counted offline hours.
- The hours requirement is met when the total reaches the tier's target and the required hours reach
  its minimum. Separately, every required course of the tier must be completed.
- A reflection (学习心得, 调研报告) is owed for each required course of the tier that asks for one; one
  asked for by an elective is welcome but not owed. It must be submitted with at least the plan's
  minimum of characters, counted as a reader sees them (see ``rules.reflection_text``). Counted,
  "submitted" is every owed reflection handed in whatever its length, and "long enough" those of them
  reaching the minimum (``reflection_count``, the one count every report and page shows).
- Discussion posts (发言加分) within a discussion's window give points to the tiers taking part, up to
  the discussion's maximum. Points are reported beside the hours and never add to them.
- Status: "complete" when hours, required courses and reflections are all met; "behind" when the hours
  are below the pace the plan expects by today (the target spread evenly over the plan's period), a
  reflection is missing or too short after its due date, or the period is over; "on_track" otherwise.
  A cadre not in the plan this year (on leave, departed, no tier) is "excluded": the hours they did
  complete are still listed, but no requirement applies, so none is reported as met.

Sums are kept exact (a 0.7-hour and a 0.1-hour course make the 0.8 a target asks for) and rounded to
two decimals only where they are written out.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from rules.plan_model import Course, Discussion, Plan, Tier, hours_text
from rules.reflection_text import reflection_chars
from rules.wording import Sentence

__all__ = [
    "KINDS",
    "STATUSES",
    "CourseCredit",
    "CourseFacts",
    "DiscussionFacts",
    "Facts",
    "LearningRecord",
    "OfflineHours",
    "ReflectionCount",
    "ReflectionFacts",
    "discussion_points",
    "expected_hours",
    "explain_record",
    "learning_record",
    "reflection_chars",
    "reflection_count",
]

STATUSES = ("complete", "on_track", "behind", "excluded")
KINDS = ("required", "elective", "other")
#: How the statuses read in Chinese, for `cadre record` and reports.
STATUS_NAMES = {"complete": "已完成", "on_track": "进度正常", "behind": "进度落后",
                "excluded": "不参加本年度学习"}
#: Tolerance of hour comparisons: sums of fractional hours are not exact in binary.
EPSILON = 1e-9
#: ``Facts.excluded`` of a cadre in post whom no tier of the plan matches.
NO_TIER = "no tier matches"


@dataclass(frozen=True)
class CourseFacts:
    course: str  # plan course key
    completed_on: dt.date | None  # first completion day (plan timezone), None if not completed
    started: bool = False  # any activity or access in the course


@dataclass(frozen=True)
class ReflectionFacts:
    course: str  # plan course key whose reflection this is
    submitted: bool
    chars: int = 0  # characters of the submitted text (see reflection_chars)
    grade: float | None = None


@dataclass(frozen=True)
class DiscussionFacts:
    discussion: str  # plan discussion key
    posts_in_window: int


@dataclass(frozen=True)
class OfflineHours:
    """Offline study hours (线下学时) of the cadre, with where they come from: ``source`` is
    "training:<id>" (their attendance at a training an officer recorded) or "claim:<id>" (their claim,
    approved by a reviewer or officer)."""

    source: str
    title: str
    on: dt.date
    hours: float

    @property
    def kind(self) -> str:
        """"training" or "claim"."""
        return self.source.partition(":")[0]


@dataclass(frozen=True)
class Facts:
    """Everything harvested for one cadre in one plan year, with the offline hours approved for it."""

    employee_no: str
    tier: str | None  # current tier key; None when not in the plan this year
    excluded: str | None = None  # why not in the plan (e.g. "离岗", "no tier matches")
    courses: tuple[CourseFacts, ...] = ()
    reflections: tuple[ReflectionFacts, ...] = ()
    discussions: tuple[DiscussionFacts, ...] = ()
    offline: tuple[OfflineHours, ...] = ()


@dataclass(frozen=True)
class CourseCredit:
    course: str
    kind: str  # one of KINDS; "other": completed, outside the current tier's lists, counted as elective
    hours: float
    completed_on: dt.date


@dataclass(frozen=True)
class LearningRecord:
    year: int
    employee_no: str
    tier: str | None  # the plan tier the record is computed for; None when excluded
    status: str  # one of STATUSES
    required_hours: float
    elective_hours_earned: float  # electives + other, before the cap
    elective_hours: float  # counted (capped at elective_max when the plan caps it)
    total_hours: float  # required_hours + elective_hours + offline_hours
    target: float  # the tier's effective hours target (0 when excluded)
    required_min: float
    elective_max: float | None
    expected_hours: float  # pro-rata target for the day the record was computed
    hours_met: bool
    required_met: bool
    reflections_met: bool
    required_missing: tuple[str, ...]  # required course keys not completed, in plan order
    reflections_missing: tuple[str, ...]  # owed reflections not submitted (course keys, plan order)
    reflections_short: tuple[str, ...]  # submitted but under min_chars
    discussion_points: float
    points: tuple[tuple[str, float], ...]  # (discussion key, points), plan order, the tier's discussions
    credits: tuple[CourseCredit, ...]  # completed courses, plan order
    reasons: tuple[str, ...]  # rules.wording.Sentence, each explaining the status with its numbers
    offline_hours_earned: float = 0.0  # offline study, before the cap
    offline_hours: float = 0.0  # counted (capped at offline_max; 0 where the plan counts none)
    offline_max: float | None = None  # the tier's offline cap; None: the plan counts no offline hours
    offline: tuple[OfflineHours, ...] = ()  # each training or claim once, by day


def learning_record(plan: Plan, facts: Facts, today: dt.date) -> LearningRecord:
    """The cadre's record on ``today``; the same plan, facts and day always give the same record."""
    completed = _first_completions(plan, facts.courses)
    tier = plan.tier(facts.tier) if facts.tier is not None else None
    if tier is None:
        return _excluded(plan, facts, completed)

    credits = tuple(CourseCredit(c.key, _kind(c, tier.key), c.hours, completed[c.key])
                    for c in plan.courses if c.key in completed)
    required_hours = math.fsum(c.hours for c in credits if c.kind == "required")
    earned = math.fsum(c.hours for c in credits if c.kind != "required")
    cap = tier.hours.elective_max
    counted = earned if cap is None else min(earned, cap)
    offline = _offline(facts.offline)
    offline_earned = math.fsum(o.hours for o in offline)
    offline_cap = tier.hours.offline_max
    offline_counted = 0.0 if offline_cap is None else min(offline_earned, offline_cap)
    total = required_hours + counted + offline_counted
    hours_met = _reaches(total, tier.hours.target) and _reaches(required_hours, tier.hours.required_min)

    required = plan.required_courses(tier.key)
    required_missing = tuple(c.key for c in required if c.key not in completed)
    submitted = _submitted(facts.reflections)
    owed = tuple(c for c in required if c.reflection is not None)
    reflections_missing = tuple(c.key for c in owed if c.key not in submitted)
    reflections_short = tuple(c.key for c in owed if c.reflection is not None and c.key in submitted
                              and submitted[c.key] < c.reflection.min_chars)

    posts = _posts(facts.discussions)
    points = tuple((d.key, discussion_points(d, posts.get(d.key, 0)))
                   for d in plan.discussions if tier.key in d.tiers)
    expected = expected_hours(plan, tier.hours.target, today)

    reasons = [_hours_sentence(tier, required_hours, earned, credits, offline_earned),
               *(_offline_sentence(o) for o in offline),
               Sentence("required courses completed: %(done)s of %(count)s",
                        done=len(required) - len(required_missing), count=len(required)),
               *(Sentence("required course not completed: %(course)s (%(name)s)", course=c.key, name=c.name)
                 for c in required if c.key in required_missing)]
    if owed:
        reasons.append(reflection_count([c.key for c in owed], reflections_missing,
                                        reflections_short).sentence())
    late = False
    for course in owed:
        if course.key in reflections_missing or course.key in reflections_short:
            sentence, overdue = _reflection_sentence(course, submitted.get(course.key), today)
            reasons.append(sentence)
            late = late or overdue

    required_met, reflections_met = not required_missing, not (reflections_missing or reflections_short)
    if hours_met and required_met and reflections_met:
        status = "complete"
    else:
        slow = total < expected - EPSILON
        ended = today > plan.period.end
        pace = {"day": today.isoformat(), "hours": _h(expected)}
        reasons.append(Sentence("behind pace: by %(day)s the plan expects %(hours)s hours", **pace) if slow
                       else Sentence("on pace: by %(day)s the plan expects %(hours)s hours", **pace))
        if ended:
            reasons.append(Sentence("the plan period ended on %(day)s with the requirements not met",
                                    day=plan.period.end.isoformat()))
        status = "behind" if slow or late or ended else "on_track"

    return LearningRecord(
        year=plan.year, employee_no=facts.employee_no, tier=tier.key, status=status,
        required_hours=required_hours, elective_hours_earned=earned, elective_hours=counted,
        total_hours=total, target=tier.hours.target, required_min=tier.hours.required_min,
        elective_max=cap, expected_hours=expected, hours_met=hours_met, required_met=required_met,
        reflections_met=reflections_met, required_missing=required_missing,
        reflections_missing=reflections_missing, reflections_short=reflections_short,
        discussion_points=math.fsum(p for _, p in points), points=points, credits=credits,
        reasons=tuple(reasons), offline_hours_earned=offline_earned, offline_hours=offline_counted,
        offline_max=offline_cap, offline=offline)


@dataclass(frozen=True)
class ReflectionCount:
    """How far a cadre's owed reflections are, as every report and page counts them: ``submitted`` is
    each owed reflection handed in (Moodle's "submitted"), whatever its length, since a reviewer has
    it to read; ``long_enough`` those of them that reach the plan's minimum, which is what meets the
    requirement. Two numbers under two names, never one standing for the other."""

    owed: int
    submitted: int
    long_enough: int

    def sentence(self) -> Sentence:
        return Sentence("reflections submitted: %(submitted)s of %(owed)s (%(long_enough)s long enough)",
                        submitted=self.submitted, owed=self.owed, long_enough=self.long_enough)


def reflection_count(owed: Iterable[str], missing: Iterable[str], short: Iterable[str]) -> ReflectionCount:
    """The count of a record's reflections from its lists: the owed courses, those not submitted
    (``reflections_missing``) and those submitted too short (``reflections_short``)."""
    keys = set(owed)
    unsent = keys & set(missing)
    too_short = (keys & set(short)) - unsent
    return ReflectionCount(len(keys), len(keys) - len(unsent), len(keys) - len(unsent) - len(too_short))


def expected_hours(plan: Plan, target: float, today: dt.date) -> float:
    """The hours a steady learner has by ``today``: the target spread evenly over the plan's period,
    nothing before it starts, all of it from its last day on."""
    start, end = plan.period.start, plan.period.end
    span = (end - start).days
    if span <= 0:
        return target if today >= start else 0.0
    return target * min(max((today - start).days / span, 0.0), 1.0)


def discussion_points(discussion: Discussion, posts_in_window: int) -> float:
    """Points for ``posts_in_window`` posts: ``per_post`` each, never more than the discussion's
    ``max``; a discussion without points gives none."""
    if discussion.points is None:
        return 0.0
    earned = discussion.points.per_post * max(posts_in_window, 0)
    return max(0.0, min(discussion.points.max, earned))


def explain_record(record: LearningRecord) -> list[str]:
    """The record as plain text, for `cadre record`: the status, why, what was completed, the points."""
    tier = f", tier {record.tier}" if record.tier is not None else ""
    out = [f"{record.employee_no} {record.year}: {record.status} ({STATUS_NAMES[record.status]}){tier}"]
    out += [f"  {reason}" for reason in record.reasons]
    out.append("  completed courses (已完成课程):" + ("" if record.credits else " none"))
    out += [f"    {c.completed_on.isoformat()} {c.course} {_h(c.hours)}h {c.kind}" for c in record.credits]
    if record.offline:
        cap = ("no cap" if record.tier is None else "the plan counts none" if record.offline_max is None
               else f"counted up to {_h(record.offline_max)}")
        out.append(f"  offline hours (线下学时): {_h(record.offline_hours)} counted of "
                   f"{_h(record.offline_hours_earned)} ({cap})")
        out += [f"    {o.on.isoformat()} {o.source} {o.title} {_h(o.hours)}h" for o in record.offline]
    if record.points:
        each = ", ".join(f"{key} {_h(points)}" for key, points in record.points)
        out.append(f"  discussion points (发言加分, not hours): {_h(record.discussion_points)} ({each})")
    return out


def _first_completions(plan: Plan, courses: Iterable[CourseFacts]) -> dict[str, dt.date]:
    """Completion day of each completed course of the plan; of repeated facts, the earliest day."""
    keys = {c.key for c in plan.courses}
    first: dict[str, dt.date] = {}
    for fact in courses:
        if fact.course in keys and fact.completed_on is not None:
            known = first.get(fact.course)
            first[fact.course] = fact.completed_on if known is None else min(known, fact.completed_on)
    return first


def _submitted(reflections: Iterable[ReflectionFacts]) -> dict[str, int]:
    """Characters of each course's submitted reflection; of repeated facts, the longest text."""
    out: dict[str, int] = {}
    for fact in reflections:
        if fact.submitted:
            out[fact.course] = max(out.get(fact.course, 0), fact.chars)
    return out


def _offline(facts: Iterable[OfflineHours]) -> tuple[OfflineHours, ...]:
    """Each training or claim once (repeated facts are the same hours seen twice), by day."""
    seen: dict[str, OfflineHours] = {}
    for fact in facts:
        seen.setdefault(fact.source, fact)
    return tuple(sorted(seen.values(), key=lambda o: (o.on, o.source)))


def _posts(discussions: Iterable[DiscussionFacts]) -> dict[str, int]:
    """Posts in each discussion's window; repeated facts are the same count seen twice, not added."""
    out: dict[str, int] = {}
    for fact in discussions:
        out[fact.discussion] = max(out.get(fact.discussion, 0), fact.posts_in_window)
    return out


def _kind(course: Course, tier: str) -> str:
    if tier in course.required:
        return "required"
    return "elective" if tier in course.elective else "other"


def _reaches(value: float, threshold: float) -> bool:
    return value >= threshold - EPSILON


def _excluded(plan: Plan, facts: Facts, completed: dict[str, dt.date]) -> LearningRecord:
    credits = tuple(CourseCredit(c.key, "other", c.hours, completed[c.key])
                    for c in plan.courses if c.key in completed)
    hours = math.fsum(c.hours for c in credits)
    offline = _offline(facts.offline)
    offline_hours = math.fsum(o.hours for o in offline)
    if facts.tier is not None:
        why = Sentence("tier %(tier)s is not in the plan", tier=facts.tier)
    elif facts.excluded == NO_TIER:
        why = Sentence("not in the plan this year: no tier matches")
    elif facts.excluded:
        why = Sentence("not in the plan this year: %(why)s", why=facts.excluded)
    else:
        why = Sentence("not in the plan this year")
    kept = [Sentence("completed courses give %(hours)s hours; no requirement applies", hours=_h(hours))] \
        if credits else []
    if offline:
        kept.append(Sentence("offline study gives %(hours)s hours; no requirement applies",
                             hours=_h(offline_hours)))
        kept += [_offline_sentence(o) for o in offline]
    return LearningRecord(
        year=plan.year, employee_no=facts.employee_no, tier=None, status="excluded", required_hours=0.0,
        elective_hours_earned=hours, elective_hours=hours, total_hours=hours + offline_hours, target=0.0,
        required_min=0.0, elective_max=None, expected_hours=0.0, hours_met=False, required_met=False,
        reflections_met=False, required_missing=(), reflections_missing=(), reflections_short=(),
        discussion_points=0.0, points=(), credits=credits, reasons=(why, *kept),
        offline_hours_earned=offline_hours, offline_hours=offline_hours, offline=offline)


def _hours_sentence(tier: Tier, required: float, earned: float, credits: tuple[CourseCredit, ...],
                    offline: float) -> Sentence:
    """"38 of 50 hours (required 24 of at least 30; electives 14, counted up to 24)", with the offline
    study's part where the cadre has some ("...; offline 6, counted up to 10")."""
    hours = tier.hours
    counted = earned if hours.elective_max is None else min(earned, hours.elective_max)
    other = math.fsum(c.hours for c in credits if c.kind == "other")
    electives = _electives(earned, other, hours.elective_max)
    values = {"target": _h(hours.target), "required": _h(required), "required_min": _h(hours.required_min),
              "electives": electives}
    if not offline:
        return Sentence("%(total)s of %(target)s hours (required %(required)s of at least %(required_min)s; "
                        "%(electives)s)", total=_h(required + counted), **values)
    cap = hours.offline_max
    offline_counted = 0.0 if cap is None else min(offline, cap)
    part = (Sentence("offline %(earned)s, not counted: the plan counts no offline hours", earned=_h(offline))
            if cap is None else Sentence("offline %(earned)s, counted up to %(cap)s", earned=_h(offline),
                                         cap=_h(cap)))
    return Sentence("%(total)s of %(target)s hours (required %(required)s of at least %(required_min)s; "
                    "%(electives)s; %(offline)s)", total=_h(required + counted + offline_counted),
                    offline=part, **values)


def _offline_sentence(offline: OfflineHours) -> Sentence:
    """One training or claim the offline hours come from."""
    values = {"title": offline.title, "day": offline.on.isoformat(), "hours": _h(offline.hours)}
    if offline.kind == "training":
        return Sentence("offline study: %(title)s on %(day)s, %(hours)s hours (attendance recorded)",
                        **values)
    return Sentence("offline study: %(title)s on %(day)s, %(hours)s hours (claim approved)", **values)


def _electives(earned: float, other: float, cap: float | None) -> Sentence:
    """The electives' part of the hours sentence, naming the hours from outside the tier and the cap
    where there are any."""
    if cap is None:
        if other:
            return Sentence("electives %(earned)s, %(other)s of them from courses outside the tier",
                            earned=_h(earned), other=_h(other))
        return Sentence("electives %(earned)s", earned=_h(earned))
    if other:
        return Sentence("electives %(earned)s, %(other)s of them from courses outside the tier, counted up "
                        "to %(cap)s", earned=_h(earned), other=_h(other), cap=_h(cap))
    return Sentence("electives %(earned)s, counted up to %(cap)s", earned=_h(earned), cap=_h(cap))


def _reflection_sentence(course: Course, chars: int | None, today: dt.date) -> tuple[Sentence, bool]:
    """What is wrong with the reflection a required course asks for, and whether it is overdue."""
    reflection = course.reflection
    assert reflection is not None
    overdue = reflection.due < today
    said = {"title": reflection.title, "course": course.key, "due": reflection.due.isoformat()}
    if chars is None:
        if overdue:
            return Sentence("reflection %(title)s for %(course)s is missing, due %(due)s, overdue",
                            **said), True
        return Sentence("reflection %(title)s for %(course)s is missing, due %(due)s", **said), False
    if overdue:
        return Sentence("reflection %(title)s for %(course)s is too short: %(chars)s of at least "
                        "%(min_chars)s characters, due %(due)s, overdue",
                        chars=chars, min_chars=reflection.min_chars, **said), True
    return Sentence("reflection %(title)s for %(course)s is too short: %(chars)s of at least %(min_chars)s "
                    "characters, due %(due)s", chars=chars, min_chars=reflection.min_chars, **said), False


def _h(value: float) -> str:
    """Hours as written: rounded to two decimals, 10.0 as "10"."""
    return hours_text(round(value, 2))
