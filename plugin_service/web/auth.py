"""Signing in and out. A sign-in starts a fresh session (nothing of the anonymous one is kept) that
carries the user's id and session version; sign-in attempts are limited per client address."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from ..db import session_scope
from ..services.platform.console_users import authenticate
from .access import EVERYONE, allow, settings, signed_in

blueprint = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (an open redirect)."""
    if not target:
        return url_for("dashboard.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("dashboard.index")
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        if signed_in() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("auth/login.html", next=request.args.get("next", ""), username="")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    with session_scope(settings().database_url) as db:
        user = authenticate(db, username, password) if username and password else None
    if user is None:
        flash(gettext("Wrong user name or password, or the user is disabled."), "error")
        return render_template("auth/login.html", next=request.form.get("next", ""), username=username), 401
    session.clear()
    session.permanent = True
    session["uid"], session["ver"] = user.id, user.session_version
    return redirect(_safe_next(request.form.get("next")))


@blueprint.post("/logout")
@allow(*EVERYONE)
def logout() -> Response:
    session.clear()
    flash(gettext("You have signed out."), "info")
    return redirect(url_for("auth.login"))
