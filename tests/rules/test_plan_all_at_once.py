"""A plan with errors in several parts gets every problem in one check: the checks across tiers, courses,
hours, classes, reviewers and the roster run on the entries read whole, and never report a problem that
only follows from an entry already reported broken."""

from __future__ import annotations

import pytest

from rules.desired_state import desired_state
from rules.plan import load_plan, read_plan
from rules.plan_roster import check_plan_against_roster, load_plan_and_roster
from rules.problems import InputError
from rules.roster import Roster, load_roster
from tests.rules.plan_base import BASE
from tests.rules.test_plan_roster import HEADER, ROWS


def edited(base: str, *changes: tuple[str, str]) -> str:
    """``base`` with each (old, new) made, old being there exactly once."""
    for old, new in changes:
        assert base.count(old) == 1, old
        base = base.replace(old, new)
    return base


def roster_of(rows: list[str]) -> Roster:
    return load_roster(("\n".join([HEADER, *rows]) + "\n").encode("utf-8"), "roster.csv")


def read(text: str, rows: list[str] | None = None) -> list[str]:
    """Every problem of the plan, and of the plan against a roster of ``rows`` where given, in file order."""
    reading = read_plan(text, "plan.yaml")
    found = list(reading.problems)
    if rows is not None:
        assert reading.kept is not None
        found += check_plan_against_roster(reading.kept, roster_of(rows), reading.gaps)
    return [str(p) for p in sorted(found, key=lambda p: (p.file, p.line or 0, p.where, p.message))]


# Errors in five parts at once: a tier's hours, a course's hours, the reviewers, and, across parts, a tier
# whose required courses fall short and cadres no class takes; each reported where it is.
MANY = edited(BASE,
              ("{target: 14, required_min: 8}", "{target: 14, required_min: eight}"),
              ("required_min: 10,", "required_min: 12,"),
              ("{key: writing, name: 公文写作, hours: 4,", "{key: writing, name: 公文写作,"),
              ("    course: thought", "    course: writing"),
              ("{by: supervising_leader, fallback: T1}", "{by: leader, fallback: T9}"),
              ("[教学部门, 教辅部门]", "[教学部门]"))


def test_errors_in_many_parts_come_in_one_check_with_their_places() -> None:
    assert read(MANY, ROWS) == [
        'plan.yaml line 10 tiers[0].hours.required_min: expected a number; found "eight"',
        'plan.yaml line 14 tiers[2]: 1 cadre(s) of tier "section" match none of its classes: '
        "T4 赵科长 (line 5)",
        'plan.yaml line 14 tiers[2]: tier "section": its required courses give 10 hours, less than the '
        "year's required_min 12",
        'plan.yaml line 23 classes[3]: warning: class "section-b" has nobody from roster.csv',
        "plan.yaml line 36 courses[2].hours: required field is missing",
        'plan.yaml line 38 reviewers.by: unknown reviewer rule "leader" (allowed: supervising_leader, '
        "fallback)",
        'plan.yaml line 38 reviewers.fallback: fallback reviewer "T9" is not in roster.csv',
    ]


def test_both_files_together_give_every_problem_and_refuse() -> None:
    roster = ("\n".join([HEADER, *ROWS]) + "\n").encode("utf-8")
    with pytest.raises(InputError) as raised:
        load_plan_and_roster(MANY, "plan.yaml", roster, "roster.csv")
    assert [str(p) for p in raised.value.problems] == read(MANY, ROWS)
    assert len(raised.value.errors) == 6


def test_a_roster_with_errors_is_reported_beside_the_plan_but_not_checked_against_it() -> None:
    roster = ("\n".join([HEADER, *ROWS]) + "\n").replace(",正科级,", ",正科,").encode("utf-8")
    with pytest.raises(InputError) as raised:
        load_plan_and_roster(MANY, "plan.yaml", roster, "roster.csv")
    shown = [str(p) for p in raised.value.problems]
    assert ('roster.csv line 4, column 职级: unknown rank "正科" (allowed: 校级, 正处级, 副处级, 正科级, '
            "副科级)") in shown
    assert "plan.yaml line 36 courses[2].hours: required field is missing" in shown
    assert not any("roster.csv" in line and line.startswith("plan.yaml") for line in shown)


def test_clean_files_together_give_the_plan_the_roster_and_the_warnings() -> None:
    roster = ("\n".join([HEADER, *ROWS[:3]]) + "\n").encode("utf-8")
    plan, loaded, warnings = load_plan_and_roster(BASE, "plan.yaml", roster, "roster.csv")
    assert plan == load_plan(BASE, "plan.yaml") and len(loaded.cadres) == 3
    assert [str(w) for w in warnings] == [
        'plan.yaml line 23 classes[3]: warning: class "section-b" has nobody from roster.csv']


