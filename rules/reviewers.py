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
from rules.wording import Sentence


@dataclass(frozen=True)
class ReviewerChoice:
    reviewer: str | None  # employee number as the roster spells it; None: nobody reviews
    why: Sentence
    themself: bool = False  # nobody reviews because the rule names the cadre themself: by design


def reviewer_for(plan: Plan, roster: Roster, cadre: Cadre) -> ReviewerChoice:
    rule = plan.reviewers
    if rule is None:
        return ReviewerChoice(None, Sentence("the plan names no reviewers"))
    if rule.by == "supervising_leader":
        leader = roster.get(cadre.supervising_leader) if cadre.supervising_leader else None
        if cadre.is_leader:
            reason = Sentence("a %(leader_rank)s leader is reviewed by the fallback reviewer",
                              leader_rank=LEADER_RANK)
        elif not cadre.supervising_leader:
            reason = Sentence("no supervising leader in the roster: the fallback reviewer")
        elif leader is None:
            reason = Sentence("supervising leader %(leader)s is not in the roster: the fallback",
                              leader=cadre.supervising_leader)
        elif not leader.is_leader:
            reason = Sentence("supervising leader %(leader)s is not a %(leader_rank)s leader: the fallback",
                              leader=leader.employee_no, leader_rank=LEADER_RANK)
        elif leader.status != ACTIVE:
            reason = Sentence("supervising leader %(leader)s is %(status)s: the fallback",
                              leader=leader.employee_no, status=leader.status)
        else:
            return _not_self(cadre, leader, Sentence("their supervising leader (分管校领导)"))
    else:
        reason = Sentence("the plan has everyone reviewed by the fallback reviewer")
    fallback = roster.get(rule.fallback) if rule.fallback else None
    if fallback is None:
        if not rule.fallback:
            return ReviewerChoice(None, Sentence("%(reason)s, but the fallback (none) is not in the roster",
                                                 reason=reason))
        return ReviewerChoice(None, Sentence("%(reason)s, but the fallback %(fallback)s is not in the roster",
                                             reason=reason, fallback=rule.fallback))
    if fallback.departed:
        return ReviewerChoice(None, Sentence("%(reason)s, but the fallback %(fallback)s has departed",
                                             reason=reason, fallback=fallback.employee_no))
    return _not_self(cadre, fallback, reason)


def _not_self(cadre: Cadre, reviewer: Cadre, why: Sentence) -> ReviewerChoice:
    if username(reviewer.employee_no) == username(cadre.employee_no):
        return ReviewerChoice(None, Sentence("%(why)s, %(reviewer)s %(name)s, would review themself: nobody "
                                             "reviews", why=why, reviewer=reviewer.employee_no,
                                             name=reviewer.name), themself=True)
    return ReviewerChoice(reviewer.employee_no, why)
