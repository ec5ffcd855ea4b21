"""What the broken entries of a plan leave unknown, so that the checks across its parts can run on the rest.

A plan with errors is still checked across its parts (tiers against courses and hours, classes, the
roster), so that one round of corrections is enough. Those checks run on the entries that were read
whole: an entry with an error is dropped, never guessed at. Dropping alone would mislead, though: without
a broken course, a tier's required hours look short; without a broken class, a tier looks classless;
without a broken tier, its cadres seem to match no tier. So what the dropped entries might have said is
kept here, and a check reports a problem only when it holds whatever they were meant to say.

A reference is a different matter: a name that no entry has, kept or dropped, is reported as unknown,
since that is true as written; a name that a dropped entry has is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rules.plan_model import Tier

#: The fields of an hours requirement.
HOURS = ("target", "required_min", "elective_max")
#: Those and the cap of offline hours, which the plan sets in its own ``offline`` section.
HOURS_AND_OFFLINE = (*HOURS, "offline_max")


@dataclass(frozen=True)
class Refs:
    """The tiers a dropped course names in ``required`` (or ``elective``): ``known`` for certain, and,
    when ``open``, maybe others (a word could not be read, names no tier, or is both required and
    elective)."""

    known: frozenset[str] = frozenset()
    open: bool = False


@dataclass(frozen=True)
class CourseSketch:
    """What was read of a dropped course, for the hour sums of the tiers it may count for."""

    hours: float | None  # None: not known
    required: Refs
    elective: Refs

    def exact_for(self, tier: str, kind: Literal["required", "elective"]) -> tuple[bool, float]:
        """Whether this course's share of ``tier``'s required (or elective) hours is known, and what it is."""
        refs = self.required if kind == "required" else self.elective
        if tier in refs.known:
            return (self.hours is not None, self.hours or 0.0)
        return (not refs.open, 0.0)


#: A course entry of which nothing could be read (not a mapping, or the whole section unreadable): it may
#: count for any tier, with any hours.
UNREAD_COURSE = CourseSketch(None, Refs(open=True), Refs(open=True))


@dataclass(frozen=True)
class Gaps:
    """What the checks across a plan's parts must not assume; the default is a plan read whole."""

    year_hours: frozenset[str] = frozenset()  # fields of the year's hours not known (HOURS_AND_OFFLINE)
    courses: tuple[CourseSketch, ...] = ()  # the dropped courses
    #: The tiers in order as placing cadres sees them: the kept ones, and dropped ones whose match was read
    #: whole (with key "" where their key was not). None: the plan's own tiers.
    placing: tuple[Tier, ...] | None = None
    placing_until: int | None = None  # index of the first tier whose match is unknown; None: every one known
    excluded: bool = False  # the excluded rule is not known
    class_tiers: frozenset[str] = frozenset()  # tiers of dropped classes
    class_tier_unknown: bool = False  # some dropped class may be of any tier
    reviewers: bool = False  # the reviewers section is not known
    fallback: tuple[str, int] | None = None  # the fallback reviewer of a broken section, where it was read

    def hours_known(self, tier: Tier) -> frozenset[str]:
        """Which of a kept tier's effective hours are known: its own, and the year's that it does not set."""
        return frozenset(name for name in HOURS_AND_OFFLINE
                         if name in tier.own_hours or name not in self.year_hours)

    def may_have_class(self, tier: str) -> bool:
        """Whether a dropped class may be one of ``tier``'s."""
        return self.class_tier_unknown or tier in self.class_tiers

    def placed(self, tier: Tier) -> bool:
        """Whether who lands in ``tier`` is known: no tier before it (nor the exclusion rule) is unknown."""
        return not self.excluded and (self.placing_until is None or tier.index < self.placing_until)

    @property
    def all_placed(self) -> bool:
        """Whether every cadre's tier (or none) is known."""
        return not self.excluded and self.placing_until is None


NO_GAPS = Gaps()
