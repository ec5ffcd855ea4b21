"""What the companion keeps: cadres, stored plans and rosters, the year's structure, the provisioning
journal and the audit log, and what harvests read from Moodle (progress, reflections, discussions) with
the learning records computed from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
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
    """An atomic lock between processes: the primary key makes a second holder's insert fail.
    ``version`` is the code that holds it (package and schema revision): a schema upgrade waits for
    the jobs of another version to end."""

    __tablename__ = "job_lock"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    version: Mapped[str] = mapped_column(String(64), default="")


class MoodleCallStat(Base):
    """Moodle web-service calls and failed calls per function, summed over every process since the
    database was made: what ``/metrics`` reports, whichever process made the calls."""

    __tablename__ = "moodle_call_stat"

    function: Mapped[str] = mapped_column(String(128), primary_key=True)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    offline_hours: Mapped[float] = mapped_column(default=0.0)  # counted (in total_hours), up to the cap
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


class EngagementRun(Base):
    """One run of an engagement job (reminders, announcements, discussions, survey, commendation): what it
    did, the Moodle calls it made and how it ended; the console's job list shows them."""

    __tablename__ = "engagement_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    job: Mapped[str] = mapped_column(String(32))  # daily remind announce discussions survey commend
    today: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default="running")  # running done failed interrupted
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    moodle_calls: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class OutboxMessage(Base):
    """A message to a cadre or leader through Moodle, kept for ever: its unique ``key`` (rule, period,
    person) is what makes every reminder and announcement go out at most once.

    ``status``: pending (to send), sending (claimed by a run; if that run died, it may or may not have
    gone: checked in Moodle before anything is sent again), sent, refused (Moodle or the client would
    not deliver it: ``error`` says why), skipped (never sendable, e.g. no Moodle account)."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    year: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))  # reminder digest announcement
    source: Mapped[str] = mapped_column(String(64))  # the reminder's or announcement's key
    recipient: Mapped[str] = mapped_column(String(32), index=True)  # employee number
    moodle_userid: Mapped[int | None] = mapped_column(default=None)
    text: Mapped[str] = mapped_column(Text)
    about: Mapped[list[str]] = mapped_column(JSON, default=list)  # the cadres a digest lists
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    msgid: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    run_id: Mapped[int | None] = mapped_column(default=None)


class DiscussionTopic(Base):
    """A plan discussion topic as posted in Moodle: when it was opened and locked, and whether late."""

    __tablename__ = "discussion_topic"
    __table_args__ = (UniqueConstraint("year", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    key: Mapped[str] = mapped_column(String(64))
    course_key: Mapped[str] = mapped_column(String(64))
    forumid: Mapped[int]
    discussionid: Mapped[int]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_on: Mapped[str] = mapped_column(String(10))  # the day (plan timezone) it was posted
    adopted: Mapped[bool] = mapped_column(default=False)  # found already posted in Moodle
    locked_at: Mapped[datetime | None] = mapped_column(default=None)
    locked_on: Mapped[str | None] = mapped_column(String(10), default=None)


class CommendationEntry(Base):
    """The commendation list (表彰名单) of a year as last computed, with the numbers behind each name."""

    __tablename__ = "commendation"
    __table_args__ = (UniqueConstraint("year", "employee_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    tier_key: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int]
    tied: Mapped[bool] = mapped_column(default=False)
    employee_no: Mapped[str] = mapped_column(String(32))
    total_hours: Mapped[float]
    required_hours: Mapped[float]
    elective_hours: Mapped[float]
    discussion_points: Mapped[float]
    reflection_grade: Mapped[float | None] = mapped_column(default=None)
    completed_on: Mapped[str | None] = mapped_column(String(10), default=None)
    computed_for: Mapped[str] = mapped_column(String(10))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyResponse(Base):
    """One submitted training-needs survey as Moodle holds it (answers by question id)."""

    __tablename__ = "survey_response"
    __table_args__ = (UniqueConstraint("year", "feedbackid", "attemptid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    feedbackid: Mapped[int]
    attemptid: Mapped[int]
    userid: Mapped[int | None] = mapped_column(default=None)  # None: anonymous
    employee_no: Mapped[str | None] = mapped_column(String(32), default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # question id -> [values]
    harvested_at: Mapped[datetime] = mapped_column(default=utcnow)


class DocumentBatch(Base):
    """One batch of documents for a year (certificates, or archives with registration forms): how far it
    got and where its ZIP is. A batch that was killed or failed is continued by the next one with the
    same parameters: what it already stored and wrote is kept, nothing is made twice."""

    __tablename__ = "document_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # certificates archives
    year: Mapped[int] = mapped_column(index=True)
    tier_key: Mapped[str | None] = mapped_column(String(64), default=None)
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    status: Mapped[str] = mapped_column(String(16), default="running")  # running done failed
    attempts: Mapped[int] = mapped_column(default=1)
    actor: Mapped[str] = mapped_column(String(128), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    zip_path: Mapped[str] = mapped_column(String(500), default="")  # relative to documents_dir
    seconds: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Certificate(Base):
    """A certificate of study hours (学时证明书) as issued: ``data`` holds exactly the values it printed.

    A serial is never reused: a superseded or revoked certificate stays, and verifying its serial says
    so. Versions count per cadre, year and language; ``data_sha256`` covers the facts printed (not the
    serial, version or date), so issuing again for unchanged facts finds the same certificate.
    ``pdf_path`` is relative to the ``documents_dir`` setting."""

    __tablename__ = "certificate"
    __table_args__ = (UniqueConstraint("year", "employee_no", "lang", "version"),
                      Index("ix_certificate_year_cadre", "year", "employee_no"))

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    year: Mapped[int]
    employee_no: Mapped[str] = mapped_column(String(32))
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="valid", index=True)  # valid superseded revoked
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    data_sha256: Mapped[str] = mapped_column(String(64))
    pdf_path: Mapped[str] = mapped_column(String(500), default="")
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # None: not written yet
    pdf_size: Mapped[int | None] = mapped_column(default=None)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(128), default="")
    override_reason: Mapped[str | None] = mapped_column(Text, default=None)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("document_batch.id"), default=None)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), default=None)
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(128), default=None)
    revoked_reason: Mapped[str | None] = mapped_column(Text, default=None)


class EngagementFiring(Base):
    """That a dated reminder or announcement of the plan was acted on (or expired unsent), and when:
    each fires once, on the first run on or after its date with fresh records."""

    __tablename__ = "engagement_firing"
    __table_args__ = (UniqueConstraint("year", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))  # reminder announcement
    key: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[str] = mapped_column(String(10))
    fired_on: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16))  # fired expired
    messages: Mapped[int] = mapped_column(default=0)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(default=None)


class ConsoleUser(Base):
    """Someone who signs in to the console. ``role``: admin (everything), officer (the records and
    reports of ``departments``), reviewer (the cadres the plan has ``employee_no`` review).
    ``session_version`` is part of every session: a new password or disabling signs out all of them."""

    __tablename__ = "console_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # admin officer reviewer
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    employee_no: Mapped[str | None] = mapped_column(String(32), default=None)
    disabled: Mapped[bool] = mapped_column(default=False)
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class SiteSetting(Base):
    """A setting changed in the console, overriding the environment; a secret (the Moodle token) is
    stored encrypted with a key derived from the secret key and never shown back."""

    __tablename__ = "site_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    secret: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(128), default="")


class JobRequest(Base):
    """A job started from the console: the Celery task it queued, with what it was asked and, once
    seen finished, its answer; ``retry_of`` links a retry to the job it repeats."""

    __tablename__ = "job_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # apply harvest engage certificates archives
    task_id: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int | None] = mapped_column(default=None)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued running done failed
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    retry_of: Mapped[int | None] = mapped_column(ForeignKey("job_request.id"), default=None)


class ConsoleUpload(Base):
    """A plan and roster uploaded in the console and found valid: what its diff and apply work from.
    Only an apply stores them as the year's plan (``plan_id``): uploading alone changes nothing.

    The diff is a job (``diff_job_id``: the one last queued from the upload's page, whose retries are
    followed too) that keeps its result here: the exact counts, the first changes as lines, or what went
    wrong. Texts a person reads (warnings, changes, the error) are stored as ``rules.wording.dump`` writes
    them, to be shown in the reader's language."""

    __tablename__ = "console_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    plan_filename: Mapped[str] = mapped_column(String(255))
    plan_text: Mapped[str] = mapped_column(Text)
    roster_filename: Mapped[str] = mapped_column(String(255))
    roster_content: Mapped[bytes] = mapped_column(LargeBinary)
    cadres: Mapped[int] = mapped_column(default=0)
    # {file, line, where, message, severity} each (a plain string in uploads older than that)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    uploaded_by: Mapped[str] = mapped_column(String(128))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    diff_counts: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)
    diffed_at: Mapped[datetime | None] = mapped_column(default=None)
    diff_lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)  # {sign, kind, text}
    diff_error: Mapped[str | dict[str, Any] | None] = mapped_column(JSON, default=None)
    diff_job_id: Mapped[int | None] = mapped_column(ForeignKey("job_request.id"), default=None)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"), default=None)
    roster_id: Mapped[int | None] = mapped_column(ForeignKey("roster.id"), default=None)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job_request.id"), default=None)


