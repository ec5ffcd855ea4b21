"""mod_assign against the fake over HTTP: listing, submissions, grading rules, batching, permissions."""

from __future__ import annotations

from typing import Any

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.errors import AccessDeniedError, MoodleError, NotFoundError
from moodle_bridge.fake import RunningFake
from tests.conftest import TOKEN
from tests.factories import EDITINGTEACHER, add_activity, add_course, add_user, enrol

pytestmark = pytest.mark.integration


ESSAY = ("<p>通过本次领导干部能力提升专题培训，我深刻认识到理论学习与实践工作相结合的重要性。"
         "在培训期间，各位专家围绕新时代基层治理、依法行政、数字化转型等主题进行了系统讲解。</p>")


@pytest.fixture
def assign_site(fake: RunningFake) -> dict[str, Any]:
    site = fake.site
    course = add_course(site, "A1")
    u1, u2 = add_user(site, "a1", "红", "李"), add_user(site, "a2", "伟", "张")
    teacher = add_user(site, "t1", "芳", "刘")
    enrol(site, u1["id"], course["id"])
    enrol(site, u2["id"], course["id"])
    enrol(site, teacher["id"], course["id"], EDITINGTEACHER)
    cm, assign = add_activity(site, course["id"], "assign", "心得体会 Reflection essay", grade=100)
    return {"course": course, "u1": u1, "u2": u2, "teacher": teacher, "cm": cm, "assign": assign}


def _submit(fake: RunningFake, userid: int, cmid: int, text: str = ESSAY) -> dict[str, Any]:
    return dict(fake.site.site_action("assign_submit", {"userid": userid, "cmid": cmid, "text": text}))


def test_get_assignments_for_a_bot_enrolled_nowhere(client: MoodleClient, weak_client: MoodleClient,
                                                    assign_site: dict[str, Any]) -> None:
    courseid = assign_site["course"]["id"]
    found = client.mod_assign.get_assignments([courseid])
    assert [a.id for a in found.assignments] == [assign_site["assign"]["id"]]
    assert found.assignments[0].cmid == assign_site["cm"]["id"] and found.assignments[0].grade == 100
    assert found.warnings == ()
    plain = client.mod_assign.get_assignments([courseid, 999999], include_not_enrolled_courses=None)
    assert plain.courses == () and [(w.itemid, w.warningcode) for w in plain.warnings] == [
        (courseid, "2"), (999999, "2")]
    missing = client.mod_assign.get_assignments([999999])
    assert [w.warningcode for w in missing.warnings] == ["1"]
    weak = weak_client.mod_assign.get_assignments([courseid])
    assert weak.courses == () and weak.warnings[0].warningcode == "1"
    filtered = client.mod_assign.get_assignments([courseid], capabilities=["mod/assign:grade"])
    assert len(filtered.assignments) == 1


def test_submit_grade_and_read_back(fake: RunningFake, client: MoodleClient,
                                    assign_site: dict[str, Any]) -> None:
    aid, cmid = assign_site["assign"]["id"], assign_site["cm"]["id"]
    u1, u2, teacher = assign_site["u1"], assign_site["u2"], assign_site["teacher"]
    answer = _submit(fake, u1["id"], cmid)
    assert answer["submission"]["status"] == "submitted" and answer["notices"] == []
    subs = client.mod_assign.get_submissions([aid])
    [only] = subs.assignments[0].submissions
    assert only.userid == u1["id"] and only.onlinetext == ESSAY and only.gradingstatus == "notgraded"
    assert client.mod_assign.get_submissions([aid], status="new").warnings[0].warningcode == "3"

    fake.site.clock.advance(5)
    graded = fake.site.site_action("assign_grade", {"teacherid": teacher["id"], "userid": u1["id"],
                                                     "cmid": cmid, "grade": 88,
                                                     "feedback": "<p>体会深刻。</p>"})
    assert graded["grade"]["grade"] == "88.00000" and graded["grade"]["grader"] == str(teacher["id"])
    first = client.mod_assign.get_grades([aid])
    assert [(g.userid, g.value, g.grader) for g in first.assignments[0].grades] == [(u1["id"], 88.0,
                                                                                     teacher["id"])]
    later = fake.site.now() + 100
    nothing = client.mod_assign.get_grades([aid], since=later)
    assert nothing.assignments == () and nothing.warnings[0].warningcode == "3"

    client.mod_assign.save_grade(aid, u2["id"], 75.5, feedback_text="<p>未提交，按平时表现评分。</p>")
    grades = client.mod_assign.get_grades([aid]).assignments[0].grades
    assert [(g.userid, g.grade, g.grader) for g in grades] == [(u1["id"], "88.00000", teacher["id"]),
                                                               (u2["id"], "75.50000", 3)]
    status = client.mod_assign.get_submission_status(aid, userid=u2["id"])
    assert status.lastattempt is not None and status.lastattempt.submission is not None
    assert status.lastattempt.submission.status == "new"  # grading made the learner's empty attempt
    assert status.feedback is not None and status.feedback.comment == "<p>未提交，按平时表现评分。</p>"
    assert status.feedback.gradefordisplay == "75.50&nbsp;/&nbsp;100.00"


