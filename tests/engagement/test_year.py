"""A whole plan year of engagement on the fake Moodle, day by day as the daily job lives it: the
announcements reach exactly their tiers, each reminder rule reaches exactly the cadres it concerns on
its date (judged independently from the site by the harvest tests' truth), leaders get one digest,
the discussion topics open and lock on their dates (a missed opening is caught up), the commendation
list is stored after the year, and nothing is ever sent twice."""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import CommendationEntry, DiscussionTopic, OutboxMessage
from plugin_service.services.engagement import JobResult, engage

from ..harvest.world import Year, essay, moment
from ..provisioning.expected import tier_of
from ..provisioning.moodle_snapshot import write_calls
from .calendar import below, counts, in_tiers, inbox, topics, without_reflection

pytestmark = pytest.mark.xdist_group("engagement-year")

START = "2026 年度干部在线学习启动"
EMERGENCY = "校园应急管理常识课程已开放"
REFLECTION = "的学习心得（不少于"
MID_YEAR = "低于本阶段应达到的 20 学时"
AUTUMN = "低于本阶段应达到的 35 学时"
DIGEST = "您联系的以下干部"


def learning(year: Year, seed: int = 11) -> list[tuple[int, Callable[[int], object]]]:
    """A year of study, drawn once: completions from March to December, thought's reflection written by
    about half before its reminder and by more after it, posts in the spring topic while it is open."""
    rng = random.Random(seed)
    plan = year.plan()
    events: list[tuple[int, Callable[[int], object]]] = []
    for row in year.rows():
        no = row["工号"]
        if no not in year.users:
            continue
        pace = rng.choice([0.0, 0.3, 0.6, 1.0])
        for course in plan.courses:
            if course.template is not None and rng.random() < pace:
                day = dt.date(2026, 3, 10) + dt.timedelta(days=rng.randint(0, 270))
                events.append((moment(day.isoformat(), "20:00:00"),
                               functools.partial(_complete, year, no, course.key)))
        if rng.random() < 0.7:
            day = dt.date(2026, 4, 10) + dt.timedelta(days=rng.randint(0, 120))
            events.append((moment(day.isoformat(), "21:00:00"),
                           functools.partial(_reflect, year, no)))
    return sorted(events, key=lambda event: event[0])


def _enrolled(year: Year, no: str, course: str) -> bool:
    """Whether the cadre studies ``course`` (a leader may be in it as a reviewer only)."""
    row = next(r for r in year.rows() if r["工号"] == no)
    tier = tier_of(row)
    spec = year.plan().course(course)
    return tier is not None and spec is not None and tier in spec.tiers()


def _complete(year: Year, no: str, course: str, when: int) -> None:
    if _enrolled(year, no, course):
        year.complete(no, course, when)


def _reflect(year: Year, no: str, when: int) -> None:
    if _enrolled(year, no, "thought"):
        year.at(when)
        year.visit(no, "thought")
        year.site.site_action("assign_submit", {"userid": year.users[no],
                                                "cmid": year.assignment_cm("thought"), "text": essay(1600)})


def _post(year: Year, no: str, title: str, when: int) -> None:
    found = topics(year.site, title)
    if found and _enrolled(year, no, "thought"):
        year.reply(no, int(str(found[0]["id"])), when)


class Calendar:
    """Walks the year: before each day the learners' doings up to that morning, then the night's
    harvest, then the daily engagement job."""

    def __init__(self, year: Year) -> None:
        self.year = year
        self.events = learning(year)

    def live_until(self, when: int) -> None:
        while self.events and self.events[0][0] < when:
            at, action = self.events.pop(0)
            action(at)

    def day(self, day: dt.date) -> JobResult:
        self.events.sort(key=lambda event: event[0])
        self.live_until(moment(day.isoformat(), "03:00:00"))
        self.year.at(moment(day.isoformat(), "03:00:00"))
        self.year.harvest("report", today=day)
        self.year.at(moment(day.isoformat(), "07:30:00"))
        with self.year.client() as client:
            return engage(client, self.year.settings, year=2026, today=day, actor="test")


def _outbox(year: Year) -> list[tuple[str, str, str]]:
    with session_scope(year.database_url) as session:
        return [(m.key, m.status, m.recipient) for m in session.scalars(select(OutboxMessage))]


