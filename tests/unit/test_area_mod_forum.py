"""mod_forum client: every recorded call parses (or raises the right error) and is sent as recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.areas.mod_forum import (
    DiscussionPosts,
    DiscussionSort,
    ForumPost,
    LockState,
    PostAuthor,
    sort_posts,
)
from moodle_bridge.errors import AccessDeniedError, InvalidParameterError
from tests.recordings import Recorded, check_recorded, needs_recordings, recorded_calls, stub_client, where


def option(params: dict[str, Any], name: str) -> Any:
    for item in params.get("options") or []:
        if item["name"] == name:
            return bool(int(item["value"]))
    return None


ADAPTERS: dict[str, Callable[[MoodleClient, dict[str, Any]], Any]] = {
    "mod_forum_get_forums_by_courses": lambda c, p: c.mod_forum.get_forums_by_courses(p.get("courseids", [])),
    "mod_forum_add_discussion": lambda c, p: c.mod_forum.add_discussion(
        p["forumid"], p["subject"], p["message"], groupid=p.get("groupid"),
        subscribe=option(p, "discussionsubscribe"), pinned=option(p, "discussionpinned")),
    "mod_forum_add_discussion_post": lambda c, p: c.mod_forum.add_discussion_post(
        p["postid"], p["subject"], p["message"], messageformat=p.get("messageformat"),
        subscribe=option(p, "discussionsubscribe"), private=option(p, "private")),
    "mod_forum_get_forum_discussions": lambda c, p: c.mod_forum.get_forum_discussions(
        p["forumid"], sortorder=p.get("sortorder"), page=p.get("page"), perpage=p.get("perpage"),
        groupid=p.get("groupid")),
    "mod_forum_get_discussion_posts": lambda c, p: c.mod_forum.get_discussion_posts(
        p["discussionid"], sortby=p.get("sortby"), sortdirection=p.get("sortdirection")),
    "mod_forum_get_discussion_post": lambda c, p: c.mod_forum.get_discussion_post(p["postid"]),
    "mod_forum_set_lock_state": lambda c, p: c.mod_forum.set_lock_state(
        p["forumid"], p["discussionid"], p["targetstate"]),
}

FORUM_CALLS = recorded_calls("mod_forum_")


@needs_recordings
def test_every_recorded_forum_function_has_an_adapter() -> None:
    assert FORUM_CALLS
    assert {call.function for call in FORUM_CALLS} <= set(ADAPTERS)


@needs_recordings
@pytest.mark.parametrize("call", FORUM_CALLS, ids=where(FORUM_CALLS))
def test_recorded_forum_call(call: Recorded) -> None:
    result = check_recorded(call, ADAPTERS[call.function])
    if call.is_error:
        return
    if call.function == "mod_forum_get_forums_by_courses":
        assert [forum.id for forum in result] == [f["id"] for f in call.response]
    elif call.function == "mod_forum_get_discussion_posts":
        assert isinstance(result, DiscussionPosts)
        assert sorted(p.id for p in result.posts) == sorted(p["id"] for p in call.response["posts"])
        assert result.forumid == call.response["forumid"]
    elif call.function == "mod_forum_set_lock_state":
        assert isinstance(result, LockState)
        assert result.locked_time == call.response["times"]["locked"]
        assert result.locked is call.response["locked"]
    elif call.function == "mod_forum_add_discussion_post":
        assert result.postid == call.response["postid"]
        assert result.post.subject == call.response["post"]["subject"]
    elif call.function == "mod_forum_get_forum_discussions":
        assert [d.discussion for d in result.discussions] == [
            d["discussion"] for d in call.response["discussions"]]


@needs_recordings
def test_recorded_lock_then_unlock_flow() -> None:
    """targetstate is the current state: the lock time read from the lock answer unlocks it."""
    steps = {c.where.split()[-1]: c for c in FORUM_CALLS if c.where.startswith("scenarios/forum ")}
    client, session = stub_client((200, steps["s15"].response), (200, steps["s19"].response))
    locked = client.mod_forum.lock_discussion(17, 3)
    unlocked = client.mod_forum.unlock_discussion(17, 3, locked.locked_time)
    assert locked.locked and locked.locked_time > 0
    assert not unlocked.locked and unlocked.locked_time == 0
    assert session.sent[0][1][-1] == ("targetstate", "0")
    assert session.sent[1][1][-1] == ("targetstate", str(locked.locked_time))


def test_unlock_refuses_zero() -> None:
    client, session = stub_client()
    with pytest.raises(ValueError):
        client.mod_forum.unlock_discussion(1, 2, 0)
    assert session.sent == []


def test_learner_reply_to_locked_discussion_is_access_denied() -> None:
    body = {"exception": "core\\exception\\moodle_exception", "errorcode": "nopostforum",
            "message": "You are not allowed to post to this forum."}
    client, _ = stub_client((200, body))
    with pytest.raises(AccessDeniedError):
        client.mod_forum.add_discussion_post(6, "Re", "<p>x</p>")


def test_sortorder_zero_is_sent_and_refused_by_moodle() -> None:
    body = {"exception": "core\\exception\\invalid_parameter_exception", "errorcode": "invalidparameter",
            "message": "Invalid parameter value detected"}
    client, session = stub_client((200, body))
    with pytest.raises(InvalidParameterError):
        client.mod_forum.get_forum_discussions(17, sortorder=0)
    assert ("sortorder", "0") in session.sent[0][1]
    assert [int(s) for s in DiscussionSort] == [1, 2, 3, 4, 5, 6]


def _post(post_id: int, created: int, modified: int | None = None) -> ForumPost:
    return ForumPost(id=post_id, discussionid=1, subject="s", message="m", author=PostAuthor(id=1),
                     timecreated=created, timemodified=modified if modified is not None else created)


def test_posts_of_the_same_second_sort_by_time_then_id() -> None:
    posts = [_post(8, 100), _post(6, 99), _post(10, 101), _post(7, 100), _post(9, 101)]
    assert [p.id for p in sort_posts(posts, "created", "ASC")] == [6, 7, 8, 9, 10]
    assert [p.id for p in sort_posts(posts, None, None)] == [10, 9, 8, 7, 6]
    assert [p.id for p in sort_posts(posts, "id", "asc")] == [6, 7, 8, 9, 10]
    edited = [_post(1, 100, 300), _post(2, 200, 200)]
    assert [p.id for p in sort_posts(edited, "modified", "DESC")] == [1, 2]


def test_get_discussion_posts_reorders_a_shuffled_answer() -> None:
    def post(pid: int, created: int, parent: int | None) -> dict[str, Any]:
        return {"id": pid, "discussionid": 1, "subject": f"p{pid}", "replysubject": f"Re: p{pid}",
                "message": "", "messageformat": 1, "author": {"id": 3, "fullname": "A B"},
                "hasparent": parent is not None, "parentid": parent, "timecreated": created,
                "timemodified": created, "capabilities": {"view": True, "reply": True}}
    body = {"posts": [post(2, 50, 1), post(3, 50, 1), post(1, 40, None)], "forumid": 4, "courseid": 5,
            "warnings": []}
    client, _ = stub_client((200, body))
    result = client.mod_forum.get_discussion_posts(1, sortby="created", sortdirection="ASC")
    assert [p.id for p in result.posts] == [1, 2, 3]
    assert result.first_post is not None and result.first_post.id == 1
    assert result.posts[0].capabilities.reply is True


def test_iter_forum_discussions_pages_until_a_short_page() -> None:
    def page(ids: list[int]) -> dict[str, Any]:
        return {"discussions": [{"id": i * 10, "discussion": i, "name": f"d{i}", "subject": f"d{i}",
                                 "message": "", "userid": 3, "created": i, "modified": i,
                                 "timemodified": i} for i in ids], "warnings": []}
    client, session = stub_client((200, page([1, 2])), (200, page([3, 4])), (200, page([])))
    found = [d.discussion for d in client.mod_forum.iter_forum_discussions(9, perpage=2)]
    assert found == [1, 2, 3, 4]
    assert [dict(pairs)["page"] for _fn, pairs in session.sent] == ["0", "1", "2"]
    wanted = str(int(DiscussionSort.CREATED_ASC))
    assert all(dict(pairs)["sortorder"] == wanted for _fn, pairs in session.sent)
