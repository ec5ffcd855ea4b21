"""Offline study hours (学时认定): the year's claims and trainings with filters; a claim on a cadre's
behalf, a training by form or from an attendance sheet (every bad row shown at its place); a claim's
evidence and the decision on it; a training's attendees and their corrections.

Everyone sees the trainings and the claims of their scope (an officer their departments', a reviewer
their cadres'); admins and officers record and claim; the cadre's reviewer, an officer of their
department or an admin decides. The services (``services.offline``) check every step again: a page
only offers what they allow, and a claim or attendee outside the reader's scope answers 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from rules.offline import DESCRIPTION_MAX, MAX_HOURS, NAME_MAX, REASON_MAX
from rules.problems import InputError
from rules.wording import Sentence

from ..db import session_scope
from ..models import Cadre
from ..services.offline.claim_views import ClaimFilters, claim_view, claims, evidence_file
from ..services.offline.claims import STATES, claim_training, review_claim, submit_claim
from ..services.offline.errors import NotFound, OfflineError
from ..services.offline.evidence import Evidence, max_bytes
from ..services.offline.imports import import_sheet
from ..services.offline.training_views import training, trainings
from ..services.offline.trainings import add_attendees, delete_training, record_training, remove_attendee
from ..services.offline.who import Actor, acts_for, decides, scope_for
from ..services.read_models.reports import departments
from .access import ADMIN, EVERYONE, OFFICER, allow, settings, user
from .common import page_number, selected_year, text_arg
from .formatting import say

blueprint = Blueprint("offline", __name__, url_prefix="/offline")
RECORDERS = (ADMIN, OFFICER)
LIMITS = {"name_max": NAME_MAX, "description_max": DESCRIPTION_MAX, "reason_max": REASON_MAX,
          "max_hours": MAX_HOURS}


def actor() -> Actor:
    """The signed-in user as the offline services know them."""
    who = user()
    return Actor(f"console:{who.username}", who.role, frozenset(who.departments), who.employee_no)


def _errors(exc: OfflineError) -> dict[str, list[str]]:
    """A refusal's messages in the reader's language, by the form field at fault ("" for the form)."""
    return {exc.field or "": [say(message) for message in exc.messages]}


def _file(name: str) -> tuple[bytes, str] | None:
    found: FileStorage | None = request.files.get(name)
    if found is None or not found.filename:
        return None
    return found.read(), found.filename


# --- claims -----------------------------------------------------------------------------------------

@blueprint.get("/")
@allow(*EVERYONE)
def index() -> Response:
    query = request.query_string.decode("ascii", "replace")
    return redirect(url_for("offline.claim_list") + (f"?{query}" if query else ""))


@blueprint.get("/claims")
@allow(*EVERYONE)
def claim_list() -> str:
    state = request.args.get("state", "submitted")
    filters_state = state if state in STATES else None
    with session_scope(settings().database_url) as db:
        year, years = selected_year(db)
        who = actor()
        filters = ClaimFilters(year=year, state=filters_state, department=text_arg("department", 128) or None,
                               q=text_arg("q", 64))
        found = claims(db, who, filters, page=page_number())
        may_decide = {c.id for c in found.rows if c.state == "submitted"
                      and decides(db, who, c.employee_no, c.year)}
        choices = departments(db, scope_for(db, who, year))
    return render_template("offline/claims.html", found=found, filters=filters, state=state, year=year,
                           years=years, departments=choices, may_decide=may_decide,
                           args={k: v for k, v in request.args.items() if k != "page"})


@blueprint.route("/claims/new", methods=["GET", "POST"])
@allow(*RECORDERS)
def new_claim() -> Response | tuple[str, int]:
    form = request.form if request.method == "POST" else request.args
    values = {name: form.get(name, "").strip() for name in ("employee_no", "kind", "training_id", "title",
                                                            "day", "hours", "description")}
    values["kind"] = values["kind"] if values["kind"] in ("external", "training") else "external"
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        evidence = _file("evidence")
        try:
            with session_scope(settings().database_url) as db:
                made = _submit(db, values, evidence)
            flash(gettext("Claim %(id)s was submitted for %(employee_no)s: it waits for a decision.",
                          id=made, employee_no=values["employee_no"]), "info")
            return redirect(url_for("offline.claim_page", claim_id=made))
        except OfflineError as exc:
            errors = _errors(exc)
    return _claim_form(values, errors), 400 if errors else 200


def _submit(db: Session, values: dict[str, str], evidence: tuple[bytes, str] | None) -> int:
    given = Evidence(*evidence) if evidence is not None else Evidence(b"", "")
    if values["kind"] == "training":
        training_id = int(values["training_id"]) if values["training_id"].isdigit() else 0
        if not training_id:
            raise OfflineError(Sentence("a value is required here"), field="training_id")
        return claim_training(db, values["employee_no"], training_id, values["description"], given, actor(),
                              settings=settings()).id
    return submit_claim(db, values["employee_no"], values["title"], values["day"], values["hours"],
                        values["description"], given, actor(), settings=settings()).id


def _claim_form(values: dict[str, str], errors: dict[str, list[str]]) -> str:
    with session_scope(settings().database_url) as db:
        year, _years = selected_year(db)
        cadre = db.get(Cadre, values["employee_no"]) if values["employee_no"] else None
        who = actor()
        if cadre is not None and year is not None and not acts_for(db, who, cadre.employee_no, year):
            cadre = None
        listed = trainings(db, who, year, per_page=500).rows if year is not None else []
    limit = max_bytes(settings()) / (1024 * 1024)
    return render_template("offline/claim_form.html", values=values, errors=errors, cadre=cadre,
                           trainings=listed, year=year, limit_mb=f"{limit:g}", limits=LIMITS)


@blueprint.get("/claims/<int:claim_id>")
@allow(*EVERYONE)
def claim_page(claim_id: int) -> str:
    with session_scope(settings().database_url) as db:
        who = actor()
        found = claim_view(db, claim_id, who)
        if found is None:
            abort(404)
        may_decide = found.state == "submitted" and decides(db, who, found.employee_no, found.year)
    return render_template("offline/claim.html", claim=found, may_decide=may_decide, limits=LIMITS)


@blueprint.post("/claims/<int:claim_id>/decide")
@allow(*EVERYONE)
def decide(claim_id: int) -> Response | tuple[str, int]:
    decision, reason = request.form.get("decision", ""), request.form.get("reason", "")
    try:
        with session_scope(settings().database_url) as db:
            done = review_claim(db, claim_id, decision, reason, actor())
    except NotFound:
        abort(404)
    except OfflineError as exc:
        with session_scope(settings().database_url) as db:
            found = claim_view(db, claim_id, actor())
            if found is None:
                abort(404)
            may_decide = found.state == "submitted" and decides(db, actor(), found.employee_no, found.year)
        return render_template("offline/claim.html", claim=found, may_decide=may_decide, limits=LIMITS,
                               errors=_errors(exc), reason=reason), 400
    flash(gettext("Claim %(id)s was approved: its hours count in the record now.", id=done.id)
          if done.state == "approved" else gettext("Claim %(id)s was rejected.", id=done.id), "info")
    return redirect(url_for("offline.claim_page", claim_id=claim_id))


@blueprint.get("/claims/<int:claim_id>/evidence")
@allow(*EVERYONE)
def evidence(claim_id: int) -> Response:
    """The evidence file, for those who see the claim: never served from a folder of the web server."""
    try:
        with session_scope(settings().database_url) as db:
            found = evidence_file(db, settings(), claim_id, actor())
    except NotFound:
        abort(404)
    return send_file(found.path, mimetype=found.media_type, as_attachment=True,
                     download_name=found.download_name, max_age=0)


# --- trainings --------------------------------------------------------------------------------------

@blueprint.get("/trainings")
@allow(*EVERYONE)
def training_list() -> str:
    with session_scope(settings().database_url) as db:
        year, years = selected_year(db)
        q = text_arg("q", 100)
        found = trainings(db, actor(), year, q=q, page=page_number()) if year is not None else None
    return render_template("offline/trainings.html", found=found, q=q, year=year, years=years,
                           args={k: v for k, v in request.args.items() if k != "page"})


@blueprint.route("/trainings/new", methods=["GET", "POST"])
@allow(*RECORDERS)
def new_training() -> Response | tuple[str, int]:
    values = {name: request.form.get(name, "").strip() for name in ("name", "day", "hours", "organiser",
                                                                    "attendees")}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            with session_scope(settings().database_url) as db:
                done = record_training(db, actor(), name=values["name"], day=values["day"],
                                       hours=values["hours"], organiser=values["organiser"],
                                       attendees=values["attendees"])
            flash(gettext("The training was recorded with %(n)s attendees.", n=len(done.added)), "info")
            return redirect(url_for("offline.training_page", training_id=done.training_id))
        except OfflineError as exc:
            errors = _errors(exc)
    return render_template("offline/training_form.html", values=values, errors=errors,
                           limits=LIMITS), 400 if errors else 200


@blueprint.get("/trainings/<int:training_id>")
@allow(*EVERYONE)
def training_page(training_id: int) -> str:
    return _training_page(training_id)[0]


def _training_page(training_id: int, status: int = 200, **values: Any) -> tuple[str, int]:
    try:
        with session_scope(settings().database_url) as db:
            found = training(db, actor(), training_id)
    except NotFound:
        abort(404)
    return render_template("offline/training.html", detail=found, recorder=actor().records, **values), status


@blueprint.post("/trainings/<int:training_id>/attendees")
@allow(*RECORDERS)
def add_to_training(training_id: int) -> Response | tuple[str, int]:
    attendees = request.form.get("attendees", "")
    try:
        with session_scope(settings().database_url) as db:
            done = add_attendees(db, actor(), training_id, attendees)
    except NotFound:
        abort(404)
    except OfflineError as exc:
        return _training_page(training_id, 400, errors=_errors(exc), attendees=attendees)
    flash(gettext("%(n)s attendees recorded; %(m)s were recorded before.", n=len(done.added),
                  m=len(done.already)), "info")
    return redirect(url_for("offline.training_page", training_id=training_id))


@blueprint.post("/trainings/<int:training_id>/attendees/<employee_no>/remove")
@allow(*RECORDERS)
def remove_from_training(training_id: int, employee_no: str) -> Response | tuple[str, int]:
    try:
        with session_scope(settings().database_url) as db:
            remove_attendee(db, actor(), training_id, employee_no)
    except NotFound:
        abort(404)
    except OfflineError as exc:
        return _training_page(training_id, 400, errors=_errors(exc))
    flash(gettext("%(employee_no)s is no longer recorded at this training.", employee_no=employee_no), "info")
    return redirect(url_for("offline.training_page", training_id=training_id))


@blueprint.post("/trainings/<int:training_id>/delete")
@allow(*RECORDERS)
def remove_training(training_id: int) -> Response | tuple[str, int]:
    try:
        with session_scope(settings().database_url) as db:
            removed = delete_training(db, actor(), training_id)
    except NotFound:
        abort(404)
    except OfflineError as exc:
        return _training_page(training_id, 400, errors=_errors(exc))
    flash(gettext("The training was deleted; %(n)s attendees lost its hours.", n=len(removed)), "info")
    return redirect(url_for("offline.training_list"))


@blueprint.route("/import", methods=["GET", "POST"])
@allow(*RECORDERS)
def import_page() -> tuple[str, int]:
    if request.method == "GET":
        return render_template("offline/import.html"), 200
    sheet = _file("sheet")
    if sheet is None:
        return render_template("offline/import.html", error=gettext(
            "Choose the attendance sheet (XLSX or CSV).")), 400
    data, filename = sheet
    try:
        with session_scope(settings().database_url) as db:
            done = import_sheet(db, actor(), data, filename)
    except InputError as exc:
        return render_template("offline/import.html", problems=exc.problems, errors=len(exc.errors),
                               filename=filename), 400
    except OfflineError as exc:
        return render_template("offline/import.html", error=say(exc.message)), 400
    return render_template("offline/import.html", done=done), 200
