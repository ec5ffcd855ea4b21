"""The LTI 1.3 protocol's endpoints: the OIDC login (``/lti/login``), the launch (``/lti/launch``), the
tool's key set (``/lti/jwks.json``) and dynamic registration (``/lti/register``).

A valid launch ends in a 303 to ``/lti/home`` with the viewer's page token; it starts no cookie session
(Moodle's iframe may refuse cookies). A refused one gets the tool's error page with its 4xx status and
nothing else: no data, nothing stored but a log line without secrets (and, for a launch whose signature
held, an audit row). The platform's POSTs carry no CSRF token: the launch is protected by its signed
id_token and the single-use state instead.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from functools import cache
from typing import Any
from urllib.parse import urlencode

import jwt
from flask import current_app, g, jsonify, redirect, render_template, request
from flask_babel import gettext, refresh
from markupsafe import Markup
from werkzeug.wrappers import Response

from ..db import session_scope
from ..models import AuditLog
from ..services.lti import gradebook
from ..services.lti.identity import identify, locale_of
from ..services.lti.keys import published
from ..services.lti.launches import CLAIM, validate_launch
from ..services.lti.login import consume_state, start_login
from ..services.lti.registration import RegistrationError, register, tool_urls
from ..services.lti.rejections import LaunchRejected
from ..services.lti.viewer import Viewer, sign_viewer
from ..web.extensions import DEFAULT_LANGUAGE, LANGUAGES
from ..web.formatting import say
from . import blueprint
from .page_frame import frame_origins, settings

log = logging.getLogger(__name__)
#: Rejections that come after the platform's signature held: worth an audit row (a forger cannot make
#: the tool write them).
AUDITED = frozenset({"deployment", "message_type", "not_connected", "unknown_user", "identity_conflict"})
CLOSE_SCRIPT = "(window.opener || window.parent).postMessage({subject: 'org.imsglobal.lti.close'}, '*');"


@cache
def close_script() -> tuple[Markup, str]:
    """The script that tells Moodle the registration is over, and its CSP source expression."""
    digest = base64.b64encode(hashlib.sha256(CLOSE_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    return Markup(CLOSE_SCRIPT), f"'sha256-{digest}'"


def _language(preferred: str | None = None) -> None:
    lang = (
        preferred
        if preferred in LANGUAGES
        else (request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE)
    )
    g.lang, g.lang_changed = lang, False
    refresh()


def _messages() -> dict[str, tuple[str, str]]:
    """kind -> (title, what happened and what to do), in the reader's language."""
    again = gettext("Go back to the course in Moodle and open the Cadre Companion activity again.")
    admin = gettext("Tell the Moodle administrator or the organisation department.")
    return {
        "login": (
            gettext("The sign-in could not start"),
            gettext("The request to sign in through Moodle is incomplete.") + " " + again,
        ),
        "platform": (
            gettext("This site is not registered"),
            gettext(
                "The tool was opened from a Moodle site (or a registration of it) that Cadre "
                "Companion does not know."
            )
            + " "
            + admin,
        ),
        "deployment": (
            gettext("This installation of the tool is not registered"),
            gettext("The Moodle site is known, but not this installation of the tool in it.") + " " + admin,
        ),
        "state": (
            gettext("The sign-in has expired"),
            gettext("The sign-in took too long or did not start here, so it cannot be finished.")
            + " "
            + again,
        ),
        "replay": (
            gettext("This sign-in was already used"),
            gettext(
                "Each opening of the tool can be used once. A page reloaded or sent again cannot "
                "sign you in."
            )
            + " "
            + again,
        ),
        "token": (
            gettext("The sign-in is incomplete"),
            gettext("Moodle's answer lacks what the sign-in needs.") + " " + again,
        ),
        "signature": (
            gettext("The sign-in could not be verified"),
            gettext("The answer was not signed by the Moodle site the tool trusts.") + " " + admin,
        ),
        "expired": (
            gettext("The sign-in has expired"),
            gettext("Moodle's answer arrived too late (or the clocks of the two servers differ).")
            + " "
            + again,
        ),
        "audience": (
            gettext("The sign-in was meant for another tool"),
            gettext("Moodle's answer names another tool than Cadre Companion.") + " " + admin,
        ),
        "message_type": (
            gettext("This kind of link is not supported"),
            gettext(
                "Cadre Companion opens from an activity link only (not from content "
                "selection or other requests)."
            )
            + " "
            + admin,
        ),
        "platform_error": (
            gettext("Moodle refused the sign-in"),
            gettext("Moodle did not let this sign-in through (are you still signed in to Moodle?).")
            + " "
            + again,
        ),
        "platform_keys": (
            gettext("Moodle's keys could not be read"),
            gettext("The tool could not fetch the keys of the Moodle site to verify the sign-in.")
            + " "
            + admin,
        ),
        "not_connected": (
            gettext("Opened from another Moodle site"),
            gettext(
                "Cadre Companion shows its records only inside the Moodle site it works with, not this one."
            )
            + " "
            + admin,
        ),
        "unknown_user": (
            gettext("Your account cannot be recognised"),
            gettext("Moodle did not say which of its users you are.") + " " + admin,
        ),
        "identity_conflict": (
            gettext("Your account cannot be matched"),
            gettext(
                "The Moodle account's details name different people in Cadre Companion, "
                "so nothing is shown."
            )
            + " "
            + admin,
        ),
        "registration": (gettext("The registration did not complete"), ""),
    }


def error_page(
    kind: str, status: int, *, detail: str = "", headers: dict[str, str] | None = None
) -> Response:
    title, message = _messages()[kind]
    response = Response(
        render_template(
            "lti/error.html", kind=kind, status=status, title=title, message=message, detail=detail
        ),
        status=status,
        content_type="text/html; charset=utf-8",
    )
    response.headers.update(headers or {})
    return response


