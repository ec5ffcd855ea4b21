"""Killing ``cadre plan apply`` at random points, with the fake's faults on, and re-running it ends in
the same Moodle state as one clean apply: no duplicates, nothing missing.

The promise of the journal (``plugin_service/services/provisioning/apply.py``) is that a run may die
anywhere, even between a Moodle write landing and its answer arriving, and the next run re-reads Moodle
and finishes the job. Each trial kills a real ``cadre`` process with SIGKILL (no ``finally`` runs, the
lock row and a ``running`` run stay behind) at a point spread over a clean apply, while the fake fails 8 %
of its calls in every way it can (some runs die of that first); then the apply is re-run with faults off.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from moodle_bridge import MoodleClient, MoodleError
from moodle_bridge.fake import FAULT_KINDS, Faults, Latency, RunningFake, fixed, serve, stock_site
from moodle_bridge.fake.seed import seed_course_library
from moodle_bridge.fake.site import FakeSite
from plugin_service.config import Settings
from plugin_service.db import engine_for, session_scope, upgrade
from plugin_service.models import JobLock, JournalEntry, ProvisionRun, utcnow
from plugin_service.services.platform.locks import LockedError, holder_alive, job_lock, owner_name
from plugin_service.services.provisioning.apply import ApplyError
from plugin_service.services.provisioning.provision import Inputs, apply, check_inputs, preview

from ..conftest import TOKEN
from .expected import EXAMPLES
from .moodle_snapshot import cadre_users, duplicates, snapshot, write_calls
from .processes import child_env, fake_is_quiet, read_line, started, wait_until

pytestmark = pytest.mark.integration

CADRE = str(Path(sys.executable).parent / "cadre")
PLAN, ROSTER = EXAMPLES / "plan-2026.yaml", EXAMPLES / "roster-2026.csv"
TRIALS = 10
LATENCY_MS = 20  # per call: a clean apply spends ~2 s in its ~55 writes, so a kill lands mid-call too
FAULT_RATE = 0.08
FAULT_WINDOW = (3, 10)  # the faults start this many writes before the kill point
FAULT_TIMEOUT_S = 1.0  # the fake holds a "timeout" answer this long ...
CLIENT_TIMEOUT_S = 0.5  # ... and the killed run's client (CADRE_MOODLE_TIMEOUT) gives up before it comes
BATCH_SIZE = 50  # more batches, more places to die between them
RERUNS = 3


@dataclass(frozen=True)
class CleanApply:
    """One uninterrupted apply into a fresh fake: the state every trial must end in, and its pace."""

    classes_courses_enrolments: dict[str, Any]
    users: dict[str, dict[str, Any]]
    writes: int  # Moodle writes it made
    seconds: float  # from the process start to its exit


def library_site() -> FakeSite:
    site = stock_site(tokens={"wsbot": TOKEN})
    seed_course_library(site)
    return site


def writes_landed(site: FakeSite) -> int:
    with site.lock:
        return sum(write_calls(site).values())


def cli_env(fake: RunningFake, database_url: str, **extra: str) -> dict[str, str]:
    return child_env(CADRE_MOODLE_URL=fake.url, CADRE_MOODLE_TOKEN=TOKEN, CADRE_DATABASE_URL=database_url,
                     CADRE_MOODLE_BATCH_SIZE=str(BATCH_SIZE), **extra)


def apply_command() -> list[str]:
    return [CADRE, "plan", "apply", str(PLAN), "--roster", str(ROSTER)]


def sample_inputs() -> Inputs:
    return check_inputs(PLAN.read_text("utf-8"), PLAN.name, ROSTER.read_bytes(), ROSTER.name)


@pytest.fixture(scope="module")
def clean_apply(tmp_path_factory: pytest.TempPathFactory) -> CleanApply:
    """The reference every trial is compared with, on the trials' latency, through the same command."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('clean') / 'cadre.sqlite3'}"
    upgrade(database_url)
    with serve(library_site(), latency=fixed(LATENCY_MS)) as fake, \
            started(apply_command(), env=cli_env(fake, database_url), stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, text=True) as process:
        begun = time.monotonic()
        out, err = process.communicate(timeout=120)
        seconds = time.monotonic() - begun
        assert process.returncode == 0, out + err
        assert not duplicates(fake.site)
        state, users = snapshot(fake.site, 2026), cadre_users(fake.site)
        writes = writes_landed(fake.site)
    engine_for(database_url).dispose()
    return CleanApply(state, users, writes, seconds)


@dataclass
class NotedFaults(Faults):
    """The fake's faults, noting each one injected so a trial can say what hit it."""

    injected: list[str] = field(default_factory=list)

    def draw(self) -> str | None:
        fault = super().draw()
        if fault:
            self.injected.append(fault)
        return fault


@dataclass(frozen=True)
class KillPoint:
    """Where a trial's run dies: ``jitter`` s after its ``writes``-th Moodle write landed, with the
    fake failing calls from its ``faults_from``-th write on (from the start when 0)."""

    writes: int
    jitter: float
    faults_from: int
    faults: NotedFaults

    def __str__(self) -> str:
        return (f"write {self.writes} + {self.jitter * 1000:.0f} ms, faults (seed {self.faults.seed}) "
                f"from write {self.faults_from}")


