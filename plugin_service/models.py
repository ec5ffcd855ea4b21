"""What the companion keeps: cadres, stored plans and rosters, the year's structure, the provisioning
journal and the audit log."""

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