class ApiToken(Base):
    """A token another system (HR, OA) uses on the JSON API. Only its SHA-256 is kept: the token is
    shown once, when it is made. ``departments`` limits what it reads (None: every department);
    ``can_write`` lets it upload rosters."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the token's first characters, to recognise it
    can_write: Mapped[bool] = mapped_column(default=False)
    departments: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


# --- study time (SCORM) ---


class StudyCourseware(Base):
    """Whether a course of a year has courseware that tracks study time (SCORM packages), as the last
    harvest found it: a course without any reads "not tracked", never zero hours of study."""

    __tablename__ = "study_courseware"
    __table_args__ = (UniqueConstraint("year", "course_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    course_key: Mapped[str] = mapped_column(String(64))
    tracked: Mapped[bool] = mapped_column(default=False)
    packages: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{id, name, version, scoes: [ids]}]
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(default=None)


class StudyTime(Base):
    """A cadre's study time in one course of a year, summed from the SCORM tracks of every attempt
    (``rules.study_time``); ``kept`` holds what each SCO of each attempt counted, so a later reset in
    Moodle loses nothing already counted."""

    __tablename__ = "study_time"
    __table_args__ = (UniqueConstraint("year", "employee_no", "course_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    employee_no: Mapped[str] = mapped_column(String(32), index=True)
    course_key: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[float] = mapped_column(default=0.0)
    attempts: Mapped[int] = mapped_column(default=0)
    last_tracked_at: Mapped[datetime | None] = mapped_column(default=None)
    kept: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    problems: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(default=None)


# --- offline hours ---


class OfflineTraining(Base):
    """An offline training (线下培训: a party-school course, a lecture, a collective study session) that an
    officer recorded, by form or from a sheet; each attendee earns its hours in its plan ``year``. One
    training per name and day in a year: a sheet imported again finds it."""

    __tablename__ = "offline_training"
    __table_args__ = (UniqueConstraint("year", "name", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(255))
    held_on: Mapped[str] = mapped_column(String(10))  # the day (ISO)
    hours: Mapped[float]
    organiser: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OfflineAttendance(Base):
    """A cadre recorded at an offline training: by an officer, or by the approval of their claim
    (``claim_id``) that they attended it though they were not recorded."""

    __tablename__ = "offline_attendance"
    __table_args__ = (UniqueConstraint("training_id", "employee_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    training_id: Mapped[int] = mapped_column(ForeignKey("offline_training.id"), index=True)
    employee_no: Mapped[str] = mapped_column(String(32), index=True)
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("offline_claim.id"), default=None)


class OfflineClaim(Base):
    """A cadre's claim of offline study hours (学时申报): a recorded training they attended but were not
    recorded at (``training_id``), or one held elsewhere, with its evidence file (kept under the
    ``offline_evidence_dir`` setting, ``evidence_path`` relative to it). ``state``: submitted, approved
    or rejected, once, by an officer of the cadre's department or their reviewer (``decided_by``)."""

    __tablename__ = "offline_claim"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    employee_no: Mapped[str] = mapped_column(String(32), index=True)
    training_id: Mapped[int | None] = mapped_column(ForeignKey("offline_training.id"), default=None)
    title: Mapped[str] = mapped_column(String(255))
    held_on: Mapped[str] = mapped_column(String(10))  # the day (ISO)
    hours: Mapped[float]
    description: Mapped[str] = mapped_column(Text, default="")
    evidence_path: Mapped[str] = mapped_column(String(500))
    evidence_name: Mapped[str] = mapped_column(String(255))  # the file's name as uploaded
    evidence_type: Mapped[str] = mapped_column(String(32))  # the media type its content was found to be
    evidence_size: Mapped[int]
    evidence_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    submitted_by: Mapped[str] = mapped_column(String(128))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(128), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)


