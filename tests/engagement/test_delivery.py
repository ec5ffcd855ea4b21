"""At most once, whatever happens: a dry run, two runs at once, faults on the way to Moodle and back, a
run killed between claiming and recording, recipients who cannot be reached, a reminder that waits for
fresh records, one whose date passed long ago."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from moodle_bridge import MoodleError
from moodle_bridge.fake.costs import Faults
from moodle_bridge.fake.seed import ADMIN
from plugin_service.db import session_scope
from plugin_service.models import EngagementFiring, EngagementRun, OutboxMessage
from plugin_service.services.engagement import EngagementError, announce, remind
from plugin_service.services.engagement.outbox import deliver
from plugin_service.services.platform.locks import LockedError

from ..harvest.world import Year, moment, spread
from ..provisioning.moodle_snapshot import write_calls
from .calendar import below, counts, in_tiers, inbox, service_userid
from .interrupted import kill_while_sending

pytestmark = pytest.mark.xdist_group("engagement-delivery")

MID_YEAR = "低于本阶段应达到的 20 学时"
START = "2026 年度干部在线学习启动"
JULY = dt.date(2026, 7, 1)


def harvested(year: Year, day: dt.date = JULY, *, learning: bool = False) -> Year:
    if learning:
        spread(year, until=dt.date(2026, 6, 15))
    year.at(moment(day.isoformat(), "03:00:00"))
    year.harvest("report", today=day)
    year.at(moment(day.isoformat(), "08:00:00"))
    return year


def _outbox(year: Year) -> dict[str, str]:
    with session_scope(year.database_url) as session:
        return {m.key: m.status for m in session.scalars(select(OutboxMessage))}


def test_a_dry_run_shows_who_would_receive_what_and_changes_nothing(small: Year) -> None:
    year = harvested(small, learning=True)
    writes = sum(write_calls(year.site).values())
    with year.client() as client:
        result = remind(client, year.settings, today=JULY, dry_run=True)
    fired = next(f for f in result.firings if f.key == "mid-year")
    assert fired.state == "fired"
    assert {m.recipient for m in fired.messages} == below(year.truth(JULY), 20, frozenset(t.key for t in
                                                                                           year.plan().tiers))
    assert all(MID_YEAR in m.text for m in fired.messages)
    assert {f.key: f.state for f in result.firings} == {"reflection-due": "fired", "mid-year": "fired",
                                                        "autumn-laggards": "future"}
    assert sum(write_calls(year.site).values()) == writes and not inbox(year)
    with session_scope(year.database_url) as session:
        assert not session.scalars(select(OutboxMessage)).all()
        assert not session.scalars(select(EngagementFiring)).all()
        assert not session.scalars(select(EngagementRun)).all()


def test_each_rule_period_and_person_is_messaged_once_over_repeated_runs(small: Year) -> None:
    year = harvested(small, learning=True)
    expected = below(year.truth(JULY), 20, frozenset(t.key for t in year.plan().tiers))
    assert 0 < len(expected) < len(year.users) - 3
    with year.client() as client:
        first = remind(client, year.settings, today=JULY)
        second = remind(client, year.settings, today=JULY)
        third = remind(client, year.settings, today=JULY + dt.timedelta(days=3))
    assert first.delivery.sent == len(_outbox(year)) and second.delivery.sent == third.delivery.sent == 0
    assert counts(year, MID_YEAR) == Counter({no: 1 for no in expected})
    assert {f.key: f.state for f in third.firings}["mid-year"] == "already"


def test_two_runs_at_once_send_each_message_once(small: Year) -> None:
    year = harvested(small)
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        with year.client() as client:
            barrier.wait()
            try:
                outcomes.append(remind(client, year.settings, today=JULY))
            except LockedError as exc:
                outcomes.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = below(year.truth(JULY), 20, frozenset(t.key for t in year.plan().tiers))
    assert counts(year, MID_YEAR) == Counter({no: 1 for no in expected})
    assert sum(isinstance(o, LockedError) for o in outcomes) <= 1


def test_the_outbox_alone_keeps_concurrent_senders_apart(small: Year) -> None:
    """Even without the job lock, two senders draining one outbox never send a message twice."""
    year = harvested(small)
    with year.client() as client:
        remind(client, year.settings, today=JULY, dry_run=True)
    from plugin_service.services.engagement.messaging import fire
    with session_scope(year.database_url) as session:
        fire(session, year.plan(), JULY, ("reminder", "announcement"), None)
    queued = len(_outbox(year))
    sender = service_userid(year.site)
    barrier = threading.Barrier(3)

    def drain() -> None:
        with year.client(batch_size=3) as client:
            barrier.wait()
            deliver(client, year.database_url, 2026, sender=sender, run_id=None, actor="test")

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(_outbox(year).values()) == {"sent"}
    assert sum(len(texts) for texts in inbox(year).values()) == queued


def test_faults_on_the_way_are_resolved_without_a_second_message(small: Year) -> None:
    """Faults before the call (nothing sent) and after it (sent, answer lost): each run that fails
    leaves the messages in doubt, the next one looks them up in Moodle before sending anything."""
    year = harvested(small)
    everyone = frozenset(t.key for t in year.plan().tiers)
    year.fake.app.faults = Faults(rate=0.2, seed=7, kinds=("http503", "truncated", "timeout"), timeout_s=0.4)
    failures = settled = 0
    for _attempt in range(60):
        try:
            with year.client(batch_size=5, timeout=0.3) as client:
                result = remind(client, year.settings, today=JULY)
                settled += result.delivery.confirmed + result.delivery.requeued
        except (EngagementError, MoodleError):
            failures += 1
            continue
        if set(_outbox(year).values()) == {"sent"}:
            break
    year.fake.app.faults = Faults()
    assert failures > 0 and settled > 0, "the faults made runs fail and left messages in doubt"
    assert set(_outbox(year).values()) == {"sent"}
    assert counts(year, MID_YEAR) == Counter({no: 1 for no in below(year.truth(JULY), 20, everyone)})


def test_a_run_killed_between_claim_and_record_is_settled_from_moodle(small: Year) -> None:
    year = harvested(small)
    with year.client() as client:
        first = remind(client, year.settings, today=JULY)
    before = sum(len(t) for t in inbox(year).values())
    gone, never = kill_while_sending(year, first.run_id)
    with year.client() as client:
        result = remind(client, year.settings, today=JULY)
    d = result.delivery
    assert (d.confirmed, d.requeued, d.sent) == (gone, never, never)
    assert sum(len(t) for t in inbox(year).values()) == before
    assert set(_outbox(year).values()) == {"sent"}
    with session_scope(year.database_url) as session:
        killed = session.get(EngagementRun, first.run_id)
        assert killed is not None and killed.status == "interrupted"


def test_unreachable_recipients_are_recorded_not_retried(small: Year) -> None:
    year = harvested(small)
    everyone = frozenset(t.key for t in year.plan().tiers)
    expected = below(year.truth(JULY), 20, everyone)
    gone = sorted(expected)[0]
    year.site.invoke("core_user_delete_users", {"userids": [year.users[gone]]}, userid=ADMIN)
    with year.client() as client:
        result = remind(client, year.settings, today=JULY)
        again = remind(client, year.settings, today=JULY)
    assert result.delivery.refused >= 1 and again.delivery.refused == 0
    with session_scope(year.database_url) as session:
        refused = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "refused")).all()
        assert {row.recipient for row in refused} == {gone}
        assert all("does not exist" in (row.error or "") for row in refused)
    assert counts(year, MID_YEAR) == Counter({no: 1 for no in expected - {gone}})


def test_a_reminder_waits_for_fresh_records_and_expires_after_its_grace(small: Year) -> None:
    year = harvested(small, dt.date(2026, 6, 25))
    with year.client() as client:
        waiting = remind(client, year.settings, today=JULY)
    states = {f.key: f.state for f in waiting.firings}
    assert (states["reflection-due"], states["mid-year"]) == ("fired", "waiting")
    assert not counts(year, MID_YEAR)
    harvested(year, dt.date(2026, 7, 20))
    with year.client() as client:
        late = remind(client, year.settings, today=dt.date(2026, 7, 20))
    assert {f.key: f.state for f in late.firings}["mid-year"] == "expired" and not counts(year, MID_YEAR)
    assert late.counts()["expired"] == ["reminder:mid-year"]


def test_an_announcement_reaches_exactly_its_tiers_once(small: Year) -> None:
    year = small
    year.at(moment("2026-03-05", "08:00:00"))
    with year.client() as client:
        announce(client, year.settings, today=dt.date(2026, 3, 5))
        announce(client, year.settings, today=dt.date(2026, 3, 6))
    everyone = frozenset(t.key for t in year.plan().tiers)
    expected = in_tiers(year.truth(dt.date(2026, 3, 5)), everyone)
    assert counts(year, START) == Counter({no: 1 for no in expected})
