"""What the rules say about a plan or a roster reaches the Chinese console in Chinese: every problem of
the rules' test cases (each kind a plan's author or HR can make) is a sentence whose template the
catalogue translates, with its values in place, and the console's problems table shows it so."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Iterator
from functools import partial

import pytest
from babel.support import Translations
from flask import Flask

from rules.plan import load_plan
from rules.plan_roster import check_plan_against_roster
from rules.problems import InputError, Problem
from rules.roster import load_roster
from rules.wording import Sentence, translated
from tests.rules import test_plan, test_plan_roster, test_roster

from .conftest import add_users, make_app, post, settings_for, sign_in
from .test_translations import CATALOGUE

CJK = re.compile(r"[\u4e00-\u9fff]")
#: Words of a message left in English after translation: a run of at least two English words.
ENGLISH = re.compile(r"\b[a-z]{3,} [a-z]{3,}\b")
PLACEHOLDER = re.compile(r"%\(\w+\)s")


@pytest.fixture(scope="module")
def zh() -> Callable[[str], str]:
    return Translations.load(str(CATALOGUE.parent.parent), ["zh"]).gettext


def _plan_problems(text: str) -> list[Problem]:
    try:
        return list(load_plan(text, "plan.yaml").warnings)
    except InputError as error:
        return error.problems


def _roster_problems(data: bytes) -> list[Problem]:
    try:
        return list(load_roster(data, "roster.csv").warnings)
    except InputError as error:
        return error.problems


def _plan_roster_problems(plan_text: str, rows: list[str]) -> list[Problem]:
    plan = load_plan(plan_text, "plan.yaml")
    roster = load_roster(("\n".join([test_plan_roster.HEADER, *rows]) + "\n").encode("utf-8"), "roster.csv")
    return check_plan_against_roster(plan, roster)


def cases() -> Iterator[tuple[str, Callable[[], list[Problem]]]]:
    for name, text, _expected in test_plan.CASES:
        yield f"plan: {name}", partial(_plan_problems, text)
    for name, lines, _expected in [*test_roster.CASES, *test_roster.WARNINGS]:
        yield f"roster: {name}", partial(_roster_problems, test_roster.csv_of(*lines))
    for name, text, rows, _expected in test_plan_roster.CASES:
        yield f"plan and roster: {name}", partial(_plan_roster_problems, text, rows)


CASES = list(cases())


def assert_chinese(sentence: Sentence, zh: Callable[[str], str]) -> None:
    """The template's words are translated (values are data: codes, names, a parser's own text); a
    sentence given as a value is checked in turn."""
    words = PLACEHOLDER.sub("", sentence.template)
    wording = PLACEHOLDER.sub("", zh(sentence.template))
    if re.search(r"[A-Za-z]{3,}", words):
        assert CJK.search(wording), f"untranslated: {sentence.template!r}"
        assert not ENGLISH.findall(wording), f"English left in {wording!r}"
    for value in sentence.values.values():
        if isinstance(value, Sentence):
            assert_chinese(value, zh)


@pytest.mark.parametrize("found", [case[1] for case in CASES], ids=[case[0] for case in CASES])
def test_each_problem_reads_in_chinese(found: Callable[[], list[Problem]], zh: Callable[[str], str]) -> None:
    problems = found()
    assert problems
    for problem in problems:
        assert isinstance(problem.message, Sentence), f"not a sentence: {problem.message}"
        assert_chinese(problem.message, zh)
        assert translated(problem.message, zh) != str(problem.message)
        if problem.where.startswith("column "):
            assert isinstance(problem.where, Sentence)
            assert_chinese(problem.where, zh)


def test_the_console_shows_a_plans_problems_in_the_readers_language(database_url: str) -> None:
    app: Flask = make_app(settings_for(database_url))
    add_users(database_url)
    client = sign_in(app.test_client(), "admin")
    plan = next(text for name, text, _ in test_plan.CASES if name == "unknown field, close to a known one")
    roster = test_roster.csv_of(test_roster.HEADER, test_roster.LEADER, test_roster.CADRE)

    def problem_cells(lang: str) -> list[str]:
        answer = post(client, f"/inputs/upload?lang={lang}",
                      {"plan": (io.BytesIO(plan.encode("utf-8")), "plan.yaml"),
                       "roster": (io.BytesIO(roster), "roster.csv")}, content_type="multipart/form-data")
        assert answer.status_code == 400
        rows = re.findall(r'<tr class="problem[^"]*"[^>]*>(.*?)</tr>', answer.get_data(as_text=True), re.S)
        assert rows
        return [html.unescape(re.sub(r"<[^>]+>", " ", row)) for row in rows]

    english = problem_cells("en")
    assert any('unknown field "templte" (did you mean "template"?)' in row for row in english), english
    chinese = problem_cells("zh")
    assert not any("unknown field" in row for row in chinese) and all(CJK.search(r) for r in chinese)
    assert any("templte" in row and "template" in row for row in chinese)
