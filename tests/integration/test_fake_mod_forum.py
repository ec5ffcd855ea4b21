"""mod_forum against the fake over HTTP: discussions, replies, locking, ordering, permissions."""

from __future__ import annotations

from typing import Any

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.areas.mod_forum import DiscussionSort
from moodle_bridge.errors import AccessDeniedError, InvalidParameterError, MoodleError, NotFoundError
from moodle_bridge.fake import RunningFake
from moodle_bridge.results import unescape
from tests.factories import add_activity, add_course, add_user, enrol

pytestmark = pytest.mark.integration


@pytest.fixture
def forum_site(fake: RunningFake) -> dict[str, Any]:
    site = fake.site
    course = add_course(site)
    learners = [add_user(site, "u1", "红", "李"), add_user(site, "u2", "伟", "张")]
    for learner in learners:
        enrol(site, learner["id"], course["id"])
    cm, forum = add_activity(site, course["id"], "forum", "讨论区 Discussion forum", type="general")
    return {"course": course, "learners": learners, "cm": cm, "forum": forum}


def test_forums_of_a_course_news_first(client: MoodleClient, forum_site: dict[str, Any],
                                       learner_client: Any) -> None:
    forums = client.mod_forum.get_forums_by_courses([forum_site["course"]["id"]])
    assert [f.type for f in forums] == ["news", "general"]
    assert forums[1].id == forum_site["forum"]["id"] and forums[1].cmid == forum_site["cm"]["id"]
    assert forums[0].is_news and forums[0].name == "Announcements"
    assert all(f.cancreatediscussions for f in forums)  # the service user may post everywhere
    learner = learner_client(forum_site["learners"][0]["id"])
    mine = learner.mod_forum.get_forums_by_courses()  # no ids: the learner's own courses
    assert [(f.type, f.cancreatediscussions) for f in mine] == [("news", False), ("general", True)]


def test_forums_of_unknown_or_closed_courses_are_left_out(client: MoodleClient, weak_client: MoodleClient,
                                                         forum_site: dict[str, Any]) -> None:
    assert client.mod_forum.get_forums_by_courses([999999]) == []
    assert client.mod_forum.get_forums_by_courses() == []  # the bot is enrolled nowhere
    assert weak_client.mod_forum.get_forums_by_courses([forum_site["course"]["id"]]) == []


def test_discussion_replies_and_lock(fake: RunningFake, client: MoodleClient, forum_site: dict[str, Any],
                                     learner_client: Any) -> None:
    forumid = forum_site["forum"]["id"]
    u1, u2 = forum_site["learners"]
    new = client.mod_forum.add_discussion(forumid, "学习心得交流 Sharing", "<p>请大家谈谈。</p>",
                                          subscribe=False)
    assert new.warnings == ()
    fake.site.site_action("forum_reply", {"userid": u1["id"], "discussionid": new.discussionid,
                                          "subject": "Re: 学习心得交流", "message": "<p>收获很大。</p>"})
    fake.site.site_action("forum_reply", {"userid": u2["id"], "discussionid": new.discussionid,
                                          "subject": "Re: 学习心得交流", "message": "<p>同感。</p>"})
    listed = client.mod_forum.get_forum_discussions(forumid)
    assert len(listed.discussions) == 1
    discussion = listed.discussions[0]
    assert discussion.numreplies == 2 and discussion.usermodified == u2["id"]
    assert discussion.usermodifiedfullname == "伟 张" and not discussion.locked and discussion.canlock

    posts = client.mod_forum.get_discussion_posts(new.discussionid, sortby="created", sortdirection="ASC")
    first = posts.first_post
    assert first is not None and first.id == discussion.firstpostid
    assert [p.author.id for p in posts.posts] == [3, u1["id"], u2["id"]]
    assert [p.id for p in posts.posts] == sorted(p.id for p in posts.posts)  # same second: by id

    state = client.mod_forum.lock_discussion(forumid, new.discussionid)
    assert state.locked and state.locked_time > 0
    learner = learner_client(u1["id"])
    assert learner.mod_forum.get_forum_discussions(forumid).discussions[0].canreply is False
    with pytest.raises(AccessDeniedError) as caught:
        learner.mod_forum.add_discussion_post(first.id, "Re: 锁定后", "<p>还能回复吗？</p>")
    assert caught.value.errorcode == "nopostforum"
    bot_reply = client.mod_forum.add_discussion_post(first.id, "Re: 锁定后 wsbot", "<p>管理员回复</p>")
    assert bot_reply.post.author.id == 3 and bot_reply.post.parentid == first.id
    assert bot_reply.messages[0].message == "Your post was successfully added."

    again = client.mod_forum.unlock_discussion(forumid, new.discussionid, state.locked_time)
    assert not again.locked and again.locked_time == 0
    reply = learner.mod_forum.add_discussion_post(first.id, "Re: 解锁后", "<p>可以回复。</p>")
    assert reply.post.capabilities.edit and not reply.post.capabilities.split
    assert client.mod_forum.get_discussion_post(reply.postid).subject == "Re: 解锁后"
    assert client.mod_forum.get_forum_discussions(forumid).discussions[0].numreplies == 4


