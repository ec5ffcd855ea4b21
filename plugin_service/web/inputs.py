"""Roster and plan: upload both, see every problem with its place, see the diff against Moodle, apply
it as a job; and the plan history per year with each stored text (admins only)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from moodle_bridge import MoodleError
from rules.problems import InputError

from ..config import ConfigError
from ..db import session_scope
from ..locks import LockedError
from ..models import ConsoleUpload, StoredPlan
from ..moodle import client_from_settings
from ..services.console_inputs import UploadError, apply, diff, plan_history, recent_uploads, rosters, upload
from ..services.jobs import JobError
from ..services.moodle_state import MoodleStateError
from ..services.provision import ProvisionError
from ..services.site_settings import effective
from .access import ADMIN, actor, allow, settings

blueprint = Blueprint("inputs", __name__, url_prefix="/inputs")
SHOWN_CHANGES = 500
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
        return _index(400, error=str(exc))
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
    with session_scope(settings().database_url) as db:
        row = _upload(db, upload_id)
    return render_template("inputs/upload.html", upload=row, changes=None, kinds=KIND_WORDS)


@blueprint.post("/uploads/<int:upload_id>/diff")
@allow(ADMIN)
def diff_upload(upload_id: int) -> tuple[str, int]:
    error = None
    changes = None
    with session_scope(settings().database_url) as db:
        row = _upload(db, upload_id)
        try:
            with client_from_settings(effective(settings())) as client:
                changes = diff(db, client, settings(), row)
        except ConfigError:
            error = gettext("No Moodle connection is set: enter it under Settings first.")
        except (ProvisionError, MoodleStateError, InputError) as exc:
            error = str(exc)
        except MoodleError as exc:
            error = gettext("Moodle answered an error: %(error)s", error=str(exc))
    return render_template("inputs/upload.html", upload=row, changes=changes, error=error, kinds=KIND_WORDS,
                           shown=SHOWN_CHANGES), (200 if error is None else 400)


@blueprint.post("/uploads/<int:upload_id>/apply")
@allow(ADMIN)
def apply_upload(upload_id: int) -> Response:
    with session_scope(settings().database_url) as db:
        row = _upload(db, upload_id)
        try:
            job_id = apply(db, current_app.extensions["celery"], row, actor=actor())
        except (UploadError, JobError, LockedError, InputError) as exc:
            flash(str(exc), "error")
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
