"""The one place a web-service request is sent and its answer judged.

Every body is checked for ``exception`` whatever the HTTP status, because Moodle answers errors with 200 on
some versions and 4xx on others. The token travels in the POST body only (never in a URL that lands in
access logs) and is never put in a log line, an exception or a ``repr``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from . import errors
from .encoding import FormPairs

log = logging.getLogger("moodle_bridge")

SERVER_PATH = "/webservice/rest/server.php"

SessionFactory = Callable[[], requests.Session]


class Transport:
    """Posts form-encoded calls to one site with one token, a session per thread."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float,
        session_factory: SessionFactory = requests.Session,
    ) -> None:
        self.endpoint = url.rstrip("/") + SERVER_PATH
        self._token = token
        self.timeout = timeout
        self._session_factory = session_factory
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        #: How far the site's clock is ahead of ours (seconds), as its last answer's ``Date`` told it.
        self.clock_offset: float | None = None

    def __repr__(self) -> str:
        return f"Transport({self.endpoint!r}, token=***)"

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._session_factory()
            self._local.session = session
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Closes every thread's session; a later call opens a new one."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        self._local = threading.local()
        for session in sessions:
            session.close()

    def post(self, wsfunction: str, pairs: FormPairs) -> Any:
        """Sends one call; returns the decoded JSON or raises a ``MoodleError``."""
        data = [
            ("wstoken", self._token),
            ("wsfunction", wsfunction),
            ("moodlewsrestformat", "json"),
            *pairs,
        ]
        try:
            response = self._session().post(self.endpoint, data=data, timeout=self.timeout)
        except requests.Timeout:
            raise errors.TransientError(
                f"no answer within {self.timeout:g} s", wsfunction=wsfunction
            ) from None
        except requests.RequestException as exc:
            raise errors.TransientError(
                f"cannot reach {self.endpoint} ({_reason(exc)})", wsfunction=wsfunction
            ) from None
        self._note_clock(response.headers.get("Date"))
        status, content_type = response.status_code, response.headers.get("Content-Type", "")
        owned = [response.content]
        del response  # the answer's bytes are now ``owned``'s alone, for ``_judge`` to let go early
        return _judge(wsfunction, status, content_type, owned)

    def _note_clock(self, date: str | None) -> None:
        """Keeps how the site's clock differs from ours: the ``Date`` header its web server stamps on an
        answer is the clock Moodle writes its times with (to the second)."""
        if not date:
            return
        try:
            moment = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            return
        if moment.tzinfo is None:
            return
        self.clock_offset = moment.timestamp() - time.time()

    def site_time(self) -> datetime | None:
        """The site's clock now (naive UTC, to the second), or None before any answer told it."""
        offset = self.clock_offset
        if offset is None:
            return None
        return datetime.fromtimestamp(time.time() + offset, UTC).replace(tzinfo=None, microsecond=0)


def judge(wsfunction: str, status: int, content_type: str, content: bytes) -> Any:
    """Turns an HTTP answer into the function's result or the matching ``MoodleError``."""
    return _judge(wsfunction, status, content_type, [content])


def _judge(wsfunction: str, status: int, content_type: str, owned: list[bytes]) -> Any:
    """``judge`` for an answer whose bytes ``owned`` alone holds: they are let go once read as text,
    before the JSON is built, so an answer of tens of megabytes (a course's grades, a year's reflections)
    is never held as bytes, text and objects at once."""
    content = owned.pop()
    head, size = content[:200], len(content)
    try:
        text: str | None = content.decode("utf-8-sig")  # as json.loads reads bytes, a BOM included
    except UnicodeDecodeError:
        text = None
    del content
    try:
        body = (json.loads(text) if text.strip() else None) if text is not None else _NOT_JSON
    except ValueError:
        body = _NOT_JSON
    del text
    if isinstance(body, dict) and ("exception" in body or "errorcode" in body):
        raise errors.from_response(wsfunction, body)
    if status >= 500:
        raise errors.TransientError(f"HTTP {status} from the server", wsfunction=wsfunction)
    if body is _NOT_JSON and head.lstrip()[:1] in (b"{", b"["):
        raise errors.TruncatedAnswerError(_describe_non_json(status, content_type, head, size),
                                          wsfunction=wsfunction)
    if body is _NOT_JSON:
        raise errors.ProtocolError(_describe_non_json(status, content_type, head, size),
                                   wsfunction=wsfunction)
    if status == 403 and body is None:
        raise errors.ProtocolError("HTTP 403 with an empty body: the site's web services or its REST "
                                   "protocol are disabled", wsfunction=wsfunction)
    if status >= 400:
        raise errors.ProtocolError(f"HTTP {status} without a Moodle error body",
                                   wsfunction=wsfunction)
    return body


_NOT_JSON = object()

_REASONS = (
    ("Connection refused", "connection refused"),
    ("Name or service not known", "unknown host name"),
    ("nodename nor servname", "unknown host name"),
    ("Temporary failure in name resolution", "host name lookup failed"),
    ("Connection reset", "connection reset"),
    ("RemoteDisconnected", "the server closed the connection"),
    ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"),
)


def _reason(exc: requests.RequestException) -> str:
    text = str(exc)
    for needle, reason in _REASONS:
        if needle in text:
            return reason
    return type(exc).__name__


def _describe_non_json(status: int, content_type: str, first: bytes, size: int) -> str:
    """What an answer that is not JSON is, from its first bytes and its size."""
    head = first[:200].lstrip().lower()
    if head.startswith(b"<!doctype html") or head.startswith(b"<html") or "html" in content_type:
        return f"the answer is an HTML page (HTTP {status}), not a Moodle web service"
    if head.startswith(b"<?xml"):
        return "the answer is XML: the site ignored moodlewsrestformat=json"
    if head.startswith(b"{") or head.startswith(b"["):
        return f"the JSON answer is truncated or malformed ({size} bytes)"
    return f"the answer is not JSON (HTTP {status}, {content_type or 'no content type'})"
