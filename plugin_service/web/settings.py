"""Settings: the Moodle connection (the token is write-only: the page says only whether one is set and
where it comes from), the ``cadre doctor`` report run on demand, the LTI tool (its platforms, added by
Moodle's dynamic registration or here by hand, and its keys, rotated here), and the console's users."""

from __future__ import annotations

import dataclasses

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from ..config import ConfigError
from ..db import session_scope
from ..moodle import client_from_settings
from ..rendering import render
from ..services.lti.keys import key_views, rotate
from ..services.lti.placement import placement
from ..services.lti.platforms import PlatformDetails, PlatformError, remove_platform, save_platform
from ..services.lti.registration import tool_urls
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
            form_url: str | None = None, lti_error: str | None = None,
            lti_form: dict[str, str] | None = None) -> tuple[str, int]:
    current = effective(settings())
    with session_scope(settings().database_url) as db:
        found = connection(db, settings())
        users = list_users(db)
        keys = key_views(db)
    tool = placement(current.database_url, current.public_base_url, current.moodle_url)
    return render_template("settings/index.html", connection=found, users=users, report=report, error=error,
                           form_url=form_url if form_url is not None else found.url, lti=tool, lti_keys=keys,
                           lti_urls=tool_urls(current.public_base_url), lti_error=lti_error,
                           lti_form=lti_form or {}), status


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


LTI_FIELDS = ("name", "issuer", "client_id", "deployment_ids", "auth_login_url", "auth_token_url",
              "keyset_url")


@blueprint.post("/lti/platforms")
@allow(ADMIN)
def add_platform() -> Response | tuple[str, int]:
    """A platform entered by hand (one that cannot register the tool itself)."""
    form = {name: request.form.get(name, "").strip() for name in LTI_FIELDS}
    details = PlatformDetails(issuer=form["issuer"], client_id=form["client_id"],
                              deployments=tuple(form["deployment_ids"].replace("，", ",").split(",")),
                              auth_login_url=form["auth_login_url"], auth_token_url=form["auth_token_url"],
                              keyset_url=form["keyset_url"], name=form["name"])
    try:
        with session_scope(settings().database_url) as db:
            save_platform(db, details, actor=actor())
    except PlatformError as exc:
        return _render(lti_error=gettext("%(field)s: %(error)s", field=_lti_field(exc.field),
                                         error=say(exc.message)), status=400, lti_form=form)
    flash(gettext("The platform was saved."), "info")
    return redirect(url_for("settings.index") + "#lti")


def _lti_field(name: str) -> str:
    return {"issuer": gettext("Issuer"), "client_id": gettext("Client id"),
            "deployment_id": gettext("Deployment ids"), "auth_login_url": gettext("Login address"),
            "auth_token_url": gettext("Token address"),
            "keyset_url": gettext("Key set address")}.get(name, name)


@blueprint.post("/lti/platforms/<int:platform_id>/remove")
@allow(ADMIN)
def remove_lti_platform(platform_id: int) -> Response:
    with session_scope(settings().database_url) as db:
        removed = remove_platform(db, platform_id, actor=actor())
    flash(gettext("The platform was removed: its launches are refused from now on.") if removed
          else gettext("Nothing changed."), "info")
    return redirect(url_for("settings.index") + "#lti")


@blueprint.post("/lti/rotate")
@allow(ADMIN)
def rotate_lti_keys() -> Response:
    with session_scope(settings().database_url) as db:
        new, _replaced = rotate(db, settings().secret_key, actor=actor())
    flash(gettext("New signing key %(kid)s; the previous one stays published for a day, then retires.",
                  kid=new), "info")
    return redirect(url_for("settings.index") + "#lti")
