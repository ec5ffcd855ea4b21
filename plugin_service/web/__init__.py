"""The admin console: server-rendered pages of the organisation department, Chinese first.

``init_console`` binds it to the app: Babel, CSRF on every form, the sign-in gate in front of every
page (``access``), the areas' blueprints, error pages that never show a stack trace, and security
headers (a content security policy without inline script or style, no framing, no caching of pages
with personal data).
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlencode

from flask import Blueprint, Flask, g, render_template, request
from flask_babel import gettext
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ..config import Settings
from . import audit, auth, bulletins, cadres, dashboard, inputs, jobs, offline, reports, settings, users
from .access import gate, public, signed_in
from .extensions import LANG_COOKIE, babel, choose_language, csrf, locale
from .formatting import install

assets = Blueprint("assets", __name__, static_folder="static", static_url_path="/assets")
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
LOGIN_RATE_LIMIT = "10/minute"
#: Blueprints that set their own security headers: the public verification page, and the LTI tool's
#: pages, which Moodle frames.
OWN_HEADERS = frozenset({"verify", "lti"})


def init_console(app: Flask, settings_: Settings, limiter: Limiter) -> None:
    app.config.setdefault("CADRE_LOGIN_RATE_LIMIT", LOGIN_RATE_LIMIT)
    app.config.update(
        SESSION_COOKIE_NAME="cadre_session", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings_.public_base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=8), WTF_CSRF_TIME_LIMIT=8 * 3600,
        BABEL_DEFAULT_LOCALE="zh", BABEL_DEFAULT_TIMEZONE=settings_.moodle_timezone or "Asia/Shanghai",
        MAX_CONTENT_LENGTH=32 * 1024 * 1024)
    babel.init_app(app, locale_selector=locale)
    app.before_request(choose_language)
    app.before_request(gate)  # before CSRF: an anonymous post is refused as anonymous
    csrf.init_app(app)
    install(app)
    app.register_blueprint(assets)
    for module in (auth, dashboard, inputs, jobs, cadres, reports, bulletins, offline, audit, settings,
                   users):
        app.register_blueprint(module.blueprint)
    app.view_functions["auth.login"] = limiter.limit(
        lambda: str(app.config["CADRE_LOGIN_RATE_LIMIT"]), methods=["POST"], key_func=_client,
        scope="console-login")(auth.login)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)
    app.after_request(_headers)
    app.context_processor(lambda: {"current_user": signed_in() if not public(request.endpoint) else None,
                                   "lang": locale(), "lang_url": _lang_url})


def _lang_url(code: str) -> str:
    """This page in another language."""
    args = request.args.to_dict()
    args["lang"] = code
    return f"{request.path}?{urlencode(args)}"


def _client() -> str:
    return request.remote_addr or "unknown"


def _page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return _page(400, gettext("The form has expired"),
                 gettext("The form was sent without its security token or after it expired. Go back, "
                         "reload the page and send it again."))


def _http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
    if request.blueprint == "verify" or error.code is None or error.code < 400:
        return error
    messages = {
        400: (gettext("Bad request"), gettext("The request could not be understood.")),
        401: (gettext("Please sign in"), gettext("This page needs a signed-in user.")),
        403: (gettext("Not allowed"), gettext("Your role does not allow this page. Ask an administrator "
                                              "if you need it.")),
        404: (gettext("Not found"), gettext("There is no such page, or nothing you may see here.")),
        405: (gettext("Not allowed"), gettext("This page cannot be used that way.")),
        413: (gettext("File too large"), gettext("The file is larger than the console accepts (32 MB).")),
        429: (gettext("Too many attempts"), gettext("Too many attempts from your address. Wait a minute and "
                                                    "try again.")),
    }
    title, message = messages.get(error.code, (gettext("Error"), gettext("The request failed.")))
    return _page(error.code, title, message)


def _server_error(error: Exception) -> tuple[str, int]:
    logging.getLogger(__name__).exception("console error on %s", request.path)
    return _page(500, gettext("Something went wrong"),
                 gettext("The page could not be shown. The error was logged; try again, and tell the "
                         "administrator if it persists."))


def _headers(response: Response) -> Response:
    if request.blueprint in OWN_HEADERS:
        return response
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not (request.endpoint or "").endswith(".static"):
        response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
    if g.get("lang_changed"):
        response.set_cookie(LANG_COOKIE, g.lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response
