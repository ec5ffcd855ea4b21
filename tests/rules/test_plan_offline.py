"""The plan's offline study hours (``offline: {max}``, the year's and a tier's own) and what the check of
each tier's hours makes of them: offline hours may close the gap to a target that courses cannot reach."""

from __future__ import annotations

from rules.plan import load_plan
from tests.rules.plan_base import BASE, changed
from tests.rules.test_plan import problems

SHORT = changed("{target: 14, required_min: 8}", "{target: 15, required_min: 8}")  # leaders: 14 of 15
LEADERS_HOURS = "    hours: {target: 15, required_min: 8}\n"


def test_a_plan_without_offline_counts_none_and_warns_as_before() -> None:
    assert load_plan(BASE, "plan.yaml").hours.offline_max is None
    assert problems(SHORT) == [
        'plan.yaml line 7 tiers[0]: warning: tier "leaders": its courses give at most 14 hours (required '
        "10 + electives 4), less than its target 15: cadres need hours from elsewhere"]


def test_offline_hours_that_close_the_gap_leave_nothing_to_warn_about() -> None:
    plan = load_plan(SHORT + "offline: {max: 1}\n", "plan.yaml")
    assert plan.warnings == ()
    assert [t.hours.offline_max for t in plan.tiers] == [1, 1, 1]


def test_a_tiers_own_cap_is_the_one_checked() -> None:
    text = SHORT.replace(LEADERS_HOURS, LEADERS_HOURS + "    offline: {max: 0}\n") + "offline: {max: 4}\n"
    plan_problems = problems(text)
    assert plan_problems == [
        'plan.yaml line 7 tiers[0]: warning: tier "leaders": its courses give at most 14 hours (required '
        "10 + electives 4), less than its target 15: cadres need hours from elsewhere"]
    plan = load_plan(text, "plan.yaml")
    assert [t.hours.offline_max for t in plan.tiers] == [0, 4, 4]
    assert plan.tiers[0].own_hours == {"target", "required_min", "offline_max"}
    raised = SHORT.replace(LEADERS_HOURS, LEADERS_HOURS + "    offline: {max: 2}\n")
    assert problems(raised) == []
    assert [t.hours.offline_max for t in load_plan(raised, "plan.yaml").tiers] == [2, None, None]


def test_a_broken_offline_cap_is_reported_and_no_guess_is_made_from_it() -> None:
    """"max: ten" may have been meant to close the gap: only the error is reported, not the warning."""
    assert problems(SHORT + "offline: {max: ten}\n") == [
        'plan.yaml line 62 offline.max: expected a number; found "ten"']
    assert problems(SHORT + "ofline: {max: 1}\n") == [
        'plan.yaml line 62 ofline: unknown field "ofline" (did you mean "offline"?)']


def test_offline_is_a_mapping_with_its_max() -> None:
    assert problems(BASE + "offline: 10\n") == [
        'plan.yaml line 62 offline: expected a mapping with max; found "10"']
    assert problems(changed(LEADERS_HOURS.replace("15", "14"),
                            LEADERS_HOURS.replace("15", "14") + "    offline: {max: 4, min: 1}\n")) == [
        'plan.yaml line 11 tiers[0].offline.min: unknown field "min"']
