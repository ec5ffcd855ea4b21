"""What the companion keeps: cadres, stored plans and rosters, the year's structure, the provisioning
journal and the audit log, and what harvests read from Moodle (progress, reflections, discussions) with
the learning records computed from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Cadre(Base):
    """A cadre as the latest applied roster describes them; ``moodle_userid`` once known."""

    __tablename__ = "cadre"

    employee_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str] = mapped_column(String(8), default="")
    department: Mapped[str] = mapped_column(String(128), index=True)
    department_type: Mapped[str] = mapped_column(String(32))
    position: Mapped[str] = mapped_column(String(64), default="")
    rank: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254), default="")
    mobile: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16))
    supervising_leader: Mapped[str] = mapped_column(String(32), default="")
    moodle_userid: Mapped[int | None] = mapped_column(default=None, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StoredRoster(Base):
    __tablename__ = "roster"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    cadres: Mapped[int] = mapped_column(default=0)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredPlan(Base):
    """A plan as it was loaded: its text and hash, so the history per year shows what was applied."""

    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("year", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(default=None)


class YearTier(Base):
    __tablename__ = "tier"
    __table_args__ = (UniqueConstraint("year", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    target_hours: Mapped[float]
    required_min: Mapped[float]


class YearClass(Base):
    __tablename__ = "klass"
    __table_args__ = (UniqueConstraint("year", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    tier_key: Mapped[str] = mapped_column(String(64))
    idnumber: Mapped[str] = mapped_column(String(100))
    moodle_cohortid: Mapped[int | None] = mapped_column(default=None)


class YearCourse(Base):
    __tablename__ = "course"
    __table_args__ = (UniqueConstraint("year", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    hours: Mapped[float]
    template: Mapped[str | None] = mapped_column(String(100), default=None)
    idnumber: Mapped[str] = mapped_column(String(100))
    moodle_courseid: Mapped[int | None] = mapped_column(default=None)


class Membership(Base):
    """A cadre's place in a year: tier and class, or excluded (with the reason)."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("year", "employee_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    employee_no: Mapped[str] = mapped_column(ForeignKey("cadre.employee_no"))
    tier_key: Mapped[str | None] = mapped_column(String(64), default=None)
    class_key: Mapped[str | None] = mapped_column(String(64), default=None)
    excluded: Mapped[str | None] = mapped_column(String(255), default=None)


class ProvisionRun(Base):
    """One ``plan apply``: what it planned, how far it got, what it cost."""

    __tablename__ = "provision_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    roster_id: Mapped[int] = mapped_column(ForeignKey("roster.id"))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running done failed interrupted
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    ops_total: Mapped[int] = mapped_column(default=0)
    ops_done: Mapped[int] = mapped_column(default=0)
    moodle_calls: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    entries: Mapped[list[JournalEntry]] = relationship(back_populates="run", order_by="JournalEntry.seq")


