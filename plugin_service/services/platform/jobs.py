"""The jobs: provisioning runs, harvests, engagement runs and document batches as their own tables
record them, and the Celery tasks the console queued (``JobRequest``) with their live state. The diff of
a console upload is a job too, which keeps its result with the upload rather than in a run of its own.

A job is queued by its task's name with JSON arguments, found in the Celery app's registry (the app
registers the tasks as it is built, in ``celery_app.celery_init_app``: the services never import the
tasks that call them); its live state is Celery's (queued, started, progress with done/total, success,
failure) and is copied onto the request once it is final, so the list does not depend on how long the
broker keeps results. A failed job is retried by queuing the same
task again: every task continues what a failed run left and never does anything twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import (
    AuditLog,
    DocumentBatch,
    EngagementRun,
    HarvestRun,
    HarvestStep,
    JobRequest,
    JournalEntry,
    ProvisionRun,
    utcnow,
)

#: Job kind -> the Celery task that runs it.
TASKS = {"apply": "cadre.apply_plan", "harvest": "cadre.harvest_year", "engage": "cadre.engage_year",
         "certificates": "cadre.issue_certificates", "archives": "cadre.build_archives",
         "diff": "cadre.diff_upload"}
#: The run table each kind's task records its run in, and the key of its id in the task's answer (a
#: diff has none).
RUNS = {"apply": ("provision", "run_id"), "harvest": ("harvest", "run_id"),
        "engage": ("engagement", "run_id"), "certificates": ("documents", "batch_id"),
        "archives": ("documents", "batch_id")}
FINAL = {"SUCCESS": "done", "FAILURE": "failed", "REVOKED": "failed"}
RUN_KINDS = ("provision", "harvest", "engagement", "documents")


class JobError(Exception):
    """A job cannot be queued or retried; the message says why. Nothing was queued."""


@dataclass(frozen=True)
class JobLine:
    """A run of any kind, as the job list shows it."""

    kind: str  # provision harvest engagement documents
    id: int
    year: int
    what: str  # the run's own kind: full/incremental, daily/remind, certificates/archives
    status: str  # running done failed interrupted
    started_at: dt.datetime
    finished_at: dt.datetime | None
    moodle_calls: int | None
    done: int | None
    total: int | None
    error: str | None
    actor: str = ""

    @property
    def retryable(self) -> bool:
        return self.status in ("failed", "interrupted") and (
            self.kind != "engagement" or self.what == "daily")


def _provision(run: ProvisionRun) -> JobLine:
    return JobLine("provision", run.id, run.year, "apply", run.status, run.started_at, run.finished_at,
                   run.moodle_calls, run.ops_done, run.ops_total, run.error)


def _harvest(run: HarvestRun) -> JobLine:
    return JobLine("harvest", run.id, run.year, run.mode, run.status, run.started_at, run.finished_at,
                   run.moodle_calls, None, None, run.error)


def _engagement(run: EngagementRun) -> JobLine:
    return JobLine("engagement", run.id, run.year, run.job, run.status, run.started_at, run.finished_at,
                   run.moodle_calls, None, None, run.error, run.actor)


def _documents(batch: DocumentBatch) -> JobLine:
    return JobLine("documents", batch.id, batch.year, batch.kind, batch.status, batch.started_at,
                   batch.finished_at, None, batch.done, batch.total, batch.error, batch.actor)


def recent_runs(session: Session, *, kind: str | None = None, year: int | None = None,
                limit: int = 50) -> list[JobLine]:
    """The newest runs of every kind (or one), newest first."""
    lines: list[JobLine] = []
    sources: list[tuple[str, Any, Any]] = [("provision", ProvisionRun, _provision),
                                           ("harvest", HarvestRun, _harvest),
                                           ("engagement", EngagementRun, _engagement),
                                           ("documents", DocumentBatch, _documents)]
    for name, model, line in sources:
        if kind is not None and kind != name:
            continue
        query = select(model).order_by(model.id.desc()).limit(limit)
        if year is not None:
            query = query.where(model.year == year)
        lines += [line(run) for run in session.scalars(query)]
    return sorted(lines, key=lambda line: line.started_at, reverse=True)[:limit]


@dataclass
class RunDetail:
    line: JobLine
    steps: list[dict[str, Any]] = field(default_factory=list)  # harvest steps, journal counts
    failures: list[dict[str, Any]] = field(default_factory=list)  # failed journal entries
    counts: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    audit: list[AuditLog] = field(default_factory=list)  # the Moodle writes of a provisioning run


def run_detail(session: Session, kind: str, run_id: int, *, audit_limit: int = 100) -> RunDetail | None:
    if kind == "provision":
        run = session.get(ProvisionRun, run_id)
        if run is None:
            return None
        detail = RunDetail(_provision(run), summary=dict(run.summary))
        detail.steps = [{"kind": k, "status": s, "count": n} for k, s, n in session.execute(
            select(JournalEntry.kind, JournalEntry.status, func.count()).where(JournalEntry.run_id == run_id)
            .group_by(JournalEntry.kind, JournalEntry.status)
            .order_by(JournalEntry.kind, JournalEntry.status))]
        detail.failures = [{"seq": e.seq, "kind": e.kind, "target": e.target, "error": e.error}
                           for e in session.scalars(select(JournalEntry).where(
                               JournalEntry.run_id == run_id, JournalEntry.status == "failed")
                               .order_by(JournalEntry.seq).limit(100))]
        detail.audit = list(session.scalars(select(AuditLog).where(AuditLog.run_id == run_id)
                                            .order_by(AuditLog.id.desc()).limit(audit_limit)))
        return detail
    if kind == "harvest":
        harvest = session.get(HarvestRun, run_id)
        if harvest is None:
            return None
        detail = RunDetail(_harvest(harvest), summary=dict(harvest.summary))
        detail.counts = {"path": harvest.path, "attempts": harvest.attempts, "rows": harvest.rows_read,
                         "changes": harvest.changes, "seconds": harvest.seconds, "today": harvest.today}
        detail.steps = [{"step": step, "items": items, "calls": int(calls or 0), "rows": int(rows or 0),
                         "changes": int(changes or 0), "seconds": float(seconds or 0.0)}
                        for step, items, calls, rows, changes, seconds in session.execute(
                            select(HarvestStep.step, func.count(), func.sum(HarvestStep.moodle_calls),
                                   func.sum(HarvestStep.rows_read), func.sum(HarvestStep.changes),
                                   func.sum(HarvestStep.seconds))
                            .where(HarvestStep.run_id == run_id).group_by(HarvestStep.step)
                            .order_by(func.min(HarvestStep.id)))]
        return detail
    if kind == "engagement":
        engagement = session.get(EngagementRun, run_id)
        if engagement is None:
            return None
        return RunDetail(_engagement(engagement), counts=dict(engagement.counts))
    if kind == "documents":
        batch = session.get(DocumentBatch, run_id)
        if batch is None:
            return None
        return RunDetail(_documents(batch), summary=dict(batch.summary),
                         counts={"attempts": batch.attempts, "lang": batch.lang, "tier": batch.tier_key,
                                 "zip": batch.zip_path, "seconds": batch.seconds})
    return None


# --- queuing, following and retrying tasks ---------------------------------------------------------

def queue(session: Session, celery: Any, kind: str, params: dict[str, Any], *, actor: str,
          retry_of: int | None = None) -> JobRequest:
    """Queues the task of ``kind`` and records the request (audited). What the session holds is
    committed first: a worker may start the task at once, and must find what it is to work on. In eager
    mode (tests) the task has run when this returns, and the request is final."""
    if kind not in TASKS:
        raise JobError(f"unknown job kind {kind!r}")
    task = celery.tasks.get(TASKS[kind])
    if task is None:
        raise JobError(f"the Celery app knows no task {TASKS[kind]!r}: it was not built by celery_init_app")
    session.commit()
    try:
        result = task.apply_async(kwargs=params)
    except Exception as exc:
        session.add(AuditLog(actor=actor, action=f"console:queue:{kind}", target=_target(params),
                             outcome="failed", detail={"params": params, "error": type(exc).__name__}))
        raise JobError(f"the job queue (Celery broker) did not take the job: {type(exc).__name__}") from exc
    request = JobRequest(kind=kind, task_id=result.id, year=params.get("year"), params=params, actor=actor,
                         retry_of=retry_of)
    session.add(request)
    session.flush()
    session.add(AuditLog(actor=actor, action=f"console:queue:{kind}", target=_target(params),
                         detail={"params": params, "request": request.id, "task": result.id,
                                 **({"retry_of": retry_of} if retry_of else {})}))
    if result.ready():
        _settle(request, result)
    return request


def _target(params: dict[str, Any]) -> str:
    if "plan_id" in params:
        return f"plan:{params['plan_id']}"
    if "upload_id" in params:
        return f"upload:{params['upload_id']}"
    return str(params.get("year", ""))


def _settle(request: JobRequest, result: Any) -> None:
    state = FINAL.get(result.state)
    if state is None:
        return
    request.state, request.finished_at = state, utcnow()
    if state == "done":
        request.result = result.result if isinstance(result.result, dict) else {"value": str(result.result)}
    else:
        error = result.result
        request.error = f"{type(error).__name__}: {error}"[:2000] if isinstance(error, BaseException) \
            else str(error or result.state)[:2000]


@dataclass(frozen=True)
class LiveState:
    state: str  # queued running done failed
    celery_state: str
    done: int | None = None
    total: int | None = None
    step: str = ""


def live_state(session: Session, celery: Any, request: JobRequest) -> LiveState:
    """The request's state now: Celery's while it runs, the recorded one once final."""
    if request.state in ("done", "failed"):
        return LiveState(request.state, request.state.upper())
    result = celery.AsyncResult(request.task_id)
    try:
        state = result.state
        info = result.info
    except Exception:  # noqa: BLE001 - an unreachable result backend: show what is known
        return LiveState(request.state, "UNKNOWN")
    if state in FINAL:
        _settle(request, result)
        return LiveState(request.state, state)
    if state in ("STARTED", "PROGRESS"):
        request.state = "running"
        meta = info if isinstance(info, dict) else {}
        return LiveState("running", state, meta.get("done"), meta.get("total"),
                         str(meta.get("step") or meta.get("kind") or ""))
    return LiveState(request.state, state)


def run_of(request: JobRequest) -> tuple[str, int] | None:
    """The run the finished request made (kind in ``RUN_KINDS``, id)."""
    if request.kind not in RUNS:
        return None
    table, key = RUNS[request.kind]
    value = request.result.get(key) if request.result else None
    return (table, int(value)) if isinstance(value, int) else None


def recent_requests(session: Session, *, limit: int = 20) -> list[JobRequest]:
    return list(session.scalars(select(JobRequest).order_by(JobRequest.id.desc()).limit(limit)))


def running_requests(session: Session) -> list[JobRequest]:
    return list(session.scalars(select(JobRequest).where(JobRequest.state.in_(("queued", "running")))
                                .order_by(JobRequest.id)))


def retry_params(session: Session, kind: str, job_id: int, actor: str) -> tuple[str, dict[str, Any]]:
    """The task and arguments that continue a failed run (``kind`` a run kind or ``request``)."""
    if kind == "request":
        request = session.get(JobRequest, job_id)
        if request is None:
            raise JobError(f"no job {job_id}")
        if request.state != "failed":
            raise JobError(f"job {job_id} has not failed: only a failed job is retried")
        return request.kind, dict(request.params)
    detail = run_detail(session, kind, job_id, audit_limit=0)
    if detail is None:
        raise JobError(f"no {kind} run {job_id}")
    if not detail.line.retryable:
        raise JobError(f"{kind} run {job_id} is {detail.line.status}: only a failed or interrupted run "
                       "is retried" + (" (and of engagement runs only the daily job)"
                                       if kind == "engagement" else ""))
    if kind == "provision":
        run = session.get(ProvisionRun, job_id)
        assert run is not None
        return "apply", {"plan_id": run.plan_id, "roster_id": run.roster_id, "actor": actor}
    if kind == "harvest":
        return "harvest", {"year": detail.line.year, "full": detail.line.what == "full"}
    if kind == "engagement":
        return "engage", {"year": detail.line.year}
    batch = session.get(DocumentBatch, job_id)
    assert batch is not None
    params: dict[str, Any] = {"year": batch.year, "tier": batch.tier_key, "actor": actor}
    if batch.kind == "certificates":
        params["lang"] = batch.lang
    return batch.kind, params


def retry(session: Session, celery: Any, kind: str, job_id: int, *, actor: str) -> JobRequest:
    task_kind, params = retry_params(session, kind, job_id, actor)
    if "actor" in params:
        params["actor"] = actor
    return queue(session, celery, task_kind, params, actor=actor,
                 retry_of=job_id if kind == "request" else None)
