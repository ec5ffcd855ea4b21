"""Checks of a plan against the year's roster: what only the roster can tell."""

from __future__ import annotations

import pytest

from rules.plan import load_plan
from rules.plan_model import HEAD_POSITIONS
from rules.plan_roster import check_plan_against_roster
from rules.roster import load_roster
from tests.rules.plan_base import BASE, changed
from tests.rules.samples import sample_plan, sample_roster

HEADER = "工号,姓名,性别,部门,部门类别,职务,职级,邮箱,手机,在职状态,分管校领导工号"
ROWS = [
    "T1,王校长,男,校领导,党政部门,党委书记,校级,t1@college.example,13900000001,在职,",
    "T2,李处长,女,教务处,党政部门,处长,正处级,t2@college.example,13900000002,在职,T1",
    "T3,张科长,男,教务处,党政部门,科长,正科级,t3@college.example,13900000003,在职,T1",
    "T4,赵科长,男,图书馆,教辅部门,副科长,副科级,t4@college.example,13900000004,在职,T1",
]


def check(plan_text: str, rows: list[str]) -> list[str]:
    plan = load_plan(plan_text, "plan.yaml")
    roster = load_roster(("\n".join([HEADER, *rows]) + "\n").encode("utf-8"), "roster.csv")
    return [str(p) for p in sorted(check_plan_against_roster(plan, roster))]


def test_the_base_plan_fits_the_small_roster() -> None:
    assert check(BASE, ROWS) == []


#: In 2026 the head of 党委宣传部 is on leave (a deputy acts): its figures reach no head.
SAMPLE_ROSTER_WARNINGS = {
    2026: ["plan-2026.yaml line 146 bulletins[0].to: warning: 1 department(s) of roster-2026.csv have nobody "
           f"in post as {'、'.join(HEAD_POSITIONS)}: their figures reach no head (name the head's position "
           "in head_positions): 党委宣传部"],
    2027: [],
}


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_sample_plans_fit_their_rosters(year: int) -> None:
    found = check_plan_against_roster(sample_plan(year), sample_roster(year))
    assert [str(p) for p in found] == SAMPLE_ROSTER_WARNINGS[year]


CASES = [
    ("fallback not in the roster", changed("fallback: T1}", "fallback: T9}"), ROWS,
     'plan.yaml line 38 reviewers.fallback: fallback reviewer "T9" is not in roster.csv'),
    ("fallback departed", BASE, [ROWS[0].replace("在职", "离职"), *ROWS[1:]],
     'plan.yaml line 38 reviewers.fallback: fallback reviewer "T1" (王校长) has departed (离职)'),
    ("fallback on leave", BASE, [ROWS[0].replace("在职", "离岗"), *ROWS[1:]],
     'plan.yaml line 38 reviewers.fallback: warning: fallback reviewer "T1" (王校长) is on leave (离岗)'),
    ("fallback not a school leader", changed("fallback: T1}", "fallback: T2}"), ROWS,
     'plan.yaml line 38 reviewers.fallback: warning: fallback reviewer "T2" (李处长) is 正处级, not a 校级 '
     'leader'),
    ("tier matching nobody", BASE, [ROWS[0], *ROWS[2:]],
     'plan.yaml line 11 tiers[1]: warning: tier "middle" matches nobody in roster.csv'),
    ("class with nobody", BASE, ROWS[:3],
     'plan.yaml line 23 classes[3]: warning: class "section-b" has nobody from roster.csv'),
    ("cadres of a tier without a class", changed("[教学部门, 教辅部门]", "[教学部门]"), ROWS,
     'plan.yaml line 14 tiers[2]: 1 cadre(s) of tier "section" match none of its classes: '
     "T4 赵科长 (line 5)"),
    ("cadre matching no tier", changed("match: {rank: [正科级, 副科级]}", "match: {rank: [正科级]}"), ROWS,
     "roster.csv line 5: warning: T4 赵科长 (教辅部门, 副科级) matches no tier of plan.yaml: not enrolled "
     "this year"),
    ("a department nobody is in", changed("{department_type: 党政部门}", "{department_type: 党政部门, "
                                          "department: [教务处, 教物处]}"), ROWS,
     'plan.yaml line 22 classes[2].match.department: warning: department "教物处" is nobody\'s '
     "in roster.csv"),
    ("an employee number not in the roster",
     changed("match: {rank: [校级]}", "match: {employee_no: [T1, T7]}"), ROWS,
     'plan.yaml line 7 tiers[0].match.employee_no: warning: employee_no "T7" is nobody\'s in roster.csv'),
]


@pytest.mark.parametrize(("plan_text", "rows", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_roster_dependent_problem(plan_text: str, rows: list[str], expected: str) -> None:
    assert expected in check(plan_text, rows)


def test_many_classless_cadres_are_named_up_to_ten() -> None:
    rows = [ROWS[0]] + [f"T{n},科员{n},男,图书馆,教辅部门,副科长,副科级,t{n}@college.example,,在职,T1"
                        for n in range(10, 23)]
    [problem] = [p for p in check(changed("[教学部门, 教辅部门]", "[教学部门]"), rows) if "none of its" in p]
    assert problem.endswith("T19 科员19 (line 12) and 3 more")
    assert problem.startswith('plan.yaml line 14 tiers[2]: 13 cadre(s) of tier "section" match none of its '
                              'classes: '
                              "T10 科员10 (line 3), T11 科员11 (line 4)")
