"""The values documents print, built from what harvests stored: plain values only (text, numbers,
dates, lists and dicts of them), the shape the document templates expect.

A certificate's values are split in two: its *facts* (who, which year, how many hours, issued by whom)
decide whether issuing again gives the same certificate; the serial, version, issue date and the
verification URL are what a particular issue adds. Archives and registration forms read one cadre's
year through ``learning_records.cadre_record``, as ``cadre record`` does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.hours import STATUS_NAMES
from rules.plan import Plan, load_plan
from rules.study_time import describe_zh

from ...models import Cadre, Certificate, LearningRecordRow, Membership, YearClass, YearTier
from ..harvest.learning_records import CadreRecord, cadre_record
from ..provisioning.stored import applied_plan
from .serials import display

#: What a certificate prints that decides whether it is the same certificate (R's ``certificate`` keys
#: less those of ``ISSUE_KEYS``).
FACT_KEYS = ("title", "issuer", "organisation", "name", "employee_no", "department", "position", "year",
             "total_hours", "required_hours", "elective_hours", "target_hours", "tier_name")
#: Facts a certificate states only where the cadre has some: a certificate issued before offline hours
#: counted keeps its digest, so issuing again for unchanged facts still finds it.
OPTIONAL_FACT_KEYS = ("offline_hours",)
#: What one issue of a certificate adds to its facts.
ISSUE_KEYS = ("issued_on", "serial", "version", "verify_url")
DATE_KEYS = ("issued_on",)
DEFAULT_TITLE = "干部在线学习学时证明书"
REGISTRATION_TITLE = "在线学习情况登记表"
KIND_NAMES = {"required": "必修", "elective": "选修", "other": "其他"}
OFFLINE_SOURCE_NAMES = {"training": "培训记录", "claim": "个人申报"}
CERTIFICATE_STATUS_NAMES = {"valid": "有效", "superseded": "已由新版本取代", "revoked": "已撤销"}


class DocumentError(Exception):
    """A document cannot be made from what is stored; the message says what is missing."""


def hours(value: float | None) -> float:
    """Hours as stored for printing: two decimals at most (sums of fractions are not exact)."""
    return round(float(value or 0.0), 2)


@lru_cache(maxsize=32)
def _loaded(text: str, filename: str) -> Plan:
    return load_plan(text, filename)


def plan_of(session: Session, year: int) -> Plan | None:
    """The plan applied for ``year``, loaded once per process for the same text."""
    stored = applied_plan(session, year)
    return _loaded(stored.text, stored.filename) if stored is not None else None


def local_today(plan: Plan) -> dt.date:
    """Today in the plan's timezone: the day a document is dated."""
    return dt.datetime.now(ZoneInfo(plan.moodle.timezone)).date()


# --- certificates -------------------------------------------------------------------------------

def certificate_facts(plan: Plan, cadre: Cadre, row: LearningRecordRow, tier_name: str) -> dict[str, Any]:
    """What a cadre's certificate of ``plan.year`` states, from their stored record (the English variant
    prints its own heading, with the plan's title under it)."""
    spec = plan.certificate
    return {
        "title": spec.title if spec and spec.title else DEFAULT_TITLE,
        "issuer": spec.issuer if spec and spec.issuer else plan.organisation,
        "organisation": plan.organisation,
        "name": cadre.name,
        "employee_no": cadre.employee_no,
        "department": cadre.department,
        "position": cadre.position or "",
        "year": plan.year,
        "total_hours": hours(row.total_hours),
        "required_hours": hours(row.required_hours),
        "elective_hours": hours(row.elective_hours),
        "target_hours": hours(row.target_hours),
        "tier_name": tier_name,
        "online_hours": hours(row.total_hours - row.offline_hours),
        "offline_hours": hours(row.offline_hours),
    }


