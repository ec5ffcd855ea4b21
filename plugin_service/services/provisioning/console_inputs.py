"""The roster and plan as uploaded in the console: checked with every problem in its place, compared
with Moodle, applied as a job; and the plan history of each year with its stored text.

An upload changes nothing: a valid pair is kept as a ``ConsoleUpload`` for its diff and apply. The diff
is a job (reading a real Moodle for 10,000 cadres takes minutes) that writes nothing to Moodle and keeps
its result with the upload. Only the apply stores them as the year's plan and roster (what the nightly
jobs then follow) and queues the provisioning task, which checks both again before it writes anything.

What a person reads here (warnings, change lines, errors) is kept as ``rules.wording`` sentences, so the
console shows it in the reader's language.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moodle_bridge import MoodleError
from rules.problems import InputError, Problem
from rules.wording import Sentence, dump, load, said

from ...config import ConfigError, Settings
from ...db import session_scope
from ...models import AuditLog, ConsoleUpload, JobRequest, ProvisionRun, StoredPlan, StoredRoster, utcnow
from ...moodle import client_from_settings
from ..platform.jobs import JobError, LiveState, live_state, queue
from .moodle_state import MoodleStateError
from .provision import Inputs, ProvisionError, check_inputs, preview

MAX_BYTES = 20 * 1024 * 1024
#: The change lines kept with an upload (its counts are exact however many changes there are).
DIFF_LINES = 2_000


class UploadError(Exception):
    """The upload cannot be used: the message says what to do. Nothing was stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message  # a Sentence: ``str(error)`` would lose its template


def decode_plan(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(filename, None, "", Sentence(
            "not UTF-8 text (byte %(byte)s): save the plan as UTF-8", byte=exc.start))]) from None


def newest_stored(session: Session) -> tuple[StoredPlan | None, StoredRoster | None]:
    plan = session.scalar(select(StoredPlan).order_by(StoredPlan.id.desc()).limit(1))
    roster = session.scalar(select(StoredRoster).order_by(StoredRoster.id.desc()).limit(1))
    return plan, roster