# --- bulletins ---


class Bulletin(Base):
    """A progress bulletin (通报) as issued: its date, the records it was computed from, its audiences and
    how many people each reached, and its files (PDF, XLSX; paths relative to ``documents_dir``). Its
    ranked figures are ``BulletinLine`` rows; its messages are the outbox's of kind ``bulletin`` whose
    source is its key. ``previous_id`` is the bulletin its changes are measured against. ``notes`` are
    what the organisation department should know, each a mapping: ``{"headless": [departments]}`` names
    the departments no head in post was found for."""

    __tablename__ = "bulletin"
    __table_args__ = (UniqueConstraint("year", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    due_on: Mapped[str] = mapped_column(String(10))
    issued_on: Mapped[str] = mapped_column(String(10))  # the day (plan timezone) the run issued it
    records_for: Mapped[str] = mapped_column(String(10))  # the day its learning records were computed for
    audiences: Mapped[list[str]] = mapped_column(JSON, default=list)
    readers: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # audience -> people it reached
    messages: Mapped[int] = mapped_column(default=0)  # outbox messages queued
    notes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("bulletin.id"), default=None)
    pdf_path: Mapped[str] = mapped_column(String(500), default="")
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # None: not written yet
    xlsx_path: Mapped[str] = mapped_column(String(500), default="")
    xlsx_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128), default="")
    run_id: Mapped[int | None] = mapped_column(default=None)