def test_a_plan_year_of_engagement(small: Year) -> None:
    # Commend the best two of each tier with 30 hours (the sample's 50 is out of reach of most tiers).
    small.apply(plan_text=small.plan_text.replace("top_per_tier: 3", "top_per_tier: 2")
                .replace("min_hours: 50", "min_hours: 30"))
    year, plan = small, small.plan()
    calendar = Calendar(year)
    everyone = frozenset(t.key for t in plan.tiers)

    result = calendar.day(dt.date(2026, 3, 5))
    expected = in_tiers(year.truth(dt.date(2026, 3, 5)), everyone)
    assert counts(year, START) == Counter({no: 1 for no in expected})
    assert result.counts()["fired"] == {"announcement:2026-03-05-1": len(counts(year, START))}

    calendar.day(dt.date(2026, 4, 1))
    spring = next(d for d in plan.discussions if d.key == "spring")
    posted = topics(year.site, spring.title)
    assert len(posted) == 1 and not posted[0].get("timelocked")
    talkers = sorted(year.users)[:10]
    calendar.events += [(moment(f"2026-04-{10 + n:02d}", "12:00:00"),
                         functools.partial(_post, year, no, spring.title))
                        for n, no in enumerate(talkers)]

    result = calendar.day(dt.date(2026, 5, 1))
    assert topics(year.site, spring.title)[0].get("timelocked"), "the spring topic is locked after it closes"
    assert result.counts()["topics"] == {"spring": "locked"}

    calendar.day(dt.date(2026, 5, 12))
    assert counts(year, EMERGENCY) == Counter(
        {no: 1 for no in in_tiers(year.truth(dt.date(2026, 5, 12)), frozenset({"support", "section"}))})

    calendar.day(dt.date(2026, 6, 20))
    truth = year.truth(dt.date(2026, 6, 20))
    expected = without_reflection(truth, "thought", everyone)
    assert expected and expected != in_tiers(truth, everyone), "the year's draw gives both kinds of cadre"
    assert counts(year, REFLECTION) == Counter({no: 1 for no in expected})

    calendar.day(dt.date(2026, 7, 1))
    expected = below(year.truth(dt.date(2026, 7, 1)), 20, everyone)
    assert counts(year, MID_YEAR) == Counter({no: 1 for no in expected})

    # The service is down from 8 to 11 October: the autumn topic opens late, when it comes back.
    autumn = next(d for d in plan.discussions if d.key == "autumn")
    result = calendar.day(dt.date(2026, 10, 12))
    opened = next(t for t in result.topics if t.key == "autumn")
    assert (opened.action, opened.late) == ("opened", True)
    assert len(topics(year.site, autumn.title)) == 1

    calendar.day(dt.date(2026, 10, 15))
    truth = year.truth(dt.date(2026, 10, 15))
    laggards = below(truth, 35, everyone)
    assert counts(year, AUTUMN) == Counter({no: 1 for no in laggards})
    leaders = {row["工号"]: row["分管校领导工号"] for row in year.rows()}
    expected_digests = {leaders[no] for no in laggards if leaders.get(no) and leaders[no] != no}
    digests = counts(year, DIGEST)
    assert digests == Counter({leader: 1 for leader in expected_digests})
    for leader in expected_digests:
        text = next(t for t in inbox(year)[leader] if DIGEST in t)
        listed = {no for no in laggards if leaders.get(no) == leader}
        assert f"共 {len(listed)} 人" in text
        for no in listed:
            user = year.site.db["user"].get(year.users[no])
            assert user is not None and user["lastname"] in text

    result = calendar.day(dt.date(2026, 11, 3))
    closed = next(t for t in result.topics if t.key == "autumn")
    assert (closed.action, closed.late) == ("locked", True)
    assert topics(year.site, autumn.title)[0].get("timelocked")

    calendar.day(dt.date(2026, 12, 16))
    truth = year.truth(dt.date(2026, 12, 16))
    with session_scope(year.database_url) as session:
        commended = list(session.scalars(select(CommendationEntry).order_by(CommendationEntry.tier_key,
                                                                            CommendationEntry.rank)))
        opened_topics = {t.key: (t.opened_on, t.locked_on) for t in session.scalars(select(DiscussionTopic))}
    assert opened_topics == {"spring": ("2026-04-01", "2026-05-01"), "autumn": ("2026-10-12", "2026-11-03")}
    rule = plan.commendation
    assert rule is not None
    for tier in plan.tiers:
        eligible = sorted((r.total_hours for r in truth.records.values() if r.tier == tier.key
                           and r.status != "excluded" and r.total_hours >= rule.min_hours), reverse=True)
        names = [e for e in commended if e.tier_key == tier.key]
        assert len(names) >= min(rule.top_per_tier, len(eligible))
        assert all(truth.records[e.employee_no].total_hours == pytest.approx(e.total_hours) for e in names)
        if names:
            cut = min(e.total_hours for e in names)
            assert sum(1 for h in eligible if h > cut + 1e-9) < len(names)

    # Nothing is ever sent twice: every key once in the outbox, every message once in Moodle.
    outbox = _outbox(year)
    assert len({key for key, _s, _r in outbox}) == len(outbox)
    assert {status for _k, status, _r in outbox} == {"sent"}
    sent = sum(len(texts) for texts in inbox(year).values())
    assert sent == len(outbox)

    # The same day again writes nothing at all in Moodle.
    writes = sum(write_calls(year.site).values())
    with year.client() as client:
        again = engage(client, year.settings, year=2026, today=dt.date(2026, 12, 16), actor="test")
    assert again.delivery.sent == 0 and sum(write_calls(year.site).values()) == writes
    assert sum(len(texts) for texts in inbox(year).values()) == sent