def test_lock_needs_manage_activities(client: MoodleClient, forum_site: dict[str, Any],
                                      learner_client: Any) -> None:
    new = client.mod_forum.add_discussion(forum_site["forum"]["id"], "s", "<p>m</p>")
    learner = learner_client(forum_site["learners"][0]["id"])
    with pytest.raises(MoodleError) as caught:
        learner.mod_forum.lock_discussion(forum_site["forum"]["id"], new.discussionid)
    assert caught.value.errorcode == "errorcannotlock"


def test_discussion_order_and_paging(fake: RunningFake, client: MoodleClient,
                                     forum_site: dict[str, Any]) -> None:
    forumid = forum_site["forum"]["id"]
    ids = []
    for number in range(5):
        ids.append(client.mod_forum.add_discussion(forumid, f"d{number}", "<p>x</p>").discussionid)
        fake.site.clock.advance(10)
    fake.site.site_action("forum_reply", {"userid": forum_site["learners"][0]["id"],
                                          "discussionid": ids[1], "message": "<p>r</p>"})
    newest_post = [d.discussion for d in client.mod_forum.get_forum_discussions(forumid).discussions]
    assert newest_post == [ids[1], ids[4], ids[3], ids[2], ids[0]]
    created = client.mod_forum.get_forum_discussions(forumid, sortorder=DiscussionSort.CREATED_ASC)
    assert [d.discussion for d in created.discussions] == ids
    replies = client.mod_forum.get_forum_discussions(forumid, sortorder=DiscussionSort.REPLIES_DESC)
    assert replies.discussions[0].discussion == ids[1]
    page = client.mod_forum.get_forum_discussions(forumid, sortorder=DiscussionSort.CREATED_ASC, page=1,
                                                  perpage=2)
    assert [d.discussion for d in page.discussions] == ids[2:4]
    assert [d.discussion for d in client.mod_forum.iter_forum_discussions(forumid, perpage=2)] == ids
    with pytest.raises(InvalidParameterError):
        client.mod_forum.get_forum_discussions(forumid, sortorder=0)


def test_errors_of_forum_functions(client: MoodleClient, weak_client: MoodleClient,
                                   forum_site: dict[str, Any], learner_client: Any) -> None:
    with pytest.raises(NotFoundError):
        client.mod_forum.add_discussion(999999, "x", "x")
    with pytest.raises(MoodleError) as caught:
        client.mod_forum.get_forum_discussions(999999)
    assert caught.value.errorcode == "Unable to find forum with id 999999"
    with pytest.raises(MoodleError) as caught:
        client.mod_forum.get_discussion_posts(999999)
    assert caught.value.errorcode is None and caught.value.exception == "Error"
    new = client.mod_forum.add_discussion(forum_site["forum"]["id"], "s", "<p>m</p>")
    with pytest.raises(InvalidParameterError) as caught:
        client.mod_forum.get_discussion_posts(new.discussionid, sortby="bogus")
    with pytest.raises(AccessDeniedError) as caught:
        weak_client.mod_forum.get_forum_discussions(forum_site["forum"]["id"])
    assert caught.value.errorcode == "requireloginerror"
    news = client.mod_forum.get_forums_by_courses([forum_site["course"]["id"]])[0]
    learner = learner_client(forum_site["learners"][0]["id"])
    with pytest.raises(MoodleError) as caught:
        learner.mod_forum.add_discussion(news.id, "x", "<p>x</p>")
    assert caught.value.errorcode == "cannotcreatediscussion"
    started = learner.mod_forum.add_discussion(forum_site["forum"]["id"], "学员发帖", "<p>新话题</p>")
    assert started.discussionid > 0


def test_posting_completes_a_forum_with_a_posts_rule(fake: RunningFake, forum_site: dict[str, Any],
                                                     learner_client: Any) -> None:
    site = fake.site
    cm, forum = add_activity(site, forum_site["course"]["id"], "forum", "Graded talk", completionposts=2)
    with site.lock:
        site.db["course_modules"].update(cm, completion=2)
    learner_id = forum_site["learners"][0]["id"]
    learner = learner_client(learner_id)
    new = learner.mod_forum.add_discussion(forum["id"], "one", "<p>1</p>")
    assert site.db["course_modules_completion"].first(coursemoduleid=cm["id"], userid=learner_id) is None
    first = learner.mod_forum.get_discussion_posts(new.discussionid).first_post
    assert first is not None
    learner.mod_forum.add_discussion_post(first.id, "two", "<p>2</p>")
    row = site.db["course_modules_completion"].first(coursemoduleid=cm["id"], userid=learner_id)
    assert row is not None and row["completionstate"] == 1


def test_names_come_back_html_escaped(fake: RunningFake, client: MoodleClient,
                                      forum_site: dict[str, Any]) -> None:
    add_activity(fake.site, forum_site["course"]["id"], "forum", "Q&A <b>Talk</b>")
    names = [f.name for f in client.mod_forum.get_forums_by_courses([forum_site["course"]["id"]])]
    assert names[-1] == "Q&amp;A Talk"
    assert unescape(names[-1]) == "Q&A Talk"
