"""What every page of the tool shares: the viewer read from the page token, the language forced from the
viewer, links that carry the token, the headers that let Moodle (and only Moodle) frame the pages, and
the pages shown instead when the token is refused or something fails.

The token travels as the ``t`` parameter of every link and form, never in a cookie: Moodle shows the tool
in an iframe, where the browser may refuse the companion's cookies. Pages send no referrer, so the token
never leaves in a request to another site.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, render_template, request, url_for
from flask_babel import gettext, refresh
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ..config import Settings
from ..services.lti.viewer import Viewer, ViewerTokenError, load_viewer
from ..services.platform.site_settings import effective
from ..web.extensions import DEFAULT_LANGUAGE, LANGUAGES
from . import blueprint

TOKEN = "t"
ROLES = ("learner", "reviewer", "officer")
_ORIGIN = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")
log = logging.getLogger(__name__)

View = TypeVar("View", bound=Callable[..., Any])


def settings() -> Settings:
    """The settings with the Moodle connection as set in the console, once per request."""
    if "lti_settings" not in g:
        g.lti_settings = effective(current_app.config["CADRE_SETTINGS"])
    found: Settings = g.lti_settings
    return found


def viewer() -> Viewer:
    found: Viewer = g.lti_viewer
    return found


def roles() -> list[str]:
    """The viewer's roles the pages know, in the order their tabs show; a learner needs a cadre."""
    who = viewer()
    return [role for role in ROLES if role in who.roles and (role != "learner" or who.employee_no)]


def lti_url(endpoint: str, **values: Any) -> str:
    """A link to a page of the tool that carries the viewer's token."""
    return url_for(endpoint, **{TOKEN: g.lti_token, **values})


def _language(asked: str | None) -> str:
    return asked if asked in LANGUAGES else DEFAULT_LANGUAGE


def _use_language(lang: str) -> None:
    g.lang, g.lang_changed = lang, False
    refresh()  # Flask-Babel keeps the locale it chose for the request: choose again


def viewer_page(view: View) -> View:
    """The view runs for the viewer the token names, in the viewer's language; a token missing, altered
    or expired gets the page asking to open the tool again from Moodle."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        token = request.values.get(TOKEN, "")
        try:
            found = load_viewer(token, current_app.config["SECRET_KEY"])
        except ViewerTokenError as refused:
            _use_language(request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE)
            return refused_page(refused.expired)
        g.lti_viewer, g.lti_token = found, token
        _use_language(_language(found.locale))
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


def notice(status: int, title: str, message: str, *, again: bool = False) -> tuple[str, int]:
    """A page of the tool saying one thing; ``again``: it asks to open the tool again from Moodle."""
    return render_template("lti/notice.html", status=status, title=title, message=message,
                           again=again), status


def refused_page(expired: bool) -> tuple[str, int]:
    if expired:
        return notice(401, gettext("This page has expired"),
                      gettext("For your privacy the companion's pages stay open for two hours. Open the tool "
                              "again from your Moodle course to carry on."), again=True)
    return notice(401, gettext("This link is not valid"),
                  gettext("The address of this page is incomplete or was changed. Open the tool again from "
                          "your Moodle course."), again=True)


@blueprint.context_processor
def _page_values() -> dict[str, Any]:
    who = g.get("lti_viewer")
    tabs = []
    if who is not None:
        words = {"learner": gettext("My learning"), "reviewer": gettext("Reviewing"),
                 "officer": gettext("My departments")}
        pages = {"learner": "lti.home", "reviewer": "lti.reviewing", "officer": "lti.department"}
        tabs = [(pages[role], words[role]) for role in roles()]
    return {"viewer": who, "lti_url": lti_url if who is not None else None, "tabs": tabs,
            "lti_token": g.get("lti_token", ""),
            "lang": g.get("lang", DEFAULT_LANGUAGE)}


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    if error.code is None or error.code < 400:
        return error
    if error.code == 404:
        return notice(404, gettext("Not found"), gettext("There is no such page, or nothing of yours here."))
    if error.code == 405:
        return notice(405, gettext("Not allowed"), gettext("This page cannot be used that way."))
    if error.code == 413:
        return notice(413, gettext("File too large"),
                      gettext("The file is larger than the companion accepts."))
    return notice(error.code, gettext("Error"), gettext("The request failed."))


@blueprint.errorhandler(Exception)
def _server_error(error: Exception) -> tuple[str, int]:
    log.exception("LTI page error on %s", request.path)
    return notice(500, gettext("Something went wrong"),
                  gettext("The page could not be shown. The error was logged; try again, and tell the "
                          "organisation department if it persists."))


def frame_origins() -> list[str]:
    """Who may frame the pages: the companion itself and the Moodle site it serves."""
    url = settings().moodle_url.rstrip("/")
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return ["'self'", origin] if _ORIGIN.match(origin) else ["'self'"]


@blueprint.after_request
def _headers(response: Response) -> Response:
    """Framed by Moodle, not cached unless a view says otherwise (the public key set), no referrer: the
    token stays on these pages."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {' '.join(frame_origins())}")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response