def test_grade_above_maximum_is_ignored_but_the_comment_is_saved(fake: RunningFake, client: MoodleClient,
                                                                 assign_site: dict[str, Any]) -> None:
    aid, cmid = assign_site["assign"]["id"], assign_site["cm"]["id"]
    u1 = assign_site["u1"]
    _submit(fake, u1["id"], cmid)
    fake.site.site_action("assign_grade", {"teacherid": assign_site["teacher"]["id"], "userid": u1["id"],
                                           "cmid": cmid, "grade": 88, "feedback": "<p>好</p>"})
    before = client.mod_assign.get_grades([aid]).assignments[0].grades[0]
    fake.site.clock.advance(30)
    client.mod_assign.save_grade(aid, u1["id"], 150, feedback_text="<p>超出满分</p>")  # answers null
    after = client.mod_assign.get_grades([aid]).assignments[0].grades[0]
    assert (after.grade, after.timemodified, after.grader) == (before.grade, before.timemodified,
                                                               before.grader)
    status = client.mod_assign.get_submission_status(aid, userid=u1["id"])
    assert status.feedback is not None and status.feedback.comment == "<p>超出满分</p>"
    with pytest.raises(ValueError):
        client.mod_assign.save_grade(aid, u1["id"], 150, max_grade=100)


def test_grade_without_comment_over_an_existing_comment_fails_like_moodle(
        fake: RunningFake, client: MoodleClient, assign_site: dict[str, Any]) -> None:
    aid, cmid, u1 = assign_site["assign"]["id"], assign_site["cm"]["id"], assign_site["u1"]
    fake.site.site_action("assign_grade", {"teacherid": assign_site["teacher"]["id"], "userid": u1["id"],
                                           "cmid": cmid, "grade": 60, "feedback": "<p>c</p>"})
    with pytest.raises(MoodleError) as caught:
        client.mod_assign.save_grade(aid, u1["id"], 70)
    assert caught.value.errorcode == "dmlwriteexception"
    assert client.mod_assign.get_grades([aid]).assignments[0].grades[0].grade == "60.00000"
    fake.site.site_action("set_config", {"name": "debug", "value": 32767})
    with pytest.raises(MoodleError) as caught:
        client.mod_assign.save_grade(aid, u1["id"], 70)
    assert caught.value.debuginfo is not None and "commentformat" in caught.value.debuginfo
    client.mod_assign.save_grade(aid, u1["id"], 70, feedback_text="<p>c2</p>")
    assert client.mod_assign.get_grades([aid]).assignments[0].grades[0].grade == "70.00000"


def test_many_assignments_in_batches_with_since(fake: RunningFake, assign_site: dict[str, Any]) -> None:
    site = fake.site
    courseid = assign_site["course"]["id"]
    more = [add_activity(site, courseid, "assign", f"Essay {n}") for n in range(4)]
    ids = [assign_site["assign"]["id"]] + [assign["id"] for _cm, assign in more]
    cms = [assign_site["cm"]["id"]] + [cm["id"] for cm, _assign in more]
    for cmid in cms[:3]:
        _submit(fake, assign_site["u1"]["id"], cmid)
    site.clock.advance(100)
    since = site.now()
    for cmid in cms[3:]:
        _submit(fake, assign_site["u2"]["id"], cmid)
    with MoodleClient(fake.url, TOKEN, timeout=10, retries=0, batch_size=2, max_workers=2) as small:
        before = site.calls["mod_assign_get_submissions"]
        result = small.mod_assign.get_submissions(ids)
        assert site.calls["mod_assign_get_submissions"] - before == 3
        assert [a.assignmentid for a in result.assignments] == ids
        assert all(len(a.submissions) == 1 for a in result.assignments)
        recent = small.mod_assign.get_submissions(ids, since=since)
        assert [a.assignmentid for a in recent.assignments if a.submissions] == ids[3:]
        assert sorted(w.itemid for w in recent.warnings if w.itemid is not None) == sorted(ids[:3])
        window = small.mod_assign.get_submissions(ids, since=0, before=since - 1)
        assert [a.assignmentid for a in window.assignments if a.submissions] == ids[:3]


