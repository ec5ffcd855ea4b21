"""core_completion, gradereport_user and core_reportbuilder against a real Moodle.

Setup (a course and learners starting with the run's prefix, enrolled as students) goes through plain
calls so these tests depend only on the areas they check; everything made is removed at the end.
The report-builder tests read the custom report named by ``MOODLE_COMPLETION_REPORT`` (see README.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from moodle_bridge import MoodleClient, MoodleError
from moodle_bridge.areas.core_reportbuilder import parse_report_datetime, report_yes

from .conftest import require_functions

pytestmark = pytest.mark.live
Cleanup = Callable[[Callable[[], object]], None]
PASSWORD = "Cc-Live-2026!x"
SETUP = ("core_user_create_users", "core_user_delete_users", "core_course_create_courses",
         "core_course_delete_courses", "enrol_manual_enrol_users")


def setup_course(client: MoodleClient, prefix: str, cleanup: Cleanup, learners: int) -> dict[str, Any]:
    """A completion-enabled course (no criteria) and ``learners`` students, all removed afterwards."""
    users = client.call("core_user_create_users", {"users": [
        {"username": f"{prefix}cg{n}".lower(), "password": PASSWORD, "firstname": "Live",
         "lastname": f"Learner{n}", "email": f"{prefix}cg{n}@example.invalid".lower(),
         "idnumber": f"{prefix}CG{n}"} for n in range(learners)]}, write=True)
    userids = [int(user["id"]) for user in users]
    cleanup(lambda: client.call("core_user_delete_users", {"userids": userids}, write=True))
    [course] = client.call("core_course_create_courses", {"courses": [
        {"fullname": f"{prefix} completion", "shortname": f"{prefix}CG", "categoryid": 1,
         "idnumber": f"{prefix}CG", "enablecompletion": 1}]}, write=True)
    courseid = int(course["id"])
    cleanup(lambda: client.call("core_course_delete_courses", {"courseids": [courseid]}, write=True))
    client.call("enrol_manual_enrol_users", {"enrolments": [
        {"roleid": 5, "userid": userid, "courseid": courseid} for userid in userids]}, write=True)
    return {"course": courseid, "users": userids}


def test_completion_status_before_criteria_and_per_user_errors(live_client: MoodleClient, prefix: str,
                                                               cleanup: Cleanup) -> None:
    require_functions(live_client, *SETUP, "core_completion_get_course_completion_status",
                      "core_completion_get_activities_completion_status", "core_webservice_get_site_info")
    made = setup_course(live_client, prefix, cleanup, 2)
    area = live_client.core_completion
    with pytest.raises(MoodleError) as caught:
        area.get_course_completion_status(made["course"], made["users"][0])
    assert caught.value.errorcode == "nocriteriaset"
    me = live_client.core_webservice.get_site_info().userid
    result = area.course_completion_statuses(made["course"], [*made["users"], me])
    assert result.statuses == {}
    assert result.errors_with("nocriteriaset") == set(made["users"])
    assert result.errors_with("notenroled") == {me}  # the caller itself: "notenroled", not "usernotenroled"
    activities = area.get_activities_completion_status(made["course"], made["users"][0])
    assert all(not status.complete for status in activities.statuses)


def test_grade_items_for_every_student_in_one_call(live_client: MoodleClient, prefix: str,
                                                   cleanup: Cleanup) -> None:
    require_functions(live_client, *SETUP, "gradereport_user_get_grade_items")
    made = setup_course(live_client, prefix, cleanup, 3)
    report = live_client.gradereport_user.get_grade_items(made["course"], 0)
    assert sorted(user.userid for user in report.usergrades) == sorted(made["users"])
    for user in report.usergrades:
        assert user.course_total is not None and user.course_total.graderaw is None


def test_template_course_completion_and_grades(live_client: MoodleClient, prefix: str,
                                               cleanup: Cleanup) -> None:
    from .conftest import template_course_shortname

    shortname = template_course_shortname()
    require_functions(live_client, "core_user_create_users", "core_user_delete_users",
                      "core_course_get_courses_by_field", "enrol_manual_enrol_users",
                      "enrol_manual_unenrol_users", "core_completion_get_course_completion_status",
                      "core_completion_get_activities_completion_status",
                      "core_completion_override_activity_completion_status",
                      "gradereport_user_get_grade_items")
    found = live_client.call("core_course_get_courses_by_field",
                             {"field": "shortname", "value": shortname}, write=False)
    if not found.get("courses"):
        pytest.skip(f"no course {shortname!r} on the site")
    courseid = int(found["courses"][0]["id"])
    [user] = live_client.call("core_user_create_users", {"users": [
        {"username": f"{prefix}tpl".lower(), "password": PASSWORD, "firstname": "Live", "lastname": "Tpl",
         "email": f"{prefix}tpl@example.invalid".lower(), "idnumber": f"{prefix}TPL"}]}, write=True)
    userid = int(user["id"])
    cleanup(lambda: live_client.call("core_user_delete_users", {"userids": [userid]}, write=True))
    live_client.call("enrol_manual_enrol_users",
                     {"enrolments": [{"roleid": 5, "userid": userid, "courseid": courseid}]}, write=True)
    cleanup(lambda: live_client.call("enrol_manual_unenrol_users",
                                     {"enrolments": [{"userid": userid, "courseid": courseid}]}, write=True))
    area = live_client.core_completion
    status = area.get_course_completion_status(courseid, userid)
    assert not status.completed and status.completions
    manual = [a for a in area.get_activities_completion_status(courseid, userid).statuses if a.tracking == 1]
    if not manual:
        pytest.skip("the template course has no manual-completion activity")
    done = area.override_activity_completion_status(userid, manual[0].cmid, 1)
    assert done.state == 1
    # completing the criterion activity aggregates at once (when it is the only criterion)
    criteria = {c.details.criteria for c in area.get_course_completion_status(courseid, userid).completions}
    if len(criteria) == 1:
        assert area.get_course_completion_status(courseid, userid).completed
    undone = area.override_activity_completion_status(userid, manual[0].cmid, 0)
    assert undone.state == 0
    grades = live_client.gradereport_user.get_grade_items(courseid, userid).for_user(userid)
    assert grades is not None and grades.course_total is not None


def test_completion_report_pages_without_truncation(live_client: MoodleClient) -> None:
    name = os.environ.get("MOODLE_COMPLETION_REPORT")
    if not name:
        pytest.skip("set MOODLE_COMPLETION_REPORT to the name of a 'Course participants' custom report")
    require_functions(live_client, "core_reportbuilder_list_reports", "core_reportbuilder_retrieve_report")
    area = live_client.core_reportbuilder
    report = next((r for r in area.iter_reports() if r.name == name), None)
    if report is None:
        pytest.skip(f"the token cannot see a report named {name!r}")
    everything = area.retrieve_report(report.id, 0, 0)
    paged = list(area.iter_report_rows(report.id, perpage=max(1, everything.totalrowcount // 3 or 1)))
    assert [row.columns for row in paged] == [row.columns for row in everything.rows]
    assert len(paged) == everything.totalrowcount
    beyond = area.retrieve_report(report.id, everything.totalrowcount + 10, 1)
    # 5.1 counts no rows on a page beyond the end; 4.5 still gives the report's total there.
    assert beyond.rows == () and beyond.totalrowcount in (0, everything.totalrowcount)
    if live_client.core_webservice.get_site_info().release.startswith("4."):
        assert beyond.totalrowcount == everything.totalrowcount
    for row in everything.rows:
        report_yes(row.get("Completed"))
        when = row.get("Time completed")
        if when:
            try:
                parse_report_datetime(when)
            except ValueError:
                pytest.skip("the token user's language is not English: dates are not parsed")
