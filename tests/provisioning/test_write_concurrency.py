"""Writes a real Moodle can take at once: no two calls in flight touch the same user, and a write its
database refused is re-read before anything is sent again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from moodle_bridge import DatabaseWriteError, MoodleClient, NotFoundError
from moodle_bridge.fake import RunningFake, serve, stock_site
from moodle_bridge.fake.control import FakeControl
from moodle_bridge.fake.costs import Latency
from moodle_bridge.fake.seed import seed_course_library
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.models import AuditLog
from plugin_service.services.provisioning import apply as apply_module
from plugin_service.services.provisioning.apply import Applier, _by_user, _Calls, _user_of
from plugin_service.services.provisioning.changeset import Op
from plugin_service.services.provisioning.provision import ApplyResult, apply
from rules.wording import Sentence

from ..conftest import TOKEN
from .expected import expected
from .moodle_snapshot import duplicates, snapshot
from .test_provision import inputs


def _says(*_: Any) -> Sentence:
    return Sentence("an operation")


def _op(kind: str, course: str, employee_no: str) -> Op:
    data = {"course": course, "employee_no": employee_no, "role": "student"}
    return Op(kind, f"{course}/{employee_no}", _says, (), data)


def _applier(batch_size: int, max_workers: int) -> Applier:
    client = SimpleNamespace(batch_size=batch_size, max_workers=max_workers)
    return Applier(client=cast(MoodleClient, client), session=cast(Any, None), run_id=0, actor="t",
                   desired=cast(Any, None), actual=cast(Any, None), role_ids={}, hours_field=None)


def _enrolments(courses: int, people: int) -> list[tuple[int, Op]]:
    """As the change set orders them: course by course, everyone in each course."""
    ops = [_op("enrol", f"c{c}", f"T{p:04}") for c in range(courses) for p in range(people)]
    return list(enumerate(ops))


@pytest.mark.parametrize(("courses", "people", "batch_size", "workers"),
                         [(12, 300, 50, 4), (3, 7, 50, 4), (20, 40, 100, 2), (1, 1, 10, 4), (5, 90, 7, 3)])
def test_each_users_operations_share_one_chunk(courses: int, people: int, batch_size: int,
                                              workers: int) -> None:
    batch = _enrolments(courses, people)
    chunks = _applier(batch_size, workers)._chunks(batch)
    assert sorted(index for chunk in chunks for index, _ in chunk) == list(range(len(batch)))
    owner: dict[str, int] = {}
    for number, chunk in enumerate(chunks):
        for _, op in chunk:
            assert owner.setdefault(op.data["employee_no"], number) == number, "a user spans two chunks"
    # A chunk stays within a call's size unless one user alone has more operations than that.
    assert all(len(chunk) <= max(batch_size, courses) for chunk in chunks)
    if len(batch) >= workers * batch_size:
        assert len(chunks) >= workers  # the pool is kept busy


def test_chunks_are_about_even() -> None:
    chunks = _applier(100, 4)._chunks(_enrolments(12, 1000))
    sizes = Counter(len(chunk) for chunk in chunks)
    assert max(sizes) - min(sizes) <= 12 and max(sizes) <= 100


def test_operations_on_no_user_stand_alone() -> None:
    ops = [Op("create_class", f"k{n}", _says, ()) for n in range(3)]
    assert [len(group) for group in _by_user(list(enumerate(ops)))] == [1, 1, 1]
    assert _user_of(Op("remove_member", "k/x", _says, (), {"class": "k", "userid": 7})) == "#7"
    assert _user_of(Op("update_user", "T1", _says, ())) == "T1"


def _refused() -> DatabaseWriteError:
    return DatabaseWriteError("Error writing to database", wsfunction="enrol_manual_enrol_users",
                              errorcode="dmlwriteexception", exception="dml_write_exception",
                              debuginfo="ERROR:  deadlock detected")


@pytest.fixture(autouse=True)
def _no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apply_module, "REFUSED_PAUSE_S", 0.0)


def test_a_refused_write_is_re_read_and_only_what_is_missing_is_sent() -> None:
    sent: list[list[int]] = []
    rereads: list[str] = []

    def write(people: list[int]) -> None:
        sent.append(people)
        if len(sent) == 1:
            raise _refused()

    def again() -> Any:
        rereads.append("read")
        return lambda: write([2, 3])  # Moodle shows 1 in place: only 2 and 3 are sent again

    calls = _Calls()
    calls("enrol_manual_enrol_users", lambda: write([1, 2, 3]), again)
    assert sent == [[1, 2, 3], [2, 3]] and rereads == ["read"]
    assert [fn for fn, _ in calls.refused] == ["enrol_manual_enrol_users"]
    assert calls.failed is None and len(calls.answered) == 1


def test_nothing_is_sent_again_when_the_re_read_finds_everything() -> None:
    sent = []

    def write() -> None:
        sent.append(1)
        raise _refused()

    calls = _Calls()
    calls("enrol_manual_enrol_users", write, lambda: None)
    assert sent == [1] and calls.failed is None and calls.answered == [("enrol_manual_enrol_users", None)]


def test_a_write_refused_every_time_fails_after_the_last_attempt() -> None:
    def write() -> None:
        raise _refused()

    calls = _Calls()
    with pytest.raises(DatabaseWriteError):
        calls("enrol_manual_enrol_users", write, lambda: write)
    assert len(calls.refused) == apply_module.WRITE_ATTEMPTS - 1
    assert calls.failed is not None and calls.failed[0] == "enrol_manual_enrol_users"


def test_without_a_re_read_a_refused_write_fails_at_once() -> None:
    def write() -> None:
        raise _refused()

    calls = _Calls()
    with pytest.raises(DatabaseWriteError):
        calls("core_user_create_users", write)
    assert calls.refused == [] and calls.failed is not None


def test_a_failing_re_read_fails_the_write() -> None:
    def reread() -> Any:
        raise NotFoundError("no such course", errorcode="invalidrecord")

    calls = _Calls()
    with pytest.raises(NotFoundError):
        calls("enrol_manual_enrol_users", lambda: (_ for _ in ()).throw(_refused()), reread)
    assert calls.failed is not None and isinstance(calls.failed[1], NotFoundError)


# -- against the fake Moodle with contention on, over HTTP ------------------------------------------------

CONTENDED = Latency(per_call_ms=40.0, per_item_ms=1.0, workers=4, contention=True)


@pytest.fixture
def contended() -> Iterator[RunningFake]:
    """The course library on a fake that deadlocks concurrent writes on the same users, as Moodle does."""
    site = stock_site(tokens={"wsbot": TOKEN})
    seed_course_library(site)
    with serve(site, latency=CONTENDED) as running:
        yield running


def _apply(fake: RunningFake, database_url: str) -> ApplyResult:
    upgrade(database_url)
    settings = Settings(moodle_url=fake.url, moodle_token=TOKEN, database_url=database_url, secret_key="t",
                        moodle_batch_size=50, moodle_max_workers=4)
    with MoodleClient(fake.url, TOKEN, batch_size=50, max_workers=4) as client:
        return apply(client, inputs(2026), settings, actor="test")


def _refused_audits(database_url: str) -> int:
    with session_scope(database_url) as session:
        return session.query(AuditLog).filter_by(outcome="refused").count()


def _exact(fake: RunningFake) -> None:
    got, want = snapshot(fake.site, 2026), expected(2026)
    for idnumber, members in want["classes"].items():
        assert got["classes"][idnumber]["members"] == members, idnumber
    assert {k: set(v[0]) for k, v in got["enrolments"].items()} == want["enrolments"]
    assert not duplicates(fake.site)


@pytest.mark.integration
def test_the_sample_year_meets_no_deadlock_at_four_writers(contended: RunningFake, database_url: str) -> None:
    _apply(contended, database_url)
    stats = FakeControl(contended.url).stats()
    assert stats["contention"] is True and stats["peak_in_flight"] > 1
    assert stats["dmlwriteexception"] == 0
    assert _refused_audits(database_url) == 0
    _exact(contended)


@pytest.mark.integration
def test_writes_refused_by_a_deadlock_are_re_read_and_completed(contended: RunningFake, database_url: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks cut without regard to users (course by course, as the change set orders enrolments) make
    concurrent calls share people: Moodle refuses some. Each refused call is re-read and what is missing
    sent again, until the year is exact, and every refusal is in the audit log."""
    def by_position(self: Applier, batch: list[tuple[int, Op]], *,
                    least: int = 50) -> list[list[tuple[int, Op]]]:
        size = self.client.batch_size
        return [batch[start:start + size] for start in range(0, len(batch), size)]

    monkeypatch.setattr(Applier, "_chunks", by_position)
    monkeypatch.setattr(apply_module, "WRITE_ATTEMPTS", 20)
    _apply(contended, database_url)
    deadlocks = FakeControl(contended.url).stats()["dmlwriteexception"]
    assert deadlocks > 0, "the naive chunks met no conflict: the test proves nothing"
    assert _refused_audits(database_url) == deadlocks
    _exact(contended)
