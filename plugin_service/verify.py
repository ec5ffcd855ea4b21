"""The public verification page ``/verify/<serial>``: whoever holds a certificate (or scans its QR code)
can check that it is genuine and still stands, without signing in.

It shows whether the certificate is valid, superseded by a newer version (whose serial it does not
give) or revoked (on which day, not why), the name partly masked, the year and the hours: nothing that
identifies a cadre beyond what the paper shows to its holder. An unknown or malformed serial gets a
plain 404 page. Requests are limited per client address (``verify_rate_limit``, counted in the
broker's Redis, or where ``ratelimit_storage`` says); pages are never cached and carry a strict
content security policy: they have no script, and their only style is the inline sheet whose hash the
policy names.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, Response, abort, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import ConfigError, Settings
from .db import session_scope
from .rendering import render
from .services.documents.certificate_views import verification
from .services.documents.serials import canonical, display

blueprint = Blueprint("verify", __name__)
STYLESHEET = Path(__file__).resolve().parent.parent / "templates" / "public" / "verify.css"


@cache
def stylesheet() -> tuple[Markup, str]:
    """The page's style sheet and its CSP source expression."""
    css = STYLESHEET.read_text("utf-8").strip()
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return Markup(css), f"'sha256-{digest}'"


def _hours(value: float) -> str:
    value = round(value, 2)
    return str(int(value)) if value.is_integer() else str(value)


def _page(name: str, status: int, **values: object) -> Response:
    css, _ = stylesheet()
    return Response(render(f"public/{name}", css=css, **values), status=status,
                    content_type="text/html; charset=utf-8")


@blueprint.get("/verify/<path:serial>")
def verify(serial: str) -> Response:
    settings: Settings = current_app.config["CADRE_SETTINGS"]
    if canonical(serial) is None:
        abort(404)
    with session_scope(settings.database_url) as session:
        found = verification(session, serial)
    if found is None:
        abort(404)
    stored = canonical(serial)
    assert stored is not None
    return _page("verify.html", 200, found=found, serial=display(stored),
                 total_hours=_hours(found.total_hours), required_hours=_hours(found.required_hours),
                 elective_hours=_hours(found.elective_hours), offline_hours=_hours(found.offline_hours))


@blueprint.errorhandler(404)
def not_found(_error: HTTPException) -> Response:
    return _page("404.html", 404)


@blueprint.errorhandler(429)
def too_many(_error: HTTPException) -> Response:
    settings: Settings = current_app.config["CADRE_SETTINGS"]
    response = _page("429.html", 429)
    response.headers["Retry-After"] = str(parse(settings.verify_rate_limit).get_expiry())
    return response


@blueprint.after_request
def security_headers(response: Response) -> Response:
    _, style = stylesheet()
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src {style}; img-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def init_verify(app: Flask, settings: Settings) -> Limiter:
    """Registers the page and its rate limiter on ``app``."""
    try:
        parse(settings.verify_rate_limit)
    except ValueError:
        raise ConfigError(f"verify_rate_limit: {settings.verify_rate_limit!r} is not a rate such as "
                          "30/minute or 100/hour") from None
    if settings.trusted_proxies > 0:  # the client's address and scheme as the proxies saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=settings.trusted_proxies)
    limiter = Limiter(get_remote_address, app=app,
                      storage_uri=settings.ratelimit_storage or settings.broker_url,
                      in_memory_fallback_enabled=True, headers_enabled=False, key_prefix="cadre-verify",
                      strategy="fixed-window")
    limiter.limit(settings.verify_rate_limit)(blueprint)
    app.register_blueprint(blueprint)
    return limiter
