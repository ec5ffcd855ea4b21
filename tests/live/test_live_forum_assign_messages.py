"""Forums, assignments and messages against a real Moodle (``MOODLE_URL``/``MOODLE_TOKEN``).

Each test works in its own copy of the template course (shortname starting with the run's prefix) and
with users whose usernames start with the prefix; ``cleanup`` deletes them afterwards. Setup calls of
other areas go through ``MoodleClient.call`` so these tests only rely on the areas they check.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.areas.core_message import InstantMessage
from moodle_bridge.areas.mod_forum import DiscussionSort
from tests.live.conftest import require_functions, template_course_shortname

pytestmark = pytest.mark.live

Cleanup = Callable[[Callable[[], object]], None]


def _course_copy(client: MoodleClient, prefix: str, cleanup: Cleanup, name: str) -> int:
    require_functions(client, "core_course_get_courses_by_field", "core_course_duplicate_course",
                      "core_course_delete_courses")
    template = client.call("core_course_get_courses_by_field",
                           {"field": "shortname", "value": template_course_shortname()}, write=False)
    if not template.get("courses"):
        pytest.skip("the template course does not exist on the live site")
    source = template["courses"][0]
    copy = client.call("core_course_duplicate_course", {
        "courseid": source["id"], "fullname": f"{prefix}{name}", "shortname": f"{prefix}{name}",
        "categoryid": source["categoryid"], "visible": 0}, write=True)
    courseid = int(copy["id"])
    cleanup(lambda: client.call("core_course_delete_courses", {"courseids": [courseid]}, write=True))
    return courseid


def _learner(client: MoodleClient, prefix: str, cleanup: Cleanup, suffix: str,
             courseid: int | None = None) -> int:
    require_functions(client, "core_user_create_users", "core_user_delete_users")
    username = f"{prefix}{suffix}".lower()
    created = client.call("core_user_create_users", {"users": [{
        "username": username, "password": "Live-Test-2026!", "firstname": "红", "lastname": "测试",
        "email": f"{username}@college.example", "idnumber": username}]}, write=True)
    userid = int(created[0]["id"])
    cleanup(lambda: client.call("core_user_delete_users", {"userids": [userid]}, write=True))
    if courseid is not None:
        require_functions(client, "enrol_manual_enrol_users")
        client.call("enrol_manual_enrol_users", {"enrolments": [
            {"roleid": 5, "userid": userid, "courseid": courseid}]}, write=True)
    return userid


def test_forum_discussion_lock_and_unlock(live_client: MoodleClient, prefix: str, cleanup: Cleanup) -> None:
    require_functions(live_client, "mod_forum_get_forums_by_courses", "mod_forum_add_discussion",
                      "mod_forum_add_discussion_post", "mod_forum_get_forum_discussions",
                      "mod_forum_get_discussion_posts", "mod_forum_set_lock_state")
    courseid = _course_copy(live_client, prefix, cleanup, "forum")
    forums = [f for f in live_client.mod_forum.get_forums_by_courses([courseid]) if f.type == "general"]
    if not forums:
        pytest.skip("the template course has no general forum")
    forum = forums[0]
    new = live_client.mod_forum.add_discussion(forum.id, f"{prefix} 学习心得交流", "<p>请大家谈谈体会。</p>",
                                               subscribe=False)
    listed = live_client.mod_forum.get_forum_discussions(forum.id, sortorder=DiscussionSort.CREATED_DESC)
    discussion = next(d for d in listed.discussions if d.discussion == new.discussionid)
    assert discussion.numreplies == 0 and not discussion.locked

    locked = live_client.mod_forum.lock_discussion(forum.id, new.discussionid)
    assert locked.locked and locked.locked_time > 0
    reply = live_client.mod_forum.add_discussion_post(discussion.firstpostid, "Re: 锁定后",
                                                      "<p>管理员回复</p>")
    assert reply.post.parentid == discussion.firstpostid  # the service user overrides the lock
    unlocked = live_client.mod_forum.unlock_discussion(forum.id, new.discussionid, locked.locked_time)
    assert not unlocked.locked and unlocked.locked_time == 0

    posts = live_client.mod_forum.get_discussion_posts(new.discussionid, sortby="created",
                                                       sortdirection="ASC")
    assert [p.id for p in posts.posts] == [discussion.firstpostid, reply.postid]
    assert posts.forumid == forum.id and posts.courseid == courseid


def test_assignment_reads_and_grading(live_client: MoodleClient, prefix: str, cleanup: Cleanup) -> None:
    require_functions(live_client, "mod_assign_get_assignments", "mod_assign_get_submissions",
                      "mod_assign_get_grades", "mod_assign_save_grade", "mod_assign_list_participants",
                      "mod_assign_get_submission_status")
    courseid = _course_copy(live_client, prefix, cleanup, "assign")
    found = live_client.mod_assign.get_assignments([courseid])  # includenotenrolledcourses=1
    assert not [w for w in found.warnings if w.itemid == courseid]
    graded = [a for a in found.assignments if a.grade > 0]
    if not graded:
        pytest.skip("the template course has no assignment graded with points")
    assignment = graded[0]
    empty = live_client.mod_assign.get_grades([a.id for a in found.assignments])
    assert empty.assignments == () and {w.warningcode for w in empty.warnings} <= {"3"}

    learner = _learner(live_client, prefix, cleanup, "assign-u1", courseid)
    assert [p.id for p in live_client.mod_assign.list_participants(assignment.id)] == [learner]
    live_client.mod_assign.save_grade(assignment.id, learner, assignment.grade * 0.75,
                                      feedback_text="<p>良好</p>", max_grade=assignment.grade)
    grades = live_client.mod_assign.get_grades([assignment.id]).assignments[0].grades
    assert [(g.userid, g.value) for g in grades] == [(learner, assignment.grade * 0.75)]
    with pytest.raises(ValueError):
        live_client.mod_assign.save_grade(assignment.id, learner, assignment.grade + 50,
                                          max_grade=assignment.grade)
    # Without the guard Moodle answers null and keeps the grade.
    live_client.mod_assign.save_grade(assignment.id, learner, assignment.grade + 50, feedback_text="<p>x</p>")
    again = live_client.mod_assign.get_grades([assignment.id]).assignments[0].grades
    assert again[0].value == assignment.grade * 0.75
    status = live_client.mod_assign.get_submission_status(assignment.id, userid=learner)
    assert status.feedback is not None and status.feedback.grade is not None
    submissions = live_client.mod_assign.get_submissions([assignment.id])
    assert [s.userid for a in submissions.assignments for s in a.submissions] == [learner]


def test_messages_go_only_to_reachable_users(live_client: MoodleClient, prefix: str,
                                             cleanup: Cleanup) -> None:
    require_functions(live_client, "core_message_send_instant_messages", "core_message_get_messages",
                      "core_message_get_member_info", "core_webservice_get_site_info")
    learner = _learner(live_client, prefix, cleanup, "msg-u1")
    me = live_client.core_webservice.get_site_info().userid
    reachable = {m.id: m.canmessage for m in live_client.core_message.get_member_info(
        me, [learner], includeprivacyinfo=True)}
    assert isinstance(reachable[learner], bool)  # asked with the privacy information, Moodle says
    unknown = 2_000_000_000
    results = live_client.core_message.send_instant_messages([
        InstantMessage(learner, f"<p>{prefix} 您好</p>", 1, f"{prefix}m1"),
        InstantMessage(unknown, "不存在的用户"),
    ])
    assert results[1].skipped and not results[1].sent
    assert results[0].sent is reachable[learner]
    if results[0].sent:
        received = live_client.core_message.get_messages(learner, useridfrom=me, type="conversations",
                                                         read=2).messages
        assert [m.id for m in received] == [results[0].msgid]
