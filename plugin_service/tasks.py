"""Celery tasks: thin, idempotent wrappers around services. They take ids, never objects."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from flask import current_app

from .config import Settings
from .moodle import client_from_settings
from .services.engagement import EngagementError, engage
from .services.harvest import harvest
from .services.platform.site_settings import effective
from .services.provisioning.console_inputs import read_diff
from .services.provisioning.provision import apply
from .services.provisioning.stored import due_harvests, due_plans, due_years, inputs_from_store


def _settings() -> Settings:
    """The app's settings, with the Moodle connection set in the console where one is."""
    return effective(current_app.config["CADRE_SETTINGS"])


@shared_task(bind=True, name="cadre.apply_plan")
def apply_plan(self: Any, plan_id: int, roster_id: int, actor: str = "task") -> dict[str, Any]:
    """Applies a stored plan with a stored roster; re-running it on unchanged input writes nothing."""
    settings = _settings()
    inputs = inputs_from_store(settings, plan_id, roster_id)

    def progress(done: int, total: int, kind: str) -> None:
        self.update_state(state="PROGRESS", meta={"done": done, "total": total, "kind": kind})

    with client_from_settings(settings) as client:
        result = apply(client, inputs, settings, actor=actor, progress=progress)
    return {"run_id": result.run_id, "counts": result.counts, "calls": result.calls,
            "seconds": round(result.seconds, 2)}


@shared_task(name="cadre.diff_upload")
def diff_upload(upload_id: int) -> dict[str, Any]:
    """Reads Moodle for what applying a console upload would change and keeps it with the upload. It
    writes nothing to Moodle: run again, it only reads again."""
    return read_diff(_settings(), upload_id)


@shared_task(name="cadre.apply_due_plans")
def apply_due_plans() -> list[int]:
    """The beat job: queues the apply of every plan whose period is under way."""
    queued = []
    for plan_id, roster_id in due_plans(_settings(), dt.date.today()):
        apply_plan.delay(plan_id, roster_id, actor="schedule")
        queued.append(plan_id)
    return queued


@shared_task(bind=True, name="cadre.harvest_year")
def harvest_year(self: Any, year: int, full: bool = False) -> dict[str, Any]:
    """Harvests a plan year; a killed or failed run is continued by the next one, and two harvests of
    one year never overlap (the second fails at once with the lock's holder)."""
    settings = _settings()

    def progress(step: str, done: int, total: int) -> None:
        self.update_state(state="PROGRESS", meta={"step": step, "done": done, "total": total})

    with client_from_settings(settings) as client:
        result = harvest(client, settings, year=year, full=full, progress=progress)
    try:  # the hours go to Moodle's gradebook as a job of its own: its failure is not the harvest's
        push_lti_hours.delay(result.year)
    except Exception:
        logging.getLogger(__name__).warning("the gradebook push after harvest %s was not queued",
                                            result.run_id, exc_info=True)
    return {"run_id": result.run_id, "year": result.year, "mode": result.mode, "path": result.path,
            "resumed": result.resumed, "calls": result.moodle_calls, "rows": result.rows_read,
            "changes": result.changes, "seconds": round(result.seconds, 2)}


@shared_task(name="cadre.lti_push_hours")
def push_lti_hours(year: int | None = None) -> dict[str, Any]:
    """Posts the year's hours that changed to the Moodle gradebook columns the LTI tool was launched
    from; queued after each harvest. A score not delivered is tried again at the next run."""
    from .services.lti.gradebook import push_hours

    settings = _settings()
    result = push_hours(settings.database_url, secret_key=settings.secret_key, moodle_url=settings.moodle_url,
                        year=year)
    return {"line_items": result.line_items, "sent": result.sent, "unchanged": result.unchanged,
            "refused": result.refused, "failed": result.failed, "errors": result.errors}


@shared_task(name="cadre.harvest_due_years")
def harvest_due_years() -> list[int]:
    """The nightly beat job: queues the harvests ``due_harvests`` names for today."""
    due = due_harvests(_settings(), dt.date.today())
    for year, full in due:
        harvest_year.delay(year, full=full)
    return [year for year, _full in due]


@shared_task(bind=True, name="cadre.engage_year", autoretry_for=(EngagementError,), retry_backoff=600,
             retry_backoff_max=3600, max_retries=3)
def engage_year(self: Any, year: int, today: str | None = None) -> dict[str, Any]:
    """The daily engagement job of a year (topics, announcements, reminders, bulletins, survey,
    commendation). Retried when a part failed: what was done is never done twice (a bulletin is issued
    once per date), and a message whose sending was interrupted is checked in Moodle before it is sent
    again."""
    settings = _settings()
    with client_from_settings(settings) as client:
        result = engage(client, settings, year=year, today=dt.date.fromisoformat(today) if today else None)
    return {"run_id": result.run_id, "year": result.year, "today": result.today.isoformat(),
            "counts": result.counts(), "calls": result.calls, "seconds": round(result.seconds, 2)}


@shared_task(name="cadre.engage_due_years")
def engage_due_years() -> list[int]:
    """The morning beat job: queues the engagement job of every year under way."""
    years = due_years(_settings(), dt.date.today())
    for year in years:
        engage_year.delay(year)
    return years


@shared_task(bind=True, name="cadre.issue_certificates")
def issue_certificates(self: Any, year: int, tier: str | None = None, lang: str = "zh", actor: str = "task",
                       today: str | None = None) -> dict[str, Any]:
    """Issues a year's certificates with their PDFs and ZIP; a killed run is continued by the next one,
    which duplicates nothing, and two batches of one year never overlap."""
    from .services.documents.certificates import issue_year
    from .services.documents.document_batches import batch_dict

    def progress(step: str, done: int, total: int) -> None:
        self.update_state(state="PROGRESS", meta={"step": step, "done": done, "total": total})

    return batch_dict(issue_year(_settings(), year, tier=tier, lang=lang, actor=actor, progress=progress,
                                 today=dt.date.fromisoformat(today) if today else None))


@shared_task(bind=True, name="cadre.build_archives")
def build_archives(self: Any, year: int, tier: str | None = None, actor: str = "task",
                   today: str | None = None) -> dict[str, Any]:
    """Builds a year's learning archives and registration forms with their ZIP; what is unchanged and
    already written is not rendered again."""
    from .services.documents.archives import build_year
    from .services.documents.document_batches import batch_dict

    def progress(step: str, done: int, total: int) -> None:
        self.update_state(state="PROGRESS", meta={"step": step, "done": done, "total": total})

    return batch_dict(build_year(_settings(), year, tier=tier, actor=actor, progress=progress,
                                 today=dt.date.fromisoformat(today) if today else None))
