"""What a harvest must store, worked out from the fake Moodle's own tables and the plan, by rules written
out here by hand: nothing of ``plugin_service`` or ``rules.hours`` is called, so a mistake there cannot
hide in the expectation. The plan's data (tiers' hours, courses, reflections, discussions) comes from
``rules.plan``; who is in which tier from the hand-written rules of ``tests.provisioning.expected``.

Moodle forgets a completion when an admin resets it, and a course completed again shows only its new
time; the hours count from the first completion. So the truth also takes the ``Ledger`` of every
completion the test produced, with its time.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from moodle_bridge.fake.site import FakeSite
from rules.plan import Plan

from ..provisioning.expected import tier_of

EPSILON = 1e-9


@dataclass
class Ledger:
    """Every course completion the test made happen: (Moodle user id, course id, unix time)."""

    completions: list[tuple[int, int, int]] = field(default_factory=list)

    def first(self) -> dict[tuple[int, int], int]:
        found: dict[tuple[int, int], int] = {}
        for userid, courseid, when in self.completions:
            found[(userid, courseid)] = min(when, found.get((userid, courseid), when))
        return found


@dataclass(frozen=True)
class Progress:
    first_completed: int | None  # unix time of the first completion ever: it earns the hours
    completed_now: int | None  # what Moodle shows now (None after a reset)

    @property
    def reset(self) -> bool:
        return self.first_completed is not None and self.completed_now is None


@dataclass(frozen=True)
class Reflection:
    status: str
    chars: int
    grade: float | None
    grader_userid: int | None
    graded_at: int | None


@dataclass(frozen=True)
class Record:
    tier: str | None
    status: str
    required_hours: float
    elective_hours: float  # counted, after the cap
    total_hours: float
    discussion_points: float
    credits: dict[str, tuple[str, str]]  # course key -> (kind, ISO day of the first completion)


@dataclass
class Truth:
    plan: Plan
    today: dt.date
    userids: dict[str, int]  # employee number -> Moodle user id
    courses: dict[str, int]  # course key -> Moodle course id
    progress: dict[tuple[str, str], Progress]  # every enrolment of a cadre in a course of the year
    reflections: dict[tuple[str, str], Reflection]
    discussions: dict[tuple[str, str], tuple[int, int]]  # (cadre, topic) -> (posts in window, in all)
    records: dict[str, Record]
    tiers: dict[str, str | None]


def visible_chars(text: str) -> int:
    """Characters a reader sees in the simple HTML the tests write: tags and white space do not count,
    an entity counts as the one character it shows."""
    plain = html.unescape(re.sub(r"<[^>]*>", "", text))
    return sum(1 for ch in plain if not ch.isspace())


def local_day(timestamp: int, tz: ZoneInfo) -> dt.date:
    return dt.datetime.fromtimestamp(timestamp, tz).date()


def compute(site: FakeSite, plan: Plan, roster: list[dict[str, str]], ledger: Ledger,
            today: dt.date) -> Truth:
    """The truth of a plan year as the fake Moodle holds it now, for ``today``."""
    db = site.db
    tz = ZoneInfo(plan.moodle.timezone)
    numbers = {row["工号"] for row in roster}
    userids = {str(u["idnumber"]): int(u["id"]) for u in db["user"]
               if u.get("idnumber") in numbers and not u.get("deleted")}
    employee_of = {userid: no for no, userid in userids.items()}
    prefix = f"cadre:{plan.year}:course:"
    courses = {str(c["idnumber"])[len(prefix):]: int(c["id"]) for c in db["course"]
               if str(c.get("idnumber") or "").startswith(prefix)}
    key_of = {courseid: key for key, courseid in courses.items()}

    progress = _progress(site, ledger, employee_of, key_of)
    reflections = _reflections(site, plan, courses, employee_of)
    discussions = _discussions(site, plan, courses, employee_of, tz)
    tiers = {row["工号"]: tier_of(row) for row in roster}
    records = {}
    for no, tier in tiers.items():
        completed = {course: local_day(p.first_completed, tz) for (who, course), p in progress.items()
                     if who == no and p.first_completed is not None}
        submitted = {course: r.chars for (who, course), r in reflections.items()
                     if who == no and r.status == "submitted"}
        posts = {topic: counts[0] for (who, topic), counts in discussions.items() if who == no}
        records[no] = record(plan, tier, completed, submitted, posts, today)
    return Truth(plan, today, userids, courses, progress, reflections, discussions, records, tiers)


def _progress(site: FakeSite, ledger: Ledger, employee_of: dict[int, str],
              key_of: dict[int, str]) -> dict[tuple[str, str], Progress]:
    db = site.db
    first = ledger.first()
    now = {(int(r["userid"]), int(r["course"])): int(r["timecompleted"])
           for r in db["course_completions"] if r.get("timecompleted")}
    found: dict[tuple[str, str], Progress] = {}
    for instance in db["enrol"]:
        course = key_of.get(int(instance["courseid"]))
        if course is None:
            continue
        for enrolment in db["user_enrolments"].select(enrolid=instance["id"]):
            userid = int(enrolment["userid"])
            if userid not in employee_of:
                continue
            pair = (userid, int(instance["courseid"]))
            times = [t for t in (first.get(pair), now.get(pair)) if t is not None]
            found[(employee_of[userid], course)] = Progress(min(times) if times else None, now.get(pair))
    return found


def _reflections(site: FakeSite, plan: Plan, courses: dict[str, int],
                 employee_of: dict[int, str]) -> dict[tuple[str, str], Reflection]:
    db = site.db
    found: dict[tuple[str, str], Reflection] = {}
    for course in plan.courses:
        if course.reflection is None or course.key not in courses:
            continue
        assignments = db["assign"].select(course=courses[course.key])
        assert len(assignments) == 1, f"{course.key} should hold one assignment"
        assignment = assignments[0]["id"]
        submissions: dict[int, dict[str, Any]] = {}
        for row in db["assign_submission"].select(assignment=assignment):
            before = submissions.get(row["userid"])
            if before is None or (row.get("attemptnumber", 0), row["id"]) > (before.get("attemptnumber", 0),
                                                                           before["id"]):
                submissions[row["userid"]] = row
        grades: dict[int, dict[str, Any]] = {}
        for row in db["assign_grades"].select(assignment=assignment):
            before = grades.get(row["userid"])
            order = (row.get("attemptnumber", 0), row.get("timemodified", 0), row["id"])
            if before is None or order >= (before.get("attemptnumber", 0), before.get("timemodified", 0),
                                           before["id"]):
                grades[row["userid"]] = row
        for userid in set(submissions) | set(grades):
            if userid not in employee_of:
                continue
            submission, grade_row = submissions.get(userid), grades.get(userid)
            graded = grade_row if grade_row is not None and float(grade_row.get("grade") or -1) >= 0 else None
            found[(employee_of[userid], course.key)] = Reflection(
                status=str(submission["status"]) if submission is not None else "new",
                chars=visible_chars(str(submission.get("onlinetext") or "")) if submission is not None else 0,
                grade=float(graded["grade"]) if graded is not None else None,
                grader_userid=int(graded["grader"]) if graded is not None else None,
                graded_at=int(graded["timemodified"]) if graded is not None else None)
    return found


def window(plan: Plan, key: str, tz: ZoneInfo) -> tuple[int, int]:
    """A topic's open window in unix seconds: [opening day 00:00, the day after closing 00:00)."""
    topic = next(d for d in plan.discussions if d.key == key)
    opens = dt.datetime.combine(topic.opens, dt.time(), tz)
    closes = dt.datetime.combine(topic.closes + dt.timedelta(days=1), dt.time(), tz)
    return int(opens.timestamp()), int(closes.timestamp())


