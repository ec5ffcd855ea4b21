"""mod_forum: forums of courses, their discussions and posts, locking discussions.

Quirks the recordings showed (``FINDINGS.md``):

- ``mod_forum_set_lock_state(forumid, discussionid, targetstate)``: ``targetstate`` is the discussion's
  **current** lock state: 0 locks it now, the lock time (any non-zero value) unlocks it. Use
  ``lock_discussion`` / ``unlock_discussion``. The service user (``mod/forum:canoverridediscussionlock``)
  can still post in a locked discussion; a learner gets ``nopostforum``.
- ``mod_forum_get_forum_discussions`` with ``sortorder=0`` is ``invalidparameter``: use ``DiscussionSort``.
- Posts created in the same second come back in no set order on 4.5: the client sorts them by
  ``(timecreated, id)`` (or ``(timemodified, id)``, or ``id``) in the direction asked for. ``replysubject``
  differs between releases ("Re: " on 4.5): use ``subject``.
- A discussion that does not exist answers a raw PHP error without ``errorcode`` (a plain ``MoodleError``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

from ..results import parse, parse_list
from ._base import Area, MoodleWarning, Page, iter_pages


class DiscussionSort(IntEnum):
    """``sortorder`` of ``mod_forum_get_forum_discussions`` (pinned discussions always come first)."""

    LASTPOST_DESC = 1
    LASTPOST_ASC = 2
    CREATED_DESC = 3
    CREATED_ASC = 4
    REPLIES_DESC = 5
    REPLIES_ASC = 6


@dataclass(frozen=True)
class Forum:
    id: int
    course: int
    type: str
    name: str
    cmid: int
    intro: str = ""
    introformat: int = 1
    numdiscussions: int = 0
    cancreatediscussions: bool = False
    istracked: bool = False
    lockdiscussionafter: int = 0
    duedate: int = 0
    cutoffdate: int = 0
    assessed: int = 0
    scale: int = 0
    grade_forum: int = 0
    forcesubscribe: int = 0
    trackingtype: int = 0
    maxbytes: int = 0
    maxattachments: int = 0
    completiondiscussions: int = 0
    completionreplies: int = 0
    completionposts: int = 0
    timemodified: int = 0

    @property
    def is_news(self) -> bool:
        """The course's Announcements forum (learners may not post there)."""
        return self.type == "news"


@dataclass(frozen=True)
class NewDiscussion:
    discussionid: int
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class PostAuthor:
    id: int | None = None
    fullname: str | None = None
    isdeleted: bool = False


@dataclass(frozen=True)
class PostCapabilities:
    """What the calling user may do with a post."""

    view: bool = False
    edit: bool = False
    delete: bool = False
    split: bool = False
    reply: bool = False
    selfenrol: bool = False
    export: bool = False
    controlreadstatus: bool = False
    canreplyprivately: bool = False


@dataclass(frozen=True)
class ForumPost:
    id: int
    discussionid: int
    subject: str
    message: str
    author: PostAuthor
    timecreated: int
    timemodified: int
    messageformat: int = 1
    hasparent: bool = False
    parentid: int | None = None
    replysubject: str = ""
    isdeleted: bool = False
    isprivatereply: bool = False
    haswordcount: bool = False
    wordcount: int | None = None
    charcount: int | None = None
    unread: bool | None = None
    capabilities: PostCapabilities = field(default_factory=PostCapabilities)


@dataclass(frozen=True)
class PostMessage:
    type: str
    message: str


@dataclass(frozen=True)
class NewPost:
    postid: int
    post: ForumPost
    warnings: tuple[MoodleWarning, ...] = ()
    messages: tuple[PostMessage, ...] = ()


@dataclass(frozen=True)
class Discussion:
    """One discussion as ``mod_forum_get_forum_discussions`` lists it (``id`` is its first post)."""

    id: int
    discussion: int
    name: str
    subject: str
    message: str
    userid: int | None
    created: int
    modified: int
    timemodified: int
    numreplies: int = 0
    pinned: bool = False
    locked: bool = False
    canreply: bool = False
    canlock: bool = False
    groupid: int = -1
    usermodified: int | None = None
    userfullname: str | None = None
    usermodifiedfullname: str | None = None
    messageformat: int = 1
    numunread: int = 0
    timestart: int = 0
    timeend: int = 0
    starred: bool = False

    @property
    def firstpostid(self) -> int:
        return self.id


@dataclass(frozen=True)
class DiscussionList:
    discussions: tuple[Discussion, ...]
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class DiscussionPosts:
    posts: tuple[ForumPost, ...]
    forumid: int
    courseid: int
    warnings: tuple[MoodleWarning, ...] = ()

    @property
    def first_post(self) -> ForumPost | None:
        """The discussion's opening post (the one without a parent)."""
        return next((post for post in self.posts if not post.hasparent), None)


@dataclass(frozen=True)
class LockTimes:
    locked: int = 0


@dataclass(frozen=True)
class LockState:
    id: int
    locked: bool
    times: LockTimes = field(default_factory=LockTimes)

    @property
    def locked_time(self) -> int:
        """The lock time to pass back to ``unlock_discussion`` (0 when unlocked)."""
        return self.times.locked


def _options(**values: bool | int | None) -> list[dict[str, Any]] | None:
    options = [{"name": name, "value": value} for name, value in values.items() if value is not None]
    return options or None


def sort_posts(posts: Sequence[ForumPost], sortby: str | None, sortdirection: str | None
               ) -> tuple[ForumPost, ...]:
    """Posts in a fixed order whatever the release: ``(timecreated, id)`` and its kin."""
    field_name = (sortby or "created").lower()
    reverse = (sortdirection or "DESC").upper() == "DESC"

    def key(post: ForumPost) -> tuple[int, int]:
        if field_name == "id":
            return (post.id, post.id)
        return (post.timemodified if field_name == "modified" else post.timecreated, post.id)

    return tuple(sorted(posts, key=key, reverse=reverse))


