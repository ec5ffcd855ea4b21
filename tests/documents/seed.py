"""Years of learning written straight into the companion's database, as a harvest would have left them:
the sample plan applied (tiers, classes, courses), cadres with their memberships, course progress,
reflections and discussion posts, and the learning records computed from them by the harvest's own
``compute_records``. No Moodle is involved, so thousands of cadres take seconds.

Each cadre follows a profile: ``complete`` (every course of the plan, reflections long enough),
``exact`` (the required courses and just enough others to reach the target, so one more course shows in
the hours), ``short`` (the required courses and one other: hours short), ``gap`` (one required course
missing).
Names mix common and rare characters (䶮, 堃, 昇, 赟, 燊, 珺, 婳) and two-, three- and four-character names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from plugin_service.db import session_scope, upgrade
from plugin_service.models import (
    Cadre,
    CourseProgress,
    DiscussionRecord,
    Membership,
    ReflectionRecord,
    StoredPlan,
    YearClass,
    YearCourse,
    YearTier,
)
from plugin_service.services.harvest.context import load_context
from plugin_service.services.harvest.records import compute_records
from rules.plan import Plan, load_plan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SURNAMES = ["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "欧阳", "司马", "诸葛", "龚", "屈"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
         "超", "秀英", "华", "慧", "䶮", "堃", "昇", "赟", "燊", "珺", "婳", "嘉怡", "子轩", "浩然"]
DEPARTMENTS = {"党政部门": ["党委办公室", "组织部", "宣传部", "纪委办公室", "人事处", "财务处"],
               "教学部门": ["机电工程学院", "信息工程学院", "经济管理学院", "艺术设计学院"],
               "教辅部门": ["图书馆", "现代教育技术中心", "后勤服务中心"]}
RANKS = {"leaders": "校级", "party-admin": "正处级", "teaching": "副处级", "support": "正处级",
         "section": "正科级"}
TYPES = {"party-admin": "党政部门", "teaching": "教学部门", "support": "教辅部门"}
PROFILES = ("complete", "exact", "short", "gap")
#: Tiers whose cadres can meet the sample plan's hours without offline study, which the seed records none
#: of (the section tier's required courses and its capped electives give 46 of its 50).
ATTAINABLE = ("leaders", "party-admin", "teaching", "support")


def plan_text(year: int) -> str:
    """The 2026 sample plan moved to ``year``: its dates and names too."""
    return (EXAMPLES / "plan-2026.yaml").read_text("utf-8").replace("2026", str(year))


def name_of(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


@dataclass
class SeededYear:
    database_url: str
    year: int
    plan: Plan
    today: dt.date
    profiles: dict[str, str] = field(default_factory=dict)  # employee number -> profile
    tiers: dict[str, str] = field(default_factory=dict)  # employee number -> tier key

    def eligible(self) -> list[str]:
        """The cadres the sample plan's certificate requirements (hours and required courses) admit."""
        return sorted(no for no, profile in self.profiles.items()
                      if profile in ("complete", "exact") and self.tiers[no] in ATTAINABLE)


def _utc(day: dt.date, hour: int = 4) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))  # noon in Shanghai, as the naive UTC time stored


def store_plan(database_url: str, year: int) -> Plan:
    """The year's plan stored as applied, with its tiers, classes and courses."""
    text = plan_text(year)
    plan = load_plan(text, f"plan-{year}.yaml")
    with session_scope(database_url) as session:
        session.add(StoredPlan(year=year, title=plan.title, filename=f"plan-{year}.yaml",
                               sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
                               applied_at=dt.datetime(year, 3, 1)))
        session.add_all(YearTier(year=year, key=t.key, name=t.name, target_hours=t.hours.target,
                                 required_min=t.hours.required_min) for t in plan.tiers)
        session.add_all(YearClass(year=year, key=k.key, name=k.name, tier_key=k.tier,
                                  idnumber=f"cadre:{year}:class:{k.key}") for k in plan.classes)
        session.add_all(YearCourse(year=year, key=c.key, name=c.name, hours=c.hours, template=c.template,
                                   idnumber=f"cadre:{year}:course:{c.key}") for c in plan.courses)
    return plan


def ensure_cadres(database_url: str, numbers: Sequence[str], tiers: dict[str, str], seed: int) -> None:
    """Cadres of the roster (made once: a later year finds them)."""
    rng = random.Random(seed)
    with session_scope(database_url) as session:
        known = set(session.scalars(select(Cadre.employee_no)))
        rows = []
        for no in numbers:
            tier = tiers[no]
            kind = TYPES.get(tier) or rng.choice(list(DEPARTMENTS))
            name = name_of(rng)
            if no in known:
                continue
            rows.append({"employee_no": no, "name": name, "gender": rng.choice(["男", "女"]),
                         "department": rng.choice(DEPARTMENTS[kind]) if tier != "leaders" else "校领导",
                         "department_type": kind, "position": "处长" if tier != "section" else "科长",
                         "rank": RANKS[tier], "email": f"{no.lower()}@college.example", "mobile": "",
                         "status": "在职", "supervising_leader": "", "updated_at": dt.datetime(2026, 1, 1)})
        if rows:
            session.execute(insert(Cadre), rows)


