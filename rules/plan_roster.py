"""Checks of a plan that only the year's roster can answer.

A plan is written before HR's export arrives and is reused across rosters, so these are separate from
load_plan: the fallback reviewer must be a cadre in post, every cadre of a tier must land in one of its
classes, and a tier or class that matches nobody is probably a typo in a match value.
"""

from __future__ import annotations

from rules.desired import username
from rules.plan_model import Match, Plan
from rules.problems import Problem
from rules.roster import Roster
from rules.tiers import Placement, placements
from rules.vocabulary import LEADER_RANK, OPEN_FACTS
from rules.wording import Sentence

_SHOWN = 10  # cadres named in one message before "and N more"


def check_plan_against_roster(plan: Plan, roster: Roster) -> list[Problem]:
    problems = _fallback(plan, roster) + _named_values(plan, roster)
    placed = placements(plan, roster)
    for index, tier in enumerate(plan.tiers):
        members = [p for p in placed.values() if p.tier == tier.key]
        if not members:
            problems.append(Problem(plan.filename, tier.line, f"tiers[{index}]", Sentence(
                'tier "%(tier)s" matches nobody in %(roster)s', tier=tier.key, roster=roster.filename),
                "warning"))
            continue
        classless = [p for p in members if p.klass is None]
        if classless and plan.classes_of(tier.key):
            problems.append(Problem(plan.filename, tier.line, f"tiers[{index}]", Sentence(
                '%(count)s cadre(s) of tier "%(tier)s" match none of its classes: %(cadres)s',
                count=len(classless), tier=tier.key, cadres=_names(classless, roster))))
    for index, klass in enumerate(plan.classes):
        if plan.tier(klass.tier) is not None and not any(p.klass == klass.key for p in placed.values()):
            problems.append(Problem(plan.filename, klass.line, f"classes[{index}]", Sentence(
                'class "%(klass)s" has nobody from %(roster)s', klass=klass.key, roster=roster.filename),
                "warning"))
    for cadre in roster:
        placement = placed[cadre.employee_no]
        if not placement.excluded and placement.tier is None:
            problems.append(Problem(roster.filename, cadre.line, "", Sentence(
                "%(employee_no)s %(name)s (%(department_type)s, %(rank)s) matches no tier of %(plan)s: not "
                "enrolled this year", employee_no=cadre.employee_no, name=cadre.name,
                department_type=cadre.department_type, rank=cadre.rank, plan=plan.filename), "warning"))
    return problems


def _fallback(plan: Plan, roster: Roster) -> list[Problem]:
    if plan.reviewers is None or not plan.reviewers.fallback:
        return []
    number = plan.reviewers.fallback
    where, line = "reviewers.fallback", plan.reviewers.line or None
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
    rules: list[tuple[str, int | None, Match]] = [(f"tiers[{i}].match", t.line, t.match)
                                                  for i, t in enumerate(plan.tiers)]
    rules += [(f"classes[{i}].match", k.line, k.match) for i, k in enumerate(plan.classes)]
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
