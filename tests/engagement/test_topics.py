"""Discussion windows: posted on the opening day, locked after the closing day, caught up when missed,
never posted twice (a topic posted by a run that died is adopted), and refused clearly where a course
has no discussion forum."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from moodle_bridge.fake.seed import ADMIN
from plugin_service.db import session_scope
from plugin_service.models import AuditLog, DiscussionTopic
from plugin_service.services.engagement import EngagementError, sync_discussions

from ..harvest.world import Year, moment
from ..provisioning.moodle_snapshot import write_calls
from .calendar import service_userid, topics

pytestmark = pytest.mark.xdist_group("engagement-topics")


def sync(year: Year, day: str, *, dry_run: bool = False) -> dict[str, tuple[str, bool]]:
    year.at(moment(day, "07:30:00"))
    with year.client() as client:
        result = sync_discussions(client, year.settings, today=dt.date.fromisoformat(day), dry_run=dry_run)
    return {t.key: (t.action, t.late) for t in result.topics}


def title(year: Year, key: str) -> str:
    return next(d.title for d in year.plan().discussions if d.key == key)


def test_topics_open_and_lock_on_their_days(small: Year) -> None:
    assert sync(small, "2026-03-31") == {"spring": ("nothing", False), "autumn": ("nothing", False)}
    assert not topics(small.site, title(small, "spring"))
    assert sync(small, "2026-04-01")["spring"] == ("opened", False)
    [posted] = topics(small.site, title(small, "spring"))
    assert posted["userid"] == service_userid(small.site) and not posted["timelocked"]
    first = small.site.db["forum_posts"].get(posted["firstpost"])
    assert first is not None and "2026年4月1日 至 2026年4月30日" in first["message"]
    assert sync(small, "2026-04-30")["spring"] == ("nothing", False)
    assert sync(small, "2026-05-01")["spring"] == ("locked", False)
    assert topics(small.site, title(small, "spring"))[0]["timelocked"]
    writes = sum(write_calls(small.site).values())
    assert sync(small, "2026-05-02")["spring"] == ("nothing", False)
    assert sum(write_calls(small.site).values()) == writes
    with session_scope(small.database_url) as session:
        actions = [a.action for a in session.scalars(
            select(AuditLog).where(AuditLog.target.like("2026/discussion/%")))]
    assert actions == ["moodle:mod_forum_add_discussion", "moodle:mod_forum_set_lock_state"]


def test_a_window_missed_entirely_is_posted_and_locked_when_the_service_returns(small: Year) -> None:
    assert sync(small, "2026-05-06") == {"spring": ("opened+locked", True), "autumn": ("nothing", False)}
    [posted] = topics(small.site, title(small, "spring"))
    assert posted["timelocked"]
    with session_scope(small.database_url) as session:
        row = session.scalar(select(DiscussionTopic).where(DiscussionTopic.key == "spring"))
        assert row is not None and (row.opened_on, row.locked_on) == ("2026-05-06", "2026-05-06")


def test_a_topic_posted_by_a_run_that_died_is_adopted_not_posted_again(small: Year) -> None:
    spring = title(small, "spring")
    forum = next(f for f in small.site.db["forum"].select(course=small.courses["thought"])
                 if f.get("type") == "general")
    small.at(moment("2026-04-01", "07:30:00"))
    small.site.site_action("forum_add_discussion", {"userid": ADMIN, "forumid": forum["id"],
                                                    "subject": spring, "message": "<p>posted, then died</p>"})
    assert sync(small, "2026-04-01")["spring"] == ("adopted", False)
    assert len(topics(small.site, spring)) == 1


def test_a_dry_run_posts_nothing(small: Year) -> None:
    writes = sum(write_calls(small.site).values())
    assert sync(small, "2026-11-05", dry_run=True) == {"spring": ("opened+locked", True),
                                                       "autumn": ("opened+locked", True)}
    assert sum(write_calls(small.site).values()) == writes
    with session_scope(small.database_url) as session:
        assert not session.scalars(select(DiscussionTopic)).all()


def test_a_course_without_a_discussion_forum_is_refused_with_what_to_do(small: Year) -> None:
    with small.site.lock:
        for forum in small.site.db["forum"].select(course=small.courses["thought"]):
            if forum.get("type") == "general":
                small.site.db["forum"].update(forum, type="news")
    with pytest.raises(EngagementError, match="has no discussion forum: add a forum 学习交流"):
        sync(small, "2026-04-02")