def kill_at(process: subprocess.Popen[Any], fake: RunningFake, point: KillPoint, timeout: float) -> bool:
    """SIGKILLs ``process`` at ``point``; False when it ended by itself first (an injected fault
    stopped it, or it finished)."""
    def reached(writes: int) -> bool:
        return writes_landed(fake.site) >= writes or process.poll() is not None

    wait_until(lambda: reached(point.faults_from), timeout=timeout, what="the faults' start", every=0.002)
    fake.app.faults = point.faults
    wait_until(lambda: reached(point.writes), timeout=timeout, what=f"write {point.writes}", every=0.002)
    try:
        process.wait(timeout=point.jitter)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return True
    return False


def rerun_until_done(fake: RunningFake, database_url: str) -> tuple[int, list[str]]:
    """Re-runs the apply in-process, faults off, until it succeeds; returns its run id and the
    failures before it. A leftover lock of the killed run must never be among them."""
    settings = Settings(moodle_url=fake.url, moodle_token=TOKEN, database_url=database_url,
                        secret_key="test", moodle_batch_size=BATCH_SIZE, moodle_max_workers=4)
    failures: list[str] = []
    for _ in range(RERUNS):
        try:
            with MoodleClient(fake.url, TOKEN, timeout=10, batch_size=BATCH_SIZE, max_workers=4) as client:
                result = apply(client, sample_inputs(), settings, actor="test-resume")
        except LockedError as exc:
            pytest.fail(f"the killed run's lock blocked the re-run: {exc}")
        except (ApplyError, MoodleError) as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
            continue
        assert result.run_id is not None
        return result.run_id, failures
    pytest.fail(f"{RERUNS} re-runs with faults off all failed: {failures}")


@pytest.mark.parametrize("trial", range(TRIALS), ids=[f"trial-{n:02d}" for n in range(TRIALS)])
def test_an_apply_killed_anywhere_and_rerun_ends_as_one_clean_apply(
        trial: int, clean_apply: CleanApply, tmp_path: Path) -> None:
    """Kill points are counted in the writes of a clean apply, not in seconds, and trial n dies in the
    n-th tenth of them (category, accounts, cohorts, course copies, members, parallel enrolments), up
    to two calls' latency after a write. The faults start a few writes before the kill: at 5-10 % of
    ~85 calls from the start, nearly every run died of a fault within its first 20 writes (reads that
    come back truncated are not retried, writes never are) and the later phases were never killed."""
    rng = random.Random(20260 + trial)
    kill_after = 1 + int((clean_apply.writes - 1) * (trial + rng.random()) / TRIALS)
    point = KillPoint(writes=kill_after, jitter=rng.uniform(0, 2 * LATENCY_MS / 1000),
                      faults_from=max(0, kill_after - rng.randint(*FAULT_WINDOW)),
                      faults=NotedFaults(rate=FAULT_RATE, seed=rng.randrange(2**31), kinds=FAULT_KINDS,
                                         timeout_s=FAULT_TIMEOUT_S))
    database_url = f"sqlite:///{tmp_path / 'cadre.sqlite3'}"
    upgrade(database_url)
    site = library_site()
    try:
        with serve(site, latency=fixed(LATENCY_MS)) as fake:
            env = cli_env(fake, database_url, CADRE_MOODLE_TIMEOUT=str(CLIENT_TIMEOUT_S))
            with (tmp_path / "killed.log").open("w+") as log, \
                    started(apply_command(), env=env, stdout=log, stderr=subprocess.STDOUT) as process:
                killed = kill_at(process, fake, point, timeout=10 * clean_apply.seconds + 30)
                log.seek(0)
                output = log.read()
            fake.app.faults = Faults()
            fake.app.set_latency(Latency())  # it only served to make kills land inside calls
            # A real re-run comes later than this, when Moodle has finished the dead client's requests.
            wait_until(fake_is_quiet, timeout=10, what="the fake to finish the killed run's requests")
            with session_scope(database_url) as session:
                left_running = session.scalars(select(ProvisionRun.id)
                                               .where(ProvisionRun.status == "running")).all()
                lock_left = session.scalars(select(JobLock.owner)).all()
                journal = dict(session.execute(select(JournalEntry.status, func.count())
                                               .group_by(JournalEntry.status)).all())
            assert len(left_running) <= int(killed), left_running
            if killed and lock_left:  # the re-run must take over the dead run's lock at once
                assert [owner.split(":")[1] for owner in lock_left] == [str(process.pid)], lock_left
            run_id, failures = rerun_until_done(fake, database_url)

            last_words = [line for line in output.splitlines() if line.startswith("error:")][:1]
            how = "killed" if killed else f"exited {process.returncode} ({' '.join(last_words)[-300:]})"
            outcome = (f"trial {trial}: {how}, aimed at {point}, faults injected "
                       f"{point.faults.injected or 'none'}, leaving its journal at {journal or 'nothing'}, "
                       f"its lock {'held' if lock_left else 'released'}, {len(left_running)} run running; "
                       f"re-run failures: {failures or 'none'}")
            print(outcome)
            assert duplicates(site) == {}, outcome
            assert snapshot(site, 2026) == clean_apply.classes_courses_enrolments, outcome
            assert cadre_users(site) == clean_apply.users, outcome
            settings = Settings(moodle_url=fake.url, moodle_token=TOKEN, database_url=database_url)
            with MoodleClient(fake.url, TOKEN, timeout=10) as client:
                assert preview(client, sample_inputs(), settings).changes.empty, outcome
        with session_scope(database_url) as session:
            runs = session.scalars(select(ProvisionRun).order_by(ProvisionRun.id)).all()
            last = runs[-1]
            assert last.id == run_id and last.status == "done", outcome
            assert last.ops_done == last.ops_total, outcome
            left = session.scalars(select(JournalEntry.status).where(
                JournalEntry.run_id == run_id, JournalEntry.status.in_(("sent", "planned")))).all()
            assert left == [], outcome
            for run in runs[:-1]:
                assert run.finished_at is not None, (outcome, run.id)
                finished = run.status == "done" and run.ops_done == run.ops_total  # killed after its end
                assert run.status == "interrupted" or (run.status == "failed" and run.error) or finished, (
                    outcome, run.id, run.status)
                if run.id in left_running:  # the killed run, if it had not failed yet
                    assert run.status == "interrupted", (outcome, run.id, run.status)
            assert session.scalars(select(JobLock)).all() == [], outcome
    finally:
        engine_for(database_url).dispose()


