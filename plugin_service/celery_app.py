"""Celery wired the way Flask documents it: every task runs inside the app context.

Tasks are JSON-serialised and take ids, never objects. One beat schedule holds every periodic job.
``worker_logging`` gives the worker and beat processes the service's log format and redaction, and
names each task's lines after its task.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task, signals
from celery.schedules import crontab
from flask import Flask

from .config import Settings
from .logs import JOB, configure, guard

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # A stored plan is applied on the first day of its period (and re-applied daily until its
    # period ends, which writes nothing when Moodle already matches).
    "apply-due-plans": {"task": "cadre.apply_due_plans", "schedule": crontab(hour=2, minute=15)},
    # Every night, after provisioning: what changed since the last harvest. On Sundays everything is
    # read again, which also catches what no learner activity signals (an admin's override in Moodle).
    "harvest-nightly": {"task": "cadre.harvest_due_years", "schedule": crontab(hour=3, minute=0)},
    # Every morning, on the night's records: discussion topics opened and locked on their dates,
    # announcements and reminders sent (each at most once), the bulletins due issued and sent (each
    # once per date), the survey read, and after the year the commendation list.
    "engagement-daily": {"task": "cadre.engage_due_years", "schedule": crontab(hour=7, minute=30)},
}


def celery_init_app(app: Flask, broker_url: str) -> Celery:
    class FlaskTask(Task):  # Celery ships no types: Task is Any here
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=broker_url,
        result_backend=broker_url,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        broker_transport_options={"visibility_timeout": 6 * 3600},
        result_extended=True,
        beat_schedule=BEAT_SCHEDULE,
        timezone="Asia/Shanghai",
        include=["plugin_service.tasks"],
    )
    celery.set_default()
    # The tasks are registered here, so the services queue them by name (``services.platform.jobs``)
    # without importing the module that calls them.
    from . import tasks  # noqa: F401

    app.extensions["celery"] = celery
    return celery


def worker_logging(settings: Settings) -> None:
    """In JSON mode the service configures logging instead of Celery (one JSON line per event); in
    text mode Celery's own handlers get the redaction. Either way a task's lines name it as their job
    until a job lock names the job more precisely."""
    if settings.log_format == "json":
        def take_over(loglevel: int | str | None = None, **_: Any) -> None:
            configure(settings, loglevel or logging.INFO)

        signals.setup_logging.connect(take_over, weak=False)
    else:
        def redact(logger: logging.Logger, **_: Any) -> None:
            guard(logger, settings, json_lines=False)

        signals.after_setup_logger.connect(redact, weak=False)
        signals.after_setup_task_logger.connect(redact, weak=False)
    tokens: dict[str, Any] = {}

    def started(task_id: str, task: Any, **_: Any) -> None:
        tokens[task_id] = JOB.set(getattr(task, "name", None))

    def ended(task_id: str, **_: Any) -> None:
        token = tokens.pop(task_id, None)
        if token is not None:
            JOB.reset(token)

    signals.task_prerun.connect(started, weak=False)
    signals.task_postrun.connect(ended, weak=False)
