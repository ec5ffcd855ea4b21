"""Log lines: plain text for a person at a terminal, or one JSON object per line for a log collector
(``CADRE_LOG_FORMAT=json``), and never a secret in either.

Each JSON line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``, and the ``job``,
``run`` and ``year`` it belongs to where known: the job runners set them (``job_context`` when a job
takes its lock, ``bind`` once its run has an id), and they hold for everything logged until the job
ends, Moodle calls included. A failure's traceback is in ``exception``.

``Redact`` sits on every handler ``configure`` installs (and on Celery's and gunicorn's): it replaces the
configured secrets (the Moodle tokens, the secret key, the metrics token, the passwords in the database
and broker URLs) wherever they appear, and
anything shaped like a token (a ``wstoken=``/``token=`` value, a bearer credential, an API token, a
32-hex Moodle token) in messages, their arguments and tracebacks.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .config import ConfigError, Settings

FORMATS = ("text", "json")
MASK = "***"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

JOB: contextvars.ContextVar[str | None] = contextvars.ContextVar("cadre_job", default=None)
RUN: contextvars.ContextVar[int | None] = contextvars.ContextVar("cadre_run", default=None)
YEAR: contextvars.ContextVar[int | None] = contextvars.ContextVar("cadre_year", default=None)

#: Token-shaped values, whatever the configuration: the value of a token parameter, a bearer
#: credential, the API's tokens (``cct_`` + 43 characters), a Moodle token (32 hex digits), and what the
#: LTI tool's addresses carry (an LTI registration token or id_token, a page token ``t``).
PATTERNS = (
    re.compile(r"(?i)(\b(?:ws)?token\b[\"']?\s*[=:]\s*[\"']?)([^\s&\"',;]+)"),
    re.compile(r"(?i)(\b(?:registration|id)_token[\"']?\s*[=:]\s*[\"']?)([^\s&\"',;]+)"),
    re.compile(r"(/lti/[^\s?\"']*\?(?:[^\s\"']*&)?t=)([^\s&\"',;]+)"),
    re.compile(r"(?i)(\bbearer\s+)([^\s\"',;]+)"),
    re.compile(r"()\bcct_[A-Za-z0-9_\-]{16,}"),
    re.compile(r"()(?<![0-9a-fA-F])[0-9a-fA-F]{32}(?![0-9a-fA-F])"),
)
_MIN_SECRET = 6  # shorter "secrets" would mask ordinary words


@contextmanager
def job_context(job: str, year: int | None = None) -> Iterator[None]:
    """Log lines inside the block name ``job`` and ``year``; a ``run`` bound inside ends with it."""
    job_token, year_token, run_token = JOB.set(job), YEAR.set(year), RUN.set(None)
    try:
        yield
    finally:
        RUN.reset(run_token)
        YEAR.reset(year_token)
        JOB.reset(job_token)


def bind(*, run: int | None = None, year: int | None = None) -> None:
    """Names the run (and the year) of the job under way, until its ``job_context`` ends."""
    if run is not None:
        RUN.set(run)
    if year is not None:
        YEAR.set(year)


def context() -> dict[str, Any]:
    """The job, run and year of the log lines written now (only those known)."""
    values = {"job": JOB.get(), "run": RUN.get(), "year": YEAR.get()}
    return {key: value for key, value in values.items() if value is not None}


class Redact(logging.Filter):
    """Masks secrets and token-shaped values in a record before any handler formats it."""

    _secrets: ClassVar[set[str]] = set()
    _lock = threading.Lock()

    @classmethod
    def add_secrets(cls, values: Iterable[str]) -> None:
        """Values to mask wherever they appear (the process learns a token set in the console late)."""
        with cls._lock:
            cls._secrets.update(v for v in values if v and len(v) >= _MIN_SECRET)

    @classmethod
    def clean(cls, text: str) -> str:
        with cls._lock:
            known = sorted(cls._secrets, key=len, reverse=True)
        for secret in known:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in PATTERNS:
            text = pattern.sub(lambda found: found.group(1) + MASK, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still logged, as logging itself does
            message = str(record.msg)
        record.msg, record.args = self.clean(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the job, run and year where known."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            **context()}
        task = getattr(record, "task_id", None)  # Celery's task records carry theirs
        if task:
            line["task"] = task
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter(log_format: str, text_format: str = TEXT_FORMAT) -> logging.Formatter:
    if log_format not in FORMATS:
        raise ConfigError(f"log_format must be text or json, not {log_format!r}")
    return JsonFormatter() if log_format == "json" else logging.Formatter(text_format)


def secrets_of(settings: Settings) -> list[str]:
    """The settings' secrets, and the passwords inside its connection URLs (database, broker)."""
    passwords = [urlsplit(url).password or "" for url in
                 (settings.database_url, settings.broker_url, settings.ratelimit_storage)]
    return [str(getattr(settings, name)) for name in Settings.SECRETS] + passwords


def configure(settings: Settings, level: int | str = logging.INFO, *, stream: Any = None,
              text_format: str = TEXT_FORMAT, replace: bool = True) -> None:
    """Sends every log line of this process to ``stream`` (stderr) in ``settings.log_format``, with
    the settings' secrets masked. Replaces the root logger's handlers: call once, at process start.
    With ``replace=False`` handlers someone installed before (a host process's) are kept, and only
    get the redaction."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(settings.log_format, text_format))
    handler.addFilter(Redact())
    Redact.add_secrets(secrets_of(settings))
    root = logging.getLogger()
    if root.handlers and not replace:
        guard(root, settings, json_lines=False)
        return
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a line per plugin loaded


def guard(logger: logging.Logger, settings: Settings, *, json_lines: bool) -> None:
    """Puts ``Redact`` (and the JSON format where asked) on the handlers another library configured
    (Celery's, gunicorn's)."""
    Redact.add_secrets(secrets_of(settings))
    for handler in logger.handlers:
        if not any(isinstance(f, Redact) for f in handler.filters):
            handler.addFilter(Redact())
        if json_lines:
            handler.setFormatter(JsonFormatter())
