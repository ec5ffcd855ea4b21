"""The Prometheus metrics, computed from the database at each scrape.

Nothing is counted in the web process's memory: under gunicorn a scrape reaches one of several worker
processes, and the jobs run in Celery workers elsewhere. Everything is read from what the database
keeps, so every process answers the same:

- ``cadre_jobs{kind,state}``: runs of each kind (provision, harvest, engagement, documents) by state
  (running, done, failed, interrupted);
- ``cadre_harvest_lag_seconds{year}``: seconds since the year's last finished harvest;
- ``cadre_outbox_messages{kind,status}``: the engagement outbox's messages by kind (reminder, digest,
  announcement) and status (sent, refused, pending, sending, skipped);
- ``cadre_moodle_calls_total{function}`` and ``cadre_moodle_call_errors_total{function}``: Moodle
  web-service calls and failed calls per function, from every process (``moodle_calls``);
- ``cadre_build_info{version,schema}``: which code answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from ...db import session_scope
from ...models import DocumentBatch, EngagementRun, HarvestRun, OutboxMessage, ProvisionRun, utcnow
from . import moodle_calls
from .version import package_version, schema_head

CONTENT_TYPE = CONTENT_TYPE_LATEST
RUN_TABLES: dict[str, Any] = {"provision": ProvisionRun, "harvest": HarvestRun, "engagement": EngagementRun,
                              "documents": DocumentBatch}


class DatabaseCollector:
    """Yields the metrics from the database at ``database_url`` each time it is collected."""

    def __init__(self, database_url: str, now: dt.datetime | None = None) -> None:
        self.database_url = database_url
        self.now = now

    def collect(self) -> Iterator[Metric]:
        now = self.now or utcnow()
        jobs = GaugeMetricFamily("cadre_jobs", "Job runs by kind and state.", labels=["kind", "state"])
        lag = GaugeMetricFamily("cadre_harvest_lag_seconds", "Seconds since the year's last finished "
                                "harvest.", labels=["year"])
        outbox = GaugeMetricFamily("cadre_outbox_messages", "Engagement messages by kind and status "
                                   "(sent, refused, pending, sending, skipped).", labels=["kind", "status"])
        with session_scope(self.database_url) as session:
            for kind, table in RUN_TABLES.items():
                for state, count in session.execute(select(table.status, func.count())
                                                    .group_by(table.status).order_by(table.status)):
                    jobs.add_metric([kind, state], count)
            for year, finished in session.execute(
                    select(HarvestRun.year, func.max(HarvestRun.finished_at))
                    .where(HarvestRun.status == "done").group_by(HarvestRun.year).order_by(HarvestRun.year)):
                if finished is not None:
                    lag.add_metric([str(year)], max(0.0, (now - finished).total_seconds()))
            for kind, status, count in session.execute(
                    select(OutboxMessage.kind, OutboxMessage.status, func.count())
                    .group_by(OutboxMessage.kind, OutboxMessage.status)
                    .order_by(OutboxMessage.kind, OutboxMessage.status)):
                outbox.add_metric([kind, status], count)
        calls = CounterMetricFamily("cadre_moodle_calls", "Moodle web-service calls (every try) by "
                                    "function, from every process.", labels=["function"])
        errors = CounterMetricFamily("cadre_moodle_call_errors", "Moodle web-service calls that failed, "
                                     "by function, from every process.", labels=["function"])
        for function, (made, failed) in moodle_calls.totals(self.database_url).items():
            calls.add_metric([function], made)
            errors.add_metric([function], failed)
        info = GaugeMetricFamily("cadre_build_info", "The code answering: package version and schema "
                                 "revision.", labels=["version", "schema"])
        info.add_metric([package_version(), schema_head()], 1)
        yield from (jobs, lag, outbox, calls, errors, info)


def exposition(database_url: str) -> bytes:
    """The metrics in Prometheus's text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(database_url))
    return generate_latest(registry)
