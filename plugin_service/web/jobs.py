"""Jobs: provisioning, harvests, engagement and document batches with their live state (Celery's),
steps, logs and Moodle call counts; start one, follow it, retry a failed one (admins only). A page of a
job still running refreshes itself."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from ..db import session_scope
from ..models import JobRequest
from ..services.platform.jobs import (
    RUN_KINDS,
    JobError,
    live_state,
    queue,
    recent_requests,
    recent_runs,
    retry,
    run_detail,
    run_of,
)
from .access import ADMIN, actor, allow, settings
from .common import selected_year

blueprint = Blueprint("jobs", __name__, url_prefix="/jobs")
STARTABLE = ("harvest", "engage", "certificates", "archives")
REFRESH_SECONDS = 3


def celery() -> Any:
    return current_app.extensions["celery"]


@blueprint.get("/")
@allow(ADMIN)
def index() -> str:
    kind = request.args.get("kind") if request.args.get("kind") in RUN_KINDS else None
    with session_scope(settings().database_url) as db:
        year, years = selected_year(db)
        requests = recent_requests(db)
        states = {r.id: live_state(db, celery(), r) for r in requests}
        runs = recent_runs(db, kind=kind)
    running = any(state.state in ("queued", "running") for state in states.values()) or any(
        run.status == "running" for run in runs)
    return render_template("jobs/index.html", requests=requests, states=states, runs=runs, kind=kind,
                           year=year, years=years, refresh=REFRESH_SECONDS if running else None)


@blueprint.post("/start")
@allow(ADMIN)
def start() -> Response:
    kind = request.form.get("kind", "")
    year = request.form.get("year", type=int)
    if kind not in STARTABLE or year is None:
        abort(400)
    params: dict[str, Any] = {"year": year}
    if kind == "harvest":
        params["full"] = request.form.get("full") == "1"
    if kind in ("certificates", "archives"):
        params.update(tier=None, actor=actor())
    if kind == "certificates":
        lang = request.form.get("lang", "zh")
        params["lang"] = lang if lang in ("zh", "en") else "zh"
    with session_scope(settings().database_url) as db:
        try:
            job = queue(db, celery(), kind, params, actor=actor())
        except JobError as exc:
            db.commit()
            flash(gettext("The job was not started: %(error)s", error=str(exc)), "error")
            return redirect(url_for("jobs.index"))
        job_id = job.id
    flash(gettext("The job was queued."), "info")
    return redirect(url_for("jobs.request_page", job_id=job_id))


@blueprint.get("/requests/<int:job_id>")
@allow(ADMIN)
def request_page(job_id: int) -> str:
    with session_scope(settings().database_url) as db:
        job = db.get(JobRequest, job_id)
        if job is None:
            abort(404)
        state = live_state(db, celery(), job)
        made = run_of(job) if job.state == "done" else None
        detail = run_detail(db, *made) if made else None
    return render_template("jobs/request.html", job=job, state=state, made=made, detail=detail,
                           refresh=REFRESH_SECONDS if state.state in ("queued", "running") else None)


@blueprint.get("/<kind>/<int:run_id>")
@allow(ADMIN)
def run_page(kind: str, run_id: int) -> str:
    if kind not in RUN_KINDS:
        abort(404)
    with session_scope(settings().database_url) as db:
        detail = run_detail(db, kind, run_id)
    if detail is None:
        abort(404)
    return render_template("jobs/run.html", detail=detail, kind=kind,
                           refresh=REFRESH_SECONDS if detail.line.status == "running" else None)


@blueprint.post("/<kind>/<int:job_id>/retry")
@allow(ADMIN)
def retry_job(kind: str, job_id: int) -> Response:
    if kind not in (*RUN_KINDS, "request"):
        abort(404)
    with session_scope(settings().database_url) as db:
        try:
            job = retry(db, celery(), kind, job_id, actor=actor())
        except JobError as exc:
            db.commit()
            flash(gettext("Not retried: %(error)s", error=str(exc)), "error")
            return redirect(url_for("jobs.index"))
        new_id = job.id
    flash(gettext("The job was queued again: it continues where the failed run stopped."), "info")
    return redirect(url_for("jobs.request_page", job_id=new_id))