def seed_year(database_url: str, *, year: int = 2026, cadres: int = 40, seed: int = 2026,
              tiers: Sequence[str] | None = None, profiles: Sequence[str] = PROFILES,
              weights: Sequence[float] = (4, 3, 2, 2), prefix: str = "D") -> SeededYear:
    """``cadres`` cadres (``<prefix>00001``...) learning through ``year``; their records computed as on
    the plan's last day. The same arguments give the same year."""
    upgrade(database_url)
    plan = store_plan(database_url, year)
    rng = random.Random(seed * 7919 + year)
    chosen = list(tiers or [t.key for t in plan.tiers])
    numbers = [f"{prefix}{i:05d}" for i in range(1, cadres + 1)]
    tier_of = {no: chosen[i % len(chosen)] for i, no in enumerate(numbers)}
    ensure_cadres(database_url, numbers, tier_of, seed)
    seeded = SeededYear(database_url, year, plan, plan.period.end, tiers=tier_of)
    members, progress, reflections, discussions = [], [], [], []
    start = plan.period.start
    for no in numbers:
        tier = tier_of[no]
        klass = plan.classes_of(tier)[0]
        members.append({"year": year, "employee_no": no, "tier_key": tier, "class_key": klass.key})
        profile = seeded.profiles[no] = rng.choices(list(profiles), weights=list(weights))[0]
        required = [c for c in plan.courses if tier in c.required]
        others = [c for c in plan.courses if tier not in c.required]
        if profile == "complete":
            done = required + others
        elif profile == "exact":
            done = list(required)
            target = plan.tier(tier).hours.target  # type: ignore[union-attr]
            for course in others:
                if sum(c.hours for c in done) >= target:
                    break
                done.append(course)
        elif profile == "short":
            done = required + others[:1]
        else:
            done = required[1:] + others
        for course in plan.courses:
            finished = course in done
            day = start + dt.timedelta(days=rng.randint(10, 200))
            progress.append({"year": year, "employee_no": no, "course_key": course.key,
                             "started_at": _utc(day - dt.timedelta(days=3)) if finished or rng.random() < 0.3
                             else None,
                             "last_access_at": _utc(day),
                             "first_completed_at": _utc(day) if finished else None,
                             "completed_at": _utc(day) if finished else None, "activities_stale": False,
                             "grade": float(rng.randint(70, 99)) if finished else None,
                             "grade_max": 100.0, "fingerprint": "", "updated_at": _utc(day)})
            if course.reflection is not None and finished and tier in course.required:
                chars = course.reflection.min_chars + rng.randint(0, 600)
                reflections.append({"year": year, "employee_no": no, "course_key": course.key,
                                    "assignment_id": 1000 + plan.courses.index(course), "status": "submitted",
                                    "attempt": 0, "submitted_at": _utc(day, 6), "chars": chars,
                                    "grade": float(rng.randint(75, 95)), "grader": "余娟文",
                                    "grader_userid": None,
                                    "graded_at": _utc(day + dt.timedelta(days=5)), "grade_changes": 0,
                                    "updated_at": _utc(day, 6)})
        for discussion in plan.discussions:
            if tier in discussion.tiers:
                posts = rng.randint(0, 7)
                discussions.append({"year": year, "employee_no": no, "discussion_key": discussion.key,
                                    "posts_in_window": posts, "posts_total": posts + rng.randint(0, 2),
                                    "updated_at": _utc(discussion.opens)})
    with session_scope(database_url) as session:
        for model, rows in ((Membership, members), (CourseProgress, progress),
                            (ReflectionRecord, reflections), (DiscussionRecord, discussions)):
            if rows:
                session.execute(insert(model), rows)
    recompute(seeded)
    return seeded


def recompute(seeded: SeededYear, today: dt.date | None = None) -> None:
    """The records computed again from what is stored, as the end of a harvest does."""
    with session_scope(seeded.database_url) as session:
        context = load_context(session, seeded.year, "")
        compute_records(session, context, today or seeded.today, run_id=0)


def complete_late(seeded: SeededYear, employee_no: str, course_key: str, day: dt.date) -> None:
    """A completion a later harvest finds (the course done late, or an admin's correction in Moodle),
    and the records computed again."""
    with session_scope(seeded.database_url) as session:
        row = session.scalar(select(CourseProgress).where(CourseProgress.year == seeded.year,
                                                          CourseProgress.employee_no == employee_no,
                                                          CourseProgress.course_key == course_key))
        assert row is not None
        row.first_completed_at = row.completed_at = _utc(day)
    recompute(seeded)


def add_course(seeded: SeededYear, employee_no: str) -> str:
    """Completes, late, the first course of the plan the cadre has not completed; returns its key."""
    with session_scope(seeded.database_url) as session:
        open_courses = set(session.scalars(select(CourseProgress.course_key).where(
            CourseProgress.year == seeded.year, CourseProgress.employee_no == employee_no,
            CourseProgress.first_completed_at.is_(None))))
    key = next(c.key for c in seeded.plan.courses if c.key in open_courses)
    complete_late(seeded, employee_no, key, seeded.today)
    return key


def records_of(database_url: str, year: int) -> dict[str, Any]:
    from plugin_service.models import LearningRecordRow

    with session_scope(database_url) as session:
        return {r.employee_no: (r.status, r.total_hours)
                for r in session.scalars(select(LearningRecordRow).where(LearningRecordRow.year == year))}
