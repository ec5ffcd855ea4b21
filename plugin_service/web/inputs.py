"""Roster and plan: upload both, see every problem with its place, see the diff against Moodle (a job:
the upload's page follows it and then shows its result), apply it as a job; and the plan history per year
with each stored text (admins only)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from rules.problems import InputError
from rules.wording import said

from ..db import session_scope
from ..models import ConsoleUpload, StoredPlan
from ..services.platform.jobs import JobError
from ..services.platform.locks import LockedError
from ..services.provisioning.console_inputs import (
    UploadError,
    apply,
    diff_seen,
    plan_history,
    queue_diff,
    recent_uploads,
    rosters,
    upload,
    warnings_of,
)
from .access import ADMIN, actor, allow, settings
from .formatting import say
from .jobs import REFRESH_SECONDS, celery

blueprint = Blueprint("inputs", __name__, url_prefix="/inputs")
KIND_WORDS = {
    "create_category": lazy_gettext("create the year's category"),
    "create_user": lazy_gettext("create accounts"), "update_user": lazy_gettext("update accounts"),
    "create_class": lazy_gettext("create classes"), "update_class": lazy_gettext("rename classes"),
    "copy_course": lazy_gettext("copy courses from templates"),
    "create_course": lazy_gettext("create empty courses"), "update_course": lazy_gettext("update courses"),
    "add_member": lazy_gettext("add class members"), "enrol": lazy_gettext("enrol"),
    "remove_member": lazy_gettext("remove class members"),
    "suspend_enrolment": lazy_gettext("suspend enrolments"),
}


def _file(name: str) -> tuple[str, bytes] | None:
    found: FileStorage | None = request.files.get(name)
    if found is None or not found.filename:
        return None
    return found.filename, found.read()


def _index(status: int = 200, **values: object) -> tuple[str, int]:
    with session_scope(settings().database_url) as db:
        history = plan_history(db)
        stored = rosters(db, limit=10)
        uploads = recent_uploads(db)
    return render_template("inputs/index.html", history=history, rosters=stored, uploads=uploads,
                           **values), status


@blueprint.get("/")
@allow(ADMIN)
def index() -> tuple[str, int]:
    return _index()


@blueprint.post("/upload")
@allow(ADMIN)
def upload_files() -> Response | tuple[str, int]:
    plan, roster = _file("plan"), _file("roster")
    if plan is None and roster is None:
        return _index(400, error=gettext("Choose the plan (YAML), the roster (CSV or XLSX), or both."))
    try:
        with session_scope(settings().database_url) as db:
            row = upload(db, plan=plan, roster=roster, actor=actor())
            upload_id = row.id
    except InputError as exc:
        return _index(400, problems=exc.problems, errors=len(exc.errors))
    except UploadError as exc:
        return _index(400, error=exc.message)
    flash(gettext("Both files are valid. Look at the changes before applying them."), "info")
    return redirect(url_for("inputs.show_upload", upload_id=upload_id))


def _upload(db: Session, upload_id: int) -> ConsoleUpload:
    row = db.get(ConsoleUpload, upload_id)
    if row is None:
        abort(404)
    return row


@blueprint.get("/uploads/<int:upload_id>")
@allow(ADMIN)
def show_upload(upload_id: int) -> str:
    """The upload with its warnings and its diff: the diff job's live state while it runs (the page
    refreshes itself), then the changes it kept, or its error."""
    with session_scope(settings().database_url) as db:
        row = _upload(db, upload_id)
        seen = diff_seen(db, celery(), row)
    return render_template("inputs/upload.html", upload=row, warnings=warnings_of(row), job=seen.job,
                           state=seen.state, reading=seen.reading, error=seen.error, lines=seen.lines,
                           kinds=KIND_WORDS, refresh=REFRESH_SECONDS if seen.reading else None)


@blueprint.post("/uploads/<int:upload_id>/diff")
@allow(ADMIN)
def diff_upload(upload_id: int) -> Response:
    with session_scope(settings().database_url) as db:
        row = _upload(db, upload_id)
        try:
            queue_diff(db, celery(), row, actor=actor())
        except JobError as exc:
            flash(gettext("The job was not started: %(error)s", error=say(said(exc))), "error")
    return redirect(url_for("inputs.show_upload", upload_id=upload_id))


@blueprint.post("/uploads/<int:upload_id>/apply")
@allow(ADMIN)
def apply_upload(upload_id: int) -> Response:
    with session_scope(settings().database_url) as db:
        row = _upload(db, upload_id)
        try:
            job_id = apply(db, celery(), row, actor=actor())
        except (UploadError, JobError, LockedError, InputError) as exc:
            flash(say(said(exc)), "error")
            return redirect(url_for("inputs.show_upload", upload_id=upload_id))
    flash(gettext("The plan was stored and its apply queued: follow it here."), "info")
    return redirect(url_for("jobs.request_page", job_id=job_id))


@blueprint.get("/plans/<int:plan_id>")
@allow(ADMIN)
def plan_text(plan_id: int) -> str:
    with session_scope(settings().database_url) as db:
        plan = db.get(StoredPlan, plan_id)
        if plan is None:
            abort(404)
    return render_template("inputs/plan.html", plan=plan)
