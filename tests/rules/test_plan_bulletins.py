"""The plan's bulletins (通报): what a plan says of them, every problem with its line and field, and what
the roster tells of them (departments whose figures would reach no head)."""

from __future__ import annotations

import datetime as dt

import pytest

from rules.plan import load_plan
from rules.plan_model import HEAD_POSITIONS
from rules.plan_roster import check_plan_against_roster
from rules.problems import InputError
from rules.roster import load_roster
from tests.rules.plan_base import BASE
from tests.rules.test_plan_roster import HEADER, ROWS

# Lines 62 to 70 of the plan.
BULLETINS = BASE + """\
bulletins:
  - on: 2026-07-01
    title: 上半年进展通报
    to: [leaders, department_heads]
  - key: autumn
    on: 2026-10-15
    title: 第三季度进展通报
    to: [leaders, department_heads, all]
    head_positions: [处长, 馆长]
"""
#: The small roster with a head for the library: every department taking part has one.
HEADED = [*ROWS, "T5,钱馆长,女,图书馆,教辅部门,馆长,正处级,t5@college.example,13900000005,在职,T1"]
AUDIENCES = "audiences: leaders, department_heads, all"
PERIOD = "the plan period 2026-03-01 – 2026-12-15"
DEFAULT = "、".join(HEAD_POSITIONS)
NO_HEAD = "their figures reach no head (name the head's position in head_positions)"


def changed(old: str, new: str) -> str:
    assert old in BULLETINS, old
    return BULLETINS.replace(old, new, 1)


def problems(text: str) -> list[str]:
    try:
        plan = load_plan(text, "plan.yaml")
    except InputError as error:
        return [str(p) for p in error.problems]
    return [str(w) for w in plan.warnings]


def roster_problems(text: str, rows: list[str]) -> list[str]:
    plan = load_plan(text, "plan.yaml")
    roster = load_roster(("\n".join([HEADER, *rows]) + "\n").encode("utf-8"), "roster.csv")
    return [str(p) for p in sorted(check_plan_against_roster(plan, roster))]


def test_a_plan_with_bulletins_is_clean_and_says_what_was_written() -> None:
    assert problems(BULLETINS) == []
    first, second = load_plan(BULLETINS, "plan.yaml").bulletins
    assert (first.key, first.on, first.title, first.to, first.line) == (
        "2026-07-01", dt.date(2026, 7, 1), "上半年进展通报", ("leaders", "department_heads"), 63)
    assert first.head_positions == HEAD_POSITIONS
    assert (second.key, second.to) == ("autumn", ("leaders", "department_heads", "all"))
    assert second.head_positions == ("处长", "馆长")


def test_a_plan_without_bulletins_has_none() -> None:
    assert load_plan(BASE, "plan.yaml").bulletins == ()


def test_the_key_defaults_to_the_date_and_a_second_one_that_day_is_numbered() -> None:
    text = BASE + ("bulletins:\n"
                   "  - {on: 2026-07-01, title: 一, to: all}\n"
                   "  - {on: 2026-07-01, title: 二, to: [all, leaders, all]}\n"
                   "  - {on: 2026-08-01, title: 三, to: leaders}\n")
    plan = load_plan(text, "plan.yaml")
    assert [b.key for b in plan.bulletins] == ["2026-07-01", "2026-07-01-2", "2026-08-01"]
    assert plan.bulletins[1].to == ("leaders", "all")  # in the order the audiences are told, once each


def test_a_broken_bulletin_is_dropped_and_the_others_are_still_checked() -> None:
    text = changed("    to: [leaders, department_heads]\n", "    to: [leaders, bosses]\n").replace(
        "    on: 2026-10-15", "    on: 2027-10-15")
    assert problems(text) == [
        f'plan.yaml line 65 bulletins[0].to[1]: unknown audience "bosses" ({AUDIENCES})',
        f"plan.yaml line 67 bulletins[1].on: the bulletin's date 2027-10-15 is outside {PERIOD}"]