def test_a_plan_with_errors_is_refused_as_a_whole() -> None:
    """Only the entries read whole are kept, for checking: nothing can be computed or written from them."""
    reading = read_plan(MANY, "plan.yaml")
    assert reading.kept is not None
    assert [t.key for t in reading.kept.tiers] == ["middle", "section"]
    assert [c.key for c in reading.kept.courses] == ["thought", "policy", "health"]
    assert reading.kept.reviewers is None and reading.gaps.fallback == ("T9", 38)
    with pytest.raises(InputError) as raised:
        reading.plan()
    assert [str(p) for p in raised.value.problems] == [str(p) for p in reading.problems]
    with pytest.raises(InputError):
        load_plan(MANY, "plan.yaml")
    assert desired_state(load_plan(BASE, "plan.yaml"), roster_of(ROWS)).year == 2026


# One broken entry at a time in a plan whose cross-checks find three problems: the broken entry's own
# problem, and exactly the cross-check problems of the rest (those it cannot change).
THREE = edited(BASE,
               ("required_min: 10,", "required_min: 12,"),
               ("  - {key: middle, tier: middle, name: 中层干部班}\n", ""),
               ("{target: 14, required_min: 8}", "{target: 15, required_min: 8}"))
LEADERS_TARGET = ('plan.yaml line 7 tiers[0]: warning: tier "leaders": its courses give at most 14 hours '
                  "(required 10 + electives 4), less than its target 15: cadres need hours from elsewhere")
MIDDLE_CLASSLESS = 'plan.yaml line 11 tiers[1]: tier "middle" has no class: its cadres would be in no cohort'
SECTION_SHORT = ('plan.yaml line 14 tiers[2]: tier "section": its required courses give 10 hours, less than '
                 "the year's required_min 12")
CROSS = [LEADERS_TARGET, MIDDLE_CLASSLESS, SECTION_SHORT]

ONE_BROKEN = [
    # entries no cross-check leans on
    ("an announcement's key", ("  - on: 2026-03-05\n", "  - key: Launch Day\n    on: 2026-03-05\n"),
     ['plan.yaml line 52 announcements[0].key: "Launch Day" is not a valid key: use lower-case letters, '
      'digits, "-" and "_" (like "party-admin")'], CROSS),
    ("a reminder's condition", ("{hours_below: 10}", "{hours_belo: 10}"),
     ['plan.yaml line 49 reminders[0].when.hours_belo: unknown condition "hours_belo" (did you mean '
      '"hours_below"?) (allowed: hours_below, required_hours_below, reflection_missing, course_incomplete, '
      "course_not_started)"], CROSS),
    ("a discussion's date", ("    opens: 2026-04-01", "    opens: 2026-04-31"),
     ['plan.yaml line 42 discussions[0].opens: "2026-04-31" is not a date of the calendar'], CROSS),
    ("the reviewers", ("{by: supervising_leader,", "{by: leader,"),
     ['plan.yaml line 37 reviewers.by: unknown reviewer rule "leader" (allowed: supervising_leader, '
      "fallback)"], CROSS),
    ("the period", ("end: 2026-12-15}", "end: 2026-12-32}"),
     ['plan.yaml line 3 period.end: "2026-12-32" is not a date of the calendar'], CROSS),
    ("the exclusion rule", ("{status: [离岗, 离职]}", "{status: [离岗, 退休]}"),
     ['plan.yaml line 18 excluded.match.status[1]: unknown status "退休" (allowed: 在职, 离岗, '
      "离职)"], CROSS),
    ("another tier's class", ("{department_type: 党政部门}", "{department_type: 行政}"),
     ['plan.yaml line 21 classes[1].match.department_type: unknown department type "行政" (allowed: '
      "党政部门, 教学部门, 教辅部门)"], CROSS),
    # a broken course only blinds the sums of the tiers it may count for
    ("a course of another tier", ("    hours: 6\n", "    hours: six\n"),
     ['plan.yaml line 32 courses[1].hours: expected a number; found "six"'], CROSS),
    ("a course whose hours and tiers were read", ("template: TPL-HEALTH,", "template: [TPL-HEALTH],"),
     ["plan.yaml line 36 courses[3].template: expected a single value; found a list"], CROSS),
    ("a course naming every tier and one more", ("    required: all\n",
                                                 "    required: [leaders, middle, section, teachers]\n"),
     ['plan.yaml line 28 courses[0].required[3]: unknown tier "teachers" (did you mean "leaders"?)'], CROSS),
    # a broken entry takes with it the problems it could change
    ("the tier itself", ("    name: 校领导\n", "    name: [校领导]\n"),
     ["plan.yaml line 8 tiers[0].name: expected a single value; found a list"],
     [MIDDLE_CLASSLESS, SECTION_SHORT]),
    ("an elective of every tier", ("{key: writing, name: 公文写作, hours: 4,",
                                   "{key: writing, name: 公文写作,"),
     ["plan.yaml line 35 courses[2].hours: required field is missing"], [MIDDLE_CLASSLESS, SECTION_SHORT]),
    ("the year's required_min", ("required_min: 12,", "required_min: twelve,"),
     ['plan.yaml line 5 hours.required_min: expected a number; found "twelve"'],
     [LEADERS_TARGET, MIDDLE_CLASSLESS]),
    ("a class of the classless tier",
     ("classes:\n", "classes:\n  - {key: middle, tier: middle, name: 中层干部班, match: {rank: 副处}}\n"),
     ['plan.yaml line 20 classes[0].match.rank: unknown rank "副处" (allowed: 校级, 正处级, 副处级, 正科级, '
      "副科级)"], [LEADERS_TARGET, SECTION_SHORT]),
    ("a class whose tier is misspelt",
     ("classes:\n", "classes:\n  - {key: middle, tier: midle, name: 中层干部班}\n"),
     ['plan.yaml line 20 classes[0].tier: unknown tier "midle" (did you mean "middle"?)'],
     [LEADERS_TARGET, SECTION_SHORT]),
]


