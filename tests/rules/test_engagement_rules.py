"""The engagement rules as the organisation department reads them: who a reminder concerns, what it says,
how a leader's digest is cut, when an item is due, who is commended, how survey answers are counted."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from rules.commendation import Candidate, commendation_list
from rules.plan_model import Commendation, Condition
from rules.reminders import (
    GRACE_DAYS,
    MESSAGE_LIMIT,
    CadreStanding,
    announcement_messages,
    concerned,
    condition_holds,
    digest_texts,
    has_expired,
    is_due,
    learner_text,
    reminder_messages,
)
from rules.survey import OTHER, Answer, Question, summarise
from tests.rules.plan_base import changed
from tests.rules.samples import sample_plan
from tests.rules.test_plan import problems

PLAN = sample_plan(2026)


def cadre(no: str = "T1", tier: str | None = "teaching", *, hours: float = 0.0, required: float = 0.0,
          completed: tuple[str, ...] = (), started: tuple[str, ...] = (), reflections: tuple[str, ...] = (),
          leader: str = "L1", name: str = "张伟", department: str = "教务处") -> CadreStanding:
    spec = PLAN.tier(tier) if tier else None
    return CadreStanding(no, name, department, tier, hours, required, spec.hours.target if spec else 0.0,
                         spec.hours.required_min if spec else 0.0, frozenset(completed), frozenset(started),
                         frozenset(reflections), leader, "")


@pytest.mark.parametrize(("condition", "standing", "holds"), [
    (Condition("hours_below", 20), cadre(hours=19.5), True),
    (Condition("hours_below", 20), cadre(hours=20), False),
    (Condition("required_hours_below", 10), cadre(hours=30, required=8), True),
    (Condition("reflection_missing", "thought"), cadre(), True),
    (Condition("reflection_missing", "thought"), cadre(reflections=("thought",)), False),
    (Condition("reflection_missing", "policy"), cadre(tier="leaders"), False),  # leaders do not study it
    (Condition("course_incomplete", "teaching-reform"), cadre(started=("teaching-reform",)), True),
    (Condition("course_incomplete", "teaching-reform"), cadre(completed=("teaching-reform",)), False),
    (Condition("course_incomplete", "required"), cadre(completed=("thought", "integrity", "policy")), True),
    (Condition("course_incomplete", "required"),
     cadre(completed=("thought", "integrity", "policy", "teaching-reform")), False),
    (Condition("course_not_started", "thought"), cadre(started=("thought",)), False),
    (Condition("course_not_started", "required"), cadre(started=("thought", "integrity", "policy")), True),
    (Condition("course_not_started", "emergency"), cadre(), True),  # an elective of every tier
    (Condition("course_not_started", "finance"), cadre(), False),  # not offered to teaching
], ids=lambda value: str(getattr(value, "kind", "")) or None)
def test_each_condition(condition: Condition, standing: CadreStanding, holds: bool) -> None:
    assert condition_holds(PLAN, condition, standing) is holds


def test_a_reminder_concerns_the_members_of_its_tiers_meeting_every_condition() -> None:
    reminder = dataclasses.replace(next(r for r in PLAN.reminders if r.key == "mid-year"),
                                   when=(Condition("hours_below", 20),
                                         Condition("reflection_missing", "thought")),
                                   tiers=frozenset({"teaching", "support"}))
    cadres = [cadre("A", hours=5), cadre("B", hours=5, reflections=("thought",)), cadre("C", hours=25),
              cadre("D", tier="section", hours=0), cadre("E", tier=None)]
    assert [c.employee_no for c in concerned(PLAN, reminder, cadres)] == ["A"]


def test_a_learner_reads_their_own_numbers_and_a_leader_one_digest() -> None:
    reminder = next(r for r in PLAN.reminders if r.key == "autumn-laggards")
    cadres = [cadre("A", hours=12.5, required=8, leader="L1"), cadre("B", hours=30, leader="L1",
                                                                     name="李娜", department="财务处"),
              cadre("C", hours=40, leader="L1"),
              cadre("L1", tier="leaders", hours=10, leader="", name="王校长")]
    messages = reminder_messages(PLAN, reminder, cadres, {"L1": "王校长"})
    by_key = {m.key: m for m in messages}
    assert sorted(by_key) == ["2026/digest/autumn-laggards/2026-10-15/L1",
                              "2026/reminder/autumn-laggards/2026-10-15/A",
                              "2026/reminder/autumn-laggards/2026-10-15/B",
                              "2026/reminder/autumn-laggards/2026-10-15/L1"]
    text = by_key["2026/reminder/autumn-laggards/2026-10-15/A"].text
    assert text.startswith("张伟同志：您好！截至 2026年10月15日，您目前获得的学时低于本阶段应达到的 35 学时。"
                           "本年度要求完成 50 学时，其中必修课不少于 30 学时；"
                           "您目前共获得 12.5 学时（必修 8 学时）")
    assert text.endswith(PLAN.organisation)
    digest = by_key["2026/digest/autumn-laggards/2026-10-15/L1"]
    assert digest.about == ("A", "B") and digest.recipient == "L1"
    assert "王校长同志：您好！" in digest.text and "（共 2 人）" in digest.text
    assert "1. 张伟（教务处）已获得 12.5 / 50 学时" in digest.text and "2. 李娜（财务处）" in digest.text


def test_a_long_digest_is_cut_into_messages_moodle_accepts_listing_everyone_once() -> None:
    reminder = next(r for r in PLAN.reminders if r.key == "autumn-laggards")
    cadres = [cadre(f"T{n:03d}", hours=1, department="继续教育学院" * 5) for n in range(150)]
    parts = digest_texts(PLAN, reminder, "王校长", cadres)
    assert len(parts) > 1 and all(len(text.encode("utf-8")) <= MESSAGE_LIMIT for text, _listed in parts)
    assert all(len(text.encode("utf-8")) > MESSAGE_LIMIT - 200 for text, _listed in parts[:-1])
    assert [c.employee_no for _text, listed in parts for c in listed] == [c.employee_no for c in cadres]
    keys = [m.key for m in reminder_messages(PLAN, reminder, cadres, {}) if m.kind == "digest"]
    assert keys == [f"2026/digest/autumn-laggards/2026-10-15/L1/part-{n}" for n in range(1, len(parts) + 1)]


def test_learner_texts_stay_within_moodles_limit() -> None:
    reminder = dataclasses.replace(PLAN.reminders[0], when=tuple(
        Condition(kind, "required") for kind in ("course_incomplete", "course_not_started")))
    assert len(learner_text(PLAN, reminder, cadre()).encode("utf-8")) < MESSAGE_LIMIT


def test_an_announcement_reaches_its_tiers() -> None:
    announcement = next(a for a in PLAN.announcements if a.key == "2026-05-12-1")
    cadres = [cadre("A", tier="support"), cadre("B", tier="section"), cadre("C"), cadre("D", tier=None)]
    messages = announcement_messages(PLAN, announcement, cadres)
    assert [m.recipient for m in messages] == ["A", "B"]
    assert messages[0].text.startswith("【校园应急管理常识课程已开放】\n")
    assert messages[0].key == "2026/announcement/2026-05-12-1/A"


@pytest.mark.parametrize(("today", "due", "expired"), [
    (dt.date(2026, 6, 30), False, False),
    (dt.date(2026, 7, 1), True, False),
    (dt.date(2026, 7, 1) + dt.timedelta(days=GRACE_DAYS), True, False),
    (dt.date(2026, 7, 2) + dt.timedelta(days=GRACE_DAYS), False, True),
])
def test_an_item_is_due_on_its_date_and_during_its_grace(today: dt.date, due: bool, expired: bool) -> None:
    assert (is_due(dt.date(2026, 7, 1), today), has_expired(dt.date(2026, 7, 1), today)) == (due, expired)


def candidate(no: str, hours: float, points: float = 0, grade: float | None = None,
              on: dt.date | None = None, tier: str = "support") -> Candidate:
    return Candidate(no, no, "部门", tier, hours, hours, 0, points, grade, on)


def test_commendation_orders_by_hours_points_grade_and_date_and_keeps_ties_at_the_cut() -> None:
    plan = dataclasses.replace(PLAN, commendation=Commendation(top_per_tier=2, min_hours=40))
    listed = commendation_list(plan, [
        candidate("A", 52), candidate("B", 50, points=3), candidate("C", 50, points=3),
        candidate("D", 50, points=1), candidate("E", 39.9), candidate("F", 60, tier="leaders"),
        candidate("G", 48, grade=90, on=dt.date(2026, 9, 1)),
        candidate("H", 48, grade=90, on=dt.date(2026, 8, 1))])
    assert [(e.tier, e.candidate.employee_no, e.rank, e.tied) for e in listed] == [
        ("leaders", "F", 1, False), ("support", "A", 1, False), ("support", "B", 2, True),
        ("support", "C", 2, True)]
    assert commendation_list(dataclasses.replace(PLAN, commendation=None), [candidate("A", 99)]) == []


def test_survey_answers_are_counted_per_choice_tier_and_department() -> None:
    questions = [Question(1, "主题", "choice", ("理论", "管理", "写作")), Question(2, "建议", "text"),
                 Question(3, "满意度", "number"), Question(4, "说明", "info")]
    answers = [Answer("A", "教学部门中层干部", "教务处", {1: ("理论", "写作"), 2: ("多些案例",), 3: ("4",)}),
               Answer("B", "教学部门中层干部", "机电学院", {1: ("理论",), 2: ("",), 3: ("5",)}),
               Answer("", OTHER, OTHER, {1: ("管理",)})]
    summary = summarise(questions, answers, {"教学部门中层干部": 3, "校领导": 2})
    topic, advice, satisfaction = summary.questions
    assert [(c.choice, c.total, c.by_tier, c.by_department) for c in topic.choices] == [
        ("理论", 2, {"教学部门中层干部": 2}, {"教务处": 1, "机电学院": 1}),
        ("管理", 1, {OTHER: 1}, {OTHER: 1}),
        ("写作", 1, {"教学部门中层干部": 1}, {"教务处": 1})]
    assert advice.texts == (("教学部门中层干部", "教务处", "多些案例"),) and advice.answered == 1
    assert satisfaction.mean == 4.5
    assert summary.rate_by_tier == {"教学部门中层干部": (2, 3), "校领导": (0, 2), OTHER: (1, 0)}


def test_the_plan_names_its_survey_and_course_conditions_may_say_required() -> None:
    from tests.rules.plan_base import BASE
    text = BASE + "survey: {course: thought, activity: 2026 培训需求调查}\n"
    plan_problems = problems(text)
    assert not [p for p in plan_problems if "survey" in p]
    wrong = problems(BASE + "survey: {course: nowhere}\n")
    assert any('survey.course: unknown course "nowhere"' in p for p in wrong)
    ok = problems(changed("when: {hours_below: 10}", "when: {course_not_started: required}"))
    assert not [p for p in ok if "when" in p]
    bad = problems(changed("when: {hours_below: 10}", "when: {course_not_started: nowhere}"))
    assert any('unknown course "nowhere"' in p for p in bad)


def test_an_announcement_too_long_for_one_moodle_message_is_refused_where_it_is_written() -> None:
    long_body = "请" * 1300  # 3,900 bytes of UTF-8: Moodle counts bytes
    found = problems(changed("    body: 请按时完成。", f"    body: {long_body}"))
    assert any("announcements[0].body: the announcement is 3906 bytes long; a Moodle message holds at most "
               "3800" in p for p in found), found