# One row per problem: the changed plan and a problem it must produce (exact message and place).
CASES = [
    ("unknown audience close to a known one", changed("[leaders, department_heads]\n",
                                                      "[leaders, department_head]\n"),
     'plan.yaml line 65 bulletins[0].to[1]: unknown audience "department_head" (did you mean '
     f'"department_heads"?) ({AUDIENCES})'),
    ("unknown audience", changed("[leaders, department_heads]\n", "[leaders, everyone]\n"),
     f'plan.yaml line 65 bulletins[0].to[1]: unknown audience "everyone" ({AUDIENCES})'),
    ("no audience", changed("[leaders, department_heads]\n", "[]\n"),
     "plan.yaml line 65 bulletins[0].to: a bulletin needs an audience (leaders, department_heads, all)"),
    ("missing audience", changed("    to: [leaders, department_heads]\n", ""),
     "plan.yaml line 63 bulletins[0].to: required field is missing"),
    ("missing title", changed("    title: 上半年进展通报\n", ""),
     "plan.yaml line 63 bulletins[0].title: required field is missing"),
    ("missing date", changed("  - on: 2026-07-01\n    title:", "  - title:"),
     "plan.yaml line 63 bulletins[0].on: required field is missing"),
    ("bulletin outside the period", changed("  - on: 2026-07-01", "  - on: 2026-12-20"),
     f"plan.yaml line 63 bulletins[0].on: the bulletin's date 2026-12-20 is outside {PERIOD}"),
    ("bulletin date not a date", changed("  - on: 2026-07-01", "  - on: 七月一日"),
     'plan.yaml line 63 bulletins[0].on: expected a date (YYYY-MM-DD); found "七月一日"'),
    ("title too long", changed("    title: 上半年进展通报", "    title: " + "通报" * 31),
     "plan.yaml line 64 bulletins[0].title: the title is 62 characters long; a bulletin's title holds at "
     "most 60"),
    ("duplicate bulletin key", changed("  - key: autumn\n    on: 2026-10-15", "  - key: '2026-07-01'\n"
                                                                            "    on: 2026-10-15"),
     'plan.yaml line 66 bulletins[1].key: duplicate bulletin key "2026-07-01" (first on line 63)'),
    ("invalid bulletin key", changed("  - key: autumn", "  - key: Autumn Bulletin"),
     'plan.yaml line 66 bulletins[1].key: "Autumn Bulletin" is not a valid key: use lower-case letters, '
     'digits, "-" and "_" (like "party-admin")'),
    ("unknown bulletin field", changed("    head_positions:", "    head_position:"),
     'plan.yaml line 70 bulletins[1].head_position: unknown field "head_position" (did you mean '
     '"head_positions"?)'),
    ("no head position", changed("head_positions: [处长, 馆长]", "head_positions: []"),
     "plan.yaml line 70 bulletins[1].head_positions: head_positions needs at least one position (like 处长, "
     "院长)"),
    ("head positions without heads to tell", changed("[leaders, department_heads, all]", "[leaders, all]"),
     "plan.yaml line 70 bulletins[1].head_positions: warning: head_positions only matter to a bulletin sent "
     "to department_heads"),
    ("bulletins not a list", BASE + "bulletins: 2026-07-01\n",
     'plan.yaml line 62 bulletins: expected a list of bulletins; found "2026-07-01"'),
]


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[case[0] for case in CASES])
def test_each_problem_is_reported_at_its_place(name: str, text: str, expected: str) -> None:
    assert expected in problems(text)


MANY = [ROWS[0], *(f"T{n},科长{n},男,部门{n:02d},教辅部门,科长,正科级,,,在职,T1" for n in range(10, 22))]

# Checks against the roster: the plan, the roster's rows, and a problem they must produce.
ROSTER_CASES = [
    ("a department without a head", BULLETINS, ROWS,
     "plan.yaml line 63 bulletins[0].to: warning: 1 department(s) of roster.csv have nobody in post as "
     f"{DEFAULT}: {NO_HEAD}: 图书馆"),
    ("a head on leave", BULLETINS, [*ROWS[:4], HEADED[4].replace("在职", "离岗")],
     "plan.yaml line 66 bulletins[1].to: warning: 1 department(s) of roster.csv have nobody in post as "
     f"处长、馆长: {NO_HEAD}: 图书馆"),
    ("a head position nobody holds", changed("[处长, 馆长]", "[处长, 馆长, 书记]"), HEADED,
     "plan.yaml line 66 bulletins[1].head_positions: warning: position \"书记\" is nobody's in roster.csv"),
    ("many departments without a head", BULLETINS, MANY,
     "plan.yaml line 63 bulletins[0].to: warning: 12 department(s) of roster.csv have nobody in post as "
     f"{DEFAULT}: {NO_HEAD}: " + "、".join(f"部门{n}" for n in range(10, 20)) + " and 2 more"),
]


def test_a_roster_with_a_head_for_each_department_fits() -> None:
    assert roster_problems(BULLETINS, HEADED) == []


def test_a_finding_is_told_once_for_bulletins_with_the_same_head_positions() -> None:
    both = changed("    head_positions: [处长, 馆长]\n", "")
    found = roster_problems(both, ROWS)
    assert len(found) == 1 and found[0].startswith("plan.yaml line 63 bulletins[0].to")


def test_leaders_are_never_a_department_head_and_bulletins_to_others_are_not_checked() -> None:
    rows = [*ROWS, "T6,孙书记,男,图书馆,教辅部门,党委书记,校级,t6@college.example,13900000006,在职,"]
    assert any("图书馆" in p for p in roster_problems(BULLETINS, rows))
    to_all = BULLETINS.replace("[leaders, department_heads]", "[all]").replace(
        "[leaders, department_heads, all]", "[leaders]").replace("    head_positions: [处长, 馆长]\n", "")
    assert roster_problems(to_all, ROWS) == []


@pytest.mark.parametrize(("name", "text", "rows", "expected"), ROSTER_CASES,
                         ids=[case[0] for case in ROSTER_CASES])
def test_each_roster_finding_is_reported(name: str, text: str, rows: list[str], expected: str) -> None:
    assert expected in roster_problems(text, rows)