def _refused(exc: LaunchRejected, stage: str, who: dict[str, Any] | None = None) -> Response:
    who = who or {}
    log.warning(
        "LTI %s refused (%s): %s %s",
        stage,
        exc.kind,
        exc.detail,
        " ".join(f"{k}={v}" for k, v in who.items() if v),
    )
    if exc.kind in AUDITED:
        with session_scope(settings().database_url) as session:
            session.add(
                AuditLog(
                    actor="lti",
                    action=f"lti:refused:{exc.kind}",
                    target=str(who.get("iss", ""))[:255],
                    outcome="failed",
                    detail={
                        "detail": exc.detail[:500],
                        **{k: str(v)[:100] for k, v in who.items() if k != "iss" and v},
                    },
                )
            )
    return error_page(exc.kind, exc.status)


def _unverified(token: str) -> dict[str, Any]:
    """What the id_token says before it is checked: for the log and the page's language only."""
    try:
        body = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}
    return body if isinstance(body, dict) else {}


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Response:
    """Third-party initiated login: back to the platform's authorization endpoint with a new state."""
    _language()
    params = request.values.to_dict()  # the first value of each
    current = settings()
    try:
        with session_scope(current.database_url) as session:
            url = start_login(
                session,
                params,
                launch_url=tool_urls(current.public_base_url).launch,
                secure=request.is_secure,
            )
    except LaunchRejected as exc:
        return _refused(
            exc,
            "login",
            {"iss": params.get("iss", "")[:200], "client_id": params.get("client_id", "")[:100]},
        )
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/launch")
def launch() -> Response:
    """The platform's form post with the id_token: checked, matched to a person, and on to their page."""
    form = request.form.to_dict()  # the first value of each
    claims = _unverified(form.get("id_token", ""))
    presentation = claims.get(CLAIM + "launch_presentation")
    asked = presentation.get("locale") if isinstance(presentation, dict) else None
    _language(
        "en"
        if isinstance(asked, str) and asked.lower().startswith("en")
        else "zh"
        if isinstance(asked, str) and asked.lower().startswith("zh")
        else None
    )
    who = {
        "iss": claims.get("iss", ""),
        "sub": claims.get("sub", ""),
        "deployment": claims.get(CLAIM + "deployment_id", ""),
    }
    current = settings()
    try:
        if form.get("error") and not form.get("id_token"):
            raise LaunchRejected("platform_error", f"the platform answered {form['error'][:60]!r}")
        with session_scope(current.database_url) as session:  # committed at once: used even if refused
            state = consume_state(session, form.get("state", ""))
            nonce, platform_id = state.nonce_sha256, state.platform_id
        with session_scope(current.database_url) as session:
            valid = validate_launch(
                session,
                form,
                expected_nonce_sha256=nonce,
                state_platform_id=platform_id,
                secure=request.is_secure,
            )
        with session_scope(current.database_url) as session:
            person = identify(
                session, valid, moodle_url=current.moodle_url, namespace=current.moodle_namespace
            )
            gradebook.remember(session, valid, person)
    except LaunchRejected as exc:
        return _refused(exc, "launch", who)
    context = valid.claim("context") or {}
    course = str(context.get("id", "")) if isinstance(context, dict) else ""
    presentation = valid.claim("launch_presentation") or {}
    back = presentation.get("return_url") if isinstance(presentation, dict) else None
    viewer = Viewer(
        platform_id=valid.platform_id,
        deployment_id=valid.deployment_id,
        moodle_userid=person.moodle_userid,
        employee_no=person.employee_no,
        name=person.name,
        roles=person.roles,
        departments=person.departments,
        locale=locale_of(valid),
        course_id=int(course) if course.isdigit() else None,
        return_url=back if isinstance(back, str) and back.startswith(("https://", "http://")) else None,
    )
    token = sign_viewer(viewer, current_app.config["SECRET_KEY"])
    log.info(
        "LTI launch: Moodle user %s (%s) as %s",
        person.moodle_userid,
        person.employee_no or "no cadre",
        ",".join(person.roles) or "nobody known",
    )
    response = redirect(f"{request.script_root}/lti/home?{urlencode({'t': token})}", 303)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/jwks.json")
def jwks() -> Response:
    """The tool's public keys, as the platform verifies its service-token requests."""
    current = settings()
    with session_scope(current.database_url) as session:
        keyset = published(session, current.secret_key)
    response = jsonify(keyset)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@blueprint.get("/register")
def register_tool() -> Response:
    """Dynamic registration, opened by Moodle (Manage tools > Add LTI Advantage) in the admin's browser."""
    _language()
    current = settings()
    script, script_source = close_script()
    csp = (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        f"script-src {script_source}; frame-ancestors {' '.join(frame_origins())}"
    )
    try:
        with session_scope(current.database_url) as session:
            done = register(
                session,
                configuration_url=request.args.get("openid_configuration", ""),
                token=request.args.get("registration_token", ""),
                public_base_url=current.public_base_url,
                moodle_url=current.moodle_url,
            )
    except RegistrationError as exc:
        log.warning("LTI registration refused: %s", exc)
        return error_page(
            "registration", 400, detail=say(exc.message), headers={"Content-Security-Policy": csp}
        )
    log.info(
        "LTI tool registered with %s (client %s, deployment %s)",
        done.issuer,
        done.client_id,
        done.deployment_id,
    )
    response = Response(
        render_template(
            "lti/registered.html", done=done, script=script, urls=tool_urls(current.public_base_url)
        ),
        content_type="text/html; charset=utf-8",
    )
    response.headers["Content-Security-Policy"] = csp
    return response
