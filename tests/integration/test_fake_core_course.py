"""core_course against the fake Moodle over HTTP: Moodle's rules for categories, courses, contents and
duplication, as the recordings showed them."""

from __future__ import annotations

import pytest

from moodle_bridge import (
    AccessDeniedError,
    DuplicateError,
    InvalidParameterError,
    MoodleClient,
    MoodleError,
    NotFoundError,
)
from moodle_bridge.areas.core_course import CategoryUpdate, CourseUpdate, NewCategory, NewCourse
from moodle_bridge.areas.enrol_manual import Enrolment
from moodle_bridge.fake import RunningFake
from moodle_bridge.fake.records import new_user

pytestmark = pytest.mark.integration


def course(shortname: str, categoryid: int = 1, **fields: object) -> NewCourse:
    return NewCourse(fullname=f"Course {shortname}", shortname=shortname, categoryid=categoryid,
                     idnumber=f"ID-{shortname}", summary="<p>A & B</p>", summaryformat=1, format="topics",
                     startdate=1798761600, enddate=1806537600, enablecompletion=True, numsections=3,
                     **fields)  # type: ignore[arg-type]


def test_categories_tree_and_lookup(client: MoodleClient) -> None:
    top = client.core_course.create_categories([NewCategory("Cadres & staff", parent=0, idnumber="CAT1",
                                                            description="<p>top</p>")])[0]
    assert top.name == "Cadres &amp; staff"
    child = client.core_course.create_categories([NewCategory("Spring", parent=top.id, idnumber="CAT2")])[0]
    only = client.core_course.get_categories({"idnumber": "CAT1"}, addsubcategories=False)
    assert [c.id for c in only] == [top.id]
    both = client.core_course.get_categories({"idnumber": "CAT1"}, addsubcategories=True)
    assert [c.id for c in both] == [top.id, child.id]
    assert both[1].path == f"/{top.id}/{child.id}" and both[1].depth == 2 and both[1].parent == top.id
    assert client.core_course.get_categories({"idnumber": "NOPE"}) == []
    assert client.core_course.get_categories({"id": 999999}) == []
    with pytest.raises(MoodleError) as caught:
        client.core_course.get_categories({"bogus": 1})
    assert caught.value.errorcode == "criteriaerror"


def test_category_errors_leave_nothing_behind(client: MoodleClient) -> None:
    client.core_course.create_categories([NewCategory("A", idnumber="DUP")])
    with pytest.raises(DuplicateError) as caught:
        client.core_course.create_categories([NewCategory("B", idnumber="NEW"),
                                              NewCategory("C", idnumber="DUP")])
    assert caught.value.errorcode == "categoryidnumbertaken"
    assert client.core_course.get_categories({"idnumber": "NEW"}) == []
    with pytest.raises(NotFoundError) as missing:
        client.core_course.create_categories([NewCategory("Orphan", parent=999999)])
    assert missing.value.errorcode == "unknowcategory"


def test_update_categories_moves_and_renames(client: MoodleClient) -> None:
    a, b = client.core_course.create_categories([NewCategory("A", idnumber="A"),
                                                 NewCategory("B", idnumber="B")])
    client.core_course.update_categories([CategoryUpdate(b.id, name="B2", parent=a.id)])
    moved = client.core_course.get_categories({"id": b.id})[0]
    assert moved.name == "B2" and moved.parent == a.id and moved.path == f"/{a.id}/{b.id}"
    with pytest.raises(DuplicateError):
        client.core_course.update_categories([CategoryUpdate(b.id, idnumber="A")])


