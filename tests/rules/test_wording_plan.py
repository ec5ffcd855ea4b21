"""Every problem a plan can have is a Sentence, so that the Chinese console can show it in Chinese.

The cases are those of the plan tests (each problem a plan's author or the roster can reveal), plus a few
that only this file needs; together they must produce every sentence the plan side of the rules writes,
so that a new message written as a plain string is caught here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rules.plan import load_plan
from rules.plan_roster import check_plan_against_roster
from rules.problems import InputError, Problem
from rules.roster import load_roster
from rules.vocabulary import CLOSED_FACTS
from rules.wording import Sentence, dump, load
from rules.yamltree import YMap, YScalar, YSeq, describe
from tests.rules import test_plan, test_plan_bulletins, test_plan_roster
from tests.rules.plan_base import BASE, changed
from tests.rules.sentences import templates, written_templates

RULES = Path(__file__).resolve().parents[2] / "rules"
PLAN_SIDE = ("plan.py", "plan_bulletins.py", "plan_checks.py", "plan_courses.py", "plan_gaps.py",
             "plan_reader.py", "plan_roster.py", "plan_schema.py", "vocabulary.py", "yamltree.py")

# Problems that no case of the plan tests makes, each with a part of its English.
EXTRA = [
    ("a key that is not a word", BASE + "? [a, b]\n: 1\n", "a key must be a plain word"),
    ("a plan that is not a mapping", "- 2026\n", "expected a mapping with year"),
    ("an empty plan", "", "the plan is empty"),
    ("text that is a flag", changed("    name: 政策法规\n", "    name: true\n"), "expected text; found"),
    ("a word that is a mapping", changed("    required: [middle]", "    required: [middle, {a: 1}]"),
     "expected a word; found a mapping"),
    ("words that are a mapping", changed("    required: [middle]", "    required: {a: 1}"),
     "expected a word or a list of words; found a mapping"),
    ("a value that is a mapping", changed("    name: 政策法规\n", "    name: {a: 1}\n"),
     "expected a single value; found a mapping"),
    ("a list that is a word", changed("reminders:\n  - key: mid-year\n    on: 2026-07-01\n    when: "
                                      "{hours_below: 10}\n    to: [learner, supervising_leader]\n",
                                      "reminders: soon\n"), 'expected a list of reminders; found "soon"'),
    ("no tiers", BASE.replace("tiers:\n  - key: leaders", "tiers: []\nformer:\n  - key: leaders"),
     "a plan needs at least one tier"),
    ("a year out of range", changed("year: 2026", "year: 1999"), "1999 is not a plan year"),
    ("a whole number that is text", changed("{top_per_tier: 3,", "{top_per_tier: three,"),
     'expected a whole number; found "three"'),
    ("a reviewer rule close to a known one", changed("{by: supervising_leader,", "{by: fallbak,"),
     'unknown reviewer rule "fallbak" (did you mean "fallback"?)'),
    ("a recipient close to a known one", changed("[learner, supervising_leader]", "[learner, reviewr]"),
     'unknown recipient "reviewr" (did you mean "reviewer"?)'),
    ("an unknown tier unlike any", changed("    required: [middle]", "    required: [middle, xyz]"),
     'unknown tier "xyz"'),
    ("an unknown course unlike any", changed("    course: thought", "    course: xyz"),
     'unknown course "xyz"'),
    ("an unknown field unlike any", changed("    template: TPL-POLICY", "    xyz: TPL-POLICY"),
     'unknown field "xyz"'),
    ("an unknown condition unlike any", changed("{hours_below: 10}", "{xyz: 10}"), 'unknown condition "xyz"'),
    ("a roster fact close to a known one",
     changed("match: {rank: [正科级, 副科级]}", "match: {rnk: [正科级]}"),
     'unknown roster fact "rnk" (did you mean "rank"?)'),
    ("an unknown gender", changed("match: {rank: [正科级, 副科级]}", "match: {gender: [x]}"),
     'unknown gender "x"'),
    ("a survey in an unknown course", BASE + "survey: {course: thougt}\n", 'unknown course "thougt"'),
    ("a reminder on a date outside the period", changed("    on: 2026-07-01", "    on: 2027-07-01"),
     "the reminder's date 2027-07-01"),
    ("a discussion closing after the period", changed("    closes: 2026-04-30", "    closes: 2027-04-30"),
     "closes 2027-04-30 is outside"),
    ("an announcement too long", changed("    body: 请按时完成。", "    body: " + "长" * 1300),
     "the announcement is 3906 bytes long"),
    ("a duplicate announcement key", changed("commendation:", "  - {key: 2026-03-05-1, on: 2026-03-06, to: "
                                                              "all, subject: 二, body: 二}\ncommendation:"),
     'duplicate announcement key "2026-03-05-1"'),
    ("a class taking the whole tier", changed(", match: {department_type: 党政部门}}", "}"),
     "has no match of its own and takes the whole tier"),
    ("an empty word", changed("    required: [middle]", "    required: [middle, ~]"),
     "expected a word; found nothing"),
    ("reflections without reviewers", changed("reviewers: {by: supervising_leader, fallback: T1}\n", ""),
     "the plan names no reviewers"),
]


def plan_problems(text: str) -> list[Problem]:
    try:
        plan = load_plan(text, "plan.yaml")
    except InputError as error:
        return error.problems
    return list(plan.warnings)


def roster_problems(text: str, rows: list[str]) -> list[Problem]:
    plan = load_plan(text, "plan.yaml")
    roster = load_roster(("\n".join([test_plan_roster.HEADER, *rows]) + "\n").encode("utf-8"), "roster.csv")
    return check_plan_against_roster(plan, roster)


def every_case() -> Iterator[tuple[str, str, list[Problem]]]:
    """Each case's name, its input (the plan, and the roster's rows where there is one) and its problems."""
    for name, text, _expected in [*test_plan.CASES, *test_plan_bulletins.CASES, *EXTRA]:
        yield name, text, plan_problems(text)
    for name, text, rows, _expected in [*test_plan_roster.CASES, *test_plan_bulletins.ROSTER_CASES]:
        yield name, text + "\n".join(rows), roster_problems(text, rows)
    classless = [test_plan_roster.ROWS[0]] + [f"T{n},科员{n},男,图书馆,教辅部门,副科长,副科级,,,在职,T1"
                                              for n in range(10, 23)]
    text = changed("[教学部门, 教辅部门]", "[教学部门]")
    yield "many classless cadres", text + "\n".join(classless), roster_problems(text, classless)


CASES = list(every_case())


@pytest.mark.parametrize(("name", "text", "expected"), EXTRA, ids=[case[0] for case in EXTRA])
def test_the_extra_cases_make_their_problem(name: str, text: str, expected: str) -> None:
    assert any(expected in str(p) for p in plan_problems(text)), [str(p) for p in plan_problems(text)]


@pytest.mark.parametrize(("name", "given", "problems"), CASES, ids=[case[0] for case in CASES])
def test_every_problem_is_a_sentence(name: str, given: str, problems: list[Problem]) -> None:
    assert problems
    for problem in problems:
        message = problem.message
        assert isinstance(message, Sentence), str(problem)
        assert message.translated(lambda template: template) == message
        assert load(json.loads(json.dumps(dump(message)))) == message
        assert not problem.where.startswith("column ") and " " not in problem.where, str(problem)


@pytest.mark.parametrize(("name", "given", "problems"), CASES, ids=[case[0] for case in CASES])
def test_no_english_words_ride_as_plain_values(name: str, given: str, problems: list[Problem]) -> None:
    """Values are codes, keys, names and numbers; two English words in a row are a fragment to translate,
    unless they come from outside: the input as written, or PyYAML's own error text."""
    for problem in problems:
        if problem.message.startswith("not valid YAML"):
            continue
        stack = [problem.message]
        while stack:
            sentence = stack.pop()
            assert isinstance(sentence, Sentence)
            for value in sentence.values.values():
                if isinstance(value, Sentence):
                    stack.append(value)
                elif str(value) not in given:
                    assert not re.search(r"\b[a-z]+ [a-z]+\b", str(value)), (str(problem), value)


def test_every_sentence_of_the_plan_side_is_made_by_some_case() -> None:
    made = {template for _name, _given, problems in CASES for problem in problems
            for template in templates(problem.message)}
    assert not written_templates(PLAN_SIDE) - made, sorted(written_templates(PLAN_SIDE) - made)


def test_what_was_found_is_a_sentence() -> None:
    assert [describe(node) for node in (YMap("", 1), YSeq("", 1, ()), YScalar("", 1, None, ""),
                                        YScalar("", 1, 3, "3"))] == ["a mapping", "a list", "nothing", '"3"']
    assert all(isinstance(describe(node), Sentence) for node in (YMap("", 1), YScalar("", 1, 3, "3")))


@pytest.mark.parametrize("fact", sorted(CLOSED_FACTS))
def test_an_unknown_word_of_each_vocabulary_is_a_sentence(fact: str) -> None:
    vocabulary = CLOSED_FACTS[fact]
    message = vocabulary.unknown("x")
    assert isinstance(message, Sentence) and message.values == {"value": "x", "allowed": vocabulary.allowed()}
    assert message == f'unknown {fact.replace("_", " ")} "x" (allowed: {vocabulary.allowed()})'