# -- the lock a killed run leaves behind -----------------------------------------------------------

LOCK = "provision:test"


def hold_lock(database_url: str, stack: ExitStack) -> subprocess.Popen[str]:
    """A child process trying to take ``LOCK``; it holds it (if it won) until its stdin closes."""
    return stack.enter_context(started(
        [sys.executable, "-m", "tests.provisioning.processes", "hold-lock", database_url, LOCK],
        env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))


def test_the_lock_of_a_killed_holder_is_taken_over_at_once(database_url: str) -> None:
    """Without this a SIGKILLed apply would block its year for the lock's 6 hours."""
    upgrade(database_url)
    with ExitStack() as stack:
        holder = hold_lock(database_url, stack)
        assert read_line(holder, timeout=30, what="the holder to take the lock") == "won"
        with pytest.raises(LockedError, match="already running"), job_lock(database_url, LOCK):
            pass
        holder.kill()
        holder.wait()
    with session_scope(database_url) as session:
        assert session.get(JobLock, LOCK) is not None, "the killed holder's row should still be there"
    with job_lock(database_url, LOCK), session_scope(database_url) as session:
        row = session.get(JobLock, LOCK)
        assert row is not None and row.owner == owner_name()
    with session_scope(database_url) as session:
        assert session.get(JobLock, LOCK) is None


def test_racing_takers_of_a_stale_lock_leave_exactly_one_holder(database_url: str) -> None:
    """Taking over is atomic: of several processes finding the same dead holder, one wins."""
    upgrade(database_url)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_owner = f"{owner_name().split(':')[0]}:{gone.stdout.strip()}:1"
    with session_scope(database_url) as session:
        session.add(JobLock(name=LOCK, owner=dead_owner, expires_at=utcnow() + timedelta(hours=6)))
    with ExitStack() as stack:
        takers = [hold_lock(database_url, stack) for _ in range(4)]
        answers = sorted(read_line(t, timeout=30, what="a taker's answer") for t in takers)
        assert answers == ["lost", "lost", "lost", "won"]
        for taker in takers:
            assert taker.stdin is not None
            taker.stdin.close()
        for taker in takers:
            taker.wait(timeout=30)
    with session_scope(database_url) as session:
        assert session.get(JobLock, LOCK) is None


def test_a_holder_that_died_but_is_not_yet_reaped_counts_as_gone() -> None:
    """A killed process stays a zombie until its parent waits for it (a Celery pool child, say)."""
    with started([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE) as child:
        owner = f"{owner_name().split(':')[0]}:{child.pid}"
        assert holder_alive(owner)
        assert child.stdin is not None
        child.stdin.close()
        wait_until(lambda: not holder_alive(owner), timeout=10, what="the child to exit")
        assert child.returncode is None, "the child was reaped: it is no zombie"


@pytest.mark.parametrize(("owner", "alive"), [
    pytest.param(lambda: owner_name(), True, id="this process"),
    pytest.param(lambda: owner_name().rsplit(":", 1)[0] + ":1", False, id="this pid, started earlier"),
    pytest.param(lambda: "elsewhere.example:1:1", True, id="another host: trusted until it expires"),
    pytest.param(lambda: owner_name().split(":")[0] + ":not-a-pid", True, id="unknown form"),
])
def test_which_holders_count_as_alive(owner: Any, alive: bool) -> None:
    assert holder_alive(owner()) is alive
