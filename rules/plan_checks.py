"""Checks that need the whole plan at once: can each tier meet its hours, does each tier's cadres have
exactly one class, can each tier be reached at all.

These are the mistakes a plan's author cannot see by reading one entry: adding a required course to one
tier, or splitting a class in two, changes what is possible for everybody in it.
"""

from __future__ import annotations

from rules.plan_model import Klass, Match, Plan, Tier, hours_text
from rules.problems import Problem


def check_plan(plan: Plan, *, hours_complete: bool = True) -> list[Problem]:
    problems: list[Problem] = []
    for index, tier in enumerate(plan.tiers):
        where = f"tiers[{index}]"
        if hours_complete:
            problems += _tier_hours(plan, tier, where)
        if tier.key and not plan.classes_of(tier.key):
            problems.append(Problem(plan.filename, tier.line, where,
                                    f'tier "{tier.key}" has no class: its cadres would be in no cohort'))
        for earlier in plan.tiers[:index]:
            if _covers(earlier.match, tier.match):
                problems.append(Problem(
                    plan.filename, tier.line, where, f'tier "{tier.key}" can never match: tier '
                    f'"{earlier.key}" (line {earlier.line}) comes first and matches everyone it would',
                    "warning"))
                break
    problems += _class_overlaps(plan)
    if plan.reviewers is None and any(c.reflection for c in plan.courses):
        problems.append(Problem(plan.filename, None, "reviewers",
                                "courses ask for reflections but the plan names no reviewers: nobody will "
                                "review them", "warning"))
    return problems


def _tier_hours(plan: Plan, tier: Tier, where: str) -> list[Problem]:
    """Required courses must be able to give the tier's required_min; all courses together should be able
    to reach its target (a warning only: hours earned elsewhere may count towards the target)."""
    problems: list[Problem] = []
    hours = tier.hours
    required = sum(c.hours for c in plan.required_courses(tier.key))
    electives = sum(c.hours for c in plan.elective_courses(tier.key))
    whose = "its own" if "required_min" in tier.own_hours else "the year's"
    if required < hours.required_min:
        problems.append(Problem(plan.filename, tier.line, where,
                                f'tier "{tier.key}": its required courses give {hours_text(required)} hours, '
                                f"less than {whose} required_min {hours_text(hours.required_min)}"))
    counted = electives if hours.elective_max is None else min(electives, hours.elective_max)
    if not problems and required + counted < hours.target:
        cap = "" if counted == electives else f" (of {hours_text(electives)}, capped by elective_max)"
        problems.append(Problem(
            plan.filename, tier.line, where,
            f'tier "{tier.key}": its courses give at most {hours_text(required + counted)} hours (required '
            f"{hours_text(required)} + electives {hours_text(counted)}{cap}), less than its target "
            f"{hours_text(hours.target)}: cadres need hours from elsewhere", "warning"))
    own_cap = {"target", "elective_max"} & tier.own_hours  # else reported once, at the year's hours
    if own_cap and hours.elective_max is not None and hours.elective_max > hours.target:
        problems.append(Problem(
            plan.filename, tier.line, where, f'tier "{tier.key}": elective_max '
            f"({hours_text(hours.elective_max)}) is more than the target ({hours_text(hours.target)}): "
            "it caps nothing", "warning"))
    if hours.elective_max == 0 and electives:
        problems.append(Problem(plan.filename, tier.line, where, f'tier "{tier.key}" has elective courses '
                                "but elective_max is 0: they count for nothing", "warning"))
    return problems


def _class_overlaps(plan: Plan) -> list[Problem]:
    """Two classes of one tier must not be able to hold the same cadre: a cohort is one class."""
    problems: list[Problem] = []
    for index, klass in enumerate(plan.classes):
        for earlier in plan.classes[:index]:
            if klass.tier and earlier.tier == klass.tier and _may_overlap(earlier, klass):
                problems.append(Problem(
                    plan.filename, klass.line, f"classes[{index}]", f'class "{klass.key}" overlaps class '
                    f'"{earlier.key}" (line {earlier.line}) of tier "{klass.tier}": '
                    f"{_overlap_reason(earlier, klass)}"))
    return problems


def _may_overlap(a: Klass, b: Klass) -> bool:
    """A cadre may match both unless some fact both test admits no common value."""
    ours = {t.fact: set(t.values) for t in a.match.tests}
    return all(set(t.values) & ours[t.fact] for t in b.match.tests if t.fact in ours)


def _overlap_reason(a: Klass, b: Klass) -> str:
    if not a.match.tests or not b.match.tests:
        whole = a if not a.match.tests else b
        return f'class "{whole.key}" has no match of its own and takes the whole tier'
    shared = sorted({t.fact for t in a.match.tests} & {t.fact for t in b.match.tests})
    if not shared:
        return "they test different facts, so a cadre can match both"
    return "a cadre can match both (" + ", ".join(shared) + ")"


def _covers(first: Match, later: Match) -> bool:
    """Whether everyone ``later`` matches is already matched by ``first``."""
    ours = {t.fact: set(t.values) for t in later.tests}
    return all(t.fact in ours and ours[t.fact] <= set(t.values) for t in first.tests)
