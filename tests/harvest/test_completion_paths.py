"""One completion, one value: the completion report (dates to the minute) and the per-user answers (to the
second) store the same time for the same completion, in either order, and a harvest on the other path
changes nothing: no progress row counts as changed or is marked with its run, no record is computed
again, no status is noted, no activity detail is asked for."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, select

from plugin_service.db import alembic_config, engine_for, session_scope, upgrade
from plugin_service.models import CourseProgress, LearningRecordRow, StatusChange

from .world import TODAY, Year, assert_matches, changed_in, moment, spread, stored

pytestmark = pytest.mark.integration
ORDERS = [("report", "per_user"), ("per_user", "report")]


def not_completed(year: Year) -> tuple[str, str]:
    """A cadre and a course of their tier's electives they are enrolled in and have not completed."""
    truth = year.truth()
    electives = {c.key: c.elective for c in truth.plan.courses}
    return next(key for key, p in sorted(truth.progress.items()) if p.first_completed is None
                and truth.tiers.get(key[0]) in electives[key[1]])


def facts(database_url: str) -> dict[str, Any]:
    """What a path switch must leave alone: every completion time as stored, the run that last changed
    each progress row and record, the records themselves and the status history."""
    with session_scope(database_url) as session:
        progress = {(p.employee_no, p.course_key): (p.first_completed_at, p.completed_at, p.started_at,
                                                    p.activities_done, p.activities_total, p.run_id)
                    for p in session.scalars(select(CourseProgress))}
        records = {r.employee_no: (r.detail, r.run_id, r.computed_at)
                   for r in session.scalars(select(LearningRecordRow))}
        history = len(session.scalars(select(StatusChange)).all())
    return {"progress": progress, "records": records, "history": history}


def completion_times(database_url: str) -> dict[tuple[str, str], tuple[Any, Any]]:
    with session_scope(database_url) as session:
        return {(p.employee_no, p.course_key): (p.first_completed_at, p.completed_at)
                for p in session.scalars(select(CourseProgress))}


def assert_nothing_changed(year: Year, before: dict[str, Any], run: Any) -> None:
    assert run.changes == 0, run.steps
    assert run.steps["completion"]["changes"] == 0 and run.steps["records"]["changes"] == 0
    assert run.steps["activities"]["rows"] == 0, "no activity detail is asked for because of the path"
    assert changed_in(year.database_url, run.run_id) == {"progress": set(), "records": set()}
    assert facts(year.database_url) == before


@pytest.mark.parametrize(("first", "other"), ORDERS)
def test_a_completion_read_by_either_path_has_one_value(small: Year, tmp_path: Path, first: str,
                                                        other: str) -> None:
    spread(small)
    # One more in the last second of a minute (and of a day, in the plan's timezone).
    no, course = not_completed(small)
    small.complete(no, course, moment((TODAY - dt.timedelta(days=1)).isoformat(), "23:59:59"))
    seconds = {when % 60 for _userid, _course, when in small.ledger.completions}
    assert len(seconds) > 10, "the completions fall on many different seconds"

    small.harvest(first)
    before = facts(small.database_url)

    assert_nothing_changed(small, before, small.harvest(other))
    assert_nothing_changed(small, before, small.harvest(other, full=True))
    assert_nothing_changed(small, before, small.harvest(first))
    assert_matches(small, small.truth(), precision=60)

    # The other order, in a database of its own, stores the same values.
    url = f"sqlite:///{tmp_path / 'other-order.sqlite3'}"
    try:
        twin = small.twin(url)
        twin.harvest(other)
        twin_before = facts(url)
        assert_nothing_changed(twin, twin_before, twin.harvest(first))
        assert completion_times(url) == completion_times(small.database_url)
        assert stored(url)["records"] == stored(small.database_url)["records"]
    finally:
        engine_for(url).dispose()


@pytest.mark.parametrize(("first", "other"), ORDERS)
def test_a_completion_after_a_path_switch_is_read_once_and_counted_once(small: Year, first: str,
                                                                        other: str) -> None:
    no, course = not_completed(small)
    small.complete(no, course, moment("2026-04-03", "09:15:42"))
    small.harvest(first)
    again, later = not_completed(small)
    small.complete(again, later, moment("2026-04-05", "16:20:07"))

    run = small.harvest(other)

    assert run.steps["completion"]["changes"] == 1
    assert changed_in(small.database_url, run.run_id)["progress"] == {(again, later)}
    times = completion_times(small.database_url)
    assert times[(no, course)] == (dt.datetime(2026, 4, 3, 1, 15), dt.datetime(2026, 4, 3, 1, 15))  # UTC
    assert times[(again, later)] == (dt.datetime(2026, 4, 5, 8, 20), dt.datetime(2026, 4, 5, 8, 20))
    assert_matches(small, small.truth(), precision=60)


def test_the_upgrade_cuts_completion_times_stored_to_the_second(database_url: str) -> None:
    config = alembic_config(database_url)
    with engine_for(database_url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
        connection.execute(insert(CourseProgress), [
            {"year": 2026, "employee_no": "T1", "course_key": "policy", "fingerprint": "",
             "first_completed_at": dt.datetime(2026, 4, 3, 15, 59, 59),
             "completed_at": dt.datetime(2026, 5, 6, 1, 0, 7),
             "last_access_at": dt.datetime(2026, 5, 6, 1, 0, 7),
             "activities_stale": False, "updated_at": dt.datetime(2026, 5, 6)},
            {"year": 2026, "employee_no": "T2", "course_key": "policy", "fingerprint": "",
             "first_completed_at": dt.datetime(2026, 4, 3, 16, 0), "completed_at": None,
             "last_access_at": None, "activities_stale": False, "updated_at": dt.datetime(2026, 5, 6)}])

    upgrade(database_url)

    with session_scope(database_url) as session:
        rows = {p.employee_no: (p.first_completed_at, p.completed_at, p.last_access_at)
                for p in session.scalars(select(CourseProgress))}
    assert rows == {"T1": (dt.datetime(2026, 4, 3, 15, 59), dt.datetime(2026, 5, 6, 1, 0),
                           dt.datetime(2026, 5, 6, 1, 0, 7)),  # the last access stays exact
                    "T2": (dt.datetime(2026, 4, 3, 16, 0), None, None)}
    engine_for(database_url).dispose()
