"""core_completion against the fake Moodle over HTTP: the completion rules the recordings showed."""

from __future__ import annotations

from typing import Any

import pytest

from moodle_bridge import AccessDeniedError, MoodleClient, MoodleError, NotFoundError
from moodle_bridge.fake import RunningFake
from tests.factories import EDITINGTEACHER, add_page, enrol, learner, numbered_user, training_course

pytestmark = pytest.mark.integration


@pytest.fixture
def course(fake: RunningFake) -> dict[str, int]:
    """A completion-enabled course with a manual-completion page, two students and a teacher."""
    site = fake.site
    courseid = training_course(site, "it-comp-C1")
    ids = {"course": courseid, "page": add_page(site, courseid),
           "u1": numbered_user(site, 1), "u2": numbered_user(site, 2, first="伟", last="张"),
           "outsider": numbered_user(site, 3), "teacher": numbered_user(site, 4)}
    enrol(site, ids["u1"], courseid)
    enrol(site, ids["u2"], courseid)
    enrol(site, ids["teacher"], courseid, EDITINGTEACHER)
    return ids


def criteria(fake: RunningFake, courseid: int, *cmids: int, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = fake.site.site_action("set_completion_criteria",
                                                   {"courseid": courseid, "cmids": list(cmids), **extra})
    return result


def test_no_criteria_then_criteria_then_completion_at_once(fake: RunningFake, client: MoodleClient,
                                                           course: dict[str, int]) -> None:
    with pytest.raises(MoodleError) as caught:
        client.core_completion.get_course_completion_status(course["course"], course["u1"])
    assert caught.value.errorcode == "nocriteriaset"
    answer = criteria(fake, course["course"], course["page"])
    assert answer["criteria"][0]["criteriatype"] == "4"
    assert answer["criteria"][0]["moduleinstance"] == str(course["page"])
    status = client.core_completion.get_course_completion_status(course["course"], course["u1"])
    assert (status.completed, status.aggregation, status.timecompleted) == (False, 1, None)
    [criterion] = status.completions
    assert (criterion.type, criterion.status, criterion.complete, criterion.timecompleted) == (
        4, "No", False, None)
    assert criterion.details.requirement == "Marking yourself complete"
    assert f"/mod/page/view.php?id={course['page']}" in criterion.details.criteria

    with learner(fake, course["u1"]) as own:
        assert own.core_completion.update_activity_completion_status_manually(course["page"], True).status
        mine = own.core_completion.get_course_completion_status(course["course"], course["u1"])
    assert mine.completed and mine.completions[0].complete and mine.timecompleted
    activities = client.core_completion.get_activities_completion_status(course["course"], course["u1"])
    [page] = activities.statuses
    assert (page.cmid, page.modname, page.state, page.tracking, page.complete) == (
        course["page"], "page", 1, 1, True)
    assert page.overrideby is None and page.istrackeduser and not page.isautomatic


def test_errors_name_the_case(fake: RunningFake, client: MoodleClient, weak_client: MoodleClient,
                              course: dict[str, int]) -> None:
    criteria(fake, course["course"], course["page"])
    area = client.core_completion
    for userid, code in ((course["outsider"], "usernotenroled"), (course["teacher"], "usernotenroled")):
        with pytest.raises(MoodleError) as caught:
            area.get_course_completion_status(course["course"], userid)
        assert caught.value.errorcode == code
    with pytest.raises(NotFoundError):
        area.get_course_completion_status(course["course"], 999999)
    with pytest.raises(NotFoundError):
        area.get_course_completion_status(999999, course["u1"])
    with pytest.raises(AccessDeniedError) as denied:
        weak_client.core_completion.get_course_completion_status(course["course"], course["u1"])
    assert denied.value.errorcode == "requireloginerror"
    with learner(fake, course["u2"]) as other:
        with pytest.raises(AccessDeniedError) as nosy:
            other.core_completion.get_course_completion_status(course["course"], course["u1"])
        assert nosy.value.errorcode == "cannotviewreport"
        with pytest.raises(AccessDeniedError) as progress:
            other.core_completion.get_activities_completion_status(course["course"], course["u1"])
        assert progress.value.errorcode == "nopermissions"
    with pytest.raises(NotFoundError):
        area.update_activity_completion_status_manually(999999, True)


def test_completion_disabled_course_cannot_be_viewed(fake: RunningFake, client: MoodleClient) -> None:
    courseid = training_course(fake.site, "it-comp-off", completion=0)
    userid = numbered_user(fake.site, 9)
    enrol(fake.site, userid, courseid)
    with pytest.raises(AccessDeniedError) as caught:
        client.core_completion.get_course_completion_status(courseid, userid)
    assert caught.value.errorcode == "cannotviewreport"


def test_the_manual_update_acts_on_the_caller_only(fake: RunningFake, client: MoodleClient,
                                                   course: dict[str, int]) -> None:
    criteria(fake, course["course"], course["page"])
    assert client.core_completion.update_activity_completion_status_manually(course["page"], True).status
    mine = fake.site.db["course_modules_completion"].select(coursemoduleid=course["page"])
    assert [row["userid"] for row in mine] == [3]  # wsbot, not a learner
    status = client.core_completion.get_course_completion_status(course["course"], course["u1"])
    assert not status.completed


def test_automatic_activities_refuse_manual_marking(fake: RunningFake, course: dict[str, int]) -> None:
    auto = add_page(fake.site, course["course"], "Viewed page", completion=2, completionview=1)
    with learner(fake, course["u1"]) as own, pytest.raises(MoodleError) as caught:
        own.core_completion.update_activity_completion_status_manually(auto, True)
    assert caught.value.errorcode == "cannotmanualctrack"


def test_override_to_incomplete_keeps_the_course_completion(fake: RunningFake, client: MoodleClient,
                                                            course: dict[str, int]) -> None:
    criteria(fake, course["course"], course["page"])
    area = client.core_completion
    done = area.override_activity_completion_status(course["u2"], course["page"], 1)
    assert (done.state, done.overrideby, done.tracking) == (1, 3, 1)
    assert area.get_course_completion_status(course["course"], course["u2"]).completed
    undone = area.override_activity_completion_status(course["u2"], course["page"], 0)
    assert (undone.state, undone.overrideby) == (0, 3)
    [page] = area.get_activities_completion_status(course["course"], course["u2"]).statuses
    assert (page.state, page.overrideby, page.complete) == (0, 3, False)
    assert area.get_course_completion_status(course["course"], course["u2"]).completed
    same = area.override_activity_completion_status(course["u2"], course["page"], 0)
    assert same.state == 0
    # overriding someone who is not enrolled is accepted and tracks nothing
    outsider = area.override_activity_completion_status(course["outsider"], course["page"], 1)
    assert outsider.state == 1


def test_override_needs_the_capability(fake: RunningFake, weak_client: MoodleClient,
                                       course: dict[str, int]) -> None:
    with pytest.raises(AccessDeniedError):
        weak_client.core_completion.override_activity_completion_status(course["u1"], course["page"], 1)
    with learner(fake, course["u2"]) as other, pytest.raises(AccessDeniedError) as caught:
        other.core_completion.override_activity_completion_status(course["u1"], course["page"], 1)
    assert caught.value.errorcode == "nopermissions"


def test_completions_before_criteria_wait_for_cron(fake: RunningFake, client: MoodleClient,
                                                   course: dict[str, int]) -> None:
    site = fake.site
    answer = site.site_action("complete_activity", {"userid": course["u1"], "cmid": course["page"]})
    assert answer["course_completions"] is None and answer["cmc"]["completionstate"] == "1"
    criteria(fake, course["course"], course["page"])
    area = client.core_completion
    assert not area.get_course_completion_status(course["course"], course["u1"]).completed
    ran = site.site_action("run_task", {"task": "\\core\\task\\completion_regular_task",
                                        "courseid": str(course["course"])})
    assert ran["rc"] == 0 and "Marking complete" in ran["output"]
    assert [row["userid"] for row in ran["course_completions"]] == [str(course["u1"])]
    assert area.get_course_completion_status(course["course"], course["u1"]).completed
    assert not area.get_course_completion_status(course["course"], course["u2"]).completed


def test_reset_then_cron_aggregates_again(fake: RunningFake, client: MoodleClient,
                                          course: dict[str, int]) -> None:
    site = fake.site
    criteria(fake, course["course"], course["page"])
    site.site_action("complete_activity", {"userid": course["u1"], "cmid": course["page"]})
    area = client.core_completion
    assert area.get_course_completion_status(course["course"], course["u1"]).completed
    assert site.site_action("reset_course_completion",
                            {"userid": course["u1"], "courseid": course["course"]})["deleted"] == 2
    assert not area.get_course_completion_status(course["course"], course["u1"]).completed
    site.site_action("run_task", {"task": "\\core\\task\\completion_regular_task"})
    assert area.get_course_completion_status(course["course"], course["u1"]).completed


def test_mark_course_complete_without_criteria_activity(fake: RunningFake, client: MoodleClient,
                                                        course: dict[str, int]) -> None:
    criteria(fake, course["course"], course["page"])
    assert fake.site.site_action("mark_course_complete",
                                 {"pairs": [[course["u2"], course["course"]]]}) == {"marked": 1}
    status = client.core_completion.get_course_completion_status(course["course"], course["u2"])
    assert status.completed and not status.completions[0].complete


def test_self_completion(fake: RunningFake, client: MoodleClient, course: dict[str, int]) -> None:
    with pytest.raises(MoodleError) as caught:
        client.core_completion.mark_course_self_completed(course["course"])
    assert caught.value.errorcode == "nottracked"
    with learner(fake, course["u1"]) as own:
        with pytest.raises(MoodleError) as nocriteria:
            own.core_completion.mark_course_self_completed(course["course"])
        assert nocriteria.value.errorcode == "noselfcompletioncriteria"
        criteria(fake, course["course"], self=True)
        assert own.core_completion.mark_course_self_completed(course["course"]).status
        status = own.core_completion.get_course_completion_status(course["course"], course["u1"])
        assert status.completed and status.completions[0].type == 1
        with pytest.raises(MoodleError) as again:
            own.core_completion.mark_course_self_completed(course["course"])
        assert again.value.errorcode == "useralreadymarkedcomplete"


def test_any_aggregation(fake: RunningFake, client: MoodleClient, course: dict[str, int]) -> None:
    second = add_page(fake.site, course["course"], "Second page")
    criteria(fake, course["course"], course["page"], second, aggregation=2)
    fake.site.site_action("complete_activity", {"userid": course["u1"], "cmid": second})
    status = client.core_completion.get_course_completion_status(course["course"], course["u1"])
    assert status.aggregation == 2 and status.completed
    assert [c.complete for c in status.completions] == [False, True]


def test_fan_out_reads_every_user_and_keeps_their_errors(fake: RunningFake, client: MoodleClient,
                                                         course: dict[str, int]) -> None:
    site = fake.site
    criteria(fake, course["course"], course["page"])
    learners = [numbered_user(site, 100 + n) for n in range(9)]
    for userid in learners:
        enrol(site, userid, course["course"])
    for userid in learners[::2]:
        site.site_action("complete_activity", {"userid": userid, "cmid": course["page"]})
    asked = [*learners, course["outsider"], 999999]
    result = client.core_completion.course_completion_statuses(course["course"], asked)
    assert set(result.statuses) == set(learners)
    assert result.completed() == set(learners[::2])
    assert result.errors_with("usernotenroled") == {course["outsider"]}
    assert isinstance(result.errors[999999], NotFoundError)
    assert site.calls["core_completion_get_course_completion_status"] == len(asked)


def test_suspended_or_out_of_date_learners_are_not_tracked(fake: RunningFake, client: MoodleClient,
                                            course: dict[str, int]) -> None:
    site = fake.site
    criteria(fake, course["course"], course["page"])
    suspended, future, ended = numbered_user(site, 50), numbered_user(site, 51), numbered_user(site, 52)
    enrol(site, suspended, course["course"], status=1)
    enrol(site, future, course["course"], timestart=site.now() + 86400)
    enrol(site, ended, course["course"], timestart=1, timeend=site.now() - 86400)
    for userid in (suspended, future, ended):
        with pytest.raises(MoodleError) as caught:
            client.core_completion.get_course_completion_status(course["course"], userid)
        assert caught.value.errorcode == "usernotenroled"
