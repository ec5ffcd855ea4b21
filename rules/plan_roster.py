"""Checks of a plan that only the year's roster can answer.

A plan is written before HR's export arrives and is reused across rosters, so these are separate from
load_plan: the fallback reviewer must be a cadre in post, every cadre of a tier must land in one of its
classes, and a tier or class that matches nobody is probably a typo in a match value.

They also run on what could be read of a plan with errors (rules.plan.read_plan), so that the roster's
problems come in the same round as the plan's; ``gaps`` says what the plan's broken entries leave
unknown, and a problem is only reported when it holds whatever they were meant to say (a cadre is not
said to match no tier while a broken tier might have matched them).
"""

from __future__ import annotations

import dataclasses

from rules.desired import username
from rules.plan import read_plan
from rules.plan_bulletins import check_bulletins_against_roster
from rules.plan_gaps import NO_GAPS, Gaps
from rules.plan_model import Match, Plan
from rules.problems import InputError, Problem
from rules.roster import Roster, load_roster
from rules.tiers import Placement, placements
from rules.vocabulary import LEADER_RANK, OPEN_FACTS
from rules.wording import Sentence

_SHOWN = 10  # cadres named in one message before "and N more"


def load_plan_and_roster(plan_text: str, plan_name: str, roster_bytes: bytes,
                         roster_name: str) -> tuple[Plan, Roster, tuple[Problem, ...]]:
    """The plan and the roster checked together, with the warnings of both and of the checks between them;
    or InputError with every problem of the two files at once, the checks between them run on whatever
    of the plan could be read (a roster with errors is not checked against the plan: which of its rows
    are right is not known)."""
    reading = read_plan(plan_text, plan_name)
    problems = list(reading.problems)
    try:
        roster: Roster | None = load_roster(roster_bytes, roster_name)
    except InputError as error:
        roster = None
        problems += error.problems
    if roster is not None:
        problems += roster.warnings
        if reading.kept is not None:
            problems += check_plan_against_roster(reading.kept, roster, reading.gaps)
    if roster is None or any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return reading.plan(), roster, tuple(problems)


def check_plan_against_roster(plan: Plan, roster: Roster, gaps: Gaps = NO_GAPS) -> list[Problem]:
    """What the roster tells of the plan. Where the plan had broken entries (``gaps``), cadres are placed
    by every tier whose match was read; a tier or class that gets nobody that way gets nobody at all,
    while cadres left without a class or a tier are only reported where no broken entry could have
    taken them."""
    problems = (_fallback(plan, roster, gaps) + _named_values(plan, roster)
                + check_bulletins_against_roster(plan, roster))
    placing = plan if gaps.placing is None else dataclasses.replace(plan, tiers=gaps.placing)
    placed = placements(placing, roster)
    for tier in plan.tiers:
        members = [p for p in placed.values() if p.tier == tier.key]
        if not members:
            problems.append(Problem(plan.filename, tier.line, f"tiers[{tier.index}]", Sentence(
                'tier "%(tier)s" matches nobody in %(roster)s', tier=tier.key, roster=roster.filename),
                "warning"))
            continue
        classless = [p for p in members if p.klass is None]
        sure = gaps.placed(tier) and not gaps.may_have_class(tier.key)
        if classless and plan.classes_of(tier.key) and sure:
            problems.append(Problem(plan.filename, tier.line, f"tiers[{tier.index}]", Sentence(
                '%(count)s cadre(s) of tier "%(tier)s" match none of its classes: %(cadres)s',
                count=len(classless), tier=tier.key, cadres=_names(classless, roster))))
    for klass in plan.classes:
        if placing.tier(klass.tier) is not None and not any(p.klass == klass.key for p in placed.values()):
            problems.append(Problem(plan.filename, klass.line, f"classes[{klass.index}]", Sentence(
                'class "%(klass)s" has nobody from %(roster)s', klass=klass.key, roster=roster.filename),
                "warning"))
    for cadre in roster:
        placement = placed[cadre.employee_no]
        if gaps.all_placed and not placement.excluded and placement.tier is None:
            problems.append(Problem(roster.filename, cadre.line, "", Sentence(
                "%(employee_no)s %(name)s (%(department_type)s, %(rank)s) matches no tier of %(plan)s: not "
                "enrolled this year", employee_no=cadre.employee_no, name=cadre.name,
                department_type=cadre.department_type, rank=cadre.rank, plan=plan.filename), "warning"))
    return problems


def _fallback(plan: Plan, roster: Roster, gaps: Gaps) -> list[Problem]:
    if plan.reviewers is not None and plan.reviewers.fallback:
        number, line = plan.reviewers.fallback, plan.reviewers.line or None
    elif gaps.fallback is not None:
        number, line = gaps.fallback[0], gaps.fallback[1] or None
    else:
        return []
    where = "reviewers.fallback"
    leader = roster.get(number)
    if leader is None:
        return [Problem(plan.filename, line, where, Sentence(
            'fallback reviewer "%(number)s" is not in %(roster)s', number=number, roster=roster.filename))]
    if leader.departed:
        return [Problem(plan.filename, line, where, Sentence(
            'fallback reviewer "%(number)s" (%(name)s) has departed (%(status)s)',
            number=number, name=leader.name, status=leader.status))]
    if leader.on_leave:
        return [Problem(plan.filename, line, where, Sentence(
            'fallback reviewer "%(number)s" (%(name)s) is on leave (%(status)s)',
            number=number, name=leader.name, status=leader.status), "warning")]
    if not leader.is_leader:
        return [Problem(plan.filename, line, where, Sentence(
            'fallback reviewer "%(number)s" (%(name)s) is %(rank)s, not a %(leader_rank)s leader',
            number=number, name=leader.name, rank=leader.rank, leader_rank=LEADER_RANK), "warning")]
    return []


def _named_values(plan: Plan, roster: Roster) -> list[Problem]:
    """Open facts (employee numbers, departments, positions) are free text in a match: a value nobody in
    the roster has is most likely misspelt."""
    problems: list[Problem] = []
    rules: list[tuple[str, int | None, Match]] = [(f"tiers[{t.index}].match", t.line, t.match)
                                                  for t in plan.tiers]
    rules += [(f"classes[{k.index}].match", k.line, k.match) for k in plan.classes]
    rules += [("excluded.match", None, plan.excluded)]
    for where, line, match in rules:
        for test in match.tests:
            if test.fact not in OPEN_FACTS:
                continue
            if test.fact == "employee_no":
                present = {username(c.employee_no) for c in roster}
                missing = [v for v in test.values if username(v) not in present]
            else:
                present = {c.fact(test.fact) for c in roster}
                missing = [v for v in test.values if v not in present]
            problems += [Problem(plan.filename, line, f"{where}.{test.fact}", Sentence(
                '%(fact)s "%(value)s" is nobody\'s in %(roster)s', fact=test.fact, value=value,
                roster=roster.filename), "warning") for value in missing]
    return problems


def _names(members: list[Placement], roster: Roster) -> Sentence:
    """The first cadres by employee number, each with their line in the roster, then how many more."""
    shown = [Sentence("%(employee_no)s %(name)s (line %(line)s)", employee_no=p.employee_no,
                      name=roster[p.employee_no].name, line=roster[p.employee_no].line)
             for p in sorted(members, key=lambda p: p.employee_no)[:_SHOWN]]
    listed = shown[0]
    for name in shown[1:]:
        listed = Sentence("%(listed)s, %(next)s", listed=listed, next=name)
    more = len(members) - _SHOWN
    return Sentence("%(listed)s and %(more)s more", listed=listed, more=more) if more > 0 else listed
