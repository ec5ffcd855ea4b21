"""Who reviews (评阅) a cadre's reflections.

The plan's rule is usually the cadre's supervising school leader (分管校领导); the fallback leader steps in
where that names nobody who can review: a school leader (they have no supervising leader of their own),
a cadre whose leader is blank, unknown, not a school leader or not in post. Nobody reviews themself.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.desired import username
from rules.plan_model import Plan
from rules.roster import Cadre, Roster
from rules.vocabulary import ACTIVE, LEADER_RANK


@dataclass(frozen=True)
class ReviewerChoice:
    reviewer: str | None  # employee number as the roster spells it; None: nobody reviews
    why: str
    themself: bool = False  # nobody reviews because the rule names the cadre themself: by design


def reviewer_for(plan: Plan, roster: Roster, cadre: Cadre) -> ReviewerChoice:
    rule = plan.reviewers
    if rule is None:
        return ReviewerChoice(None, "the plan names no reviewers")
    if rule.by == "supervising_leader":
        leader = roster.get(cadre.supervising_leader) if cadre.supervising_leader else None
        if cadre.is_leader:
            reason = f"a {LEADER_RANK} leader is reviewed by the fallback reviewer"
        elif not cadre.supervising_leader:
            reason = "no supervising leader in the roster: the fallback reviewer"
        elif leader is None:
            reason = f"supervising leader {cadre.supervising_leader} is not in the roster: the fallback"
        elif not leader.is_leader:
            reason = f"supervising leader {leader.employee_no} is not a {LEADER_RANK} leader: the fallback"
        elif leader.status != ACTIVE:
            reason = f"supervising leader {leader.employee_no} is {leader.status}: the fallback"
        else:
            return _not_self(cadre, leader, "their supervising leader (分管校领导)")
    else:
        reason = "the plan has everyone reviewed by the fallback reviewer"
    fallback = roster.get(rule.fallback) if rule.fallback else None
    if fallback is None:
        missing = rule.fallback or "(none)"
        return ReviewerChoice(None, f"{reason}, but the fallback {missing} is not in the roster")
    if fallback.departed:
        return ReviewerChoice(None, f"{reason}, but the fallback {fallback.employee_no} has departed")
    return _not_self(cadre, fallback, reason)


def _not_self(cadre: Cadre, reviewer: Cadre, why: str) -> ReviewerChoice:
    if username(reviewer.employee_no) == username(cadre.employee_no):
        return ReviewerChoice(None, f"{why}, {reviewer.employee_no} {reviewer.name}, would review themself: "
                                    "nobody reviews", themself=True)
    return ReviewerChoice(reviewer.employee_no, why)
