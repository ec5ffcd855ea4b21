"""The plan's courses and its calendar: discussions, reminders and announcements.

These are where a plan's references cross: courses name tiers, discussions name a course and tiers
that must be enrolled in it, reminders name courses and recipients, and every date must fall within
the plan period, since nothing in Moodle happens for the year outside it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import TypeVar

from rules.plan_gaps import CourseSketch, Refs
from rules.plan_model import Announcement, Course, Discussion, Points, Reflection, Reminder
from rules.plan_reader import Reader, unknown_name
from rules.plan_schema import Context, conditions, key_node, recipients
from rules.wording import Sentence
from rules.yamltree import YMap, YNode

Entry = TypeVar("Entry")

COURSE_FIELDS = ("key", "name", "hours", "template", "required", "elective", "reflection")


@dataclass(frozen=True)
class CoursesRead:
    """The courses read whole (``kept``), and, by key, every course read, kept or dropped: a reference to a
    dropped course is not to an unknown one (``nodes``, their YAML), and where a dropped course's
    ``required`` and ``elective`` were read whole, who is enrolled in it is known (``enrolled``)."""

    kept: tuple[Course, ...]
    nodes: dict[str, YMap | None]
    enrolled: dict[str, frozenset[str]]


def courses(ctx: Context, node: YNode | None) -> CoursesRead:
    """The courses; what a dropped course gives each tier is noted for the hour sums (``Gaps.courses``)."""
    r = ctx.r
    found: list[tuple[Course, YNode, YMap | None]] = []
    by_key: dict[str, YMap | None] = {}
    keyed: list[tuple[str | None, YNode]] = []
    for item in r.sequence(node, "courses"):
        m = r.mapping(item, COURSE_FIELDS, ("key", "name", "hours"))
        key = r.key(m)
        keyed.append((key, key_node(item)))
        hours = r.number(m, "hours")
        required = ctx.tier_refs(r.words_or_all(m, "required"))
        elective_words = r.words_or_all(m, "elective")
        elective = ctx.tier_refs(elective_words)
        for tier in sorted(required & elective):
            assert isinstance(elective_words, list)  # "all" would be every tier: both, then, are lists
            place = next(w for w in elective_words if w.raw == tier)
            r.at(place, Sentence('tier "%(tier)s" is both required and elective', tier=tier))
        if (m is not None and "required" not in m.entries and "elective" not in m.entries
                and r.intact(m, "required")):
            r.at(item, Sentence('course "%(course)s" is neither required nor elective for any tier: nobody '
                                "is enrolled", course=key), "warning")
        template = r.text(m, "template")
        if m is not None and template is None and key and r.intact(m, "template"):
            r.at(item, Sentence('course "%(course)s" has no template course: it is created empty and '
                                "cannot complete until someone configures completion in Moodle", course=key),
                 "warning")
        course = Course(key or "", r.text(m, "name") or "", hours or 0.0, template, required, elective,
                        reflection(ctx, m.get("reflection") if m is not None else None), item.line)
        found.append((course, item, m))
        if key:
            by_key.setdefault(key, m)
    r.unique(keyed, "course")
    dropped = tuple(_sketch(r, course, m) for course, item, m in found if r.broken(item.path))
    ctx.gaps = dataclasses.replace(ctx.gaps, courses=ctx.gaps.courses + dropped)
    enrolled: dict[str, frozenset[str] | None] = {}
    for course, _item, m in found:
        if course.key:  # of two courses with one key, which one is meant is not known
            known = course.key not in enrolled and r.intact(m, "required") and r.intact(m, "elective")
            enrolled[course.key] = course.tiers() if known else None
    kept = tuple(course for course, item, _m in found if not r.broken(item.path))
    return CoursesRead(kept, by_key, {key: tiers for key, tiers in enrolled.items() if tiers is not None})


def _sketch(r: Reader, course: Course, m: YMap | None) -> CourseSketch:
    """What a dropped course was read to give: its hours and tiers where those fields are intact; a tier
    named both required and elective counts as neither for certain."""
    both = course.required & course.elective
    return CourseSketch(course.hours if r.intact(m, "hours") else None,
                        Refs(course.required - both, bool(both) or not r.intact(m, "required")),
                        Refs(course.elective - both, bool(both) or not r.intact(m, "elective")))


def reflection(ctx: Context, node: YNode | None) -> Reflection | None:
    r = ctx.r
    m = r.mapping(node, ("title", "due", "min_chars"), ("title", "due", "min_chars"))
    if m is None:
        return None
    due = r.date(m, "due")
    ctx.in_period(m, "due", due, "due")
    min_chars = r.integer(m, "min_chars", positive=True)
    return Reflection(r.text(m, "title") or "", due or dt.date.min, min_chars or 1)


def discussions(ctx: Context, node: YNode | None, read: CoursesRead) -> tuple[Discussion, ...]:
    """The discussions; a course is unknown when no course has its key, and the tiers taking part are
    only checked against those enrolled in it where those are known."""
    r = ctx.r
    found: list[Discussion] = []
    keyed: list[tuple[str | None, YNode]] = []
    fields = ("key", "course", "title", "opens", "closes", "points", "tiers")
    items = r.sequence(node, "discussions")
    for item in items:
        m = r.mapping(item, fields, ("key", "course", "title", "opens", "closes"))
        key = r.key(m)
        keyed.append((key, key_node(item)))
        course_key = r.text(m, "course")
        enrolled = read.enrolled.get(course_key or "")
        if course_key is not None and course_key not in read.nodes:
            r.at(_child(m, "course"), unknown_name("course", course_key, list(read.nodes)))
        opens, closes = r.date(m, "opens"), r.date(m, "closes")
        if opens is not None and closes is not None and closes < opens:
            r.at(_child(m, "closes"), Sentence(
                "the discussion closes (%(closes)s) before it opens (%(opens)s)",
                closes=closes.isoformat(), opens=opens.isoformat()))
        ctx.in_period(m, "opens", opens, "opens")
        ctx.in_period(m, "closes", closes, "closes")
        words = r.words(m, "tiers")
        tiers = ctx.tier_refs(words)
        if enrolled is not None and words is not None:
            for word in words:
                if word.raw in tiers and word.raw not in enrolled:
                    r.at(word, Sentence('tier "%(tier)s" is not enrolled in course "%(course)s"',
                                        tier=word.raw, course=course_key))
        if words is None and enrolled is not None:
            tiers = enrolled
        found.append(Discussion(key or "", course_key or "", r.text(m, "title") or "", opens or dt.date.min,
                                closes or dt.date.min, points(r, m.get("points") if m else None), tiers,
                                item.line))
    r.unique(keyed, "discussion")
    return _kept(r, found, items)


def points(r: Reader, node: YNode | None) -> Points | None:
    m = r.mapping(node, ("per_post", "max"), ("per_post", "max"))
    if m is None:
        return None
    per_post, most = r.number(m, "per_post", positive=True), r.number(m, "max", positive=True)
    if per_post is not None and most is not None and most < per_post:
        r.at(_child(m, "max"), Sentence("max (%(most)s) is less than one post's points (%(per_post)s)",
                                        most=f"{most:g}", per_post=f"{per_post:g}"))
    return Points(per_post or 0.0, most or 0.0)


def reminders(ctx: Context, node: YNode | None, course_nodes: dict[str, YMap | None]) -> tuple[Reminder, ...]:
    r = ctx.r
    found: list[Reminder] = []
    keyed: list[tuple[str | None, YNode]] = []
    items = r.sequence(node, "reminders")
    for item in items:
        m = r.mapping(item, ("key", "on", "when", "to", "tiers"), ("key", "on", "when", "to"))
        key = r.key(m)
        keyed.append((key, key_node(item)))
        on = r.date(m, "on")
        ctx.in_period(m, "on", on, "reminder")
        words = r.words_or_all(m, "tiers")
        tiers = ctx.tier_refs(words) if words is not None else frozenset(ctx.tiers)
        found.append(Reminder(key or "", on or dt.date.min,
                              conditions(ctx, m.get("when") if m else None, course_nodes),
                              recipients(ctx, m), tiers, item.line))
    r.unique(keyed, "reminder")
    return _kept(r, found, items)


#: Moodle takes 4,096 bytes in a message (PHP's strlen); the subject's brackets and the organisation's
#: signature take the rest.
ANNOUNCEMENT_BYTES = 3800


def announcements(ctx: Context, node: YNode | None) -> tuple[Announcement, ...]:
    r = ctx.r
    found: list[Announcement] = []
    keyed: list[tuple[str | None, YNode]] = []
    per_day: Counter[dt.date] = Counter()
    items = r.sequence(node, "announcements")
    for item in items:
        m = r.mapping(item, ("key", "on", "to", "subject", "body"), ("on", "to", "subject", "body"))
        on = r.date(m, "on")
        ctx.in_period(m, "on", on, "announcement")
        key = r.key(m) if m is not None and "key" in m.entries else None
        if key is None and on is not None:
            per_day[on] += 1
            key = f"{on}-{per_day[on]}"
        keyed.append((key, key_node(item)))
        to = ctx.tier_refs(r.words_or_all(m, "to"))
        subject, body = r.text(m, "subject") or "", r.text(m, "body") or ""
        size = len(f"{subject}{body}".encode())
        if size > ANNOUNCEMENT_BYTES and m is not None:
            r.at(_child(m, "body"), Sentence(
                "the announcement is %(size)s bytes long; a Moodle message holds at most %(most)s with its "
                "subject (about %(characters)s Chinese characters): split it in two",
                size=size, most=ANNOUNCEMENT_BYTES, characters=ANNOUNCEMENT_BYTES // 3))
        found.append(Announcement(key or "", on or dt.date.min, to, subject, body, item.line))
    r.unique(keyed, "announcement")
    return _kept(r, found, items)


def _kept(r: Reader, found: list[Entry], items: tuple[YNode, ...]) -> tuple[Entry, ...]:
    """The entries read whole: one with an error is dropped rather than kept with a stand-in value."""
    return tuple(entry for entry, item in zip(found, items, strict=True) if not r.broken(item.path))


def _child(m: YMap | None, key: str) -> YNode:
    assert m is not None
    node = m.get(key)
    assert node is not None
    return node