def test_participants_status_and_permissions(fake: RunningFake, client: MoodleClient,
                                             weak_client: MoodleClient, learner_client: Any,
                                             assign_site: dict[str, Any]) -> None:
    aid, cmid = assign_site["assign"]["id"], assign_site["cm"]["id"]
    u1, u2 = assign_site["u1"], assign_site["u2"]
    _submit(fake, u1["id"], cmid)
    people = client.mod_assign.list_participants(aid)
    assert [(p.id, p.submitted, p.submissionstatus) for p in people] == [
        (u2["id"], False, "new"), (u1["id"], True, "submitted")]  # by last name: 张 before 李
    assert people[1].requiregrading and people[0].roles[0].shortname == "student"
    assert [p.id for p in client.mod_assign.iter_participants(aid, page_size=1)] == [u2["id"], u1["id"]]
    assert [p.id for p in client.mod_assign.list_participants(aid, filter="李")] == [u1["id"]]
    summary = client.mod_assign.get_submission_status(aid, userid=u1["id"]).gradingsummary
    assert summary is not None
    assert (summary.participantcount, summary.submissionssubmittedcount,
            summary.submissionsneedgradingcount) == (2, 1, 1)
    own = learner_client(u1["id"]).mod_assign.get_submission_status(aid)
    assert own.gradingsummary is None and own.lastattempt is not None and own.lastattempt.caneditowner
    with pytest.raises(AccessDeniedError):
        learner_client(u2["id"]).mod_assign.get_submission_status(aid, userid=u1["id"])
    with pytest.raises(AccessDeniedError):
        learner_client(u2["id"]).mod_assign.list_participants(aid)
    with pytest.raises(AccessDeniedError):
        weak_client.mod_assign.list_participants(aid)
    with pytest.raises(NotFoundError):
        client.mod_assign.list_participants(999999)
    denied = weak_client.mod_assign.get_grades([aid])
    assert [(w.itemid, w.warningcode) for w in denied.warnings] == [(aid, "1")]
    assert weak_client.mod_assign.get_submissions([aid]).warnings[0].warningcode == "1"
    assert client.mod_assign.get_submissions([999999]).warnings == ()


def test_user_mappings_and_word_limit(fake: RunningFake, client: MoodleClient,
                                      assign_site: dict[str, Any]) -> None:
    aid = assign_site["assign"]["id"]
    mappings = client.mod_assign.get_user_mappings([aid])
    assert mappings.assignments == () and mappings.warnings[0].warningcode == "3"
    configs = [{"plugin": "onlinetext", "subtype": "assignsubmission", "name": "enabled", "value": "1"},
               {"plugin": "onlinetext", "subtype": "assignsubmission", "name": "wordlimit", "value": "10"},
               {"plugin": "onlinetext", "subtype": "assignsubmission", "name": "wordlimitenabled",
                "value": "1"}]
    cm, limited = add_activity(fake.site, assign_site["course"]["id"], "assign", "Short", configs=configs)
    listed = client.mod_assign.get_assignments([assign_site["course"]["id"]]).assignments
    assert [a.word_limit for a in listed if a.id == limited["id"]] == [10]
    too_long = _submit(fake, assign_site["u1"]["id"], cm["id"], "<p>一二三四五六七八九十十一</p>")
    assert too_long["notices"] and too_long["submission"]["status"] == "new"
    fits = _submit(fake, assign_site["u1"]["id"], cm["id"], "<p>一二三四五 six</p>")
    assert fits["notices"] == [] and fits["submission"]["status"] == "submitted"
