"""A harvest that dies midway is continued by the next one, ending exactly as one clean harvest: killed
in-process at a chosen checkpoint, SIGKILLed as a real ``cadre harvest`` process, or failing again and
again on a site that fails 10 % of its calls. Two harvests of one year never run at once."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from moodle_bridge import Retry, TransientError
from moodle_bridge.fake import FAULT_KINDS, Faults, Latency, fixed
from plugin_service.db import engine_for, session_scope
from plugin_service.models import (
    CourseProgress,
    DiscussionRecord,
    HarvestRun,
    HarvestStep,
    JobLock,
    LearningRecordRow,
    ReflectionRecord,
    StatusChange,
)
from plugin_service.services.harvest import HarvestError, HarvestResult, harvest
from plugin_service.services.harvest import run as harvest_run
from plugin_service.services.platform.locks import LockedError

from ..provisioning.processes import child_env, started, wait_until
from .world import (
    TODAY,
    Year,
    assert_matches,
    path_precision,
    stored,
)

pytestmark = pytest.mark.integration

CADRE = str(Path(sys.executable).parent / "cadre")
RERUNS = 12


def clean_harvest(year: Year, tmp_path: Path, path: str) -> dict[str, dict[Any, Any]]:
    """What one uninterrupted harvest of the same site stores, in a database of its own."""
    url = f"sqlite:///{tmp_path / 'clean.sqlite3'}"
    try:
        twin = year.twin(url)
        twin.harvest(path)
        return stored(url)
    finally:
        engine_for(url).dispose()


def steps_of(database_url: str, run_id: int) -> Counter[tuple[str, str]]:
    with session_scope(database_url) as session:
        return Counter(session.execute(select(HarvestStep.step, HarvestStep.item)
                                       .where(HarvestStep.run_id == run_id)).all())


def assert_finished_once(year: Year, result: HarvestResult) -> None:
    """Every checkpoint of the continued run is there exactly once, and nothing else ran."""
    steps = steps_of(year.database_url, result.run_id)
    once = {key: n for key, n in steps.items() if key[0] != "report"}
    assert set(once.values()) == {1}, once
    courses = set(year.courses)
    assert {item for step, item in once if step == "completion"} == courses
    assert {item for step, item in once if step == "grades"} == courses
    assert {item for step, item in once if step == "discussions"} == {d.key for d in year.plan().discussions}
    with session_scope(year.database_url) as session:
        runs = session.execute(select(HarvestRun.status, func.count()).group_by(HarvestRun.status)).all()
        assert {status: n for status, n in runs} == {"done": 1}, runs
        assert session.scalars(select(JobLock)).all() == []
        for what, key in [(CourseProgress, (CourseProgress.employee_no, CourseProgress.course_key)),
                          (ReflectionRecord, (ReflectionRecord.employee_no, ReflectionRecord.course_key)),
                          (DiscussionRecord, (DiscussionRecord.employee_no, DiscussionRecord.discussion_key)),
                          (LearningRecordRow, (LearningRecordRow.employee_no,)),
                          (StatusChange, (StatusChange.employee_no,))]:
            keys = session.execute(select(*key)).all()
            assert len(keys) == len(set(keys)), f"{what.__name__} has duplicates"


def failing_after(count: int, real: Callable[..., Any]) -> Callable[..., Any]:
    calls = {"n": 0}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > count:
            raise RuntimeError(f"killed after {count} checkpoints")
        return real(*args, **kwargs)
    return wrapper


@pytest.mark.parametrize(("path", "step", "after"), [
    ("report", "write_progress", 4), ("per_user", "harvest_grades", 3)],
    ids=["report-in-completion", "per_user-in-grades"])
def test_a_harvest_that_failed_midway_is_continued(year: Year, tmp_path: Path, path: str, step: str,
                                                   after: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harvest_run, step, failing_after(after, getattr(harvest_run, step)))
    with pytest.raises(RuntimeError, match="killed"):
        year.harvest(path)
    with session_scope(year.database_url) as session:
        run = session.scalars(select(HarvestRun)).one()
        assert (run.status, run.error) == ("failed", f"killed after {after} checkpoints")
        run_id = run.id
    finished = Counter(name for name, _item in steps_of(year.database_url, run_id))
    assert finished["completion" if step == "write_progress" else "grades"] == after
    monkeypatch.undo()

    result = year.harvest(path)

    assert result.resumed and result.run_id == run_id
    assert_finished_once(year, result)
    assert_matches(year, year.truth(), precision=path_precision(path))
    assert stored(year.database_url) == clean_harvest(year, tmp_path, path)
    with session_scope(year.database_url) as session:
        again = session.get(HarvestRun, run_id)
        assert again is not None and again.attempts == 2 and again.error is None


def test_a_killed_cadre_harvest_is_continued_by_the_next(year: Year, tmp_path: Path) -> None:
    """``cadre harvest`` is SIGKILLed once some courses are stored: its run stays "running", its lock
    stays behind; the next harvest takes both over and finishes the run."""
    year.fake.app.set_latency(fixed(15))  # ~0.2 s a course per user: the kill lands between checkpoints
    env = child_env(CADRE_MOODLE_URL=year.fake.url, CADRE_MOODLE_TOKEN=year.settings.moodle_token,
                    CADRE_DATABASE_URL=year.database_url, CADRE_MOODLE_BATCH_SIZE="50")

    def completion_steps() -> int:
        with session_scope(year.database_url) as session:
            return session.scalar(select(func.count()).select_from(HarvestStep)
                                  .where(HarvestStep.step == "completion")) or 0

    command = [CADRE, "harvest", "--path", "per_user", "--today", TODAY.isoformat()]
    with (tmp_path / "killed.log").open("w+") as log, \
            started(command, env=env, stdout=log, stderr=subprocess.STDOUT) as process:
        wait_until(lambda: completion_steps() >= 3 or process.poll() is not None, timeout=60,
                   what="three courses stored", every=0.005)
        process.kill()
        process.wait()
        log.seek(0)
        output = log.read()
    assert process.returncode == -9, output
    stored_before = completion_steps()
    assert 3 <= stored_before < len(year.courses), f"killed after {stored_before} courses: not midway"
    with session_scope(year.database_url) as session:
        assert session.scalars(select(HarvestRun.status)).all() == ["running"]
        assert len(session.scalars(select(JobLock)).all()) == 1
    year.fake.app.set_latency(Latency())

    result = year.harvest("per_user")

    assert result.resumed
    assert result.steps["completion"]["checkpoints"] == len(year.courses)
    assert_finished_once(year, result)
    assert_matches(year, year.truth(), precision=60)
    assert stored(year.database_url) == clean_harvest(year, tmp_path, "per_user")


@pytest.mark.parametrize("path", ["report", "per_user"])
def test_a_harvest_on_a_failing_site_finishes_with_the_right_numbers(year: Year, path: str) -> None:
    """10 % of calls fail (every kind of failure); each harvest continues the last until one gets
    through. What fails (after a quick retry per user) fails the run, never the numbers."""
    faults = Faults(rate=0.1, seed=2026 + len(path), kinds=FAULT_KINDS, timeout_s=0.6)
    year.fake.app.faults = faults
    failures: list[str] = []
    result = None
    # Both paths read study time per cadre from the SCORM courseware, a few hundred calls: each is retried
    # once, as a site's short failures are, or no run would get through.
    retry = Retry(attempts=2, base_delay=0.01, max_delay=0.05)
    for _ in range(RERUNS):
        with year.client(timeout=0.4, retries=retry) as client:
            try:
                result = harvest(client, year.settings, path=path, today=TODAY)
                break
            except (HarvestError, TransientError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
    year.fake.app.faults = Faults()
    print(f"{path}: {len(failures)} failed harvest(s) before one finished: {failures}")
    assert result is not None, f"{RERUNS} harvests all failed: {failures}"
    assert result.resumed or not failures
    assert_finished_once(year, result)
    assert_matches(year, year.truth(), precision=path_precision(path))


def test_a_second_harvest_of_the_same_year_is_refused_at_once(year: Year) -> None:
    year.fake.app.set_latency(fixed(30))  # the first takes a second or two
    outcome: dict[str, Any] = {}

    def first() -> None:
        try:
            outcome["result"] = year.harvest("report")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    runner = threading.Thread(target=first, name="first harvest")
    runner.start()
    try:
        def running() -> bool:
            assert runner.is_alive(), f"the first harvest ended before the second started: {outcome}"
            with session_scope(year.database_url) as session:
                return session.scalar(select(HarvestRun.status)) == "running"

        wait_until(running, timeout=60, what="the first harvest to run")
        with pytest.raises(LockedError, match="harvest:2026 is already running"):
            year.harvest("report")
    finally:
        runner.join(timeout=120)
    year.fake.app.set_latency(Latency())
    assert "error" not in outcome, outcome
    with session_scope(year.database_url) as session:
        assert session.scalars(select(HarvestRun.status)).all() == ["done"]
    assert_matches(year, year.truth(), precision=60)
