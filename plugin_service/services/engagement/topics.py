"""Discussion windows (定期交流): each plan topic is posted in its course's discussion forum on its opening
day and locked the day after its closing day.

The schedule is caught up, never skipped: a run after a missed opening posts the topic at once (and
says it is late); a run after a missed closing locks it at once. A topic whose whole window was missed
is posted and locked in the same run, so that its record in Moodle is complete, and the run reports it.
Posts inside the plan's window earn points whenever the topic was actually posted (the harvest counts
them by the plan's dates).

Every write is recoverable: a topic posted by a run that died before recording it is found by its title
in the forum and adopted, never posted twice; locking a locked topic is not repeated.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from moodle_bridge import MoodleClient
from moodle_bridge.areas.mod_forum import Discussion as ForumDiscussion
from moodle_bridge.areas.mod_forum import Forum
from rules.plan_model import Discussion, Plan, hours_text
from rules.reminders import chinese_date

from ...models import AuditLog, DiscussionTopic, utcnow
from ..harvest.context import YearContext
from ..harvest.discussions import course_forums, find_topic


@dataclass
class TopicOutcome:
    key: str
    action: str  # opened, adopted, locked, opened+locked, nothing, waiting, failed
    late: bool = False
    note: str = ""
    discussionid: int | None = None


def topic_message(plan: Plan, discussion: Discussion) -> str:
    """The opening post (HTML): the question, the window, the points, who takes part."""
    tiers = "、".join(t.name for t in plan.tiers if t.key in discussion.tiers)
    points = ""
    if discussion.points is not None:
        points = (f"<p>窗口期内每发言一次计 {hours_text(discussion.points.per_post)} 分，"
                  f"最多 {hours_text(discussion.points.max)} 分。</p>")
    return (f"<p>{html.escape(discussion.title)}</p>"
            f"<p>交流时间：{chinese_date(discussion.opens)} 至 {chinese_date(discussion.closes)}。</p>"
            f"{points}<p>参加对象：{html.escape(tiers)}。</p>")


def _forum(forums: list[Forum]) -> Forum | None:
    """The course's discussion forum: the one named 学习交流 if there are several, else the first."""
    for forum in forums:
        if "学习交流" in html.unescape(forum.name):
            return forum
    return forums[0] if forums else None


class TopicSync:
    """Brings the year's topics in Moodle to what today's date asks for."""

    def __init__(self, client: MoodleClient, session: Session, context: YearContext, today: dt.date,
                 *, actor: str, run_id: int | None, dry_run: bool = False) -> None:
        self.client, self.session, self.context, self.today = client, session, context, today
        self.actor, self.run_id, self.dry_run = actor, run_id, dry_run
        self._forums: dict[int, list[Forum]] | None = None

    def run(self) -> list[TopicOutcome]:
        stored = {row.key: row for row in self.session.scalars(
            select(DiscussionTopic).where(DiscussionTopic.year == self.context.year))}
        return [self._sync(discussion, stored.get(discussion.key))
                for discussion in self.context.plan.discussions]

    def forums(self) -> dict[int, list[Forum]]:
        if self._forums is None:
            self._forums = course_forums(self.client, self.context)
        return self._forums

    def _sync(self, discussion: Discussion, row: DiscussionTopic | None) -> TopicOutcome:
        today = self.today
        if today < discussion.opens:
            return TopicOutcome(discussion.key, "nothing", note=f"opens on {discussion.opens.isoformat()}")
        courseid = self.context.courses.get(discussion.course)
        if courseid is None:
            return TopicOutcome(discussion.key, "failed", note=f"course {discussion.course} is not in Moodle "
                                                              "(apply the plan first)")
        actions: list[str] = []
        late = False
        if row is None:
            forum = _forum(self.forums().get(courseid, []))
            if forum is None:
                return TopicOutcome(discussion.key, "failed", note=(
                    f"course {discussion.course} has no discussion forum: add a forum 学习交流 to its "
                    "template course (a standard forum for general use)"))
            found = find_topic(self.client, [forum], discussion.title)
            late = today > discussion.opens and found is None
            if not self.dry_run:
                row = self._open(discussion, forum, found)
            actions.append("adopted" if found is not None else "opened")
        if today > discussion.closes and (row is None or row.locked_at is None):
            if row is not None and not self.dry_run:
                self._lock(row)
            actions.append("locked")
            late = late or today > discussion.closes + dt.timedelta(days=1)
        if not actions:
            state = "locked" if row is not None and row.locked_at is not None else "open"
            return TopicOutcome(discussion.key, "nothing", note=state,
                                discussionid=row.discussionid if row is not None else None)
        note = ""
        if late:
            note = (f"late: the window is {discussion.opens.isoformat()} to {discussion.closes.isoformat()}; "
                    "caught up now")
        return TopicOutcome(discussion.key, "+".join(actions), late, note,
                            row.discussionid if row is not None else None)

    def _open(self, discussion: Discussion, forum: Forum, found: ForumDiscussion | None) -> DiscussionTopic:
        if found is None:
            made = self.client.mod_forum.add_discussion(forum.id, discussion.title,
                                                        topic_message(self.context.plan, discussion))
            discussionid = made.discussionid
            self._audit("mod_forum_add_discussion", discussion.key, {"forumid": forum.id,
                                                                     "discussionid": discussionid})
        else:
            discussionid = found.discussion
        row = DiscussionTopic(year=self.context.year, key=discussion.key, course_key=discussion.course,
                              forumid=forum.id, discussionid=discussionid, opened_on=self.today.isoformat(),
                              adopted=found is not None)
        self.session.add(row)
        self.session.commit()
        return row

    def _lock(self, row: DiscussionTopic) -> None:
        listed = next((d for d in self.client.mod_forum.iter_forum_discussions(row.forumid)
                       if d.discussion == row.discussionid), None)
        if listed is None:
            raise LookupError(f"discussion {row.discussionid} of topic {row.key} is no longer in forum "
                              f"{row.forumid}: it was deleted in Moodle")
        if not listed.locked:
            self.client.mod_forum.lock_discussion(row.forumid, row.discussionid)
            self._audit("mod_forum_set_lock_state", row.key, {"forumid": row.forumid,
                                                              "discussionid": row.discussionid})
        row.locked_at = utcnow()
        row.locked_on = self.today.isoformat()
        self.session.commit()

    def _audit(self, wsfunction: str, key: str, detail: dict[str, int]) -> None:
        self.session.add(AuditLog(actor=self.actor, action=f"moodle:{wsfunction}",
                                  target=f"{self.context.year}/discussion/{key}",
                                  detail={"engagement_run": self.run_id, **detail}))
        self.session.flush()
