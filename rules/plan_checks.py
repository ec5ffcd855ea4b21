"""Checks that need the whole plan at once: can each tier meet its hours, does each tier's cadres have
exactly one class, can each tier be reached at all.

These are the mistakes a plan's author cannot see by reading one entry: adding a required course to one
tier, or splitting a class in two, changes what is possible for everybody in it. They run on the entries
read whole even when others have errors; ``gaps`` says what the broken entries leave unknown, and a
problem is only reported when it holds whatever those entries were meant to say.
"""

from __future__ import annotations

from typing import Literal

from rules.plan_gaps import NO_GAPS, Gaps
from rules.plan_model import Klass, Match, Plan, Tier, hours_text
from rules.problems import Problem
from rules.wording import Sentence


def check_plan(plan: Plan, gaps: Gaps = NO_GAPS) -> list[Problem]:
    problems: list[Problem] = []
    for index, tier in enumerate(plan.tiers):
        where = f"tiers[{tier.index}]"
        problems += _tier_hours(plan, tier, where, gaps)
        if tier.key and not plan.classes_of(tier.key) and not gaps.may_have_class(tier.key):
            problems.append(Problem(plan.filename, tier.line, where, Sentence(
                'tier "%(tier)s" has no class: its cadres would be in no cohort', tier=tier.key)))
        for earlier in plan.tiers[:index]:
            if _covers(earlier.match, tier.match):
                problems.append(Problem(plan.filename, tier.line, where, Sentence(
                    'tier "%(tier)s" can never match: tier "%(earlier)s" (line %(line)s) comes first and '
                    "matches everyone it would", tier=tier.key, earlier=earlier.key, line=earlier.line),
                    "warning"))
                break
    problems += _class_overlaps(plan)
    if plan.reviewers is None and not gaps.reviewers and any(c.reflection for c in plan.courses):
        problems.append(Problem(plan.filename, None, "reviewers", Sentence(
            "courses ask for reflections but the plan names no reviewers: nobody will review them"),
            "warning"))
    return problems


def _tier_hours(plan: Plan, tier: Tier, where: str, gaps: Gaps) -> list[Problem]:
    """Required courses must be able to give the tier's required_min; all courses together, with the
    offline study hours the plan counts (``offline: {max}``), should be able to reach its target (a
    warning only). A sum is only compared where it is known: no broken course may count for the tier,
    and the hours it is compared with were read."""
    problems: list[Problem] = []
    hours, known = tier.hours, gaps.hours_known(tier)
    required = _sum(plan, gaps, tier.key, "required")
    electives = _sum(plan, gaps, tier.key, "elective")
    if required is not None and "required_min" in known and required < hours.required_min:
        problems.append(Problem(plan.filename, tier.line, where, _short_of_required_min(tier, required)))
    if required is not None and electives is not None and {"target", "elective_max", "offline_max"} <= known:
        counted = electives if hours.elective_max is None else min(electives, hours.elective_max)
        if not problems and required + counted + (hours.offline_max or 0.0) < hours.target:
            problems.append(Problem(plan.filename, tier.line, where,
                                    _short_of_target(tier, required, electives, counted), "warning"))
    own_cap = {"target", "elective_max"} & tier.own_hours  # else reported once, at the year's hours
    if (own_cap and {"target", "elective_max"} <= known and hours.elective_max is not None
            and hours.elective_max > hours.target):
        problems.append(Problem(plan.filename, tier.line, where, Sentence(
            'tier "%(tier)s": elective_max (%(elective_max)s) is more than the target (%(target)s): it caps '
            "nothing", tier=tier.key, elective_max=hours_text(hours.elective_max),
            target=hours_text(hours.target)), "warning"))
    if "elective_max" in known and hours.elective_max == 0 and _any_elective(plan, tier.key):
        problems.append(Problem(plan.filename, tier.line, where, Sentence(
            'tier "%(tier)s" has elective courses but elective_max is 0: they count for nothing',
            tier=tier.key), "warning"))
    return problems


def _sum(plan: Plan, gaps: Gaps, tier: str, kind: Literal["required", "elective"]) -> float | None:
    """The hours of the tier's required (or elective) courses; None where a broken course may change it."""
    courses = plan.required_courses(tier) if kind == "required" else plan.elective_courses(tier)
    total = sum(c.hours for c in courses)
    for sketch in gaps.courses:
        exact, hours = sketch.exact_for(tier, kind)
        if not exact:
            return None
        total += hours
    return total


