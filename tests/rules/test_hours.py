"""Credit hours under the 2026 sample plan: named cadres' facts, the record they give, and why."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from functools import cache

import pytest

from rules.hours import (
    STATUSES,
    CourseCredit,
    CourseFacts,
    DiscussionFacts,
    Facts,
    LearningRecord,
    OfflineHours,
    ReflectionFacts,
    discussion_points,
    expected_hours,
    explain_record,
    learning_record,
    reflection_chars,
)
from rules.plan import Course, Hours, Period, Plan, Points, load_plan
from tests.rules.samples import plan_text, sample_plan

PLAN = sample_plan(2026)
APRIL, JULY, DECEMBER = dt.date(2026, 4, 2), dt.date(2026, 7, 1), dt.date(2026, 12, 15)
LEADER_REQUIRED = ("thought", "integrity", "governance")  # 24 hours
ELECTIVES_ALL = ("emergency", "writing", "health", "ethics")  # 16 hours, every tier
PARTY_REQUIRED = ("thought", "integrity", "policy", "governance")  # 32 hours
SUPPORT_REQUIRED = (*PARTY_REQUIRED, "digital")  # 38 hours


def done(*courses: str, on: dt.date = APRIL) -> tuple[CourseFacts, ...]:
    return tuple(CourseFacts(course, on, started=True) for course in courses)


def wrote(course: str, chars: int) -> ReflectionFacts:
    return ReflectionFacts(course, True, chars)


def record(tier: str | None, *courses: CourseFacts, today: dt.date = JULY, plan: Plan = PLAN,
           reflections: tuple[ReflectionFacts, ...] = (), discussions: tuple[DiscussionFacts, ...] = (),
           excluded: str | None = None, offline: tuple[OfflineHours, ...] = ()) -> LearningRecord:
    facts = Facts("T20168", tier, excluded, courses, reflections, discussions, offline)
    return learning_record(plan, facts, today)


@cache
def plan_variant(old: str, new: str) -> Plan:
    text = plan_text(2026)
    assert re.search(old, text), old
    return load_plan(re.sub(old, new, text), "plan-2026.yaml")


def capped_at_10() -> Plan:
    return plan_variant("elective_max: 24", "elective_max: 10")


def uncapped() -> Plan:
    return plan_variant(r".*elective_max: 24.*\n", "")


def policy_elective_for_section() -> Plan:
    old = r"    required: \[party-admin, teaching, support\]\n"
    return plan_variant(old, "    required: [party-admin, teaching, support]\n    elective: [section]\n")


def test_a_leader_with_every_course_and_the_reflection_is_complete() -> None:
    got = record("leaders", *done(*LEADER_REQUIRED, *ELECTIVES_ALL), reflections=(wrote("thought", 1500),))
    assert got.status == "complete"
    assert (got.required_hours, got.elective_hours_earned, got.elective_hours, got.total_hours) == \
        (24, 16, 16, 40)
    assert (got.target, got.required_min, got.elective_max) == (40, 20, 24)
    assert got.hours_met and got.required_met and got.reflections_met
    assert got.required_missing == got.reflections_missing == got.reflections_short == ()
    assert got.reasons == ("40 of 40 hours (required 24 of at least 20; electives 16, counted up to 24)",
                           "required courses completed: 3 of 3",
                           "reflections submitted: 1 of 1 (1 long enough)")
    early = record("leaders", *done(*LEADER_REQUIRED, *ELECTIVES_ALL), today=dt.date(2026, 3, 2),
                   reflections=(wrote("thought", 1500),))
    assert early.status == "complete"  # finishing early is finishing


def test_a_teaching_cadre_ahead_of_the_pace_is_on_track_until_the_pace_overtakes_them() -> None:
    facts = done("thought")
    spring = record("teaching", *facts, today=dt.date(2026, 4, 15))
    assert spring.status == "on_track"
    assert spring.expected_hours == pytest.approx(50 * 45 / 289)
    assert spring.required_missing == ("integrity", "policy", "teaching-reform")
    assert spring.reflections_missing == ("thought", "policy")
    assert spring.reasons == (
        "10 of 50 hours (required 10 of at least 30; electives 0, counted up to 24)",
        "required courses completed: 1 of 4",
        "required course not completed: integrity (党风廉政建设与警示教育)",
        "required course not completed: policy (高等职业教育政策法规解读)",
        "required course not completed: teaching-reform (职业教育教学改革与专业建设)",
        "reflections submitted: 0 of 2 (0 long enough)",
        "reflection 学习心得 for thought is missing, due 2026-06-30",
        "reflection 政策学习调研报告 for policy is missing, due 2026-09-30",
        "on pace: by 2026-04-15 the plan expects 7.79 hours",
    )
    summer = record("teaching", *facts, reflections=(wrote("thought", 2000),))
    assert summer.status == "behind"
    assert summer.expected_hours == pytest.approx(50 * 122 / 289)
    assert summer.reasons[-1] == "behind pace: by 2026-07-01 the plan expects 21.11 hours"


def test_a_reflection_missing_or_short_after_its_due_date_puts_the_cadre_behind() -> None:
    courses = done(*LEADER_REQUIRED)  # 24 hours: ahead of the pace all summer
    for reflections in ((), (ReflectionFacts("thought", False),), (wrote("thought", 1499),)):
        on_due = record("leaders", *courses, today=dt.date(2026, 6, 30), reflections=reflections)
        after = record("leaders", *courses, today=JULY, reflections=reflections)
        assert (on_due.status, after.status) == ("on_track", "behind")
        assert not after.reflections_met
    short = record("leaders", *courses, reflections=(wrote("thought", 1499),))
    assert (short.reflections_missing, short.reflections_short) == ((), ("thought",))
    assert "reflection 学习心得 for thought is too short: 1499 of at least 1500 characters, " \
           "due 2026-06-30, overdue" in short.reasons
    missing = record("leaders", *courses, reflections=(ReflectionFacts("thought", False, 3000),))
    assert (missing.reflections_missing, missing.reflections_short) == (("thought",), ())
    assert "reflection 学习心得 for thought is missing, due 2026-06-30, overdue" in missing.reasons


def test_the_longest_of_repeated_reflection_facts_counts() -> None:
    got = record("leaders", reflections=(wrote("thought", 900), wrote("thought", 1600),
                                         ReflectionFacts("thought", False)))
    assert got.reflections_met


def test_a_reflection_asked_for_by_an_elective_is_not_owed() -> None:
    plan = policy_elective_for_section()
    got = record("section", *done("thought", "integrity", "digital", "policy", *ELECTIVES_ALL, "finance"),
                 plan=plan, reflections=(wrote("thought", 1500),))
    assert [(c.course, c.kind) for c in got.credits if c.course == "policy"] == [("policy", "elective")]
    assert got.reflections_met and got.reflections_missing == got.reflections_short == ()
    assert "reflections submitted: 1 of 1 (1 long enough)" in got.reasons
    assert not any("政策学习调研报告" in reason for reason in got.reasons)


def test_a_cadre_who_met_the_hours_but_skipped_a_required_course_is_behind_once_the_period_ends() -> None:
    courses = done("thought", "policy", "governance", "digital", *ELECTIVES_ALL, "finance")
    reflections = (wrote("thought", 1500), wrote("policy", 2000))
    last_day = record("support", *courses, today=DECEMBER, reflections=reflections)
    assert (last_day.total_hours, last_day.required_hours, last_day.hours_met) == (54, 32, True)
    assert (last_day.required_met, last_day.status) == (False, "on_track")
    after = record("support", *courses, today=DECEMBER + dt.timedelta(days=1), reflections=reflections)
    assert after.status == "behind"
    assert after.reasons[-2:] == ("on pace: by 2026-12-16 the plan expects 50 hours",
                                  "the plan period ended on 2026-12-15 with the requirements not met")


def test_required_hours_below_the_minimum_fail_the_hours_whatever_the_total() -> None:
    got = record("party-admin", *done("thought", "governance", *ELECTIVES_ALL, "finance", "teaching-reform"),
                 today=DECEMBER)
    assert (got.required_hours, got.elective_hours_earned, got.elective_hours) == (18, 30, 24)
    assert got.total_hours == 42 and not got.hours_met
    assert got.reasons[0] == "42 of 50 hours (required 18 of at least 30; electives 30, 8 of them from " \
                             "courses outside the tier, counted up to 24)"


def test_electives_count_up_to_the_cap_and_without_one_all_of_them() -> None:
    courses = done(*PARTY_REQUIRED, *ELECTIVES_ALL, "finance")
    reflections = (wrote("thought", 1500), wrote("policy", 2000))
    capped = record("party-admin", *courses, plan=capped_at_10(), reflections=reflections)
    assert (capped.elective_hours_earned, capped.elective_hours, capped.total_hours) == (22, 10, 42)
    assert (capped.elective_max, capped.hours_met, capped.status) == (10, False, "on_track")
    assert capped.reasons[0] == "42 of 50 hours (required 32 of at least 30; electives 22, counted up to 10)"
    free = record("party-admin", *courses, plan=uncapped(), reflections=reflections)
    assert (free.elective_hours, free.total_hours, free.elective_max) == (22, 54, None)
    assert free.status == "complete"
    assert free.reasons[0] == "54 of 50 hours (required 32 of at least 30; electives 22)"


def test_hours_of_a_course_outside_the_new_tier_are_kept_with_the_electives() -> None:
    # required in the teaching tier, where the cadre learnt until a transfer to a party department
    courses = done("thought", "teaching-reform", "emergency")
    before = record("teaching", *courses)
    after = record("party-admin", *courses)
    assert before.total_hours == after.total_hours == 22
    assert [(c.course, c.kind) for c in after.credits] == [
        ("thought", "required"), ("teaching-reform", "other"), ("emergency", "elective")]
    assert (after.required_hours, after.elective_hours_earned) == (10, 12)
    assert (before.required_hours, before.elective_hours_earned) == (18, 4)
    capped = record("party-admin", *done(*ELECTIVES_ALL, "finance", "teaching-reform"))
    assert (capped.elective_hours_earned, capped.elective_hours) == (30, 24)


def test_the_first_completion_counts_once_and_courses_outside_the_plan_are_ignored() -> None:
    facts = (CourseFacts("thought", dt.date(2026, 5, 5)), CourseFacts("thought", None, started=True),
             CourseFacts("thought", APRIL), CourseFacts("ghost-course", APRIL),
             CourseFacts("integrity", None, started=True))
    got = record("section", *facts)
    assert got.credits == (CourseCredit("thought", "required", 10, APRIL),)
    assert got.total_hours == 10 and got.required_missing == ("integrity", "digital")


def test_discussion_points_are_capped_and_only_for_the_tiers_taking_part() -> None:
    posts = (DiscussionFacts("spring", 7), DiscussionFacts("autumn", 3), DiscussionFacts("ghost", 9))
    party = record("party-admin", discussions=posts)
    assert party.points == (("spring", 5), ("autumn", 3)) and party.discussion_points == 8
    assert party.total_hours == 0  # points are not hours
    section = record("section", discussions=posts)
    assert section.points == (("spring", 5),) and section.discussion_points == 5
    silent = record("teaching")
    assert silent.points == (("spring", 0), ("autumn", 0)) and silent.discussion_points == 0
    repeated = record("teaching", discussions=(DiscussionFacts("autumn", 2), DiscussionFacts("autumn", 2)))
    assert repeated.points == (("spring", 0), ("autumn", 2))


def test_a_discussion_without_points_is_listed_with_none() -> None:
    spring, autumn = PLAN.discussions
    plan = dataclasses.replace(PLAN, discussions=(spring, dataclasses.replace(autumn, points=None)))
    posts = (DiscussionFacts("spring", 2), DiscussionFacts("autumn", 4))
    got = record("support", plan=plan, discussions=posts)
    assert got.points == (("spring", 2), ("autumn", 0)) and got.discussion_points == 2


def test_discussion_points_per_post() -> None:
    spring = PLAN.discussions[0]
    assert [discussion_points(spring, n) for n in (0, 1, 4, 5, 6, 100)] == [0, 1, 4, 5, 5, 5]
    assert discussion_points(spring, -3) == 0
    halves = dataclasses.replace(spring, points=Points(0.5, 2))
    assert [discussion_points(halves, n) for n in (1, 3, 4, 9)] == [0.5, 1.5, 2, 2]
    assert discussion_points(dataclasses.replace(spring, points=None), 10) == 0


def test_a_cadre_on_leave_is_excluded_and_keeps_the_hours_on_record() -> None:
    got = record(None, *done("thought"), excluded="离岗", reflections=(wrote("thought", 1500),),
                 discussions=(DiscussionFacts("spring", 3),))
    assert (got.status, got.tier, got.target, got.expected_hours) == ("excluded", None, 0, 0)
    assert not (got.hours_met or got.required_met or got.reflections_met)
    assert got.credits == (CourseCredit("thought", "other", 10, APRIL),) and got.total_hours == 10
    assert got.points == () and got.discussion_points == 0
    assert got.reasons == ("not in the plan this year: 离岗",
                           "completed courses give 10 hours; no requirement applies")
    assert record(None).reasons == ("not in the plan this year",)


def test_a_tier_the_plan_does_not_have_excludes_the_cadre() -> None:
    got = record("deans", *done("thought"))
    assert (got.status, got.tier) == ("excluded", None)
    assert got.reasons[0] == "tier deans is not in the plan"


def test_each_status_is_one_of_the_statuses() -> None:
    everything = done(*LEADER_REQUIRED, *ELECTIVES_ALL)
    seen = {record("leaders", *everything, reflections=(wrote("thought", 1500),)).status,
            record("teaching", *done("thought"), today=dt.date(2026, 4, 15)).status,
            record("teaching", today=JULY).status, record(None).status}
    assert seen == set(STATUSES)


def test_fractional_hours_add_up_exactly() -> None:
    leaders = dataclasses.replace(PLAN.tiers[0], hours=Hours(0.8, 0.8, None))
    courses = (Course("a", "课程一", 0.7, None, frozenset({"leaders"}), frozenset()),
               Course("b", "课程二", 0.1, None, frozenset({"leaders"}), frozenset()))
    plan = dataclasses.replace(PLAN, tiers=(leaders,), courses=courses, discussions=())
    got = record("leaders", *done("a", "b"), plan=plan)
    assert got.hours_met and got.status == "complete"
    assert got.reasons[0] == "0.8 of 0.8 hours (required 0.8 of at least 0.8; electives 0)"


def test_expected_hours_spread_the_target_over_the_period() -> None:
    assert expected_hours(PLAN, 50, dt.date(2026, 1, 1)) == 0
    assert expected_hours(PLAN, 50, PLAN.period.start) == 0
    assert expected_hours(PLAN, 50, JULY) == pytest.approx(50 * 122 / 289)
    assert expected_hours(PLAN, 50, DECEMBER) == 50
    assert expected_hours(PLAN, 50, dt.date(2027, 1, 1)) == 50
    one_day = dataclasses.replace(PLAN, period=Period(JULY, JULY))
    assert [expected_hours(one_day, 40, JULY + dt.timedelta(days=d)) for d in (-1, 0, 1)] == [0, 40, 40]


@pytest.mark.parametrize(("html", "chars"), [
    ("<p>学习心得体会</p>", 6),
    ("<p>学习&nbsp;心得</p>\n<p>\u3000\u3000体会。</p>", 7),
    ("<p>1 &lt; 2 &amp;&amp; 3 > 2</p>", 8),
    ("1 < 2", 3),
    ('<p style="color:red">红<br/>色</p>', 2),
    ("<style>p { margin: 0 }</style><!--[if gte mso 9]><xml>w</xml><![endif]--><p>正文</p>", 2),
    ("<script>alert(1)</script>字", 1),
    ("零\u200b宽\ufeff", 2),
    ("&#20013;&#x6587;", 2),
    ("", 0),
    ("<p>   </p>", 0),
])
def test_reflection_chars_counts_what_a_reader_sees(html: str, chars: int) -> None:
    assert reflection_chars(html) == chars


def test_explain_record_reads_as_a_summary() -> None:
    courses = (*done("thought", "teaching-reform"), CourseFacts("emergency", dt.date(2026, 5, 1)))
    got = record("party-admin", *courses, reflections=(wrote("thought", 1200),),
                 discussions=(DiscussionFacts("spring", 7),))
    assert explain_record(got) == [
        "T20168 2026: behind (进度落后), tier party-admin",
        "  22 of 50 hours (required 10 of at least 30; electives 12, 8 of them from courses outside the "
        "tier, counted up to 24)",
        "  required courses completed: 1 of 4",
        "  required course not completed: integrity (党风廉政建设与警示教育)",
        "  required course not completed: policy (高等职业教育政策法规解读)",
        "  required course not completed: governance (高校管理创新与治理能力提升)",
        "  reflections submitted: 1 of 2 (0 long enough)",
        "  reflection 学习心得 for thought is too short: 1200 of at least 1500 characters, due 2026-06-30, "
        "overdue",
        "  reflection 政策学习调研报告 for policy is missing, due 2026-09-30",
        "  on pace: by 2026-07-01 the plan expects 21.11 hours",
        "  completed courses (已完成课程):",
        "    2026-04-02 thought 10h required",
        "    2026-04-02 teaching-reform 8h other",
        "    2026-05-01 emergency 4h elective",
        "  discussion points (发言加分, not hours): 5 (spring 5, autumn 0)",
    ]
    assert explain_record(record(None, excluded="离职")) == [
        "T20168 2026: excluded (不参加本年度学习)",
        "  not in the plan this year: 离职",
        "  completed courses (已完成课程): none",
    ]