class ModForum(Area):
    def get_forums_by_courses(self, courseids: Sequence[int] = ()) -> list[Forum]:
        """Calls mod_forum_get_forums_by_courses (read).

        No course ids: the forums of the courses the token's user is enrolled in (none for a service
        user enrolled nowhere). Courses the user cannot enter are left out silently.
        """
        fn = "mod_forum_get_forums_by_courses"
        params = {"courseids": list(courseids)} if courseids else {}
        return parse_list(Forum, self._read(fn, params), fn)

    def add_discussion(self, forumid: int, subject: str, message: str, *, groupid: int | None = None,
                       subscribe: bool | None = None, pinned: bool | None = None) -> NewDiscussion:
        """Calls mod_forum_add_discussion (write).

        ``message`` is HTML. The news forum needs ``mod/forum:addnews``.
        """
        fn = "mod_forum_add_discussion"
        params = {"forumid": forumid, "subject": subject, "message": message, "groupid": groupid,
                  "options": _options(discussionsubscribe=subscribe, discussionpinned=pinned)}
        return parse(NewDiscussion, self._write(fn, params), fn)

    def add_discussion_post(self, postid: int, subject: str, message: str, *,
                            messageformat: int | None = None, subscribe: bool | None = None,
                            private: bool | None = None) -> NewPost:
        """Calls mod_forum_add_discussion_post (write).

        Replies to ``postid``. In a locked discussion only users who may override the lock can post;
        learners get ``nopostforum`` (an ``AccessDeniedError``).
        """
        fn = "mod_forum_add_discussion_post"
        params = {"postid": postid, "subject": subject, "message": message,
                  "options": _options(discussionsubscribe=subscribe, private=private),
                  "messageformat": messageformat}
        return parse(NewPost, self._write(fn, params), fn)

    def get_forum_discussions(self, forumid: int, *, sortorder: DiscussionSort | int | None = None,
                              page: int | None = None, perpage: int | None = None,
                              groupid: int | None = None) -> DiscussionList:
        """Calls mod_forum_get_forum_discussions (read).

        ``sortorder`` must be one of ``DiscussionSort`` (0 is ``invalidparameter``); without it Moodle
        sorts by last post, newest first. ``perpage`` 0 (the default) returns every discussion.
        """
        fn = "mod_forum_get_forum_discussions"
        params = {"forumid": forumid, "sortorder": None if sortorder is None else int(sortorder),
                  "page": page, "perpage": perpage, "groupid": groupid}
        return parse(DiscussionList, self._read(fn, params), fn)

    def iter_forum_discussions(self, forumid: int, *,
                               sortorder: DiscussionSort = DiscussionSort.CREATED_ASC,
                               perpage: int = 100) -> Iterator[Discussion]:
        """Calls mod_forum_get_forum_discussions (read).

        Page by page until a short page.

        The default order (creation, oldest first) keeps pages stable while people post.
        """
        return iter_pages(lambda page: Page(self.get_forum_discussions(
            forumid, sortorder=sortorder, page=page, perpage=perpage).discussions), perpage)

    def get_discussion_posts(self, discussionid: int, *, sortby: str | None = None,
                             sortdirection: str | None = None,
                             includeinlineattachments: bool | None = None) -> DiscussionPosts:
        """Calls mod_forum_get_discussion_posts (read).

        ``sortby`` is ``id``, ``created`` (Moodle's default) or ``modified``; ``sortdirection`` ``ASC`` or
        ``DESC`` (the default). The posts are re-sorted here by ``(time, id)`` so posts of the same
        second keep one order on every release.
        """
        fn = "mod_forum_get_discussion_posts"
        params = {"discussionid": discussionid, "sortby": sortby, "sortdirection": sortdirection,
                  "includeinlineattachments": includeinlineattachments}
        result = parse(DiscussionPosts, self._read(fn, params), fn)
        return replace(result, posts=sort_posts(result.posts, sortby, sortdirection))

    def get_discussion_post(self, postid: int) -> ForumPost:
        """Calls mod_forum_get_discussion_post (read)."""
        fn = "mod_forum_get_discussion_post"
        data = self._read(fn, {"postid": postid})
        if not isinstance(data, dict):
            return parse(ForumPost, data, fn)
        return parse(ForumPost, data.get("post"), fn, "post")

    def set_lock_state(self, forumid: int, discussionid: int, targetstate: int) -> LockState:
        """Calls mod_forum_set_lock_state (write).

        ``targetstate`` is the **current** state: 0 locks the discussion now, a non-zero lock time
        unlocks it. Needs ``moodle/course:manageactivities``.
        """
        fn = "mod_forum_set_lock_state"
        params = {"forumid": forumid, "discussionid": discussionid, "targetstate": targetstate}
        return parse(LockState, self._write(fn, params), fn)

    def lock_discussion(self, forumid: int, discussionid: int) -> LockState:
        """Calls mod_forum_set_lock_state (write).

        With ``targetstate=0``: locks the discussion now.
        """
        return self.set_lock_state(forumid, discussionid, 0)

    def unlock_discussion(self, forumid: int, discussionid: int, locked_time: int = 1) -> LockState:
        """Calls mod_forum_set_lock_state (write).

        With the (non-zero) lock time: unlocks the discussion.
        """
        if locked_time == 0:
            raise ValueError("unlocking passes the current lock time, which is never 0 "
                             "(0 would lock the discussion)")
        return self.set_lock_state(forumid, discussionid, locked_time)