class BulletinLine(Base):
    """One line of a bulletin's tables: a department or tier with its figures, rank (shared by equals:
    ``tied``) and change since the previous bulletin (``is_new`` when it had none for this group), or the
    school's total (``grouping`` total, not ranked)."""

    __tablename__ = "bulletin_line"
    __table_args__ = (UniqueConstraint("bulletin_id", "grouping", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletin.id"), index=True)
    grouping: Mapped[str] = mapped_column(String(16))  # department tier total
    key: Mapped[str] = mapped_column(String(128))  # the department's name, the tier's key, "" for the total
    name: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(default=0)  # its place in the ranked table
    cadres: Mapped[int] = mapped_column(default=0)
    complete: Mapped[int] = mapped_column(default=0)
    behind: Mapped[int] = mapped_column(default=0)
    hours: Mapped[float] = mapped_column(default=0.0)  # the group's hours added up
    rate: Mapped[float] = mapped_column(default=0.0)  # percent, one decimal, as printed
    mean_hours: Mapped[float] = mapped_column(default=0.0)  # two decimals, as printed
    rank: Mapped[int | None] = mapped_column(default=None)
    tied: Mapped[bool] = mapped_column(default=False)
    is_new: Mapped[bool] = mapped_column(default=True)
    previous_rank: Mapped[int | None] = mapped_column(default=None)
    previous_rate: Mapped[float | None] = mapped_column(default=None)
    previous_mean_hours: Mapped[float | None] = mapped_column(default=None)



# --- LTI tool ---


class LtiPlatform(Base):
    """An LTI platform the tool trusts (Moodle as registered, or entered by an admin): where its users
    sign in, where the tool asks for service tokens, and its keys as last fetched from ``keyset_url``."""

    __tablename__ = "lti_platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255), index=True)
    client_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    auth_login_url: Mapped[str] = mapped_column(String(1000))
    auth_token_url: Mapped[str] = mapped_column(String(1000))
    keyset_url: Mapped[str] = mapped_column(String(1000))
    keyset: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    keyset_fetched_at: Mapped[datetime | None] = mapped_column(default=None)
    registered_by: Mapped[str] = mapped_column(String(128), default="")  # dynamic-registration or the admin
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    deployments: Mapped[list[LtiDeployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="LtiDeployment.id")


class LtiDeployment(Base):
    """A deployment of the tool on a platform (Moodle: one per tool type); launches name theirs."""

    __tablename__ = "lti_deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id", ondelete="CASCADE"), index=True)
    deployment_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    platform: Mapped[LtiPlatform] = relationship(back_populates="deployments")


class LtiToolKey(Base):
    """One of the tool's RSA keys. ``active`` signs; ``previous`` is still published until
    ``retire_after`` so tokens signed before a rotation stay verifiable; ``retired`` is published no
    more and its private key is erased. The private key is stored encrypted with the secret key."""

    __tablename__ = "lti_tool_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # active previous retired
    private_key: Mapped[str] = mapped_column(Text, default="")
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    retire_after: Mapped[datetime | None] = mapped_column(default=None)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class LtiLoginState(Base):
    """An OIDC login the tool started: the launch that answers it must bring back its state and nonce.
    Kept on the server (no cookie survives Moodle's iframe), by hash; used once."""

    __tablename__ = "lti_login_state"

    state_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce_sha256: Mapped[str] = mapped_column(String(64))
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class LtiLineItem(Base):
    """A gradebook column of a platform that a launch offered (AGS ``lineitem``): where each cadre's
    year hours are posted, for the course (``context_id``) and resource link it belongs to."""

    __tablename__ = "lti_line_item"
    __table_args__ = (UniqueConstraint("platform_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id", ondelete="CASCADE"), index=True)
    deployment_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str] = mapped_column(String(255), default="")
    context_title: Mapped[str] = mapped_column(String(255), default="")
    resource_link_id: Mapped[str] = mapped_column(String(255), default="")
    url: Mapped[str] = mapped_column(String(1000))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_launch_at: Mapped[datetime] = mapped_column(default=utcnow)


