"""mod_forum: forums, discussions and posts; the ``forum_reply`` site action (a learner replies).

Tables: ``forum`` (instances, made by ``records.new_module``; every setting is read with a default, so
instances made by any helper work), ``forum_discussions`` (course, forum, name, firstpost, userid,
groupid, timemodified, usermodified, timestart, timeend, pinned, timelocked) and ``forum_posts``
(discussion, parent, userid, created, modified, subject, message, messageformat, ...).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ..access import (
    course_has_capability,
    module_context,
    requested_courses,
    validate_module,
    visible_modules,
)
from ..activities import FORUM_DEFAULTS, forum_setting, news_forum_fields
from ..completion import set_activity_complete
from ..courses import module_of
from ..db import Row
from ..params import optional_int, param_bool
from ..records import fullname, new_module
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..text import count_letters, count_words, format_string, userdate
from ..wserror import WSError, invalid_param, invalid_parameter, missing_record, moodle_exception, php_error

SORT_LASTPOST_DESC, SORT_LASTPOST_ASC = 1, 2
SORT_CREATED_DESC, SORT_CREATED_ASC = 3, 4
SORT_REPLIES_DESC, SORT_REPLIES_ASC = 5, 6
MAX_EDITING_TIME = 1800

def ensure_news_forum(site: FakeSite, courseid: int) -> None:
    """The course's Announcements forum, made when first needed as ``forum_get_course_forum`` does."""
    if courseid == 1 or site.db["forum"].first(course=courseid, type="news") is not None:
        return
    new_module(site, courseid, "forum", "Announcements", section=0, **news_forum_fields())


def _course_forums(site: FakeSite, userid: int, course: Row) -> list[tuple[Row, Row]]:
    ensure_news_forum(site, course["id"])
    pairs = []
    for cm in visible_modules(site, userid, course, "forum"):
        forum = site.db["forum"].get(cm["instance"])
        if forum is not None:
            pairs.append((cm, forum))
    pairs.sort(key=lambda pair: (0 if pair[1].get("type") == "news" else 1, pair[0]["id"]))
    return pairs


def _forum_and_cm(site: FakeSite, forumid: int) -> tuple[Row, Row] | None:
    forum = site.db["forum"].get(forumid)
    if forum is None:
        return None
    cm = module_of(site, "forum", forum["id"])
    if cm is None:
        return None
    return forum, cm


def _thread(site: FakeSite, postid: int, missing_post: WSError) -> tuple[Row, Row, tuple[Row, Row] | None]:
    """A post, its discussion and the discussion's forum and module (None when the forum is gone)."""
    post = site.db["forum_posts"].get(postid)
    if post is None or post.get("deleted"):
        raise missing_post
    discussion = site.db["forum_discussions"].get(post["discussion"])
    if discussion is None:
        raise moodle_exception("notpartofdiscussion", "This post is not part of a discussion!")
    return post, discussion, _forum_and_cm(site, int(discussion["forum"]))


def _posts(site: FakeSite, discussionid: int) -> list[Row]:
    return [post for post in site.db["forum_posts"].select(discussion=discussionid)
            if not post.get("deleted")]


def _is_locked(site: FakeSite, forum: Row, discussion: Row) -> bool:
    if discussion.get("timelocked"):
        return True
    after = int(forum_setting(forum, "lockdiscussionafter") or 0)
    return bool(after) and site.now() - int(discussion.get("timemodified", 0)) > after


def _can_start_discussion(site: FakeSite, userid: int, forum: Row, courseid: int) -> bool:
    kind = forum_setting(forum, "type")
    if kind == "news":
        return course_has_capability(site, userid, "mod/forum:addnews", courseid)
    if kind == "single":
        return False
    if kind == "eachuser" and site.db["forum_discussions"].first(forum=forum["id"], userid=userid):
        return False
    return course_has_capability(site, userid, "mod/forum:startdiscussion", courseid)


def _can_post_in_discussion(site: FakeSite, userid: int, forum: Row, discussion: Row) -> bool:
    courseid = int(forum["course"])
    capability = "mod/forum:replynews" if forum_setting(forum, "type") == "news" else "mod/forum:replypost"
    if not course_has_capability(site, userid, capability, courseid):
        return False
    return not _is_locked(site, forum, discussion) or course_has_capability(
        site, userid, "mod/forum:canoverridediscussionlock", courseid)


