"""What a learner should do next, in the order it matters: the required courses still open, the
reflections owed (missing, then too short), the hours still to earn from electives, and the discussions
open today that still give points. Each step is a sentence with, where there is one, the Moodle page to
do it on.

The steps follow the stored record (``LearningRecordRow.detail``, as the rules computed it) and the plan:
a step is never suggested for what the record already counts as met.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rules.plan_model import Plan, hours_text
from rules.wording import Sentence

from ..read_models.cadre_pages import CourseRow

EPSILON = 1e-9


@dataclass(frozen=True)
class Step:
    text: Sentence
    url: str | None = None  # the Moodle page to do it on
    urgent: bool = False  # overdue, or the plan's pace is already missed


def _h(value: float) -> str:
    return hours_text(round(value, 2))


def next_steps(plan: Plan, detail: Mapping[str, Any], courses: Sequence[CourseRow],
               links: Mapping[str, str | None], today: dt.date) -> list[Step]:
    """The learner's next steps for a record of ``plan`` (``detail`` as stored); ``links`` gives each
    course key's Moodle page. A complete or excluded record has none."""
    tier = plan.tier(str(detail.get("tier") or ""))
    if tier is None or detail.get("status") in ("complete", "excluded"):
        return []
    rows = {c.key: c for c in courses}
    steps: list[Step] = []
    missing = list(detail.get("required_missing", []))
    for key in missing:
        course = plan.course(key)
        if course is None:
            continue
        started = key in rows and rows[key].state == "started"
        text = (Sentence("Finish the required course %(name)s (%(hours)s hours)", name=course.name,
                         hours=_h(course.hours)) if started else
                Sentence("Start the required course %(name)s (%(hours)s hours)", name=course.name,
                         hours=_h(course.hours)))
        steps.append(Step(text, links.get(key)))
    steps += _reflection_steps(plan, detail, links, today)
    steps += _hours_steps(plan, detail, courses, missing)
    steps += _discussion_steps(plan, tier.key, detail, links, today)
    return steps


def _reflection_steps(plan: Plan, detail: Mapping[str, Any], links: Mapping[str, str | None],
                      today: dt.date) -> list[Step]:
    steps: list[Step] = []
    short = set(detail.get("reflections_short", []))
    for key in [*detail.get("reflections_missing", []), *detail.get("reflections_short", [])]:
        course = plan.course(key)
        if course is None or course.reflection is None:
            continue
        reflection = course.reflection
        said = {"title": reflection.title, "course": course.name, "due": reflection.due.isoformat(),
                "min_chars": reflection.min_chars}
        overdue = reflection.due < today
        if key in short:
            text = Sentence("Lengthen your reflection “%(title)s” in %(course)s to at least %(min_chars)s "
                            "characters and submit it again (due %(due)s)", **said)
        elif overdue:
            text = Sentence("Submit your reflection “%(title)s” in %(course)s: it was due on %(due)s "
                            "(at least %(min_chars)s characters)", **said)
        else:
            text = Sentence("Submit your reflection “%(title)s” in %(course)s by %(due)s (at least "
                            "%(min_chars)s characters)", **said)
        steps.append(Step(text, links.get(key), urgent=overdue))
    return steps


def _hours_steps(plan: Plan, detail: Mapping[str, Any], courses: Sequence[CourseRow],
                 required_missing: Sequence[str]) -> list[Step]:
    """The hours still needed once the required courses are done: from the electives still open, within
    their cap, then from offline study, within its cap; what neither can give is for the organisation
    department to sort out."""
    target = float(detail.get("target") or 0.0)
    total = float(detail.get("total_hours") or 0.0)
    owed = math.fsum(c.hours for key in required_missing if (c := plan.course(key)) is not None)
    needed = target - total - owed
    if needed <= EPSILON:
        return []
    steps: list[Step] = []
    open_electives = [c for c in courses if c.kind == "elective" and c.state != "completed"]
    room = _room(detail.get("elective_max"), detail.get("elective_hours"))
    from_electives = min(needed, room, math.fsum(c.hours for c in open_electives))
    if from_electives > EPSILON:
        text = Sentence("Complete elective courses worth %(hours)s more hours (%(open)s still open to you)",
                        hours=_h(from_electives), open=len(open_electives))
        steps.append(Step(text, "#electives"))
        needed -= from_electives
    if needed > EPSILON and "offline_max" in detail:
        from_offline = min(needed, _room(detail.get("offline_max"), detail.get("offline_hours"), none=0.0))
        if from_offline > EPSILON:
            text = Sentence("Earn %(hours)s more hours from offline study: claim it below, or ask your "
                            "department to record the training", hours=_h(from_offline))
            steps.append(Step(text, "#claims"))
            needed -= from_offline
    if needed > EPSILON:
        steps.append(Step(Sentence("Earn %(hours)s more hours: your tier's courses cannot give them all, ask "
                                   "the organisation department", hours=_h(needed))))
    return steps


def _room(cap: Any, counted: Any, *, none: float = math.inf) -> float:
    """What a capped bucket of hours can still take (``none`` when it has no cap)."""
    if cap is None:
        return none
    return max(float(cap) - float(counted or 0.0), 0.0)


def _discussion_steps(plan: Plan, tier: str, detail: Mapping[str, Any], links: Mapping[str, str | None],
                      today: dt.date) -> list[Step]:
    steps: list[Step] = []
    earned = {str(key): float(points) for key, points in detail.get("points", [])}
    for discussion in plan.discussions:
        if tier not in discussion.tiers or not discussion.opens <= today <= discussion.closes:
            continue
        points = earned.get(discussion.key, 0.0)
        if discussion.points is None or points + EPSILON >= discussion.points.max:
            continue
        steps.append(Step(Sentence("Take part in the discussion “%(title)s” until %(closes)s: %(points)s "
                                   "of %(max)s points so far", title=discussion.title,
                                   closes=discussion.closes.isoformat(), points=_h(points),
                                   max=_h(discussion.points.max)),
                          links.get(discussion.course)))
    return steps
