"""The desired state of the sample years, against numbers worked out here from the files with plain Python.

The expected values below do not use rules/: the roster is read with csv, the plan with yaml.safe_load,
and the sample plan's tier and class rules are written out by hand, as the organisation department
states them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from typing import Any

import pytest
import yaml

from rules.desired_state import desired_state
from rules.roster import load_roster
from tests.rules.samples import plan_text, roster_bytes, sample_plan, sample_roster

FALLBACK = "T19880"
BEIJING = dt.timezone(dt.timedelta(hours=8))


def rows(year: int) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(roster_bytes(year).decode("utf-8-sig"))))


def tier_of(row: dict[str, str]) -> str | None:
    """The sample plans' tiers, as written in them."""
    if row["在职状态"] != "在职":
        return None
    if row["职级"] == "校级":
        return "leaders"
    if row["职级"] in ("正处级", "副处级"):
        return {"党政部门": "party-admin", "教学部门": "teaching", "教辅部门": "support"}[row["部门类别"]]
    return "section"


def class_of(row: dict[str, str]) -> str | None:
    tier = tier_of(row)
    if tier == "section":
        return "section-a" if row["部门类别"] == "党政部门" else "section-b"
    return tier


def courses_of_tiers(year: int) -> dict[str, set[str]]:
    plan: dict[str, Any] = yaml.safe_load(plan_text(year))
    tiers = [t["key"] for t in plan["tiers"]]
    found: dict[str, set[str]] = {t: set() for t in tiers}
    for course in plan["courses"]:
        for kind in ("required", "elective"):
            named = course.get(kind) or []
            for tier in tiers if named == "all" else named:
                found[tier].add(f"cadre:{year}:course:{course['key']}")
    return found


def reviewer_of(row: dict[str, str]) -> str | None:
    leader = row["分管校领导工号"] if row["职级"] != "校级" and row["分管校领导工号"] else FALLBACK
    return None if leader == row["工号"] else leader


def expected(year: int) -> dict[str, Any]:
    table = rows(year)
    courses = courses_of_tiers(year)
    learning = {(r["工号"], c) for r in table if tier_of(r) for c in courses[tier_of(r) or ""]}
    reviewing = {(reviewer_of(r), c) for r in table if tier_of(r) and reviewer_of(r)
                 for c in courses[tier_of(r) or ""]}
    reviewed: dict[str, set[str]] = {}
    for r in table:
        if tier_of(r) and reviewer_of(r):
            reviewed.setdefault(reviewer_of(r) or "", set()).add(r["工号"])
    return {
        "users": len(table),
        "suspended": sorted(r["工号"] for r in table if r["在职状态"] == "离职"),
        "class sizes": dict(Counter(class_of(r) for r in table if class_of(r))),
        "learning": learning,
        "reviewing": reviewing,
        "reviewed": reviewed,
    }


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_sample_years_desired_state(year: int) -> None:
    want = expected(year)
    state = desired_state(sample_plan(year), sample_roster(year))
    assert len(state.users) == want["users"]
    assert sorted(u.employee_no for u in state.users if u.suspended) == want["suspended"]
    assert {k.key: len(k.members) for k in state.classes} == want["class sizes"]
    assert len(state.courses) == 11
    learning = {(e.employee_no, e.course_idnumber) for e in state.enrolments if e.role == "student"}
    reviewing = {(e.employee_no, e.course_idnumber) for e in state.enrolments if e.role == "teacher"}
    assert learning == want["learning"]
    assert reviewing == want["reviewing"]
    assert {a.reviewer: set(a.cadres) for a in state.reviewers} == want["reviewed"]
    assert state.warnings == ()


def test_the_2026_numbers() -> None:
    """The same numbers, written out, so that a change in them is seen in review."""
    state = desired_state(sample_plan(2026), sample_roster(2026))
    assert len(state.users) == 137 and not any(u.suspended for u in state.users)
    assert {k.key: len(k.members) for k in state.classes} == {
        "leaders": 8, "party-admin": 32, "teaching": 31, "support": 15, "section-a": 23, "section-b": 25}
    assert Counter(e.role for e in state.enrolments) == {"student": 1126, "teacher": 84}
    assert len(state.reviewers) == 8


