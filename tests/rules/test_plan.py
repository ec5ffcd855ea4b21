"""The plan: every problem a plan's author can make, each with its line and field path."""

from __future__ import annotations

import datetime as dt

import pytest

from rules.plan import FactTest, Hours, Match, load_plan
from rules.problems import InputError
from tests.rules.plan_base import BASE, changed
from tests.rules.samples import plan_text, sample_plan

RANKS = "allowed: 校级, 正处级, 副处级, 正科级, 副科级"
PERIOD = "the plan period 2026-03-01 – 2026-12-15"


def problems(text: str) -> list[str]:
    """Every problem of the plan, errors and warnings, as people read them."""
    try:
        plan = load_plan(text, "plan.yaml")
    except InputError as error:
        return [str(p) for p in error.problems]
    return [str(w) for w in plan.warnings]


def test_the_base_plan_is_clean() -> None:
    assert problems(BASE) == []


# One row per problem: the change to the base plan, and a problem it must produce (exact message and place).
CASES = [
    # YAML itself
    ("duplicate mapping key", changed("    hours: 10\n", "    hours: 10\n    hours: 12\n"),
     'plan.yaml line 28 courses[0].hours: duplicate key "hours" (first on line 27)'),
    ("duplicate top-level key", BASE + "year: 2027\n",
     'plan.yaml line 62 year: duplicate key "year" (first on line 1)'),
    ("not YAML", changed("    name: 政策法规\n", "    name: [政策法规\n"),
     "plan.yaml line 33: not valid YAML: while parsing a flow sequence expected ',' or ']', but got ':'"),
    # fields and types
    ("unknown field, close to a known one", changed("    template: TPL-POLICY", "    templte: TPL-POLICY"),
     'plan.yaml line 34 courses[1].templte: unknown field "templte" (did you mean "template"?)'),
    ("unknown top-level field", BASE + "reminder: []\n",
     'plan.yaml line 62 reminder: unknown field "reminder" (did you mean "reminders"?)'),
    ("missing required field", changed("    name: 政策法规\n", ""),
     "plan.yaml line 31 courses[1].name: required field is missing"),
    ("missing top-level section", changed("courses:", "course:"),
     "plan.yaml line 1 courses: required field is missing"),
    ("hours not a number", changed("    hours: 6\n", "    hours: six\n"),
     'plan.yaml line 33 courses[1].hours: expected a number; found "six"'),
    ("a list where a value goes", changed("    name: 政策法规", "    name: [政策, 法规]"),
     "plan.yaml line 32 courses[1].name: expected a single value; found a list"),
    ("a value where a mapping goes",
     changed("reflection: {title: 学习心得, due: 2026-06-30, min_chars: 1500}", "reflection: 学习心得"),
     "plan.yaml line 30 courses[0].reflection: expected a mapping with title, due, min_chars; found "
     "\"学习心得\""),
    ("year not a number", changed("year: 2026", "year: 二〇二六"),
     'plan.yaml line 1 year: expected a whole number; found "二〇二六"'),
    ("invalid key", changed("  - key: middle\n", "  - key: Middle Managers\n"),
     'plan.yaml line 11 tiers[1].key: "Middle Managers" is not a valid key: use lower-case letters, digits, '
     '"-" and "_" (like "party-admin")'),
    ("tier key all", changed("  - key: middle\n", "  - key: all\n"),
     'plan.yaml line 11 tiers[1].key: "all" cannot be a tier key: in a plan it means every tier'),
    # dates and the period
    ("not a calendar date", changed("due: 2026-06-30", "due: 2026-06-31"),
     'plan.yaml line 30 courses[0].reflection.due: "2026-06-31" is not a date of the calendar'),
    ("not an ISO date", changed("due: 2026-06-30", "due: 30/06/2026"),
     'plan.yaml line 30 courses[0].reflection.due: expected a date (YYYY-MM-DD); found "30/06/2026"'),
    ("a date with a time", changed("    opens: 2026-04-01", "    opens: 2026-04-01 08:00:00"),
     'plan.yaml line 43 discussions[0].opens: expected a date (YYYY-MM-DD) without a time; found '
     '"2026-04-01 08:00:00"'),
    ("period ends before it starts", changed("{start: 2026-03-01, end: 2026-12-15}",
                                             "{start: 2026-12-15, end: 2026-03-01}"),
     "plan.yaml line 3 period.end: the period must end after it starts: it starts 2026-12-15 and ends "
     "2026-03-01"),
    ("period in another year", changed("{start: 2026-03-01, end: 2026-12-15}", "{start: 2025-03-01, end: "
                                                                               "2025-12-15}"),
     "plan.yaml line 3 period.start: the period starts in 2025, not in the plan's year 2026"),
    # hours
    ("negative hours", changed("    hours: 6\n", "    hours: -6\n"),
     "plan.yaml line 33 courses[1].hours: must not be negative (found -6)"),
    ("negative target", changed("hours: {target: 18,", "hours: {target: -18,"),
     "plan.yaml line 5 hours.target: must not be negative (found -18)"),
    ("negative elective_max", changed("elective_max: 8}", "elective_max: -8}"),
     "plan.yaml line 5 hours.elective_max: must not be negative (found -8)"),
    ("required_min above target", changed("hours: {target: 18, required_min: 10,", "hours: {target: 18, "
                                                                                   "required_min: 20,"),
     "plan.yaml line 5 hours.required_min: required_min (20) is more than the target (18)"),
    ("tier required_min above its target", changed("{target: 14, required_min: 8}", "{target: 14, "
                                                                                    "required_min: 16}"),
     "plan.yaml line 10 tiers[0].hours: required_min (16) is more than the target (14)"),
    ("required courses cannot reach the year's required_min",
     changed("required_min: 10,", "required_min: 12,"),
     'plan.yaml line 14 tiers[2]: tier "section": its required courses give 10 hours, less than the year\'s '
     "required_min 12"),
    ("required courses cannot reach a tier's own required_min",
     changed("{target: 14, required_min: 8}", "{target: 14, required_min: 12}"),
     'plan.yaml line 7 tiers[0]: tier "leaders": its required courses give 10 hours, less than its own '
     "required_min 12"),
    ("courses cannot reach the target", changed("{target: 14, required_min: 8}", "{target: 15, required_min: "
                                                                                 "8}"),
     'plan.yaml line 7 tiers[0]: warning: tier "leaders": its courses give at most 14 hours (required 10 + '
     "electives 4), less than its target 15: cadres need hours from elsewhere"),
    ("elective_max caps the target out of reach", changed("elective_max: 8}", "elective_max: 6}"),
     'plan.yaml line 14 tiers[2]: warning: tier "section": its courses give at most 16 hours (required 10 + '
     "electives 6 (of 8, capped by elective_max)), less than its target 18: cadres need hours from "
     "elsewhere"),
    ("offline hours cannot fill the gap to the target",
     changed("{target: 14, required_min: 8}", "{target: 15, required_min: 8}") + "offline: {max: 0.5}\n",
     'plan.yaml line 7 tiers[0]: warning: tier "leaders": its courses give at most 14 hours (required 10 + '
     "electives 4) and offline study at most 0.5 more, 14.5 in all, less than its target 15: the target "
     "cannot be reached"),
    ("capped electives and offline hours cannot reach the target",
     changed("elective_max: 8}", "elective_max: 6}") + "offline: {max: 1}\n",
     'plan.yaml line 14 tiers[2]: warning: tier "section": its courses give at most 16 hours (required 10 + '
     "electives 6 (of 8, capped by elective_max)) and offline study at most 1 more, 17 in all, less than "
     "its target 18: the target cannot be reached"),
    ("negative offline max", BASE + "offline: {max: -2}\n",
     "plan.yaml line 62 offline.max: must not be negative (found -2)"),
    ("offline without its max", BASE + "offline: {}\n",
     "plan.yaml line 62 offline.max: required field is missing"),
    ("a tier's offline cap misspelt",
     changed("    hours: {target: 14, required_min: 8}\n", "    hours: {target: 14, required_min: 8}\n"
                                                           "    offline: {maximum: 4}\n"),
     'plan.yaml line 11 tiers[0].offline.maximum: unknown field "maximum" (did you mean "max"?)'),
    ("elective_max above the target", changed("elective_max: 8}", "elective_max: 20}"),
     "plan.yaml line 5 hours.elective_max: warning: elective_max (20) is more than the target (18): it caps "
     "nothing"),
    ("elective_max above a tier's own target", changed("elective_max: 8}", "elective_max: 16}"),
     'plan.yaml line 7 tiers[0]: warning: tier "leaders": elective_max (16) is more than the target (14): '
     "it caps nothing"),
    ("elective_max zero", changed("{target: 14, required_min: 8}", "{target: 10, required_min: 8, "
                                                                   "elective_max: 0}"),
     'plan.yaml line 7 tiers[0]: warning: tier "leaders" has elective courses but elective_max is 0: they '
     'count '
     "for nothing"),
    # keys
    ("duplicate tier key", changed("  - key: section\n", "  - key: middle\n"),
     'plan.yaml line 14 tiers[2].key: duplicate tier key "middle" (first on line 11)'),
    ("duplicate class key", changed("{key: section-b,", "{key: section-a,"),
     'plan.yaml line 23 classes[3].key: duplicate class key "section-a" (first on line 22)'),
    ("duplicate course key", changed("{key: health,", "{key: writing,"),
     'plan.yaml line 37 courses[3].key: duplicate course key "writing" (first on line 36)'),
    ("duplicate discussion key", BASE.replace("reminders:\n", "  - {key: spring, course: thought, title: "
                                                              "再谈, "
                                              "opens: 2026-05-01, closes: 2026-05-31}\nreminders:\n"),
     'plan.yaml line 47 discussions[1].key: duplicate discussion key "spring" (first on line 40)'),
    ("duplicate reminder key", BASE.replace("announcements:\n", "  - {key: mid-year, on: 2026-08-01, "
                                            "when: {hours_below: 12}, to: [learner]}\nannouncements:\n"),
     'plan.yaml line 52 reminders[1].key: duplicate reminder key "mid-year" (first on line 48)'),
    # references
    ("unknown tier in a course", changed("    required: [middle]", "    required: [middle, teachers]"),
     'plan.yaml line 35 courses[1].required[1]: unknown tier "teachers" (did you mean "leaders"?)'),
    ("unknown tier, single word", changed("elective: [middle, section]}", "elective: sections}"),
     'plan.yaml line 37 courses[3].elective: unknown tier "sections" (did you mean "section"?)'),
    ("required and elective at once", changed("    required: [middle]", "    required: [middle]\n    "
                                                                        "elective: [middle]"),
     'plan.yaml line 36 courses[1].elective[0]: tier "middle" is both required and elective'),
    ("course for nobody", changed("    required: [middle]\n", ""),
     'plan.yaml line 31 courses[1]: warning: course "policy" is neither required nor elective for any tier: '
     "nobody is enrolled"),
    ("class of an unknown tier", changed("{key: middle, tier: middle,", "{key: middle, tier: midle,"),
     'plan.yaml line 21 classes[1].tier: unknown tier "midle" (did you mean "middle"?)'),
    ("tier without a class", changed("  - {key: middle, tier: middle, name: 中层干部班}\n", ""),
     'plan.yaml line 11 tiers[1]: tier "middle" has no class: its cadres would be in no cohort'),
    ("overlapping classes",
     changed("match: {department_type: [教学部门, 教辅部门]}", "match: {rank: 副科级}"),
     'plan.yaml line 23 classes[3]: class "section-b" overlaps class "section-a" (line 22) of tier '
     '"section": '
     "they test different facts, so a cadre can match both"),
    ("overlapping classes, shared value", changed("[教学部门, 教辅部门]", "[教学部门, 党政部门]"),
     'plan.yaml line 23 classes[3]: class "section-b" overlaps class "section-a" (line 22) of tier '
     '"section": '
     "a cadre can match both (department_type)"),
    ("a class taking the whole tier beside another", changed("科级二班, match: {department_type: [教学部门, "
                                                             "教辅部门]}",
                                                            "科级二班"),
     'plan.yaml line 23 classes[3]: class "section-b" overlaps class "section-a" (line 22) of tier '
     '"section": '
     'class "section-b" has no match of its own and takes the whole tier'),
    ("a tier that can never match",
     changed("    match: {rank: [正处级, 副处级]}", "    match: {rank: [校级]}"),
     'plan.yaml line 11 tiers[1]: warning: tier "middle" can never match: tier "leaders" (line 7) comes '
     'first '
     "and matches everyone it would"),
    # match rules
    ("unknown roster fact", changed("match: {rank: [正科级, 副科级]}", "match: {grade: [正科级, 副科级]}"),
     'plan.yaml line 16 tiers[2].match.grade: unknown roster fact "grade" (allowed: employee_no, gender, '
     "department, department_type, position, rank, status)"),
    ("unknown roster fact, close", changed("match: {status: [离岗, 离职]}", "match: {stauts: [离岗, 离职]}"),
     'plan.yaml line 18 excluded.match.stauts: unknown roster fact "stauts" (did you mean "status"?) '
     '(allowed: '
     "employee_no, gender, department, department_type, position, rank, status)"),
    ("unknown rank in a match", changed("match: {rank: [正处级, 副处级]}", "match: {rank: [正处级, 副处]}"),
     f'plan.yaml line 13 tiers[1].match.rank[1]: unknown rank "副处" ({RANKS})'),
    ("unknown status in a match", changed("{status: [离岗, 离职]}", "{status: [离岗, 退休]}"),
     'plan.yaml line 18 excluded.match.status[1]: unknown status "退休" (allowed: 在职, 离岗, 离职)'),
    ("unknown department type in a class", changed("{department_type: 党政部门}", "{department_type: 行政}"),
     'plan.yaml line 22 classes[2].match.department_type: unknown department type "行政" (allowed: 党政部门, '
     "教学部门, 教辅部门)"),
    # courses
    ("course without a template", changed("    template: TPL-POLICY\n", ""),
     'plan.yaml line 31 courses[1]: warning: course "policy" has no template course: it is created empty and '
     "cannot complete until someone configures completion in Moodle"),
    ("reflection due outside the period", changed("due: 2026-06-30", "due: 2027-01-10"),
     f"plan.yaml line 30 courses[0].reflection.due: due 2027-01-10 is outside {PERIOD}"),
    ("reflection min_chars zero", changed("min_chars: 1500", "min_chars: 0"),
     "plan.yaml line 30 courses[0].reflection.min_chars: must be more than 0 (found 0)"),
    ("reflection min_chars negative", changed("min_chars: 1500", "min_chars: -1500"),
     "plan.yaml line 30 courses[0].reflection.min_chars: must be more than 0 (found -1500)"),
    # discussions
    ("discussion closes before it opens", changed("    closes: 2026-04-30", "    closes: 2026-03-30"),
     "plan.yaml line 44 discussions[0].closes: the discussion closes (2026-03-30) before it opens "
     "(2026-04-01)"),
    ("discussion outside the period", changed("    closes: 2026-04-30", "    closes: 2026-12-31"),
     f"plan.yaml line 44 discussions[0].closes: closes 2026-12-31 is outside {PERIOD}"),
    ("discussion opens before the period", changed("    opens: 2026-04-01", "    opens: 2026-02-01"),
     f"plan.yaml line 43 discussions[0].opens: opens 2026-02-01 is outside {PERIOD}"),
    ("discussion on an unknown course", changed("    course: thought", "    course: thougth"),
     'plan.yaml line 41 discussions[0].course: unknown course "thougth" (did you mean "thought"?)'),
    ("discussion for a tier not enrolled", changed("    course: thought", "    course: policy"),
     'plan.yaml line 46 discussions[0].tiers[1]: tier "section" is not enrolled in course "policy"'),
    ("discussion for an unknown tier",
     changed("    tiers: [middle, section]", "    tiers: [middle, teachers]"),
     'plan.yaml line 46 discussions[0].tiers[1]: unknown tier "teachers" (did you mean "leaders"?)'),
    ("points capped below one post", changed("{per_post: 1, max: 5}", "{per_post: 2, max: 1}"),
     "plan.yaml line 45 discussions[0].points.max: max (1) is less than one post's points (2)"),
    ("points negative", changed("{per_post: 1, max: 5}", "{per_post: -1, max: 5}"),
     "plan.yaml line 45 discussions[0].points.per_post: must be more than 0 (found -1)"),
    # reminders and announcements
    ("reminder outside the period", changed("    on: 2026-07-01", "    on: 2027-01-05"),
     f"plan.yaml line 49 reminders[0].on: the reminder's date 2027-01-05 is outside {PERIOD}"),
    ("unknown when condition", changed("{hours_below: 10}", "{hours_belo: 10}"),
     'plan.yaml line 50 reminders[0].when.hours_belo: unknown condition "hours_belo" (did you mean '
     '"hours_below"?) (allowed: hours_below, required_hours_below, reflection_missing, course_incomplete, '
     'course_not_started)'),
    ("reminder with no condition", changed("{hours_below: 10}", "{}"),
     "plan.yaml line 50 reminders[0].when: a reminder needs a condition (hours_below, required_hours_below, "
     "reflection_missing, course_incomplete, course_not_started)"),
    ("reflection missing for a course without one", changed("{hours_below: 10}", "{reflection_missing: "
                                                                                 "policy}"),
     'plan.yaml line 50 reminders[0].when.reflection_missing: course "policy" asks for no reflection'),
    ("condition on an unknown course", changed("{hours_below: 10}", "{course_incomplete: polcy}"),
     'plan.yaml line 50 reminders[0].when.course_incomplete: unknown course "polcy" '
     '(did you mean "policy"?)'),
    ("unknown recipient", changed("[learner, supervising_leader]", "[learner, director]"),
     'plan.yaml line 51 reminders[0].to[1]: unknown recipient "director" (recipients: learner, '
     "supervising_leader, reviewer)"),
    ("announcement outside the period", changed("  - on: 2026-03-05", "  - on: 2026-02-20"),
     f"plan.yaml line 53 announcements[0].on: the announcement's date 2026-02-20 is outside {PERIOD}"),
    ("announcement to an unknown tier", changed("    to: all", "    to: [middle, teacher]"),
     'plan.yaml line 54 announcements[0].to[1]: unknown tier "teacher"'),
    # reviewers, commendation, certificate, moodle
    ("unknown reviewer rule", changed("{by: supervising_leader,", "{by: leader,"),
     'plan.yaml line 38 reviewers.by: unknown reviewer rule "leader" '
     "(allowed: supervising_leader, fallback)"),
    ("no fallback reviewer", changed("{by: supervising_leader, fallback: T1}", "{by: supervising_leader}"),
     "plan.yaml line 38 reviewers.fallback: required field is missing: school leaders, and cadres without a "
     "supervising leader, need a fallback reviewer"),
    ("commendation of nobody", changed("{top_per_tier: 3,", "{top_per_tier: 0,"),
     "plan.yaml line 57 commendation.top_per_tier: must be more than 0 (found 0)"),
    ("commendation of a fraction", changed("{top_per_tier: 3,", "{top_per_tier: 2.5,"),
     'plan.yaml line 57 commendation.top_per_tier: expected a whole number; found "2.5"'),
    ("commendation negative hours", changed("min_hours: 18}", "min_hours: -1}"),
     "plan.yaml line 57 commendation.min_hours: must not be negative (found -1)"),
    ("certificate without issuer", changed("  issuer: 组织部\n", ""),
     "plan.yaml line 59 certificate.issuer: required field is missing"),
    ("certificate requirement unknown", changed("required_met: true}", "required_met: true, passed: true}"),
     'plan.yaml line 61 certificate.requires.passed: unknown field "passed"'),
    ("certificate requirement not a flag", changed("{hours_met: true,", "{hours_met: yes please,"),
     'plan.yaml line 61 certificate.requires.hours_met: expected true or false; found "yes please"'),
    ("unknown time zone",
     changed("reviewer_role: teacher}", "reviewer_role: teacher, timezone: Asia/Beijing}"),
     'plan.yaml line 4 moodle.timezone: unknown time zone "Asia/Beijing" (like "Asia/Shanghai")'),
    ("moodle settings incomplete", changed(", reviewer_role: teacher}", "}"),
     "plan.yaml line 4 moodle.reviewer_role: required field is missing"),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_plan_problem_is_reported_with_its_place(text: str, expected: str) -> None:
    assert expected in problems(text)


def test_every_problem_is_reported_at_once() -> None:
    text = (BASE
            .replace("year: 2026", "year: 2026\nyear: 2026")
            .replace("    template: TPL-POLICY", "    templte: TPL-POLICY")
            .replace("    required: [middle]", "    required: [middle, teachers]")
            .replace("{key: health,", "{key: writing,")
            .replace("    closes: 2026-04-30", "    closes: 2026-03-30")
            .replace("{hours_below: 10}", "{hours_belo: 10}")
            .replace("min_chars: 1500", "min_chars: 0"))
    assert problems(text) == [
        'plan.yaml line 2 year: duplicate key "year" (first on line 1)',
        "plan.yaml line 31 courses[0].reflection.min_chars: must be more than 0 (found 0)",
        # no warning that "policy" has no template: "templte" may well be it
        'plan.yaml line 35 courses[1].templte: unknown field "templte" (did you mean "template"?)',
        'plan.yaml line 36 courses[1].required[1]: unknown tier "teachers" (did you mean "leaders"?)',
        'plan.yaml line 38 courses[3].key: duplicate course key "writing" (first on line 37)',
        "plan.yaml line 45 discussions[0].closes: the discussion closes (2026-03-30) before it opens "
        "(2026-04-01)",
        'plan.yaml line 51 reminders[0].when.hours_belo: unknown condition "hours_belo" (did you mean '
        '"hours_below"?) (allowed: hours_below, required_hours_below, reflection_missing, course_incomplete, '
        'course_not_started)',
    ]


def test_a_plan_that_is_not_a_mapping() -> None:
    assert problems("- 2026\n") == [
        "plan.yaml line 1: expected a mapping with year, title, organisation, period, moodle, hours, "
        "offline, tiers, excluded, classes, courses, reviewers, discussions, reminders, announcements, "
        "bulletins, commendation, certificate, survey; found a list"]
    assert problems("") == ["plan.yaml: the plan is empty"]


def test_the_base_plan_resolves_defaults_for_its_readers() -> None:
    plan = load_plan(BASE, "plan.yaml")
    leaders, middle = plan.tiers[0], plan.tiers[1]
    assert (leaders.hours, middle.hours) == (Hours(14, 8, 8), Hours(18, 10, 8))
    assert leaders.own_hours == {"target", "required_min"} and middle.own_hours == set()
    assert plan.courses[0].required == {"leaders", "middle", "section"}
    assert plan.courses[2].elective == {"leaders", "middle", "section"}
    assert plan.discussions[0].tiers == {"middle", "section"}
    assert plan.reminders[0].tiers == {"leaders", "middle", "section"}
    assert plan.announcements[0].key == "2026-03-05-1"
    assert plan.announcements[0].to == {"leaders", "middle", "section"}
    assert plan.moodle.timezone == "Asia/Shanghai" and plan.moodle.auth == "manual"
    assert plan.certificate is not None and plan.certificate.requires == {"hours_met", "required_met"}
    assert plan.classes[3].match == Match((FactTest("department_type", ("教学部门", "教辅部门")),))
    assert plan.klass("section-b") is plan.classes[3] and plan.klass("nope") is None
    assert plan.tier("middle") is middle and plan.course("writing") is plan.courses[2]
    assert [k.key for k in plan.classes_of("section")] == ["section-a", "section-b"]


def test_english_words_in_a_match_are_the_roster_words() -> None:
    plan = load_plan(changed("match: {rank: [正处级, 副处级]}", "match: {rank: [division head, Deputy "
                                                          "Division Head]}"),
                     "plan.yaml")
    assert plan.tiers[1].match == Match((FactTest("rank", ("正处级", "副处级")),))


def test_a_discussion_without_tiers_is_for_every_tier_of_its_course() -> None:
    plan = load_plan(changed("    course: thought", "    course: policy").replace("    tiers: [middle, "
                                                                                  "section]\n", ""),
                     "plan.yaml")
    assert plan.discussions[0].tiers == {"middle"}


def test_on_is_a_key_not_a_boolean() -> None:
    plan = load_plan(BASE, "plan.yaml")
    assert plan.reminders[0].on == dt.date(2026, 7, 1)


# The samples

SAMPLE_WARNINGS = {  # every tier reaches its target with the offline hours the samples count
    2026: [
        'plan-2026.yaml line 90 courses[10]: warning: course "finance" has no template course: it is created '
        "empty and cannot complete until someone configures completion in Moodle",
    ],
    2027: [
        'plan-2027.yaml line 90 courses[10]: warning: course "ai" has no template course: it is created '
        'empty '
        "and cannot complete until someone configures completion in Moodle",
    ],
}


@pytest.mark.parametrize("year", [2026, 2027])
def test_the_samples_load_with_only_warnings(year: int) -> None:
    plan = sample_plan(year)
    assert [str(w) for w in plan.warnings] == SAMPLE_WARNINGS[year]
    assert plan.year == year and len(plan.courses) == 11 and len(plan.classes) == 6
    assert [t.key for t in plan.tiers] == ["leaders", "party-admin", "teaching", "support", "section"]
    assert plan.reviewers is not None and plan.reviewers.fallback == "T19880"


def test_the_2026_sample_says_what_the_organisation_department_wrote() -> None:
    plan = sample_plan(2026)
    assert plan.period.start == dt.date(2026, 3, 1) and plan.period.end == dt.date(2026, 12, 15)
    assert plan.hours == Hours(50, 30, 24, offline_max=10)
    assert plan.tiers[4].key == "section" and plan.tiers[4].hours == Hours(50, 20, 24, offline_max=10)
    finance = plan.course("finance")
    assert finance is not None and finance.template is None
    assert finance.elective == {"party-admin", "support", "section"}
    thought = plan.course("thought")
    assert thought is not None and thought.reflection is not None and thought.reflection.min_chars == 1500
    autumn = plan.discussions[1]
    assert autumn.points is not None and (autumn.points.per_post, autumn.points.max) == (1, 5)
    assert [r.key for r in plan.reminders] == ["mid-year", "reflection-due", "autumn-laggards"]
    assert plan.reminders[2].to == ("learner", "supervising_leader")
    assert plan.announcements[1].to == {"support", "section"}
    assert plan.commendation is not None and plan.commendation.top_per_tier == 3
    assert plan.excluded == Match((FactTest("status", ("离岗", "离职")),))


def test_the_plan_keeps_the_hash_of_its_text() -> None:
    import hashlib

    assert sample_plan(2026).sha256 == hashlib.sha256(plan_text(2026).encode("utf-8")).hexdigest()
