"""Tiering (分级分类): which tier and class each cadre is in, and why, in words people can check.

The order is the plan's: the exclusion rule first, then the tiers in order, the first that matches wins,
then the tier's classes in order. Cadres not in post (离岗 on leave, 离职 departed) are never enrolled,
whatever the plan's ``excluded`` says: on leave keeps the account, departed suspends it.

``explain`` answers the question the organisation department is asked most ("why am I in this class?
why must I take this course?") with each test that was tried, so the answer can be checked against
the roster row rather than trusted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rules.plan_model import Course, Hours, Match, Plan, hours_text
from rules.reviewers import reviewer_for
from rules.roster import Cadre, Roster
from rules.vocabulary import DEPARTED, ON_LEAVE

NOT_IN_POST = (ON_LEAVE, DEPARTED)


@dataclass(frozen=True)
class Reason:
    """One test of one rule: ``rank 正处级 ∈ [正处级, 副处级] ✓``."""

    rule: str  # "excluded", "tier teaching", "class section-a"
    fact: str
    value: str
    expected: tuple[str, ...]
    matched: bool

    def __str__(self) -> str:
        value = self.value or "(blank)"
        if len(self.expected) == 1:
            return f"{self.fact} {value} {'=' if self.matched else '≠'} {self.expected[0]} {self._mark}"
        listed = "[" + ", ".join(self.expected) + "]"
        return f"{self.fact} {value} {'∈' if self.matched else '∉'} {listed} {self._mark}"

    @property
    def _mark(self) -> str:
        return "✓" if self.matched else "✗"


@dataclass(frozen=True)
class Placement:
    employee_no: str
    excluded: bool
    tier: str | None  # None: excluded, or matched no tier
    klass: str | None  # None: no class of the tier matched

    @property
    def included(self) -> bool:
        return self.tier is not None


def test(match: Match, cadre: Cadre, rule: str) -> tuple[bool, tuple[Reason, ...]]:
    """Whether ``cadre`` passes every test of ``match``, and each test's outcome (all are tried)."""
    reasons = tuple(Reason(rule, t.fact, cadre.fact(t.fact), t.values, cadre.fact(t.fact) in t.values)
                    for t in match.tests)
    return all(r.matched for r in reasons), reasons


def is_excluded(plan: Plan, cadre: Cadre) -> tuple[bool, tuple[Reason, ...]]:
    excluded, reasons = test(plan.excluded, cadre, "excluded") if plan.excluded.tests else (False, ())
    if not excluded and cadre.status in NOT_IN_POST:
        return True, (*reasons, Reason("not in post", "status", cadre.status, NOT_IN_POST, True))
    return excluded, reasons


def place(plan: Plan, cadre: Cadre) -> Placement:
    return _place(plan, cadre)[0]


def placements(plan: Plan, roster: Roster) -> dict[str, Placement]:
    """Every cadre's placement, by employee number as the roster spells it."""
    return {cadre.employee_no: place(plan, cadre) for cadre in roster}


def _place(plan: Plan, cadre: Cadre) -> tuple[Placement, tuple[Reason, ...]]:
    excluded, reasons = is_excluded(plan, cadre)
    if excluded:
        return Placement(cadre.employee_no, True, None, None), reasons
    for tier in plan.tiers:
        matched, tried = test(tier.match, cadre, f"tier {tier.key}")
        reasons += tried
        if not matched:
            continue
        for klass in plan.classes_of(tier.key):
            in_class, tried = test(klass.match, cadre, f"class {klass.key}")
            reasons += tried
            if in_class:
                return Placement(cadre.employee_no, False, tier.key, klass.key), reasons
        return Placement(cadre.employee_no, False, tier.key, None), reasons
    return Placement(cadre.employee_no, False, None, None), reasons


