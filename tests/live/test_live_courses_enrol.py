"""core_course, enrol_manual, core_enrol, core_role and core_group against a real Moodle.

Every course and account made here starts with the run's prefix and is removed at the end (courses are
hidden, accounts suspended, when the service lacks the delete functions). No category is created: no
web service can remove one, so the courses go into the first existing category.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from moodle_bridge import DuplicateError, InvalidParameterError, MoodleClient
from moodle_bridge.areas.core_course import CourseUpdate, NewCourse
from moodle_bridge.areas.core_group import GroupMember, NewGroup
from moodle_bridge.areas.core_role import RoleAssignment
from moodle_bridge.areas.core_user import NewUser, UserUpdate
from moodle_bridge.areas.enrol_manual import Enrolment, Unenrolment

from .conftest import require_functions, template_course_shortname

pytestmark = pytest.mark.live
Cleanup = Callable[[Callable[[], object]], None]
PASSWORD = "Cc-Live-2026!x"
FUTURE = 4102444800  # 2100-01-01


def _category(client: MoodleClient) -> int:
    categories = client.core_course.get_categories()
    if not categories:
        pytest.skip("the token sees no course category")
    return min(c.id for c in categories)


def _remove_courses(client: MoodleClient, cleanup: Cleanup, ids: list[int]) -> None:
    if "core_course_delete_courses" in client.preflight(["core_course_delete_courses"]).missing:
        cleanup(lambda: client.core_course.update_courses([CourseUpdate(id=i, visible=False) for i in ids]))
    else:
        cleanup(lambda: client.core_course.delete_courses(ids))


def make_courses(client: MoodleClient, prefix: str, cleanup: Cleanup, *names: str,
                 visible: bool = False) -> list[int]:
    category = _category(client)
    created = client.core_course.create_courses([
        NewCourse(fullname=f"Live {name}", shortname=f"{prefix}{name}", idnumber=f"{prefix}{name}",
                  categoryid=category, enablecompletion=True, numsections=2, visible=visible)
        for name in names])
    ids = [course.id for course in created]
    _remove_courses(client, cleanup, ids)
    return ids


def make_users(client: MoodleClient, prefix: str, cleanup: Cleanup, *names: str) -> list[int]:
    created = client.core_user.create_users([
        NewUser(username=f"{prefix}{name}".lower(), password=PASSWORD, firstname="Live", lastname=name,
                email=f"{prefix}{name}@example.invalid".lower(), idnumber=f"{prefix}{name}")
        for name in names])
    ids = [user.id for user in created]
    if "core_user_delete_users" in client.preflight(["core_user_delete_users"]).missing:
        cleanup(lambda: client.core_user.update_users([UserUpdate(id=i, suspended=True) for i in ids]))
    else:
        cleanup(lambda: client.core_user.delete_users(ids))
    return ids


def test_courses_create_lookup_update(live_client: MoodleClient, prefix: str, cleanup: Cleanup) -> None:
    require_functions(live_client, "core_course_create_courses", "core_course_update_courses",
                      "core_course_get_courses_by_field", "core_course_get_categories",
                      "core_course_get_contents")
    area = live_client.core_course
    first, second = make_courses(live_client, prefix, cleanup, "c1", "c2")
    category = _category(live_client)
    with pytest.raises(DuplicateError) as caught:
        area.create_courses([NewCourse(fullname="Live dup", shortname=f"{prefix}c3", categoryid=category),
                             NewCourse(fullname="Live dup", shortname=f"{prefix}c1", categoryid=category)])
    assert caught.value.errorcode == "shortnametaken"
    leftover = [c.id for c in area.get_courses_by_field("shortname", f"{prefix}c3").courses]
    if leftover:
        _remove_courses(live_client, cleanup, leftover)
    assert leftover == []  # the call was all or nothing
    found = area.get_courses_by_field("idnumber", f"{prefix}c1").courses
    assert [c.id for c in found] == [first]
    assert area.get_courses_by_field("id", "abc").courses == ()
    result = area.update_courses([CourseUpdate(id=first, fullname="Live c1 renamed"),
                                  CourseUpdate(id=second, shortname=f"{prefix}c1")])
    assert [(w.itemid, w.warningcode) for w in result.warnings] == [(second, "shortnametaken")]
    assert area.get_courses_by_field("id", first).courses[0].fullname == "Live c1 renamed"
    sections = area.get_contents(first, excludemodules=True)
    assert [s.section for s in sections] == [0, 1, 2]


def test_enrolment_lifecycle(live_client: MoodleClient, prefix: str, cleanup: Cleanup) -> None:
    require_functions(live_client, "core_course_create_courses", "core_user_create_users",
                      "enrol_manual_enrol_users", "enrol_manual_unenrol_users",
                      "core_enrol_get_enrolled_users", "core_enrol_get_users_courses",
                      "core_role_assign_roles")
    # visible: a learner's course list leaves out hidden courses
    (courseid,) = make_courses(live_client, prefix, cleanup, "e1", visible=True)
    active, future, suspended, teacher, outsider = make_users(live_client, prefix, cleanup,
                                                              "e1", "e2", "e3", "e4", "e5")
    live_client.enrol_manual.enrol_users([
        Enrolment(active, courseid), Enrolment(future, courseid, timestart=FUTURE),
        Enrolment(suspended, courseid, suspend=True), Enrolment(teacher, courseid, roleid=4)])
    enrol = live_client.core_enrol
    assert [u.id for u in enrol.get_enrolled_users(courseid)] == [active, future, suspended, teacher]
    only = enrol.get_enrolled_users(courseid, onlyactive=True, userfields=["id", "username", "roles"])
    assert [u.id for u in only] == [active, teacher]
    paged = list(enrol.iter_enrolled_users(courseid, page_size=3, userfields=["id"]))
    assert [u.id for u in paged] == [active, future, suspended, teacher]

    live_client.enrol_manual.enrol_users([Enrolment(active, courseid)])  # same role: nothing changes
    live_client.enrol_manual.enrol_users([Enrolment(active, courseid, roleid=4)])  # another role: added
    roles = enrol.get_enrolled_users(courseid, userfields=["id", "roles"])[0].role_shortnames
    assert roles == {"student", "teacher"}
    live_client.core_role.assign_roles([RoleAssignment(5, outsider, contextlevel="course",
                                                       instanceid=courseid)])
    assert outsider not in [u.id for u in enrol.get_enrolled_users(courseid)]
    with pytest.raises(InvalidParameterError):
        live_client.enrol_manual.enrol_users([Enrolment(active, 999999999)])

    assert [c.id for c in enrol.get_users_courses(active)] == [courseid]
    live_client.enrol_manual.unenrol_users([Unenrolment(future, courseid)])
    live_client.enrol_manual.unenrol_users([Unenrolment(future, courseid)])  # not enrolled: no error
    assert future not in [u.id for u in enrol.get_enrolled_users(courseid)]


def test_groups(live_client: MoodleClient, prefix: str, cleanup: Cleanup) -> None:
    require_functions(live_client, "core_group_create_groups", "core_group_add_group_members",
                      "core_group_get_group_members", "core_group_get_course_groups",
                      "enrol_manual_enrol_users")
    (courseid,) = make_courses(live_client, prefix, cleanup, "g1")
    member, stranger = make_users(live_client, prefix, cleanup, "g1", "g2")
    live_client.enrol_manual.enrol_users([Enrolment(member, courseid)])
    new = NewGroup(courseid, f"{prefix}G1", idnumber=f"{prefix}G1")
    group = live_client.core_group.create_groups([new])[0]
    with pytest.raises(InvalidParameterError):
        live_client.core_group.create_groups([NewGroup(courseid, f"{prefix}G1")])
    live_client.core_group.add_group_members([GroupMember(group.id, member)])
    live_client.core_group.add_group_members([GroupMember(group.id, member)])  # again: no error
    with pytest.raises(InvalidParameterError):
        live_client.core_group.add_group_members([GroupMember(group.id, stranger)])
    assert live_client.core_group.get_group_members([group.id])[0].userids == (member,)
    assert [g.idnumber for g in live_client.core_group.get_course_groups(courseid)] == [f"{prefix}G1"]


def test_duplicate_template_course(live_client: MoodleClient, prefix: str, cleanup: Cleanup) -> None:
    require_functions(live_client, "core_course_duplicate_course", "core_course_get_courses_by_field",
                      "core_course_get_contents")
    template = live_client.core_course.get_courses_by_field("shortname", template_course_shortname()).courses
    if not template:
        pytest.skip("the template course is not visible to the token")
    source = template[0]
    copy = live_client.core_course.duplicate_course(source.id, f"Live copy {prefix}", f"{prefix}copy",
                                                    source.categoryid, visible=False)
    _remove_courses(live_client, cleanup, [copy.id])
    found = live_client.core_course.get_courses_by_field("id", copy.id).courses[0]
    assert found.idnumber == ""  # Moodle does not copy it
    names = sorted(m.modname for s in live_client.core_course.get_contents(copy.id) for m in s.modules)
    original = sorted(m.modname for s in live_client.core_course.get_contents(source.id) for m in s.modules)
    assert names == original
