"""gradereport_user, gradereport_overview and core_grades against the fake Moodle over HTTP."""

from __future__ import annotations

import pytest

from moodle_bridge import AccessDeniedError, MoodleClient, MoodleError, NotFoundError
from moodle_bridge.areas.core_grades import CoreGrades, GradereportOverview, NewGrade
from moodle_bridge.fake import RunningFake
from moodle_bridge.fake.site import FakeSite
from tests.factories import (
    EDITINGTEACHER,
    add_assign,
    add_page,
    enrol,
    learner,
    numbered_user,
    training_course,
)

pytestmark = pytest.mark.integration


def grade(site: FakeSite, assignid: int, userid: int, value: float, *, grader: int = 3,
          feedback: str | None = None) -> None:
    """What grading an assignment leaves in Moodle's tables (``assign_grades`` + a feedback comment)."""
    row = site.db["assign_grades"].insert({"assignment": assignid, "userid": userid, "grade": value,
                                           "grader": grader, "attemptnumber": 0, "timecreated": site.now(),
                                           "timemodified": site.now()})
    if feedback is not None:
        site.db["assignfeedback_comments"].insert({"assignment": assignid, "grade": row["id"],
                                                   "commenttext": feedback, "commentformat": 1})


@pytest.fixture
def course(fake: RunningFake) -> dict[str, int]:
    site = fake.site
    courseid = training_course(site, "it-grad-C1")
    cmid, assignid = add_assign(site, courseid)
    ids = {"course": courseid, "cmid": cmid, "assign": assignid,
           "u1": numbered_user(site, 1, first="红", last="李"),
           "u2": numbered_user(site, 2, first="伟", last="张"),
           "teacher": numbered_user(site, 3, first="芳", last="刘"), "outsider": numbered_user(site, 4)}
    enrol(site, ids["u1"], courseid)
    enrol(site, ids["u2"], courseid)
    enrol(site, ids["teacher"], courseid, EDITINGTEACHER)
    return ids


def test_all_students_in_one_call_before_and_after_grading(fake: RunningFake, client: MoodleClient,
                                                           course: dict[str, int]) -> None:
    report = client.gradereport_user.get_grade_items(course["course"], 0)
    assert [u.userid for u in report.usergrades] == [course["u2"], course["u1"]]  # by last name, no teacher
    first = report.usergrades[0]
    assert (first.courseidnumber, first.userfullname, first.useridnumber, first.maxdepth) == (
        "it-grad-C1-ID", "伟 张", "EMP0002", 2)
    item, total = first.gradeitems
    assert (item.itemtype, item.itemmodule, item.iteminstance, item.cmid, item.graderaw) == (
        "mod", "assign", course["assign"], course["cmid"], None)
    assert (item.gradeformatted, item.rangeformatted, item.grademax, item.weightraw) == (
        "-", "0&ndash;100", 100.0, None)
    assert total.is_course_total and total.cmid is None and total.graderaw is None

    grade(fake.site, course["assign"], course["u1"], 85.5, feedback="<p>论述清楚</p>")
    graded = client.gradereport_user.get_grade_items(course["course"]).for_user(course["u1"])
    assert graded is not None
    essay = graded.item_for_cm(course["cmid"])
    assert essay is not None
    assert (essay.graderaw, essay.gradeformatted, essay.percentageformatted, essay.weightraw) == (
        85.5, "85.50", "85.50 %", 1.0)
    assert (essay.feedback, essay.feedbackformat) == ("<p>论述清楚</p>", 1)
    assert essay.gradedategraded is not None
    assert graded.course_total is not None and graded.course_total.graderaw == 85.5
    other = client.gradereport_user.get_grade_items(course["course"], course["u2"]).usergrades[0]
    assert other.gradeitems[0].graderaw is None and other.gradeitems[0].weightraw is None


def test_course_total_sums_items_and_regrading_follows(fake: RunningFake, client: MoodleClient,
                                                       course: dict[str, int]) -> None:
    site = fake.site
    _cmid, second = add_assign(site, course["course"], "Second essay", grade=50)
    grade(site, course["assign"], course["u1"], 60)
    grade(site, second, course["u1"], 40)
    user = client.gradereport_user.get_grade_items(course["course"], course["u1"]).usergrades[0]
    assert [i.graderaw for i in user.gradeitems] == [60, 40, 100]
    assert user.course_total is not None and user.course_total.grademax == 150
    assert [i.weightformatted for i in user.gradeitems[:2]] == ["66.67 %", "33.33 %"]
    grade(site, course["assign"], course["u1"], 70)  # a later grade replaces the earlier one
    user = client.gradereport_user.get_grade_items(course["course"], course["u1"]).usergrades[0]
    assert [i.graderaw for i in user.gradeitems] == [70, 40, 110]


