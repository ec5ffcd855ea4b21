"""gunicorn's settings for the web process (``gunicorn --config python:plugin_service.gunicorn_conf
'plugin_service:create_app()'``), read from the environment like every other setting.

- ``CADRE_WEB_BIND``: where to listen (default ``0.0.0.0:8000``; behind a reverse proxy on the same
  machine, ``127.0.0.1:8000``);
- ``CADRE_WEB_WORKERS``: processes (default: one per CPU plus one): pages are computed and rendered in
  Python, so processes, not threads, use the CPUs, and more processes than CPUs only make every request
  wait its turn longer (measured with ``benchmarks/console.py``: on two CPUs, three processes of two
  threads kept the slowest pages' p95 lower than five of four);
- ``CADRE_WEB_THREADS``: threads per process (default 2), so that a request waiting on PostgreSQL or on
  a file download leaves the CPU to another.

Workers are restarted after about a thousand requests (bounding any slow growth of memory), and a
request may take two minutes (an export of a large year). The access and error logs go to stderr through
the service's own logging: JSON lines with ``CADRE_LOG_FORMAT=json``, secrets masked either way.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from typing import Any

from plugin_service.config import load_settings
from plugin_service.logs import configure, guard


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


bind = os.environ.get("CADRE_WEB_BIND") or "0.0.0.0:8000"
workers = _int("CADRE_WEB_WORKERS", multiprocessing.cpu_count() + 1)
threads = _int("CADRE_WEB_THREADS", 2)
worker_class = "gthread"
timeout = 120
graceful_timeout = 30
keepalive = 5
max_requests = 1000
max_requests_jitter = 100
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# The app's own ProxyFix (CADRE_TRUSTED_PROXIES) decides which forwarded headers to believe.
forwarded_allow_ips = ""
# No runtime control socket in the user's home: processes are managed by the orchestrator's signals.
control_socket_disable = True


def on_starting(server: Any) -> None:
    """The service's log format and redaction, for the app's loggers and gunicorn's own."""
    settings = load_settings()
    configure(settings, logging.INFO)
    for name in ("gunicorn.error", "gunicorn.access"):
        guard(logging.getLogger(name), settings, json_lines=settings.log_format == "json")
