"""Every message of the roster and tier side of the rules is a Sentence, so that the Chinese console can
show it in Chinese: the roster's problems and their columns, the reviewer chosen and why, the warnings
of the desired state and the reasons of a learning record.

The cases are those of the roster and hours tests, plus one for each way a reviewer is chosen; together
they must produce every sentence these files write, so that a new message written as a plain string is
caught here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import pickle
import re
from pathlib import Path

import pytest

from rules.desired_state import desired_state
from rules.hours import NO_TIER, LearningRecord, ReflectionFacts
from rules.plan import Plan, load_plan
from rules.problems import InputError, Problem
from rules.reviewers import reviewer_for
from rules.roster import Cadre, Roster, load_roster
from rules.tiers import explain
from rules.wording import Sentence, dump, load
from tests.rules import test_hours, test_offline_hours, test_roster
from tests.rules.plan_base import BASE
from tests.rules.sentences import templates, written_templates
from tests.rules.test_hours import (
    ELECTIVES_ALL,
    LEADER_REQUIRED,
    PARTY_REQUIRED,
    capped_at_10,
    done,
    record,
    uncapped,
    wrote,
)
from tests.rules.test_roster import CADRE, HEADER, LEADER, OTHER, csv_of, with_cell

RULES = Path(__file__).resolve().parents[2] / "rules"
ROSTER_SIDE = ("roster.py", "roster_read.py", "tiers.py", "reviewers.py", "desired.py", "desired_state.py",
               "problems.py", "hours.py", "reflection_text.py")
COLUMN = "column %(name)s"


def assert_said(sentence: str, given: str) -> None:
    """A Sentence that reads the same through an identity catalogue and through JSON, whose plain values
    are data: two English words in a row are a fragment to translate, unless the input wrote them."""
    assert isinstance(sentence, Sentence), sentence
    assert sentence.translated(lambda template: template) == sentence
    assert load(json.loads(json.dumps(dump(sentence)))) == sentence
    stack = [sentence]
    while stack:
        said = stack.pop()
        for value in said.values.values():
            if isinstance(value, Sentence):
                stack.append(value)
            elif str(value) not in given:
                assert not re.search(r"\b[a-z]+ [a-z]+\b", str(value)), (str(sentence), value)


# The roster: each problem of the roster tests, and those only a file that cannot be read has.

def roster_problems(data: bytes, filename: str) -> list[Problem]:
    try:
        return list(load_roster(data, filename).warnings)
    except InputError as error:
        return error.problems


ROSTERS = [
    *((name, csv_of(*lines), "roster.csv") for name, lines, _expected in test_roster.CASES),
    *((name, csv_of(*lines), "roster.csv") for name, lines, _expected in test_roster.WARNINGS),
    ("a supervising leader of no rank", csv_of(HEADER, LEADER, with_cell(CADRE, 6, ""),
                                               with_cell(OTHER, 10, "T2")), "roster.csv"),
    ("a file no codec decodes", HEADER.encode("utf-8") + b"\n\x80\x81\xff\n", "roster.csv"),
    ("an old Excel file", b"\xd0\xcf\x11\xe0 binary", "roster.xls"),
    ("a broken workbook", b"PK\x03\x04 not really a zip", "roster.xlsx"),
]
ROSTER_CASES = [(name, data, roster_problems(data, filename)) for name, data, filename in ROSTERS]


@pytest.mark.parametrize(("name", "data", "problems"), ROSTER_CASES, ids=[case[0] for case in ROSTER_CASES])
def test_every_roster_problem_and_its_column_are_sentences(name: str, data: bytes,
                                                           problems: list[Problem]) -> None:
    assert problems
    given = data.decode("utf-8", errors="replace")
    for problem in problems:
        if not problem.message.startswith("not a readable XLSX workbook"):  # openpyxl's own words follow
            assert_said(problem.message, given)
        where = problem.where
        assert where == "" or (isinstance(where, Sentence) and where.template == COLUMN), str(problem)
        assert pickle.loads(pickle.dumps(problem)) == problem
        assert isinstance(pickle.loads(pickle.dumps(problem)).message, Sentence)


def test_a_supervising_leader_of_no_rank_reads_as_before() -> None:
    [*_, problems] = next(case for case in ROSTER_CASES if case[0] == "a supervising leader of no rank")
    assert [str(p) for p in problems] == [
        "roster.csv line 3, column 职级: required value is empty",
        'roster.csv line 4, column 分管校领导工号: supervising leader "T2" (李四, line 3) is of no rank, '
        "not a 校级 leader"]


# Reviewers: one case for each way the rule names someone, or nobody.

def cadre(employee_no: str, rank: str, leader: str = "", status: str = "在职",
          department_type: str = "党政部门") -> Cadre:
    """A row as the roster keeps it; built directly, so a case may hold what loading would refuse."""
    return Cadre(employee_no, f"干部{employee_no}", "", "教务处", department_type, "", rank, "", "", status,
                 leader)


def roster_of(*cadres: Cadre) -> Roster:
    return Roster(tuple(dataclasses.replace(c, line=n) for n, c in enumerate(cadres, start=2)), "roster.csv")


PLAN = load_plan(BASE, "plan.yaml")
LEADERS = (cadre("T1", "校级"), cadre("T5", "校级"), cadre("T2", "正处级", "T1"))


def rule(*, by: str = "supervising_leader", fallback: str | None = "T1") -> Plan:
    """The plan with another reviewer rule."""
    reviewers = PLAN.reviewers
    assert reviewers is not None
    return dataclasses.replace(PLAN, reviewers=dataclasses.replace(reviewers, by=by, fallback=fallback))


REVIEWERS = [
    ("their supervising leader", PLAN, roster_of(*LEADERS), "T2", "their supervising leader (分管校领导)"),
    ("a school leader", PLAN, roster_of(*LEADERS), "T5",
     "a 校级 leader is reviewed by the fallback reviewer"),
    ("the fallback themself", PLAN, roster_of(*LEADERS), "T1",
     "a 校级 leader is reviewed by the fallback reviewer, T1 干部T1, would review themself: nobody reviews"),
    ("no supervising leader", PLAN, roster_of(*LEADERS, cadre("T3", "正科级")), "T3",
     "no supervising leader in the roster: the fallback reviewer"),
    ("a supervising leader not in the roster", PLAN, roster_of(*LEADERS, cadre("T3", "正科级", "T9")), "T3",
     "supervising leader T9 is not in the roster: the fallback"),
    ("a supervising leader of another rank", PLAN, roster_of(*LEADERS, cadre("T3", "正科级", "T2")), "T3",
     "supervising leader T2 is not a 校级 leader: the fallback"),
    ("a supervising leader on leave", PLAN,
     roster_of(*LEADERS, cadre("T6", "校级", status="离岗"), cadre("T3", "正科级", "T6")), "T3",
     "supervising leader T6 is 离岗: the fallback"),
    ("everyone by the fallback", rule(by="fallback"), roster_of(*LEADERS), "T2",
     "the plan has everyone reviewed by the fallback reviewer"),
    ("no reviewers", dataclasses.replace(PLAN, reviewers=None), roster_of(*LEADERS), "T2",
     "the plan names no reviewers"),
    ("no fallback", rule(fallback=None), roster_of(*LEADERS), "T5",
     "a 校级 leader is reviewed by the fallback reviewer, but the fallback (none) is not in the roster"),
    ("a fallback not in the roster", rule(fallback="T9"), roster_of(*LEADERS), "T5",
     "a 校级 leader is reviewed by the fallback reviewer, but the fallback T9 is not in the roster"),
    ("a departed fallback", PLAN, roster_of(cadre("T1", "校级", status="离职"), *LEADERS[1:]), "T5",
     "a 校级 leader is reviewed by the fallback reviewer, but the fallback T1 has departed"),
]


@pytest.mark.parametrize(("name", "plan", "roster", "employee_no", "why"), REVIEWERS,
                         ids=[case[0] for case in REVIEWERS])
def test_why_a_reviewer_is_chosen_is_a_sentence(name: str, plan: Plan, roster: Roster, employee_no: str,
                                                why: str) -> None:
    choice = reviewer_for(plan, roster, roster[employee_no])
    assert choice.why == why
    assert_said(choice.why, "")
    explanation = explain(plan, roster, employee_no)
    assert explanation.outcome == "included" and isinstance(explanation.reviewer_why, Sentence)
    assert explanation.reviewer_why == why and explanation.lines()[-1].endswith(f" — {why}")


# The desired state's warnings: a cadre in no class, in no tier, without a reviewer.

def desired_warnings() -> tuple[str, ...]:
    roster = roster_of(*LEADERS, cadre("T3", "正科级", "T1", department_type="其他"), cadre("T4", "办事员"))
    return desired_state(rule(fallback="T9"), roster).warnings


def test_the_desired_states_warnings_are_sentences() -> None:
    warnings = desired_warnings()
    assert warnings == (
        "T1 干部T1 has no reviewer: a 校级 leader is reviewed by the fallback reviewer, but the fallback T9 "
        "is not in the roster",
        "T3 干部T3 (tier section) is in none of the tier's classes",
        "T4 干部T4 matches no tier: not enrolled",
        "T5 干部T5 has no reviewer: a 校级 leader is reviewed by the fallback reviewer, but the fallback T9 "
        "is not in the roster",
    )
    for warning in warnings:
        assert_said(warning, "")


# Learning records: each reason the hours tests give, and each way a cadre is not in the plan.

RECORDS: list[tuple[str, LearningRecord]] = [
    ("complete", record("leaders", *done(*LEADER_REQUIRED, *ELECTIVES_ALL),
                        reflections=(wrote("thought", 1500),))),
    ("on pace, reflections not yet due", record("teaching", *done("thought"), today=dt.date(2026, 4, 15))),
    ("behind pace", record("teaching", *done("thought"), reflections=(wrote("thought", 2000),))),
    ("a short reflection on its due date", record("leaders", *done(*LEADER_REQUIRED),
                                                  today=dt.date(2026, 6, 30),
                                                  reflections=(wrote("thought", 1499),))),
    ("a short reflection, overdue", record("leaders", *done(*LEADER_REQUIRED),
                                           reflections=(wrote("thought", 1499),))),
    ("a missing reflection, overdue", record("leaders", *done(*LEADER_REQUIRED),
                                             reflections=(ReflectionFacts("thought", False, 3000),))),
    ("the period over", record("support", *done("thought", "policy", "governance", "digital", *ELECTIVES_ALL,
                                                "finance"), today=test_hours.DECEMBER + dt.timedelta(days=1),
                               reflections=(wrote("thought", 1500), wrote("policy", 2000)))),
    ("hours from outside the tier, capped",
     record("party-admin", *done("thought", "governance", *ELECTIVES_ALL, "finance", "teaching-reform"),
            today=test_hours.DECEMBER)),
    ("hours from outside the tier, uncapped",
     record("party-admin", *done("teaching-reform"), plan=uncapped())),
    ("electives under a lower cap", record("party-admin", *done(*PARTY_REQUIRED, *ELECTIVES_ALL, "finance"),
                                           plan=capped_at_10())),
    ("electives uncapped", record("party-admin", *done(*PARTY_REQUIRED, *ELECTIVES_ALL, "finance"),
                                  plan=uncapped())),
    ("offline hours, capped", record("party-admin", *done("thought"), plan=test_offline_hours.with_offline(4),
                                     offline=(test_offline_hours.PARTY_SCHOOL, test_offline_hours.EXTERNAL))),
    ("offline hours the plan does not count",
     record("party-admin", plan=test_offline_hours.with_offline(None),
            offline=(test_offline_hours.EXTERNAL,))),
    ("on leave, with offline hours", record(None, excluded="离岗", offline=(test_offline_hours.LECTURE,))),
    ("on leave, with hours", record(None, *done("thought"), excluded="离岗")),
    ("matching no tier", record(None, excluded=NO_TIER)),
    ("not in the plan", record(None)),
    ("a tier the plan does not have", record("deans", *done("thought"))),
]


@pytest.mark.parametrize(("name", "got"), RECORDS, ids=[case[0] for case in RECORDS])
def test_every_reason_of_a_record_is_a_sentence(name: str, got: LearningRecord) -> None:
    assert got.reasons
    for reason in got.reasons:
        assert_said(reason, "")
    assert json.loads(json.dumps(list(got.reasons))) == [str(reason) for reason in got.reasons]


def test_matching_no_tier_reads_as_before() -> None:
    assert record(None, excluded=NO_TIER).reasons == ("not in the plan this year: no tier matches",)


def test_every_sentence_of_the_roster_side_is_made_by_some_case() -> None:
    made = {template for _name, _data, problems in ROSTER_CASES for problem in problems
            for said in (problem.message, problem.where) if said for template in templates(said)}
    made |= {template for _name, plan, roster, no, _why in REVIEWERS
             for template in templates(reviewer_for(plan, roster, roster[no]).why)}
    made |= {template for warning in desired_warnings() for template in templates(warning)}
    made |= {template for _name, got in RECORDS for reason in got.reasons for template in templates(reason)}
    assert not written_templates(ROSTER_SIDE) - made, sorted(written_templates(ROSTER_SIDE) - made)
