"""Offline study hours (线下学时) in a learning record: their own bucket with the year's cap or the tier's,
never required hours, never electives, each training or claim once, explained with its source."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from functools import cache

from rules.hours import OfflineHours, explain_record
from rules.plan import Plan, load_plan
from tests.rules.samples import plan_text, year_offline
from tests.rules.test_hours import (
    ELECTIVES_ALL,
    LEADER_REQUIRED,
    PARTY_REQUIRED,
    done,
    record,
    wrote,
)

PARTY_SCHOOL = OfflineHours("training:3", "党校专题报告会", dt.date(2026, 5, 12), 4)
LECTURE = OfflineHours("training:8", "全国两会精神宣讲", dt.date(2026, 3, 20), 3)
EXTERNAL = OfflineHours("claim:2", "省委党校中青班（外出培训）", dt.date(2026, 6, 3), 8)
BOTH_REFLECTIONS = (wrote("thought", 1500), wrote("policy", 2000))


@cache
def with_offline(year_max: float | None = 10, **tier_max: float) -> Plan:
    """The sample plan with ``offline: {max: year_max}`` (none when None) and tiers' own caps."""
    text = year_offline(plan_text(2026), year_max)
    for tier, cap in tier_max.items():
        pattern = rf"(  - key: {re.escape(tier)}\n(?:    .*\n)*?    match: .*\n)"
        text, count = re.subn(pattern, rf"\1    offline: {{max: {cap}}}\n", text, count=1)
        assert count == 1, tier
    return load_plan(text, "plan-2026.yaml")


def test_offline_hours_count_towards_the_total_up_to_the_years_cap() -> None:
    got = record("party-admin", *done(*PARTY_REQUIRED, *ELECTIVES_ALL), plan=with_offline(10),
                 offline=(PARTY_SCHOOL, LECTURE), reflections=BOTH_REFLECTIONS)
    assert (got.required_hours, got.elective_hours) == (32, 16)
    assert (got.offline_hours_earned, got.offline_hours) == (7, 7)
    assert got.total_hours == 55 and got.offline_max == 10
    assert got.hours_met and got.status == "complete"
    assert got.offline == (LECTURE, PARTY_SCHOOL)  # by day
    assert got.reasons[:3] == (
        "55 of 50 hours (required 32 of at least 30; electives 16, counted up to 24; offline 7, counted up "
        "to 10)",
        "offline study: 全国两会精神宣讲 on 2026-03-20, 3 hours (attendance recorded)",
        "offline study: 党校专题报告会 on 2026-05-12, 4 hours (attendance recorded)")


def test_hours_beyond_the_offline_cap_are_shown_but_not_counted() -> None:
    got = record("party-admin", *done(*PARTY_REQUIRED), plan=with_offline(10),
                 offline=(PARTY_SCHOOL, EXTERNAL))
    assert (got.offline_hours_earned, got.offline_hours, got.total_hours) == (12, 10, 42)
    assert got.reasons[0] == ("42 of 50 hours (required 32 of at least 30; electives 0, counted up to 24; "
                              "offline 12, counted up to 10)")
    assert "offline study: 省委党校中青班（外出培训） on 2026-06-03, 8 hours (claim approved)" in got.reasons


def test_a_tiers_own_cap_overrides_the_years() -> None:
    plan = with_offline(10, leaders=0, section=16)
    assert plan.hours.offline_max == 10
    assert {t.key: t.hours.offline_max for t in plan.tiers} == {
        "leaders": 0, "party-admin": 10, "teaching": 10, "support": 10, "section": 16}
    assert record("leaders", *done(*LEADER_REQUIRED), plan=plan, offline=(EXTERNAL,)).offline_hours == 0
    again = dataclasses.replace(LECTURE, source="claim:9")  # the same title and day, but a claim of its own
    section = record("section", *done("thought"), plan=plan, offline=(EXTERNAL, PARTY_SCHOOL, LECTURE, again))
    assert (section.offline_hours_earned, section.offline_hours) == (18, 16)


