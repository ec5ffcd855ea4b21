"""Celery tasks: thin, idempotent wrappers around services. They take ids, never objects."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from flask import current_app

from .config import Settings
from .moodle import client_from_settings
from .services.harvest import harvest
from .services.provision import apply
from .services.stored import due_harvests, due_plans, inputs_from_store


def _settings() -> Settings:
    settings: Settings = current_app.config["CADRE_SETTINGS"]
    return settings


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
    return {"run_id": result.run_id, "year": result.year, "mode": result.mode, "path": result.path,
            "resumed": result.resumed, "calls": result.moodle_calls, "rows": result.rows_read,
            "changes": result.changes, "seconds": round(result.seconds, 2)}


@shared_task(name="cadre.harvest_due_years")
def harvest_due_years() -> list[int]:
    """The nightly beat job: queues the harvests ``due_harvests`` names for today."""
    due = due_harvests(_settings(), dt.date.today())
    for year, full in due:
        harvest_year.delay(year, full=full)
    return [year for year, _full in due]
