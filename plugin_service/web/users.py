"""The console's users (admins only): add one, give a new password, another role or scope, disable and
enable again. The rules are the service's (``services.platform.console_users``) and the same as the
``cadre user`` command's; a refusal shows its reason beside the form and changes nothing. A password is
read from the form only: it is never put back into a page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from ..db import session_scope
from ..services.platform.console_users import (
    MIN_PASSWORD,
    ROLES,
    UserError,
    UserView,
    change_role,
    check_repeated,
    create_user,
    disable_user,
    enable_user,
    find_user,
    list_users,
    set_password,
)
from ..services.read_models.reports import departments
from .access import ADMIN, actor, allow, settings, user
from .formatting import say

blueprint = Blueprint("users", __name__, url_prefix="/users")


@dataclass(frozen=True)
class ScopeForm:
    """A role and what it sees, as the form sent them: the departments count for an officer only and
    the employee number for a reviewer only, so that choosing another role needs no clearing of fields."""

    role: str
    departments: tuple[str, ...]
    employee_no: str

    @classmethod
    def read(cls) -> ScopeForm:
        role = request.form.get("role", "")
        chosen = tuple(request.form.getlist("departments"))
        employee_no = request.form.get("employee_no", "").strip()
        return cls(role, chosen if role == "officer" else (),
                   employee_no if role == "reviewer" else "")

    @classmethod
    def of(cls, found: UserView) -> ScopeForm:
        return cls(found.role, found.departments, found.employee_no or "")


def _passwords() -> tuple[str, str]:
    return request.form.get("password", ""), request.form.get("password_again", "")


def _warn(warnings: Sequence[str]) -> None:
    for warning in warnings:
        flash(say(warning), "warning")


def _choices(db_departments: list[str], form: ScopeForm | None) -> list[str]:
    """The stored cadres' departments, and those of the form that no stored cadre has (yet)."""
    extra = [d for d in (form.departments if form else ()) if d not in db_departments]
    return [*db_departments, *extra]


def _index(status: int = 200, error: str | None = None, username: str = "",
           form: ScopeForm | None = None) -> tuple[str, int]:
    with session_scope(settings().database_url) as db:
        users = list_users(db)
        known = departments(db)
    return render_template("users/index.html", users=users, roles=ROLES, departments=_choices(known, form),
                           error=error, username=username, form=form or ScopeForm("officer", (), ""),
                           min_password=MIN_PASSWORD), status


def _show(username: str, status: int = 200, errors: dict[str, str] | None = None,
          form: ScopeForm | None = None) -> tuple[str, int]:
    with session_scope(settings().database_url) as db:
        found = find_user(db, username)
        known = departments(db)
    if found is None:
        abort(404)
    form = form or ScopeForm.of(found)
    return render_template("users/show.html", shown=found, roles=ROLES, departments=_choices(known, form),
                           form=form, errors=errors or {}, me=user().username, min_password=MIN_PASSWORD
                           ), status


@blueprint.get("/")
@allow(ADMIN)
def index() -> tuple[str, int]:
    return _index()


@blueprint.post("/")
@allow(ADMIN)
def add() -> Response | tuple[str, int]:
    username = request.form.get("username", "").strip()
    form = ScopeForm.read()
    password, again = _passwords()
    try:
        check_repeated(password, again)
        with session_scope(settings().database_url) as db:
            created, warnings = create_user(db, username, password, role=form.role, actor=actor(),
                                            departments=form.departments, employee_no=form.employee_no)
    except UserError as exc:
        return _index(400, error=exc.message, username=username, form=form)
    flash(gettext("User %(name)s was added: they can sign in now.", name=created.username), "info")
    _warn(warnings)
    return redirect(url_for("users.index"))


@blueprint.get("/<username>")
@allow(ADMIN)
def show(username: str) -> tuple[str, int]:
    return _show(username)


@blueprint.post("/<username>/role")
@allow(ADMIN)
def change(username: str) -> Response | tuple[str, int]:
    form = ScopeForm.read()
    try:
        with session_scope(settings().database_url) as db:
            changed, warnings = change_role(db, username, role=form.role, departments=form.departments,
                                            employee_no=form.employee_no, actor=actor())
    except UserError as exc:
        return _show(username, 400, errors={"role": exc.message}, form=form)
    if changed:
        flash(gettext("The role and what %(name)s sees were changed.", name=username), "info")
        _warn(warnings)
    else:
        flash(gettext("Nothing changed."), "info")
    return redirect(url_for("users.show", username=username))


@blueprint.post("/<username>/password")
@allow(ADMIN)
def password(username: str) -> Response | tuple[str, int]:
    new, again = _passwords()
    try:
        check_repeated(new, again)
        with session_scope(settings().database_url) as db:
            changed = set_password(db, username, new, actor=actor())
    except UserError as exc:
        return _show(username, 400, errors={"password": exc.message})
    if changed.id == user().id:
        session["ver"] = changed.session_version  # this session goes on; the user's others have ended
        flash(gettext("Your password was changed; your other sessions have ended."), "info")
    else:
        flash(gettext("The password of %(name)s was changed; their sessions have ended.", name=username),
              "info")
    return redirect(url_for("users.show", username=username))


@blueprint.post("/<username>/disable")
@allow(ADMIN)
def disable(username: str) -> Response | tuple[str, int]:
    try:
        with session_scope(settings().database_url) as db:
            disable_user(db, username, actor=actor(), by=user().username)
    except UserError as exc:
        return _show(username, 400, errors={"state": exc.message})
    flash(gettext("User %(name)s was disabled: they cannot sign in, and their sessions have ended.",
                  name=username), "info")
    return redirect(url_for("users.show", username=username))


@blueprint.post("/<username>/enable")
@allow(ADMIN)
def enable(username: str) -> Response | tuple[str, int]:
    try:
        with session_scope(settings().database_url) as db:
            enable_user(db, username, actor=actor())
    except UserError as exc:
        return _show(username, 400, errors={"state": exc.message})
    flash(gettext("User %(name)s can sign in again.", name=username), "info")
    return redirect(url_for("users.show", username=username))
