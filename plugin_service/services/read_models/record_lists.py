"""The year's learning records as lists another system reads: filtered, scoped, paged, and one cadre's
record in full. Plain dicts of JSON-ready values (the JSON API returns them as they are)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rules.hours import STATUSES
from rules.plan_model import Plan

from ...models import Cadre, CourseProgress, HarvestRun, LearningRecordRow, Membership, YearCourse
from ..documents.document_values import plan_of
from ..harvest.learning_records import cadre_record, reflection_count_of
from ..provisioning.stored import newest_plans
from .scope import EVERYTHING, Scope


def years(session: Session, scope: Scope = EVERYTHING) -> list[dict[str, Any]]:
    """The years applied to Moodle, newest first, with how many of the reader's cadres each has."""
    found = []
    for _stored, plan in newest_plans(session, applied=True):
        cadres = session.scalar(select(func.count()).select_from(Membership)
                                .join(Cadre, Cadre.employee_no == Membership.employee_no)
                                .where(Membership.year == plan.year, scope.condition()))
        harvested = session.scalar(select(HarvestRun.finished_at)
                                   .where(HarvestRun.year == plan.year, HarvestRun.status == "done")
                                   .order_by(HarvestRun.id.desc()).limit(1))
        found.append({"year": plan.year, "title": plan.title, "period_start": plan.period.start,
                      "period_end": plan.period.end, "cadres": int(cadres or 0), "harvested_at": harvested})
    return sorted(found, key=lambda y: -int(y["year"]))


def _line(record: LearningRecordRow, cadre: Cadre, klass: str | None, plan: Plan | None) -> dict[str, Any]:
    detail = record.detail or {}
    count = reflection_count_of(plan, detail)
    return {"employee_no": record.employee_no, "name": cadre.name, "department": cadre.department,
            "tier": record.tier_key, "klass": klass, "status": record.status,
            "status_since": dt.date.fromisoformat(record.status_since),
            "required_hours": round(record.required_hours, 2),
            "elective_hours": round(record.elective_hours, 2), "total_hours": round(record.total_hours, 2),
            "target_hours": round(record.target_hours, 2),
            "discussion_points": round(record.discussion_points, 2),
            "offline_hours": round(record.offline_hours, 2),
            "required_missing": list(detail.get("required_missing", [])),
            "reflections_missing": list(detail.get("reflections_missing", [])),
            "reflections_owed": count.owed, "reflections_submitted": count.submitted,
            "reflections_long_enough": count.long_enough,
            "computed_for": dt.date.fromisoformat(record.computed_for) if record.computed_for else None}


def _joined() -> Any:
    """Records with their cadre and class (a record outlives a membership: the class may be None)."""
    return (select(LearningRecordRow, Cadre, Membership.class_key)
            .join(Cadre, Cadre.employee_no == LearningRecordRow.employee_no)
            .outerjoin(Membership, (Membership.employee_no == LearningRecordRow.employee_no)
                       & (Membership.year == LearningRecordRow.year)))


def records(session: Session, year: int, scope: Scope = EVERYTHING, *, department: str | None = None,
            tier: str | None = None, klass: str | None = None, status: str | None = None,
            q: str | None = None, page: int = 1, per_page: int = 100) -> dict[str, Any]:
    """One page of the year's records, in employee-number order, and how many match in all."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    query = _joined().where(LearningRecordRow.year == year, scope.condition())
    if department is not None:
        query = query.where(Cadre.department == department)
    if tier is not None:
        query = query.where(LearningRecordRow.tier_key == tier)
    if klass is not None:
        query = query.where(Membership.class_key == klass)
    if status is not None:
        query = query.where(LearningRecordRow.status == status)
    if q:
        pattern = f"%{q.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Cadre.name.like(pattern), Cadre.employee_no.like(pattern)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(LearningRecordRow.employee_no)
                           .limit(per_page).offset((page - 1) * per_page))
    plan = plan_of(session, year)
    return {"items": [_line(record, cadre, klass_key, plan) for record, cadre, klass_key in rows],
            "page": page, "per_page": per_page, "total": int(total or 0)}


def record(session: Session, year: int, employee_no: str,
           scope: Scope = EVERYTHING) -> dict[str, Any] | None:
    """One cadre's record in full, or None (not a cadre of the year, or not the reader's to see)."""
    found = session.execute(_joined().where(LearningRecordRow.year == year,
                                            LearningRecordRow.employee_no == employee_no,
                                            scope.condition())).first()
    full = cadre_record(session, employee_no, year) if found is not None else None
    if found is None or full is None:
        return None
    row, cadre, klass = found
    line = _line(row, cadre, klass, plan_of(session, year))
    detail = full.detail
    credits = {c["course"]: c for c in detail.get("credits", [])}
    names = {c.key: (c.name, c.hours)
             for c in session.scalars(select(YearCourse).where(YearCourse.year == year))}
    progress = {p.course_key: p for p in session.scalars(select(CourseProgress).where(
        CourseProgress.year == year, CourseProgress.employee_no == employee_no))}
    study = {line.course: line for line in full.study}
    courses = []
    for key in dict.fromkeys([*names, *progress]):
        if key not in progress and key not in credits:
            continue
        p, credit = progress.get(key), credits.get(key)
        name, hours = names.get(key, (key, 0.0))
        courses.append({"key": key, "name": name, "hours": hours, "kind": credit["kind"] if credit else None,
                        "credited_hours": float(credit["hours"]) if credit else 0.0,
                        "first_completed_at": p.first_completed_at if p else None,
                        "started_at": p.started_at if p else None, "grade": p.grade if p else None,
                        "study_seconds": study[key].seconds if key in study else None,
                        "study_attempts": study[key].attempts if key in study else 0,
                        "study_last_tracked_at": study[key].last_tracked_at if key in study else None})
    points = dict((key, value) for key, value in detail.get("points", []))
    return {**line, "reasons": list(detail.get("reasons", [])), "courses": courses,
            "offline_hours_earned": round(float(detail.get("offline_hours_earned") or 0.0), 2),
            "offline_max": detail.get("offline_max"),
            "offline": [{"source": item["source"], "kind": str(item["source"]).partition(":")[0],
                         "title": item["title"], "on": dt.date.fromisoformat(item["on"]),
                         "hours": float(item["hours"])} for item in detail.get("offline", [])],
            "study_seconds": full.study_seconds,
            "reflections": [{"course": r.course, "status": r.status, "chars": r.chars,
                             "submitted_at": r.submitted_at, "grade": r.grade, "graded_at": r.graded_at}
                            for r in full.reflections],
            "discussions": [{"key": key, "posts_in_window": inside, "posts_total": total,
                             "points": float(points.get(key, 0.0))}
                            for key, inside, total in full.discussions],
            "history": [{"on": dt.date.fromisoformat(on), "status": status, "tier": tier,
                         "total_hours": hours} for on, status, tier, hours in full.history]}
