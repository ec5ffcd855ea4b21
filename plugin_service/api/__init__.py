"""The JSON API for other systems (HR, OA) under ``/api/v1``: token auth, an OpenAPI document at
``/api/v1/openapi.json`` (for a token or a signed-in console user), one error format
(``api.errors``). It is CSRF-exempt (no cookies are used: every request carries its token)."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from ..db import session_scope
from ..services.platform.api_tokens import recognise
from ..web.access import self_authenticated, settings, signed_in
from ..web.extensions import csrf
from .errors import error_response, http_error, is_api_request, unexpected_error
from .schemas import ApiErrorSchema
from .views import blp

__all__ = ["api_error", "error_response", "init_api", "is_api_request"]


class _Api(Api):  # flask-smorest ships no types: Api is Any here
    ERROR_SCHEMA = ApiErrorSchema  # documented error responses are the API's own format
    def _register_error_handlers(self) -> None:
        """The app's own handlers answer in the API's format under /api/ (see ``init_api``)."""


def init_api(app: Flask) -> Api:
    app.config.update(API_TITLE="Cadre Companion API", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
                      OPENAPI_URL_PREFIX="/api/v1", OPENAPI_JSON_PATH="openapi.json")
    api = _Api(app, spec_kwargs={"components": {"securitySchemes": {
        "token": {"type": "http", "scheme": "bearer"}}}, "security": [{"token": []}]})
    api.register_blueprint(blp)
    for name in ("api", "api-docs"):
        self_authenticated(name)
    csrf.exempt(blp)
    app.before_request_funcs.setdefault("api-docs", []).append(_docs_reader)
    _answer_errors_under_api(app)
    return api


def _answer_errors_under_api(app: Flask) -> None:
    """Under /api/ every error answers in the API's format; elsewhere the handlers registered before
    (the console's pages) still answer."""
    handlers = app.error_handler_spec.setdefault(None, {}).setdefault(None, {})
    for kind in (HTTPException, Exception):
        before = handlers.get(kind)

        def handle(error: Exception, before: Any = before) -> Any:
            answer = api_error(error)
            if answer is not None:
                return answer
            return before(error) if before is not None else error

        app.register_error_handler(kind, handle)


def _docs_reader() -> None:
    """The OpenAPI document is for a token's holder or a signed-in console user, nobody else."""
    if signed_in() is not None:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        with session_scope(settings().database_url) as session:
            if recognise(session, token.strip()) is not None:
                return
    abort(401, description="the API's document needs a token (Authorization: Bearer) or a console sign-in")


def api_error(error: Exception) -> Any:
    """The API's answer to an error under /api/ (None elsewhere: the console's pages answer those)."""
    if not is_api_request():
        return None
    if isinstance(error, HTTPException):
        return http_error(error)
    return unexpected_error(error)
