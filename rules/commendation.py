"""Commendation (表彰): the best learners of each tier at the end of the year, and the numbers behind them.

The plan's rule names how many per tier (``top_per_tier``) and the hours a cadre must at least have
(``min_hours``). Among the cadres who take part in the year and reach those hours, the order is:

1. more credited hours;
2. then more discussion points;
3. then the better average grade of their reviewed reflections (none counts as 0);
4. then who reached the year's requirement earlier (never reached counts last).

Cadres equal on all four share a rank. Whoever shares the rank of the last place is listed too (marked
as tied), so that no one is left out by the order of a list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from rules.plan_model import Plan


@dataclass(frozen=True)
class Candidate:
    employee_no: str
    name: str
    department: str
    tier: str
    total_hours: float
    required_hours: float
    elective_hours: float
    discussion_points: float
    reflection_grade: float | None  # average of the graded reflections
    completed_on: dt.date | None  # the day the record first read "complete"


@dataclass(frozen=True)
class Commended:
    tier: str
    rank: int  # 1-based; equal candidates share a rank
    tied: bool  # shares its rank with another commended cadre
    candidate: Candidate


def _merit(c: Candidate) -> tuple[float, float, float, int]:
    reached = c.completed_on.toordinal() if c.completed_on is not None else 10 ** 7
    return (-round(c.total_hours, 6), -round(c.discussion_points, 6), -round(c.reflection_grade or 0.0, 6),
            reached)


def commendation_list(plan: Plan, candidates: Iterable[Candidate]) -> list[Commended]:
    """The commendation list by tier (plan order), each tier best first; empty without a rule."""
    rule = plan.commendation
    if rule is None:
        return []
    by_tier: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        if candidate.total_hours + 1e-9 >= rule.min_hours:
            by_tier.setdefault(candidate.tier, []).append(candidate)
    found: list[Commended] = []
    for tier in plan.tiers:
        ranked = sorted(by_tier.get(tier.key, []), key=lambda c: (_merit(c), c.employee_no))
        if not ranked:
            continue
        merits = [_merit(c) for c in ranked]
        ranks = [1 + next(i for i, m in enumerate(merits) if m == merit) for merit in merits]
        last = ranks[min(rule.top_per_tier, len(ranked)) - 1]
        for candidate, merit, rank in zip(ranked, merits, ranks, strict=True):
            if rank > last:
                break
            found.append(Commended(tier.key, rank, merits.count(merit) > 1, candidate))
    return found
