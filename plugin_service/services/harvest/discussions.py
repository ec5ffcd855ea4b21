"""Reading discussion participation (学习交流): each cadre's posts in each of the plan's topics, and how
many of them fall inside the topic's open window (those earn the plan's points).

A topic is the discussion titled as the plan says in a forum of its course (not the announcements:
the discussion schedule posts it in the course's discussion forum). The window runs from the opening
day's midnight to the end of the closing day, in the plan's timezone. The opening post is not a
contribution. Until a topic is posted, nobody has posts in it.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from moodle_bridge import MoodleClient
from moodle_bridge.areas.mod_forum import Discussion as ForumDiscussion
from moodle_bridge.areas.mod_forum import Forum
from rules.plan_model import Discussion

from ...models import DiscussionRecord, utcnow
from .completion import from_timestamp
from .context import YearContext


@dataclass(frozen=True)
class Window:
    opens: int  # unix times, inclusive
    closes: int

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, int) and self.opens <= moment <= self.closes


def window_of(discussion: Discussion, tz: dt.tzinfo) -> Window:
    start = dt.datetime.combine(discussion.opens, dt.time.min, tz)
    end = dt.datetime.combine(discussion.closes + dt.timedelta(days=1), dt.time.min, tz)
    return Window(int(start.timestamp()), int(end.timestamp()) - 1)


def course_forums(client: MoodleClient, context: YearContext) -> dict[int, list[Forum]]:
    """The forums of the courses that hold topics (but the announcements forum), by course id (one
    call)."""
    courseids = sorted({context.courses[d.course] for d in context.plan.discussions
                        if d.course in context.courses})
    forums: dict[int, list[Forum]] = defaultdict(list)
    if courseids:
        for forum in client.mod_forum.get_forums_by_courses(courseids):
            if not forum.is_news:
                forums[forum.course].append(forum)
    return forums


def find_topic(client: MoodleClient, forums: list[Forum], title: str) -> ForumDiscussion | None:
    """The discussion titled ``title`` in ``forums``; None until it is posted."""
    for forum in forums:
        for discussion in client.mod_forum.iter_forum_discussions(forum.id):
            if html.unescape(discussion.name).strip() == title.strip():
                return discussion
    return None


def topic_posts(client: MoodleClient, topic: ForumDiscussion) -> list[tuple[int, int]]:
    """(author user id, time created) of the replies in a topic."""
    posts = client.mod_forum.get_discussion_posts(topic.discussion).posts
    return [(post.author.id, post.timecreated) for post in posts
            if post.hasparent and not post.isdeleted and post.author.id is not None]


def harvest_discussion(client: MoodleClient, session: Session, context: YearContext,
                       discussion: Discussion, forums: dict[int, list[Forum]],
                       known: list[int] | None = None) -> tuple[int, int, list[int] | None]:
    """Stores every cadre's posts in one topic; returns (posts read, records changed, the topic's
    state). A topic whose state (its id, reply count and last change, as the forum lists it) is
    ``known`` cannot have changed, and its posts are not read again."""
    topic = find_topic(client, forums.get(context.courses.get(discussion.course, -1), []), discussion.title)
    state = [topic.discussion, topic.numreplies, topic.timemodified] if topic is not None else None
    if state is not None and state == known:
        return 0, 0, state
    posts = topic_posts(client, topic) if topic is not None else []
    window = window_of(discussion, context.tz)
    by_cadre: dict[str, list[int]] = defaultdict(list)
    for userid, created in posts:
        employee_no = context.cadre_by_userid.get(userid)
        if employee_no is not None:
            by_cadre[employee_no].append(created)
    stored = {row.employee_no: row for row in session.scalars(select(DiscussionRecord).where(
        DiscussionRecord.year == context.year, DiscussionRecord.discussion_key == discussion.key))}
    changes = 0
    for employee_no in sorted(set(by_cadre) | set(stored)):
        times = sorted(by_cadre.get(employee_no, []))
        values = {"posts_in_window": sum(1 for t in times if t in window), "posts_total": len(times),
                  "first_post_at": from_timestamp(times[0]) if times else None,
                  "last_post_at": from_timestamp(times[-1]) if times else None}
        row = stored.get(employee_no)
        if row is None:
            row = DiscussionRecord(year=context.year, employee_no=employee_no,
                                   discussion_key=discussion.key)
            session.add(row)
        elif all(getattr(row, name) == value for name, value in values.items()):
            continue
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        changes += 1
    session.flush()
    return len(posts), changes, state