def _discussions(site: FakeSite, plan: Plan, courses: dict[str, int], employee_of: dict[int, str],
                 tz: ZoneInfo) -> dict[tuple[str, str], tuple[int, int]]:
    db = site.db
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for topic in plan.discussions:
        if topic.course not in courses:
            continue
        forums = [f["id"] for f in db["forum"].select(course=courses[topic.course])
                  if (f.get("type") or "general") == "general"]
        threads = [d for forum in forums for d in db["forum_discussions"].select(forum=forum)
                   if html.unescape(str(d["name"])).strip() == topic.title.strip()]
        opens, closes = window(plan, topic.key, tz)
        posts: dict[str, list[int]] = defaultdict(list)
        for thread in threads[:1]:
            for post in db["forum_posts"].select(discussion=thread["id"]):
                if post.get("parent") and not post.get("deleted") and post["userid"] in employee_of:
                    posts[employee_of[post["userid"]]].append(int(post["created"]))
        for no, times in posts.items():
            found[(no, topic.key)] = (sum(1 for t in times if opens <= t < closes), len(times))
    return found


def record(plan: Plan, tier_key: str | None, completed: dict[str, dt.date], submitted: dict[str, int],
           posts: dict[str, int], today: dt.date) -> Record:
    """The rules of the year, as the organisation department states them (see the plan's comments)."""
    in_plan = [c for c in plan.courses if c.key in completed]
    tier = plan.tier(tier_key) if tier_key is not None else None
    if tier is None:
        hours = math.fsum(c.hours for c in in_plan)
        return Record(None, "excluded", 0.0, hours, hours, 0.0,
                      {c.key: ("other", completed[c.key].isoformat()) for c in in_plan})
    key = tier.key

    def kind(course: Any) -> str:
        if key in course.required:
            return "required"
        return "elective" if key in course.elective else "other"

    credits = {c.key: (kind(c), completed[c.key].isoformat()) for c in in_plan}
    required = math.fsum(c.hours for c in in_plan if kind(c) == "required")
    earned = math.fsum(c.hours for c in in_plan if kind(c) != "required")
    cap = tier.hours.elective_max
    counted = earned if cap is None else min(earned, cap)
    total = required + counted
    hours_met = total >= tier.hours.target - EPSILON and required >= tier.hours.required_min - EPSILON
    required_courses = [c for c in plan.courses if key in c.required]
    missing = [c for c in required_courses if c.key not in completed]
    unmet_reflections = [c for c in required_courses if c.reflection is not None
                         and submitted.get(c.key, -1) < c.reflection.min_chars]
    overdue = any(c.reflection is not None and c.reflection.due < today for c in unmet_reflections)
    points = math.fsum(min(d.points.max, d.points.per_post * posts.get(d.key, 0))
                       for d in plan.discussions if key in d.tiers and d.points is not None)
    if hours_met and not missing and not unmet_reflections:
        status = "complete"
    else:
        start, end = plan.period.start, plan.period.end
        share = min(max((today - start).days / (end - start).days, 0.0), 1.0)
        slow = total < tier.hours.target * share - EPSILON
        status = "behind" if slow or overdue or today > end else "on_track"
    return Record(key, status, required, counted, total, points, credits)
