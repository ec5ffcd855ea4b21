"""Is this process ready to serve? The checks behind ``/readyz``, each answered within a few seconds.

- ``database``: a ``SELECT 1`` answers;
- ``migrations``: the schema is at the revision this code expects (``cadre db upgrade`` not forgotten,
  and no newer code has moved it on);
- ``broker``: the Celery broker (Redis) answers a ping, so jobs can be queued;
- ``moodle``: ``core_webservice_get_site_info`` answers with the connection in use (the console's
  where one was set), asked with a short timeout and its answer kept ``MOODLE_CACHE_SECONDS``, so that
  an orchestrator probing every few seconds costs Moodle one call in that time per process;
- ``harvest``: every year under way was harvested within ``harvest_max_age_hours`` (or applied within
  it, before its first harvest): beat and the workers are doing their nightly work.

The checks run side by side; one that does not answer within ``CHECK_SECONDS`` fails as such. What a
check says is meant for an operator: errors are named by their kind and a short reason, passed through
the log redaction, and never carry a URL's password or a token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from moodle_bridge import MoodleError

from ...config import Settings
from ...db import engine_for, session_scope
from ...logs import Redact
from ...models import HarvestRun, StoredPlan, utcnow
from ..provisioning.stored import due_years
from .site_settings import effective
from .version import known_revisions, schema_head

CHECK_SECONDS = 4.0
MOODLE_TIMEOUT = 3.0
MOODLE_CACHE_SECONDS = 10.0
YEARS_CACHE_SECONDS = 300.0  # which years are under way changes with the day and an apply


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **self.detail}


@dataclass(frozen=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "not ready",
                "failed": [check.name for check in self.checks if not check.ok],
                "checks": {check.name: check.as_dict() for check in self.checks}}


def said(exc: BaseException) -> str:
    """An error as one short line an operator may read: its kind and first line, redacted."""
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    first = (str(cause).strip().splitlines() or [""])[0][:300]
    return Redact.clean(f"{type(cause).__name__}: {first}" if first else type(cause).__name__)


def failed(name: str, exc: BaseException, **detail: Any) -> Check:
    return Check(name, False, {"error": said(exc), **detail})


# --- the checks -----------------------------------------------------------------------------------

def check_database(settings: Settings) -> list[Check]:
    """The database answers, and its schema is the one this code expects."""
    started = time.perf_counter()
    try:
        with engine_for(settings.database_url).connect() as connection:
            connection.execute(text("SELECT 1"))
            ms = round((time.perf_counter() - started) * 1000, 1)
            current = MigrationContext.configure(connection).get_current_heads()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, reported by kind
        return [failed("database", exc),
                Check("migrations", False, {"error": "the database is not reachable"})]
    head = schema_head()
    at = current[0] if len(current) == 1 else None
    migrations = Check("migrations", at == head, {"revision": at, "expected": head})
    if at != head:
        known = known_revisions()
        older = at is None or (at in known and known.index(at) < known.index(head))
        migrations.detail["error"] = (f"the schema is at {at or 'nothing'}, this code expects {head}: "
                                      "run `cadre db upgrade`" if older else
                                      f"the schema is at {at}, which this code ({head}) does not know")
    return [Check("database", True, {"ms": ms}), migrations]


def check_broker(settings: Settings) -> list[Check]:
    """The Celery broker answers (a Redis ping; other brokers through kombu)."""
    url = settings.broker_url
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return [Check("broker", True, {"kind": "memory"})]
    started = time.perf_counter()
    try:
        if scheme in ("redis", "rediss"):
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            client = redis.Redis.from_url(url, socket_connect_timeout=MOODLE_TIMEOUT,
                                          socket_timeout=MOODLE_TIMEOUT, retry=Retry(NoBackoff(), 0))
            try:
                client.ping()
            finally:
                client.close()
        else:
            from kombu import Connection

            with Connection(url, connect_timeout=MOODLE_TIMEOUT) as connection:
                connection.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, reported by kind
        return [failed("broker", exc)]
    return [Check("broker", True, {"ms": round((time.perf_counter() - started) * 1000, 1)})]


class MoodleProbe:
    """``core_webservice_get_site_info`` with a short timeout; each answer (or failure) is kept
    ``MOODLE_CACHE_SECONDS`` per connection, so probes do not load Moodle."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], tuple[float, Check]] = {}

    def __call__(self, settings: Settings) -> list[Check]:
        from ...moodle import client_from_settings

        current = effective(settings)
        if not current.moodle_url or not current.moodle_token:
            return [Check("moodle", False, {"error": "no Moodle URL or token is set"})]
        key = (current.moodle_url, hashlib.sha256(current.moodle_token.encode()).hexdigest())
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and self._clock() - kept[0] < MOODLE_CACHE_SECONDS:
            return [kept[1]]
        started = time.perf_counter()
        try:
            with client_from_settings(current, timeout=MOODLE_TIMEOUT, retries=0) as client:
                site = client.core_webservice.get_site_info()
            check = Check("moodle", True, {"release": site.release,
                                           "ms": round((time.perf_counter() - started) * 1000, 1)})
        except MoodleError as exc:
            check = failed("moodle", exc)
        with self._lock:
            self._kept = {key: (self._clock(), check)}  # one connection in use: nothing else to keep
        return [check]