def _any_elective(plan: Plan, tier: str) -> bool:
    """Whether some course read whole is elective for the tier."""
    return any(c.hours for c in plan.elective_courses(tier))


def _short_of_required_min(tier: Tier, required: float) -> Sentence:
    """Says whose required_min it is: the author looks for it in the tier or in the year's hours."""
    values = {"tier": tier.key, "required": hours_text(required),
              "required_min": hours_text(tier.hours.required_min)}
    if "required_min" in tier.own_hours:
        return Sentence('tier "%(tier)s": its required courses give %(required)s hours, less than its own '
                        "required_min %(required_min)s", **values)
    return Sentence('tier "%(tier)s": its required courses give %(required)s hours, less than the year\'s '
                    "required_min %(required_min)s", **values)


def _short_of_target(tier: Tier, required: float, electives: float, counted: float) -> Sentence:
    """Says where the electives were capped, since that is the line to change; where the plan counts
    offline study hours, says that even with them the target is out of reach."""
    values = {"tier": tier.key, "most": hours_text(required + counted), "required": hours_text(required),
              "counted": hours_text(counted), "target": hours_text(tier.hours.target)}
    offline = tier.hours.offline_max
    if offline:
        values.update(offline=hours_text(offline), reachable=hours_text(required + counted + offline))
        if counted == electives:
            return Sentence('tier "%(tier)s": its courses give at most %(most)s hours (required '
                            "%(required)s + electives %(counted)s) and offline study at most %(offline)s "
                            "more, %(reachable)s in all, less than its target %(target)s: the target cannot "
                            "be reached", **values)
        return Sentence('tier "%(tier)s": its courses give at most %(most)s hours (required %(required)s + '
                        "electives %(counted)s (of %(electives)s, capped by elective_max)) and offline study "
                        "at most %(offline)s more, %(reachable)s in all, less than its target %(target)s: "
                        "the target cannot be reached", electives=hours_text(electives), **values)
    if counted == electives:
        return Sentence('tier "%(tier)s": its courses give at most %(most)s hours (required %(required)s + '
                        "electives %(counted)s), less than its target %(target)s: cadres need hours from "
                        "elsewhere", **values)
    return Sentence('tier "%(tier)s": its courses give at most %(most)s hours (required %(required)s + '
                    "electives %(counted)s (of %(electives)s, capped by elective_max)), less than its target "
                    "%(target)s: cadres need hours from elsewhere", electives=hours_text(electives), **values)


def _class_overlaps(plan: Plan) -> list[Problem]:
    """Two classes of one tier must not be able to hold the same cadre: a cohort is one class."""
    problems: list[Problem] = []
    for index, klass in enumerate(plan.classes):
        for earlier in plan.classes[:index]:
            if klass.tier and earlier.tier == klass.tier and _may_overlap(earlier, klass):
                problems.append(Problem(plan.filename, klass.line, f"classes[{klass.index}]", Sentence(
                    'class "%(klass)s" overlaps class "%(earlier)s" (line %(line)s) of tier "%(tier)s": '
                    "%(reason)s", klass=klass.key, earlier=earlier.key, line=earlier.line, tier=klass.tier,
                    reason=_overlap_reason(earlier, klass))))
    return problems


def _may_overlap(a: Klass, b: Klass) -> bool:
    """A cadre may match both unless some fact both test admits no common value."""
    ours = {t.fact: set(t.values) for t in a.match.tests}
    return all(set(t.values) & ours[t.fact] for t in b.match.tests if t.fact in ours)


def _overlap_reason(a: Klass, b: Klass) -> Sentence:
    if not a.match.tests or not b.match.tests:
        whole = a if not a.match.tests else b
        return Sentence('class "%(klass)s" has no match of its own and takes the whole tier', klass=whole.key)
    shared = sorted({t.fact for t in a.match.tests} & {t.fact for t in b.match.tests})
    if not shared:
        return Sentence("they test different facts, so a cadre can match both")
    return Sentence("a cadre can match both (%(facts)s)", facts=", ".join(shared))


def _covers(first: Match, later: Match) -> bool:
    """Whether everyone ``later`` matches is already matched by ``first``."""
    ours = {t.fact: set(t.values) for t in later.tests}
    return all(t.fact in ours and ours[t.fact] <= set(t.values) for t in first.tests)