def test_create_courses_unique_names_all_or_nothing(client: MoodleClient) -> None:
    created = client.core_course.create_courses([course("C1"), course("C2", visible=False)])
    assert [c.shortname for c in created] == ["C1", "C2"]
    with pytest.raises(DuplicateError) as caught:
        client.core_course.create_courses([course("C3"),
                                           NewCourse(fullname="x", shortname="C1", categoryid=1)])
    assert caught.value.errorcode == "shortnametaken"
    assert client.core_course.get_courses_by_field("shortname", "C3").courses == ()
    with pytest.raises(DuplicateError) as idnumber:
        client.core_course.create_courses([NewCourse(fullname="y", shortname="C4", categoryid=1,
                                                     idnumber="ID-C1")])
    assert idnumber.value.errorcode == "courseidnumbertaken"
    with pytest.raises(MoodleError) as category:
        client.core_course.create_courses([course("C5", categoryid=999999)])
    assert category.value.errorcode == "errorcatcontextnotvalid"


def test_create_courses_in_batches(fake: RunningFake, client: MoodleClient) -> None:
    courses = [course(f"B{i}") for i in range(120)]
    before = fake.site.calls["core_course_create_courses"]
    created = client.core_course.create_courses(courses)
    assert [c.shortname for c in created] == [f"B{i}" for i in range(120)]
    assert fake.site.calls["core_course_create_courses"] - before == 3  # batch_size 50


def test_weak_token_cannot_create(weak_client: MoodleClient) -> None:
    with pytest.raises(AccessDeniedError) as caught:
        weak_client.core_course.create_courses([course("W1")])
    assert caught.value.errorcode == "nopermissions"


def test_courses_by_field(client: MoodleClient) -> None:
    category = client.core_course.create_categories([NewCategory("K", idnumber="K")])[0]
    first, second = client.core_course.create_courses([course("F1", category.id), course("F2", category.id)])
    found = client.core_course.get_courses_by_field("idnumber", "ID-F1").courses[0]
    assert found.id == first.id and found.categoryname == "K" and found.summary == "<p>A &amp; B</p>"
    assert found.enrollmentmethods == ("manual",) and found.enablecompletion == 1
    assert {o.name for o in found.courseformatoptions} == {"hiddensections", "coursedisplay", "indentation"}
    listed = client.core_course.get_courses_by_field("category", category.id).courses
    assert [c.id for c in listed] == [first.id, second.id]
    assert listed[1].sortorder is not None and listed[0].sortorder is not None
    assert listed[1].sortorder < listed[0].sortorder  # the newest course comes first in its category
    both = client.core_course.get_courses_by_field("ids", f"{first.id},{second.id}").courses
    assert len(both) == 2
    assert client.core_course.get_courses_by_field("id", "abc").courses == ()
    assert client.core_course.get_courses_by_field("idnumber", "NOPE").courses == ()
    with pytest.raises(InvalidParameterError):
        client.core_course.get_courses_by_field("bogus", "1")
    everything = client.core_course.get_courses_by_field().courses
    assert everything[0].id == 1 and everything[0].format == "site"


def test_weak_token_sees_public_fields_only(client: MoodleClient, weak_client: MoodleClient) -> None:
    client.core_course.create_courses([course("P1"), course("P2", visible=False)])
    seen = weak_client.core_course.get_courses_by_field("shortname", "P1").courses[0]
    assert seen.fullname == "Course P1" and seen.idnumber is None and seen.visible is None
    assert weak_client.core_course.get_courses_by_field("shortname", "P2").courses == ()


def test_update_courses_warns_per_course(client: MoodleClient) -> None:
    one, two = client.core_course.create_courses([course("U1"), course("U2")])
    result = client.core_course.update_courses([
        CourseUpdate(id=one.id, fullname="Renamed", summary="<p>new</p>"),
        CourseUpdate(id=two.id, shortname="U1"),
        CourseUpdate(id=999999, fullname="x"),
    ])
    assert [(w.warningcode, w.itemid) for w in result.warnings] == [
        ("shortnametaken", two.id), ("invalidrecordunknown", 999999)]
    assert result.warnings[0].message == "Short name is already used for another course (U1)"
    renamed = client.core_course.get_courses_by_field("id", one.id).courses[0]
    assert renamed.fullname == "Renamed" and renamed.summary == "<p>new</p>"
    assert client.core_course.get_courses_by_field("id", two.id).courses[0].shortname == "U2"


