"""mod_scorm against the fake over HTTP: packages, SCOs, attempts and tracks as Moodle answers them, who
may read whose, packages outside their dates, a learner's own tracks, and a course copy's courseware."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.areas.mod_scorm import NOT_ATTEMPTED, SCORM_12, SCORM_2004
from moodle_bridge.errors import AccessDeniedError, MoodleError
from moodle_bridge.fake import RunningFake
from moodle_bridge.fake.functions.mod_scorm import add_time_12
from tests.factories import add_course, add_user, enrol

pytestmark = pytest.mark.integration


@pytest.fixture
def courseware(fake: RunningFake) -> dict[str, Any]:
    site = fake.site
    course = add_course(site, "S1")
    learners = [add_user(site, f"s{n}", name, "学员") for n, name in enumerate(["甲", "乙"])]
    for learner in learners:
        enrol(site, learner["id"], course["id"])
    v12 = site.site_action("create_scorm", {"courseid": course["id"], "name": "课件一 Courseware 1.2",
                                            "version": SCORM_12, "scoes": ["第一讲", "第二讲"]})
    v2004 = site.site_action("create_scorm", {"courseid": course["id"], "name": "课件二 Courseware 2004",
                                              "version": SCORM_2004})
    return {"course": course, "learners": learners, "v12": v12, "v2004": v2004}


def _session(fake: RunningFake, userid: int, package: dict[str, Any], seconds: float, **args: Any) -> Any:
    return fake.site.site_action("scorm_session", {"userid": userid, "cmid": package["cmid"],
                                                   "seconds": seconds, **args})


def test_packages_and_their_scoes(client: MoodleClient, courseware: dict[str, Any]) -> None:
    courseid = courseware["course"]["id"]
    listed = client.mod_scorm.get_scorms_by_courses([courseid, 999999])
    assert [(s.name, s.version, s.coursemodule) for s in listed.scorms] == [
        ("课件一 Courseware 1.2", SCORM_12, courseware["v12"]["cmid"]),
        ("课件二 Courseware 2004", SCORM_2004, courseware["v2004"]["cmid"])]
    assert [(w.itemid, w.warningcode) for w in listed.warnings] == [(999999, "1")]
    scoes = client.mod_scorm.get_scorm_scoes(courseware["v12"]["instance"]).scoes
    assert [(s.title, s.launchable) for s in scoes] == [("课件一 Courseware 1.2", False), ("第一讲", True),
                                                        ("第二讲", True)]
    assert [s.id for s in scoes if s.launchable] == courseware["v12"]["scoids"]


def test_tracks_of_every_attempt_with_the_time_the_player_added_up(
        fake: RunningFake, client: MoodleClient, courseware: dict[str, Any]) -> None:
    learner = courseware["learners"][0]["id"]
    package = courseware["v12"]
    first, second = package["scoids"]
    assert client.mod_scorm.get_scorm_attempt_count(package["instance"], learner).attemptscount == 0
    nothing = client.mod_scorm.get_scorm_sco_tracks(first, learner)
    assert (nothing.attempt, nothing.attempted) == (1, False)
    assert [w.warningcode for w in nothing.warnings] == [NOT_ATTEMPTED]
    _session(fake, learner, package, 1500, scoid=first)
    _session(fake, learner, package, 1803.5, scoid=first, status="completed")
    _session(fake, learner, package, 600, scoid=second, finish=False)  # closed the browser
    _session(fake, learner, package, 300, scoid=first, new_attempt=True)
    assert client.mod_scorm.get_scorm_attempt_count(package["instance"], learner).attemptscount == 2
    last = client.mod_scorm.get_scorm_sco_tracks(first, learner)
    assert last.attempt == 2 and last.value("cmi.core.total_time") == "00:05:00"
    one = client.mod_scorm.get_scorm_sco_tracks(first, learner, 1)
    assert one.value("cmi.core.total_time") == "00:55:03.50" == add_time_12("00:25:00", "00:30:03.50")
    assert one.value("cmi.core.session_time") == "00:30:03.50"
    assert one.value("status") == "completed" and one.value("total_time") == "00:55:03.50"
    assert one.timemodified > 0
    unfinished = client.mod_scorm.get_scorm_sco_tracks(second, learner, 1)
    assert unfinished.value("cmi.core.total_time") is None  # the player adds a session only when it ends
    assert (unfinished.value("total_time"), unfinished.value("session_time")) == ("00:00:00", "00:10:00")


def test_a_2004_package_reports_iso_durations(fake: RunningFake, client: MoodleClient,
                                             courseware: dict[str, Any]) -> None:
    learner = courseware["learners"][1]["id"]
    package = courseware["v2004"]
    _session(fake, learner, package, 3903.5)
    _session(fake, learner, package, 90000)
    tracks = client.mod_scorm.get_scorm_sco_tracks(package["scoids"][0], learner)
    assert tracks.value("cmi.total_time") == "P1DT2H5M3.5S"
    assert tracks.value("cmi.session_time") == "P1DT1H"
    assert tracks.value("status") == "incomplete"


def test_another_users_attempts_need_the_report_capability(
        fake: RunningFake, courseware: dict[str, Any], learner_client: Callable[[int], MoodleClient]) -> None:
    one, other = (learner["id"] for learner in courseware["learners"])
    package = courseware["v12"]
    _session(fake, other, package, 600)
    own = learner_client(one)
    assert own.mod_scorm.get_scorm_attempt_count(package["instance"], one).attemptscount == 0
    with pytest.raises(AccessDeniedError) as refused:
        own.mod_scorm.get_scorm_sco_tracks(package["scoids"][0], other)
    assert refused.value.errorcode == "nopermissions"
    with pytest.raises(AccessDeniedError):
        own.mod_scorm.get_scorm_attempt_count(package["instance"], other)


def test_a_closed_package_refuses_the_count_but_shows_its_tracks_to_a_reporter(
        fake: RunningFake, client: MoodleClient, courseware: dict[str, Any]) -> None:
    learner = courseware["learners"][0]["id"]
    package = courseware["v12"]
    _session(fake, learner, package, 1200)
    row = fake.site.db["scorm"].get(package["instance"])
    assert row is not None
    fake.site.db["scorm"].update(row, timeclose=fake.site.now() - 60)
    with pytest.raises(MoodleError) as closed:
        client.mod_scorm.get_scorm_attempt_count(package["instance"], learner)
    assert closed.value.errorcode == "expired"
    tracks = client.mod_scorm.get_scorm_sco_tracks(package["scoids"][0], learner)
    assert tracks.value("cmi.core.total_time") == "00:20:00"
    listed = client.mod_scorm.get_scorms_by_courses([courseware["course"]["id"]])
    assert listed.scorms[0].available  # the service user may see reports: not refused


def test_a_learner_saves_their_own_tracks(fake: RunningFake, courseware: dict[str, Any],
                                          learner_client: Callable[[int], MoodleClient]) -> None:
    learner = courseware["learners"][0]["id"]
    package = courseware["v12"]
    own = learner_client(learner)
    saved = own.mod_scorm.insert_scorm_tracks(package["scoids"][0], 1, {
        "cmi.core.lesson_status": "incomplete", "cmi.core.session_time": "00:12:00",
        "cmi.core.total_time": "00:12:00"})
    assert len(saved.trackids) == 3 and saved.warnings == ()
    again = own.mod_scorm.insert_scorm_tracks(package["scoids"][0], 1, {"cmi.core.session_time": "00:03:00"})
    assert again.trackids == saved.trackids[1:2]  # the same row, overwritten
    tracks = own.mod_scorm.get_scorm_sco_tracks(package["scoids"][0], learner, 1)
    assert (tracks.value("cmi.core.session_time"), tracks.value("cmi.core.total_time")) == ("00:03:00",
                                                                                           "00:12:00")
    data = own.mod_scorm.get_scorm_user_data(package["instance"], 1).data
    assert [d.scoid for d in data][1:] == package["scoids"]  # every row of the package, organisation first
    mine = {t.element: t.value for t in data[1].userdata}
    assert mine["cmi.core.session_time"] == "00:03:00"


def test_a_course_copy_copies_its_courseware(client: MoodleClient, courseware: dict[str, Any]) -> None:
    course = courseware["course"]
    made = client.core_course.duplicate_course(course["id"], "副本 Copy", "S1-COPY", course["category"])
    copied = client.mod_scorm.get_scorms_by_courses([made.id]).scorms
    assert [s.name for s in copied] == ["课件一 Courseware 1.2", "课件二 Courseware 2004"]
    scoes = client.mod_scorm.get_scorm_scoes(copied[0].id).scoes
    launchable = [s.id for s in scoes if s.launchable]
    assert len(launchable) == 2 and not set(launchable) & set(courseware["v12"]["scoids"])
    assert copied[0].launch == launchable[0]



def test_an_uploaded_package_keeps_what_its_manifest_names_and_is_added_once(
        fake: RunningFake, client: MoodleClient) -> None:
    course = add_course(fake.site, "S2")
    upload = {"courseid": course["id"], "name": "新思想学习课件", "section": 1, "version": "SCORM_1.2",
              "reference": "lesson.zip", "packagesize": 1271, "manifest": "x-lesson",
              "organization": "organisation",
              "scoes": [{"identifier": "lesson", "title": "第一讲", "launch": "index.html"}]}
    made = fake.site.site_action("upload_scorm", upload)
    again = fake.site.site_action("upload_scorm", {**upload, "name": "另一个课件"})
    assert again == made  # the course holds a package already: nothing is added
    listed = client.mod_scorm.get_scorms_by_courses([course["id"]]).scorms
    assert [(s.coursemodule, s.name, s.version, s.reference, s.packagesize) for s in listed] == [
        (made["cmid"], "新思想学习课件", SCORM_12, "lesson.zip", 1271)]
    scoes = client.mod_scorm.get_scorm_scoes(made["instance"]).scoes
    assert [(s.manifest, s.organization, s.parent, s.identifier, s.launch, s.scormtype, s.sortorder)
            for s in scoes] == [
        ("x-lesson", "", "/", "organisation", "", "", 1),
        ("x-lesson", "organisation", "organisation", "lesson", "index.html", "sco", 2)]
    assert [(d.element, d.value) for d in scoes[1].extradata] == [("isvisible", "true"), ("parameters", "")]
    assert scoes[0].extradata == () and made["scoids"] == [scoes[1].id]


def test_a_package_added_with_the_old_version_spelling_is_moodles(fake: RunningFake, client: MoodleClient,
                                                                  courseware: dict[str, Any]) -> None:
    course = add_course(fake.site, "S3")
    fake.site.site_action("create_scorm", {"courseid": course["id"], "name": "旧课件", "version": "SCORM_13"})
    assert [s.version for s in client.mod_scorm.get_scorms_by_courses([course["id"]]).scorms] == [SCORM_2004]
    with pytest.raises(ValueError, match="AICC"):
        fake.site.site_action("create_scorm", {"courseid": course["id"], "name": "AICC", "version": "AICC"})


def test_the_user_data_is_what_moodles_player_starts_from(
        courseware: dict[str, Any], learner_client: Callable[[int], MoodleClient]) -> None:
    learner = courseware["learners"][0]
    package = courseware["v12"]
    own = learner_client(learner["id"])
    fresh = own.mod_scorm.get_scorm_user_data(package["instance"], 1).data
    organisation, first = fresh[0], fresh[1]
    assert [(d.element, d.value) for d in organisation.userdata] == [
        ("student_id", learner["username"]),
        ("student_name", f"{learner['firstname']} {learner['lastname']}"),
        ("status", ""), ("score_raw", ""), ("parameters", ""), ("entry", "ab-initio"), ("mode", "normal"),
        ("credit", "credit")]
    assert [d.element for d in first.userdata][4:6] == ["isvisible", "parameters"]
    defaults = {d.element: d.value for d in first.defaultdata}
    assert len(first.defaultdata) == 22 and (defaults["cmi.core.entry"], defaults["cmi.core.total_time"],
                                             defaults["cmi.student_preference.audio"]) == ("ab-initio",
                                                                                          "00:00:00", "0")
    own.mod_scorm.insert_scorm_tracks(package["scoids"][0], 1, {
        "cmi.core.lesson_status": "incomplete", "cmi.core.session_time": "00:12:00",
        "cmi.core.total_time": "00:12:00"})
    studied = own.mod_scorm.get_scorm_user_data(package["instance"], 1).data[1]
    elements = [d.element for d in studied.userdata]
    assert elements == ["student_id", "student_name", "score_raw", "status", "total_time", "session_time",
                        "timemodified", "cmi.core.lesson_status", "cmi.core.session_time",
                        "cmi.core.total_time", "userid", "scoid", "isvisible", "parameters", "entry", "mode",
                        "credit"]
    mine = {d.element: d.value for d in studied.userdata}
    assert (mine["userid"], mine["scoid"], mine["entry"]) == (str(learner["id"]),
                                                              str(package["scoids"][0]), "")
    after = {d.element: d.value for d in studied.defaultdata}
    assert (after["cmi.core.entry"], after["cmi.core.total_time"], after["cmi.core.lesson_status"]) == (
        "", "00:12:00", "incomplete")


def test_a_completed_or_scored_attempt_grades_the_learner_in_the_gradebook(
        client: MoodleClient, courseware: dict[str, Any],
        learner_client: Callable[[int], MoodleClient]) -> None:
    course = courseware["course"]["id"]
    first, second = (learner["id"] for learner in courseware["learners"])
    package = courseware["v12"]
    own = learner_client(first)

    def items(userid: int) -> dict[str, dict[str, Any]]:
        answer = client.call("gradereport_user_get_grade_items", {"courseid": course, "userid": userid},
                             write=False)
        return {str(item["itemname"]): item for item in answer["usergrades"][0]["gradeitems"]
                if item["itemtype"] == "mod"}

    own.mod_scorm.insert_scorm_tracks(package["scoids"][0], 1, {"cmi.core.lesson_status": "incomplete"})
    assert all(item["graderaw"] is None and "weightraw" not in item for item in items(first).values())
    own.mod_scorm.insert_scorm_tracks(package["scoids"][0], 1, {"cmi.core.lesson_status": "completed"})
    graded = items(first)
    v12, v2004 = graded["课件一 Courseware 1.2"], graded["课件二 Courseware 2004"]
    # graded by the highest score of the attempt: none reported is 0; the other package of the course
    # gets an empty row for the learner as the course total is aggregated over every item
    assert (v12["graderaw"], v12["grademax"], v12["weightraw"]) == (0, 100, 1)
    assert (v2004["graderaw"], v2004["weightraw"], v2004["status"]) == (None, 0, "novalue")
    own.mod_scorm.insert_scorm_tracks(package["scoids"][0], 1, {"cmi.core.score.raw": "85"})
    assert items(first)["课件一 Courseware 1.2"]["graderaw"] == 85
    assert all("weightraw" not in item for item in items(second).values())  # nothing of theirs
