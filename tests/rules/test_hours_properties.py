"""Properties of credit hours that hold for any facts Moodle could give under the 2026 sample plan."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.hours import (
    STATUSES,
    CourseFacts,
    DiscussionFacts,
    Facts,
    ReflectionFacts,
    discussion_points,
    expected_hours,
    learning_record,
    reflection_chars,
)
from rules.plan import Hours, Plan, Points
from tests.rules.samples import sample_plan

PLAN = sample_plan(2026)
TIER_KEYS = [t.key for t in PLAN.tiers]
COURSE_KEYS = [c.key for c in PLAN.courses]
DISCUSSION_KEYS = [d.key for d in PLAN.discussions]
EPSILON = 1e-9


def with_cap(cap: float | None) -> Plan:
    tiers = tuple(dataclasses.replace(t, hours=Hours(t.hours.target, t.hours.required_min, cap))
                  for t in PLAN.tiers)
    return dataclasses.replace(PLAN, tiers=tiers)


PLANS = st.sampled_from([PLAN, with_cap(None), with_cap(10), with_cap(0)])
DAYS = st.dates(PLAN.period.start - dt.timedelta(days=40), PLAN.period.end + dt.timedelta(days=40))
COURSES = st.sampled_from([*COURSE_KEYS, "ghost"])
COMPLETIONS = st.builds(CourseFacts, COURSES, st.none() | DAYS, st.booleans())
REFLECTIONS = st.builds(ReflectionFacts, st.sampled_from(["thought", "policy", "health"]), st.booleans(),
                        st.integers(0, 3000))
POSTS = st.builds(DiscussionFacts, st.sampled_from([*DISCUSSION_KEYS, "ghost"]), st.integers(-2, 12))


@st.composite
def facts(draw: st.DrawFn) -> Facts:
    tier = draw(st.sampled_from([*TIER_KEYS, *TIER_KEYS, None, "ghost"]))
    courses = tuple(draw(st.lists(COMPLETIONS, max_size=16)))
    reflections = tuple(draw(st.lists(REFLECTIONS, max_size=4)))
    discussions = tuple(draw(st.lists(POSTS, max_size=4)))
    return Facts("T20168", tier, None if tier else "离岗", courses, reflections, discussions)


@given(PLANS, facts(), DAYS)
@settings(max_examples=150, deadline=None)
def test_a_record_is_consistent_with_the_plan(plan: Plan, given_facts: Facts, today: dt.date) -> None:
    got = learning_record(plan, given_facts, today)
    assert got.status in STATUSES
    assert math.isclose(got.total_hours, got.required_hours + got.elective_hours, abs_tol=EPSILON)
    assert got.elective_hours <= got.elective_hours_earned + EPSILON
    if got.elective_max is not None:
        assert got.total_hours <= got.required_hours + got.elective_max + EPSILON
    assert got.total_hours <= math.fsum(c.hours for c in plan.courses) + EPSILON
    assert len({c.course for c in got.credits}) == len(got.credits)
    assert got.reasons
    if got.status == "excluded":
        assert not (got.hours_met or got.required_met or got.reflections_met)
        return
    tier = plan.tier(given_facts.tier or "")
    assert tier is not None
    completed = {c.course for c in given_facts.courses if c.completed_on is not None}
    required = math.fsum(c.hours for c in plan.required_courses(tier.key) if c.key in completed)
    assert math.isclose(got.required_hours, required, abs_tol=EPSILON)
    assert got.hours_met == (got.total_hours >= tier.hours.target - EPSILON
                             and required >= tier.hours.required_min - EPSILON)
    assert got.required_met == all(c.key in completed for c in plan.required_courses(tier.key))
    assert (got.status == "complete") == (got.hours_met and got.required_met and got.reflections_met)
    if got.status == "on_track":
        assert got.total_hours >= got.expected_hours - EPSILON and today <= plan.period.end


@given(PLANS, facts(), st.lists(COMPLETIONS, min_size=1, max_size=4), DAYS)
@settings(max_examples=150, deadline=None)
def test_completing_more_never_takes_anything_away(plan: Plan, given_facts: Facts,
                                                   more: list[CourseFacts], today: dt.date) -> None:
    before = learning_record(plan, given_facts, today)
    more_facts = dataclasses.replace(given_facts, courses=(*given_facts.courses, *more))
    after = learning_record(plan, more_facts, today)
    assert after.total_hours >= before.total_hours - EPSILON
    assert after.required_hours >= before.required_hours - EPSILON
    assert {c.course for c in before.credits} <= {c.course for c in after.credits}
    assert before.status != "complete" or after.status == "complete"


@given(st.floats(0, 10), st.floats(0, 100), st.integers(-5, 1000))
@settings(max_examples=100, deadline=None)
def test_points_stay_within_the_maximum(per_post: float, most: float, posts: int) -> None:
    discussion = dataclasses.replace(PLAN.discussions[0], points=Points(per_post, most))
    assert 0 <= discussion_points(discussion, posts) <= most


@given(st.floats(0, 200), DAYS, DAYS)
@settings(max_examples=100, deadline=None)
def test_expected_hours_grow_with_the_days_up_to_the_target(target: float, one: dt.date,
                                                            other: dt.date) -> None:
    early, late = sorted((one, other))
    assert 0 <= expected_hours(PLAN, target, early) <= expected_hours(PLAN, target, late) <= target


TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
WHITESPACE = st.sampled_from([" ", "\n", "\t", "\u3000", "\u00a0", "&nbsp;", "&#12288;", "<br>", "\r\n"])
TAGS = st.sampled_from([("<p>", "</p>"), ("<div><span>", "</span></div>"), ('<p style="x">', "</p>"),
                        ("<strong>", "</strong>"), ("<!-- note -->", "<br/>")])


@given(TEXT, TAGS, st.lists(st.tuples(st.integers(0, 40), WHITESPACE), max_size=6))
@settings(max_examples=150, deadline=None)
def test_reflection_chars_ignore_markup_and_spacing(text: str, tag: tuple[str, str],
                                                    spaces: list[tuple[int, str]]) -> None:
    escaped = html.escape(text)
    plain = reflection_chars(escaped)
    assert reflection_chars(tag[0] + escaped + tag[1]) == plain
    pieces = [html.escape(ch) for ch in text]  # whitespace goes between characters, never into an entity
    for at, space in spaces:
        pieces.insert(min(at, len(pieces)), space)
    assert reflection_chars("".join(pieces)) == plain
    assert plain <= len(text)


@given(st.text("学习心得体会ABCxyz0123，。！", max_size=60))
@settings(max_examples=60, deadline=None)
def test_reflection_chars_count_each_visible_character_once(text: str) -> None:
    assert reflection_chars(f"<p>{text}</p>") == len(text)