def _post_record(site: FakeSite, discussionid: int, parent: int, userid: int, subject: str,
                 message: str, messageformat: int, forum: Row) -> Row:
    now = site.now()
    counts = bool(forum_setting(forum, "displaywordcount"))
    return site.db["forum_posts"].insert({
        "discussion": discussionid, "parent": parent, "userid": userid, "created": now,
        "modified": now, "mailed": 0, "subject": subject, "message": message,
        "messageformat": messageformat, "messagetrust": 0, "attachment": "", "totalscore": 0,
        "mailnow": 0, "deleted": 0, "privatereplyto": 0,
        "wordcount": count_words(message) if counts else None,
        "charcount": count_letters(message) if counts else None,
    })


def _add_discussion(site: FakeSite, forum: Row, userid: int, subject: str, message: str,
                    pinned: bool) -> Row:
    now = site.now()
    discussion = site.db["forum_discussions"].insert({
        "course": forum["course"], "forum": forum["id"], "name": subject, "firstpost": 0,
        "userid": userid, "groupid": -1, "assessed": 1, "timemodified": now, "usermodified": userid,
        "timestart": 0, "timeend": 0, "pinned": 1 if pinned else 0, "timelocked": 0,
    })
    post = _post_record(site, discussion["id"], 0, userid, subject, message, 1, forum)
    site.db["forum_discussions"].update(discussion, firstpost=post["id"])
    return discussion


def _add_reply(site: FakeSite, forum: Row, discussion: Row, parent: Row, userid: int, subject: str,
               message: str, messageformat: int) -> Row:
    post = _post_record(site, discussion["id"], parent["id"], userid, subject, message,
                        messageformat, forum)
    site.db["forum_discussions"].update(discussion, timemodified=post["modified"], usermodified=userid)
    return post


def _update_completion(site: FakeSite, forum: Row, cm: Row, userid: int) -> None:
    needs_discussions = int(forum_setting(forum, "completiondiscussions") or 0)
    needs_replies = int(forum_setting(forum, "completionreplies") or 0)
    needs_posts = int(forum_setting(forum, "completionposts") or 0)
    if not (needs_discussions or needs_replies or needs_posts):
        return
    discussions = [d for d in site.db["forum_discussions"].select(forum=forum["id"])]
    own_discussions = sum(1 for d in discussions if d["userid"] == userid)
    own_replies = sum(1 for d in discussions for p in _posts(site, d["id"])
                      if p["userid"] == userid and p["parent"])
    if ((not needs_discussions or own_discussions >= needs_discussions)
            and (not needs_replies or own_replies >= needs_replies)
            and (not needs_posts or own_discussions + own_replies >= needs_posts)):
        set_activity_complete(site, cm, userid)


# ---------------------------------------------------------------------------------------------------
# Exporters.
# ---------------------------------------------------------------------------------------------------


def _user_picture(site: FakeSite, size: str) -> str:
    return f"{site.siteurl}/theme/image.php/boost/core/1795810144/u/{size}"


class _Rights:
    """What one viewer may do in one forum, each right checked once however many posts are shown."""

    def __init__(self, site: FakeSite, viewerid: int, forum: Row) -> None:
        self.site, self.viewerid, self.forum = site, viewerid, forum
        self._held: dict[str, bool] = {}
        self._replies: dict[Any, bool] = {}

    def can(self, capability: str) -> bool:
        held = self._held.get(capability)
        if held is None:
            held = self._held[capability] = course_has_capability(self.site, self.viewerid, capability,
                                                                  int(self.forum["course"]))
        return held

    def can_reply(self, discussion: Row) -> bool:
        allowed = self._replies.get(discussion["id"])
        if allowed is None:
            allowed = self._replies[discussion["id"]] = _can_post_in_discussion(
                self.site, self.viewerid, self.forum, discussion)
        return allowed