def test_the_plan_of_the_one_broken_entry_cases_has_three_cross_check_problems() -> None:
    assert read(THREE) == CROSS


@pytest.mark.parametrize(("change", "own", "kept"), [case[1:] for case in ONE_BROKEN],
                         ids=[case[0] for case in ONE_BROKEN])
def test_one_broken_entry_gets_exactly_the_cross_check_problems_of_the_rest(
        change: tuple[str, str], own: list[str], kept: list[str]) -> None:
    assert read(edited(THREE, change)) == sorted([*own, *kept], key=_place)


def _place(problem: str) -> tuple[int, str]:
    """Where a problem of ``read`` stands in file order (every one here has a line)."""
    return int(problem.split()[2]), problem


# The same against the roster: a cadre no class takes (T5), one that no tier takes (T4), a class with nobody.
FIVE = [*ROWS, "T5,钱科长,女,图书馆,教辅部门,科长,正科级,t5@college.example,13900000005,在职,T1"]
ROSTERED = edited(BASE, ("match: {rank: [正科级, 副科级]}", "match: {rank: [正科级]}"),
                  ("[教学部门, 教辅部门]", "[教学部门]"))
CLASSLESS = ('plan.yaml line 14 tiers[2]: 1 cadre(s) of tier "section" match none of its classes: T5 钱科长 '
             "(line 6)")
NOBODY = 'plan.yaml line 23 classes[3]: warning: class "section-b" has nobody from roster.csv'
NO_TIER = ("roster.csv line 5: warning: T4 赵科长 (教辅部门, 副科级) matches no tier of plan.yaml: not "
           "enrolled this year")

ONE_BROKEN_WITH_ROSTER = [
    ("a tier's hours: its match still places its cadres",
     ("{target: 14, required_min: 8}", "{target: 14, required_min: eight}"),
     ['plan.yaml line 10 tiers[0].hours.required_min: expected a number; found "eight"'],
     [CLASSLESS, NOBODY, NO_TIER]),
    ("a course", ("{key: health, name: 身心健康, hours: 4,", "{key: health, name: 身心健康,"),
     ["plan.yaml line 37 courses[3].hours: required field is missing"], [CLASSLESS, NOBODY, NO_TIER]),
    ("the reviewer rule: the fallback is still checked", ("{by: supervising_leader, fallback: T1}",
                                                          "{by: leader, fallback: T9}"),
     ['plan.yaml line 38 reviewers.by: unknown reviewer rule "leader" (allowed: supervising_leader, '
      "fallback)",
      'plan.yaml line 38 reviewers.fallback: fallback reviewer "T9" is not in roster.csv'],
     [CLASSLESS, NOBODY, NO_TIER]),
    ("a duplicate tier key: its match still takes its cadres", ("  - key: section\n", "  - key: middle\n"),
     ['plan.yaml line 14 tiers[2].key: duplicate tier key "middle" (first on line 11)',
      'plan.yaml line 22 classes[2].tier: unknown tier "section"',
      'plan.yaml line 23 classes[3].tier: unknown tier "section"',
      'plan.yaml line 37 courses[3].elective[1]: unknown tier "section"',
      'plan.yaml line 46 discussions[0].tiers[1]: unknown tier "section"'], [NO_TIER]),
    ("an earlier tier's match: who lands after it is unknown", ("match: {rank: [校级]}",
                                                                "match: {rank: [校级, 校长]}"),
     ['plan.yaml line 9 tiers[0].match.rank[1]: unknown rank "校长" (allowed: 校级, 正处级, 副处级, 正科级, '
      "副科级)"], [NOBODY]),
    ("a misspelt match", ("    match: {rank: [正处级, 副处级]}", "    mach: {rank: [正处级, 副处级]}"),
     ['plan.yaml line 13 tiers[1].mach: unknown field "mach" (did you mean "match"?)'], [NOBODY]),
    ("the exclusion rule", ("{status: [离岗, 离职]}", "{status: [离岗, 退休]}"),
     ['plan.yaml line 18 excluded.match.status[1]: unknown status "退休" (allowed: 在职, 离岗, '
      "离职)"], [NOBODY]),
    ("another class of the tier", ("{department_type: 党政部门}", "{department_type: 行政}"),
     ['plan.yaml line 22 classes[2].match.department_type: unknown department type "行政" (allowed: '
      "党政部门, 教学部门, 教辅部门)"], [NOBODY, NO_TIER]),
]


