"""Contention in the fake: two write calls in flight touching the same users deadlock as on PostgreSQL.

The call that arrives second answers ``dmlwriteexception`` after its own latency and writes nothing; the first
succeeds. Every test holds the first call in flight with a slow latency, waits until the fake says it holds
that call's users, then sends the second: which one loses never depends on timing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests

from moodle_bridge.encoding import encode_params
from moodle_bridge.fake import MOODLE_PROFILE, FakeMoodleApp, Latency, RunningFake, serve, stock_site
from moodle_bridge.fake.control import FakeControl
from tests.conftest import TOKEN
from tests.factories import STUDENT, add_course, add_user, make_users

pytestmark = pytest.mark.integration
ENROL = "enrol_manual_enrol_users"
SLOW = Latency(per_call_ms_by_function={ENROL: 400.0, "core_cohort_add_cohort_members": 400.0})
DEADLOCK = {"exception": "dml_write_exception", "errorcode": "dmlwriteexception",
            "message": "Error writing to database"}


@pytest.fixture
def busy() -> Iterator[RunningFake]:
    """A fake with contention on whose enrolments and cohort additions take 400 ms each."""
    with serve(stock_site(tokens={"wsbot": TOKEN}), latency=SLOW, contention=True) as running:
        yield running


def call(fake: RunningFake, wsfunction: str, params: dict[str, Any]) -> Any:
    form = [("wstoken", TOKEN), ("wsfunction", wsfunction), ("moodlewsrestformat", "json"),
            *encode_params(params)]
    answer = requests.post(fake.url + "/webservice/rest/server.php", data=form, timeout=30)
    assert answer.status_code == 200
    return answer.json()


def enrolments(users: list[int], courseid: int) -> dict[str, Any]:
    return {"enrolments": [{"roleid": STUDENT, "userid": u, "courseid": courseid} for u in users]}


def enrolled(fake: RunningFake, courseid: int) -> set[int]:
    site = fake.site
    with site.lock:
        instances = {row["id"] for row in site.db["enrol"].select(courseid=courseid)}
        return {int(ue["userid"]) for ue in site.db["user_enrolments"] if ue["enrolid"] in instances}


def in_flight(fake: RunningFake, wsfunction: str, params: dict[str, Any],
              holds: set[int]) -> Callable[[], Any]:
    """Starts a call in a thread and returns once the fake holds ``holds`` for it; the result joins it."""
    outcome: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: outcome.update(answer=call(fake, wsfunction, params)))
    thread.start()
    for _ in range(500):  # the call is sent at once; this only waits for the fake to take it
        if holds <= fake.app.contention.held():
            break
        time.sleep(0.01)
    assert holds <= fake.app.contention.held(), "the first call never got in flight"

    def result() -> Any:
        thread.join(timeout=30)
        return outcome.get("answer")
    return result


def test_overlapping_enrolments_deadlock_and_the_later_call_writes_nothing(busy: RunningFake) -> None:
    site = busy.site
    users = make_users(site, 3, prefix="ct")
    one, two = add_course(site, "CT1")["id"], add_course(site, "CT2")["id"]
    first = in_flight(busy, ENROL, enrolments(users[:2], one), set(users[:2]))
    second = call(busy, ENROL, enrolments([users[2], users[1]], two))  # shares users[1]
    assert second == DEADLOCK
    assert first() is None  # enrol_manual_enrol_users answers null on success
    assert enrolled(busy, one) == set(users[:2])
    assert enrolled(busy, two) == set()  # not even users[2], who was in no conflict: rolled back
    stats = FakeControl(busy.url).stats()
    assert stats["contention"] is True and stats["dmlwriteexception"] == 1
    assert busy.app.contention.held() == frozenset()
    assert call(busy, ENROL, enrolments([users[2], users[1]], two)) is None  # alone, it goes through
    assert enrolled(busy, two) == {users[1], users[2]}


def test_a_conflicting_call_that_fails_moodles_checks_answers_that_instead(busy: RunningFake) -> None:
    site = busy.site
    person = add_user(site, "ct-bad")
    one, two = add_course(site, "CB1")["id"], add_course(site, "CB2")["id"]
    first = in_flight(busy, ENROL, enrolments([person["id"]], one), {person["id"]})
    unchecked = call(busy, ENROL, {"enrolments": [{"userid": person["id"], "courseid": two}]})  # no roleid
    assert unchecked["errorcode"] == "invalidparameter"
    assert first() is None and busy.app.contention.deadlocks == 0


def test_writes_on_disjoint_users_both_succeed(busy: RunningFake) -> None:
    site = busy.site
    users = make_users(site, 4, prefix="cd")
    one, two = add_course(site, "CD1")["id"], add_course(site, "CD2")["id"]
    first = in_flight(busy, ENROL, enrolments(users[:2], one), set(users[:2]))
    assert call(busy, ENROL, enrolments(users[2:], two)) is None
    assert first() is None
    assert enrolled(busy, one) == set(users[:2]) and enrolled(busy, two) == set(users[2:])
    assert busy.app.contention.deadlocks == 0


def test_a_cohort_member_named_by_username_conflicts_with_an_enrolment(busy: RunningFake) -> None:
    site = busy.site
    person = add_user(site, "ct-cohort")
    course = add_course(site, "CC1")["id"]
    cohort = call(busy, "core_cohort_create_cohorts", {"cohorts": [
        {"name": "班", "idnumber": "CT-CLASS", "categorytype": {"type": "system", "value": ""}}]})[0]
    members = {"members": [{"cohorttype": {"type": "id", "value": str(cohort["id"])},
                            "usertype": {"type": "username", "value": "ct-cohort"}}]}
    first = in_flight(busy, "core_cohort_add_cohort_members", members, {person["id"]})
    assert call(busy, ENROL, enrolments([person["id"]], course)) == DEADLOCK
    assert first()["warnings"] == []
    assert enrolled(busy, course) == set()


def test_messages_and_reads_hold_no_users(busy: RunningFake) -> None:
    site = busy.site
    person = add_user(site, "ct-msg")
    course = add_course(site, "CM1")["id"]
    first = in_flight(busy, ENROL, enrolments([person["id"]], course), {person["id"]})
    sent = call(busy, "core_message_send_instant_messages",
                {"messages": [{"touserid": person["id"], "text": "请按时学习"}]})
    assert sent[0]["msgid"] > 0
    assert call(busy, "core_user_get_users_by_field", {"field": "id", "values": [person["id"]]})[0]["id"] == \
        person["id"]
    assert first() is None and busy.app.contention.deadlocks == 0


def test_with_debugging_on_the_answer_names_the_deadlock(busy: RunningFake) -> None:
    site = busy.site
    site.site_action("set_config", {"name": "debug", "value": 32767})
    person = add_user(site, "ct-debug")
    one, two = add_course(site, "CG1")["id"], add_course(site, "CG2")["id"]
    first = in_flight(busy, ENROL, enrolments([person["id"]], one), {person["id"]})
    answer = call(busy, ENROL, enrolments([person["id"]], two))
    assert answer["errorcode"] == "dmlwriteexception"
    assert answer["debuginfo"].startswith("ERROR:  deadlock detected")
    assert 'relation "mdl_cache_flags"' in answer["debuginfo"]
    assert first() is None


def test_contention_is_off_unless_asked_for_and_on_in_the_moodle_profile() -> None:
    site = stock_site(tokens={"wsbot": TOKEN})
    assert not FakeMoodleApp(site).contention.enabled
    assert not FakeMoodleApp(site, SLOW).contention.enabled
    assert MOODLE_PROFILE.contention and FakeMoodleApp(site, MOODLE_PROFILE).contention.enabled
    assert not FakeMoodleApp(site, MOODLE_PROFILE, contention=False).contention.enabled
    following = FakeMoodleApp(site)
    following.set_latency(replace(MOODLE_PROFILE, per_call_ms=1.0))
    assert following.contention.enabled
    held = FakeMoodleApp(site, contention=False)
    held.set_latency(MOODLE_PROFILE)
    assert not held.contention.enabled


def test_without_contention_overlapping_writes_both_succeed() -> None:
    with serve(stock_site(tokens={"wsbot": TOKEN}), latency=SLOW) as fake:
        users = make_users(fake.site, 2, prefix="co")
        one, two = add_course(fake.site, "CO1")["id"], add_course(fake.site, "CO2")["id"]
        control = FakeControl(fake.url)
        assert control.stats()["contention"] is False
        outcome: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: outcome.update(a=call(fake, ENROL, enrolments(users, one))))
        thread.start()
        assert call(fake, ENROL, enrolments(users, two)) is None
        thread.join(timeout=30)
        assert outcome == {"a": None} and enrolled(fake, two) == set(users)
        assert control.set_contention(True) is True and fake.app.contention.enabled
        control.close()
