"""Settings: the Moodle connection (the token is write-only: the page says only whether one is set and
where it comes from), the ``cadre doctor`` report run on demand, and the console's users."""

from __future__ import annotations

import dataclasses

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from ..config import ConfigError
from ..db import session_scope
from ..moodle import client_from_settings
from ..rendering import render
from ..services.platform.console_users import list_users
from ..services.platform.site_settings import (
    SettingError,
    connection,
    effective,
    forget_connection,
    save_connection,
)
from ..services.provisioning.doctor import DoctorReport, diagnose
from .access import ADMIN, actor, allow, settings
from .formatting import say

blueprint = Blueprint("settings", __name__, url_prefix="/settings")
DOCTOR_TIMEOUT = 20.0


def _render(report: DoctorReport | None = None, error: str | None = None, status: int = 200,
            form_url: str | None = None) -> tuple[str, int]:
    with session_scope(settings().database_url) as db:
        found = connection(db, settings())
        users = list_users(db)
    return render_template("settings/index.html", connection=found, users=users, report=report, error=error,
                           form_url=form_url if form_url is not None else found.url), status


@blueprint.get("/")
@allow(ADMIN)
def index() -> tuple[str, int]:
    return _render()


@blueprint.post("/moodle")
@allow(ADMIN)
def save() -> Response | tuple[str, int]:
    url = request.form.get("moodle_url", "")
    token = request.form.get("moodle_token", "")
    try:
        with session_scope(settings().database_url) as db:
            changed = save_connection(db, settings(), url=url, token=token, actor=actor())
    except SettingError as exc:
        field = gettext("Moodle address") if exc.field == "moodle_url" else gettext("Token")
        return _render(error=gettext("%(field)s: %(error)s", field=field, error=say(exc.message)), status=400,
                       form_url=url)
    if changed:
        flash(gettext("Saved. Run the check below to see whether Moodle accepts the connection."), "info")
    else:
        flash(gettext("Nothing changed."), "info")
    return redirect(url_for("settings.index"))


@blueprint.post("/moodle/forget")
@allow(ADMIN)
def forget() -> Response:
    with session_scope(settings().database_url) as db:
        removed = forget_connection(db, actor=actor())
    flash(gettext("The console's connection settings were removed: the environment's apply again.")
          if removed else gettext("Nothing changed."), "info")
    return redirect(url_for("settings.index"))


@blueprint.post("/doctor")
@allow(ADMIN)
def doctor() -> tuple[str, int]:
    """Runs ``cadre doctor`` (reads only) against the connection in force and shows its report."""
    current = dataclasses.replace(effective(settings()), moodle_timeout=DOCTOR_TIMEOUT)
    try:
        client = client_from_settings(current)
    except ConfigError:
        return _render(error=gettext("No Moodle connection is set: enter the site's address and token "
                                     "first."), status=400)
    with client:
        report = diagnose(client)
    return _render(report=report)


@blueprint.get("/doctor.html")
@allow(ADMIN)
def doctor_page() -> Response:
    """The same report as ``cadre doctor --html`` writes, to hand to the Moodle admin."""
    current = dataclasses.replace(effective(settings()), moodle_timeout=DOCTOR_TIMEOUT)
    try:
        client = client_from_settings(current)
    except ConfigError:
        flash(gettext("No Moodle connection is set: enter the site's address and token first."), "error")
        return redirect(url_for("settings.index"))
    with client:
        report = diagnose(client)
    response = Response(render("console/doctor.html", report=report), mimetype="text/html")
    response.headers["Content-Disposition"] = "attachment; filename=moodle-doctor.html"
    return response