def test_a_tier_may_count_offline_hours_where_the_year_counts_none() -> None:
    plan = with_offline(None, teaching=6)
    assert plan.hours.offline_max is None and plan.tier("teaching").hours.offline_max == 6  # type: ignore[union-attr]
    assert record("teaching", plan=plan, offline=(EXTERNAL,)).offline_hours == 6
    assert record("support", plan=plan, offline=(EXTERNAL,)).offline_hours == 0


def test_offline_hours_never_count_towards_the_required_hours() -> None:
    # 24 required hours of 30, enough in all with the electives and the offline hours: not met
    got = record("party-admin", *done("thought", "integrity", "governance", *ELECTIVES_ALL),
                 plan=with_offline(10), offline=(PARTY_SCHOOL, LECTURE, dataclasses.replace(LECTURE,
                                                                                         source="training:9")))
    assert got.total_hours == 24 + 16 + 10 and got.total_hours >= got.target
    assert got.required_hours == 24 and not got.hours_met and got.status != "complete"


def test_offline_hours_take_nothing_from_the_electives_cap() -> None:
    text = plan_text(2026).replace("elective_max: 24", "elective_max: 10")  # the sample's cap is 10
    got = record("party-admin", *done(*PARTY_REQUIRED, *ELECTIVES_ALL),
                 plan=load_plan(text, "plan-2026.yaml"), offline=(PARTY_SCHOOL, LECTURE))
    assert (got.elective_hours_earned, got.elective_hours) == (16, 10)
    assert (got.offline_hours, got.total_hours) == (7, 32 + 10 + 7)


def test_a_plan_without_an_offline_cap_shows_them_and_counts_none() -> None:
    plan = with_offline(None)
    got = record("party-admin", *done(*PARTY_REQUIRED), plan=plan, offline=(PARTY_SCHOOL,))
    assert plan.hours.offline_max is None
    assert (got.offline_hours_earned, got.offline_hours, got.total_hours, got.offline_max) == (4, 0, 32, None)
    assert got.reasons[0] == ("32 of 50 hours (required 32 of at least 30; electives 0, counted up to 24; "
                              "offline 4, not counted: the plan counts no offline hours)")


def test_without_offline_hours_the_record_reads_as_before() -> None:
    got = record("party-admin", *done(*PARTY_REQUIRED), plan=with_offline(10))
    assert got.reasons[0] == "32 of 50 hours (required 32 of at least 30; electives 0, counted up to 24)"
    assert (got.offline_hours_earned, got.offline_hours, got.offline) == (0, 0, ())


def test_one_training_seen_twice_counts_once() -> None:
    got = record("party-admin", plan=with_offline(10), offline=(PARTY_SCHOOL, PARTY_SCHOOL, LECTURE))
    assert got.offline_hours_earned == 7 and len(got.offline) == 2


def test_offline_hours_move_the_status_against_the_pace() -> None:
    june = dt.date(2026, 6, 1)  # the pace asks for 15.9 hours; the reflection is not due yet
    without = record("teaching", *done("thought"), today=june, plan=with_offline(10))
    with_them = record("teaching", *done("thought"), today=june, plan=with_offline(10), offline=(EXTERNAL,))
    assert (without.status, without.total_hours) == ("behind", 10)
    assert (with_them.status, with_them.total_hours) == ("on_track", 18)


def test_a_cadre_not_in_the_plan_keeps_every_offline_hour_listed() -> None:
    got = record(None, *done("thought"), excluded="离岗", plan=with_offline(2), offline=(EXTERNAL,))
    assert (got.status, got.total_hours, got.offline_hours) == ("excluded", 18, 8)
    assert got.reasons[1:] == ("completed courses give 10 hours; no requirement applies",
                               "offline study gives 8 hours; no requirement applies",
                               "offline study: 省委党校中青班（外出培训） on 2026-06-03, 8 hours "
                               "(claim approved)")


def test_the_plain_record_lists_the_offline_hours_with_their_source() -> None:
    lines = explain_record(record("party-admin", *done(*PARTY_REQUIRED), plan=with_offline(10),
                                  offline=(PARTY_SCHOOL, EXTERNAL)))
    at = lines.index("  offline hours (线下学时): 10 counted of 12 (counted up to 10)")
    assert lines[at + 1:at + 3] == ["    2026-05-12 training:3 党校专题报告会 4h",
                                    "    2026-06-03 claim:2 省委党校中青班（外出培训） 8h"]