def facts_sha256(facts: dict[str, Any]) -> str:
    """A digest of the facts alone: the same facts give the same digest in any process."""
    stated = {key: facts[key] for key in FACT_KEYS}
    stated.update({key: facts[key] for key in OPTIONAL_FACT_KEYS if facts.get(key)})
    text = json.dumps(stated, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def certificate_data(facts: dict[str, Any], *, serial: str, version: int, issued_on: dt.date,
                     verify_url: str) -> dict[str, Any]:
    """The stored form of what a certificate prints (dates as ISO text: it is kept as JSON)."""
    return {**{key: facts[key] for key in FACT_KEYS}, "online_hours": facts["online_hours"],
            "offline_hours": facts["offline_hours"], "issued_on": issued_on.isoformat(), "serial": serial,
            "version": version, "verify_url": verify_url}


def render_values(data: dict[str, Any]) -> dict[str, Any]:
    """Stored certificate data as the renderer takes it: the same values, dates as dates."""
    values = dict(data)
    values.setdefault("offline_hours", 0.0)  # stored before offline hours counted: all of it online
    values.setdefault("online_hours", hours(float(values.get("total_hours") or 0.0)
                                            - float(values["offline_hours"])))
    for key in DATE_KEYS:
        values[key] = dt.date.fromisoformat(values[key])
    return values


# --- archives and registration forms ------------------------------------------------------------

def cadre_values(cadre: Cadre) -> dict[str, Any]:
    return {"name": cadre.name, "employee_no": cadre.employee_no, "gender": cadre.gender,
            "department": cadre.department, "department_type": cadre.department_type,
            "position": cadre.position, "rank": cadre.rank}


def _day(record: CadreRecord, moment: dt.datetime | None) -> dt.date | None:
    local = record.local(moment)
    return local.date() if local is not None else None


def _names(session: Session, year: int, employee_no: str, tier_key: str | None) -> tuple[str, str]:
    """(tier name, class name) of a cadre's year; "" where they had none."""
    tier = session.scalar(select(YearTier.name).where(YearTier.year == year, YearTier.key == tier_key)) \
        if tier_key else None
    class_key = session.scalar(select(Membership.class_key).where(Membership.year == year,
                                                                   Membership.employee_no == employee_no))
    klass = session.scalar(select(YearClass.name).where(YearClass.year == year, YearClass.key == class_key)) \
        if class_key else None
    return tier or "", klass or ""


def _courses(plan: Plan, record: CadreRecord, tier: str | None) -> list[dict[str, Any]]:
    """The tier's required courses (done or not) and every other course the cadre started or
    completed, in plan order, with the hours each earned."""
    credits = {c["course"]: c for c in record.detail.get("credits", [])}
    progress = {line.key: line for line in record.courses}
    study = {line.course: line.seconds for line in record.study}
    out = []
    for course in plan.courses:
        required = tier is not None and tier in course.required
        line = progress.get(course.key)
        credit = credits.get(course.key)
        if not (required or credit or (line is not None and (line.started_at or line.first_completed_at))):
            continue
        if credit is not None:
            kind = credit["kind"]
        else:
            kind = "required" if required else ("elective" if tier is not None and tier in course.elective
                                                else "other")
        completed = (dt.date.fromisoformat(credit["completed_on"]) if credit is not None
                     else _day(record, line.first_completed_at) if line is not None else None)
        out.append({"name": course.name, "kind_name": KIND_NAMES.get(kind, kind),
                    "hours": hours(course.hours),
                    "credited_hours": hours(credit["hours"]) if credit is not None else 0.0,
                    "completed_on": completed, "grade": line.grade if line is not None else None,
                    "study_time": describe_zh(study.get(course.key))})
    return out


def _reflections(plan: Plan, record: CadreRecord, tier: str | None) -> list[dict[str, Any]]:
    """Every reflection written, and every one the tier owes that was not: plan order."""
    written = {line.course: line for line in record.reflections}
    out = []
    for course in plan.courses:
        if course.reflection is None:
            continue
        line = written.get(course.key)
        owed = tier is not None and tier in course.required
        if line is None and not owed:
            continue
        submitted = line is not None and line.status == "submitted"
        out.append({"course_name": course.name, "title": course.reflection.title,
                    "chars": line.chars if submitted and line is not None else 0,
                    "min_chars": course.reflection.min_chars,
                    "submitted_on": _day(record, line.submitted_at) if submitted and line is not None
                    else None,
                    "grade": line.grade if line is not None else None,
                    "reviewer": line.grader if line is not None else ""})
    return out


def _discussions(plan: Plan, record: CadreRecord, tier: str | None) -> list[dict[str, Any]]:
    posts = {key: inside for key, inside, _total in record.discussions}
    points = {key: value for key, value in record.detail.get("points", [])}
    return [{"title": d.title, "posts_in_window": posts.get(d.key, 0),
             "points": hours(points.get(d.key, 0.0))}
            for d in plan.discussions if (tier is not None and tier in d.tiers) or d.key in posts]


def _offline(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The offline study the record counts, by day, with where each came from."""
    return [{"title": item["title"], "on": dt.date.fromisoformat(item["on"]), "hours": hours(item["hours"]),
             "source_name": OFFLINE_SOURCE_NAMES.get(str(item["source"]).partition(":")[0], "")}
            for item in detail.get("offline", [])]


def certificates_of(session: Session, employee_no: str, year: int) -> list[dict[str, Any]]:
    return [{"serial": display(c.serial), "version": c.version,
             "issued_on": dt.date.fromisoformat(c.data["issued_on"]),
             "status_name": CERTIFICATE_STATUS_NAMES.get(c.status, c.status)
             + (" (English)" if c.lang == "en" else "")}
            for c in session.scalars(select(Certificate).where(Certificate.year == year,
                                                               Certificate.employee_no == employee_no)
                                     .order_by(Certificate.id))]


def year_values(session: Session, employee_no: str, year: int) -> dict[str, Any] | None:
    """One cadre's year as archives and registration forms print it; None without a record."""
    record = cadre_record(session, employee_no, year)
    plan = plan_of(session, year)
    if record is None or plan is None:
        return None
    detail = record.detail
    tier = detail.get("tier")
    tier_name, class_name = _names(session, year, employee_no, tier)
    return {"year": year, "plan_title": plan.title, "tier_name": tier_name, "class_name": class_name,
            "target_hours": hours(detail.get("target")), "required_min": hours(detail.get("required_min")),
            "required_hours": hours(detail.get("required_hours")),
            "elective_hours": hours(detail.get("elective_hours")),
            "total_hours": hours(detail.get("total_hours")),
            "online_hours": hours(float(detail.get("total_hours") or 0.0)
                                  - float(detail.get("offline_hours") or 0.0)),
            "offline_hours": hours(detail.get("offline_hours")),
            "offline_hours_earned": hours(detail.get("offline_hours_earned")),
            "offline": _offline(detail),
            "discussion_points": hours(detail.get("discussion_points")),
            "study_time": describe_zh(record.study_seconds),
            "status_name": STATUS_NAMES.get(record.status, record.status),
            "courses": _courses(plan, record, tier), "reflections": _reflections(plan, record, tier),
            "discussions": _discussions(plan, record, tier),
            "certificates": certificates_of(session, employee_no, year)}


def record_years(session: Session, employee_no: str) -> list[int]:
    return list(session.scalars(select(LearningRecordRow.year)
                                .where(LearningRecordRow.employee_no == employee_no)
                                .order_by(LearningRecordRow.year)))


def archive_values(session: Session, employee_no: str, *, today: dt.date | None = None) -> dict[str, Any]:
    """A cadre's learning archive (学习档案): every year with a record, oldest first."""
    cadre = session.get(Cadre, employee_no)
    if cadre is None:
        raise DocumentError(f"no cadre {employee_no}")
    years = [values for year in record_years(session, employee_no)
             if (values := year_values(session, employee_no, year)) is not None]
    if not years:
        raise DocumentError(f"{employee_no} has no learning record in any year: has `cadre harvest` run?")
    newest = plan_of(session, years[-1]["year"])
    assert newest is not None  # year_values found it
    return {"organisation": newest.organisation, "generated_on": today or local_today(newest),
            "cadre": cadre_values(cadre), "years": years}


def registration_values(session: Session, employee_no: str, year: int, *,
                        today: dt.date | None = None) -> dict[str, Any]:
    """A cadre's registration form (在线学习情况登记表) of one year."""
    cadre = session.get(Cadre, employee_no)
    values = year_values(session, employee_no, year) if cadre is not None else None
    plan = plan_of(session, year)
    if cadre is None or values is None or plan is None:
        raise DocumentError(f"no {year} learning record for {employee_no}: has `cadre harvest` run?")
    keys = ("tier_name", "class_name", "target_hours", "required_min", "required_hours", "elective_hours",
            "total_hours", "discussion_points", "study_time", "status_name", "courses", "reflections",
            "online_hours", "offline_hours", "offline")
    return {"title": REGISTRATION_TITLE, "organisation": plan.organisation, "year": year,
            "cadre": cadre_values(cadre), **{key: values[key] for key in keys},
            "generated_on": today or local_today(plan)}
