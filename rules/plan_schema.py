"""The shape of a plan: which fields each part has, which are required, and what each refers to.

Sections are read in the order they depend on each other (tiers, then classes and courses that name
tiers, then discussions and reminders that name courses), so that a reference is checked where it is
written. Where a value is bad a neutral one stands in while the entry is read, so that the rest of it is
still checked; an entry with an error is then dropped, and what it leaves unknown is noted in
``Context.gaps`` (see rules.plan_gaps). The Plan is only returned when nothing was wrong (see rules.plan).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Literal

from rules.plan_gaps import HOURS, NO_GAPS, Gaps
from rules.plan_model import (
    ANY_REQUIRED,
    CERTIFICATE_REQUIREMENTS,
    RECIPIENTS,
    REVIEWER_RULES,
    WHEN_CONDITIONS,
    Certificate,
    Commendation,
    Condition,
    FactTest,
    Hours,
    Klass,
    Match,
    MoodleSettings,
    Period,
    Reviewers,
    Survey,
    Tier,
    hours_text,
)
from rules.plan_reader import Reader, unknown_name
from rules.vocabulary import CLOSED_FACTS, MATCH_FACTS, close_match
from rules.wording import Sentence
from rules.yamltree import YMap, YNode, YScalar, child_path

TOP_FIELDS = ("year", "title", "organisation", "period", "moodle", "hours", "offline", "tiers", "excluded",
              "classes", "courses", "reviewers", "discussions", "reminders", "announcements", "bulletins",
              "commendation", "certificate", "survey")
TOP_REQUIRED = ("year", "title", "period", "moodle", "hours", "tiers", "classes", "courses")
HOURS_FIELDS = HOURS
#: What a dated field is, as a problem of a date outside the plan period names it.
DatedField = Literal["due", "opens", "closes", "reminder", "announcement"]


@dataclass
class Context:
    """What later sections are checked against."""

    r: Reader
    year: int | None = None
    period: Period | None = None
    tiers: list[str] = field(default_factory=list)  # every tier key read, of kept and of dropped tiers
    gaps: Gaps = NO_GAPS  # what the dropped entries leave unknown, for the checks across sections

    def tier_refs(self, items: list[YScalar] | Literal["all"] | None) -> frozenset[str]:
        """Tier keys named in a list ("all": every tier), each unknown one reported where written."""
        if items is None:
            return frozenset()
        if items == "all":
            return frozenset(self.tiers)
        found: set[str] = set()
        for item in items:
            if item.raw in self.tiers:
                found.add(item.raw)
            else:
                self.r.at(item, unknown_name("tier", item.raw, self.tiers))
        return frozenset(found)

    def in_period(self, node: YMap | None, key: str, day: dt.date | None, what: DatedField) -> None:
        if day is None or self.period is None or day in self.period or node is None:
            return
        place = node.get(key)
        assert place is not None
        self.r.at(place, _outside(what, day, self.period))


def period(ctx: Context, node: YNode | None) -> Period | None:
    r = ctx.r
    m = r.mapping(node, ("start", "end"), ("start", "end"))
    start, end = r.date(m, "start"), r.date(m, "end")
    if m is None or start is None or end is None:
        return None
    if end <= start:
        end_node = m.get("end")
        assert end_node is not None
        r.at(end_node, Sentence("the period must end after it starts: it starts %(start)s and ends %(end)s",
                                start=start.isoformat(), end=end.isoformat()))
        return None
    if ctx.year is not None and start.year != ctx.year:
        start_node = m.get("start")
        assert start_node is not None
        r.at(start_node, Sentence("the period starts in %(start)s, not in the plan's year %(year)s",
                                  start=start.year, year=ctx.year))
    return Period(start, end)


def moodle(ctx: Context, node: YNode | None) -> MoodleSettings:
    r = ctx.r
    fields = ("category", "learner_role", "reviewer_role", "parent_category", "auth", "timezone")
    m = r.mapping(node, fields, ("category", "learner_role", "reviewer_role"))
    timezone = r.text(m, "timezone", "Asia/Shanghai") or "Asia/Shanghai"
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        place = m.get("timezone") if m is not None else None
        assert place is not None
        r.at(place, Sentence('unknown time zone "%(zone)s" (like "Asia/Shanghai")', zone=timezone))
        timezone = "Asia/Shanghai"
    return MoodleSettings(
        category=r.text(m, "category") or "", learner_role=r.text(m, "learner_role") or "",
        reviewer_role=r.text(m, "reviewer_role") or "", parent_category=r.text(m, "parent_category"),
        auth=r.text(m, "auth", "manual") or "manual", timezone=timezone)


def year_hours(ctx: Context, node: YNode | None) -> Hours:
    r = ctx.r
    m = r.mapping(node, HOURS_FIELDS, ("target", "required_min"))
    target, required_min = r.number(m, "target"), r.number(m, "required_min")
    if m is not None and target is not None and required_min is not None and required_min > target:
        r.at(_scalar(m, "required_min"), _required_above_target(required_min, target))
    elective_max = r.number(m, "elective_max")
    if m is not None and target is not None and elective_max is not None and elective_max > target:
        r.at(_scalar(m, "elective_max"), Sentence(
            "elective_max (%(elective_max)s) is more than the target (%(target)s): it caps nothing",
            elective_max=hours_text(elective_max), target=hours_text(target)), "warning")
    unknown = frozenset(name for name in HOURS_FIELDS if not r.intact(m, name))
    ctx.gaps = dataclasses.replace(ctx.gaps, year_hours=unknown)
    return Hours(target or 0.0, required_min or 0.0, elective_max)


def year_offline(ctx: Context, top: YMap, year: Hours) -> Hours:
    """The year's cap of offline study hours (``offline: {max: 10}``): how many hours of party-school
    courses, lectures and collective study count towards the total. Without the section the plan counts
    none; where it has an error (or may be misspelt) the cap is not known (``Gaps.year_hours``)."""
    m = ctx.r.mapping(top.get("offline"), ("max",), ("max",))
    offline_max = ctx.r.number(m, "max")
    if not ctx.r.intact(top, "offline"):
        ctx.gaps = dataclasses.replace(ctx.gaps, year_hours=ctx.gaps.year_hours | {"offline_max"})
    return dataclasses.replace(year, offline_max=offline_max)



def match(ctx: Context, node: YNode | None) -> Match:
    """A ``match`` tests roster facts; values of closed facts (rank, status...) must be known words."""
    r = ctx.r
    if node is None:
        return Match()
    m = r.mapping(node, MATCH_FACTS, what="roster fact")
    if m is None:
        return Match()
    tests: list[FactTest] = []
    for fact in m.entries:
        if fact not in MATCH_FACTS:
            continue
        values: list[str] = []
        for item in r.words(m, fact) or []:
            word = item.raw.strip()
            vocabulary = CLOSED_FACTS.get(fact)
            canonical = vocabulary.canonical(word) if vocabulary is not None else word
            if canonical is None:
                assert vocabulary is not None
                r.at(item, vocabulary.unknown(word))
            elif canonical not in values:
                values.append(canonical)
        tests.append(FactTest(fact, tuple(values)))
    return Match(tuple(tests))


def tiers(ctx: Context, node: YNode | None, year: Hours) -> tuple[Tier, ...]:
    """The tiers read whole. Every key read is known to the references that follow; a dropped tier whose
    match was read still places its cadres (``Gaps.placing``), so that the tiers after it are checked
    against the roster."""
    r = ctx.r
    found: list[tuple[Tier, YNode, YMap | None]] = []
    items = r.sequence(node, "tiers")
    keyed: list[tuple[str | None, YNode]] = []
    for index, item in enumerate(items):
        m = r.mapping(item, ("key", "name", "match", "hours", "offline"), ("key", "name"))
        key = r.key(m)
        keyed.append((key, key_node(item)))
        if key == "all":
            r.at(key_node(item), Sentence('"all" cannot be a tier key: in a plan it means every tier'))
        own = r.mapping(m.get("hours") if m is not None else None, HOURS_FIELDS)
        values = {name: r.number(own, name) for name in (own.entries if own is not None else ())
                  if name in HOURS_FIELDS}
        target = values.get("target", year.target)
        required_min = values.get("required_min", year.required_min)
        hours = Hours(target or 0.0, required_min or 0.0, values.get("elective_max", year.elective_max),
                      year.offline_max)
        offline = r.mapping(m.get("offline") if m is not None else None, ("max",), ("max",))
        if offline is not None:  # the tier's own cap, 0 for none; else the year's
            values["offline_max"] = r.number(offline, "max")
            hours = dataclasses.replace(hours, offline_max=values["offline_max"])
        overridden = {"target", "required_min"} & set(values)
        known = all(values[name] is not None if name in values else name not in ctx.gaps.year_hours
                    for name in ("target", "required_min"))
        if own is not None and overridden and known and hours.required_min > hours.target:
            r.at(own, _required_above_target(hours.required_min, hours.target))
        tier_match = match(ctx, m.get("match") if m else None)
        name = r.text(m, "name") or ""
        found.append((Tier(key or "", name, tier_match, hours, frozenset(values), item.line, index), item, m))
    if node is not None and not items:
        r.at(node, Sentence("a plan needs at least one tier"))
    r.unique(keyed, "tier")
    ctx.tiers = [t.key for t, _item, _m in found if t.key]
    placing: list[Tier] = []
    placing_until = None if items else 0
    for tier, item, m in found:
        if not r.broken(item.path):
            placing.append(tier)
        elif r.intact(m, "match"):
            placing.append(tier if r.intact(m, "key") else dataclasses.replace(tier, key=""))
        elif placing_until is None:
            placing_until = tier.index
    kept = tuple(tier for tier, item, _m in found if not r.broken(item.path))
    ctx.gaps = dataclasses.replace(ctx.gaps, placing=None if len(kept) == len(placing) else tuple(placing),
                                   placing_until=placing_until)
    return kept


def excluded(ctx: Context, node: YNode | None) -> Match:
    m = ctx.r.mapping(node, ("match",), ("match",))
    return match(ctx, m.get("match") if m is not None else None)


def classes(ctx: Context, node: YNode | None) -> tuple[Klass, ...]:
    """The classes read whole; the tiers a dropped class may belong to are noted, since those tiers may
    well have a class for their cadres."""
    r = ctx.r
    found: list[tuple[Klass, YNode, YMap | None]] = []
    keyed: list[tuple[str | None, YNode]] = []
    for index, item in enumerate(r.sequence(node, "classes")):
        m = r.mapping(item, ("key", "tier", "name", "match"), ("key", "tier", "name"))
        key = r.key(m)
        keyed.append((key, key_node(item)))
        tier = r.text(m, "tier")
        if tier is not None and m is not None:
            ctx.tier_refs([_scalar(m, "tier")])
        found.append((Klass(key or "", tier or "", r.text(m, "name") or "",
                            match(ctx, m.get("match") if m else None), item.line, index), item, m))
    r.unique(keyed, "class")
    dropped = [(klass, m) for klass, item, m in found if r.broken(item.path)]
    ctx.gaps = dataclasses.replace(
        ctx.gaps, class_tiers=frozenset(k.tier for k, m in dropped if r.intact(m, "tier")),
        class_tier_unknown=any(not r.intact(m, "tier") for _k, m in dropped))
    return tuple(klass for klass, item, _m in found if not r.broken(item.path))


def reviewers(ctx: Context, node: YNode | None) -> Reviewers | None:
    r = ctx.r
    m = r.mapping(node, ("by", "fallback"), ("by",))
    if m is None:
        return None
    by, fallback = r.text(m, "by"), r.text(m, "fallback")
    if by is not None and by not in REVIEWER_RULES:
        r.at(_scalar(m, "by"), _unknown_rule(by))
    if fallback is None:
        r.problem(m.line, child_path(m.path, "fallback"),
                  Sentence("required field is missing: school leaders, and cadres without a supervising "
                           "leader, need a fallback reviewer"))
    line = m.entries["fallback"].line if fallback is not None else m.line
    return Reviewers(by or "supervising_leader", fallback, line)


def conditions(ctx: Context, node: YNode | None, courses: dict[str, YMap | None]) -> tuple[Condition, ...]:
    r = ctx.r
    m = r.mapping(node, list(WHEN_CONDITIONS), what="condition")
    if m is None:
        return ()
    found: list[Condition] = []
    for kind in m.entries:
        if kind not in WHEN_CONDITIONS:
            continue
        elif WHEN_CONDITIONS[kind] == "hours":
            found.append(Condition(kind, r.number(m, kind) or 0.0))
        else:
            course = r.text(m, kind) or ""
            found.append(Condition(kind, course))
            known = [key for key in courses if key]
            if kind in ("course_incomplete", "course_not_started") and course == ANY_REQUIRED:
                continue
            if course and course not in courses:
                r.at(_scalar(m, kind), unknown_name("course", course, known))
            elif (course and kind == "reflection_missing" and not _has_reflection(courses[course])
                  and r.intact(courses[course], "reflection")):
                r.at(_scalar(m, kind), Sentence('course "%(course)s" asks for no reflection', course=course))
    if not m.entries:
        r.at(m, Sentence("a reminder needs a condition (%(conditions)s)",
                         conditions=", ".join(WHEN_CONDITIONS)))
    return tuple(found)


def recipients(ctx: Context, m: YMap | None) -> tuple[str, ...]:
    found: list[str] = []
    for item in ctx.r.words(m, "to") or []:
        if item.raw in RECIPIENTS:
            found.append(item.raw)
        else:
            ctx.r.at(item, _unknown_recipient(item.raw))
    return tuple(found)


def commendation(ctx: Context, node: YNode | None) -> Commendation | None:
    m = ctx.r.mapping(node, ("top_per_tier", "min_hours"), ("top_per_tier",))
    if m is None:
        return None
    top = ctx.r.integer(m, "top_per_tier", positive=True)
    return Commendation(top or 0, ctx.r.number(m, "min_hours") or 0.0)


def certificate(ctx: Context, node: YNode | None) -> Certificate | None:
    r = ctx.r
    m = r.mapping(node, ("title", "issuer", "requires"), ("title", "issuer"))
    if m is None:
        return None
    requires = r.mapping(m.get("requires"), CERTIFICATE_REQUIREMENTS)
    met = frozenset(name for name in CERTIFICATE_REQUIREMENTS
                    if requires is not None and r.flag(requires, name))
    return Certificate(r.text(m, "title") or "", r.text(m, "issuer") or "", met)


def survey(ctx: Context, node: YNode | None, courses: dict[str, YMap | None]) -> Survey:
    """Where the training-needs survey is; without the section, a feedback named 培训需求调查 in any
    course of the year."""
    r = ctx.r
    m = r.mapping(node, ("activity", "course"), ())
    if m is None:
        return Survey()
    course = r.text(m, "course")
    if course is not None and course not in courses:
        known = [key for key in courses if key]
        r.at(_scalar(m, "course"), unknown_name("course", course, known))
    return Survey(r.text(m, "activity", Survey.activity) or Survey.activity, course, m.line)


def _unknown_rule(rule: str) -> Sentence:
    close, allowed = close_match(rule, REVIEWER_RULES), ", ".join(REVIEWER_RULES)
    if close is None:
        return Sentence('unknown reviewer rule "%(rule)s" (allowed: %(allowed)s)', rule=rule, allowed=allowed)
    return Sentence('unknown reviewer rule "%(rule)s" (did you mean "%(close)s"?) (allowed: %(allowed)s)',
                    rule=rule, close=close, allowed=allowed)


def _unknown_recipient(recipient: str) -> Sentence:
    close, allowed = close_match(recipient, RECIPIENTS), ", ".join(RECIPIENTS)
    if close is None:
        return Sentence('unknown recipient "%(recipient)s" (recipients: %(allowed)s)',
                        recipient=recipient, allowed=allowed)
    return Sentence('unknown recipient "%(recipient)s" (did you mean "%(close)s"?) (recipients: %(allowed)s)',
                    recipient=recipient, close=close, allowed=allowed)


def _required_above_target(required_min: float, target: float) -> Sentence:
    return Sentence("required_min (%(required_min)s) is more than the target (%(target)s)",
                    required_min=hours_text(required_min), target=hours_text(target))


def _outside(what: DatedField, day: dt.date, period: Period) -> Sentence:
    """A date outside the plan period: nothing in Moodle happens for the year outside it."""
    values = {"day": day.isoformat(), "start": period.start.isoformat(), "end": period.end.isoformat()}
    if what == "due":
        return Sentence("due %(day)s is outside the plan period %(start)s – %(end)s", **values)
    if what == "opens":
        return Sentence("opens %(day)s is outside the plan period %(start)s – %(end)s", **values)
    if what == "closes":
        return Sentence("closes %(day)s is outside the plan period %(start)s – %(end)s", **values)
    if what == "reminder":
        return Sentence("the reminder's date %(day)s is outside the plan period %(start)s – %(end)s",
                        **values)
    return Sentence("the announcement's date %(day)s is outside the plan period %(start)s – %(end)s",
                    **values)


def _has_reflection(course: YMap | None) -> bool:
    return course is not None and course.get("reflection") is not None


def _scalar(m: YMap, key: str) -> YScalar:
    node = m.get(key)
    assert isinstance(node, YScalar)
    return node


def key_node(item: YNode) -> YNode:
    """Where a duplicate key is reported: on the ``key`` field itself when there is one."""
    key = item.get("key") if isinstance(item, YMap) else None
    return key if key is not None else item
