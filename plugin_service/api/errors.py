"""The API's one error format, for every error under ``/api/`` (a route's own, routing's, Flask's):

``{"error": {"status": 404, "code": "not_found", "message": "...", "details": [...]}}``

``details`` lists problems with their place where there are some (a roster's line and column, a query
argument). Nothing internal is ever shown: an unexpected error is a 500 with a generic message and
the detail in the server's log.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)
API_PREFIX = "/api/"
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "too_large",
         415: "unsupported_media_type", 422: "invalid", 429: "too_many_requests", 500: "server_error"}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    response = jsonify({"error": {"status": status, "code": CODES.get(status, "error"), "message": message,
                                  "details": details or []}})
    response.status_code = status
    return response


def _details(error: HTTPException) -> list[dict[str, Any]]:
    """The problems attached to the error: a view's own (``errors={"problems": [...]}``), or the
    argument problems webargs attaches to a 422, one entry per field and message."""
    data = getattr(error, "data", None) or {}
    own = (data.get("errors") or {}).get("problems")
    if own is not None:
        return list(own)
    messages = data.get("messages", {})
    found = []
    for location, fields in (messages or {}).items():
        for name, problems in (fields or {}).items():
            for problem in problems if isinstance(problems, list) else [problems]:
                found.append({"where": f"{location}.{name}", "message": str(problem)})
    return found


def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return error_response(500, "the server could not answer; the error is in its log")
    data = getattr(error, "data", None) or {}
    message = str(data.get("message") or "") or error.description or error.name
    if status == 422 and "messages" in data:
        message = "the request's arguments are not valid"
    response = error_response(status, message, _details(error))
    if status == 405 and error.get_headers():
        for name, value in error.get_headers():
            if name.lower() == "allow":
                response.headers["Allow"] = value
    return response


def unexpected_error(error: Exception) -> Response:
    log.exception("API request failed", exc_info=error)
    return http_error(InternalServerError())