def test_permissions(fake: RunningFake, client: MoodleClient, course: dict[str, int]) -> None:
    grade(fake.site, course["assign"], course["u1"], 50)
    with learner(fake, course["u1"]) as own:
        mine = own.gradereport_user.get_grade_items(course["course"], course["u1"]).usergrades[0]
        assert mine.gradeitems[0].graderaw == 50
        with pytest.raises(AccessDeniedError) as caught:
            own.gradereport_user.get_grade_items(course["course"], course["u2"])
        assert caught.value.errorcode == "nopermissiontoviewgrades"
        with pytest.raises(AccessDeniedError):
            own.gradereport_user.get_grade_items(course["course"], 0)
    with learner(fake, course["outsider"]) as stranger, pytest.raises(AccessDeniedError) as login:
        stranger.gradereport_user.get_grade_items(course["course"], course["outsider"])
    assert login.value.errorcode == "requireloginerror"
    with learner(fake, course["teacher"]) as teacher:
        assert len(teacher.gradereport_user.get_grade_items(course["course"], 0).usergrades) == 2
    with pytest.raises(NotFoundError):
        client.gradereport_user.get_grade_items(999999, 0)
    with pytest.raises(NotFoundError):
        client.gradereport_user.get_grade_items(course["course"], 999999)


def test_group_narrows_the_students(fake: RunningFake, client: MoodleClient, course: dict[str, int]) -> None:
    group = fake.site.db["groups"].insert({"courseid": course["course"], "name": "G", "idnumber": ""})
    fake.site.db["groups_members"].insert({"groupid": group["id"], "userid": course["u1"]})
    report = client.gradereport_user.get_grade_items(course["course"], 0, groupid=group["id"])
    assert [u.userid for u in report.usergrades] == [course["u1"]]


def test_grades_table_text(fake: RunningFake, client: MoodleClient, course: dict[str, int]) -> None:
    grade(fake.site, course["assign"], course["u1"], 85.5, feedback="<p>好</p>")
    [table] = client.gradereport_user.get_grades_table(course["course"], course["u1"]).tables
    assert table.userid == course["u1"] and table.userfullname == "红 李"
    cells = [row.grade.text for row in table.tabledata if row.grade is not None]
    assert cells == ["85.50", "85.50"]
    wrapped = table.tabledata[2].grade
    assert wrapped is not None and "<div" in (wrapped.content or "")  # 5.1 wraps the graded item
    assert [row.feedback.text for row in table.tabledata if row.feedback is not None] == ["好", ""]
    every = client.gradereport_user.get_grades_table(course["course"], 0).tables
    assert {t.userid for t in every} == {course["u1"], course["u2"]}


def test_update_grades_writes_the_gradebook_only(fake: RunningFake, client: MoodleClient,
                                                 course: dict[str, int]) -> None:
    grades = CoreGrades(client)
    items = grades.get_gradeitems(course["course"])
    assert [(i.itemname, i.category) for i in items.items] == [
        ("心得体会 Reflection essay", "领导干部能力提升专题培训班")]
    result = grades.update_grades(source="mod/assign", courseid=course["course"], component="mod_assign",
                                  activityid=course["cmid"],
                                  grades=[NewGrade(course["u2"], 70, "良好"), NewGrade(course["u1"], 150)])
    assert result.ok
    report = client.gradereport_user.get_grade_items(course["course"], 0)
    u2 = report.for_user(course["u2"])
    u1 = report.for_user(course["u1"])
    assert u2 is not None and u1 is not None
    assert (u2.gradeitems[0].graderaw, u2.gradeitems[0].feedback) == (70, "")  # str_feedback is dropped
    assert u1.gradeitems[0].graderaw == 100  # bounded by the maximum
    assert fake.site.db["assign_grades"].select(assignment=course["assign"]) == []
    page = add_page(fake.site, course["course"])
    assert not grades.update_grades(source="x", courseid=course["course"], component="mod_page",
                                    activityid=page, grades=[NewGrade(course["u1"], 1)]).ok
    with pytest.raises(MoodleError) as caught:
        grades.update_grades(source="x", courseid=course["course"], component="mod_assign", activityid=999999)
    assert caught.value.errorcode == "invalidcoursemodule"


def test_assignment_regrade_after_a_gradebook_write_wins(fake: RunningFake, client: MoodleClient,
                                                         course: dict[str, int]) -> None:
    CoreGrades(client).update_grades(source="s", courseid=course["course"], component="mod_assign",
                                     activityid=course["cmid"], grades=[NewGrade(course["u1"], 30)])
    fake.site.clock.advance(5)
    grade(fake.site, course["assign"], course["u1"], 90)
    user = client.gradereport_user.get_grade_items(course["course"], course["u1"]).usergrades[0]
    assert user.gradeitems[0].graderaw == 90


def test_overview_lists_course_totals(fake: RunningFake, client: MoodleClient,
                                      course: dict[str, int]) -> None:
    site = fake.site
    other = training_course(site, "it-grad-C2")
    enrol(site, course["u1"], other)
    grade(site, course["assign"], course["u1"], 85.5)
    overview = GradereportOverview(client).get_course_grades(course["u1"])
    totals = {g.courseid: (g.grade, g.rawgrade, g.value) for g in overview.grades}
    assert totals == {course["course"]: ("85.50", "85.50000", 85.5), other: ("-", None, None)}
    with learner(fake, course["u2"]) as own:
        assert [g.courseid for g in GradereportOverview(own).get_course_grades().grades] == [course["course"]]
        with pytest.raises(AccessDeniedError):
            GradereportOverview(own).get_course_grades(course["u1"])
