"""The process set of a deployment, written once: what each process runs and with which settings.

A deployment is one image running four kinds of process, on PostgreSQL and Redis:

- ``migrate``: ``cadre db upgrade``, once before the others start (and after each new version);
- ``web``: the console, the JSON API, the verification page and the probes under gunicorn
  (``gunicorn_conf`` reads its bind address, workers and threads from ``CADRE_WEB_*``);
- ``worker``: Celery workers running the jobs (scale them: several may run);
- ``beat``: Celery beat, which queues the nightly harvest, the morning's engagement and the daily
  apply. Exactly one: two would queue every job twice.

``docker/compose.yaml`` runs these commands with these settings, and the process-set test starts the
very same commands on this machine's PostgreSQL and Redis; a test reads the compose file and compares it
with what is here, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Process:
    name: str
    command: tuple[str, ...]
    replicas: int | None  # None: as many as needed
    why: str


PROCESSES = (
    Process("migrate", ("cadre", "db", "upgrade"), 1,
            "brings the schema to this version; refuses while a job of an older version runs"),
    Process("web", ("gunicorn", "--config", "python:plugin_service.gunicorn_conf",
                    "plugin_service:create_app()"),
            None, "the console, the API, /verify, /healthz, /readyz and /metrics"),
    Process("worker", ("celery", "-A", "plugin_service.worker", "worker", "--loglevel=INFO"), None,
            "runs the jobs: applies, harvests, engagement, documents"),
    Process("beat", ("celery", "-A", "plugin_service.worker", "beat", "--loglevel=INFO",
                     "--schedule=instance/celerybeat-schedule"), 1,
            "queues the scheduled jobs; exactly one"),
)
BY_NAME = MappingProxyType({process.name: process for process in PROCESSES})

#: The settings every process of the set gets. ``None``: the site's own value (its database, broker,
#: Moodle, secrets, address); a string: the value every deployment uses.
SETTINGS = MappingProxyType({
    "CADRE_DATABASE_URL": None,
    "CADRE_BROKER_URL": None,
    "CADRE_SECRET_KEY": None,
    "CADRE_MOODLE_URL": None,
    "CADRE_MOODLE_TOKEN": None,
    "CADRE_PUBLIC_BASE_URL": None,
    "CADRE_TRUSTED_PROXIES": None,
    "CADRE_METRICS_TOKEN": None,
    "CADRE_WEB_BIND": None,
    "CADRE_LOG_FORMAT": "json",
    "CADRE_DOCUMENTS_DIR": "instance/documents",
})

#: Where the web process answers inside the container (the compose file publishes it).
CONTAINER_BIND = "0.0.0.0:8000"


def environment(**site: str) -> dict[str, str]:
    """The process set's environment: the fixed settings, and the site's values for the others (each
    must be given, none other may)."""
    missing = sorted(name for name, value in SETTINGS.items() if value is None and name not in site)
    unknown = sorted(set(site) - set(SETTINGS))
    fixed = sorted(name for name in site if SETTINGS.get(name) is not None)
    if missing or unknown or fixed:
        raise ValueError(f"site settings: missing {missing}, unknown {unknown}, fixed {fixed}")
    return {name: value if value is not None else site[name] for name, value in SETTINGS.items()}