class JournalEntry(Base):
    """One operation of a run, written before Moodle is called and marked when it answered."""

    __tablename__ = "journal"
    __table_args__ = (Index("ix_journal_run_seq", "run_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("provision_run.id"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="planned")  # planned sent done failed
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    error: Mapped[str | None] = mapped_column(Text, default=None)

    run: Mapped[ProvisionRun] = relationship(back_populates="entries")


class AuditLog(Base):
    """Every Moodle write and every admin action: who, what, on what, with which outcome."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(128), index=True)
    target: Mapped[str] = mapped_column(String(255), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok failed unknown
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("provision_run.id"), default=None, index=True)


class JobLock(Base):
    """An atomic lock between processes: the primary key makes a second holder's insert fail."""

    __tablename__ = "job_lock"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class HarvestRun(Base):
    """One harvest of a plan year: how it read Moodle, how far it got, what it read, changed and cost.

    A run that was killed or failed is continued by the next harvest of the year: its finished steps
    (``HarvestStep``) are skipped, so nothing is read twice and nothing is lost.
    """

    __tablename__ = "harvest_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    mode: Mapped[str] = mapped_column(String(16))  # full incremental
    path: Mapped[str] = mapped_column(String(16), default="")  # report per_user
    status: Mapped[str] = mapped_column(String(16), default="running")  # running done failed interrupted
    attempts: Mapped[int] = mapped_column(default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    today: Mapped[str] = mapped_column(String(10), default="")  # the day statuses were computed for
    moodle_calls: Mapped[int] = mapped_column(default=0)
    rows_read: Mapped[int] = mapped_column(default=0)
    changes: Mapped[int] = mapped_column(default=0)
    seconds: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    marks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # high-water marks for the next run
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HarvestStep(Base):
    """A finished checkpoint of a run: one step for one course (or discussion), with its cost."""

    __tablename__ = "harvest_step"
    __table_args__ = (UniqueConstraint("run_id", "step", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("harvest_run.id"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    item: Mapped[str] = mapped_column(String(64), default="")
    moodle_calls: Mapped[int] = mapped_column(default=0)
    rows_read: Mapped[int] = mapped_column(default=0)
    changes: Mapped[int] = mapped_column(default=0)
    seconds: Mapped[float] = mapped_column(default=0.0)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)


class CourseProgress(Base):
    """A cadre's progress in one course of a year, as harvested.

    ``first_completed_at`` is the first completion ever seen and is what earns the hours: a completion
    reset in Moodle or completed again later does not move it (``completed_at`` is what Moodle shows
    now, ``reset_seen_at`` when a harvest found the completion gone).
    """

    __tablename__ = "course_progress"
    __table_args__ = (UniqueConstraint("year", "employee_no", "course_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    employee_no: Mapped[str] = mapped_column(String(32), index=True)
    course_key: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    last_access_at: Mapped[datetime | None] = mapped_column(default=None)
    first_completed_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    reset_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    activities_done: Mapped[int | None] = mapped_column(default=None)
    activities_total: Mapped[int | None] = mapped_column(default=None)
    activities_stale: Mapped[bool] = mapped_column(default=False)
    grade: Mapped[float | None] = mapped_column(default=None)
    grade_max: Mapped[float | None] = mapped_column(default=None)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(default=None)


class ReflectionRecord(Base):
    """A cadre's reflection (学习心得) in one course: submission, its length, and the latest grade."""

    __tablename__ = "reflection"
    __table_args__ = (UniqueConstraint("year", "employee_no", "course_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    employee_no: Mapped[str] = mapped_column(String(32), index=True)
    course_key: Mapped[str] = mapped_column(String(64))
    assignment_id: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="new")  # Moodle's: new draft submitted reopened
    attempt: Mapped[int] = mapped_column(default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    chars: Mapped[int] = mapped_column(default=0)
    grade: Mapped[float | None] = mapped_column(default=None)
    grader_userid: Mapped[int | None] = mapped_column(default=None)
    grader: Mapped[str] = mapped_column(String(128), default="")
    graded_at: Mapped[datetime | None] = mapped_column(default=None)
    grade_changes: Mapped[int] = mapped_column(default=0)  # regrades seen after the first grade
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DiscussionRecord(Base):
    """A cadre's posts in one discussion topic: inside its open window (what earns points) and in all."""

    __tablename__ = "discussion_participation"
    __table_args__ = (UniqueConstraint("year", "employee_no", "discussion_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    employee_no: Mapped[str] = mapped_column(String(32), index=True)
    discussion_key: Mapped[str] = mapped_column(String(64))
    posts_in_window: Mapped[int] = mapped_column(default=0)
    posts_total: Mapped[int] = mapped_column(default=0)
    first_post_at: Mapped[datetime | None] = mapped_column(default=None)
    last_post_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearningRecordRow(Base):
    """A cadre's learning record of a year (hours, what is missing, status) as last computed."""

    __tablename__ = "learning_record"
    __table_args__ = (UniqueConstraint("year", "employee_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    employee_no: Mapped[str] = mapped_column(String(32), index=True)
    tier_key: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_since: Mapped[str] = mapped_column(String(10))  # the day the status was first seen
    required_hours: Mapped[float] = mapped_column(default=0.0)
    elective_hours: Mapped[float] = mapped_column(default=0.0)
    total_hours: Mapped[float] = mapped_column(default=0.0)
    target_hours: Mapped[float] = mapped_column(default=0.0)
    discussion_points: Mapped[float] = mapped_column(default=0.0)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    computed_for: Mapped[str] = mapped_column(String(10), default="")  # the day the pace was judged for
    run_id: Mapped[int | None] = mapped_column(default=None)


class StatusChange(Base):
    """When a cadre's status (or tier) changed: the history shows when they reached the target."""

    __tablename__ = "status_change"
    __table_args__ = (Index("ix_status_change_year_cadre", "year", "employee_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    employee_no: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    previous: Mapped[str | None] = mapped_column(String(16), default=None)
    tier_key: Mapped[str | None] = mapped_column(String(64), default=None)
    on: Mapped[str] = mapped_column(String(10))  # the day (plan timezone) the change was seen
    total_hours: Mapped[float] = mapped_column(default=0.0)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(default=None)