def test_users_courses_and_category_of_2026() -> None:
    state = desired_state(sample_plan(2026), sample_roster(2026))
    assert (state.year, state.learner_role, state.reviewer_role) == (2026, "student", "teacher")
    assert (state.category.idnumber, state.category.name, state.category.parent_idnumber) == \
        ("cadre:2026", "2026 干部在线学习", None)
    first = state.users[0]
    assert (first.employee_no, first.username, first.lastname, first.firstname, first.email, first.phone,
            first.department, first.auth) == ("T19880", "t19880", "余", "娟文", "t19880@college.example",
                                               "13993414184", "校领导", "manual")
    assert [u.employee_no for u in state.users] == sorted(u.employee_no for u in state.users)
    courses = {c.key: c for c in state.courses}
    finance = courses["finance"]
    assert (finance.idnumber, finance.shortname, finance.fullname, finance.category_idnumber, finance.hours,
            finance.template) == ("cadre:2026:course:finance", "cadre-2026-finance", "高校财务与资产管理实务",
                                  "cadre:2026", 6, None)
    assert finance.elective_tiers == {"party-admin", "support", "section"} and finance.required_tiers == set()
    assert courses["thought"].required_tiers == {"leaders", "party-admin", "teaching", "support", "section"}
    assert courses["thought"].template == "TPL-THOUGHT"
    assert finance.startdate == int(dt.datetime(2026, 3, 1, tzinfo=BEIJING).timestamp())
    assert finance.enddate == int(dt.datetime(2026, 12, 15, tzinfo=BEIJING).timestamp())
    classes = {k.key: k for k in state.classes}
    assert (classes["section-a"].idnumber, classes["section-a"].name, classes["section-a"].tier) == \
        ("cadre:2026:class:section-a", "2026 科级干部一班", "section")


def test_on_leave_cadres_keep_an_active_account_and_get_nothing() -> None:
    state = desired_state(sample_plan(2026), sample_roster(2026))
    on_leave = {"T20448", "T20894", "T22398"}
    users = state.users_by_employee_no()
    assert not any(users[n].suspended for n in on_leave)
    assert not any(e.employee_no in on_leave for e in state.enrolments)
    assert not any(on_leave & k.members for k in state.classes)


def test_a_leader_who_learns_and_reviews_in_a_course_has_both_roles() -> None:
    state = desired_state(sample_plan(2026), sample_roster(2026))
    roles = {e.role for e in state.enrolments
             if (e.employee_no, e.course_idnumber) == ("T19918", "cadre:2026:course:thought")}
    assert roles == {"student", "teacher"}


def test_2027_departures_are_suspended_and_enrolled_nowhere() -> None:
    state = desired_state(sample_plan(2027), sample_roster(2027))
    departed = {"T20168", "T22636"}
    users = state.users_by_employee_no()
    assert all(users[n].suspended for n in departed)
    assert not any(e.employee_no in departed for e in state.enrolments)
    assert not any(departed & k.members for k in state.classes)
    assert not any(departed & a.cadres for a in state.reviewers)
    assert len(state.users) == 142


def test_2027_newcomers_join_their_class() -> None:
    state = desired_state(sample_plan(2027), sample_roster(2027))
    classes = {k.key: k.members for k in state.classes}
    assert {"T30000", "T30007", "T30014", "T30021"} <= classes["section-b"]
    assert "T30028" in classes["section-a"]


def test_a_promotion_across_tiers_moves_the_enrolments() -> None:
    text = roster_bytes(2027).decode("utf-8-sig").replace("T20306,黎诚梅,男,校长办公室,党政部门,科长,正科级",
                                                          "T20306,黎诚梅,男,校长办公室,党政部门,副主任,副处级")
    plan = sample_plan(2027)
    before = desired_state(plan, sample_roster(2027))
    after = desired_state(plan, load_roster(text.encode("utf-8"), "roster-2027.csv"))

    def courses(state: Any) -> set[str]:
        return {e.course_idnumber.rsplit(":", 1)[1] for e in state.enrolments
                if e.employee_no == "T20306" and e.role == "student"}

    assert courses(after) - courses(before) == {"policy", "governance"}
    assert courses(before) - courses(after) == {"digital"}
    assert "T20306" in {k.key: k.members for k in after.classes}["party-admin"]
