"""The learner's next steps follow their record as the rules computed it: the required courses still
open, the reflections owed (overdue ones first in urgency), the hours the electives and then offline study
can still give, and the discussions open today; nothing for a record already complete or excluded."""

from __future__ import annotations

import datetime as dt

from plugin_service.services.harvest.records import as_json
from plugin_service.services.lti.next_steps import Step, next_steps
from plugin_service.services.read_models.cadre_pages import CourseRow
from rules.hours import CourseFacts, Facts, ReflectionFacts, learning_record
from rules.plan import load_plan
from rules.plan_model import Plan

from ..harvest.world import PLAN_FILE
from ..rules.samples import year_offline

WITH_OFFLINE = PLAN_FILE.read_text("utf-8")  # the sample counts up to 10 offline hours
TIER = "teaching"  # required: thought, integrity, policy, teaching-reform (32 h); electives: 4 x 4 h
LINKS = {key: f"https://moodle.example.edu/course/view.php?id={n}"
         for n, key in enumerate(("thought", "integrity", "policy", "teaching-reform", "emergency", "writing",
                                  "health", "ethics", "finance"), start=10)}


def plan_of(text: str = WITH_OFFLINE) -> Plan:
    return load_plan(text, "plan-2026.yaml")


def steps_for(plan: Plan, today: dt.date, completed: dict[str, dt.date] | None = None,
              reflections: dict[str, int] | None = None, tier: str | None = TIER) -> list[Step]:
    completed = completed or {}
    facts = Facts("T90001", tier, None if tier else "离岗",
                  tuple(CourseFacts(key, day, True) for key, day in completed.items()),
                  tuple(ReflectionFacts(key, True, chars) for key, chars in (reflections or {}).items()))
    detail = as_json(learning_record(plan, facts, today))
    rows = [CourseRow(c.key, c.name, "required" if tier in c.required else "elective" if tier in c.elective
                      else "other", c.hours, "completed" if c.key in completed else "not_started",
                      None, None, None, None, "", None, c.key in completed)
            for c in plan.courses if tier is not None and tier in c.tiers()]
    return next_steps(plan, detail, rows, LINKS, today)


def texts(steps: list[Step]) -> list[str]:
    return [str(step.text) for step in steps]


def test_a_learner_who_has_not_started_is_shown_the_whole_way() -> None:
    plan = plan_of()
    steps = steps_for(plan, dt.date(2026, 4, 10))
    assert texts(steps) == [
        "Start the required course 习近平新时代中国特色社会主义思想专题学习 (10 hours)",
        "Start the required course 党风廉政建设与警示教育 (6 hours)",
        "Start the required course 高等职业教育政策法规解读 (8 hours)",
        "Start the required course 职业教育教学改革与专业建设 (8 hours)",
        "Submit your reflection “学习心得” in 习近平新时代中国特色社会主义思想专题学习 by 2026-06-30 "
        "(at least 1500 characters)",
        "Submit your reflection “政策学习调研报告” in 高等职业教育政策法规解读 by 2026-09-30 "
        "(at least 2000 characters)",
        "Complete elective courses worth 16 more hours (4 still open to you)",
        "Earn 2 more hours from offline study: claim it below, or ask your department to record the training",
        "Take part in the discussion “如何把学习成果转化为推动岗位工作的实际行动” until 2026-04-30: 0 of 5 "
        "points so far",
    ]
    assert [s.url for s in steps[:4]] == [LINKS["thought"], LINKS["integrity"], LINKS["policy"],
                                          LINKS["teaching-reform"]]
    assert [s.url for s in steps[6:]] == ["#electives", "#claims", LINKS["thought"]]
    assert not any(s.urgent for s in steps)


def test_overdue_and_short_reflections_are_urgent() -> None:
    plan = plan_of()
    required = {key: dt.date(2026, 5, 1) for key in ("thought", "integrity", "policy", "teaching-reform")}
    steps = steps_for(plan, dt.date(2026, 10, 10), required | {"emergency": dt.date(2026, 5, 2)},
                      {"thought": 900})
    assert texts(steps) == [
        "Submit your reflection “政策学习调研报告” in 高等职业教育政策法规解读: it was due on 2026-09-30 "
        "(at least 2000 characters)",
        "Lengthen your reflection “学习心得” in 习近平新时代中国特色社会主义思想专题学习 to at least 1500 "
        "characters and submit it again (due 2026-06-30)",
        "Complete elective courses worth 12 more hours (3 still open to you)",
        "Earn 2 more hours from offline study: claim it below, or ask your department to record the training",
        "Take part in the discussion “职业教育法实施中的难点与对策” until 2026-10-31: 0 of 5 points so far",
    ]
    assert [s.urgent for s in steps] == [True, True, False, False, False]


def test_hours_nothing_can_give_are_for_the_organisation_department() -> None:
    plan = plan_of(year_offline(WITH_OFFLINE, None))  # offline hours not counted
    required = {key: dt.date(2026, 5, 1) for key in ("thought", "integrity", "policy", "teaching-reform")}
    steps = steps_for(plan, dt.date(2026, 11, 20), required, {"thought": 1600, "policy": 2100})
    assert texts(steps) == ["Complete elective courses worth 16 more hours (4 still open to you)",
                            "Earn 2 more hours: your tier's courses cannot give them all, ask the "
                            "organisation department"]


def test_a_complete_or_excluded_record_has_no_step() -> None:
    plan = plan_of()
    everything = {c.key: dt.date(2026, 5, 1) for c in plan.courses if "party-admin" in c.tiers()}
    done = steps_for(plan, dt.date(2026, 6, 1), everything, {"thought": 1600, "policy": 2100},
                     tier="party-admin")
    assert done == []
    assert steps_for(plan, dt.date(2026, 6, 1), tier=None) == []