def export_post(site: FakeSite, viewerid: int, forum: Row, discussion: Row, post: Row,
                *, with_time: bool = True, rights: _Rights | None = None) -> dict[str, Any]:
    """``mod_forum\\local\\exporters\\post`` for one viewer (``rights``: theirs in this forum, when
    several posts are exported)."""
    rights = rights or _Rights(site, viewerid, forum)
    courseid = int(forum["course"])
    author = site.db["user"].get(post["userid"]) or {"id": post["userid"], "firstname": "",
                                                      "lastname": "", "deleted": 1}
    base = site.siteurl
    did, pid = discussion["id"], post["id"]
    own = post["userid"] == viewerid
    recent = site.now() - int(post["created"]) < MAX_EDITING_TIME
    can_reply = rights.can_reply(discussion)
    can_edit = (own and recent) or rights.can("mod/forum:editanypost")
    can_delete = (own and recent and rights.can("mod/forum:deleteownpost")) or rights.can(
        "mod/forum:deleteanypost")
    can_split = bool(post["parent"]) and rights.can("mod/forum:splitdiscussions")
    private = rights.can("mod/forum:postprivatereply")
    name = fullname(author)
    profile = f"{base}/user/view.php?id={author['id']}&course={courseid}"
    moment = datetime.fromtimestamp(int(post["created"]), UTC).isoformat()
    when = f'<time datetime="{moment}">{userdate(int(post["created"]))}</time>' if with_time \
        else userdate(int(post["created"]))
    counts = bool(forum_setting(forum, "displaywordcount"))
    return {
        "id": pid,
        "subject": post["subject"],
        "replysubject": post["subject"],
        "message": post["message"],
        "messageformat": int(post.get("messageformat", 1)),
        "author": {"id": author["id"], "fullname": name, "isdeleted": bool(author.get("deleted")),
                   "groups": [], "urls": {"profile": profile,
                                          "profileimage": _user_picture(site, "f1")}},
        "discussionid": did,
        "hasparent": bool(post["parent"]),
        "parentid": post["parent"] or None,
        "timecreated": post["created"],
        "timemodified": post["modified"],
        "unread": None,
        "isdeleted": False,
        "isprivatereply": bool(post.get("privatereplyto")),
        "haswordcount": counts,
        "wordcount": count_words(post["message"]) if counts else None,
        "charcount": count_letters(post["message"]) if counts else None,
        "capabilities": {"view": True, "edit": can_edit, "delete": can_delete, "split": can_split,
                         "reply": can_reply, "selfenrol": False, "export": False,
                         "controlreadstatus": False, "canreplyprivately": private},
        "urls": {
            "view": f"{base}/mod/forum/discuss.php?d={did}#p{pid}",
            "viewisolated": f"{base}/mod/forum/discuss.php?d={did}&parent={pid}",
            "viewparent": f"{base}/mod/forum/discuss.php?d={did}#p{post['parent']}"
            if post["parent"] else None,
            "edit": f"{base}/mod/forum/post.php?edit={pid}" if can_edit else None,
            "delete": f"{base}/mod/forum/post.php?delete={pid}" if can_delete else None,
            "split": f"{base}/mod/forum/post.php?prune={pid}" if can_split else None,
            "reply": f"{base}/mod/forum/post.php?reply={pid}#mformforum" if can_reply else None,
            "export": None, "markasread": None, "markasunread": None,
            "discuss": f"{base}/mod/forum/discuss.php?d={did}",
        },
        "attachments": [],
        "messageinlinefiles": [],
        "tags": [],
        "html": {"rating": None, "taglist": None,
                 "authorsubheading": f'by <a href="{profile}">{name}</a> - {when}'},
    }


_POST_ADDED_MESSAGES = [
    {"type": "success", "message": "Your post was successfully added."},
    {"type": "success", "message": "You have 30 mins to edit it if you want to make any changes."},
]


def _forum_details(site: FakeSite, userid: int, course: Row, cm: Row, forum: Row) -> dict[str, Any]:
    details = {key: forum_setting(forum, key) for key in FORUM_DEFAULTS}
    details.update({
        "id": forum["id"], "course": forum["course"], "name": format_string(forum.get("name")),
        "introfiles": [], "timemodified": forum.get("timemodified", 0), "cmid": cm["id"],
        "numdiscussions": len(site.db["forum_discussions"].select(forum=forum["id"])),
        "cancreatediscussions": _can_start_discussion(site, userid, forum, course["id"]),
        "istracked": False,
    })
    return details


# ---------------------------------------------------------------------------------------------------
# Web-service functions.
# ---------------------------------------------------------------------------------------------------