@dataclass(frozen=True)
class Explanation:
    employee_no: str
    name: str
    outcome: str  # "included", "excluded", "no tier", "not in roster"
    tier: str | None
    klass: str | None
    reasons: tuple[Reason, ...]
    required: tuple[Course, ...] = ()
    elective: tuple[Course, ...] = ()
    hours: Hours | None = None
    reviewer: str | None = None  # employee number
    reviewer_name: str = ""
    reviewer_why: str = ""  # a rules.wording.Sentence where the cadre is included
    suspended: bool = False
    labels: tuple[tuple[str, str], ...] = ()  # rule -> how lines() names it, with the plan's names

    def lines(self) -> list[str]:
        """The explanation as plain text, one rule per line."""
        if self.outcome == "not in roster":
            return [f"{self.employee_no}: not in the roster (不在名册中)"]
        labels = dict(self.labels)
        out = [f"{self.employee_no} {self.name}"]
        rules: dict[str, list[Reason]] = {}
        for reason in self.reasons:
            rules.setdefault(reason.rule, []).append(reason)
        for rule, reasons in rules.items():
            passed = all(r.matched for r in reasons)
            tests = "; ".join(str(r) for r in reasons) or "no tests of its own: everyone"
            out.append(f"  {labels.get(rule, rule)}: {tests} → {'match' if passed else 'no match'}")
        if self.klass and f"class {self.klass}" not in rules:
            out.append(f"  {labels.get(f'class {self.klass}')}: no tests of its own, the whole tier → match")
        out.append(self._conclusion(labels))
        if self.outcome == "included":
            out += self._courses()
        return out

    def _conclusion(self, labels: dict[str, str]) -> str:
        if self.outcome == "excluded":
            account = "account suspended (账号停用)" if self.suspended else "account kept (保留账号)"
            return f"  ⇒ excluded this year (本年度不参加学习): no class, no course; {account}"
        if self.outcome == "no tier":
            return "  ⇒ matches no tier (未匹配任何层级): no class, no course"
        tier = labels.get(f"tier {self.tier}", f"tier {self.tier}")
        klass = labels.get(f"class {self.klass}", f"class {self.klass}") if self.klass \
            else "no class (无班级)"
        return f"  ⇒ {tier}, {klass}"

    def _courses(self) -> list[str]:
        def listed(courses: tuple[Course, ...]) -> str:
            total = hours_text(sum(c.hours for c in courses))
            names = ", ".join(f"{c.key} {c.name} {hours_text(c.hours)}h" for c in courses)
            return f"{names or 'none'} ({total}h)"

        out = [f"  required courses (必修): {listed(self.required)}",
               f"  elective courses (选修): {listed(self.elective)}"]
        if self.hours is not None:
            cap = "" if self.hours.elective_max is None else \
                f", electives count up to {hours_text(self.hours.elective_max)}"
            out.append(f"  hours (学时): target {hours_text(self.hours.target)}, of which required at least "
                       f"{hours_text(self.hours.required_min)}{cap}")
        who = f"{self.reviewer} {self.reviewer_name}" if self.reviewer else "none (无)"
        out.append(f"  reviewer (评阅人): {who} — {self.reviewer_why}")
        return out


def explain(plan: Plan, roster: Roster, employee_no: str) -> Explanation:
    """Why the cadre is where they are, rule by rule."""
    cadre = roster.get(employee_no)
    if cadre is None:
        return Explanation(employee_no, "", "not in roster", None, None, ())
    placement, reasons = _place(plan, cadre)
    labels = (("excluded", "excluded (不参加本年度学习)"), ("not in post", "not in post (离岗/离职不参加)"),
              *((f"tier {t.key}", f"tier {t.key} {t.name}") for t in plan.tiers),
              *((f"class {k.key}", f"class {k.key} {k.name}") for k in plan.classes))
    base = Explanation(cadre.employee_no, cadre.name, "excluded", None, None, reasons,
                       suspended=cadre.departed, labels=labels)
    if placement.excluded:
        return base
    if placement.tier is None:
        return dataclasses.replace(base, outcome="no tier")
    tier = plan.tier(placement.tier)
    assert tier is not None
    choice = reviewer_for(plan, roster, cadre)
    return dataclasses.replace(
        base, outcome="included", tier=tier.key, klass=placement.klass, hours=tier.hours,
        required=plan.required_courses(tier.key), elective=plan.elective_courses(tier.key),
        reviewer=choice.reviewer, reviewer_name=roster[choice.reviewer].name if choice.reviewer else "",
        reviewer_why=choice.why)