class LtiScore(Base):
    """A cadre on a line item: what was last posted there (``None``: nothing yet) and how it went, so a
    sync sends only scores that changed. ``status``: pending, sent, refused (the platform said no to
    this score: sent again only when it changes), failed (not delivered: tried again)."""

    __tablename__ = "lti_score"
    __table_args__ = (UniqueConstraint("line_item_id", "employee_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("lti_line_item.id", ondelete="CASCADE"), index=True)
    employee_no: Mapped[str] = mapped_column(String(32))
    moodle_userid: Mapped[int]
    launched: Mapped[bool] = mapped_column(default=False)  # opened the tool from this link
    score_given: Mapped[float | None] = mapped_column(default=None)
    score_maximum: Mapped[float | None] = mapped_column(default=None)
    activity_progress: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)



# --- incremental harvest ---


class HarvestReportRead(Base):
    """How one harvest run read the completion report: whole, or only the rows whose completion, start
    or course access Moodle dated from ``since`` on (report filters set for the service user), and up to
    when: ``moodle_started_at`` is Moodle's clock as the run began reading, where the next run's changed
    rows start (less the safety margin). A run continued after a failure keeps its first start, since the
    courses it stored then were read then. What it learned of the report's filters is kept for the next
    runs and for ``cadre doctor``: those it read by, those not applied, those it added, and whether the
    service user may add them; ``values_left`` while the service user's filter values it set may not be
    cleared yet (the next whole read clears them first)."""

    __tablename__ = "harvest_report_read"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("harvest_run.id", ondelete="CASCADE"), unique=True)
    year: Mapped[int] = mapped_column(index=True)
    report_id: Mapped[int]
    whole: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str] = mapped_column(String(64), default="")  # why whole, or "changed"
    since: Mapped[datetime | None] = mapped_column(default=None)  # Moodle's time the changed rows start
    moodle_started_at: Mapped[datetime]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)  # ours, the same moment
    filters: Mapped[list[str]] = mapped_column(JSON, default=list)  # applied: the rows were read by them
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)  # filters the report did not apply
    added: Mapped[list[str]] = mapped_column(JSON, default=list)  # filters this run added to the report
    editable: Mapped[bool | None] = mapped_column(default=None)  # may the service user add filters
    values_left: Mapped[bool] = mapped_column(default=False)  # its filter values may still be set
    rows_read: Mapped[int] = mapped_column(default=0)
    moodle_calls: Mapped[int] = mapped_column(default=0)