def test_the_plan_of_the_roster_cases_has_three_roster_problems() -> None:
    assert read(ROSTERED, FIVE) == [CLASSLESS, NOBODY, NO_TIER]


@pytest.mark.parametrize(("change", "own", "kept"), [case[1:] for case in ONE_BROKEN_WITH_ROSTER],
                         ids=[case[0] for case in ONE_BROKEN_WITH_ROSTER])
def test_one_broken_entry_gets_exactly_the_roster_problems_of_the_rest(
        change: tuple[str, str], own: list[str], kept: list[str]) -> None:
    plan_side = sorted([p for p in [*own, *kept] if p.startswith("plan.yaml")], key=_place)
    assert read(edited(ROSTERED, change), FIVE) == plan_side + [p for p in kept if p.startswith("roster.csv")]


# References: a name that a broken entry has is not unknown; a name that no entry has is, whatever else is
# broken, since that is true as written.
def test_a_reference_to_a_broken_entry_is_not_unknown() -> None:
    text = edited(BASE, ("    hours: 6\n", "    hours: six\n"),  # the course policy is broken, and the tier
                  ("  - key: middle\n    name: 中层干部\n", "  - key: middle\n    name: [中层干部]\n"),
                  ("    course: thought", "    course: policy"),
                  ("{hours_below: 10}", "{course_incomplete: policy}"))
    assert read(text) == [
        "plan.yaml line 12 tiers[1].name: expected a single value; found a list",
        'plan.yaml line 33 courses[1].hours: expected a number; found "six"',
        # the course's tiers were read whole: who is enrolled in it is known
        'plan.yaml line 46 discussions[0].tiers[1]: tier "section" is not enrolled in course "policy"',
    ]


def test_who_is_enrolled_in_a_course_whose_tiers_are_broken_is_not_known() -> None:
    text = edited(BASE, ("    required: [middle]", "    required: [middle, teachers]"),
                  ("    course: thought", "    course: policy"))
    assert read(text) == ['plan.yaml line 35 courses[1].required[1]: unknown tier "teachers" (did you mean '
                          '"leaders"?)']


def test_a_name_no_entry_has_is_unknown_even_beside_a_tier_without_its_key() -> None:
    text = edited(BASE, ("  - key: middle\n", "  - nam: middle\n"))
    assert read(text) == [
        "plan.yaml line 11 tiers[1].key: required field is missing",
        'plan.yaml line 11 tiers[1].nam: unknown field "nam" (did you mean "name"?)',
        'plan.yaml line 21 classes[1].tier: unknown tier "middle"',
        'plan.yaml line 35 courses[1].required[0]: unknown tier "middle"',
        'plan.yaml line 37 courses[3].elective[0]: unknown tier "middle"',
        'plan.yaml line 46 discussions[0].tiers[0]: unknown tier "middle"',
    ]


def test_a_warning_about_a_field_is_not_given_where_a_misspelt_field_may_be_it() -> None:
    assert read(edited(BASE, ("    required: [middle]\n", "    requird: [middle]\n"),
                       ("    template: TPL-POLICY\n", "    template: [TPL-POLICY]\n"))) == [
        "plan.yaml line 34 courses[1].template: expected a single value; found a list",
        'plan.yaml line 35 courses[1].requird: unknown field "requird" (did you mean "required"?)',
    ]


def test_a_tier_is_not_compared_with_hours_that_could_not_be_read() -> None:
    """Before, an unreadable year target made a tier's own required_min look above a target of 0."""
    text = edited(BASE, ("hours: {target: 18,", "hours: {target: eighteen,"),
                  ("{target: 14, required_min: 8}", "{required_min: 8}"))
    assert read(text) == ['plan.yaml line 5 hours.target: expected a number; found "eighteen"']


def test_a_plan_that_cannot_be_read_at_all_has_nothing_kept() -> None:
    reading = read_plan("- 2026\n", "plan.yaml")
    assert reading.kept is None and len(reading.errors) == 1
    with pytest.raises(InputError):
        reading.plan()