_years_kept: dict[tuple[str, dt.date], tuple[float, list[int]]] = {}


def under_way(settings: Settings, today: dt.date) -> list[int]:
    """The years under way today (``stored.due_years``, which reads every applied plan), kept a while."""
    key = (settings.database_url, today)
    kept = _years_kept.get(key)
    if kept is not None and time.monotonic() - kept[0] < YEARS_CACHE_SECONDS:
        return kept[1]
    years = due_years(settings, today)
    _years_kept.clear()
    _years_kept[key] = (time.monotonic(), years)
    return years


def check_harvest(settings: Settings, now: dt.datetime | None = None) -> list[Check]:
    """Every year under way has a harvest (or, before its first, an apply) newer than the limit."""
    now = now or utcnow()
    limit = dt.timedelta(hours=settings.harvest_max_age_hours)
    try:
        years = under_way(settings, now.date())
        with session_scope(settings.database_url) as session:
            finished = {year: at for year, at in session.execute(
                select(HarvestRun.year, func.max(HarvestRun.finished_at))
                .where(HarvestRun.status == "done").group_by(HarvestRun.year))}
            applied = {year: at for year, at in session.execute(
                select(StoredPlan.year, func.max(StoredPlan.applied_at))
                .where(StoredPlan.applied_at.is_not(None)).group_by(StoredPlan.year))}
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, reported by kind
        return [failed("harvest", exc)]
    detail: dict[str, Any] = {"max_age_s": int(limit.total_seconds()), "years": {}}
    stale = []
    for year in years:
        last = finished.get(year)
        since = last or applied.get(year)
        age = (now - since).total_seconds() if since is not None else None
        detail["years"][str(year)] = {"last_harvest": last.isoformat() + "Z" if last else None,
                                      "age_s": None if age is None or last is None else int(age)}
        if age is None or age > limit.total_seconds():
            stale.append(year)
    if stale:
        detail["error"] = ("no harvest within the last "
                           f"{settings.harvest_max_age_hours:g} hours for {', '.join(map(str, stale))}: "
                           "are the Celery worker and beat running?")
    return [Check("harvest", not stale, detail)]


# --- all of them ------------------------------------------------------------------------------------

Probe = Callable[[Settings], list[Check]]
NAMES = ("database", "migrations", "broker", "moodle", "harvest")


def readiness(settings: Settings, moodle: Probe, *, timeout: float = CHECK_SECONDS) -> Readiness:
    """Runs the checks side by side; one not answered within ``timeout`` seconds fails."""
    probes: list[tuple[tuple[str, ...], Probe]] = [
        (("database", "migrations"), check_database), (("broker",), check_broker),
        (("moodle",), moodle), (("harvest",), check_harvest)]
    pool = ThreadPoolExecutor(len(probes), thread_name_prefix="readyz")
    try:
        futures = [(names, pool.submit(probe, settings)) for names, probe in probes]
        deadline = time.monotonic() + timeout
        found: dict[str, Check] = {}
        for names, future in futures:
            try:
                for check in future.result(timeout=max(0.0, deadline - time.monotonic())):
                    found[check.name] = check
            except FutureTimeout:
                for name in names:
                    found[name] = Check(name, False, {"error": f"no answer within {timeout:g} s"})
    finally:
        pool.shutdown(wait=False)  # a check that hangs is left to end on its own
    return Readiness(tuple(found[name] for name in NAMES))