@function("mod_forum_get_forums_by_courses", items="courseids")
def get_forums_by_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    courses, _warnings = requested_courses(site, call.userid, [int(c) for c in params.get("courseids") or []])
    result = []
    for course in courses:
        for cm, forum in _course_forums(site, call.userid, course):
            if not course_has_capability(site, call.userid, "mod/forum:viewdiscussion", course["id"]):
                continue
            result.append(_forum_details(site, call.userid, course, cm, forum))
    return result


def _options(raw: list[dict[str, Any]], allowed: dict[str, str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for option in raw:
        name = str(option["name"]).strip()
        kind = allowed.get(name)
        if kind is None:
            raise invalid_param(name)
        value = str(option["value"]).strip()
        options[name] = param_bool(value) if kind == "bool" else \
            int(value) if re.fullmatch(r"-?\d+", value) else 0
    return options


@function("mod_forum_add_discussion")
def add_discussion(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    forumid = int(params["forumid"])
    found = _forum_and_cm(site, forumid)
    if found is None:
        raise missing_record("forum", forumid)
    forum, cm = found
    course = validate_module(site, call.userid, cm)
    options = _options(params.get("options") or [], {
        "discussionsubscribe": "bool", "discussionpinned": "bool", "inlineattachmentsid": "int",
        "attachmentsid": "int"})
    if not _can_start_discussion(site, call.userid, forum, course["id"]):
        raise moodle_exception("cannotcreatediscussion", "Could not create new discussion")
    pinned = bool(options.get("discussionpinned")) and course_has_capability(
        site, call.userid, "mod/forum:pindiscussions", course["id"])
    discussion = _add_discussion(site, forum, call.userid, str(params["subject"]),
                                 str(params["message"]), pinned)
    _update_completion(site, forum, cm, call.userid)
    return {"discussionid": discussion["id"], "warnings": []}


def reply_to_post(site: FakeSite, userid: int, parentid: int, subject: str, message: str,
                  messageformat: int = 1, options: list[dict[str, Any]] | None = None
                  ) -> dict[str, Any]:
    """What ``mod_forum_add_discussion_post`` does once the caller is known (also the site action)."""
    post, forum, discussion = add_reply(site, userid, parentid, subject, message, messageformat, options)
    return {"postid": post["id"], "warnings": [],
            "post": export_post(site, userid, forum, discussion, post),
            "messages": list(_POST_ADDED_MESSAGES)}


def add_reply(site: FakeSite, userid: int, parentid: int, subject: str, message: str,
              messageformat: int = 1, options: list[dict[str, Any]] | None = None
              ) -> tuple[Row, Row, Row]:
    """A user replies to a post, checked as ``mod_forum_add_discussion_post`` checks it; returns the
    post, its forum and its discussion."""
    parent, discussion, found = _thread(site, parentid, moodle_exception("invalidparentpostid",
                                                                         "Incorrect parent post ID"))
    if found is None:
        raise missing_record("forum", discussion["forum"])
    forum, cm = found
    validate_module(site, userid, cm)
    _options(options or [], {"discussionsubscribe": "bool", "private": "bool",
                             "inlineattachmentsid": "int", "attachmentsid": "int",
                             "topreferredformat": "bool"})
    if not _can_post_in_discussion(site, userid, forum, discussion):
        raise moodle_exception("nopostforum", "You are not allowed to post to this forum.")
    post = _add_reply(site, forum, discussion, parent, userid, subject, message, messageformat)
    _update_completion(site, forum, cm, userid)
    return post, forum, discussion


@function("mod_forum_add_discussion_post")
def add_discussion_post(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    messageformat = params.get("messageformat")
    return reply_to_post(call.site, call.userid, int(params["postid"]), str(params["subject"]),
                         str(params["message"]), 1 if messageformat is None else int(messageformat),
                         params.get("options") or [])


def _discussion_sort_key(order: int) -> Any:
    def key(item: tuple[Row, Row, int]) -> tuple[int, ...]:
        discussion, first, replies = item
        if order in (SORT_LASTPOST_DESC, SORT_LASTPOST_ASC):
            value = discussion["timemodified"]
        elif order in (SORT_CREATED_DESC, SORT_CREATED_ASC):
            value = first["created"]
        else:
            value = replies
        sign = -1 if order in (SORT_LASTPOST_DESC, SORT_CREATED_DESC, SORT_REPLIES_DESC) else 1
        return (-int(discussion.get("pinned") or 0), sign * int(value), sign * int(discussion["id"]))
    return key


@function("mod_forum_get_forum_discussions")
def get_forum_discussions(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    forumid = int(params["forumid"])
    sortorder = optional_int(params, "sortorder", -1)
    page = optional_int(params, "page", -1)
    perpage = int(params.get("perpage") or 0)
    if sortorder == -1:
        sortorder = SORT_LASTPOST_DESC
    if sortorder not in (1, 2, 3, 4, 5, 6):
        raise invalid_parameter(f"Invalid value for sortorder parameter (value: {sortorder}), "
                                "allowed values are: 1,2,3,4,5,6")
    found = _forum_and_cm(site, forumid)
    if found is None:
        raise moodle_exception(f"Unable to find forum with id {forumid}",
                               f"error/Unable to find forum with id {forumid}")
    forum, cm = found
    course = validate_module(site, call.userid, cm)
    if not course_has_capability(site, call.userid, "mod/forum:viewdiscussion", course["id"]):
        raise moodle_exception("noviewdiscussionspermission",
                               "You do not have the permission to view discussions in this forum")
    items = []
    for discussion in site.db["forum_discussions"].select(forum=forum["id"]):
        posts = _posts(site, discussion["id"])
        first = site.db["forum_posts"].get(discussion["firstpost"])
        if first is None:
            continue
        items.append((discussion, first, len(posts) - 1))
    items.sort(key=_discussion_sort_key(sortorder))
    if perpage > 0:
        start = max(page, 0) * perpage
        items = items[start:start + perpage]
    canlock = course_has_capability(site, call.userid, "moodle/course:manageactivities", course["id"])
    discussions = []
    for discussion, first, replies in items:
        starter = site.db["user"].get(first["userid"]) or {"firstname": "", "lastname": ""}
        modifier = site.db["user"].get(discussion["usermodified"]) or {"firstname": "", "lastname": ""}
        discussions.append({
            "id": first["id"], "name": format_string(discussion["name"]),
            "groupid": discussion.get("groupid", -1),
            "timemodified": discussion["timemodified"], "usermodified": discussion["usermodified"],
            "timestart": discussion.get("timestart", 0), "timeend": discussion.get("timeend", 0),
            "discussion": discussion["id"], "parent": 0, "userid": first["userid"],
            "created": first["created"], "modified": first["modified"], "mailed": 0,
            "subject": format_string(first["subject"]), "message": first["message"],
            "messageformat": int(first.get("messageformat", 1)), "messagetrust": 0,
            "attachment": bool(first.get("attachment")), "totalscore": 0, "mailnow": 0,
            "userfullname": fullname(starter), "usermodifiedfullname": fullname(modifier),
            "userpictureurl": _user_picture(site, "f2"),
            "usermodifiedpictureurl": _user_picture(site, "f2"),
            "numreplies": replies, "numunread": 0, "pinned": bool(discussion.get("pinned")),
            "locked": _is_locked(site, forum, discussion), "starred": False,
            "canreply": _can_post_in_discussion(site, call.userid, forum, discussion),
            "canlock": canlock, "canfavourite": True,
        })
    return {"discussions": discussions, "warnings": []}


def _discussion_forum(site: FakeSite, discussionid: int) -> tuple[Row, Row, Row]:
    discussion = site.db["forum_discussions"].get(discussionid)
    if discussion is None:
        raise php_error("Call to a member function get_forum_id() on null")
    found = _forum_and_cm(site, int(discussion["forum"]))
    if found is None:
        raise missing_record("forum", discussion["forum"])
    return discussion, found[0], found[1]


@function("mod_forum_get_discussion_posts")
def get_discussion_posts(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    discussion, forum, cm = _discussion_forum(site, int(params["discussionid"]))
    validate_module(site, call.userid, cm)
    sortby = str(params.get("sortby") if params.get("sortby") is not None else "created")
    direction = str(params.get("sortdirection") if params.get("sortdirection") is not None else "DESC")
    if sortby.lower() not in ("id", "created", "modified"):
        raise invalid_parameter(f"Invalid value for sortby parameter (value: {sortby}),"
                                "allowed values are: id, created, modified")
    if direction.upper() not in ("ASC", "DESC"):
        raise invalid_parameter(f"Invalid value for sortdirection parameter (value: {direction.upper()}),"
                                "allowed values are: ASC,DESC")
    field = sortby.lower()
    reverse = direction.upper() == "DESC"
    posts = sorted(_posts(site, discussion["id"]), key=lambda p: int(p["id"]))
    if site.branch >= (5, 0):  # ``ORDER BY created DESC, id DESC``
        posts.sort(key=lambda p: (int(p[field]), int(p["id"])) if field != "id" else (int(p["id"]),),
                   reverse=reverse)
    else:  # ``ORDER BY created DESC`` alone: posts of the same second came back as they were written
        posts.sort(key=lambda p: int(p[field]), reverse=reverse)
    rights = _Rights(site, call.userid, forum)
    return {
        "posts": [export_post(site, call.userid, forum, discussion, post, rights=rights) for post in posts],
        "forumid": forum["id"],
        "courseid": forum["course"],
        "ratinginfo": {"contextid": module_context(site, cm["id"])["id"], "component": "mod_forum",
                       "ratingarea": "post", "canviewall": None, "canviewany": None,
                       "scales": [], "ratings": []},
        "warnings": [],
    }


@function("mod_forum_get_discussion_post")
def get_discussion_post(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    post, discussion, found = _thread(site, int(params["postid"]),
                                      moodle_exception("invalidpostid", "Invalid post ID - "))
    if found is None:
        raise moodle_exception("invalidforumid", "Forum ID was incorrect")
    forum, cm = found
    course = validate_module(site, call.userid, cm)
    if not course_has_capability(site, call.userid, "mod/forum:viewdiscussion", course["id"]):
        raise moodle_exception("noviewdiscussionspermission",
                               "You do not have the permission to view discussions in this forum")
    return {"post": export_post(site, call.userid, forum, discussion, post), "warnings": []}


@function("mod_forum_set_lock_state")
def set_lock_state(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """``targetstate`` is the discussion's current lock time: 0 locks it now, anything else unlocks."""
    site = call.site
    found = _forum_and_cm(site, int(params["forumid"]))
    if found is None:
        raise php_error("mod_forum\\local\\factories\\manager::get_capability_manager(): Argument #1 "
                        "($forum) must be of type mod_forum\\local\\entities\\forum, null given", "TypeError")
    forum, cm = found
    if not course_has_capability(site, call.userid, "moodle/course:manageactivities",
                                 int(forum["course"])):
        raise moodle_exception("errorcannotlock", "You do not have the permission to lock discussions.")
    locked = 0 if int(params["targetstate"]) else site.now()
    validate_module(site, call.userid, cm)
    discussion = site.db["forum_discussions"].get(int(params["discussionid"]))
    if discussion is None:
        raise php_error("Call to a member function toggle_locked_state() on null")
    site.db["forum_discussions"].update(discussion, timelocked=locked)
    return {"id": discussion["id"], "locked": _is_locked(site, forum, discussion),
            "times": {"locked": locked}}


# ---------------------------------------------------------------------------------------------------
# Site actions.
# ---------------------------------------------------------------------------------------------------


@site_action("forum_reply")
def forum_reply(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A learner replies through the web page (to the first post, or to ``parentid``)."""
    userid = int(args["userid"])
    discussion = site.db["forum_discussions"].get(int(args["discussionid"]))
    if discussion is None:
        raise ValueError(f"no discussion {args['discussionid']}")
    parentid = int(args.get("parentid") or discussion["firstpost"])
    return reply_to_post(site, userid, parentid, str(args.get("subject") or f"Re: {discussion['name']}"),
                         str(args["message"]), int(args.get("messageformat", 1)))


@site_action("forum_add_discussion")
def forum_add_discussion(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A user starts a discussion through the web page."""
    userid = int(args["userid"])
    found = _forum_and_cm(site, int(args["forumid"]))
    if found is None:
        raise ValueError(f"no forum {args['forumid']}")
    forum, cm = found
    course = validate_module(site, userid, cm)
    if not _can_start_discussion(site, userid, forum, course["id"]):
        raise ValueError(f"user {userid} may not start a discussion in forum {forum['id']}")
    discussion = _add_discussion(site, forum, userid, str(args["subject"]), str(args["message"]), False)
    _update_completion(site, forum, cm, userid)
    return {"discussionid": discussion["id"], "postid": discussion["firstpost"]}
