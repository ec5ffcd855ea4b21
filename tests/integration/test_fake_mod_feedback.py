"""mod_feedback against the fake over HTTP: questions, answers, analysis, non-respondents, permissions."""

from __future__ import annotations

from typing import Any

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.errors import AccessDeniedError, MoodleError, NotFoundError
from moodle_bridge.fake import RunningFake
from tests.factories import add_course, add_user, enrol

pytestmark = pytest.mark.integration


@pytest.fixture
def survey(fake: RunningFake) -> dict[str, Any]:
    site = fake.site
    course = add_course(site, "F1")
    learners = [add_user(site, f"f{n}", name, "学员") for n, name in enumerate(["甲", "乙", "丙"])]
    for learner in learners:
        enrol(site, learner["id"], course["id"])
    made = site.site_action("create_feedback", {"courseid": course["id"],
                                                "name": "培训满意度调查 Satisfaction survey"})
    return {"course": course, "learners": learners, **made}


def _respond(fake: RunningFake, userid: int, survey: dict[str, Any], choice: str, text: str) -> None:
    q1, q2 = survey["itemids"]
    fake.site.site_action("feedback_respond", {"userid": userid, "cmid": survey["cmid"],
                                               "answers": [[q1, choice], [q2, text]]})


def test_feedback_questions_answers_and_analysis(fake: RunningFake, client: MoodleClient,
                                                 survey: dict[str, Any]) -> None:
    courseid = survey["course"]["id"]
    listed = client.mod_feedback.get_feedbacks_by_courses([courseid, 999999])
    assert [f.coursemodule for f in listed.feedbacks] == [survey["cmid"]]
    assert listed.feedbacks[0].email_notification is False  # editors see every setting
    assert [(w.itemid, w.warningcode) for w in listed.warnings] == [(999999, "1")]
    items = client.mod_feedback.get_items(survey["instance"]).items
    assert [(i.typ, i.itemnumber, i.required) for i in items] == [("multichoice", 1, True),
                                                                  ("textarea", 2, False)]
    u1, u2, u3 = survey["learners"]
    _respond(fake, u1["id"], survey, "1", "课程安排合理，希望增加案例教学。")
    _respond(fake, u2["id"], survey, "3", "")
    analysis = client.mod_feedback.get_analysis(survey["instance"])
    assert (analysis.completedcount, analysis.itemscount) == (2, 2)
    choices = analysis.itemsdata[0].choices
    assert [(c.answertext, c.answercount, c.quotient) for c in choices] == [
        ("非常满意", 1, 0.5), ("满意", 0, 0.0), ("一般", 1, 0.5), ("不满意", 0, 0.0)]
    assert analysis.itemsdata[1].data == ("课程安排合理，希望增加案例教学。",)
    responses = client.mod_feedback.get_responses_analysis(survey["instance"])
    assert responses.totalattempts == 2 and responses.totalanonattempts == 0
    first = responses.attempts[0]
    assert first.userid == u1["id"] and first.courseid == 0
    answer = first.responses[0]
    assert (answer.name, answer.printval, answer.rawval) == (
        "(q1) 课程满意度 Satisfaction", "非常满意", "1")
    assert [a.userid for a in client.mod_feedback.iter_responses(survey["instance"], perpage=1)] == [
        u1["id"], u2["id"]]
    missing = client.mod_feedback.get_non_respondents(survey["instance"])
    assert [u.userid for u in missing.users] == [3, u3["id"]] and missing.total == 2
    assert [u.userid for u in client.mod_feedback.iter_non_respondents(survey["instance"], perpage=1)] == [
        3, u3["id"]]


def test_one_answer_each_unless_multiple_submit(fake: RunningFake, survey: dict[str, Any]) -> None:
    u1 = survey["learners"][0]
    _respond(fake, u1["id"], survey, "2", "x")
    with pytest.raises(ValueError):
        _respond(fake, u1["id"], survey, "2", "again")
    with pytest.raises(ValueError, match="required"):
        _respond(fake, survey["learners"][1]["id"], survey, "", "required question left out")


def test_anonymous_feedback(fake: RunningFake, client: MoodleClient, survey: dict[str, Any]) -> None:
    made = fake.site.site_action("create_feedback", {"courseid": survey["course"]["id"], "name": "Anon",
                                                     "anonymous": 1})
    q1, q2 = made["itemids"]
    for learner in survey["learners"][:2]:
        fake.site.site_action("feedback_respond", {"userid": learner["id"], "cmid": made["cmid"],
                                                   "answers": [[q1, "4"], [q2, "匿名"]]})
    responses = client.mod_feedback.get_responses_analysis(made["instance"])
    assert responses.attempts == () and [a.number for a in responses.anonattempts] == [1, 2]
    with pytest.raises(MoodleError) as caught:
        client.mod_feedback.get_non_respondents(made["instance"])
    assert caught.value.errorcode == "anonymous"
    assert client.mod_feedback.get_feedbacks_by_courses([survey["course"]["id"]]).feedbacks[1].is_anonymous


def test_feedback_permissions(fake: RunningFake, client: MoodleClient, weak_client: MoodleClient,
                              learner_client: Any, survey: dict[str, Any]) -> None:
    learner = learner_client(survey["learners"][0]["id"])
    mine = learner.mod_feedback.get_feedbacks_by_courses()
    assert [f.id for f in mine.feedbacks] == [survey["instance"]]
    assert mine.feedbacks[0].email_notification is None  # an editor-only setting
    assert len(learner.mod_feedback.get_items(survey["instance"]).items) == 2
    with pytest.raises(AccessDeniedError):
        learner.mod_feedback.get_responses_analysis(survey["instance"])
    with pytest.raises(AccessDeniedError):
        learner.mod_feedback.get_analysis(survey["instance"])
    with pytest.raises(AccessDeniedError):
        weak_client.mod_feedback.get_items(survey["instance"])
    with pytest.raises(NotFoundError):
        client.mod_feedback.get_items(999999)