def test_update_course_custom_field(fake: RunningFake, client: MoodleClient) -> None:
    made = client.core_course.create_courses([course("CF1")])[0]
    assert client.core_course.get_courses_by_field("id", made.id).courses[0].customfields == ()
    fake.site.site_action("create_course_customfield",
                          {"shortname": "credit_hours", "name": "Credit hours", "type": "number"})
    result = client.core_course.update_courses([CourseUpdate(id=made.id, customfields={"credit_hours": 2.5})])
    assert result.warnings == ()
    found = client.core_course.get_courses_by_field("id", made.id).courses[0]
    assert found.customfield("credit_hours") == "2.5"
    assert found.customfields[0].name == "Credit hours" and found.customfields[0].type == "number"
    again = client.core_course.create_courses([course("CF2", customfields={"credit_hours": 4})])[0]
    assert client.core_course.get_courses(ids=[again.id])[0].customfield("credit_hours") == "4"


def test_contents_sections_and_activities(fake: RunningFake, client: MoodleClient) -> None:
    made = client.core_course.create_courses([course("A1")])[0]
    acts = fake.site.site_action("create_activities", {"courseid": str(made.id), "prefix": "a1"})
    assert set(acts) == {"page", "forum", "assign"}
    assert set(acts["page"]) == {"cmid", "instance", "name", "modname"}
    sections = client.core_course.get_contents(made.id)
    assert [s.section for s in sections] == [0, 1, 2, 3]
    assert sections[0].name == "General" and sections[1].name == "New section"
    assert [m.name for m in sections[0].modules] == ["Announcements"]
    assert [m.modname for m in sections[1].modules] == ["page", "forum", "assign"]
    page = sections[1].modules[0]
    assert page.id == acts["page"]["cmid"] and page.completion == 1
    assert page.completiondata is not None and not page.completiondata.isautomatic
    assert page.contents[0].filename == "index.html"
    assert sections[1].modules[1].completiondata is None
    only_sections = client.core_course.get_contents(made.id, excludemodules=True)
    assert all(s.modules == () for s in only_sections)
    pages = client.core_course.get_contents(made.id, modname="page", excludecontents=True)
    assert [m.modname for s in pages for m in s.modules] == ["page"]
    assert pages[1].modules[0].contents == ()
    with pytest.raises(NotFoundError):
        client.core_course.get_contents(999999)
    only_page = fake.site.site_action("create_activities", {"courseid": made.id, "only_page": True})
    assert set(only_page) == {"page"}


def test_course_module_lookups(fake: RunningFake, client: MoodleClient) -> None:
    made = client.core_course.create_courses([course("M1")])[0]
    acts = fake.site.site_action("create_activities", {"courseid": made.id, "prefix": "m1"})
    cm = client.core_course.get_course_module(acts["assign"]["cmid"])
    assert cm.modname == "assign" and cm.instance == acts["assign"]["instance"] and cm.sectionnum == 1
    assert cm.grade == 100.0 and cm.course == made.id and cm.idnumber == "m1-assign"
    same = client.core_course.get_course_module_by_instance("assign", acts["assign"]["instance"])
    assert same.id == cm.id
    with pytest.raises(NotFoundError):
        client.core_course.get_course_module(999999)