def upload(session: Session, *, plan: tuple[str, bytes] | None, roster: tuple[str, bytes] | None,
           actor: str) -> ConsoleUpload:
    """Checks a plan and a roster together (either may be left out: the newest stored one is used).
    Raises ``InputError`` with every problem; the attempt is audited either way."""
    stored_plan, stored_roster = newest_stored(session)
    if plan is None and stored_plan is None:
        raise UploadError(Sentence("no plan uploaded and none stored yet: choose the year's plan (YAML)"))
    if roster is None and stored_roster is None:
        raise UploadError(Sentence("no roster uploaded and none stored yet: "
                                   "choose HR's roster (CSV or XLSX)"))
    for given in (plan, roster):
        if given is not None and len(given[1]) > MAX_BYTES:
            raise UploadError(Sentence("%(file)s is larger than %(mb)s MB", file=given[0],
                                       mb=MAX_BYTES // (1024 * 1024)))
    if plan is not None:
        plan_name, plan_text = plan[0], decode_plan(plan[1], plan[0])
    else:
        assert stored_plan is not None
        plan_name, plan_text = stored_plan.filename, stored_plan.text
    if roster is not None:
        roster_name, roster_bytes = roster
    else:
        assert stored_roster is not None
        roster_name, roster_bytes = stored_roster.filename, stored_roster.content
    files = {"plan": plan_name, "roster": roster_name, "plan_uploaded": plan is not None,
             "roster_uploaded": roster is not None}
    try:
        inputs = check_inputs(plan_text, plan_name, roster_bytes, roster_name)
    except InputError as exc:
        session.add(AuditLog(actor=actor, action="console:upload", target=plan_name, outcome="failed",
                             detail={**files, "errors": len(exc.errors)}))
        session.commit()
        raise
    row = ConsoleUpload(year=inputs.plan.year, plan_filename=plan_name, plan_text=plan_text,
                        roster_filename=roster_name, roster_content=roster_bytes,
                        cadres=len(inputs.roster.cadres), warnings=[_problem(p) for p in inputs.warnings],
                        uploaded_by=actor)
    session.add(row)
    session.flush()
    session.add(AuditLog(actor=actor, action="console:upload", target=f"{inputs.plan.year}",
                         detail={**files, "upload": row.id, "cadres": row.cadres,
                                 "warnings": len(inputs.warnings)}))
    return row


def _problem(problem: Problem) -> dict[str, Any]:
    return {"file": problem.file, "line": problem.line, "where": dump(problem.where),
            "message": dump(problem.message), "severity": problem.severity}


def warnings_of(row: ConsoleUpload) -> list[Problem]:
    """The upload's warnings, with their sentences again (an older upload kept each as one line of text)."""
    return [Problem(w["file"], w["line"], load(w["where"]), load(w["message"]), w["severity"])
            if isinstance(w, dict) else Problem("", None, "", str(w), "warning")
            for w in row.warnings or []]


def inputs_of(row: ConsoleUpload) -> Inputs:
    return check_inputs(row.plan_text, row.plan_filename, row.roster_content, row.roster_filename)


# --- the diff job ------------------------------------------------------------------------------------

def queue_diff(session: Session, celery: Any, row: ConsoleUpload, *, actor: str) -> int:
    """Queues the job that reads what applying the upload would change; returns the job request's id.
    What an earlier diff kept is cleared (unless the job queue refuses the job): the apply waits for this
    one, as it applies what was seen."""
    kept = row.diff_counts, row.diffed_at, row.diff_lines, row.diff_error
    row.diff_counts = row.diffed_at = row.diff_lines = row.diff_error = None
    try:
        request = queue(session, celery, "diff", {"upload_id": row.id}, actor=actor)
    except JobError:
        row.diff_counts, row.diffed_at, row.diff_lines, row.diff_error = kept
        raise
    row.diff_job_id = request.id
    return request.id


def read_diff(settings: Settings, upload_id: int) -> dict[str, Any]:
    """The diff job: reads Moodle (writes nothing there) for what applying the upload would change, and
    keeps with the upload the counts and the first ``DIFF_LINES`` changes, or else what went wrong, in
    words for the console; the job fails then too, with the error."""
    started = time.monotonic()
    try:
        with session_scope(settings.database_url) as session:
            row = session.get(ConsoleUpload, upload_id)
            if row is None:
                raise UploadError(Sentence("upload %(id)s does not exist", id=upload_id))
            inputs = inputs_of(row)
        with client_from_settings(settings) as client:
            changes = preview(client, inputs, settings).changes
            calls = client.call_count()
    except Exception as exc:
        _keep(settings, upload_id, error=diff_error(exc))
        raise
    counts = changes.counts()
    lines = [{"sign": op.sign, "kind": op.kind, "text": dump(op.text)} for op in changes.ops[:DIFF_LINES]]
    _keep(settings, upload_id, counts=counts, lines=lines)
    return {"counts": counts, "changes": len(changes.ops), "calls": calls,
            "seconds": round(time.monotonic() - started, 2)}


def diff_error(error: Exception) -> str:
    """What a person reads when the diff failed."""
    if isinstance(error, ConfigError):
        return Sentence("No Moodle connection is set: enter it under Settings first.")
    if isinstance(error, MoodleError):
        return Sentence("Moodle answered an error: %(error)s", error=str(error))
    if isinstance(error, (ProvisionError, MoodleStateError, InputError, UploadError)):
        return said(error)
    unforeseen = f"{type(error).__name__}: {error}"
    return Sentence("The changes could not be read: %(error)s", error=unforeseen)


def _keep(settings: Settings, upload_id: int, *, counts: dict[str, int] | None = None,
          lines: list[dict[str, Any]] | None = None, error: str | None = None) -> None:
    """Keeps a diff's result with its upload. An error never replaces a result: of two diffs of one
    upload, an older one failing late leaves the newer one's changes in place."""
    with session_scope(settings.database_url) as session:
        row = session.get(ConsoleUpload, upload_id)
        if row is None:
            return
        if error is not None:
            if row.diffed_at is None:
                row.diff_error = dump(error)
            return
        row.diff_counts, row.diff_lines, row.diff_error, row.diffed_at = counts, lines, None, utcnow()


def diff_job(session: Session, row: ConsoleUpload) -> JobRequest | None:
    """The newest diff job of the upload: the one queued from its page, or a retry of it from the jobs
    page (which queues the same task again as a new request)."""
    if row.diff_job_id is None:
        return None
    for request in session.scalars(select(JobRequest).where(JobRequest.kind == "diff",
                                                            JobRequest.id >= row.diff_job_id)
                                   .order_by(JobRequest.id.desc())):
        if request.params.get("upload_id") == row.id:
            return request
    return None


@dataclass(frozen=True)
class ChangeLine:
    sign: str  # + ~ -
    kind: str
    text: str  # a Sentence again, where one was kept


def diff_lines(row: ConsoleUpload) -> list[ChangeLine]:
    """The change lines kept with the upload (the first ``DIFF_LINES``)."""
    return [ChangeLine(line["sign"], line["kind"], load(line["text"])) for line in row.diff_lines or []]


@dataclass(frozen=True)
class DiffSeen:
    """The upload's diff as its page shows it: the job and its live state, and what it kept."""

    job: JobRequest | None
    state: LiveState | None
    reading: bool  # the job is queued or running: the page follows it
    error: str | None
    lines: list[ChangeLine]


def diff_seen(session: Session, celery: Any, row: ConsoleUpload) -> DiffSeen:
    job = diff_job(session, row)
    state = live_state(session, celery, job) if job is not None else None
    error: str | None = None
    if row.diff_error is not None:
        error = load(row.diff_error)
    elif job is not None and job.state == "failed" and row.diffed_at is None:
        error = job.error  # the worker stopped before the job could say what went wrong
    return DiffSeen(job, state, state is not None and state.state in ("queued", "running"), error,
                    diff_lines(row))


def _stored_inputs(session: Session, inputs: Inputs) -> tuple[StoredPlan, StoredRoster]:
    """The plan and roster rows for ``inputs``, found by their hash as ``provision.store_inputs`` finds
    them, or added."""
    plan = session.scalar(select(StoredPlan).where(StoredPlan.year == inputs.plan.year,
                                                   StoredPlan.sha256 == inputs.plan.sha256))
    if plan is None:
        plan = StoredPlan(year=inputs.plan.year, title=inputs.plan.title, filename=inputs.plan_name,
                          sha256=inputs.plan.sha256, text=inputs.plan_text)
        session.add(plan)
    digest = hashlib.sha256(inputs.roster_bytes).hexdigest()
    roster = session.scalar(select(StoredRoster).where(StoredRoster.sha256 == digest))
    if roster is None:
        roster = StoredRoster(filename=inputs.roster_name, sha256=digest, content=inputs.roster_bytes,
                              cadres=len(inputs.roster.cadres))
        session.add(roster)
    session.flush()
    return plan, roster


def apply(session: Session, celery: Any, row: ConsoleUpload, *, actor: str) -> int:
    """Stores the upload as the year's plan and roster and queues the provisioning job; returns the
    job request's id."""
    if row.diffed_at is None:
        raise UploadError(Sentence("look at the diff first: apply what you have seen"))
    plan, roster = _stored_inputs(session, inputs_of(row))
    row.plan_id, row.roster_id = plan.id, roster.id
    session.add(AuditLog(actor=actor, action="console:apply", target=f"plan:{plan.id}",
                         detail={"upload": row.id, "year": row.year, "plan": plan.id, "roster": roster.id,
                                 "diff": row.diff_counts or {}}))
    request = queue(session, celery, "apply", {"plan_id": plan.id, "roster_id": roster.id, "actor": actor},
                    actor=actor)
    row.job_id = request.id
    return request.id


@dataclass(frozen=True)
class PlanVersion:
    id: int
    year: int
    title: str
    filename: str
    sha256: str
    loaded_at: Any
    applied_at: Any
    runs: int
    last_status: str | None


def plan_history(session: Session) -> dict[int, list[PlanVersion]]:
    """Every stored plan by year (newest year first, newest plan first), with its provisioning runs."""
    runs = {plan_id: (count, last) for plan_id, count, last in session.execute(
        select(ProvisionRun.plan_id, func.count(), func.max(ProvisionRun.id)).group_by(ProvisionRun.plan_id))}
    statuses = dict(session.execute(select(ProvisionRun.id, ProvisionRun.status)
                                    .where(ProvisionRun.id.in_([last for _, last in runs.values()])))
                    .all()) if runs else {}
    history: dict[int, list[PlanVersion]] = {}
    for p in session.scalars(select(StoredPlan).order_by(StoredPlan.year.desc(), StoredPlan.id.desc())):
        count, last = runs.get(p.id, (0, None))
        history.setdefault(p.year, []).append(PlanVersion(p.id, p.year, p.title, p.filename, p.sha256,
                                                          p.loaded_at, p.applied_at, count,
                                                          statuses.get(last) if last else None))
    return history


@dataclass(frozen=True)
class RosterVersion:
    id: int
    filename: str
    sha256: str
    cadres: int
    loaded_at: Any


def rosters(session: Session, limit: int = 20) -> list[RosterVersion]:
    """The newest stored rosters (without their content)."""
    return [RosterVersion(*row) for row in session.execute(
        select(StoredRoster.id, StoredRoster.filename, StoredRoster.sha256, StoredRoster.cadres,
               StoredRoster.loaded_at).order_by(StoredRoster.id.desc()).limit(limit))]


@dataclass(frozen=True)
class UploadLine:
    id: int
    year: int
    plan_filename: str
    roster_filename: str
    cadres: int
    uploaded_by: str
    uploaded_at: Any
    diffed_at: Any
    plan_id: int | None
    job_id: int | None


def recent_uploads(session: Session, limit: int = 10) -> list[UploadLine]:
    """The newest uploads (without their files)."""
    return [UploadLine(**row._asdict()) for row in session.execute(
        select(ConsoleUpload.id, ConsoleUpload.year, ConsoleUpload.plan_filename,
               ConsoleUpload.roster_filename, ConsoleUpload.cadres, ConsoleUpload.uploaded_by,
               ConsoleUpload.uploaded_at, ConsoleUpload.diffed_at, ConsoleUpload.plan_id,
               ConsoleUpload.job_id)
        .order_by(ConsoleUpload.id.desc()).limit(limit))]
