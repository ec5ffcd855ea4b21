"""Who may see what: sign-in, the roles, and the cadres a reader's pages are limited to.

Every request passes ``gate`` first. It lets through only the sign-in page, static files and the
public verification page; everything else needs a signed-in user whose session still stands (not
disabled, no new password since) and whose role the view allows with ``@allow``. A view without
``@allow`` answers 403 to everyone: a page added without a role check is closed, not open.
A blueprint that authenticates its own requests (a token API) is named with ``self_authenticated``.

Roles: an admin sees and does everything; an officer reads the records and reports of their
departments; a reviewer (a school leader) reads the cadres the plan has them review.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from ..config import Settings
from ..db import session_scope
from ..services.platform.console_users import UserView, current
from ..services.read_models.scope import EVERYTHING, Scope, reviewer_scope

ADMIN, OFFICER, REVIEWER = "admin", "officer", "reviewer"
EVERYONE = (ADMIN, OFFICER, REVIEWER)
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})
PUBLIC_BLUEPRINTS = frozenset({"verify"})
_self_authenticated: set[str] = set()

View = TypeVar("View", bound=Callable[..., Any])


def allow(*roles: str) -> Callable[[View], View]:
    """The roles that may open the view."""
    unknown = set(roles) - set(EVERYONE)
    if unknown or not roles:
        raise ValueError(f"roles must be among {EVERYONE}, not {sorted(unknown) or 'none'}")

    def mark(view: View) -> View:
        view._cadre_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


def self_authenticated(blueprint_name: str) -> None:
    """Requests to this blueprint authenticate themselves (e.g. with an API token): the gate lets
    them through without a console session."""
    _self_authenticated.add(blueprint_name)


def settings() -> Settings:
    found: Settings = current_app.config["CADRE_SETTINGS"]
    return found


def public(endpoint: str | None) -> bool:
    if endpoint is None:
        return True  # no route: the 404 follows
    blueprint = endpoint.rpartition(".")[0]
    return (endpoint in PUBLIC_ENDPOINTS or endpoint.endswith(".static") or blueprint in PUBLIC_BLUEPRINTS
            or blueprint in _self_authenticated)


def signed_in() -> UserView | None:
    """The user of this request's session, if it still stands."""
    if "user" in g:
        found: UserView | None = g.user
        return found
    user = None
    uid, version = session.get("uid"), session.get("ver")
    if isinstance(uid, int) and isinstance(version, int):
        with session_scope(settings().database_url) as db:
            user = current(db, uid, version)
        if user is None:
            session.clear()
    g.user = user
    return user


def gate() -> Response | None:
    endpoint = request.endpoint
    if public(endpoint):
        return None
    user = signed_in()
    if user is None:
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(401)
    view = current_app.view_functions.get(endpoint or "")
    roles = getattr(view, "_cadre_roles", None)
    if roles is None or user.role not in roles:
        abort(403)
    return None


def user() -> UserView:
    """The signed-in user (the gate has made sure there is one)."""
    found = signed_in()
    if found is None:
        abort(401)
    return found


def actor() -> str:
    """How the audit log names the signed-in user."""
    return f"console:{user().username}"


def scope(year: int | None) -> Scope:
    """The cadres the signed-in user may see in ``year``."""
    who = user()
    if who.role == ADMIN:
        return EVERYTHING
    if who.role == OFFICER:
        return Scope(departments=frozenset(who.departments))
    with session_scope(settings().database_url) as db:
        return reviewer_scope(db, year, who.employee_no or "")