def test_duplicate_course_copies_all_but_idnumber(fake: RunningFake, client: MoodleClient) -> None:
    made = client.core_course.create_courses([course("D1")])[0]
    acts = fake.site.site_action("create_activities", {"courseid": made.id, "prefix": "d1"})
    with fake.site.lock:
        fake.site.db["course_completion_criteria"].insert({
            "course": made.id, "criteriatype": 4, "module": "page", "moduleinstance": acts["page"]["cmid"]})
    copy = client.core_course.duplicate_course(made.id, "Copy", "D1-copy", 1, options={"users": 0})
    assert copy.shortname == "D1-copy"
    found = client.core_course.get_courses_by_field("id", copy.id).courses[0]
    assert found.idnumber == "" and found.enablecompletion == 1 and found.summary == "<p>A &amp; B</p>"
    assert found.startdate == 1798761600
    sections = client.core_course.get_contents(copy.id)
    assert [s.section for s in sections] == [0, 1, 2, 3]
    names = [(m.modname, m.name) for s in sections for m in s.modules]
    assert names == [("forum", "Announcements"), ("page", "课程导读 Reading page"),
                     ("forum", "讨论区 Discussion forum"), ("assign", "心得体会 Reflection essay")]
    new_page = sections[1].modules[0]
    assert new_page.id != acts["page"]["cmid"] and new_page.completion == 1
    with fake.site.lock:
        criteria = fake.site.db["course_completion_criteria"].select(course=copy.id)
        assert [(c["criteriatype"], c["moduleinstance"]) for c in criteria] == [(4, new_page.id)]
        assignment = fake.site.db["assign"].get(sections[1].modules[2].instance)
        assert assignment is not None and assignment["grade"] == 100 and assignment["course"] == copy.id
    with pytest.raises(DuplicateError) as caught:
        client.core_course.duplicate_course(made.id, "Again", "D1-copy", 1)
    assert caught.value.message == "Short name is already used for another course (Copy)"
    with pytest.raises(MoodleError) as bad:
        client.core_course.duplicate_course(999999, "x", "X-DUP", 1)
    assert bad.value.errorcode == "invalidcourseid"


def test_duplicate_with_users(fake: RunningFake, client: MoodleClient) -> None:
    made = client.core_course.create_courses([course("DU1")])[0]
    with fake.site.lock:
        learner = new_user(fake.site, username="dup-learner", firstname="L", lastname="One")
    client.enrol_manual.enrol_users([Enrolment(userid=learner["id"], courseid=made.id)])
    copy = client.core_course.duplicate_course(made.id, "Copy", "DU1-copy", 1, options={"users": 1})
    users = client.core_enrol.get_enrolled_users(copy.id)
    assert [u.id for u in users] == [learner["id"]] and users[0].role_shortnames == {"student"}
    plain = client.core_course.duplicate_course(made.id, "Copy 2", "DU1-copy2", 1)
    assert client.core_enrol.get_enrolled_users(plain.id) == []


def test_duplicate_users_option_needs_backup_userinfo(fake: RunningFake, client: MoodleClient) -> None:
    made = client.core_course.create_courses([course("DL1")])[0]
    fake.site.site_action("set_capabilities", {"userid": 3, "capabilities": [
        "webservice/rest:use", "moodle/course:view", "moodle/course:create", "moodle/backup:backupcourse",
        "moodle/restore:restorecourse", "moodle/backup:configure", "moodle/restore:configure"]})
    with pytest.raises(MoodleError) as caught:
        client.core_course.duplicate_course(made.id, "Copy", "DL1-copy", 1, options={"users": 0})
    assert caught.value.errorcode == "setting_locked_by_permission"
    copy = client.core_course.duplicate_course(made.id, "Copy", "DL1-copy", 1, options={"activities": 1})
    assert copy.shortname == "DL1-copy"


def test_delete_and_search_courses(client: MoodleClient) -> None:
    made = client.core_course.create_courses([course(f"S{i}") for i in range(5)])
    result = client.core_course.delete_courses([made[0].id, 999999, 1])
    assert [(w.warningcode, w.itemid) for w in result.warnings] == [
        ("unknowncourseidnumber", 999999), ("cannotdeletecourse", 1)]
    assert client.core_course.get_courses_by_field("id", made[0].id).courses == ()
    page = client.core_course.search_courses("search", "Course S", page=0, perpage=2)
    assert page.total == 4 and len(page.courses) == 2
    every = list(client.core_course.iter_search_courses("search", "Course S", perpage=3))
    assert sorted(c.shortname for c in every) == ["S1", "S2", "S3", "S4"]


def test_get_courses_older_lookup(client: MoodleClient) -> None:
    made = client.core_course.create_courses([course("G1")])[0]
    found = client.core_course.get_courses([made.id])
    assert found[0].numsections == 3 and found[0].categorysortorder is not None
    assert {o.name for o in found[0].courseformatoptions} == {"hiddensections", "coursedisplay"}
